/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live reload: SIGHUP, `nfqctl reload` (and so `systemctl reload nfqd`) read the configuration
 * again in the main thread, build a new ruleset generation and publish it (ruleset.h); queues
 * added or removed are bound or drained and unbound, the others are not touched. A
 * configuration that does not load, or that a running nfqd cannot apply, changes nothing: the
 * generation in force stays, and the error is logged and kept for `nfqctl status`.
 *
 * The last good configuration: every configuration that loaded (at start or by a reload) is
 * copied, as read, to the last-good file (write and rename, mode 0600). When the configuration
 * does not load at start and that file exists, nfqd serves with it and says so loudly.
 */
#ifndef NFQD_DAEMON_RELOAD_H
#define NFQD_DAEMON_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct daemon;
struct ruleset;

/* The name of the last-good file in the directory systemd names in RUNTIME_DIRECTORY. */
#define RELOAD_LAST_GOOD_NAME "last-good.conf"

/* The largest configuration file a reload reads. */
#define RELOAD_TEXT_MAX (4u << 20)

struct reload_status {
	const char *config_path; /* the file every reload reads */
	const char *last_good;	 /* the last-good file; NULL: none is kept */
	bool from_last_good;	 /* serving the last-good file: the configuration did not load */
	char start_error[1024];	 /* why, when from_last_good */
	unsigned int reloads;	 /* reloads tried */
	int last_result;	 /* of the last reload: 0 or -errno */
	char last_message[1024];
	struct timespec last_at; /* CLOCK_REALTIME of the last reload */
	bool reap_armed;	 /* a timer frees the retired generations */
};

/*
 * Read path (a regular file of at most RELOAD_TEXT_MAX bytes), parse it and read the headers of
 * the sets it names: a generation not yet published, holding the text as read. Returns 0 and
 * *out, or -errno with err holding "FILE:LINE: what is wrong" (or "FILE: ...").
 */
int reload_load(const char *path, struct ruleset **out, char *err, size_t errlen);

/*
 * The generation to start with: st->config_path, or when it does not load and st->last_good
 * exists, the last good one (st->from_last_good and st->start_error set, the error logged).
 * Returns 0 and *out, or -errno with the error logged.
 */
int reload_load_at_start(struct reload_status *st, struct ruleset **out);

/*
 * Reload d's configuration now (trigger: "SIGHUP", "nfqctl reload", for the log). Returns the
 * generation in force afterwards (> 0) with msg saying what changed, or -errno with msg holding
 * the error; the old generation then stays in force.
 */
int64_t reload_run(struct daemon *d, const char *trigger, char *msg, size_t len);

/* Copy the current generation's text to the last-good file, if one is kept (logs failures). */
void reload_save_last_good(struct daemon *d);

/*
 * Open d->chain, the socket that reads the plan tag of the loaded chain NFQD at every reload
 * (before the privilege drop: the filter allows no new netlink socket after it, except for a
 * reload's own), and warn when the loaded chain does not hold the rules of the current
 * generation, naming the command that loads them. Without the socket (d->chain_err), a reload
 * that changes the generated rules is refused. Returns 0, or -EBADR (logged) when the current
 * generation has reject rules and the loaded chain does not hold its rules
 * (reject_check_loaded()): nfqd does not start then.
 */
int reload_open_chain(struct daemon *d);

/* The status document (`nfqctl status`): malloc'd JSON, NULL when out of memory. */
char *reload_status_json(struct daemon *d);

#endif /* NFQD_DAEMON_RELOAD_H */
