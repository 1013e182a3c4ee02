/* tests/iscsi_client.c — libiscsi helpers (see iscsi_client.h). */
#include "tests/iscsi_client.h"

#include <check.h>
#include <stdio.h>

struct iscsi_context *client_new(const char *initiator, const char *target)
{
    struct iscsi_context *ctx = iscsi_create_context(initiator ? initiator : ISCSI_TEST_INITIATOR);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(iscsi_set_targetname(ctx, target ? target : ISCSI_TEST_IQN), 0);
    ck_assert_int_eq(iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL), 0);
    iscsi_set_timeout(ctx, 10);
    return ctx;
}

int client_login(struct iscsi_context *ctx, struct iscsi_test_server *s)
{
    return iscsi_full_connect_sync(ctx, iscsi_test_server_portal(s), 0);
}

struct iscsi_context *client_connect(struct iscsi_test_server *s)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    int r = client_login(ctx, s);
    ck_assert_msg(r == 0, "login failed: %s", iscsi_get_error(ctx));
    return ctx;
}

void client_free(struct iscsi_context *ctx)
{
    if (!ctx)
        return;
    if (iscsi_is_logged_in(ctx))
        iscsi_logout_sync(ctx);
    iscsi_destroy_context(ctx);
}

void client_pattern(unsigned char *buf, size_t len, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
}
