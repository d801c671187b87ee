/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-worker counters: a reader never sees half of a commit. A writer thread commits, again
 * and again, one accepted verdict together with one unreadable packet (as the worker counts an
 * unreadable packet it accepted) and one batch of 8 in the histogram; readers copy the set at
 * the same time and must always find the three counts equal. The batch-size buckets; every
 * counter documented in README.md.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nfqd/stats.h"
#include "bgproc.h"

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
	acc.batch[nfqd_batch_bucket(8)] = 1;
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
		    snap.v[NFQD_CTR_RECEIVED] != snap.v[NFQD_CTR_ACCEPTED] ||
		    snap.batch[3] != snap.v[NFQD_CTR_ACCEPTED]) {
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
	assert_int_equal(snap.batch[3], COMMITS);
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
	acc.batch[NFQD_BATCH_BUCKETS - 1] = 2;
	nfqd_counters_commit(&a, &acc);
	nfqd_counters_read(&snap, &a, &sum);
	assert_int_equal(snap.batch[NFQD_BATCH_BUCKETS - 1], 2);
	assert_int_equal(sum.batch[NFQD_BATCH_BUCKETS - 1], 2);
}

/* Bucket K of the histogram holds the sizes in (K/2, K]; the last one everything above 256. */
static void test_batch_buckets_are_powers_of_two(void **state)
{
	static const struct {
		uint64_t size;
		const char *bucket;
	} cases[] = {
		{ 1, "1" },	  { 2, "2" },		{ 3, "4" },	{ 4, "4" },
		{ 5, "8" },	  { 8, "8" },		{ 9, "16" },	{ 33, "64" },
		{ 128, "128" },	  { 129, "256" },	{ 256, "256" }, { 257, "+Inf" },
		{ 1024, "+Inf" }, { 1u << 30, "+Inf" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = nfqd_batch_bucket_name(nfqd_batch_bucket(cases[i].size));

		if (!got || strcmp(got, cases[i].bucket) != 0)
			fail_msg("a batch of %llu went to bucket %s, not %s",
				 (unsigned long long)cases[i].size, got ? got : "(none)",
				 cases[i].bucket);
	}
	assert_null(nfqd_batch_bucket_name(NFQD_BATCH_BUCKETS));
}

/*
 * Every counter has its row in the README's tables ("| `name` |"): a counter added to enum
 * nfqd_counter without its documentation fails here.
 */
static void test_every_counter_is_documented_in_the_readme(void **state)
{
	char *readme = file_read_all(NFQD_SOURCE_DIR "/README.md");
	char row[64], missing[1024] = "";

	(void)state;
	assert_non_null(readme);
	for (int c = 0; c < NFQD_CTR_MAX; c++) {
		const char *name = nfqd_counter_name(c);

		assert_non_null(name);
		snprintf(row, sizeof(row), "| `%s` |", name);
		if (!strstr(readme, row))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 " %s", name);
	}
	free(readme);
	if (missing[0])
		fail_msg("counters without a row \"| `name` | meaning |\" in README.md:%s",
			 missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_read_never_sees_half_of_a_commit),
		cmocka_unit_test(test_read_adds_into_the_sum),
		cmocka_unit_test(test_batch_buckets_are_powers_of_two),
		cmocka_unit_test(test_every_counter_is_documented_in_the_readme),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
