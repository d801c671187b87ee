/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lint of a compiled policy: rules that can never match, and rules no packet reaches because an
 * earlier rule matches every packet they match. Pure: reads the policy only.
 *
 * Both analyses compare terms of the same kind, pairwise, on their positive forms:
 *   implies(a, b):  every packet a matches, b matches too;
 *   disjoint(a, b): no packet matches both.
 * They answer "no" whenever they cannot tell (two different sets, a set and an address), so that
 * every warning is certain and some dead rules go unnoticed. The parser already refuses the
 * contradictions a single term makes with the ones before it (families, protocols, ports of a
 * portless protocol); the lint finds the rest.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

/* Whether prefix a lies inside prefix b (both of one family). */
static bool prefix_within(const struct nfqd_prefix *a, const struct nfqd_prefix *b)
{
	if (a->family != b->family || a->len < b->len)
		return false;
	for (int i = 0; i < 4; i++)
		if ((a->addr.w[i] & b->mask.w[i]) != b->addr.w[i])
			return false;
	return true;
}

static bool implies(const struct nfqd_term *a, const struct nfqd_term *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case NFQD_MATCH_PROTO:
		return a->arg.proto == b->arg.proto;
	case NFQD_MATCH_SRC:
	case NFQD_MATCH_DST:
		return prefix_within(&a->arg.prefix, &b->arg.prefix);
	case NFQD_MATCH_SPORT:
	case NFQD_MATCH_DPORT:
		return b->arg.ports.lo <= a->arg.ports.lo && a->arg.ports.hi <= b->arg.ports.hi;
	case NFQD_MATCH_SRC_SET:
	case NFQD_MATCH_DST_SET:
	case NFQD_MATCH_SET:
		return a->arg.set.lookup == b->arg.set.lookup;
	case NFQD_MATCH_CT_MARK:
	case NFQD_MATCH_META_MARK:
		/* a fixes every bit b compares, to b's values */
		return (b->arg.mark.mask & ~a->arg.mark.mask) == 0 &&
		       (a->arg.mark.value & b->arg.mark.mask) == b->arg.mark.value;
	case NFQD_MATCH_IIF:
	case NFQD_MATCH_OIF:
		return strcmp(a->arg.iface.name, b->arg.iface.name) == 0;
	default:
		return false;
	}
}

/* Only for terms that read the same facts of a packet: then neither is unknown alone. */
static bool disjoint(const struct nfqd_term *a, const struct nfqd_term *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case NFQD_MATCH_PROTO:
		return a->arg.proto != b->arg.proto;
	case NFQD_MATCH_SRC:
	case NFQD_MATCH_DST:
		return a->arg.prefix.family == b->arg.prefix.family &&
		       !prefix_within(&a->arg.prefix, &b->arg.prefix) &&
		       !prefix_within(&b->arg.prefix, &a->arg.prefix);
	case NFQD_MATCH_SPORT:
	case NFQD_MATCH_DPORT:
		return a->arg.ports.hi < b->arg.ports.lo || b->arg.ports.hi < a->arg.ports.lo;
	case NFQD_MATCH_CT_MARK:
	case NFQD_MATCH_META_MARK:
		/* a bit both compare, to different values */
		return ((a->arg.mark.value ^ b->arg.mark.value) & a->arg.mark.mask &
			b->arg.mark.mask) != 0;
	case NFQD_MATCH_IIF:
	case NFQD_MATCH_OIF:
		/* a packet has one interface of each side */
		return strcmp(a->arg.iface.name, b->arg.iface.name) != 0;
	default:
		return false;
	}
}

/* Whether t (its plain form) holds for every packet that has the facts it reads. */
static bool always(const struct nfqd_term *t)
{
	switch (t->kind) {
	case NFQD_MATCH_SRC:
	case NFQD_MATCH_DST:
		return t->arg.prefix.len == 0;
	case NFQD_MATCH_SPORT:
	case NFQD_MATCH_DPORT:
		return t->arg.ports.lo == 0 && t->arg.ports.hi == 65535;
	case NFQD_MATCH_CT_MARK:
	case NFQD_MATCH_META_MARK:
		return t->arg.mark.mask == 0;
	default:
		return false;
	}
}

static uint64_t term_facts(const struct nfqd_term *t)
{
	struct nfqd_need need = { .proto = -1 };

	nfqd_match_table[t->kind].need(t, &need);
	return need.facts;
}

/* The term as written, for a message; "?" when it does not fit (it always does). */
static const char *text(const struct nfqd_term *t, char *buf, size_t size)
{
	if (nfqd_match_format(t, buf, size) < 0)
		snprintf(buf, size, "?");
	return buf;
}

static void note(struct nfqd_policy_lint *out, unsigned int max, unsigned int *n, unsigned int rule,
		 int kind, int by, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void note(struct nfqd_policy_lint *out, unsigned int max, unsigned int *n, unsigned int rule,
		 int kind, int by, const char *fmt, ...)
{
	va_list ap;

	if (*n < max) {
		out[*n].rule = rule;
		out[*n].kind = kind;
		out[*n].by = by;
		va_start(ap, fmt);
		vsnprintf(out[*n].msg, sizeof(out[*n].msg), fmt, ap);
		va_end(ap);
	}
	(*n)++;
}

/*
 * Why rule r can never match, into why; false when it may: a negated term whose plain form
 * always holds, or two terms that cannot both hold (two plain ones that are disjoint, or a plain
 * one that implies a negated one's plain form).
 */
static bool never_matches(const struct nfqd_rule *r, const struct nfqd_term *t, char *why,
			  size_t size)
{
	char a[NFQD_TERM_TEXT_MAX + NFQD_MATCH_NAME_MAX + 8], b[sizeof(a)];

	if ((r->need & NFQD_FACT_IPV4) && (r->need & NFQD_FACT_IPV6)) {
		snprintf(why, size, "can never match: it needs a packet both IPv4 and IPv6");
		return true;
	}
	for (uint32_t i = 0; i < r->nterms; i++) {
		if (t[i].negate && always(&t[i])) {
			snprintf(why, size, "can never match: no packet matches '%s'",
				 text(&t[i], a, sizeof(a)));
			return true;
		}
		for (uint32_t j = 0; j < r->nterms; j++) {
			const struct nfqd_term *x = &t[i], *y = &t[j];

			if (i == j || x->negate)
				continue;
			if (!y->negate && j > i && disjoint(x, y)) {
				snprintf(why, size,
					 "can never match: no packet matches both '%s' and '%s'",
					 text(x, a, sizeof(a)), text(y, b, sizeof(b)));
				return true;
			}
			if (y->negate && implies(x, y)) {
				snprintf(why, size,
					 "can never match: every packet that matches '%s' fails "
					 "'%s'",
					 text(x, a, sizeof(a)), text(y, b, sizeof(b)));
				return true;
			}
		}
	}
	return false;
}

/* Whether term e of an earlier rule holds for every packet that the later rule l matches. */
static bool term_covers(const struct nfqd_term *e, const struct nfqd_rule *l,
			const struct nfqd_term *lt)
{
	/* a fact e reads that l's packets may lack leaves e unknown: no match */
	if (term_facts(e) & ~l->need)
		return false;
	for (uint32_t j = 0; j < l->nterms; j++) {
		const struct nfqd_term *x = &lt[j];

		if (!e->negate && !x->negate && implies(x, e))
			return true;
		/* not x holds, and e implies x: e cannot hold, so not e does */
		if (e->negate && x->negate && implies(e, x))
			return true;
		if (e->negate && !x->negate && disjoint(x, e))
			return true;
	}
	return false;
}

/* Whether the earlier rule e matches (or stops evaluation at) every packet rule l matches. */
static bool shadows(const struct nfqd_rule *e, const struct nfqd_term *et,
		    const struct nfqd_rule *l, const struct nfqd_term *lt)
{
	/* `queue N` passes over packets read from queue N, which l may match */
	if (e->loop_queue != UINT32_MAX && e->loop_queue != l->loop_queue)
		return false;
	if (e->need & ~l->need)
		return false;
	for (uint32_t i = 0; i < e->nterms; i++)
		if (!term_covers(&et[i], l, lt))
			return false;
	return true;
}

int nfqd_policy_lint(const struct nfqd_policy *p, struct nfqd_policy_lint *out, unsigned int max)
{
	const struct nfqd_term *terms = nfqd_policy_terms(p);
	unsigned int nrules, n = 0;
	const struct nfqd_rule *rules = nfqd_policy_rules(p, &nrules);
	char why[sizeof(out->msg)];

	for (unsigned int i = 0; i < nrules; i++) {
		const struct nfqd_rule *r = &rules[i];

		if (never_matches(r, &terms[r->first], why, sizeof(why))) {
			note(out, max, &n, i, NFQD_LINT_NEVER_MATCHES, -1, "%s", why);
			continue;
		}
		for (unsigned int e = 0; e < i; e++) {
			if (!shadows(&rules[e], &terms[rules[e].first], r, &terms[r->first]))
				continue;
			note(out, max, &n, i, NFQD_LINT_SHADOWED, (int)e,
			     "is never reached: rule %u '%s' before it matches every packet it "
			     "matches",
			     e + 1, rules[e].text);
			break;
		}
	}
	return (int)n;
}
