/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commands of the control socket: a table of commands, the dispatch of one request line
 * with the peer's credentials, and the stats document rendered from a snapshot of the daemon.
 * Nothing here touches the kernel or a socket: main.c fills the snapshot from its workers, and
 * the unit tests and the fuzzer fill it from a config text.
 */
#ifndef NFQD_DAEMON_COMMAND_H
#define NFQD_DAEMON_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nfqd/policy.h"
#include "nfqd/queue.h"
#include "nfqd/stats.h"

#include "rulecount.h"

struct client;
struct config;
struct nfqd_ipset_info;

/* Who sent a request: the SO_PEERCRED of its connection. */
struct command_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	/* the connection, for a command that takes it over (control_take()); NULL: none */
	struct client *conn;
};

/* One queue, as its worker last counted it. */
struct stats_queue {
	unsigned int num;
	struct nfqd_counters counters;
	const char *transport; /* backend name */
	int cpu;	       /* -1: not pinned */
	unsigned int rcvbuf;
	bool conntrack;
	bool kstats_ok; /* kstats read from the kernel */
	struct nfqd_queue_kstats kstats;
};

/* One set lookup, its counters summed over the workers. */
struct stats_lookup {
	uint64_t by_mark, by_test, member, failed;
};

/* What the stats command reports; the caller owns every pointer. */
struct stats_snapshot {
	const char *version;
	uint64_t generation;		     /* the ruleset generation in force; 0: unknown */
	const struct config *cfg;	     /* rules, lookups, set-lookup, flow cache, mark plan */
	const struct nfqd_ipset_info *infos; /* one per lookup of cfg's policy */
	const struct stats_queue *queues;
	unsigned int n_queues;
	const uint64_t *retired; /* NFQD_CTR_MAX counters of queues no longer served, or NULL */
	struct stats_lookup lookups[NFQD_POLICY_MAX_LOOKUPS];
	/* packets that passed the queues without a verdict under fail-open (all queues), when
	 * the generated NFQD-PASS chain counts them */
	bool fail_open_counted;
	uint64_t fail_open_passed;
	/* the per-rule counters (rulecount.h) of queues[q]: rule_counts[q * (n + 1) + r] for rule r
	 * of cfg's policy (n rules), r = n the default's; malloc'd by the snapshot and freed by
	 * its taker; NULL: none counted (all zero) */
	struct rule_count *rule_counts;
};

/*
 * Render the stats document: one JSON object without a trailing newline. Returns it malloc'd
 * (the caller frees it), or NULL when out of memory.
 */
char *command_stats_json(const struct stats_snapshot *s);

/*
 * A command. run() answers with a malloc'd JSON object (NULL: out of memory); args is what
 * followed the name (blanks trimmed, "" when none). A command that changes the daemon's
 * state declares it, and is refused to peers other than root and nfqd's own user.
 */
struct command {
	const char *name;
	bool changes_state;
	/* with changes_state: why the command is privileged, as a refusal says it ("shows the
	 * packets' contents"); NULL: "changes nfqd's state" */
	const char *privileged_why;
	bool takes_args;
	char *(*run)(void *user, const char *args);
	/* instead of run: a command that needs the peer (its connection, to take it over) */
	char *(*run_peer)(void *user, const char *args, const struct command_peer *peer);
};

/*
 * Answer one request line (no newline, no control characters: control.c has checked) from
 * table: find the command by its first word, check the peer when the command changes state
 * (allowed to uid 0 and to self_uid), run it. Returns a malloc'd JSON object, an
 * {"error":...} one for an unknown command, a refused peer or bad arguments; NULL only when
 * out of memory.
 */
char *command_dispatch(const struct command *table, size_t n, void *user, const char *line,
		       const struct command_peer *peer, uid_t self_uid);

/* The daemon's side of the commands: how to take a snapshot of it. */
struct command_daemon {
	/*
	 * Fill *out (queues into the n_max entries of queues[]) from the running daemon.
	 * Returns 0 or -errno.
	 */
	int (*snapshot)(void *user, struct stats_snapshot *out, struct stats_queue *queues,
			unsigned int n_max);
	/*
	 * Reload the configuration (reload.h): the generation in force afterwards (> 0) with msg
	 * saying what changed, or -errno with msg holding the error. NULL: cannot reload.
	 */
	int64_t (*reload)(void *user, char *msg, size_t len);
	/* The status document, malloc'd JSON (NULL: out of memory). NULL: no status. */
	char *(*status)(void *user);
	void *user;
	unsigned int n_queues; /* entries snapshot() needs */
	/* Start re-executing nfqd (upgrade): 0 with msg saying what happens, or -errno with msg
	 * saying why not. NULL: not available. */
	int (*upgrade)(void *user, char *msg, size_t len);
	uid_t self_uid; /* nfqd's own uid, allowed to change state */
	/* Start a capture (capture.h, capture_start()). NULL: not available. */
	char *(*capture)(void *user, const char *args, const struct command_peer *peer);
};

/*
 * Take a snapshot of the daemon d into *snap, its queues into a new array *queues. Returns 0
 * (free both with command_snapshot_free()), or -errno (nothing to free).
 */
int command_snapshot(const struct command_daemon *d, struct stats_snapshot *snap,
		     struct stats_queue **queues);
void command_snapshot_free(struct stats_snapshot *snap, struct stats_queue *queues);

/*
 * A command's answer from a snapshot of daemon (a struct command_daemon): render(snapshot), or
 * {"error":...} when the snapshot cannot be taken; NULL when out of memory.
 */
char *command_render(void *daemon, char *(*render)(const struct stats_snapshot *s));

/* Answer line with nfqd's command table (a control_handler for control_open()). */
char *command_answer(void *daemon, const char *line, const struct command_peer *peer);

/* Append {"error": msg} as a malloc'd JSON object; NULL when out of memory. */
char *command_error(const char *msg);

#endif /* NFQD_DAEMON_COMMAND_H */
