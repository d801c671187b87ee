/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The uring backend's ring arithmetic (lib/transport/uring-ring.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "uring-ring.h"

/* Twice the batch as a power of 2, so one batch's buffers stay with the kernel while the other
 * is answered; capped at the kernel's limit. */
static void test_ring_entries_are_twice_the_batch_as_a_power_of_2(void **state)
{
	(void)state;
	assert_int_equal(nfqd_uring_ring_entries(1), 2);
	assert_int_equal(nfqd_uring_ring_entries(3), 8);
	assert_int_equal(nfqd_uring_ring_entries(64), 128);
	assert_int_equal(nfqd_uring_ring_entries(65), 256);
	assert_int_equal(nfqd_uring_ring_entries(1024), 2048);
	assert_int_equal(nfqd_uring_ring_entries(40000), NFQD_URING_RING_MAX);
	for (unsigned int b = 1; b <= 1024; b++) {
		unsigned int n = nfqd_uring_ring_entries(b);

		assert_int_equal(n & (n - 1), 0);
		assert_true(n >= 2 * b && n < 4 * b);
	}
}

/* A buffer holds the kernel's header and a whole message, and keeps payloads aligned. */
static void test_buffer_holds_header_and_message_aligned(void **state)
{
	(void)state;
	assert_int_equal(nfqd_uring_buf_size(1152, 16), 1216);
	assert_int_equal(nfqd_uring_buf_size(1152 - 16, 16), 1152);
	for (size_t m = 64; m < 70000; m += 997) {
		size_t s = nfqd_uring_buf_size(m, 16);

		assert_true(s >= m + 16 && s < m + 16 + 64);
		assert_int_equal(s % 64, 0);
	}
}

/* -ENOBUFS with every buffer in the process's hands is an empty ring; with buffers left to the
 * kernel, the socket lost messages. */
static void test_enobufs_is_empty_ring_only_when_no_buffer_is_left(void **state)
{
	(void)state;
	assert_int_equal(nfqd_uring_enobufs_kind(128, 128), NFQD_URING_RING_EMPTY);
	assert_int_equal(nfqd_uring_enobufs_kind(128, 127), NFQD_URING_OVERRUN);
	assert_int_equal(nfqd_uring_enobufs_kind(128, 0), NFQD_URING_OVERRUN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_entries_are_twice_the_batch_as_a_power_of_2),
		cmocka_unit_test(test_buffer_holds_header_and_message_aligned),
		cmocka_unit_test(test_enobufs_is_empty_ring_only_when_no_buffer_is_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
