/* stack/ctl_server.h — live control of a running controller: a Unix stream
 * socket (mode 0600, peers of another user refused) where each line is one
 * command and each answer one line of JSON (docs/faults.md, "Live control").
 * `scsisim serve --ctl PATH` serves its stack's controller, `scsisim
 * controller --ctl PATH` the controller it runs; `scsisim ctl PATH COMMAND...`
 * is the client.
 *
 *     inject RULE...        add a fault rule (sim/fault/fault.h)
 *     clear                 remove every fault rule
 *     list                  the rules, with how often each fired
 *     power-cut [all|random|torn] [seed=N]
 *     power-on
 *     stats                 per opcode and per drive
 *     set T:L KEY=VALUE     battery=absent|good|failed, write-cache=on|off, blocks=N (capacity)
 *     check-media T:L       the durability oracle's verdict
 *     help
 *
 * Answers: {"ok":true,...} or {"ok":false,"error":"..."}.  A line longer than
 * CTL_LINE_MAX or holding control bytes is answered with an error and the
 * connection closed; the server carries on. */
#ifndef STACK_CTL_SERVER_H
#define STACK_CTL_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "base/tbuf.h"
#include "sim/sim.h"
#include "stack/stack.h"

#define CTL_LINE_MAX 4096u
#define CTL_CONNS_MAX 32u /* connections at once; one more is answered with an error and closed */

struct ctl_server;

/* Listens on path for the stack's controller (in this process or another). */
int ctl_server_start_stack(uv_loop_t *loop, const char *path, struct stack *st, struct ctl_server **out, char *err,
                           size_t errlen);
/* Listens on path for the controller c of this process. */
int ctl_server_start_ctrl(uv_loop_t *loop, const char *path, struct sim_ctrl *c, struct ctl_server **out,
                          char *err, size_t errlen);
/* Closes the socket and its connections, removes the socket file; the
 * memory goes once the loop has run the close callbacks. */
void ctl_server_stop(struct ctl_server *s);

/* Runs one command line without a socket (the server's own dispatcher, for
 * tests): the JSON answer is appended to out. */
void ctl_server_execute(struct ctl_server *s, const char *line, struct tbuf *out);

#endif
