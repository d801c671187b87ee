/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy internals shared by the rule compiler (policy.c) and the table of match kinds
 * (match.c).
 *
 * A compiled rule is a verdict, its canonical text, a mask of the facts a packet must have for
 * the rule to possibly match, and a slice of the policy's flat array of terms. A term is a kind
 * (a row of nfqd_match_table), a negation and the kind's arguments. Adding a match kind is
 * adding an enum value, a union member and a table row.
 *
 * Terms that name something the caller resolves (a set lookup, an interface) refer to a row of
 * a policy-level table (struct nfqd_policy_refs) by index, so that the caller answers each
 * distinct lookup once per packet and keeps each interface index current in one place.
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
#define NFQD_MATCH_NAME_MAX   32u   /* full name of a match kind ("ct mark"), with its NUL */
#define NFQD_SET_NAME_MAX     31u   /* ipset's IPSET_MAXNAMELEN less the NUL */
#define NFQD_IFNAME_MAX	      15u   /* IFNAMSIZ less the NUL */
#define NFQD_LOOKUP_TEXT_MAX  64u   /* "set @" NAME " src,dst,dst", with its NUL */

/*
 * Facts of a packet as one 64-bit mask: the nfqd_packet flags in the low 32 bits, facts derived
 * from other fields of the view above them. A rule keeps the facts it needs in the same form, so
 * that one mask test rejects a packet every term of the rule would have to refuse.
 */
#define NFQD_FACT_IPV4	 (1ull << 32) /* NFQD_PKT_HAS_L3 and l3 == 4 */
#define NFQD_FACT_IPV6	 (1ull << 33) /* NFQD_PKT_HAS_L3 and l3 == 6 */
#define NFQD_FACT_INDEV	 (1ull << 34) /* indev != 0 */
#define NFQD_FACT_OUTDEV (1ull << 35) /* outdev != 0 */

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
	if (pkt->indev)
		facts |= NFQD_FACT_INDEV;
	if (pkt->outdev)
		facts |= NFQD_FACT_OUTDEV;
	return facts;
}

/* enum nfqd_match_kind: one per row of nfqd_match_table */
enum nfqd_match_kind {
	NFQD_MATCH_PROTO,
	NFQD_MATCH_SRC,
	NFQD_MATCH_DST,
	NFQD_MATCH_SPORT,
	NFQD_MATCH_DPORT,
	NFQD_MATCH_SRC_SET, /* src @SET: reached through the parse of NFQD_MATCH_SRC */
	NFQD_MATCH_DST_SET, /* dst @SET: reached through the parse of NFQD_MATCH_DST */
	NFQD_MATCH_SET,	    /* set @SET DIRS */
	NFQD_MATCH_CT_MARK,
	NFQD_MATCH_META_MARK,
	NFQD_MATCH_IIF,
	NFQD_MATCH_OIF,
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

/* A set membership test; what makes it distinct is everything but lookup. */
struct nfqd_set_ref {
	char name[NFQD_SET_NAME_MAX + 1];
	uint8_t side;	 /* enum nfqd_dir for every dimension, or 0: see dirs */
	uint8_t ndirs;	 /* with side 0: explicit sides in dirs (1..3) */
	uint8_t dirs[3]; /* per dimension; with a side, that side in every entry */
	uint8_t lookup;	 /* index in nfqd_policy_refs.lookups, set when the term is bound */
};

/* A mark comparison, or the mark a set-mark action writes: value has no bits outside mask. */
struct nfqd_mark {
	uint32_t value;
	uint32_t mask;
};

/* An interface by name. */
struct nfqd_iface_ref {
	char name[NFQD_IFNAME_MAX + 1];
	uint8_t index; /* in nfqd_policy_refs.ifaces, set when the term is bound */
};

/* One compiled term of a rule. */
struct nfqd_term {
	uint8_t kind; /* enum nfqd_match_kind */
	bool negate;
	union {
		uint8_t proto;		      /* NFQD_MATCH_PROTO */
		struct nfqd_prefix prefix;    /* NFQD_MATCH_SRC, NFQD_MATCH_DST */
		struct nfqd_port_range ports; /* NFQD_MATCH_SPORT, NFQD_MATCH_DPORT */
		struct nfqd_set_ref set;      /* NFQD_MATCH_SRC_SET, _DST_SET, _SET */
		struct nfqd_mark mark;	      /* NFQD_MATCH_CT_MARK, NFQD_MATCH_META_MARK */
		struct nfqd_iface_ref iface;  /* NFQD_MATCH_IIF, NFQD_MATCH_OIF */
	} arg;
};

/* Whether address a lies in prefix p (a of p's family). */
static inline bool nfqd_prefix_match(const struct nfqd_prefix *p, const union nfqd_addr *a)
{
	unsigned int nwords = p->family == 4 ? 1 : 4;

	for (unsigned int i = 0; i < nwords; i++)
		if ((a->w[i] & p->mask.w[i]) != p->addr.w[i])
			return false;
	return true;
}

/* Whether port lies in the range. */
static inline bool nfqd_ports_match(const struct nfqd_port_range *r, uint16_t port)
{
	return port >= r->lo && port <= r->hi;
}

/* enum nfqd_guard_check: the comparisons a rule's guard makes */
enum nfqd_guard_check {
	NFQD_GUARD_PROTO = 1u << 0,
	NFQD_GUARD_DPORT = 1u << 1,
	NFQD_GUARD_SPORT = 1u << 2,
	NFQD_GUARD_SRC = 1u << 3,
	NFQD_GUARD_DST = 1u << 4,
};

/*
 * A rule's leading pure terms folded into plain comparisons, made in the evaluator's loop with
 * no call per term: at most one positive proto, dport, sport, src prefix and dst prefix term
 * each, taken from the terms before the rule's first term with an effect (see
 * nfqd_match_ops.pure). Exact: a pure term that is not met ends the rule with no match and no
 * effect, whatever order the pure terms are evaluated in, and one that is met changes nothing.
 */
struct nfqd_rule_guard {
	uint8_t checks; /* enum nfqd_guard_check */
	uint8_t proto;
	struct nfqd_port_range dport, sport;
	struct nfqd_prefix src, dst;
};

/* Whether the packet meets every comparison of the guard; the rule's need is met. */
static inline bool nfqd_guard_pass(const struct nfqd_rule_guard *g, const struct nfqd_packet *pkt)
{
	/* cheapest first: a protocol, a port range, then the prefixes */
	if ((g->checks & NFQD_GUARD_PROTO) && pkt->l4_proto != g->proto)
		return false;
	if ((g->checks & NFQD_GUARD_DPORT) && !nfqd_ports_match(&g->dport, pkt->dport))
		return false;
	if ((g->checks & NFQD_GUARD_SPORT) && !nfqd_ports_match(&g->sport, pkt->sport))
		return false;
	if ((g->checks & NFQD_GUARD_SRC) && !nfqd_prefix_match(&g->src, &pkt->src))
		return false;
	if ((g->checks & NFQD_GUARD_DST) && !nfqd_prefix_match(&g->dst, &pkt->dst))
		return false;
	return true;
}

/* One compiled rule. */
struct nfqd_rule {
	uint64_t need;	     /* facts (NFQD_PKT_HAS_*, NFQD_FACT_*) every packet it matches has */
	uint32_t verdict;    /* NF_ACCEPT, NF_DROP or NF_QUEUE_NR(n) */
	uint32_t loop_queue; /* n of a `queue n` verdict, UINT32_MAX otherwise: the rule does not
				match packets read from that queue */
	uint32_t flags;	     /* NFQD_DECISION_* its verdict always carries */
	struct nfqd_mark set_mark; /* with NFQD_DECISION_SET_MARK in flags */
	uint32_t lookups;	   /* bit i: a term reads lookup i */
	uint32_t first;		   /* index of its first term in nfqd_policy.terms */
	uint32_t nterms;
	char *text; /* canonical text, owned */
	struct nfqd_rule_guard guard;
	uint8_t nrest;			   /* terms evaluated one by one after the guard ... */
	uint8_t rest[NFQD_RULE_MAX_TERMS]; /* ... in their order, as indexes from first */
};

/*
 * The rule index (index.c): for the first NFQD_INDEX_RULES rules of a policy, which ones a packet
 * meets the need and the guard of, as a mask with bit i for rule i. The evaluator then runs only
 * the remaining terms of those rules, in rule order; rules after the first NFQD_INDEX_RULES are
 * walked one by one.
 */
#define NFQD_INDEX_RULES 64u
#define NFQD_INDEX_SEGS	 (2u * NFQD_INDEX_RULES + 1u) /* segments a field is cut into, at most */

/* A field value (a port, an IPv4 or IPv6 address) as an unsigned 128-bit number. */
struct nfqd_index_key {
	uint64_t hi, lo;
};

/* One field: sorted segment starts, and the rules whose guard passes on each segment. */
struct nfqd_index_field {
	unsigned int n;
	struct nfqd_index_key start[NFQD_INDEX_SEGS];
	uint64_t rules[NFQD_INDEX_SEGS];
};

struct nfqd_rule_index {
	unsigned int nrules; /* the first nrules rules are indexed */
	uint64_t proto[256]; /* by protocol number */
	struct nfqd_index_field dport, sport, src4, dst4, src6, dst6;
	unsigned int nneeds;
	uint64_t need[NFQD_INDEX_RULES];       /* the distinct need masks ... */
	uint64_t need_rules[NFQD_INDEX_RULES]; /* ... and the rules of each */
};

/* Index the first (up to NFQD_INDEX_RULES) of the n rules, whose guards are compiled. */
void nfqd_rule_index_build(struct nfqd_rule_index *ix, const struct nfqd_rule *rules,
			   unsigned int n);

/*
 * The indexed rules whose need the packet's facts (nfqd_packet_facts()) meet and whose guard
 * passes, bit i for rule i. Pure.
 */
uint64_t nfqd_rule_index_candidates(const struct nfqd_rule_index *ix, const struct nfqd_packet *pkt,
				    uint64_t facts);

/* One distinct set lookup of a policy. */
struct nfqd_lookup_entry {
	struct nfqd_set_lookup pub; /* what nfqd_policy_lookup() gives; points into this entry */
	struct nfqd_set_ref ref;
	char text[NFQD_LOOKUP_TEXT_MAX];
};

/*
 * The policy-level tables terms refer to by index. Rows are added as rules are compiled, in
 * order of first use, and removed again when the rule that added them is refused.
 */
struct nfqd_policy_refs {
	struct nfqd_lookup_entry lookups[NFQD_POLICY_MAX_LOOKUPS];
	unsigned int nlookups;
	char ifaces[NFQD_POLICY_MAX_IFACES][NFQD_IFNAME_MAX + 1];
	unsigned int nifaces;
	/*
	 * NFQD_POLICY_MAX_IFACES indexes, 0 for an interface that does not exist now. Allocated
	 * apart from the policy: it is the one part of a shared, const policy that changes, read
	 * and written with relaxed atomics.
	 */
	uint32_t *ifindex;
};

/* What one term requires of a packet, whether it is negated or not, and what it reads. */
struct nfqd_need {
	uint64_t facts; /* facts the term reads: without them it neither matches nor matches negated
			 */
	uint8_t family; /* 4 or 6 when the term reads an address of that family only, else 0 */
	int proto;	/* protocol a positive proto term requires, -1 otherwise */
	bool ports;	/* the term reads ports */
	uint32_t lookups;   /* bit of the set lookup the term reads */
	bool meta_mark;	    /* the term reads the packet mark ... */
	bool ct_mark;	    /* ... or the connmark ... */
	uint32_t mark_mask; /* ... these bits of it */
};

/*
 * What the terms of a rule compiled so far require, to refuse a term that contradicts an
 * earlier one (a rule that could never match is a mistake worth saying so), and what they read.
 */
struct nfqd_rule_scope {
	uint64_t facts;			     /* union of the terms' facts: nfqd_rule.need */
	const struct nfqd_term *family_term; /* first term fixing the address family, or NULL */
	const struct nfqd_term *proto_term;  /* first positive proto term, or NULL */
	const struct nfqd_term *ports_term;  /* first term reading ports, or NULL */
	uint8_t family;			     /* the family of family_term */
	uint8_t proto;			     /* the protocol of proto_term */
	uint32_t lookups;		     /* union of the terms' lookups: nfqd_rule.lookups */
	bool meta_mark, ct_mark;	     /* some term reads the packet mark, the connmark */
	uint32_t meta_mask, ct_mask;	     /* union of the bits they read */
};

/* enum nfqd_term_result: the outcome of one term for one packet */
enum nfqd_term_result {
	NFQD_TERM_MISS = 0,
	NFQD_TERM_HIT = 1,
	NFQD_TERM_UNKNOWN, /* the fact is unknown: neither matches nor matches negated */
	NFQD_TERM_FAILED,  /* the set lookup failed: evaluation stops with on-set-error */
};

/* The state of one evaluation: its inputs, and what the terms reached so far have read. */
struct nfqd_eval {
	const struct nfqd_packet *pkt;
	const struct nfqd_set_answers *ans; /* never NULL: no answer is all zero */
	const uint32_t *ifindex;	    /* nfqd_policy_refs.ifindex */
	uint32_t flags;			    /* NFQD_DECISION_PER_PACKET once a mark was read */
	uint32_t lookups_read;
	int failed_lookup; /* with NFQD_TERM_FAILED: the lookup */
};

/* A kind of match: one row of nfqd_match_table. */
struct nfqd_match_ops {
	const char *name;   /* the word that starts it: "dport", "ct" */
	const char *sub;    /* the second word of a two-word name ("mark" of "ct mark"), or NULL */
	bool variant;	    /* reached only by the parse of the row of the same name, which
			       turns into this kind on the form of its argument */
	unsigned int nargs; /* argument words: 1 or 2 */
	const char *argname[2]; /* what they are, for "missing port after 'dport'" */

	/*
	 * Parse argument word argi (0-based) into t->arg (t->kind and t->negate are set; the parse
	 * of word 0 may change t->kind to a variant of the same name). Returns 0, or -EINVAL with
	 * err->msg filled (the caller sets err->word).
	 */
	int (*parse)(struct nfqd_term *t, unsigned int argi, const char *arg,
		     struct nfqd_policy_error *err);

	/*
	 * Optional: enter what the term names into the policy's tables and keep the row's index
	 * in t->arg. Returns 0, or -E2BIG with err->msg filled when a table is full (the caller
	 * sets err->word and removes the rows of a refused rule).
	 */
	int (*bind)(struct nfqd_term *t, struct nfqd_policy_refs *refs,
		    struct nfqd_policy_error *err);

	/*
	 * The evaluation has no effect besides the answer, which is HIT or MISS: no state of the
	 * evaluation is changed (no set read, no mark read), never UNKNOWN or FAILED.
	 */
	bool pure;

	/*
	 * Whether the packet matches t, ignoring t->negate: enum nfqd_term_result. Called only
	 * for packets that have every fact of the term's need (the rule's mask test guarantees
	 * it). Records what it reads in e.
	 */
	int (*eval)(const struct nfqd_term *t, struct nfqd_eval *e);

	/* Write the arguments in canonical form; returns what snprintf() returns. */
	int (*format)(const struct nfqd_term *t, char *buf, size_t size);

	/* What the term requires of a packet. */
	void (*need)(const struct nfqd_term *t, struct nfqd_need *need);
};

/* The match kinds, indexed by enum nfqd_match_kind. */
extern const struct nfqd_match_ops nfqd_match_table[NFQD_MATCH_MAX];

/*
 * The kind named word (sub NULL: the first row of that name, which may want a second word), or
 * word sub; -ENOENT when there is none.
 */
int nfqd_match_lookup(const char *word, const char *sub);

/* The full name of a kind, for messages: "dport", "ct mark". */
const char *nfqd_match_name(const struct nfqd_match_ops *k, char *buf, size_t size);

/* The kinds whose name starts with word, for a message: "ct mark". */
const char *nfqd_match_names_of(const char *word, char *buf, size_t size);

/* A set term: the caller's answer to its lookup, recorded as read (enum nfqd_term_result). */
static inline int nfqd_set_term_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	uint32_t bit = 1u << t->arg.set.lookup;

	e->lookups_read |= bit;
	if (e->ans->failed & bit) {
		e->failed_lookup = t->arg.set.lookup;
		return NFQD_TERM_FAILED;
	}
	if (!(e->ans->known & bit))
		return NFQD_TERM_UNKNOWN;
	return (e->ans->member & bit) ? NFQD_TERM_HIT : NFQD_TERM_MISS;
}

/* Whether the packet matches the term, negation applied; the need of the term is met. */
static inline int nfqd_match_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	/* set terms, the commonest left after a rule's guard, without a call */
	bool set = t->kind == NFQD_MATCH_SRC_SET || t->kind == NFQD_MATCH_DST_SET ||
		   t->kind == NFQD_MATCH_SET;
	int r = set ? nfqd_set_term_eval(t, e) : nfqd_match_table[t->kind].eval(t, e);

	/* unknown and failed stay so negated: nothing is concluded from them */
	if (r == NFQD_TERM_MISS || r == NFQD_TERM_HIT)
		return r ^ t->negate;
	return r;
}

/*
 * Add the parsed term t, whose last argument word was arg, to the scope of its rule. Returns 0,
 * or -EINVAL with err->msg filled when t contradicts an earlier term (the caller sets
 * err->word). t must stay valid as long as the scope is used.
 */
int nfqd_match_scope_add(struct nfqd_rule_scope *s, const struct nfqd_term *t, const char *arg,
			 struct nfqd_policy_error *err);

/*
 * Write the term in canonical form ("not dport 1-1023") to buf. Returns the length, or
 * -ENAMETOOLONG when it does not fit in size.
 */
int nfqd_match_format(const struct nfqd_term *t, char *buf, size_t size);

/*
 * Parse a decimal number of at most max with no sign, blank or other junk; s ends at end.
 * Returns 0, -EINVAL when it is not a number, -ERANGE when it is above max.
 */
int nfqd_parse_uint(const char *s, const char *end, unsigned long max, unsigned long *out);

/*
 * Parse "V[/M]" (each hex 0x... or decimal, 32-bit; M defaults to 0xffffffff) for the words
 * `after` ("ct mark", "set-mark"). Returns 0, or -EINVAL with err->msg filled.
 */
int nfqd_mark_parse(struct nfqd_mark *m, const char *arg, const char *after,
		    struct nfqd_policy_error *err);

/* Write a mark in canonical form: "0x10/0xf0", the mask left out when it is 0xffffffff. */
int nfqd_mark_format(const struct nfqd_mark *m, char *buf, size_t size);

/*
 * nfqd_policy_eval() as specified: every rule in order, each term of a rule in its order, no
 * guard and no index. The fast evaluator must decide exactly as this does; the unit tests and
 * the fuzzer fuzz_policy check that it does.
 */
void nfqd_policy_eval_terms(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
			    const struct nfqd_set_answers *ans, struct nfqd_decision *d);

/* The policy's rule index, for the tests. */
const struct nfqd_rule_index *nfqd_policy_rule_index(const struct nfqd_policy *p);

/* The compiled rules (their count in *n) and the flat array of their terms, for the lint. */
const struct nfqd_rule *nfqd_policy_rules(const struct nfqd_policy *p, unsigned int *n);
const struct nfqd_term *nfqd_policy_terms(const struct nfqd_policy *p);

#endif /* NFQD_POLICY_INTERNAL_H */
