/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Worker placement: cpu-affinity parsed, checked against the allowed CPUs, and applied. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "placement.h"

static cpu_set_t cpus(int n)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	for (int c = 0; c < n; c++)
		CPU_SET(c, &s);
	return s;
}

static void test_lists_keep_their_order_and_expand_ranges(void **state)
{
	struct placement p = { 0 };
	const char *why = NULL;

	(void)state;
	assert_int_equal(placement_parse(&p, "3,0-1,7", &why), 0);
	assert_int_equal(p.mode, CPU_AFFINITY_LIST);
	assert_int_equal(p.n_cpus, 4);
	assert_int_equal(p.cpus[0], 3);
	assert_int_equal(p.cpus[1], 0);
	assert_int_equal(p.cpus[2], 1);
	assert_int_equal(p.cpus[3], 7);
	assert_int_equal(placement_parse(&p, "none", &why), 0);
	assert_int_equal(p.mode, CPU_AFFINITY_NONE);
	assert_int_equal(placement_parse(&p, "auto", &why), 0);
	assert_int_equal(p.mode, CPU_AFFINITY_AUTO);
}

static void test_bad_lists_say_what_is_wrong(void **state)
{
	static const struct {
		const char *in;
		int err;
		const char *why;
	} bad[] = {
		{ "", -EINVAL, "is not 'auto', 'none' or a list of CPUs such as 0,2-3" },
		{ "pin", -EINVAL, "is not 'auto', 'none' or a list of CPUs such as 0,2-3" },
		{ "0,", -EINVAL, "is not 'auto', 'none' or a list of CPUs such as 0,2-3" },
		{ "0-", -EINVAL, "is not 'auto', 'none' or a list of CPUs such as 0,2-3" },
		{ "0;1", -EINVAL, "is not 'auto', 'none' or a list of CPUs such as 0,2-3" },
		{ "3-1", -EINVAL, "has a range whose start is above its end" },
		{ "0,1,0", -EINVAL, "lists a CPU twice" },
		{ "0-2,2", -EINVAL, "lists a CPU twice" },
		{ "1024", -ERANGE,
		  "names a CPU above the highest the kernel's CPU sets hold (1023)" },
		{ "99999999999999999999999", -ERANGE,
		  "names a CPU above the highest the kernel's CPU sets hold (1023)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct placement p = { 0 };
		const char *why = NULL;

		assert_int_equal(placement_parse(&p, bad[i].in, &why), bad[i].err);
		assert_string_equal(why, bad[i].why);
	}
}

static void test_check_names_the_first_cpu_not_allowed(void **state)
{
	struct placement p = { 0 };
	cpu_set_t two = cpus(2);
	const char *why;

	(void)state;
	assert_int_equal(placement_parse(&p, "1,0", &why), 0);
	assert_int_equal(placement_check(&p, &two), -1);
	assert_int_equal(placement_parse(&p, "0,5,3", &why), 0);
	assert_int_equal(placement_check(&p, &two), 5);
	assert_int_equal(placement_parse(&p, "auto", &why), 0);
	assert_int_equal(placement_check(&p, &two), -1);
}

static void test_a_list_places_worker_i_on_the_ith_cpu_round_robin(void **state)
{
	struct placement p = { 0 };
	cpu_set_t four = cpus(4);
	const char *why;

	(void)state;
	assert_int_equal(placement_parse(&p, "2,0", &why), 0);
	assert_int_equal(placement_cpu(&p, 0, &four), 2);
	assert_int_equal(placement_cpu(&p, 1, &four), 0);
	assert_int_equal(placement_cpu(&p, 2, &four), 2);
	assert_int_equal(placement_cpu(&p, 3, &four), 0);
}

static void test_a_listed_cpu_no_longer_allowed_is_skipped(void **state)
{
	struct placement p = { 0 };
	cpu_set_t s = cpus(4);
	const char *why;

	(void)state;
	assert_int_equal(placement_parse(&p, "1,2,3", &why), 0);
	CPU_CLR(2, &s);
	assert_int_equal(placement_cpu(&p, 1, &s), 3);
	CPU_ZERO(&s);
	assert_int_equal(placement_cpu(&p, 1, &s), -1);
}

static void test_none_and_auto_pin_nothing(void **state)
{
	struct placement p = { 0 };
	cpu_set_t four = cpus(4);
	const char *why;

	(void)state;
	assert_int_equal(placement_parse(&p, "none", &why), 0);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(placement_cpu(&p, i, &four), -1);
	assert_int_equal(placement_parse(&p, "auto", &why), 0);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(placement_cpu(&p, i, &four), -1);
}

static void test_sets_format_compactly(void **state)
{
	cpu_set_t s;
	char buf[64];

	(void)state;
	CPU_ZERO(&s);
	placement_format_set(&s, buf, sizeof(buf));
	assert_string_equal(buf, "");
	CPU_SET(0, &s);
	CPU_SET(1, &s);
	CPU_SET(2, &s);
	CPU_SET(5, &s);
	CPU_SET(7, &s);
	CPU_SET(8, &s);
	placement_format_set(&s, buf, sizeof(buf));
	assert_string_equal(buf, "0-2,5,7-8");
}

/* The config key: parsed in [queue], a CPU nfqd may not run on refused at its line. */
static void test_config_reads_cpu_affinity(void **state)
{
	struct config *c = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(config_load_string(&c, "t.conf", "", err, sizeof(err)), 0);
	assert_int_equal(c->placement.mode, CPU_AFFINITY_AUTO);
	config_free(c);
	assert_int_equal(config_load_string(&c, "t.conf", "[queue]\ncpu-affinity = none\n", err,
					    sizeof(err)),
			 0);
	assert_int_equal(c->placement.mode, CPU_AFFINITY_NONE);
	config_free(c);
	c = NULL;
	assert_true(config_load_string(&c, "t.conf", "[queue]\n\ncpu-affinity = 1023\n", err,
				       sizeof(err)) < 0);
	assert_null(c);
	/* the allowed set is this process's: only the front of the message is fixed */
	assert_memory_equal(err,
			    "t.conf:3: cpu-affinity: '1023' names CPU 1023, which nfqd may "
			    "not run on (allowed: ",
			    strlen("t.conf:3: cpu-affinity: '1023' names CPU 1023, which nfqd may "
				   "not run on (allowed: "));
	assert_true(config_load_string(&c, "t.conf", "[queue]\ncpu-affinity = 0-x\n", err,
				       sizeof(err)) < 0);
	assert_string_equal(err, "t.conf:2: cpu-affinity: '0-x' is not 'auto', 'none' or a list "
				 "of CPUs such as 0,2-3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists_keep_their_order_and_expand_ranges),
		cmocka_unit_test(test_bad_lists_say_what_is_wrong),
		cmocka_unit_test(test_check_names_the_first_cpu_not_allowed),
		cmocka_unit_test(test_a_list_places_worker_i_on_the_ith_cpu_round_robin),
		cmocka_unit_test(test_a_listed_cpu_no_longer_allowed_is_skipped),
		cmocka_unit_test(test_none_and_auto_pin_nothing),
		cmocka_unit_test(test_sets_format_compactly),
		cmocka_unit_test(test_config_reads_cpu_affinity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
