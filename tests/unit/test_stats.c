/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-worker counters: a reader never sees half of a commit. A writer thread commits, again
 * and again, one accepted verdict together with one unreadable packet (as the worker counts an
 * unreadable packet it accepted); readers copy the set at the same time and must always find
 * both counters equal.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "nfqd/stats.h"

#define COMMITS 2000000ull

static struct nfqd_counters shared;
static atomic_bool writer_done;

static void *writer(void *arg)
{
	struct nfqd_counters acc = { .v = { 0 } };

	(void)arg;
	acc.v[NFQD_CTR_RECEIVED] = 1;
	acc.v[NFQD_CTR_ACCEPTED] = 1;
	acc.v[NFQD_CTR_UNREADABLE] = 1;
	for (uint64_t i = 0; i < COMMITS; i++)
		nfqd_counters_commit(&shared, &acc);
	atomic_store(&writer_done, true);
	return NULL;
}

static void test_a_read_never_sees_half_of_a_commit(void **state)
{
	uint64_t reads = 0, torn = 0, first_acc = 0, first_unr = 0;
	struct nfqd_counters snap;
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
	do {
		nfqd_counters_read(&snap, &shared, NULL);
		reads++;
		if (snap.v[NFQD_CTR_ACCEPTED] != snap.v[NFQD_CTR_UNREADABLE] ||
		    snap.v[NFQD_CTR_RECEIVED] != snap.v[NFQD_CTR_ACCEPTED]) {
			if (!torn++) {
				first_acc = snap.v[NFQD_CTR_ACCEPTED];
				first_unr = snap.v[NFQD_CTR_UNREADABLE];
			}
		}
	} while (!atomic_load(&writer_done));
	pthread_join(t, NULL);
	if (torn)
		fail_msg("%llu of %llu reads saw half a commit (first: accepted %llu, unreadable "
			 "%llu)",
			 (unsigned long long)torn, (unsigned long long)reads,
			 (unsigned long long)first_acc, (unsigned long long)first_unr);
	nfqd_counters_read(&snap, &shared, NULL);
	assert_int_equal(snap.v[NFQD_CTR_ACCEPTED], COMMITS);
	assert_int_equal(snap.v[NFQD_CTR_UNREADABLE], COMMITS);
	assert_int_equal(snap.seq, 2 * COMMITS);
}

static void test_read_adds_into_the_sum(void **state)
{
	struct nfqd_counters a = { .v = { 0 } }, b = { .v = { 0 } }, acc = { .v = { 0 } }, snap,
			     sum = { .v = { 0 } };

	(void)state;
	acc.v[NFQD_CTR_DROPPED] = 3;
	nfqd_counters_commit(&a, &acc);
	acc.v[NFQD_CTR_DROPPED] = 4;
	nfqd_counters_commit(&b, &acc);
	nfqd_counters_read(&snap, &a, &sum);
	nfqd_counters_read(&snap, &b, &sum);
	assert_int_equal(sum.v[NFQD_CTR_DROPPED], 7);
	assert_int_equal(snap.v[NFQD_CTR_DROPPED], 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_read_never_sees_half_of_a_commit),
		cmocka_unit_test(test_read_adds_into_the_sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
