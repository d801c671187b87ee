/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mark plan: which mark bits nfqd takes, inside what the operator allowed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/markplan.h"
#include "nfqd/packet.h"

static void test_bits_come_from_the_lowest_allowed_bit_upwards_in_plan_order(void **state)
{
	struct nfqd_markplan p;
	char why[256];

	(void)state;
	assert_int_equal(nfqd_markplan_make(&p, 0xff000000, true, true, 2, why, sizeof(why)), 0);
	assert_int_equal(p.marker, 0x01000000);
	assert_int_equal(p.flow_accept, 0x02000000);
	assert_int_equal(p.flow_drop, 0x04000000);
	assert_int_equal(p.flow, 0x06000000);
	assert_int_equal(p.stale, 0x08000000);
	assert_int_equal(p.set_bit[0], 0x10000000);
	assert_int_equal(p.set_bit[1], 0x20000000);
	assert_int_equal(p.sets, 0x30000000);
	assert_int_equal(p.n_set_bits, 2);
	assert_int_equal(p.all, 0x3f000000);
}

static void test_scattered_mark_bits_are_used_as_given(void **state)
{
	struct nfqd_markplan p;
	char why[256];

	(void)state;
	assert_int_equal(nfqd_markplan_make(&p, 0x80008001, false, true, 2, why, sizeof(why)), 0);
	assert_int_equal(p.marker, 0x1);
	assert_int_equal(p.set_bit[0], 0x8000);
	assert_int_equal(p.set_bit[1], 0x80000000);
	assert_int_equal(p.flow, 0);
	assert_int_equal(p.stale, 0);
	assert_int_equal(p.all & ~0x80008001u, 0);
}

static void test_only_what_the_configuration_needs_is_taken(void **state)
{
	struct nfqd_markplan p;
	char why[256];

	(void)state;
	/* no flow cache, no set marks: only the marker */
	assert_int_equal(nfqd_markplan_make(&p, 0xff, false, false, 5, why, sizeof(why)), 0);
	assert_int_equal(p.all, 0x1);
	assert_int_equal(p.n_set_bits, 0);
	/* flow cache without set lookups: no stale bit */
	assert_int_equal(nfqd_markplan_make(&p, 0xff, true, true, 0, why, sizeof(why)), 0);
	assert_int_equal(p.all, 0x7);
	assert_int_equal(p.stale, 0);
}

static void test_too_few_bits_is_an_error_that_counts_them(void **state)
{
	struct nfqd_markplan p;
	char why[256];

	(void)state;
	assert_int_equal(nfqd_markplan_make(&p, 0x7, true, true, 2, why, sizeof(why)), -ENOSPC);
	assert_string_equal(why, "mark-bits 0x00000007 has 3 bits; this configuration needs 6: 1 "
				 "marker, 2 flow-cache verdicts, 2 set lookups, 1 stale flag");
	assert_int_equal(nfqd_markplan_make(&p, 0, false, false, 0, why, sizeof(why)), -ENOSPC);
	assert_string_equal(why, "mark-bits 0x00000000 has 0 bits; this configuration needs 1: 1 "
				 "marker");
	assert_int_equal(nfqd_markplan_make(&p, 0xffffffff, false, true, 33, why, sizeof(why)),
			 -EINVAL);
}

static void test_answers_read_from_a_mark_and_back_into_bits(void **state)
{
	struct nfqd_markplan p;
	struct nfqd_set_answers a;
	char why[256];

	(void)state;
	assert_int_equal(nfqd_markplan_make(&p, 0xf0, false, true, 3, why, sizeof(why)), 0);
	/* marker 0x10, sets 0x20, 0x40, 0x80 */
	nfqd_markplan_answers(&p, 0x10 | 0x40 | 0x1, &a);
	assert_int_equal(a.known, 0x7);
	assert_int_equal(a.member, 0x2);
	assert_int_equal(a.failed, 0);
	assert_int_equal(nfqd_markplan_set_bits(&p, &a), 0x40);
	/* an unknown answer carries no bit even when flagged a member */
	a.known = 0x1;
	a.member = 0x3;
	assert_int_equal(nfqd_markplan_set_bits(&p, &a), 0x20);
}

/* ---- the verdict of a decision ---- */

struct vcase {
	struct nfqd_markplan plan;
	struct nfqd_verdict_env env;
	struct nfqd_packet pkt;
	struct nfqd_decision d;
	struct nfqd_verdict v;
	uint32_t stamp;
};

/* Flow cache with one set lookup in 0xff: marker 0x1, accept 0x2, drop 0x4, stale 0x8,
 * set 0x10. The packet went through the chain (marker) and is a member of the set. */
static void vcase_init(struct vcase *c, bool conntrack)
{
	char why[256];

	memset(c, 0, sizeof(*c));
	assert_int_equal(nfqd_markplan_make(&c->plan, 0xff, true, true, 1, why, sizeof(why)), 0);
	c->env.plan = &c->plan;
	c->env.flow_cache = true;
	c->env.conntrack = conntrack;
	c->pkt.id = 42;
	c->pkt.mark = 0x1 | 0x10 | 0x7000;
	c->pkt.flags = NFQD_PKT_HAS_ID | NFQD_PKT_HAS_MARK;
	c->d.verdict = NF_ACCEPT;
	c->d.rule = 0;
	c->d.failed_lookup = -1;
	c->d.lookups_read = 1;
}

static enum nfqd_stamp vcase_run(struct vcase *c, bool by_test)
{
	return nfqd_markplan_verdict(&c->env, &c->pkt, &c->d, by_test, &c->v, &c->stamp);
}

static void test_accept_with_nfqa_ct_stamps_the_connmark_in_the_verdict(void **state)
{
	struct vcase c;

	(void)state;
	vcase_init(&c, true);
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_CTMARK);
	assert_int_equal(c.v.id, 42);
	assert_int_equal(c.v.verdict, NF_ACCEPT);
	/* the accept bit and the membership it was decided with, only nfqd's bits touched */
	assert_true(c.v.flags & NFQD_VERDICT_F_CTMARK);
	assert_int_equal(c.v.ctmark, 0x2 | 0x10);
	assert_int_equal(c.v.ctmark_mask, 0x2 | 0x4 | 0x10);
	/* nfqd's own bits leave the packet mark; the others stay */
	assert_true(c.v.flags & NFQD_VERDICT_F_MARK);
	assert_int_equal(c.v.mark, 0x7000);
}

static void test_accept_without_nfqa_ct_is_handed_back_with_nf_repeat(void **state)
{
	struct vcase c;

	(void)state;
	vcase_init(&c, false);
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_REPEAT);
	assert_int_equal(c.v.verdict, NF_REPEAT);
	assert_false(c.v.flags & NFQD_VERDICT_F_CTMARK);
	/* the chain saves these bits into the connmark; the marker is gone */
	assert_int_equal(c.v.mark, 0x7000 | 0x2 | 0x10);
	assert_int_equal(c.stamp, 0x2 | 0x10);
}

static void test_drop_asks_for_the_entry_to_be_created(void **state)
{
	struct vcase c;

	(void)state;
	vcase_init(&c, true);
	c.d.verdict = NF_DROP;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_CREATE);
	assert_int_equal(c.v.verdict, NF_DROP);
	assert_false(c.v.flags & NFQD_VERDICT_F_CTMARK);
	assert_int_equal(c.stamp, 0x4 | 0x10);
}

static void test_what_is_never_stamped(void **state)
{
	struct vcase c;

	(void)state;
	/* per-packet decisions (marks read, set-mark, queue) */
	vcase_init(&c, true);
	c.d.flags = NFQD_DECISION_PER_PACKET;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_NONE);
	/* a failed lookup */
	vcase_init(&c, true);
	c.d.flags = NFQD_DECISION_SET_FAILED;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_NONE);
	/* set answers by IPSET_CMD_TEST: the chain has no bit to compare later */
	vcase_init(&c, true);
	assert_int_equal(vcase_run(&c, true), NFQD_STAMP_NONE);
	/* ... unless the decision read no lookup */
	c.d.lookups_read = 0;
	assert_int_equal(vcase_run(&c, true), NFQD_STAMP_CTMARK);
	/* a packet that did not come through the chain */
	vcase_init(&c, false);
	c.pkt.mark = 0x7000;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_NONE);
	assert_int_equal(c.v.verdict, NF_ACCEPT);
	assert_false(c.v.flags & NFQD_VERDICT_F_MARK);
	/* a packet handed back already and queued again: its flow has no entry, no loop */
	vcase_init(&c, false);
	c.pkt.mark |= 0x2;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_NONE);
	assert_int_equal(c.v.verdict, NF_ACCEPT);
	/* queue verdicts */
	vcase_init(&c, true);
	c.d.verdict = ((uint32_t)3 << 16) | NF_QUEUE;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_NONE);
	/* no flow cache */
	vcase_init(&c, true);
	c.env.flow_cache = false;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_NONE);
}

static void test_set_mark_applies_after_nfqds_bits_are_cleared(void **state)
{
	struct vcase c;

	(void)state;
	vcase_init(&c, false);
	c.env.flow_cache = false;
	c.d.flags = NFQD_DECISION_SET_MARK | NFQD_DECISION_PER_PACKET;
	c.d.mark = 0x100;
	c.d.mark_mask = 0x3100;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_NONE);
	assert_int_equal(c.v.mark, (0x7000 & ~0x3100u) | 0x100);
	/* a mark already as it should be is not sent */
	c.pkt.mark = 0x4100;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_NONE);
	assert_false(c.v.flags & NFQD_VERDICT_F_MARK);
}

/* vcase_init()'s plan with the reject codes of `reject`: tcp-reset 0x20, port-unreachable 0x40;
 * its packet a UDP packet decided by a `reject` rule. */
static void vcase_reject(struct vcase *c)
{
	char why[256];

	vcase_init(c, false);
	assert_int_equal(nfqd_markplan_add_rejects(&c->plan,
						   1u << NFQD_REJECT_TCP_RESET |
							   1u << NFQD_REJECT_PORT_UNREACHABLE,
						   why, sizeof(why)),
			 0);
	c->pkt.flags |= NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO;
	c->pkt.l3 = 4;
	c->pkt.l4_proto = IPPROTO_UDP;
	c->d.verdict = NF_DROP;
	c->d.reject = NFQD_REJECT_DEFAULT;
}

static void test_a_reject_is_handed_back_with_its_answers_code(void **state)
{
	struct vcase c;

	(void)state;
	vcase_reject(&c);
	assert_int_equal(c.plan.reject_code[NFQD_REJECT_TCP_RESET], 0x20);
	assert_int_equal(c.plan.reject_code[NFQD_REJECT_PORT_UNREACHABLE], 0x40);
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_REJECT);
	assert_int_equal(c.v.verdict, NF_REPEAT);
	assert_true(c.v.flags & NFQD_VERDICT_F_MARK);
	/* the code in, nfqd's other bits out, the operator's bits kept; never a flow stamp: a
	 * TCP SYN sent again is answered again */
	assert_int_equal(c.v.mark, 0x7000 | 0x40);
	assert_int_equal(c.stamp, 0);
	assert_false(c.v.flags & NFQD_VERDICT_F_CTMARK);

	vcase_reject(&c);
	c.pkt.l4_proto = IPPROTO_TCP;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_REJECT);
	assert_int_equal(c.v.mark, 0x7000 | 0x20);
}

static void test_rejects_nothing_would_answer_are_dropped(void **state)
{
	struct vcase c;

	(void)state;
	/* not through the chain: no marker */
	vcase_reject(&c);
	c.pkt.mark &= ~0x1u;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_REJECT_UNMARKED);
	assert_int_equal(c.v.verdict, NF_DROP);
	/* an answer the plan has no code for */
	vcase_reject(&c);
	c.d.reject = NFQD_REJECT_ADMIN_PROHIBITED;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_REJECT_UNMARKED);
	assert_int_equal(c.v.verdict, NF_DROP);
	/* back with a code: dropped whatever the decision, even an accept, and not stamped */
	vcase_reject(&c);
	c.pkt.mark |= 0x40;
	c.d.verdict = NF_ACCEPT;
	c.d.reject = NFQD_REJECT_NONE;
	assert_int_equal(vcase_run(&c, false), NFQD_STAMP_REJECT_LOOP);
	assert_int_equal(c.v.verdict, NF_DROP);
	assert_int_equal(c.stamp, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bits_come_from_the_lowest_allowed_bit_upwards_in_plan_order),
		cmocka_unit_test(test_scattered_mark_bits_are_used_as_given),
		cmocka_unit_test(test_only_what_the_configuration_needs_is_taken),
		cmocka_unit_test(test_too_few_bits_is_an_error_that_counts_them),
		cmocka_unit_test(test_answers_read_from_a_mark_and_back_into_bits),
		cmocka_unit_test(test_accept_with_nfqa_ct_stamps_the_connmark_in_the_verdict),
		cmocka_unit_test(test_accept_without_nfqa_ct_is_handed_back_with_nf_repeat),
		cmocka_unit_test(test_drop_asks_for_the_entry_to_be_created),
		cmocka_unit_test(test_what_is_never_stamped),
		cmocka_unit_test(test_set_mark_applies_after_nfqds_bits_are_cleared),
		cmocka_unit_test(test_a_reject_is_handed_back_with_its_answers_code),
		cmocka_unit_test(test_rejects_nothing_would_answer_are_dropped),
	};

	return cmocka_run_group_tests_name("mark plan", tests, NULL, NULL);
}
