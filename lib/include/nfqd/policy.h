/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy: ordered rules compiled from text, evaluated per packet. First match wins; a packet
 * no rule matches gets the default verdict.
 *
 * Rule syntax (words separated by blanks):
 *
 *	rule    := VERDICT term*
 *	VERDICT := accept | drop
 *	term    := [not] MATCH
 *	MATCH   := proto PROTO          tcp, udp, icmp, icmpv6, udplite, sctp, dccp, gre, esp, ah,
 *	                                or a number 0-255
 *	         | src ADDR[/LEN]       IPv4 or IPv6 address or prefix; matches that family only
 *	         | dst ADDR[/LEN]
 *	         | sport PORT[-PORT]    a port or an inclusive range; matches only packets whose
 *	         | dport PORT[-PORT]    ports are known (tcp, udp, udplite, sctp, dccp, first
 *fragment)
 *
 * All terms of a rule must match (AND). A term on a fact the packet view could not establish
 * (ports of a non-first fragment, a truncated header) does not match, and `not` of it does not
 * match either: nothing is concluded from what is unknown.
 *
 * The compiled form is a flat array of terms per rule, each a kind from a table of match kinds
 * (name, parser, evaluator) with its arguments; new kinds (sets, marks, interfaces) and actions
 * after the verdict are added to the tables without changing the rule grammar.
 *
 * A compiled policy is immutable and shared read-only by every worker; evaluation allocates
 * nothing and takes no lock.
 */
#ifndef NFQD_POLICY_H
#define NFQD_POLICY_H

#include <stdint.h>

struct nfqd_packet;
struct nfqd_policy;

/* Why a rule (or a verdict word) was refused. */
struct nfqd_policy_error {
	unsigned int word; /* 1-based index of the offending word in the rule, 0 when none */
	char msg[256];	   /* what is wrong, quoting the offending word: "unknown verdict 'dorp'" */
};

/* The outcome of evaluating a packet. */
struct nfqd_decision {
	uint32_t verdict; /* NF_ACCEPT or NF_DROP */
	int rule;	  /* 0-based index of the rule that matched, -1 for the default */
};

/* Create an empty policy with default verdict NF_ACCEPT. Returns 0 and *out, or -ENOMEM. */
int nfqd_policy_new(struct nfqd_policy **out);

/* Free a policy; NULL is accepted. */
void nfqd_policy_free(struct nfqd_policy *p);

/*
 * Parse a verdict word ("accept", "drop") into NF_ACCEPT/NF_DROP. Returns 0, or -EINVAL with
 * err (if not NULL) saying why.
 */
int nfqd_policy_parse_verdict(const char *word, uint32_t *verdict, struct nfqd_policy_error *err);

/* Set the verdict for packets no rule matches (NF_ACCEPT or NF_DROP). Returns 0 or -EINVAL. */
int nfqd_policy_set_default(struct nfqd_policy *p, uint32_t verdict);

/* The default verdict. */
uint32_t nfqd_policy_default(const struct nfqd_policy *p);

/*
 * Parse and compile one rule and append it after the existing ones. Returns 0; -EINVAL with
 * *err filled (the offending word quoted, err->word its position) when the text is not a valid
 * rule; -E2BIG when the policy or the rule is over its limits (err filled too); -ENOMEM.
 * On error the policy is unchanged.
 */
int nfqd_policy_add_rule(struct nfqd_policy *p, const char *text, struct nfqd_policy_error *err);

/* Number of rules. */
unsigned int nfqd_policy_rule_count(const struct nfqd_policy *p);

/*
 * The rule at index i (0-based) in canonical form: single spaces, prefixes normalised
 * ("drop src 192.0.2.0/24 proto udp dport 5000-5001"). Owned by the policy; NULL if i is out of
 * range.
 */
const char *nfqd_policy_rule_text(const struct nfqd_policy *p, unsigned int i);

/*
 * Classify one packet: fills *d with the verdict of the first rule that matches, or the
 * default. Pure: reads only the policy and the view.
 */
void nfqd_policy_eval(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
		      struct nfqd_decision *d);

#endif /* NFQD_POLICY_H */
