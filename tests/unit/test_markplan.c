/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mark plan: which mark bits nfqd takes, inside what the operator allowed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "nfqd/markplan.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bits_come_from_the_lowest_allowed_bit_upwards_in_plan_order),
		cmocka_unit_test(test_scattered_mark_bits_are_used_as_given),
		cmocka_unit_test(test_only_what_the_configuration_needs_is_taken),
		cmocka_unit_test(test_too_few_bits_is_an_error_that_counts_them),
		cmocka_unit_test(test_answers_read_from_a_mark_and_back_into_bits),
	};

	return cmocka_run_group_tests_name("mark plan", tests, NULL, NULL);
}
