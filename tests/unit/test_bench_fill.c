/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The benchmarks' account of which threads of a reader did a drain's work (tests/bench/fill.c):
 * the "threads working" and "CPU time / wall" columns that say whether two queues were served
 * in parallel.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "fill.h"

static void test_threads_that_worked_are_counted_idle_ones_not(void **state)
{
	/* a main thread that only waited, and two workers that drained */
	struct bench_threads before = { 3, { 10, 11, 12 }, { 5000, 100, 200 } };
	struct bench_threads after = { 3, { 10, 11, 12 }, { 5050, 1000100, 900200 } };
	unsigned long long cpu = 0;

	(void)state;
	assert_int_equal(bench_threads_working(&before, &after, &cpu), 2);
	assert_int_equal(cpu, 50 + 1000000 + 900000);
}

static void test_one_thread_doing_the_work_counts_one(void **state)
{
	struct bench_threads before = { 2, { 20, 21 }, { 0, 0 } };
	struct bench_threads after = { 2, { 20, 21 }, { 99999, 2000000 } };
	unsigned long long cpu = 0;

	(void)state;
	/* 99,999 ns is less than a tenth of the busiest's 2,000,000 */
	assert_int_equal(bench_threads_working(&before, &after, &cpu), 1);
	assert_int_equal(cpu, 2099999);
}

static void test_a_thread_born_in_between_counts_all_its_time(void **state)
{
	struct bench_threads before = { 1, { 30 }, { 700 } };
	struct bench_threads after = { 2, { 30, 31 }, { 800700, 600000 } };
	unsigned long long cpu = 0;

	(void)state;
	assert_int_equal(bench_threads_working(&before, &after, &cpu), 2);
	assert_int_equal(cpu, 800000 + 600000);
}

static void test_nothing_ran_counts_none(void **state)
{
	struct bench_threads same = { 2, { 40, 41 }, { 123, 456 } };
	unsigned long long cpu = 1;

	(void)state;
	assert_int_equal(bench_threads_working(&same, &same, &cpu), 0);
	assert_int_equal(cpu, 0);
}

static atomic_int spin_stop, spin_tid;

static void *spin(void *arg)
{
	(void)arg;
	atomic_store(&spin_tid, (int)gettid());
	while (!atomic_load(&spin_stop))
		;
	return NULL;
}

/* The CPU time of thread tid in t, or 0 when t does not list it. */
static unsigned long long ns_of(const struct bench_threads *t, pid_t tid)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (t->tid[i] == tid)
			return t->ns[i];
	return 0;
}

static void test_a_spinning_thread_of_this_process_is_read_and_counted(void **state)
{
	struct bench_threads before, after;
	unsigned long long cpu = 0;
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, spin, NULL), 0);
	while (!atomic_load(&spin_tid))
		usleep(1000);
	assert_int_equal(bench_threads_read(getpid(), &before), 2);
	/* no deadline on the clock: wait until the spinner has run 50 ms more (ctest's timeout
	 * ends a spinner that never gets a CPU) */
	do {
		usleep(10000);
		assert_int_equal(bench_threads_read(getpid(), &after), 2);
	} while (ns_of(&after, spin_tid) - ns_of(&before, spin_tid) < 50000000ull);
	atomic_store(&spin_stop, 1);
	pthread_join(th, NULL);
	assert_true(bench_threads_working(&before, &after, &cpu) >= 1);
	assert_true(cpu >= 50000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_that_worked_are_counted_idle_ones_not),
		cmocka_unit_test(test_one_thread_doing_the_work_counts_one),
		cmocka_unit_test(test_a_thread_born_in_between_counts_all_its_time),
		cmocka_unit_test(test_nothing_ran_counts_none),
		cmocka_unit_test(test_a_spinning_thread_of_this_process_is_read_and_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
