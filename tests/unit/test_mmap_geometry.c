/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mmap transport's ring geometry (lib/transport/mmap-ring.h) against the checks of the
 * kernel's netlink_set_ring() (Linux 3.10-4.5), and the transport table: auto's order starts with
 * mmap, every backend is named, and on this kernel (no mmap netlink) auto opens mmsg and says why
 * mmap could not.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <cmocka.h>

#include "mmap-ring.h"
#include "nfqd/transport.h"

/*
 * The acceptance checks of netlink_set_ring() for a ring request: a positive, page-aligned block
 * size; a frame of at least the frame header, aligned to NL_MMAP_MSG_ALIGNMENT; at least one frame
 * per block; frame_nr == frames per block * block_nr. Returns what the kernel would: 0 or -EINVAL.
 */
static int kernel_accepts(const struct nl_mmap_req *r, size_t page)
{
	unsigned int per_block;

	if ((int)r->nm_block_size <= 0 || r->nm_block_size % page != 0)
		return -EINVAL;
	if (r->nm_frame_size < NL_MMAP_HDRLEN || r->nm_frame_size % NL_MMAP_MSG_ALIGNMENT != 0)
		return -EINVAL;
	per_block = r->nm_block_size / r->nm_frame_size;
	if (per_block == 0 || per_block * r->nm_block_nr != r->nm_frame_nr)
		return -EINVAL;
	return 0;
}

static void check(size_t msg_size, unsigned int batch, unsigned int depth, size_t page)
{
	struct nl_mmap_req rx, tx;
	unsigned int want = (depth ? depth : 8192) + batch;
	size_t rx_bytes;

	nfqd_mmap_geometry(msg_size, batch, depth, page, &rx, &tx);
	rx_bytes = nfqd_mmap_ring_bytes(&rx);
	if (kernel_accepts(&rx, page) != 0 || kernel_accepts(&tx, page) != 0 ||
	    rx.nm_frame_size < NL_MMAP_HDRLEN + msg_size || rx_bytes > NFQD_MMAP_RX_MAX)
		fail_msg("msg_size %zu batch %u depth %u page %zu: rx block %u x %u frame %u x %u, "
			 "tx block %u x %u frame %u x %u",
			 msg_size, batch, depth, page, rx.nm_block_size, rx.nm_block_nr,
			 rx.nm_frame_size, rx.nm_frame_nr, tx.nm_block_size, tx.nm_block_nr,
			 tx.nm_frame_size, tx.nm_frame_nr);
	/* a power of two of at least a page's worth of 4096 */
	assert_int_equal(rx.nm_frame_size & (rx.nm_frame_size - 1), 0);
	assert_true(rx.nm_frame_size >= 4096);
	/* the smallest such: half of it would not hold header and message */
	assert_true(rx.nm_frame_size == 4096 || rx.nm_frame_size / 2 < NL_MMAP_HDRLEN + msg_size);
	/* depth plus a batch, and 4 batches, unless the 64 MiB cap holds it lower (then the cap is
	 * full, or one block) */
	if (want < 4 * batch)
		want = 4 * batch;
	if (rx.nm_frame_nr < want)
		assert_true(rx_bytes + rx.nm_block_size > NFQD_MMAP_RX_MAX || rx.nm_block_nr == 1);
	/* not more than a block beyond what is wanted */
	assert_true(rx.nm_frame_nr < want + rx.nm_block_size / rx.nm_frame_size);
	/* TX: page frames holding a batch of verdicts, 128 bytes each, plus 4096 */
	assert_int_equal(tx.nm_frame_size, page);
	assert_true((size_t)(tx.nm_frame_size - NL_MMAP_HDRLEN) * (tx.nm_frame_nr - 2) >=
		    (size_t)batch * 128 + 4096);
}

/* Every geometry the config allows passes the kernel's checks and holds a whole message. */
static void test_every_geometry_passes_the_kernels_checks(void **state)
{
	static const size_t sizes[] = { 64,   256,   1152,  3000,   4072,   4073,
					8192, 66560, 70000, 524288, 1 << 20 };
	static const unsigned int batches[] = { 1, 3, 64, 1000, 1024 };
	static const unsigned int depths[] = { 0, 1, 100, 8192, 65536 };
	static const size_t pages[] = { 4096, 16384, 65536 };

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++)
			for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++)
				for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++)
					check(sizes[s], batches[b], depths[d], pages[p]);
}

/* The README's figures: the defaults, and copy-range 65531 under the 64 MiB cap. */
static void test_the_defaults_take_the_readmes_ring_sizes(void **state)
{
	struct nl_mmap_req rx, tx;

	(void)state;
	/* copy-range 128: nfqd_queue_msg_size() = 1152 */
	nfqd_mmap_geometry(1152, 64, 8192, 4096, &rx, &tx);
	assert_int_equal(rx.nm_frame_size, 4096);
	assert_int_equal(rx.nm_block_size, 4096);
	assert_int_equal(rx.nm_frame_nr, 8192 + 64);
	assert_int_equal(nfqd_mmap_ring_bytes(&rx), (8192u + 64) * 4096);
	assert_int_equal(tx.nm_frame_nr, 6);
	/* copy-range 65531: 66560 */
	nfqd_mmap_geometry(66560, 64, 8192, 4096, &rx, &tx);
	assert_int_equal(rx.nm_frame_size, 128u << 10);
	assert_int_equal(rx.nm_frame_nr, 512);
	assert_int_equal(nfqd_mmap_ring_bytes(&rx), 64u << 20);
	/* a short queue still gets 4 batches */
	nfqd_mmap_geometry(1152, 64, 10, 4096, &rx, &tx);
	assert_int_equal(rx.nm_frame_nr, 256);
	/* 64 KiB pages: 16 frames of 4096 per block, frames in whole blocks */
	nfqd_mmap_geometry(1152, 64, 200, 65536, &rx, &tx);
	assert_int_equal(rx.nm_block_size, 65536);
	assert_int_equal(rx.nm_frame_nr, 272);
	assert_int_equal(rx.nm_block_nr, 17);
}

/* Frames lie where the kernel puts them: in order within a block, never across two. */
static void test_frames_never_straddle_a_block(void **state)
{
	struct nl_mmap_req rx, tx;

	(void)state;
	nfqd_mmap_geometry(1152, 64, 100, 65536, &rx, &tx);
	for (unsigned int i = 0; i < rx.nm_frame_nr; i++) {
		size_t off = nfqd_mmap_frame_offset(&rx, i);

		assert_int_equal(off, (size_t)i * rx.nm_frame_size);
		assert_int_equal(off / rx.nm_block_size,
				 (off + rx.nm_frame_size - 1) / rx.nm_block_size);
	}
	assert_int_equal(nfqd_mmap_frame_offset(&rx, rx.nm_frame_nr - 1) + rx.nm_frame_size,
			 nfqd_mmap_ring_bytes(&rx));
}

/* auto's order comes from the backend table: mmap first; every backend is listed and known. */
static void test_auto_order_starts_with_mmap_and_names_every_backend(void **state)
{
	(void)state;
	assert_string_equal(nfqd_transport_names(), "auto, mmap, mmsg, uring");
	assert_true(nfqd_transport_known("auto"));
	assert_true(nfqd_transport_known("mmap"));
	assert_true(nfqd_transport_known("mmsg"));
	assert_true(nfqd_transport_known("uring"));
	assert_false(nfqd_transport_known("ring"));
}

/*
 * On this kernel (6.18: no mmap netlink) on a real netfilter netlink socket: an explicit mmap
 * fails with ENOPROTOOPT and the reason; auto tries mmap first, opens mmsg and gives mmap's
 * reason.
 */
static void test_on_this_kernel_mmap_refuses_and_auto_opens_mmsg(void **state)
{
	struct nfqd_transport_params p = { .batch = 64, .msg_size = 1152, .timeout_ms = 100 };
	struct nfqd_transport *t = NULL;
	const char *why = NULL;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	int r;

	(void)state;
	assert_true(fd >= 0);
	r = nfqd_transport_open(&t, "mmap", fd, &p, &why);
	if (r != -ENOPROTOOPT || !why)
		fail_msg("mmap open: %d (%s), why %s", r, strerror(-r), why ? why : "(none)");
	assert_string_equal(why, "kernel has no mmap netlink (NETLINK_RX_RING: ENOPROTOOPT; "
				 "removed in Linux 4.6)");

	why = NULL;
	r = nfqd_transport_open(&t, "auto", fd, &p, &why);
	assert_int_equal(r, 0);
	assert_string_equal(nfqd_transport_name(t), "mmsg");
	assert_non_null(why);
	assert_non_null(strstr(why, "kernel has no mmap netlink"));
	nfqd_transport_close(t);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_geometry_passes_the_kernels_checks),
		cmocka_unit_test(test_the_defaults_take_the_readmes_ring_sizes),
		cmocka_unit_test(test_frames_never_straddle_a_block),
		cmocka_unit_test(test_auto_order_starts_with_mmap_and_names_every_backend),
		cmocka_unit_test(test_on_this_kernel_mmap_refuses_and_auto_opens_mmsg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
