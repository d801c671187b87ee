/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy's fast evaluator (rule guards and the rule index) decides exactly as the rules
 * evaluated term by term in their order (nfqd_policy_eval_terms()): verdict, rule, flags, set
 * lookups read, the failed one, the mark.
 *
 * The input is rules, one per line (lines that do not parse are left out). The packets are made
 * from the boundaries of what the compiled rules compare: each port range's ends and the ports
 * beside them, each prefix's first and last address and those beside them, each protocol and
 * the next one, combined with every kind of fact a packet may lack, set answers, marks,
 * interfaces and queues, in an order drawn from the input.
 */
#include <arpa/inet.h>
#include <string.h>

#include "nfqd/packet.h"
#include "nfqd/policy.h"
#include "policy-internal.h"

#include "fuzz.h"

#define POOL	128 /* values kept per field */
#define PACKETS 256 /* packets evaluated per input */

struct pools {
	uint16_t ports[POOL];
	unsigned int nports;
	uint8_t protos[POOL];
	unsigned int nprotos;
	union nfqd_addr v4[POOL], v6[POOL];
	unsigned int nv4, nv6;
};

static void add_port(struct pools *pl, long v)
{
	if (v >= 0 && v <= 65535 && pl->nports < POOL)
		pl->ports[pl->nports++] = (uint16_t)v;
}

/* An address plus delta (-1, 0, +1), carried across its bytes; family 4 uses the first four. */
static union nfqd_addr addr_step(const union nfqd_addr *a, unsigned int len, int delta)
{
	union nfqd_addr r = *a;

	for (int i = (int)len - 1; i >= 0 && delta; i--) {
		int v = r.b[i] + delta;

		r.b[i] = (uint8_t)v;
		if (v >= 0 && v <= 255)
			break;
	}
	return r;
}

static void add_prefix(struct pools *pl, const struct nfqd_prefix *p)
{
	unsigned int len = p->family == 4 ? 4 : 16;
	union nfqd_addr last = { 0 };
	union nfqd_addr *pool = p->family == 4 ? pl->v4 : pl->v6;
	unsigned int *n = p->family == 4 ? &pl->nv4 : &pl->nv6;

	for (unsigned int i = 0; i < len; i++)
		last.b[i] = p->addr.b[i] | (uint8_t)~p->mask.b[i];
	for (int d = -1; d <= 1 && *n + 2 <= POOL; d++) {
		pool[(*n)++] = addr_step(&p->addr, len, d);
		pool[(*n)++] = addr_step(&last, len, d);
	}
}

/* The boundaries of every term the rules compare. */
static void collect(const struct nfqd_policy *p, struct pools *pl)
{
	const struct nfqd_term *terms = nfqd_policy_terms(p);
	unsigned int n;
	const struct nfqd_rule *rules = nfqd_policy_rules(p, &n);

	add_port(pl, 0);
	add_port(pl, 65535);
	pl->protos[pl->nprotos++] = IPPROTO_UDP;
	pl->v4[pl->nv4++] = (union nfqd_addr){ 0 };
	pl->v6[pl->nv6++] = (union nfqd_addr){ 0 };
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int j = 0; j < rules[i].nterms; j++) {
			const struct nfqd_term *t = &terms[rules[i].first + j];

			switch (t->kind) {
			case NFQD_MATCH_SPORT:
			case NFQD_MATCH_DPORT:
				for (int d = -1; d <= 1; d++) {
					add_port(pl, (long)t->arg.ports.lo + d);
					add_port(pl, (long)t->arg.ports.hi + d);
				}
				break;
			case NFQD_MATCH_PROTO:
				if (pl->nprotos + 2 <= POOL) {
					pl->protos[pl->nprotos++] = t->arg.proto;
					pl->protos[pl->nprotos++] = (uint8_t)(t->arg.proto + 1);
				}
				break;
			case NFQD_MATCH_SRC:
			case NFQD_MATCH_DST:
				add_prefix(pl, &t->arg.prefix);
				break;
			default:
				break;
			}
		}
	}
}

/* A small deterministic generator (xorshift32) seeded from the input. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct nfqd_packet make_packet(const struct pools *pl, uint32_t *s)
{
	static const uint32_t maybe[] = { NFQD_PKT_HAS_L3, NFQD_PKT_HAS_PROTO, NFQD_PKT_HAS_PORTS,
					  NFQD_PKT_HAS_CTMARK, NFQD_PKT_UNREADABLE };
	struct nfqd_packet pkt;
	bool six = rnd(s) & 1;

	memset(&pkt, 0, sizeof(pkt));
	pkt.flags = NFQD_PKT_HAS_ID | NFQD_PKT_HAS_PAYLOAD;
	/* each fact mostly there; now and then an unreadable packet (evaluated all the same) */
	for (size_t i = 0; i < sizeof(maybe) / sizeof(maybe[0]); i++)
		if ((maybe[i] == NFQD_PKT_UNREADABLE) == (rnd(s) % 8 == 0))
			pkt.flags |= maybe[i];
	pkt.l3 = six ? 6 : 4;
	pkt.src = six ? pl->v6[rnd(s) % pl->nv6] : pl->v4[rnd(s) % pl->nv4];
	pkt.dst = six ? pl->v6[rnd(s) % pl->nv6] : pl->v4[rnd(s) % pl->nv4];
	if (!six) {
		/* as the parser leaves an IPv4 view: the rest of the address zero */
		memset(&pkt.src.b[4], 0, 12);
		memset(&pkt.dst.b[4], 0, 12);
	}
	pkt.l4_proto = pl->protos[rnd(s) % pl->nprotos];
	pkt.sport = pl->ports[rnd(s) % pl->nports];
	pkt.dport = pl->ports[rnd(s) % pl->nports];
	pkt.mark = rnd(s);
	pkt.ct_mark = rnd(s);
	pkt.indev = rnd(s) % 3;
	pkt.outdev = rnd(s) % 3;
	pkt.queue = (uint16_t)(rnd(s) % 3);
	return pkt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfqd_policy *p = NULL;
	struct pools pl = { 0 };
	uint32_t seed = 2166136261u;
	char *text, *line, *save = NULL;

	text = fuzz_text(data, size);
	if (!text || nfqd_policy_new(&p) < 0)
		FUZZ_FAIL("out of memory");
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	seed |= 1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		(void)nfqd_policy_add_rule(p, line, NULL);
	(void)nfqd_policy_set_on_unreadable(p, NFQD_ON_UNREADABLE_EVALUATE);
	for (unsigned int i = 0; i < nfqd_policy_iface_count(p); i++)
		nfqd_policy_iface_set_index(p, i, rnd(&seed) % 3);
	collect(p, &pl);

	for (int k = 0; k < PACKETS; k++) {
		struct nfqd_packet pkt = make_packet(&pl, &seed);
		struct nfqd_set_answers ans;
		struct nfqd_decision want, got;

		ans.failed = rnd(&seed) % 8 == 0 ? rnd(&seed) : 0;
		ans.known = rnd(&seed) & ~ans.failed;
		ans.member = rnd(&seed) & ans.known;
		memset(&want, 0x5a, sizeof(want));
		memset(&got, 0xa5, sizeof(got));
		nfqd_policy_eval_terms(p, &pkt, &ans, &want);
		nfqd_policy_eval(p, &pkt, &ans, &got);
		if (memcmp(&got, &want, sizeof(got)) != 0)
			FUZZ_FAIL("packet %d (proto %u, ports %u > %u): rule %d verdict 0x%x flags "
				  "0x%x lookups 0x%x failed %d; term by term: rule %d verdict 0x%x "
				  "flags 0x%x lookups 0x%x failed %d",
				  k, pkt.l4_proto, pkt.sport, pkt.dport, got.rule, got.verdict,
				  got.flags, got.lookups_read, got.failed_lookup, want.rule,
				  want.verdict, want.flags, want.lookups_read, want.failed_lookup);
	}
	nfqd_policy_free(p);
	free(text);
	return 0;
}
