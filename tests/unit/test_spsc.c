/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The single-producer single-consumer ring: its edges (empty, full, the largest record, the
 * pad at the end of the buffer, alignment, abandoned reservations) driven step by step, and a
 * producer and a consumer thread racing over a million records of random lengths, every byte
 * checked in order.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nfqd/spsc.h"

/* The byte i of record number seq: a function of both, so a misplaced byte shows. */
static unsigned char byte_of(uint64_t seq, size_t i)
{
	return (unsigned char)(seq * 131u + i * 7u + (seq >> 8));
}

static void fill(void *p, uint64_t seq, size_t len)
{
	unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		b[i] = byte_of(seq, i);
}

/* Returns the index of the first wrong byte, or len when all are right. */
static size_t check(const void *p, uint64_t seq, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != byte_of(seq, i))
			return i;
	return len;
}

static void push(struct nfqd_spsc *r, uint64_t seq, size_t len)
{
	void *p = nfqd_spsc_reserve(r, len);

	assert_non_null(p);
	fill(p, seq, len);
	nfqd_spsc_commit(r);
}

static void pop(struct nfqd_spsc *r, uint64_t seq, size_t want)
{
	size_t len = 0;
	const void *p = nfqd_spsc_peek(r, &len);

	assert_non_null(p);
	assert_int_equal(len, want);
	assert_int_equal(check(p, seq, len), len);
	nfqd_spsc_release(r);
}

static void test_init_rounds_up_and_refuses_bad_sizes(void **state)
{
	struct nfqd_spsc r;

	(void)state;
	assert_int_equal(nfqd_spsc_init(&r, 0), -EINVAL);
	assert_int_equal(nfqd_spsc_init(&r, (1u << 30) + 1), -EINVAL);
	assert_int_equal(nfqd_spsc_init(&r, 100), 0);
	/* 128 bytes: a quarter is 32, less the 8-byte header. */
	assert_int_equal(nfqd_spsc_max_record(&r), 24);
	nfqd_spsc_free(&r);
	nfqd_spsc_free(&r); /* a freed ring may be freed again */
}

static void test_empty_ring_and_uncommitted_record_read_nothing(void **state)
{
	struct nfqd_spsc r;
	size_t len = 99;

	(void)state;
	assert_int_equal(nfqd_spsc_init(&r, 256), 0);
	assert_null(nfqd_spsc_peek(&r, &len));
	assert_int_equal(len, 99);
	fill(nfqd_spsc_reserve(&r, 10), 0, 10);
	assert_null(nfqd_spsc_peek(&r, &len)); /* reserved and written, not committed */
	nfqd_spsc_commit(&r);
	pop(&r, 0, 10);
	assert_null(nfqd_spsc_peek(&r, &len));
	nfqd_spsc_release(&r); /* a release with nothing peeked changes nothing */
	push(&r, 1, 5);
	pop(&r, 1, 5);
	nfqd_spsc_free(&r);
}

static void test_lengths_out_of_range_are_refused(void **state)
{
	struct nfqd_spsc r;

	(void)state;
	assert_int_equal(nfqd_spsc_init(&r, 1024), 0);
	assert_null(nfqd_spsc_reserve(&r, 0));
	assert_null(nfqd_spsc_reserve(&r, nfqd_spsc_max_record(&r) + 1));
	push(&r, 7, nfqd_spsc_max_record(&r));
	pop(&r, 7, nfqd_spsc_max_record(&r));
	nfqd_spsc_free(&r);
}

static void test_full_ring_refuses_until_the_consumer_releases(void **state)
{
	struct nfqd_spsc r;
	size_t len;

	(void)state;
	assert_int_equal(nfqd_spsc_init(&r, 64), 0);
	assert_int_equal(nfqd_spsc_max_record(&r), 8);
	/* Records of 8 bytes take 16 with their header: four fill 64 bytes. */
	for (uint64_t s = 0; s < 4; s++)
		push(&r, s, 8);
	assert_null(nfqd_spsc_reserve(&r, 1));
	/* A peeked record still holds its room until it is released. */
	assert_non_null(nfqd_spsc_peek(&r, &len));
	assert_null(nfqd_spsc_reserve(&r, 1));
	nfqd_spsc_release(&r);
	push(&r, 4, 8);
	assert_null(nfqd_spsc_reserve(&r, 1));
	for (uint64_t s = 1; s < 5; s++)
		pop(&r, s, 8);
	assert_null(nfqd_spsc_peek(&r, &len));
	nfqd_spsc_free(&r);
}

static void test_record_at_the_end_wraps_to_the_start_after_a_pad(void **state)
{
	struct nfqd_spsc r;
	const void *first, *p;
	size_t len;

	(void)state;
	assert_int_equal(nfqd_spsc_init(&r, 128), 0);
	push(&r, 0, 8); /* 16 bytes: the records after it end 16 bytes before the end */
	first = nfqd_spsc_peek(&r, &len);
	assert_non_null(first);
	nfqd_spsc_release(&r);
	for (uint64_t s = 1; s <= 3; s++)
		push(&r, s, 24); /* 32 bytes each, bytes 16..112 */
	/* The next 32 bytes would straddle the end: 16 of pad, then 32 at the start, 48 > 32 free.
	 */
	assert_null(nfqd_spsc_reserve(&r, 24));
	pop(&r, 1, 24);
	push(&r, 4, 24);
	pop(&r, 2, 24);
	pop(&r, 3, 24);
	p = nfqd_spsc_peek(&r, &len);
	assert_ptr_equal(p, first); /* the record starts at the buffer's start */
	assert_int_equal(len, 24);
	assert_int_equal(check(p, 4, len), len);
	nfqd_spsc_release(&r);
	assert_null(nfqd_spsc_peek(&r, &len));
	nfqd_spsc_free(&r);
}

static void test_payloads_are_aligned(void **state)
{
	struct nfqd_spsc r;
	size_t len;

	(void)state;
	assert_int_equal(nfqd_spsc_init(&r, 512), 0);
	for (size_t l = 1; l <= 40; l++) {
		void *p = nfqd_spsc_reserve(&r, l);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % NFQD_SPSC_ALIGN, 0);
		fill(p, l, l);
		nfqd_spsc_commit(&r);
		assert_int_equal((uintptr_t)nfqd_spsc_peek(&r, &len) % NFQD_SPSC_ALIGN, 0);
		nfqd_spsc_release(&r);
	}
	nfqd_spsc_free(&r);
}

/*
 * nfqd_spsc_new() puts the ring on its cache-line alignment, whatever malloc() would give (a
 * calloc'd ring is misaligned for its 64-byte members: the UBSan build aborts on it), and
 * refuses a bad size.
 */
static void test_new_ring_is_cache_line_aligned(void **state)
{
	struct nfqd_spsc *rings[64];

	(void)state;
	for (unsigned int i = 0; i < 64; i++) {
		void *pad = malloc(i * 8 + 1); /* vary the heap's state between allocations */

		rings[i] = nfqd_spsc_new(256);
		free(pad);
		assert_non_null(rings[i]);
		if ((uintptr_t)rings[i] % 64 != 0)
			fail_msg("ring %u at %p: not on a 64-byte boundary", i, (void *)rings[i]);
		assert_non_null(nfqd_spsc_reserve(rings[i], 8));
	}
	for (unsigned int i = 0; i < 64; i++)
		nfqd_spsc_delete(rings[i]);
	assert_null(nfqd_spsc_new(0));
	nfqd_spsc_delete(NULL);
}

static void test_second_reserve_abandons_the_first(void **state)
{
	struct nfqd_spsc r;
	size_t len;

	(void)state;
	assert_int_equal(nfqd_spsc_init(&r, 256), 0);
	fill(nfqd_spsc_reserve(&r, 12), 1, 12);
	fill(nfqd_spsc_reserve(&r, 20), 2, 20);
	nfqd_spsc_commit(&r);
	nfqd_spsc_commit(&r); /* a second commit publishes nothing more */
	pop(&r, 2, 20);
	assert_null(nfqd_spsc_peek(&r, &len));
	nfqd_spsc_free(&r);
}

#define RACE_RECORDS 1000000ull

struct race {
	struct nfqd_spsc ring;
	uint64_t full; /* reserves refused by a full ring (the producer then retried) */
};

/* The length of record seq: 1..max, spread by a 64-bit mix of seq. */
static size_t len_of(uint64_t seq, size_t max)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull;

	x ^= x >> 29;
	return 1 + (size_t)(x % max);
}

static void *producer(void *arg)
{
	struct race *rc = arg;
	size_t max = nfqd_spsc_max_record(&rc->ring);

	for (uint64_t seq = 0; seq < RACE_RECORDS; seq++) {
		size_t len = len_of(seq, max);
		void *p;

		while (!(p = nfqd_spsc_reserve(&rc->ring, len))) {
			rc->full++;
			sched_yield();
		}
		fill(p, seq, len);
		nfqd_spsc_commit(&rc->ring);
	}
	return NULL;
}

static void test_two_threads_pass_a_million_records_intact_in_order(void **state)
{
	static struct race rc;
	uint64_t seq = 0, empty = 0, bad = 0;
	size_t max;
	pthread_t t;

	(void)state;
	/* A small ring: the producer runs into the consumer and the end of the buffer often. */
	assert_int_equal(nfqd_spsc_init(&rc.ring, 4096), 0);
	max = nfqd_spsc_max_record(&rc.ring);
	assert_int_equal(pthread_create(&t, NULL, producer, &rc), 0);
	while (seq < RACE_RECORDS) {
		size_t len;
		const void *p = nfqd_spsc_peek(&rc.ring, &len);

		if (!p) {
			empty++;
			sched_yield();
			continue;
		}
		if (len != len_of(seq, max) || check(p, seq, len) != len) {
			/* The positions are lost after a wrong record: stop at the first. */
			fprintf(stderr, "record %llu: length %zu (want %zu), byte %zu wrong\n",
				(unsigned long long)seq, len, len_of(seq, max), check(p, seq, len));
			bad++;
			break;
		}
		nfqd_spsc_release(&rc.ring);
		seq++;
	}
	assert_int_equal(bad, 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	printf("%llu records, %llu bad, consumer found it empty %llu times, producer found it "
	       "full %llu times\n",
	       (unsigned long long)seq, (unsigned long long)bad, (unsigned long long)empty,
	       (unsigned long long)rc.full);
	assert_null(nfqd_spsc_peek(&rc.ring, &max));
	nfqd_spsc_free(&rc.ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rounds_up_and_refuses_bad_sizes),
		cmocka_unit_test(test_empty_ring_and_uncommitted_record_read_nothing),
		cmocka_unit_test(test_lengths_out_of_range_are_refused),
		cmocka_unit_test(test_full_ring_refuses_until_the_consumer_releases),
		cmocka_unit_test(test_record_at_the_end_wraps_to_the_start_after_a_pad),
		cmocka_unit_test(test_payloads_are_aligned),
		cmocka_unit_test(test_new_ring_is_cache_line_aligned),
		cmocka_unit_test(test_second_reserve_abandons_the_first),
		cmocka_unit_test(test_two_threads_pass_a_million_records_intact_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
