/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mmap netlink ring, against the emulated kernel side of tests/support/nlmmap_emu.c (this
 * machine's kernel has no mmap netlink). First the emulator itself, driven as a process drives
 * the old kernel (set-up, frames, poll, TX), so that the cases below rest on a kernel model that
 * was checked against the rules of net/netlink/af_netlink.c (3.10-4.5).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <linux/netlink.h>

#include "nlmmap_emu.h"
#include "pktbuild.h"

#define FRAME_SIZE 2048u
#define BLOCK_SIZE 4096u

struct ring_user {
	int fd;
	struct nl_mmap_req req;
	unsigned char *map;
	size_t len;
	struct nlmmap_emu *k;
};

static int nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	assert_true(fd >= 0);
	return fd;
}

static struct nl_mmap_req req_of(unsigned int blocks)
{
	return (struct nl_mmap_req){ .nm_block_size = BLOCK_SIZE,
				     .nm_block_nr = blocks,
				     .nm_frame_size = FRAME_SIZE,
				     .nm_frame_nr = blocks * (BLOCK_SIZE / FRAME_SIZE) };
}

/* Both rings of `blocks` blocks each, mapped, as a process of that era set them up. */
static void ring_open(struct ring_user *u, unsigned int blocks)
{
	u->fd = nl_socket();
	u->req = req_of(blocks);
	assert_int_equal(setsockopt(u->fd, SOL_NETLINK, NETLINK_RX_RING, &u->req, sizeof(u->req)),
			 0);
	assert_int_equal(setsockopt(u->fd, SOL_NETLINK, NETLINK_TX_RING, &u->req, sizeof(u->req)),
			 0);
	u->len = 2 * (size_t)blocks * BLOCK_SIZE;
	u->map = mmap(NULL, u->len, PROT_READ | PROT_WRITE, MAP_SHARED, u->fd, 0);
	assert_true(u->map != MAP_FAILED);
	u->k = nlmmap_emu_of(u->fd);
	assert_non_null(u->k);
}

static void ring_close(struct ring_user *u)
{
	assert_int_equal(munmap(u->map, u->len), 0);
	assert_int_equal(close(u->fd), 0);
	assert_null(nlmmap_emu_of(u->fd));
}

static struct nl_mmap_hdr *rx_frame(struct ring_user *u, unsigned int i)
{
	return (struct nl_mmap_hdr *)(u->map + (size_t)i * FRAME_SIZE);
}

static struct nl_mmap_hdr *tx_frame(struct ring_user *u, unsigned int i)
{
	return (struct nl_mmap_hdr *)(u->map + (size_t)u->req.nm_block_nr * BLOCK_SIZE +
				      (size_t)i * FRAME_SIZE);
}

/* A real nfqueue packet message of a UDP packet with this id and payload size. */
static int packet_msg(void *buf, size_t cap, uint32_t id, size_t payload)
{
	uint8_t pkt[PB_PKT_MAX];
	struct pb pb;
	struct pb_nfq m;
	int len;

	pb_init(&pb, pkt, sizeof(pkt));
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_udp(&pb, 17, 40000, 5000);
	pb_data(&pb, NULL, payload);
	len = pb_finish(&pb);
	assert_true(len > 0);
	pb_nfq_init(&m, 4, id);
	len = pb_nfq_msg(buf, cap, &m, pkt, (size_t)len);
	assert_true(len > 0);
	return len;
}

static int set_rx(int fd, const struct nl_mmap_req *req)
{
	return setsockopt(fd, SOL_NETLINK, NETLINK_RX_RING, req, sizeof(*req));
}

/* netlink_set_ring()'s checks: each bad request is EINVAL, a second ring EBUSY, and so on. */
static void test_emu_setup_follows_netlink_set_ring(void **state)
{
	struct nl_mmap_req good = req_of(2), bad;
	int fd = nl_socket();
	void *map;

	(void)state;
	bad = good;
	bad.nm_block_size = 4096 + 16; /* not a multiple of the page */
	assert_int_equal(set_rx(fd, &bad), -1);
	assert_int_equal(errno, EINVAL);
	bad = good;
	bad.nm_frame_size = 8; /* smaller than NL_MMAP_HDRLEN */
	assert_int_equal(set_rx(fd, &bad), -1);
	assert_int_equal(errno, EINVAL);
	bad = good;
	bad.nm_frame_size = 2050; /* not NL_MMAP_MSG_ALIGNMENT */
	assert_int_equal(set_rx(fd, &bad), -1);
	assert_int_equal(errno, EINVAL);
	bad = good;
	bad.nm_frame_nr = 5; /* not frames per block * blocks */
	assert_int_equal(set_rx(fd, &bad), -1);
	assert_int_equal(errno, EINVAL);
	bad = (struct nl_mmap_req){ .nm_frame_nr = 4 }; /* frames without blocks */
	assert_int_equal(set_rx(fd, &bad), -1);
	assert_int_equal(errno, EINVAL);
	bad = good;
	assert_int_equal(setsockopt(fd, SOL_NETLINK, NETLINK_RX_RING, &bad, sizeof(bad) - 1), -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(set_rx(fd, &good), 0);
	assert_int_equal(nlmmap_emu_rx_frames(nlmmap_emu_of(fd)), 4);
	assert_int_equal(set_rx(fd, &good), -1); /* a ring is set: clear it first */
	assert_int_equal(errno, EBUSY);

	/* one mapping of exactly the rings' size (only RX here), at offset 0 */
	assert_true(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096) ==
		    MAP_FAILED);
	map = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	bad = (struct nl_mmap_req){ 0 };
	assert_int_equal(set_rx(fd, &bad), -1); /* mapped */
	assert_int_equal(errno, EBUSY);
	assert_int_equal(munmap(map, 2 * 4096), 0);
	assert_int_equal(set_rx(fd, &bad), 0); /* the all-zero request clears it */
	assert_int_equal(nlmmap_emu_rx_frames(nlmmap_emu_of(fd)), 0);
	assert_int_equal(set_rx(fd, &good), 0);

	/* a refusal injected for the next set-up, as a kernel without mmap netlink answers */
	nlmmap_emu_refuse(ENOPROTOOPT, 1);
	assert_int_equal(setsockopt(fd, SOL_NETLINK, NETLINK_TX_RING, &good, sizeof(good)), -1);
	assert_int_equal(errno, ENOPROTOOPT);
	assert_int_equal(setsockopt(fd, SOL_NETLINK, NETLINK_TX_RING, &good, sizeof(good)), 0);
	close(fd);
	assert_null(nlmmap_emu_of(fd));
}

/* A frame RESERVED (a message in build) keeps the RX ring from being changed. */
static void test_emu_setup_busy_while_a_frame_is_in_build(void **state)
{
	struct nl_mmap_req good = req_of(1), zero = { 0 };
	int fd = nl_socket(), i;
	struct nlmmap_emu *k;

	(void)state;
	assert_int_equal(set_rx(fd, &good), 0);
	k = nlmmap_emu_of(fd);
	i = nlmmap_emu_deliver(k, NULL, 0, NLMMAP_EMU_RESERVE);
	assert_int_equal(i, 0);
	assert_int_equal(set_rx(fd, &zero), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(nlmmap_emu_complete(k, (unsigned int)i, NULL, 0), 0);
	assert_int_equal(set_rx(fd, &zero), 0);
	close(fd);
}

/*
 * RX: frames taken in order from the head; VALID in place, COPY through recv(), a failed build
 * VALID with nm_len 0, an overrun when the head frame is not UNUSED; poll as netlink_poll().
 */
static void test_emu_rx_frames_and_poll(void **state)
{
	static unsigned char msg[3][PB_MSG_MAX], got[PB_MSG_MAX];
	struct nlmmap_emu_counts c;
	struct ring_user u;
	struct pollfd p;
	int len[3];

	(void)state;
	ring_open(&u, 2); /* 4 RX frames */
	p = (struct pollfd){ .fd = u.fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 1000), 0); /* an empty ring: in-process, at once */

	len[0] = packet_msg(msg[0], sizeof(msg[0]), 7, 100);
	len[1] = packet_msg(msg[1], sizeof(msg[1]), 8, 3000); /* longer than a frame */
	len[2] = packet_msg(msg[2], sizeof(msg[2]), 9, 100);
	assert_int_equal(nlmmap_emu_deliver(u.k, msg[0], (size_t)len[0], NLMMAP_EMU_VALID), 0);
	assert_int_equal(nlmmap_emu_deliver(u.k, msg[1], (size_t)len[1], NLMMAP_EMU_VALID), 1);
	assert_int_equal(nlmmap_emu_deliver(u.k, NULL, 0, NLMMAP_EMU_FAILED), 2);
	assert_int_equal(nlmmap_emu_deliver(u.k, msg[2], (size_t)len[2], NLMMAP_EMU_RESERVE),
			 -EINVAL);
	assert_int_equal(nlmmap_emu_deliver(u.k, NULL, 0, NLMMAP_EMU_RESERVE), 3);
	/* the ring is full: the kernel loses the next message */
	assert_int_equal(nlmmap_emu_deliver(u.k, msg[2], (size_t)len[2], NLMMAP_EMU_VALID),
			 -ENOBUFS);

	assert_int_equal(rx_frame(&u, 0)->nm_status, NL_MMAP_STATUS_VALID);
	assert_int_equal(rx_frame(&u, 0)->nm_len, len[0]);
	assert_memory_equal((unsigned char *)rx_frame(&u, 0) + NL_MMAP_HDRLEN, msg[0], len[0]);
	assert_int_equal(rx_frame(&u, 1)->nm_status, NL_MMAP_STATUS_COPY);
	assert_int_equal(rx_frame(&u, 1)->nm_len, len[1]);
	assert_int_equal(rx_frame(&u, 2)->nm_status, NL_MMAP_STATUS_VALID);
	assert_int_equal(rx_frame(&u, 2)->nm_len, 0);
	assert_int_equal(rx_frame(&u, 3)->nm_status, NL_MMAP_STATUS_RESERVED);
	assert_int_equal(nlmmap_emu_frames_owned_by_user(u.k), 3);
	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_true(p.revents & POLLIN);

	/* the COPY frame's message through recv() */
	assert_int_equal(nlmmap_emu_queued(u.k), 1);
	assert_int_equal(recv(u.fd, got, sizeof(got), 0), len[1]);
	assert_memory_equal(got, msg[1], len[1]);
	assert_int_equal(recv(u.fd, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	/* the user hands frames back; the one in build finishes with a message */
	rx_frame(&u, 0)->nm_status = NL_MMAP_STATUS_UNUSED;
	rx_frame(&u, 1)->nm_status = NL_MMAP_STATUS_UNUSED;
	rx_frame(&u, 2)->nm_status = NL_MMAP_STATUS_UNUSED;
	assert_int_equal(poll(&p, 1, 1000), 1); /* the frame before the head is RESERVED */
	assert_true(p.revents & POLLIN);
	assert_int_equal(nlmmap_emu_complete(u.k, 3, msg[2], (size_t)len[2]), 0);
	assert_int_equal(nlmmap_emu_complete(u.k, 3, msg[2], (size_t)len[2]), -EINVAL);
	assert_int_equal(rx_frame(&u, 3)->nm_status, NL_MMAP_STATUS_VALID);
	rx_frame(&u, 3)->nm_status = NL_MMAP_STATUS_UNUSED;
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 1000), 0); /* nothing: returns at once in-process */
	assert_int_equal(nlmmap_emu_rx_head(u.k), 0);

	nlmmap_emu_counts(u.k, &c);
	assert_int_equal(c.delivered, 2);
	assert_int_equal(c.copies, 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.overruns, 1);
	ring_close(&u);
}

/* Many times round the ring: the head wraps, frames are reused in order. */
static void test_emu_rx_wraps_around(void **state)
{
	static unsigned char msg[PB_MSG_MAX];
	struct ring_user u;

	(void)state;
	ring_open(&u, 1); /* 2 frames */
	for (uint32_t id = 1; id <= 101; id++) {
		int len = packet_msg(msg, sizeof(msg), id, 10);
		int i = nlmmap_emu_deliver(u.k, msg, (size_t)len, NLMMAP_EMU_VALID);

		assert_int_equal(i, (int)((id - 1) % 2));
		assert_memory_equal((unsigned char *)rx_frame(&u, (unsigned int)i) + NL_MMAP_HDRLEN,
				    msg, len);
		rx_frame(&u, (unsigned int)i)->nm_status = NL_MMAP_STATUS_UNUSED;
	}
	assert_int_equal(nlmmap_emu_rx_head(u.k), 1);
	ring_close(&u);
}

struct sent {
	unsigned int n, from_ring, fail_at;
	unsigned char last[FRAME_SIZE];
	size_t last_len;
};

static int sink(void *arg, const void *buf, size_t len, int from_ring)
{
	struct sent *s = arg;

	if (s->fail_at && s->n + 1 == s->fail_at) {
		s->fail_at = 0;
		return -ENOBUFS;
	}
	s->n++;
	s->from_ring += (unsigned int)from_ring;
	assert_true(len <= sizeof(s->last));
	memcpy(s->last, buf, len);
	s->last_len = len;
	return 0;
}

static void tx_fill(struct ring_user *u, unsigned int i, unsigned char byte, unsigned int len)
{
	memset((unsigned char *)tx_frame(u, i) + NL_MMAP_HDRLEN, byte, len);
	tx_frame(u, i)->nm_len = len;
	tx_frame(u, i)->nm_status = NL_MMAP_STATUS_VALID;
}

/*
 * TX: sendto(NULL, 0) takes the VALID frames from the head in order; an allocation failure
 * leaves that frame and the rest VALID; an over-long nm_len is EINVAL; plain sends pass by.
 */
static void test_emu_tx_consumes_valid_frames_in_order(void **state)
{
	struct ring_user u;
	struct sent s = { 0 };
	unsigned char plain[40] = { 0 };

	(void)state;
	ring_open(&u, 2);
	nlmmap_emu_set_sink(u.k, sink, &s);
	assert_int_equal(sendto(u.fd, NULL, 0, 0, NULL, 0), 0); /* nothing VALID */
	tx_fill(&u, 0, 0xa1, 100);
	tx_fill(&u, 1, 0xa2, 200);
	tx_fill(&u, 2, 0xa3, 300);
	s.fail_at = 2;
	assert_int_equal(sendto(u.fd, NULL, 0, 0, NULL, 0), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(s.n, 1);
	assert_int_equal(tx_frame(&u, 0)->nm_status, NL_MMAP_STATUS_UNUSED);
	assert_int_equal(tx_frame(&u, 1)->nm_status, NL_MMAP_STATUS_VALID);
	assert_int_equal(tx_frame(&u, 2)->nm_status, NL_MMAP_STATUS_VALID);
	assert_int_equal(sendto(u.fd, NULL, 0, 0, NULL, 0), 500);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.last_len, 300);
	assert_int_equal(s.last[0], 0xa3);
	assert_int_equal(tx_frame(&u, 2)->nm_status, NL_MMAP_STATUS_UNUSED);

	tx_fill(&u, 3, 0xa4, 16);
	tx_frame(&u, 3)->nm_len = FRAME_SIZE; /* more than the frame's room */
	assert_int_equal(sendto(u.fd, NULL, 0, 0, NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	tx_frame(&u, 3)->nm_len = 16;
	assert_int_equal(send(u.fd, NULL, 0, 0), 16);
	assert_int_equal(s.from_ring, 4);
	assert_int_equal(send(u.fd, plain, sizeof(plain), 0), (ssize_t)sizeof(plain));
	assert_int_equal(s.n, 5);
	assert_int_equal(s.from_ring, 4);
	ring_close(&u);
}

/* Sockets without rings are left alone: plain netlink traffic reaches the real kernel. */
static void test_emu_passes_other_sockets_through(void **state)
{
	int fd = nl_socket();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b[64];

	(void)state;
	assert_null(nlmmap_emu_of(fd));
	assert_int_equal(recv(fd, b, sizeof(b), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(close(fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emu_setup_follows_netlink_set_ring),
		cmocka_unit_test(test_emu_setup_busy_while_a_frame_is_in_build),
		cmocka_unit_test(test_emu_rx_frames_and_poll),
		cmocka_unit_test(test_emu_rx_wraps_around),
		cmocka_unit_test(test_emu_tx_consumes_valid_frames_in_order),
		cmocka_unit_test(test_emu_passes_other_sockets_through),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
