/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-rule counters: the packets and bytes each rule gave its verdict to, and those the default
 * verdict took, in one worker for one ruleset generation.
 *
 * Each worker owns one array per generation it uses (struct ruleset's rule_counts[slot]) and is
 * its only writer: relaxed stores of its own value, no lock and no locked instruction, like
 * nfqd_counters. When a worker takes a new generation it copies its counts over to where the
 * new policy numbers the same rules (rule_counts_follow()): a rule is known by its canonical text
 * and the occurrence of that text among the rules (the second "drop proto udp" is not the
 * first), so a rule a reload keeps keeps its counts wherever it moved, a new rule starts at 0,
 * and a removed rule's counts go with it. The default verdict's counts always follow.
 *
 * What is counted: a packet whose verdict rule i gave (it matched) counts for rule i; one that no
 * rule matched counts for the default. Packets whose verdict is neither are not counted here: the
 * on-unreadable verdict given before any rule (counted as unreadable) and the on-set-error verdict
 * (counted as set_failed). Bytes are the packet's full length as the kernel reports it, also when
 * the copy range cut what nfqd read.
 */
#ifndef NFQD_DAEMON_RULECOUNT_H
#define NFQD_DAEMON_RULECOUNT_H

#include <stdint.h>

struct nfqd_policy;

/* The counts of one rule (or of the default) in one worker. */
struct rule_count {
	uint64_t packets;
	uint64_t bytes;
};

/* One worker's counts for one policy: rules 0..n_rules-1, then the default at n_rules. */
struct rule_counts {
	unsigned int n_rules;
	struct rule_count c[];
};

/* A zeroed array for n_rules rules and the default; NULL when out of memory. Free with free(). */
struct rule_counts *rule_counts_new(unsigned int n_rules);

/* Count one packet of len bytes for c. Only the owning worker calls this. */
static inline void rule_count_add(struct rule_count *c, uint64_t len)
{
	__atomic_store_n(&c->packets, c->packets + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->bytes, c->bytes + len, __ATOMIC_RELAXED);
}

/* Read c; safe from any thread while its worker writes. */
static inline void rule_count_read(const struct rule_count *c, struct rule_count *out)
{
	out->packets = __atomic_load_n(&c->packets, __ATOMIC_RELAXED);
	out->bytes = __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
}

/*
 * Where the rules of policy to were in policy from: map[i] (nfqd_policy_rule_count(to) entries)
 * is the index in from of the rule with the same canonical text and the same occurrence of it,
 * or -1 for a rule from does not have (from NULL: none has). Returns 0 or -ENOMEM.
 */
int rule_counts_map(const struct nfqd_policy *from, const struct nfqd_policy *to, int *map);

/*
 * Which occurrence of its text each rule of p is: occ[i] (nfqd_policy_rule_count(p) entries) is
 * 1 for the first rule with that canonical text, 2 for the second, ... Returns 0 or -ENOMEM.
 */
int rule_counts_occurrences(const struct nfqd_policy *p, unsigned int *occ);

/*
 * A new array for policy to holding the counts of in (the counts of policy from; NULL: none)
 * moved as rule_counts_map() says, the default's included; in is read as rule_count_read()
 * does. Returns it (free with free()), or NULL when out of memory.
 */
struct rule_counts *rule_counts_follow(const struct nfqd_policy *from, const struct nfqd_policy *to,
				       const struct rule_counts *in);

#endif /* NFQD_DAEMON_RULECOUNT_H */
