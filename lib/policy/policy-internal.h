/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy internals shared by the rule compiler (policy.c) and the table of match kinds
 * (match.c).
 *
 * A compiled rule is a verdict, its canonical text, a mask of the facts a packet must have for
 * the rule to possibly match, and a slice of the policy's flat array of terms. A term is a kind
 * (a row of nfqd_match_table), a negation and the kind's arguments. Adding a match kind is
 * adding an enum value, a union member and a table row.
 */
#ifndef NFQD_POLICY_INTERNAL_H
#define NFQD_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nfqd/packet.h>
#include <nfqd/policy.h>

#define NFQD_POLICY_MAX_RULES 4096u /* rules per policy */
#define NFQD_RULE_MAX_TERMS   16u   /* terms per rule */
#define NFQD_TERM_TEXT_MAX    128u  /* canonical text of one term's argument, with its NUL */

/*
 * Facts of a packet as one 64-bit mask: the nfqd_packet flags in the low 32 bits, facts derived
 * from other fields of the view above them. A rule keeps the facts it needs in the same form, so
 * that one mask test rejects a packet every term of the rule would have to refuse.
 */
#define NFQD_FACT_IPV4 (1ull << 32) /* NFQD_PKT_HAS_L3 and l3 == 4 */
#define NFQD_FACT_IPV6 (1ull << 33) /* NFQD_PKT_HAS_L3 and l3 == 6 */

/* The facts the view establishes, in the form of nfqd_rule.need. */
static inline uint64_t nfqd_packet_facts(const struct nfqd_packet *pkt)
{
	uint64_t facts = pkt->flags;

	if (pkt->flags & NFQD_PKT_HAS_L3) {
		if (pkt->l3 == 4)
			facts |= NFQD_FACT_IPV4;
		else if (pkt->l3 == 6)
			facts |= NFQD_FACT_IPV6;
	}
	return facts;
}

/* enum nfqd_match_kind: one per row of nfqd_match_table */
enum nfqd_match_kind {
	NFQD_MATCH_PROTO,
	NFQD_MATCH_SRC,
	NFQD_MATCH_DST,
	NFQD_MATCH_SPORT,
	NFQD_MATCH_DPORT,
	NFQD_MATCH_MAX,
};

/* An address prefix of one family; addr has no bits set outside mask. */
struct nfqd_prefix {
	union nfqd_addr addr;
	union nfqd_addr mask;
	uint8_t family; /* 4 or 6 */
	uint8_t len;	/* 0-32 or 0-128 */
};

/* An inclusive port range. */
struct nfqd_port_range {
	uint16_t lo;
	uint16_t hi;
};

/* One compiled term of a rule. */
struct nfqd_term {
	uint8_t kind; /* enum nfqd_match_kind */
	bool negate;
	union {
		uint8_t proto;		      /* NFQD_MATCH_PROTO */
		struct nfqd_prefix prefix;    /* NFQD_MATCH_SRC, NFQD_MATCH_DST */
		struct nfqd_port_range ports; /* NFQD_MATCH_SPORT, NFQD_MATCH_DPORT */
	} arg;
};

/* One compiled rule. */
struct nfqd_rule {
	uint64_t need;	  /* facts (NFQD_PKT_HAS_*, NFQD_FACT_*) every packet it matches has */
	uint32_t verdict; /* NF_ACCEPT or NF_DROP */
	uint32_t first;	  /* index of its first term in nfqd_policy.terms */
	uint32_t nterms;
	char *text; /* canonical text, owned */
};

/* What one term requires of a packet, whether it is negated or not. */
struct nfqd_need {
	uint64_t facts; /* facts the term reads: without them it neither matches nor matches negated
			 */
	uint8_t family; /* 4 or 6 when the term reads an address of that family only, else 0 */
	int proto;	/* protocol a positive proto term requires, -1 otherwise */
	bool ports;	/* the term reads ports */
};

/*
 * What the terms of a rule compiled so far require, to refuse a term that contradicts an
 * earlier one (a rule that could never match is a mistake worth saying so).
 */
struct nfqd_rule_scope {
	uint64_t facts;			     /* union of the terms' facts: nfqd_rule.need */
	const struct nfqd_term *family_term; /* first term fixing the address family, or NULL */
	const struct nfqd_term *proto_term;  /* first positive proto term, or NULL */
	const struct nfqd_term *ports_term;  /* first term reading ports, or NULL */
	uint8_t family;			     /* the family of family_term */
	uint8_t proto;			     /* the protocol of proto_term */
};

/* A kind of match: one row of nfqd_match_table. */
struct nfqd_match_ops {
	const char *name;    /* the word that starts it: "dport" */
	const char *argname; /* what its argument is, for "missing port after 'dport'" */

	/*
	 * Parse the argument word into t->arg (t->kind and t->negate are set). Returns 0, or
	 * -EINVAL with err->msg filled (the caller sets err->word).
	 */
	int (*parse)(struct nfqd_term *t, const char *arg, struct nfqd_policy_error *err);

	/*
	 * Whether the packet matches t, ignoring t->negate. Called only for packets that have
	 * every fact of the term's need (the rule's mask test guarantees it), so it only compares.
	 */
	bool (*eval)(const struct nfqd_term *t, const struct nfqd_packet *pkt);

	/* Write the argument in canonical form; returns what snprintf() returns. */
	int (*format)(const struct nfqd_term *t, char *buf, size_t size);

	/* What the term requires of a packet. */
	void (*need)(const struct nfqd_term *t, struct nfqd_need *need);
};

/* The match kinds, indexed by enum nfqd_match_kind. */
extern const struct nfqd_match_ops nfqd_match_table[NFQD_MATCH_MAX];

/* The kind whose name is word, or -ENOENT. */
int nfqd_match_lookup(const char *word);

/* Whether the packet matches the term, negation applied; the need of the term is met. */
static inline bool nfqd_match_eval(const struct nfqd_term *t, const struct nfqd_packet *pkt)
{
	return nfqd_match_table[t->kind].eval(t, pkt) != t->negate;
}

/*
 * Add the parsed term t, whose argument word was arg, to the scope of its rule. Returns 0, or
 * -EINVAL with err->msg filled when t contradicts an earlier term (the caller sets err->word).
 * t must stay valid as long as the scope is used.
 */
int nfqd_match_scope_add(struct nfqd_rule_scope *s, const struct nfqd_term *t, const char *arg,
			 struct nfqd_policy_error *err);

/*
 * Write the term in canonical form ("not dport 1-1023") to buf. Returns the length, or
 * -ENAMETOOLONG when it does not fit in size.
 */
int nfqd_match_format(const struct nfqd_term *t, char *buf, size_t size);

#endif /* NFQD_POLICY_INTERNAL_H */
