/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqctl's side of the control socket, shared by its sub-commands: one request, one checked
 * JSON answer. Each sub-command lives in its own file (nfqctl-top.c, ...) and is dispatched by
 * the table of nfqctl.c.
 */
#ifndef NFQD_DAEMON_NFQCTL_CLIENT_H
#define NFQD_DAEMON_NFQCTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Whole exchange, busy retries included: longer than nfqd's deadline for one exchange, so that
 * a slot held by a client that does not read is free again before nfqctl gives up. */
#define NFQCTL_TIMEOUT_MS 15000

/*
 * Send line (one request, without its newline) to nfqd at socket and read the answer,
 * retrying while nfqd answers that it is busy, for up to timeout_ms in all. The answer is
 * checked: whole (its final newline came) and exactly one JSON value.
 * Returns 0 with *reply the answer (malloc'd, NUL-terminated, the final newline removed; the
 * caller frees it), which may be an {"error":...} object (nfqctl_is_error()); or -1 with err
 * (errlen bytes) saying why no valid answer came: connect refused, permission denied (with the
 * socket's mode and group), timed out, cut short, not JSON.
 */
int nfqctl_request(const char *socket, const char *line, long timeout_ms, char **reply, char *err,
		   size_t errlen);

/* Whether reply is nfqd's {"error":...} answer. */
bool nfqctl_is_error(const char *reply);

/*
 * A sub-command: run it with its own arguments (argv[0] is its name) against socket. Returns
 * the exit status: 0 answered, 1 nfqd answered an error or no valid answer came, 2 bad
 * command line.
 */
struct nfqctl_command {
	const char *name;
	const char *summary; /* for --help: "SYNOPSIS\n  what it does", lines indented */
	int (*run)(const char *socket, int argc, char **argv);
};

/*
 * The plain sub-commands (stats, status, reload, upgrade, ...): send the line, print the JSON
 * answer on stdout, or nfqd's error on stderr. Returns the exit status.
 */
int nfqctl_simple(const char *socket, const char *line);

struct json_val;

/*
 * nfqctl_request() for a sub-command that reads the answer: on success *reply holds it and *doc
 * its JSON value; otherwise the reason (or nfqd's error answer) is printed on stderr and
 * *reply is NULL. Returns the exit status: 0, or 1.
 */
int nfqctl_get(const char *socket, const char *line, char **reply, struct json_val *doc);

/*
 * Parse the options of a sub-command cmd that takes only --json (-j): *json set when given;
 * optind is left at the first other argument. Returns 0, or -1 with the unknown option said.
 */
int nfqctl_json_option(const char *cmd, int argc, char **argv, bool *json);

/* Milliseconds of CLOCK_MONOTONIC. */
long long nfqctl_now_ms(void);

/*
 * Connect to nfqd's control socket at path, waiting up to deadline (nfqctl_now_ms()) while its
 * backlog is full, for a sub-command that speaks the protocol itself (capture's stream).
 * Returns the socket (non-blocking), or -1 with the reason printed on stderr.
 */
int nfqctl_connect(const char *path, long long deadline);

/* The sub-commands of their own files. */
int nfqctl_rules(const char *socket, int argc, char **argv);
int nfqctl_explain(const char *socket, int argc, char **argv);
int nfqctl_top(const char *socket, int argc, char **argv);
int nfqctl_capture(const char *socket, int argc, char **argv);

#endif /* NFQD_DAEMON_NFQCTL_CLIENT_H */
