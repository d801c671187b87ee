/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ruleset generations: everything a worker reads per packet (the compiled policy, its mark plan
 * and settings, the set headers, the lookup reach table, each worker's set lookups) in one
 * object, published through one atomic pointer.
 *
 * The main thread builds a generation, publishes it, and retires the one it replaces. A worker
 * takes the current generation at the top of each batch (ruleset_acquire(): one atomic load and
 * one store of the generation number it now uses) and judges every packet of that batch with
 * it. A retired generation is freed (ruleset_reap()) once every running worker has announced a
 * later one: no lock is ever taken on the hot path, and no packet is judged by two generations.
 */
#ifndef NFQD_DAEMON_RULESET_H
#define NFQD_DAEMON_RULESET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nfqd/chaincount.h"
#include "nfqd/chainplan.h"
#include "nfqd/ipset.h"
#include "nfqd/policy.h"
#include "nfqd/setlookup.h"

#include "config.h"
#include "rulecount.h"

struct ruleset {
	uint64_t gen;		       /* set by ruleset_publish(): 1, 2, ... */
	struct config *cfg;	       /* owned: policy, plan, set-lookup, flow cache */
	char *text;		       /* owned: the configuration file as it was read */
	size_t text_len;	       /* its bytes */
	struct nfqd_ipset_info *infos; /* owned: the set of each lookup, read at load */
	uint32_t *reach;	       /* reach[i]: the lookups rules 0..i read */
	uint64_t *log_tat; /* log_tat[i]: rule i's drop log rate limit (droplog_admit()) */
	/* each worker slot's IPSET_CMD_TEST lookups (NULL: the slot tests nothing) */
	struct nfqd_setlookup *setlookup[CONFIG_MAX_QUEUES];
	atomic_int set_state[NFQD_POLICY_MAX_LOOKUPS]; /* last logged state of each lookup */
	/* each worker slot's per-rule counters under this generation (rulecount.h), set by the
	 * worker when it takes the generation (NULL until then, or when out of memory); owned */
	_Atomic(struct rule_counts *) rule_counts[CONFIG_MAX_QUEUES];
	struct timespec loaded; /* CLOCK_REALTIME of the load */
	struct ruleset *next;	/* the retired list */
};

/*
 * A generation of cfg, text and infos (all three taken over: freed with it, also on failure;
 * text and infos may be NULL). Returns 0 and *out, or -ENOMEM.
 */
int ruleset_new(struct ruleset **out, struct config *cfg, char *text,
		struct nfqd_ipset_info *infos);

/*
 * Give worker slot its own IPSET_CMD_TEST lookups (a netlink socket, tables for a batch of
 * cfg->batch), when its rules test sets. Returns 0 or -errno.
 */
int ruleset_add_slot(struct ruleset *rs, unsigned int slot);

/* Free rs and all it owns; NULL is accepted. */
void ruleset_free(struct ruleset *rs);

/* The published generation, and those retired but maybe still in use. */
struct ruleset_pub {
	_Atomic(struct ruleset *) current;
	struct ruleset *retired; /* main thread only */
	uint64_t last_gen;	 /* main thread only */
};

/* Number rs as the next generation and make it current; the one it replaces is retired. Main
 * thread only. */
void ruleset_publish(struct ruleset_pub *pub, struct ruleset *rs);

/*
 * A worker's side, once per batch: load the current generation; when it is not the one in use,
 * switch to it (the previous one may still be read while switching), then announce it in *seen
 * (a release store). From the announcement on the worker reads no older generation.
 * ruleset_acquire() does both at once.
 */
struct ruleset *ruleset_current(struct ruleset_pub *pub);
void ruleset_announce(_Atomic uint64_t *seen, const struct ruleset *rs);
struct ruleset *ruleset_acquire(struct ruleset_pub *pub, _Atomic uint64_t *seen);

/*
 * Free every retired generation older than min_seen, the lowest generation number the running
 * workers announced (UINT64_MAX when none runs). A worker that has not announced anything yet
 * announces 0, which keeps everything. Main thread only. Returns the number freed.
 */
unsigned int ruleset_reap(struct ruleset_pub *pub, uint64_t min_seen);

/* The generation numbered gen, current or retired and not yet freed; NULL when there is none.
 * Main thread only. */
struct ruleset *ruleset_find(struct ruleset_pub *pub, uint64_t gen);

/* Whether retired generations wait for workers. */
bool ruleset_retired_pending(const struct ruleset_pub *pub);

/* Free the current generation and every retired one: once no worker runs. */
void ruleset_pub_clear(struct ruleset_pub *pub);

/*
 * What the loaded chain NFQD (RULES_TABLE, RULES_CHAIN) holds, [0] in IPv4 and [1] in IPv6:
 * err 0 with the plan tag it carries, -ENOENT when nftables has no such chain (not loaded, or
 * loaded by iptables-legacy), -ENODATA when it carries no tag, another -errno when it cannot be
 * read.
 */
struct ruleset_loaded {
	int err[2];
	uint64_t tag[2];
};

/* Read it with chain (opened before the privilege drop); chain NULL: open_err for both. */
void ruleset_read_loaded(struct nfqd_chaincount *chain, int open_err, struct ruleset_loaded *out);

/*
 * Whether the loaded chain holds the rules configuration c needs: its IPv4 tag, and its IPv6 tag
 * when an IPv6 chain is loaded, equal the plan hashes of c. Returns 0; -EBADR with msg saying
 * what it holds and the commands that load the right rules; -ENOENT with msg saying why it
 * cannot be checked (loaded NULL, the IPv4 chain missing or unreadable); -EINVAL.
 */
int ruleset_check_loaded(const struct config *c, const struct nfqd_ipset_info *infos,
			 const struct ruleset_loaded *loaded, char *msg, size_t len);

/*
 * Whether a running nfqd with configuration old can switch to new: the settings fixed at start
 * ([queue] other than queues, [daemon]) are the same, and the iptables rules `nfqd rules`
 * generates for them (set lookups in mark bits, flow cache, mark bits; rules_plan()) are the same
 * in IPv4 and IPv6, or else the loaded chain already holds those of new (ruleset_check_loaded();
 * loaded NULL: unknown). Returns 0 when the rules are the same, 1 when they differ and the
 * loaded chain holds the new ones, or -EINVAL with err saying what changed and exactly what to
 * run: when the chain holds other rules, the commands that load the new ones and `nfqctl
 * reload`; when it cannot be read, why, and a restart after the load.
 */
int ruleset_check_compatible(const struct config *old, const struct nfqd_ipset_info *old_infos,
			     const struct config *new, const struct nfqd_ipset_info *new_infos,
			     const struct ruleset_loaded *loaded, char *err, size_t errlen);

#endif /* NFQD_DAEMON_RULESET_H */
