/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy: ordered rules compiled from text, evaluated per packet. First match wins; a packet
 * no rule matches gets the default verdict.
 *
 * Rule syntax (words separated by blanks):
 *
 *	rule    := VERDICT item*
 *	VERDICT := accept | drop | queue N   N: queue number 0-65535
 *	         | reject [with KIND]  a drop that answers: KIND as reject.h (tcp-reset,
 *	                               port-unreachable, admin-prohibited, ...; `icmp`,
 *	                               `icmpv6` or `icmpx` may come before it); decided as
 *	                               NF_DROP with the kind in nfqd_decision.reject
 *	item    := [not] MATCH | ACTION
 *	MATCH   := proto PROTO         tcp, udp, icmp, icmpv6, udplite, sctp, dccp, gre, esp, ah,
 *	                               or a number 0-255
 *	         | src ADDR[/LEN]      IPv4 or IPv6 address or prefix; matches that family only
 *	         | dst ADDR[/LEN]
 *	         | sport PORT[-PORT]   a port or an inclusive range; matches only packets whose
 *	         | dport PORT[-PORT]   ports are known (tcp, udp, udplite, sctp, dccp, first
 *	                               fragment)
 *	         | src @SET            ipset membership, every dimension of the element taken
 *	         | dst @SET            from the source (destination) side of the packet
 *	         | set @SET DIRS       explicit sides per dimension, as iptables: src,dst[,dst]
 *	         | ct mark V[/M]       connmark & M == V (M defaults to 0xffffffff)
 *	         | meta mark V[/M]     packet mark & M == V
 *	         | iif NAME            input interface
 *	         | oif NAME            output interface
 *	ACTION  := set-mark V[/M]      with an accept verdict: packet mark = (mark & ~M) | V
 *	         | log                 hand each packet the rule decides to the drop log
 *	         | log-prefix "TEXT"   log, with TEXT in its lines: 1-NFQD_LOG_PREFIX_MAX printable
 *	                               ASCII characters (blanks too), no '"' or '\', in double
 *	                               quotes; the only item that may hold blanks
 *
 * All matches of a rule must hold (AND). A match on a fact the packet view could not establish
 * (ports of a non-first fragment, a truncated header, a connmark nobody provided, a set lookup
 * not answered) does not match, and `not` of it does not match either: nothing is concluded from
 * what is unknown. A `queue N` rule never matches a packet read from queue N (no loops).
 *
 * Set lookups are not done here: the policy lists the distinct (set, sides) lookups its rules
 * need (nfqd_policy_lookup()), the caller answers them for each packet (from the kernel's mark
 * bits or from IPSET_CMD_TEST), and evaluation reads the answers. Interfaces are matched by
 * index; the caller keeps the name-to-index table current (nfqd_policy_iface_set_index()).
 *
 * The compiled form is a flat array of terms per rule, each a kind from a table of match kinds
 * (name, parser, evaluator) with its arguments. A compiled policy is shared read-only by every
 * worker, except for the interface indexes, which are read and written atomically; evaluation
 * allocates nothing and takes no lock.
 */
#ifndef NFQD_POLICY_H
#define NFQD_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct nfqd_packet;
struct nfqd_policy;

#define NFQD_POLICY_MAX_LOOKUPS 32 /* distinct (set, sides) lookups per policy */
#define NFQD_POLICY_MAX_IFACES	64 /* distinct interface names per policy */
#define NFQD_LOG_PREFIX_MAX	32 /* characters of a log-prefix, without its NUL */

/* Why a rule (or a verdict word) was refused. */
struct nfqd_policy_error {
	unsigned int word; /* 1-based index of the offending word in the rule, 0 when none */
	char msg[256];	   /* what is wrong, quoting the offending word: "unknown verdict 'dorp'" */
};

/* One set lookup the policy needs. */
struct nfqd_set_lookup {
	const char *set;  /* set name (without '@'), owned by the policy */
	uint8_t side;	  /* enum nfqd_dir (packet.h) for every dimension, or 0: see dirs */
	uint8_t ndirs;	  /* with side 0: number of explicit sides in dirs (1..3) */
	uint8_t dirs[3];  /* with side 0: NFQD_DIR_SRC / NFQD_DIR_DST per dimension */
	const char *text; /* as written in canonical rules: "src @blocklist", "set @x src,dst" */
};

/* The answers to one packet's lookups: bit i of each mask is lookup i. */
struct nfqd_set_answers {
	uint32_t known;	 /* answered */
	uint32_t member; /* answered, and the packet is a member */
	uint32_t failed; /* could not be answered: the set is missing or the kernel refused */
};

/* enum nfqd_decision_flag */
enum nfqd_decision_flag {
	NFQD_DECISION_SET_MARK = 1u << 0,   /* apply mark/mark_mask (set-mark action) */
	NFQD_DECISION_SET_FAILED = 1u << 1, /* a lookup the decision needed failed: the verdict is
					      the on-set-error one, failed_lookup says which */
	NFQD_DECISION_PER_PACKET = 1u << 2, /* the verdict may differ for other packets of the flow:
					       it read the packet mark or the connmark, has an
					       action, hands the packet to another queue, or the
					       packet is unreadable */
	NFQD_DECISION_UNREADABLE = 1u << 3, /* the packet is unreadable (NFQD_PKT_UNREADABLE): the
					       verdict is the on-unreadable one (rule -1), or with
					       `evaluate` that of the rules over what is known */
	NFQD_DECISION_LOG = 1u << 4, /* the rule has the log action: the packet goes to the drop
					log (its prefix: nfqd_policy_rule_log_prefix()); with it
					NFQD_DECISION_PER_PACKET, so that every packet is seen */
};

/* What an unreadable packet (NFQD_PKT_UNREADABLE, packet.h) gets: [policy] on-unreadable. */
enum nfqd_on_unreadable {
	NFQD_ON_UNREADABLE_DROP,     /* NF_DROP before any rule is evaluated (the default) */
	NFQD_ON_UNREADABLE_ACCEPT,   /* NF_ACCEPT before any rule is evaluated */
	NFQD_ON_UNREADABLE_EVALUATE, /* the rules, with what is known: a match on an unknown
					fact does not match, and neither does its `not` */
	NFQD_ON_UNREADABLE_MAX,
};

/* The outcome of evaluating a packet. */
struct nfqd_decision {
	uint32_t verdict;      /* NF_ACCEPT, NF_DROP or NF_QUEUE_NR(n) */
	int rule;	       /* 0-based index of the rule that matched, -1 for the default */
	uint32_t flags;	       /* enum nfqd_decision_flag */
	uint32_t mark;	       /* with NFQD_DECISION_SET_MARK: value ... */
	uint32_t mark_mask;    /* ... and mask to apply to the packet mark */
	uint32_t lookups_read; /* bit i: the evaluation read the answer to lookup i */
	int failed_lookup;     /* with NFQD_DECISION_SET_FAILED: the lookup index, else -1 */
	uint32_t reject;       /* enum nfqd_reject (reject.h) of a reject rule, whose verdict is
				  NF_DROP; NFQD_REJECT_NONE for every other decision */
};

/* The mark bits a policy reads and writes, to keep them apart from nfqd's own bits. */
struct nfqd_policy_marks {
	uint32_t meta_mask;		  /* bits `meta mark` terms read */
	uint32_t ct_mask;		  /* bits `ct mark` terms read */
	uint32_t set_mask;		  /* bits `set-mark` actions write */
	int meta_rule, ct_rule, set_rule; /* first rule using each, -1 when none */
};

/* Create an empty policy: default verdict NF_ACCEPT, on-set-error NF_DROP. 0 or -ENOMEM. */
int nfqd_policy_new(struct nfqd_policy **out);

/* Free a policy; NULL is accepted. */
void nfqd_policy_free(struct nfqd_policy *p);

/*
 * Parse a verdict word for `default` or `on-set-error` ("accept", "drop") into NF_ACCEPT or
 * NF_DROP. Returns 0, or -EINVAL with err (if not NULL) saying why.
 */
int nfqd_policy_parse_verdict(const char *word, uint32_t *verdict, struct nfqd_policy_error *err);

/* Set the verdict for packets no rule matches (NF_ACCEPT or NF_DROP). Returns 0 or -EINVAL. */
int nfqd_policy_set_default(struct nfqd_policy *p, uint32_t verdict);

/* The default verdict. */
uint32_t nfqd_policy_default(const struct nfqd_policy *p);

/* Set the verdict for a packet whose decision needs a lookup that failed (NF_ACCEPT or
 * NF_DROP). Returns 0 or -EINVAL. */
int nfqd_policy_set_on_set_error(struct nfqd_policy *p, uint32_t verdict);

/* The on-set-error verdict. */
uint32_t nfqd_policy_on_set_error(const struct nfqd_policy *p);

/*
 * Parse an on-unreadable word ("drop", "accept", "evaluate"). Returns 0, or -EINVAL with err (if
 * not NULL) saying why.
 */
int nfqd_policy_parse_on_unreadable(const char *word, enum nfqd_on_unreadable *mode,
				    struct nfqd_policy_error *err);

/* The word of an on-unreadable mode ("drop"), "?" when out of range. */
const char *nfqd_policy_on_unreadable_name(enum nfqd_on_unreadable mode);

/* Set what unreadable packets get (default NFQD_ON_UNREADABLE_DROP). Returns 0 or -EINVAL. */
int nfqd_policy_set_on_unreadable(struct nfqd_policy *p, enum nfqd_on_unreadable mode);

/* The on-unreadable mode. */
enum nfqd_on_unreadable nfqd_policy_on_unreadable(const struct nfqd_policy *p);

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
 * The verdict of rule i as its text writes it ("accept", "drop", "queue 3"): a constant string,
 * or buf (size bytes) filled; NULL if i is out of range.
 */
const char *nfqd_policy_rule_verdict_text(const struct nfqd_policy *p, unsigned int i, char *buf,
					  size_t size);

/* The reject kind of rule i (enum nfqd_reject, reject.h): NFQD_REJECT_NONE when the rule is
 * no reject or i is out of range. */
int nfqd_policy_rule_reject(const struct nfqd_policy *p, unsigned int i);

/* The answers (bit 1u << enum nfqd_reject of each, nfqd_reject_answers_of()) the policy's
 * reject rules can give; 0 when it has none. */
uint32_t nfqd_policy_reject_answers(const struct nfqd_policy *p);

/*
 * The log-prefix of rule i, owned by the policy: NULL when the rule has none (or no log
 * action) or i is out of range.
 */
const char *nfqd_policy_rule_log_prefix(const struct nfqd_policy *p, unsigned int i);

/* Number of rules with the log action. */
unsigned int nfqd_policy_log_rules(const struct nfqd_policy *p);

/* The name `proto` rules give protocol num ("tcp"), or NULL when it has none. */
const char *nfqd_policy_proto_name(uint8_t num);

/* Number of distinct set lookups, and lookup i (NULL if out of range), in order of first use. */
unsigned int nfqd_policy_lookup_count(const struct nfqd_policy *p);
const struct nfqd_set_lookup *nfqd_policy_lookup(const struct nfqd_policy *p, unsigned int i);

/* Bit mask of the lookups rule i reads (0 if i is out of range). */
uint32_t nfqd_policy_rule_lookups(const struct nfqd_policy *p, unsigned int i);

/* Number of distinct interface names, and name i (NULL if out of range). */
unsigned int nfqd_policy_iface_count(const struct nfqd_policy *p);
const char *nfqd_policy_iface_name(const struct nfqd_policy *p, unsigned int i);

/* Set the index of interface name i (0: no such interface now). Safe while workers evaluate. */
void nfqd_policy_iface_set_index(const struct nfqd_policy *p, unsigned int i, uint32_t ifindex);

/* The mark bits the rules read and write. */
void nfqd_policy_marks(const struct nfqd_policy *p, struct nfqd_policy_marks *m);

/* The mark bits rule i alone reads and writes (the *_rule fields are i or -1); all zero when i
 * is out of range. */
void nfqd_policy_rule_marks(const struct nfqd_policy *p, unsigned int i,
			    struct nfqd_policy_marks *m);

/*
 * Classify one packet: fills *d with the verdict of the first rule that matches, or the
 * default. ans holds the answers to the policy's lookups for this packet (NULL: none answered).
 * A rule whose set term needs a failed lookup (and whose earlier terms all matched) ends the
 * evaluation with the on-set-error verdict. An unreadable packet (NFQD_PKT_UNREADABLE) gets the
 * on-unreadable verdict before any rule, with rule -1, or with `evaluate` the rules' verdict;
 * either way with NFQD_DECISION_UNREADABLE and NFQD_DECISION_PER_PACKET (a verdict on what
 * could not be read says nothing of the flow). Pure: reads only the policy, the view and ans.
 */
void nfqd_policy_eval(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
		      const struct nfqd_set_answers *ans, struct nfqd_decision *d);

/* enum nfqd_lint_kind: what is wrong with a rule that compiled */
enum nfqd_lint_kind {
	NFQD_LINT_NEVER_MATCHES, /* two of its terms cannot both hold */
	NFQD_LINT_SHADOWED,	 /* an earlier rule matches every packet it matches */
	NFQD_LINT_MAX,
};

/* One finding of nfqd_policy_lint(). */
struct nfqd_policy_lint {
	unsigned int rule; /* 0-based index of the rule */
	int kind;	   /* enum nfqd_lint_kind */
	int by;		   /* with NFQD_LINT_SHADOWED: the earlier rule, else -1 */
	char msg[512];	   /* why, quoting the terms or the earlier rule: "can never match: no
			      packet matches both 'dport 5' and 'dport 6'" */
};

/*
 * Find the rules that can never match, and those that no packet reaches because an earlier
 * rule matches (or, on a failed set lookup, stops at) every packet they would match; at most
 * one finding per rule, in rule order. A rule that can never match is not also reported as
 * shadowed. Every finding is certain; rules the analysis cannot decide (different sets, an
 * interface against an address) are passed over. Fills out[] with at most max findings and
 * returns how many there are in all (which may be more than max). Pure.
 */
int nfqd_policy_lint(const struct nfqd_policy *p, struct nfqd_policy_lint *out, unsigned int max);

#endif /* NFQD_POLICY_H */
