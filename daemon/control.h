/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: a Unix stream socket; a client writes one command line and reads one JSON
 * document, then the daemon closes the connection. Requests are read without blocking the
 * event loop; a client that sends nothing is dropped after a timeout.
 */
#ifndef NFQD_DAEMON_CONTROL_H
#define NFQD_DAEMON_CONTROL_H

#include <stddef.h>
#include <systemd/sd-event.h>

/* Longest request line, newline included. */
#define CONTROL_REQUEST_MAX 256

/*
 * Answer one command (without its newline): return a malloc'd JSON text without a trailing
 * newline, or NULL when out of memory.
 */
typedef char *control_handler(void *user, const char *command);

struct control;

/*
 * Listen on path (its directory is created if missing; a stale socket file is replaced, a live
 * one is an error). Returns 0 and *out, or -errno with err saying what is wrong.
 */
int control_open(struct control **out, sd_event *ev, const char *path, control_handler *fn,
		 void *user, char *err, size_t errlen);

/* Stop listening, drop clients, remove the socket file. NULL is accepted. */
void control_close(struct control *c);

#endif /* NFQD_DAEMON_CONTROL_H */
