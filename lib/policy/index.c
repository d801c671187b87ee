/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rule index: which of a policy's first NFQD_INDEX_RULES rules a packet can match, as one
 * 64-bit mask, found with a table lookup and a few binary searches instead of a walk over the
 * rules.
 *
 * Each field the rule guards compare (struct nfqd_rule_guard) has a table: the protocol one
 * entry per protocol number; the ports and the addresses of each family the segments that the
 * rules' ranges cut the field's values into (a prefix is a range of addresses), each with the
 * rules whose guard passes on every value of it. A rule without a check on a field passes on
 * every value. The rules whose needed facts a packet has come from the few distinct need masks.
 * The AND of these is exactly the set of rules whose need and guard the packet meets.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <string.h>

#include "policy-internal.h"

/* A field value as an unsigned 128-bit number, compared high half first. */
static inline bool key_less(struct nfqd_index_key a, struct nfqd_index_key b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

static bool key_equal(struct nfqd_index_key a, struct nfqd_index_key b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

/* The key just above k, or false when k is the largest value. */
static bool key_next(struct nfqd_index_key k, struct nfqd_index_key *next)
{
	if (k.lo != UINT64_MAX) {
		*next = (struct nfqd_index_key){ .hi = k.hi, .lo = k.lo + 1 };
		return true;
	}
	if (k.hi == UINT64_MAX)
		return false;
	*next = (struct nfqd_index_key){ .hi = k.hi + 1, .lo = 0 };
	return true;
}

/* Eight bytes in network order as a number. */
static inline uint64_t be64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return be64toh(v);
}

/* An address of a family as a key: IPv4 in the low 32 bits, IPv6 whole, most significant first. */
static inline struct nfqd_index_key addr_key(const union nfqd_addr *a, uint8_t family)
{
	if (family == 4)
		return (struct nfqd_index_key){ .hi = 0, .lo = ntohl(a->w[0]) };
	return (struct nfqd_index_key){ .hi = be64(a->b), .lo = be64(a->b + 8) };
}

/* The range of addresses a prefix covers. */
static void prefix_range(const struct nfqd_prefix *p, struct nfqd_index_key *lo,
			 struct nfqd_index_key *hi)
{
	union nfqd_addr last;

	for (int i = 0; i < 4; i++)
		last.w[i] = p->addr.w[i] | ~p->mask.w[i];
	*lo = addr_key(&p->addr, p->family);
	*hi = addr_key(&last, p->family);
}

/*
 * A rule's range on the field its guard checks with check (enum nfqd_guard_check), for packets
 * of family (addresses); false when the rule passes on every value of the field. A prefix of the
 * other family gives an empty range, which no value is in: the rule needs the other family, so
 * no packet of this one reaches it anyway.
 */
static bool rule_range(const struct nfqd_rule *r, uint8_t check, uint8_t family,
		       struct nfqd_index_key *lo, struct nfqd_index_key *hi)
{
	const struct nfqd_rule_guard *g = &r->guard;
	const struct nfqd_port_range *ports = check == NFQD_GUARD_DPORT ? &g->dport : &g->sport;
	const struct nfqd_prefix *prefix = check == NFQD_GUARD_SRC ? &g->src : &g->dst;

	if (!(g->checks & check))
		return false;
	if (check == NFQD_GUARD_DPORT || check == NFQD_GUARD_SPORT) {
		*lo = (struct nfqd_index_key){ .lo = ports->lo };
		*hi = (struct nfqd_index_key){ .lo = ports->hi };
	} else if (prefix->family == family) {
		prefix_range(prefix, lo, hi);
	} else {
		*lo = (struct nfqd_index_key){ .lo = 1 };
		*hi = (struct nfqd_index_key){ .lo = 0 };
	}
	return true;
}

/* Add start to the field's segment starts, kept sorted and distinct. */
static void add_start(struct nfqd_index_field *f, struct nfqd_index_key start)
{
	unsigned int i = 0;

	while (i < f->n && key_less(f->start[i], start))
		i++;
	if (i < f->n && key_equal(f->start[i], start))
		return;
	memmove(&f->start[i + 1], &f->start[i], (f->n - i) * sizeof(f->start[0]));
	f->start[i] = start;
	f->n++;
}

/* Cut the field's values at every rule's range and find the rules each segment passes. */
static void build_field(struct nfqd_index_field *f, const struct nfqd_rule *rules, unsigned int n,
			uint8_t check, uint8_t family)
{
	struct nfqd_index_key lo, hi, next;

	f->n = 0;
	add_start(f, (struct nfqd_index_key){ 0 });
	for (unsigned int i = 0; i < n; i++) {
		if (!rule_range(&rules[i], check, family, &lo, &hi) || key_less(hi, lo))
			continue;
		add_start(f, lo);
		if (key_next(hi, &next))
			add_start(f, next);
	}
	for (unsigned int s = 0; s < f->n; s++) {
		f->rules[s] = 0;
		for (unsigned int i = 0; i < n; i++) {
			bool pass = !rule_range(&rules[i], check, family, &lo, &hi) ||
				    (!key_less(f->start[s], lo) && !key_less(hi, f->start[s]));

			if (pass)
				f->rules[s] |= 1ull << i;
		}
	}
}

/* The rules of the segment that holds k: the last start not above it. */
static inline uint64_t field_rules(const struct nfqd_index_field *f, struct nfqd_index_key k)
{
	unsigned int lo = 0, hi = f->n; /* the answer is in [lo, hi) */

	while (hi - lo > 1) {
		unsigned int mid = (lo + hi) / 2;

		if (key_less(k, f->start[mid]))
			hi = mid;
		else
			lo = mid;
	}
	return f->rules[lo];
}

void nfqd_rule_index_build(struct nfqd_rule_index *ix, const struct nfqd_rule *rules,
			   unsigned int n)
{
	if (n > NFQD_INDEX_RULES)
		n = NFQD_INDEX_RULES;
	ix->nrules = n;
	for (unsigned int v = 0; v < 256; v++) {
		ix->proto[v] = 0;
		for (unsigned int i = 0; i < n; i++)
			if (!(rules[i].guard.checks & NFQD_GUARD_PROTO) ||
			    rules[i].guard.proto == v)
				ix->proto[v] |= 1ull << i;
	}
	build_field(&ix->dport, rules, n, NFQD_GUARD_DPORT, 0);
	build_field(&ix->sport, rules, n, NFQD_GUARD_SPORT, 0);
	build_field(&ix->src4, rules, n, NFQD_GUARD_SRC, 4);
	build_field(&ix->dst4, rules, n, NFQD_GUARD_DST, 4);
	build_field(&ix->src6, rules, n, NFQD_GUARD_SRC, 6);
	build_field(&ix->dst6, rules, n, NFQD_GUARD_DST, 6);
	ix->nneeds = 0;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int k = 0;

		while (k < ix->nneeds && ix->need[k] != rules[i].need)
			k++;
		if (k == ix->nneeds) {
			ix->need[k] = rules[i].need;
			ix->need_rules[k] = 0;
			ix->nneeds++;
		}
		ix->need_rules[k] |= 1ull << i;
	}
}

uint64_t nfqd_rule_index_candidates(const struct nfqd_rule_index *ix, const struct nfqd_packet *pkt,
				    uint64_t facts)
{
	uint64_t c = 0;

	for (unsigned int k = 0; k < ix->nneeds; k++)
		if ((facts & ix->need[k]) == ix->need[k])
			c |= ix->need_rules[k];
	/*
	 * A field the packet lacks is read all the same (the view leaves it zero): the rules
	 * that check it need the fact, and the need masks above have left them out already.
	 */
	c &= ix->proto[pkt->l4_proto];
	if (!c)
		return 0;
	c &= field_rules(&ix->dport, (struct nfqd_index_key){ .lo = pkt->dport });
	c &= field_rules(&ix->sport, (struct nfqd_index_key){ .lo = pkt->sport });
	if (c && pkt->l3 == 4) {
		c &= field_rules(&ix->src4, addr_key(&pkt->src, 4));
		c &= field_rules(&ix->dst4, addr_key(&pkt->dst, 4));
	} else if (c && pkt->l3 == 6) {
		c &= field_rules(&ix->src6, addr_key(&pkt->src, 6));
		c &= field_rules(&ix->dst6, addr_key(&pkt->dst, 6));
	}
	return c;
}
