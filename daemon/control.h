/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: a Unix stream socket; a client writes one command line and reads one JSON
 * document ended by a newline, then the daemon closes the connection.
 *
 * All of it runs in the event loop without ever blocking it: requests are read and replies
 * written as the socket allows (EPOLLIN, EPOLLOUT), each client keeps its own buffers, and the
 * whole exchange of a client has a deadline. The number of clients, the bytes of a request and
 * the bytes of replies (per client and in total) are bounded; a client refused for load gets
 * the "busy" answer, {"error":"busy: ...","busy":true}, written without blocking, best effort.
 */
#ifndef NFQD_DAEMON_CONTROL_H
#define NFQD_DAEMON_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "command.h"

/* Longest request line, newline included. */
#define CONTROL_REQUEST_MAX 256
/* Clients served at once; the next one gets the busy answer. */
#define CONTROL_MAX_CLIENTS 40
/* Longest reply to one client, and all the replies not yet written, together. */
#define CONTROL_REPLY_MAX	(4u << 20)
#define CONTROL_REPLY_TOTAL_MAX (32u << 20)
/* Deadline of one client's whole exchange, from accept to the last byte of its reply. */
#define CONTROL_EXCHANGE_TIMEOUT_S 5

/*
 * Answer one command line (without its newline) from peer: return a malloc'd JSON text without
 * a trailing newline, or NULL when out of memory.
 */
typedef char *control_handler(void *user, const char *command, const struct command_peer *peer);

struct control;

/* Who may use the socket: its group ((gid_t)-1: nfqd's own) and permission bits. */
struct control_access {
	gid_t gid;
	unsigned int mode;
};

/*
 * Listen on path. Its directory is created (0755) if missing, and refused when anybody may
 * write into it without the sticky bit. What is already at path is replaced only when it is a
 * socket that nobody listens on (connect() is refused); a live socket, a regular file, a
 * directory, a symlink or anything else is an error naming path and what is there. The socket
 * is bound with its mode and group already set, never chmod'ed through the path. Returns 0
 * and *out, or -errno with err saying what is wrong.
 */
int control_open(struct control **out, sd_event *ev, const char *path,
		 const struct control_access *access, control_handler *fn, void *user, char *err,
		 size_t errlen);

/* Stop listening, drop clients, remove the socket file if it is still ours. NULL is accepted. */
void control_close(struct control *c);

/*
 * Serve fd, a listening socket inherited from an earlier nfqd (fd store or exec) instead of
 * binding path anew: clients connecting meanwhile wait in its backlog and see no gap. fd must
 * be a listening AF_UNIX stream socket bound at path. Returns 0 and *out (which then owns fd),
 * or -errno with err saying what is wrong (-EADDRNOTAVAIL: bound elsewhere, the configured path
 * changed); fd then stays the caller's.
 */
int control_adopt(struct control **out, sd_event *ev, int fd, const char *path, control_handler *fn,
		  void *user, char *err, size_t errlen);

/* The path a Unix socket is bound at, into buf. Returns 0 or -errno. */
int control_bound_path(int fd, char *buf, size_t len);

/* The listening socket. */
int control_fd(const struct control *c);

/*
 * Stop serving without closing the listening socket or removing its file, for a successor that
 * holds a copy of it: drop clients, free c. Returns the socket, now the caller's (-EBADF for
 * NULL).
 */
int control_detach(struct control *c);

/*
 * Take the connection of the client cl over (a command_peer's conn, from inside the command's
 * handler): the caller owns the returned socket (non-blocking) from then on, and control.c
 * forgets the client once the handler returns, without a reply, deadline or reply limit, and
 * ignoring what the handler returned. Returns the socket, or -EBADF (cl NULL or taken already).
 */
int control_take(struct client *cl);

/*
 * Send buf[*off, len) on the non-blocking socket fd as far as it takes it now, advancing *off.
 * Returns 1 when all is sent, 0 when the rest waits for EPOLLOUT, -errno when the peer is gone.
 */
int control_send_some(int fd, const void *buf, size_t len, size_t *off);

/* What control_request_parse() found in the bytes received so far. */
enum control_request {
	CONTROL_REQUEST_INCOMPLETE, /* no newline yet: read more */
	CONTROL_REQUEST_OK,	    /* cmd holds the command line */
	CONTROL_REQUEST_BAD,	    /* refused; err says why */
};

/*
 * Parse a request from the len bytes received so far (eof: the client closed its side, so
 * what came is the whole request). The line is the bytes before the first newline, without
 * leading and trailing blanks (and a trailing CR). It is refused when it is longer than
 * CONTROL_REQUEST_MAX with its newline, holds a NUL byte, a control character or a byte that
 * is not printable ASCII. On CONTROL_REQUEST_OK, cmd (of cmdlen >= CONTROL_REQUEST_MAX bytes)
 * holds the line; on CONTROL_REQUEST_BAD, err holds why. Bytes after the newline are ignored.
 */
enum control_request control_request_parse(const char *buf, size_t len, bool eof, char *cmd,
					   size_t cmdlen, char *err, size_t errlen);

/* The answer given to a refused request or client: {"error": msg}, or with "busy": true. */
char *control_error_json(const char *msg, bool busy);

#endif /* NFQD_DAEMON_CONTROL_H */
