/* tests/iscsi_client.h — libiscsi (synchronous API) helpers for tests. */
#ifndef TESTS_ISCSI_CLIENT_H
#define TESTS_ISCSI_CLIENT_H

#include <stdbool.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "tests/iscsi_server.h"

/* A context for initiator name `initiator` (NULL: ISCSI_TEST_INITIATOR)
 * aimed at target (NULL: ISCSI_TEST_IQN); not connected yet. */
struct iscsi_context *client_new(const char *initiator, const char *target);
/* Full connect (login) to the test server; 0 or libiscsi's error. */
int client_login(struct iscsi_context *ctx, struct iscsi_test_server *s);
/* client_new + client_login, asserting success. */
struct iscsi_context *client_connect(struct iscsi_test_server *s);
/* Logs out when logged in, and destroys. */
void client_free(struct iscsi_context *ctx);

/* Runs the context's event loop until *flag becomes nonzero or timeout_ms
 * passes; returns whether the flag was set. */
bool client_service_until(struct iscsi_context *ctx, const int *flag, int timeout_ms);
/* Runs the context's event loop for about ms milliseconds. */
void client_service_for(struct iscsi_context *ctx, int ms);
/* Polls cond(arg) every few milliseconds for up to timeout_ms. */
bool wait_for(bool (*cond)(void *arg), void *arg, int timeout_ms);

/* Fills buf with a pattern that depends on seed and position. */
void client_pattern(unsigned char *buf, size_t len, unsigned seed);

#endif
