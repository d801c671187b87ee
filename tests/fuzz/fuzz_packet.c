/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The path of one packet through the pure modules: the packet view, policy evaluation, the
 * ipset element of every set type, and the verdict batcher, with their contracts checked.
 *
 * Input: a 4-byte header, nops op bytes, then the packet bytes.
 *	byte 0	bit 0: raw IP bytes (nfqd_packet_parse_ip), else an NFQNL_MSG_PACKET message;
 *		bit 1: ordered batcher; bit 2: GSO (raw IP); bits 3-7: interface index of `iif`
 *	byte 1	set answers: bits 0-3 known, 4-7 member (a known lookup not a member, or failed
 *		when bit 4+i is set and bit i is not)
 *	byte 2	bits 0-3: nops; bits 4-7: bytes the packet is longer than received (raw IP)
 *	byte 3	the packet mark's low byte, for the set-mark verdicts
 * Each op adds one verdict to the batcher (see do_op()).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>

#include "nfqd/ipset.h"
#include "nfqd/packet.h"
#include "nfqd/policy.h"
#include "nfqd/verdict.h"

#include "fuzz.h"

/* Every match kind, negated and not, with the actions and verdicts. */
static const char *const rules[] = {
	"drop proto tcp dport 22",
	"accept not proto udp sport 1-1023 set-mark 0x10/0xff",
	"drop src 192.0.2.0/24 dst 198.51.100.7",
	"queue 3 src 2001:db8::/32 not dst ::1",
	"drop src @block4",
	"accept dst @allow not src @block4",
	"drop set @pairs src,dst,dst proto udp",
	"drop ct mark 0x5/0xf",
	"accept meta mark 0x100/0xf00 set-mark 0x1",
	"drop iif fz0 not oif fz1",
	"queue 7 proto icmp",
	"drop not proto icmpv6 dport 53-53",
	"accept proto 132 dport 1000-2000",
	"drop dst 0.0.0.0/0 proto dccp",
};

/* Every element kind, with the sides used for each dimension. */
static const char *const set_types[] = {
	"hash:ip",	     "bitmap:ip",	"hash:net",	    "hash:ip,port",
	"hash:net,port",     "hash:ip,port,ip", "hash:ip,port,net", "hash:net,net",
	"hash:net,port,net", "hash:ip,mark",	"hash:mac",	    "hash:ip,mac",
	"bitmap:ip,mac",     "bitmap:port",	"list:set",
};

static struct nfqd_policy *policy;
static struct nfqd_ipset_info infos[sizeof(set_types) / sizeof(set_types[0])][3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct nfqd_policy_error err;
	static const uint8_t families[3] = { NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_UNSPEC };

	(void)argc;
	(void)argv;
	if (nfqd_policy_new(&policy) < 0)
		FUZZ_FAIL("out of memory");
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (nfqd_policy_add_rule(policy, rules[i], &err) < 0)
			FUZZ_FAIL("rule '%s': %s", rules[i], err.msg);
	for (size_t t = 0; t < sizeof(set_types) / sizeof(set_types[0]); t++) {
		for (size_t f = 0; f < 3; f++) {
			struct nfqd_ipset_info *in = &infos[t][f];
			int kind = nfqd_ipset_kind_of(set_types[t], &in->dims);

			if (kind < 0)
				FUZZ_FAIL("type %s: %d", set_types[t], kind);
			snprintf(in->name, sizeof(in->name), "s%zu", t);
			snprintf(in->type, sizeof(in->type), "%s", set_types[t]);
			in->kind = (uint8_t)kind;
			in->family = families[f];
		}
	}
	return 0;
}

/* The view's facts lie inside the bytes it was built from, and unknown facts are zero. */
static void check_view(const struct nfqd_packet *p, const uint8_t *buf, size_t len)
{
	if (p->flags & NFQD_PKT_HAS_PAYLOAD) {
		if (p->payload < buf || p->payload_len > len ||
		    p->payload > buf + len - p->payload_len)
			FUZZ_FAIL("payload outside the message");
	}
	if (p->l4) {
		/* From a message, the IP packet is the payload; raw, it is the bytes given. */
		const uint8_t *ip = (p->flags & NFQD_PKT_HAS_PAYLOAD) ? p->payload : buf;
		size_t ip_len = (p->flags & NFQD_PKT_HAS_PAYLOAD) ? p->payload_len : len;

		if (p->l4 < ip || p->l4_len > ip_len || p->l4 > ip + ip_len - p->l4_len)
			FUZZ_FAIL("l4 outside the IP packet");
	}
	if (!(p->flags & NFQD_PKT_HAS_L3) && (p->l3 || p->ttl))
		FUZZ_FAIL("l3 facts without NFQD_PKT_HAS_L3");
	if ((p->flags & NFQD_PKT_HAS_L3) && p->l3 != 4 && p->l3 != 6)
		FUZZ_FAIL("l3 %u", p->l3);
	if (!(p->flags & NFQD_PKT_HAS_PORTS) && (p->sport || p->dport))
		FUZZ_FAIL("ports without NFQD_PKT_HAS_PORTS");
	if (!(p->flags & NFQD_PKT_HAS_ICMP) && (p->icmp_type || p->icmp_code))
		FUZZ_FAIL("icmp without NFQD_PKT_HAS_ICMP");
	if (!(p->flags & NFQD_PKT_HAS_TCP_FLAGS) && p->tcp_flags)
		FUZZ_FAIL("tcp flags without NFQD_PKT_HAS_TCP_FLAGS");
	if ((p->flags & NFQD_PKT_HAS_PORTS) && (p->flags & NFQD_PKT_HAS_ICMP))
		FUZZ_FAIL("both ports and icmp");
	if ((p->flags & NFQD_PKT_HAS_HWADDR) && p->hwaddr_len > sizeof(p->hwaddr))
		FUZZ_FAIL("hwaddr_len %u", p->hwaddr_len);
}

static void check_decision(const struct nfqd_packet *p, const struct nfqd_set_answers *ans,
			   const struct nfqd_decision *d)
{
	unsigned int n = nfqd_policy_rule_count(policy);
	uint32_t reach = 0;

	if (d->rule < -1 || d->rule >= (int)n)
		FUZZ_FAIL("rule %d of %u", d->rule, n);
	for (int i = 0; i <= (d->rule < 0 ? (int)n - 1 : d->rule); i++)
		reach |= nfqd_policy_rule_lookups(policy, (unsigned int)i);
	if (d->lookups_read & ~reach)
		FUZZ_FAIL("read lookups %#x beyond the rules evaluated (%#x)", d->lookups_read,
			  reach);
	if ((d->flags & NFQD_DECISION_UNREADABLE) && !(p->flags & NFQD_PKT_UNREADABLE))
		FUZZ_FAIL("unreadable decision for a readable packet");
	if ((p->flags & NFQD_PKT_UNREADABLE) && !(d->flags & NFQD_DECISION_UNREADABLE))
		FUZZ_FAIL("unreadable packet decided as readable");
	if ((d->flags & NFQD_DECISION_UNREADABLE) &&
	    nfqd_policy_on_unreadable(policy) != NFQD_ON_UNREADABLE_EVALUATE) {
		uint32_t want = nfqd_policy_on_unreadable(policy) == NFQD_ON_UNREADABLE_DROP
					? NF_DROP
					: NF_ACCEPT;

		if (d->rule != -1 || d->verdict != want)
			FUZZ_FAIL("unreadable packet: rule %d verdict %#x, not on-unreadable %#x",
				  d->rule, d->verdict, want);
	} else if (d->flags & NFQD_DECISION_SET_FAILED) {
		if (d->verdict != nfqd_policy_on_set_error(policy) || d->failed_lookup < 0 ||
		    !(ans->failed & (1u << d->failed_lookup)))
			FUZZ_FAIL("set failure without a failed lookup");
	} else if (d->rule < 0 && d->verdict != nfqd_policy_default(policy)) {
		FUZZ_FAIL("no rule matched but verdict %#x", d->verdict);
	}
	if ((d->verdict & NF_VERDICT_MASK) == NF_QUEUE && (d->verdict >> 16) == p->queue)
		FUZZ_FAIL("queue %u handed back to itself", p->queue);
}

static void check_elements(const struct nfqd_packet *p)
{
	static const uint8_t dirs[4][3] = {
		{ NFQD_DIR_SRC, NFQD_DIR_SRC, NFQD_DIR_SRC },
		{ NFQD_DIR_DST, NFQD_DIR_DST, NFQD_DIR_DST },
		{ NFQD_DIR_SRC, NFQD_DIR_DST, NFQD_DIR_DST },
		{ NFQD_DIR_DST, NFQD_DIR_SRC, NFQD_DIR_SRC },
	};
	uint8_t msg[512];

	for (size_t t = 0; t < sizeof(infos) / sizeof(infos[0]); t++) {
		for (size_t f = 0; f < 3; f++) {
			const struct nfqd_ipset_info *in = &infos[t][f];

			for (size_t d = 0; d < 4; d++) {
				struct nfqd_ipset_elem e;
				int r = nfqd_ipset_elem_from_packet(in, dirs[d], p, &e);

				if (in->kind == NFQD_IPSET_LIST) {
					if (r != -EINVAL)
						FUZZ_FAIL("list:set gave %d", r);
					continue;
				}
				if (r != 1 && r != 0 && r != -ENODATA)
					FUZZ_FAIL("%s: %d", in->type, r);
				if (r != 1)
					continue;
				if ((e.flags & NFQD_ELEM_IP) && e.family != p->l3)
					FUZZ_FAIL("%s: element family %u, packet %u", in->type,
						  e.family, p->l3);
				if ((e.flags & NFQD_ELEM_IP) && in->family != NFPROTO_UNSPEC &&
				    in->family != (e.family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6))
					FUZZ_FAIL("%s: IPv%u element for a set of family %u",
						  in->type, e.family, in->family);
				r = nfqd_ipset_put_test(msg, sizeof(msg), 1, in->name, &e);
				if (r <= 0)
					FUZZ_FAIL("%s: element not encodable: %d", in->type, r);
			}
		}
	}
}

/* What the kernel holds: the ids added since the last build, each with its verdict. */
struct pending {
	struct nfqd_verdict v[64];
	uint8_t done[64];
	unsigned int n;
};

static struct nfqd_verdict *pending_find(struct pending *pd, uint32_t id)
{
	for (unsigned int i = 0; i < pd->n; i++)
		if (pd->v[i].id == id)
			return &pd->v[i];
	return NULL;
}

static int serial_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static void give(struct pending *pd, unsigned int i, uint32_t verdict, const uint32_t *mark,
		 int batch)
{
	const struct nfqd_verdict *v = &pd->v[i];

	if (pd->done[i])
		FUZZ_FAIL("id %u given a second verdict", v->id);
	pd->done[i] = 1;
	if (v->verdict != verdict)
		FUZZ_FAIL("id %u: verdict %#x, added %#x", v->id, verdict, v->verdict);
	if (!!(v->flags & NFQD_VERDICT_F_MARK) != !!mark || (mark && *mark != v->mark))
		FUZZ_FAIL("id %u: mark differs from the one added", v->id);
	if (batch && (v->flags & NFQD_VERDICT_F_CTMARK))
		FUZZ_FAIL("id %u: connmark verdict in a batch", v->id);
}

/* Decode one build with libmnl and hold it against what was added. */
static void check_build(struct pending *pd, const void *buf, size_t len,
			const struct nfqd_batch_stats *st, int ordered)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len, sweeps = 0;
	unsigned int messages = 0, batches = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		struct nlattr *tb[NFQA_MAX + 1] = { NULL };
		const struct nlattr *a;
		const struct nfqnl_msg_verdict_hdr *vh;
		uint32_t id, verdict, mark = 0;
		int type = NFNL_MSG_TYPE(nlh->nlmsg_type);
		int batch = type == NFQNL_MSG_VERDICT_BATCH;

		messages++;
		if (type != NFQNL_MSG_VERDICT && !batch)
			FUZZ_FAIL("message type %d", type);
		mnl_attr_for_each (a, nlh, sizeof(struct nfgenmsg))
			if (mnl_attr_get_type(a) <= NFQA_MAX)
				tb[mnl_attr_get_type(a)] = (struct nlattr *)a;
		if (!tb[NFQA_VERDICT_HDR] ||
		    mnl_attr_get_payload_len(tb[NFQA_VERDICT_HDR]) != sizeof(*vh))
			FUZZ_FAIL("no verdict header");
		vh = mnl_attr_get_payload(tb[NFQA_VERDICT_HDR]);
		id = ntohl(vh->id);
		verdict = ntohl(vh->verdict);
		if (tb[NFQA_MARK])
			mark = ntohl(mnl_attr_get_u32(tb[NFQA_MARK]));
		if (nlh->nlmsg_seq == nfqd_batcher_sweep_seq()) {
			if (!batch || tb[NFQA_MARK])
				FUZZ_FAIL("a sweep that is not a plain batch verdict");
			sweeps++;
			batches++;
			continue;
		}
		if (sweeps)
			FUZZ_FAIL("message after a sweep");
		if (!batch) {
			struct nfqd_verdict *v = pending_find(pd, id);

			if (!v)
				FUZZ_FAIL("single verdict for id %u never added", id);
			if (!!tb[NFQA_CT] != !!(v->flags & NFQD_VERDICT_F_CTMARK))
				FUZZ_FAIL("id %u: connmark differs from the one added", id);
			give(pd, (unsigned int)(v - pd->v), verdict, tb[NFQA_MARK] ? &mark : NULL,
			     0);
			continue;
		}
		if (!ordered)
			FUZZ_FAIL("batch message from an unordered batcher");
		batches++;
		unsigned int covered = 0;

		for (unsigned int i = 0; i < pd->n; i++) {
			if (pd->done[i] || !serial_le(pd->v[i].id, id))
				continue;
			give(pd, i, verdict, tb[NFQA_MARK] ? &mark : NULL, 1);
			covered++;
		}
		if (!covered)
			FUZZ_FAIL("batch up to %u covers nothing", id);
	}
	if (left != 0)
		FUZZ_FAIL("%d bytes after the last message", left);
	for (unsigned int i = 0; i < pd->n; i++)
		if (!pd->done[i])
			FUZZ_FAIL("id %u added but given no verdict", pd->v[i].id);
	if (st->verdicts != pd->n || st->messages != messages || st->batch_messages != batches)
		FUZZ_FAIL("stats %u verdicts %u messages %u batches; decoded %u %u %u",
			  st->verdicts, st->messages, st->batch_messages, pd->n, messages, batches);
	pd->n = 0;
	memset(pd->done, 0, sizeof(pd->done));
}

static void build(struct nfqd_batcher *b, struct pending *pd, int ordered)
{
	struct nfqd_batch_stats st;
	const void *buf;
	size_t len;
	int r = nfqd_batcher_build(b, &buf, &len, &st);

	if (r < 0 || (unsigned int)r != st.messages)
		FUZZ_FAIL("build returned %d for %u messages", r, st.messages);
	check_build(pd, buf, len, &st, ordered);
	if (nfqd_batcher_pending(b) != 0)
		FUZZ_FAIL("verdicts pending after a build");
}

/*
 * One op: bits 0-2 the id step from the previous op (0: the same id again, a duplicate),
 * bit 3 a sweep request first, bit 4 a build after, bits 5-6 the verdict (the packet's decision,
 * drop, accept with a mark, accept with a connmark), bit 7 a sweep of everything first.
 */
static void do_op(struct nfqd_batcher *b, struct pending *pd, int ordered, uint8_t op, uint32_t *id,
		  const struct nfqd_decision *d, uint32_t mark)
{
	struct nfqd_verdict v = { .verdict = d->verdict };
	unsigned int step = op & 7;
	int r;

	if (step == 0 && pd->n == 0)
		step = 1; /* an id given its verdict in an earlier build is gone */
	*id += step;
	v.id = *id;
	switch ((op >> 5) & 3) {
	case 0:
		if (d->flags & NFQD_DECISION_SET_MARK) {
			v.flags = NFQD_VERDICT_F_MARK;
			v.mark = (mark & ~d->mark_mask) | d->mark;
		}
		break;
	case 1:
		v.verdict = NF_DROP;
		break;
	case 2:
		v.verdict = NF_ACCEPT;
		v.flags = NFQD_VERDICT_F_MARK;
		v.mark = op;
		break;
	default:
		v.verdict = NF_ACCEPT;
		v.flags = NFQD_VERDICT_F_CTMARK;
		v.ctmark = op;
		v.ctmark_mask = 0xff;
		break;
	}
	if (op & (1u << 3 | 1u << 7)) {
		r = nfqd_batcher_sweep(b, NF_DROP, op >> 7);
		/* a sweep of everything needs no order; one below the next id does */
		if (r != (ordered || (op >> 7) ? 0 : -EOPNOTSUPP))
			FUZZ_FAIL("sweep: %d", r);
	}
	if (pd->n == sizeof(pd->v) / sizeof(pd->v[0]))
		build(b, pd, ordered);
	r = nfqd_batcher_add(b, &v);
	if (r < 0)
		FUZZ_FAIL("add id %u verdict %#x: %d", v.id, v.verdict, r);
	if (!pending_find(pd, v.id))
		pd->v[pd->n++] = v;
	if (op & (1u << 4))
		build(b, pd, ordered);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfqd_packet pkt;
	struct nfqd_set_answers ans = { 0 };
	struct nfqd_decision d;
	struct pending pd = { .n = 0 };
	unsigned int nops, extra;
	const uint8_t *ops, *bytes;
	uint8_t *copy;
	size_t len;
	int ordered;

	if (size < 4)
		return 0;
	nops = data[2] & 15;
	extra = data[2] >> 4;
	if (size < 4 + nops)
		return 0;
	ops = data + 4;
	len = size - 4 - nops;
	ordered = (data[0] >> 1) & 1;
	/* Every on-unreadable mode, chosen by the input. */
	nfqd_policy_set_on_unreadable(policy, (enum nfqd_on_unreadable)((data[0] >> 2) % 3));

	/* The receive buffer holds messages 4-byte aligned; an exact-size copy also puts a read
	 * past the end outside the allocation. */
	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, ops + nops, len);
	bytes = copy;

	memset(&pkt, 0, sizeof(pkt));
	if (data[0] & 1) {
		if (data[0] & 4)
			pkt.flags = NFQD_PKT_GSO;
		nfqd_packet_parse_ip(&pkt, bytes, len, len + extra);
		pkt.flags |= NFQD_PKT_HAS_ID;
	} else if (nfqd_packet_parse(&pkt, (const struct nlmsghdr *)bytes, len) < 0) {
		if (pkt.flags & NFQD_PKT_HAS_ID)
			FUZZ_FAIL("parse failed but the id is known");
		pkt.id = 1; /* unreadable: the worker still gives it a verdict (by a sweep) */
	} else if (!(pkt.flags & NFQD_PKT_HAS_ID)) {
		FUZZ_FAIL("parse succeeded without the id");
	}
	check_view(&pkt, bytes, len);

	nfqd_policy_iface_set_index(policy, 0, data[0] >> 3);
	nfqd_policy_iface_set_index(policy, 1, 1);
	for (unsigned int i = 0; i < nfqd_policy_lookup_count(policy); i++) {
		unsigned int bit = i & 3;

		if (data[1] & (1u << bit)) {
			ans.known |= 1u << i;
			if (data[1] & (1u << (bit + 4)))
				ans.member |= 1u << i;
		} else if (data[1] & (1u << (bit + 4))) {
			ans.failed |= 1u << i;
		}
	}
	nfqd_policy_eval(policy, &pkt, &ans, &d);
	check_decision(&pkt, &ans, &d);
	/* Pure: the same packet and answers, the same decision. */
	struct nfqd_decision d2;

	memset(&d2, 0, sizeof(d2));
	nfqd_policy_eval(policy, &pkt, &ans, &d2);
	if (d2.verdict != d.verdict || d2.rule != d.rule || d2.flags != d.flags ||
	    d2.lookups_read != d.lookups_read)
		FUZZ_FAIL("two evaluations of one packet differ");
	check_elements(&pkt);

	/* A batcher of its own, so that no sweep request outlives the input. */
	struct nfqd_batcher *b;
	uint32_t id = pkt.id;

	if (nfqd_batcher_new(&b, pkt.queue, 64, ordered ? NFQD_BATCHER_ORDERED : 0) < 0)
		FUZZ_FAIL("out of memory");
	for (unsigned int i = 0; i < nops; i++)
		do_op(b, &pd, ordered, ops[i], &id, &d, (pkt.mark & ~0xffu) | data[3]);
	build(b, &pd, ordered);
	nfqd_batcher_free(b);
	free(copy);
	return 0;
}
