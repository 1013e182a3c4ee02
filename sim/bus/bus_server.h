/* sim/bus/bus_server.h — the controller end of the two-process bus: serves one
 * controller to one host at a time on a Unix socket, in a libuv loop.  The
 * protocol is in sim/bus/bus_proto.h; `scsisim controller` is the program
 * around it (cli/cmd_controller.c).
 *
 * The server owns the controller's power while it runs: HELLO powers the
 * controller on (on the host's RAM), the host going away shuts it down in
 * order (sim_ctrl_shutdown), and POWER_CUT / POWER_ON requests do what they
 * say.  Everything runs on the loop's thread. */
#ifndef SIM_BUS_BUS_SERVER_H
#define SIM_BUS_BUS_SERVER_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "sim/sim.h"

struct bus_server;

/* Listens at path (a stale socket file left by a killed controller is
 * replaced; a live one, or a path that is not a socket, is an error) and
 * serves ctrl (powered off; not owned) from loop.  0 or -errno, err says why:
 * -EADDRINUSE another controller listens there, -EEXIST the path is not a
 * socket, -ENAMETOOLONG, or what socket/bind/listen said. */
int  bus_server_start(uv_loop_t *loop, struct sim_ctrl *ctrl, const char *path, struct bus_server **out, char *err,
                      size_t errlen);
/* Stops serving: a connected host is dropped (the controller shuts down in
 * order), the socket file is removed.  The loop must run on until the
 * handles are closed; the server is freed then.  0, or the shutdown's flush
 * error. */
int  bus_server_stop(struct bus_server *s);
/* Connection events and rejected messages go to log (NULL: nowhere). */
void bus_server_set_log(struct bus_server *s, FILE *log);

struct bus_server_stats {
    uint64_t connections;   /* hosts that attached */
    uint64_t refused;       /* connections refused (bad HELLO, busy) */
    uint64_t requests;      /* requests answered */
    uint64_t bad_messages;  /* messages answered with -EBADMSG / -EOPNOTSUPP or dropped for */
};
void bus_server_get_stats(const struct bus_server *s, struct bus_server_stats *out);

#endif
