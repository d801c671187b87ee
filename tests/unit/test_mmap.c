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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include "nfqd/packet.h"
#include "nfqd/transport.h"
#include "nfqd/verdict.h"
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

/* A real nfqueue packet message of a UDP packet with this id, payload size and PB_NFQ_* attrs. */
static int packet_msg(void *buf, size_t cap, uint32_t id, size_t payload, uint32_t attrs)
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
	m.attrs = attrs;
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
	/* messages are 4-byte aligned, as the kernel's are */
	static unsigned char msg[3][(PB_MSG_MAX + 3) & ~3], got[PB_MSG_MAX];
	struct nlmmap_emu_counts c;
	struct ring_user u;
	struct pollfd p;
	int len[3];

	(void)state;
	ring_open(&u, 2); /* 4 RX frames */
	p = (struct pollfd){ .fd = u.fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 1000), 0); /* an empty ring: in-process, at once */

	len[0] = packet_msg(msg[0], sizeof(msg[0]), 7, 100, 0);
	len[1] = packet_msg(msg[1], sizeof(msg[1]), 8, 3000, 0); /* longer than a frame */
	len[2] = packet_msg(msg[2], sizeof(msg[2]), 9, 100, 0);
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
	static unsigned char msg[PB_MSG_MAX] __attribute__((aligned(4)));
	struct ring_user u;

	(void)state;
	ring_open(&u, 1); /* 2 frames */
	for (uint32_t id = 1; id <= 101; id++) {
		int len = packet_msg(msg, sizeof(msg), id, 10, 0);
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

/*
 * The transport (lib/transport/mmap.c) against the emulated kernel. A model of nfnetlink_queue
 * applies the verdicts that leave the socket: VERDICT answers one queued id, VERDICT_BATCH every
 * queued id up to its id; a verdict that finds nothing is the kernel's ENOENT (harmless: counted
 * apart). Every id must get exactly one verdict that takes effect, the intended one.
 */
#define MODEL_IDS 65536

struct model {
	uint8_t queued[MODEL_IDS];
	uint8_t times[MODEL_IDS];
	uint32_t verdict[MODEL_IDS];
	uint32_t last_id; /* ids given: 1..last_id */
	unsigned int enoent, ring_datagrams, plain_datagrams;
	unsigned int fail_every, datagrams; /* every fail_every-th datagram refused (ENOBUFS) */
	unsigned int fail_next;		    /* the next fail_next datagrams refused */
};

static void model_apply(struct model *m, uint32_t id, uint32_t verdict)
{
	m->queued[id] = 0;
	m->times[id]++;
	m->verdict[id] = verdict;
}

static int model_sink(void *arg, const void *buf, size_t len, int from_ring)
{
	struct model *m = arg;
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;

	m->datagrams++;
	if (m->fail_next) {
		m->fail_next--;
		return -ENOBUFS;
	}
	if (m->fail_every && m->datagrams % m->fail_every == 0)
		return -ENOBUFS;
	if (from_ring)
		m->ring_datagrams++;
	else
		m->plain_datagrams++;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct nlattr *a;
		const struct nfqnl_msg_verdict_hdr *vh = NULL;
		uint16_t type = nlh->nlmsg_type & 0xff;
		uint32_t id, v, hit = 0;

		assert_int_equal(nlh->nlmsg_type >> 8, NFNL_SUBSYS_QUEUE);
		mnl_attr_for_each (a, nlh, sizeof(struct nfgenmsg)) {
			if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR)
				vh = mnl_attr_get_payload(a);
		}
		assert_non_null(vh);
		id = ntohl(vh->id);
		v = ntohl(vh->verdict);
		if (type == NFQNL_MSG_VERDICT) {
			assert_true(id < MODEL_IDS);
			if (m->queued[id]) {
				model_apply(m, id, v);
				hit = 1;
			}
		} else {
			assert_int_equal(type, NFQNL_MSG_VERDICT_BATCH);
			/* nfqnl_recv_verdict_batch(): the queue's list in id order, up to the
			 * first entry after id (nfq_id_after(), modulo 2^32) */
			for (uint32_t i = 1; i <= m->last_id; i++) {
				if (!m->queued[i])
					continue;
				if ((int32_t)(i - id) > 0)
					break;
				model_apply(m, i, v);
				hit++;
			}
		}
		m->enoent += hit == 0;
	}
	return 0;
}

struct fx {
	int fd;
	struct nfqd_transport *t;
	struct nlmmap_emu *k;
	struct nfqd_batcher *b;
	struct model m;
	unsigned char msg[PB_MSG_MAX] __attribute__((aligned(4)));
};

/* An mmap transport on a fresh netlink socket, e.g. batch 4 and a queue of 12: 16 RX frames. */
static struct fx *fx_open(unsigned int batch, unsigned int depth)
{
	static struct fx fx;
	struct nfqd_transport_params p = {
		.batch = batch, .msg_size = 512, .timeout_ms = 1, .depth = depth
	};
	const char *why = NULL;

	memset(&fx, 0, sizeof(fx));
	fx.fd = nl_socket();
	assert_int_equal(nfqd_transport_open(&fx.t, "mmap", fx.fd, &p, &why), 0);
	assert_string_equal(nfqd_transport_name(fx.t), "mmap");
	fx.k = nlmmap_emu_of(fx.fd);
	assert_non_null(fx.k);
	nlmmap_emu_set_sink(fx.k, model_sink, &fx.m);
	assert_int_equal(nfqd_batcher_new(&fx.b, 0, 1024, 0), 0);
	return &fx;
}

static void fx_close(struct fx *fx)
{
	nfqd_batcher_free(fx->b);
	nfqd_transport_close(fx->t);
	/* the transport took its rings away: a successor finds a plain socket */
	assert_int_equal(nlmmap_emu_rx_frames(fx->k), 0);
	close(fx->fd);
}

/* The kernel gives the next id to a packet and builds its message in fx->msg; its length. */
static int give(struct fx *fx, size_t payload, uint32_t attrs, uint32_t *id)
{
	*id = ++fx->m.last_id;
	fx->m.queued[*id] = 1;
	return packet_msg(fx->msg, sizeof(fx->msg), *id, payload, attrs);
}

/* Deliver a new packet's message as how says; returns its id. */
static uint32_t put(struct fx *fx, enum nlmmap_emu_how how, size_t payload)
{
	uint32_t id;
	int len = give(fx, payload, 0, &id);

	assert_true(nlmmap_emu_deliver(fx->k, fx->msg, (size_t)len, how) >= 0);
	return id;
}

static uint32_t intended(uint32_t id)
{
	return id % 3 == 0 ? NF_DROP : NF_ACCEPT;
}

/* Receive once; add each packet's intended verdict; returns the ids read (in ring order). */
static int take(struct fx *fx, uint32_t *ids, unsigned int *unreadable)
{
	const struct nfqd_rx_msg *msgs;
	int n = nfqd_transport_recv(fx->t, &msgs, NFQD_RECV_NOWAIT), got = 0;

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		struct nfqd_packet pkt;
		struct nfqd_verdict v = { 0 };

		if (nfqd_packet_parse(&pkt, msgs[i].data, msgs[i].len) < 0) {
			assert_non_null(unreadable);
			(*unreadable)++;
			continue;
		}
		v.id = pkt.id;
		v.verdict = intended(pkt.id);
		assert_int_equal(nfqd_batcher_add(fx->b, &v), 0);
		if (ids)
			ids[got] = pkt.id;
		got++;
	}
	return got;
}

/* Build and send what was added; 0 or the transport's -errno. */
static int answer_all(struct fx *fx)
{
	const void *buf;
	size_t len;

	nfqd_batcher_build(fx->b, &buf, &len, NULL);
	return len ? nfqd_transport_send(fx->t, buf, len) : 0;
}

/* Send the verdicts added, then hand the frames back: the worker's order. */
static void answer_release(struct fx *fx)
{
	assert_int_equal(answer_all(fx), 0);
	nfqd_transport_release(fx->t);
}

/* Every TX frame is the process's (UNUSED). */
static void assert_tx_unused(struct fx *fx)
{
	for (unsigned int i = 0; nlmmap_emu_tx_frame(fx->k, i); i++) {
		struct nl_mmap_hdr *h = nlmmap_emu_tx_frame(fx->k, i);

		assert_int_equal(h->nm_status, NL_MMAP_STATUS_UNUSED);
	}
}

static void assert_all_answered(struct fx *fx)
{
	for (uint32_t id = 1; id <= fx->m.last_id; id++) {
		if (fx->m.times[id] != 1 || fx->m.queued[id])
			fail_msg("id %u: %u verdicts, still queued %u", id, fx->m.times[id],
				 fx->m.queued[id]);
	}
}

/* VALID frames are read in place, in ring order (not id order); frames go back only at release. */
static void test_mmap_valid_frames_read_in_place_out_of_id_order(void **state)
{
	struct fx *fx = fx_open(4, 12);
	uint32_t ids[4], a, b, c;
	int i0, i1, i2;

	(void)state;
	/* three builds at once: frames 0, 1, 2 taken in that order, ids given 2, 3, 1 */
	i0 = nlmmap_emu_deliver(fx->k, NULL, 0, NLMMAP_EMU_RESERVE);
	i1 = nlmmap_emu_deliver(fx->k, NULL, 0, NLMMAP_EMU_RESERVE);
	i2 = nlmmap_emu_deliver(fx->k, NULL, 0, NLMMAP_EMU_RESERVE);
	int len = give(fx, 30, 0, &a);
	assert_int_equal(nlmmap_emu_complete(fx->k, (unsigned int)i2, fx->msg, (size_t)len), 0);
	len = give(fx, 30, 0, &b);
	assert_int_equal(nlmmap_emu_complete(fx->k, (unsigned int)i0, fx->msg, (size_t)len), 0);
	len = give(fx, 30, 0, &c);
	assert_int_equal(nlmmap_emu_complete(fx->k, (unsigned int)i1, fx->msg, (size_t)len), 0);

	assert_int_equal(take(fx, ids, NULL), 3);
	assert_int_equal(ids[0], b);
	assert_int_equal(ids[1], c);
	assert_int_equal(ids[2], a);
	assert_int_equal(nfqd_transport_caught_up(fx->t), 1);
	/* not one frame back to the kernel before the verdicts are sent */
	assert_int_equal(nlmmap_emu_frames_owned_by_user(fx->k), 3);
	assert_int_equal(answer_all(fx), 0);
	assert_int_equal(nlmmap_emu_frames_owned_by_user(fx->k), 3);
	nfqd_transport_release(fx->t);
	assert_int_equal(nlmmap_emu_frames_owned_by_user(fx->k), 0);
	assert_int_equal(nlmmap_emu_rx_count(fx->k, NL_MMAP_STATUS_UNUSED),
			 nlmmap_emu_rx_frames(fx->k));
	assert_all_answered(fx);
	assert_int_equal(fx->m.verdict[c], intended(c));
	assert_true(fx->m.ring_datagrams >= 1);
	fx_close(fx);
}

/* COPY: the message read with recv(), the frame handed back at once; a failed build likewise. */
static void test_mmap_copy_and_empty_frames_released_at_once(void **state)
{
	struct fx *fx = fx_open(4, 12);
	struct nfqd_transport_stats st;
	uint32_t ids[4], big, small;

	(void)state;
	assert_true(nlmmap_emu_deliver(fx->k, NULL, 0, NLMMAP_EMU_FAILED) >= 0);
	big = put(fx, NLMMAP_EMU_VALID, 6000); /* longer than a 4096-byte frame: COPY */
	small = put(fx, NLMMAP_EMU_VALID, 30);
	assert_int_equal(nlmmap_emu_rx_status(fx->k, 1), NL_MMAP_STATUS_COPY);
	assert_int_equal(take(fx, ids, NULL), 2);
	assert_int_equal(ids[0], big);
	assert_int_equal(ids[1], small);
	/* the empty and the COPY frame are back already; the VALID one waits for its verdict */
	assert_int_equal(nlmmap_emu_rx_status(fx->k, 0), NL_MMAP_STATUS_UNUSED);
	assert_int_equal(nlmmap_emu_rx_status(fx->k, 1), NL_MMAP_STATUS_UNUSED);
	assert_int_equal(nlmmap_emu_rx_status(fx->k, 2), NL_MMAP_STATUS_VALID);
	assert_int_equal(nlmmap_emu_queued(fx->k), 0);
	answer_release(fx);
	nfqd_transport_stats(fx->t, &st);
	assert_int_equal(st.ring_copies, 1);
	assert_int_equal(st.ring_empty, 1);
	assert_all_answered(fx);
	fx_close(fx);
}

/* A full ring: counted, the kernel loses what has no frame, and no frame held is lost. */
static void test_mmap_full_ring_counted_no_frame_lost(void **state)
{
	struct fx *fx = fx_open(4, 12);
	struct nfqd_transport_stats st;
	unsigned int frames = nlmmap_emu_rx_frames(fx->k), read = 0;
	struct nlmmap_emu_counts c;
	uint32_t id;

	(void)state;
	assert_int_equal(frames, 16);
	for (unsigned int i = 0; i < frames; i++)
		put(fx, NLMMAP_EMU_VALID, 30);
	int len = give(fx, 30, 0, &id);
	assert_int_equal(nlmmap_emu_deliver(fx->k, fx->msg, (size_t)len, NLMMAP_EMU_VALID),
			 -ENOBUFS);
	fx->m.queued[id] = 0; /* the kernel dropped it: never queued */
	fx->m.times[id] = 1;
	while (read < frames) {
		int n = take(fx, NULL, NULL);

		assert_true(n > 0 && n <= 4);
		read += (unsigned int)n;
		answer_release(fx);
	}
	nfqd_transport_stats(fx->t, &st);
	assert_int_equal(st.ring_full, 1);
	nlmmap_emu_counts(fx->k, &c);
	assert_int_equal(c.overruns, 1);
	assert_all_answered(fx);
	assert_int_equal(nlmmap_emu_rx_count(fx->k, NL_MMAP_STATUS_UNUSED), frames);
	fx_close(fx);
}

/* Many times round a small ring: 1,000 packets through 16 frames, each read once in order. */
static void test_mmap_wraps_around_many_times(void **state)
{
	struct fx *fx = fx_open(4, 12);
	uint32_t ids[4], want = 1;

	(void)state;
	while (want <= 1000) {
		unsigned int burst = 1 + fx->m.last_id % 7;

		for (unsigned int i = 0; i < burst && fx->m.last_id < 1000; i++)
			put(fx, NLMMAP_EMU_VALID, 30);
		for (int n; (n = take(fx, ids, NULL)) > 0;) {
			for (int i = 0; i < n; i++)
				assert_int_equal(ids[i], want++);
			answer_release(fx);
		}
	}
	assert_int_equal(nlmmap_emu_rx_head(fx->k), 1000 % 16);
	assert_all_answered(fx);
	fx_close(fx);
}

/*
 * TX: verdicts go through TX frames; a send longer than the TX ring sends its tail by send()
 * (counted); a sendto that consumes some frames and then fails is retried for the rest.
 */
static void test_mmap_tx_frames_tail_by_send_and_partial_failure(void **state)
{
	struct fx *fx = fx_open(4, 12);
	struct nfqd_transport_stats st;
	struct nfqd_verdict v = { .verdict = NF_ACCEPT };

	(void)state;
	/* 1,000 single verdicts, about 32 KB: more than the 4 TX frames hold */
	for (uint32_t i = 1; i <= 1000; i++) {
		fx->m.queued[i] = 1;
		v.id = i;
		assert_int_equal(nfqd_batcher_add(fx->b, &v), 0);
	}
	fx->m.last_id = 1000;
	assert_int_equal(answer_all(fx), 0);
	nfqd_transport_stats(fx->t, &st);
	assert_int_equal(st.tx_ring_full, 1);
	assert_true(fx->m.ring_datagrams >= 4);
	assert_int_equal(fx->m.plain_datagrams, 1);
	assert_all_answered(fx);

	/* the second frame refused once: the first stays sent, the rest goes on a retry */
	for (uint32_t i = 1001; i <= 1200; i++) {
		fx->m.queued[i] = 1;
		v.id = i;
		assert_int_equal(nfqd_batcher_add(fx->b, &v), 0);
	}
	fx->m.last_id = 1200;
	fx->m.datagrams = 0;
	fx->m.fail_every = 2;
	assert_int_equal(answer_all(fx), 0);
	fx->m.fail_every = 0;
	assert_all_answered(fx);
	assert_int_equal(fx->m.enoent, 0);
	/* every TX frame is the process's again */
	assert_tx_unused(fx);
	fx_close(fx);
}

/* A send the kernel keeps refusing fails, and its TX frames come back to the process. */
static void test_mmap_tx_failure_returns_frames(void **state)
{
	struct fx *fx = fx_open(4, 12);
	uint32_t id = put(fx, NLMMAP_EMU_VALID, 30);

	(void)state;
	assert_int_equal(take(fx, NULL, NULL), 1);
	fx->m.fail_next = 1000;
	assert_int_equal(answer_all(fx), -ENOBUFS);
	fx->m.fail_next = 0;
	assert_int_equal(fx->m.queued[id], 1);
	assert_tx_unused(fx);
	/* the worker's way: the failed build again */
	assert_int_equal(nfqd_batcher_unsent(fx->b), 0);
	answer_release(fx);
	assert_all_answered(fx);
	fx_close(fx);
}

/* caught_up() is 1 exactly when the frame at the head is UNUSED after a receive. */
static void test_mmap_caught_up_exactly_when_head_unused(void **state)
{
	struct fx *fx = fx_open(4, 12);
	uint32_t ids[4], id;
	int r;

	(void)state;
	assert_int_equal(take(fx, ids, NULL), 0);
	assert_int_equal(nfqd_transport_caught_up(fx->t), 1);
	put(fx, NLMMAP_EMU_VALID, 30);
	r = nlmmap_emu_deliver(fx->k, NULL, 0, NLMMAP_EMU_RESERVE); /* a build under way */
	put(fx, NLMMAP_EMU_VALID, 30);
	assert_int_equal(take(fx, ids, NULL), 1); /* stops at the RESERVED frame */
	assert_int_equal(nfqd_transport_caught_up(fx->t), 0);
	answer_release(fx);
	int len = give(fx, 30, 0, &id);
	assert_int_equal(nlmmap_emu_complete(fx->k, (unsigned int)r, fx->msg, (size_t)len), 0);
	assert_int_equal(take(fx, ids, NULL), 2);
	assert_int_equal(ids[0], id); /* the highest id, in the lower frame */
	assert_int_equal(nfqd_transport_caught_up(fx->t), 1);
	answer_release(fx);
	/* a full batch that leaves frames behind is not caught up */
	for (int i = 0; i < 6; i++)
		put(fx, NLMMAP_EMU_VALID, 30);
	assert_int_equal(take(fx, ids, NULL), 4);
	assert_int_equal(nfqd_transport_caught_up(fx->t), 0);
	answer_release(fx);
	assert_int_equal(take(fx, ids, NULL), 2);
	assert_int_equal(nfqd_transport_caught_up(fx->t), 1);
	answer_release(fx);
	assert_all_answered(fx);
	fx_close(fx);
}

/* Set-up refused: ENOPROTOOPT and EINVAL say why; EBUSY (a predecessor's ring) is cleared. */
static void test_mmap_setup_refusals(void **state)
{
	struct nfqd_transport_params p = {
		.batch = 4, .msg_size = 512, .timeout_ms = 1, .depth = 12
	};
	struct nl_mmap_req old = req_of(2);
	struct nfqd_transport *t = NULL;
	const char *why = NULL;
	int fd = nl_socket();

	(void)state;
	nlmmap_emu_refuse(ENOPROTOOPT, 1);
	assert_int_equal(nfqd_transport_open(&t, "mmap", fd, &p, &why), -ENOPROTOOPT);
	assert_non_null(why);
	assert_non_null(strstr(why, "no mmap netlink"));
	why = NULL;
	nlmmap_emu_refuse(EINVAL, 1);
	assert_int_equal(nfqd_transport_open(&t, "mmap", fd, &p, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "EINVAL"));
	/* auto falls back to the next backend and says why once */
	why = NULL;
	nlmmap_emu_refuse(ENOPROTOOPT, 1);
	assert_int_equal(nfqd_transport_open(&t, "auto", fd, &p, &why), 0);
	assert_string_not_equal(nfqd_transport_name(t), "mmap");
	assert_non_null(why);
	assert_non_null(strstr(why, "mmap"));
	nfqd_transport_close(t);

	/* a ring left by a predecessor: EBUSY, taken away, set again */
	assert_int_equal(set_rx(fd, &old), 0);
	assert_int_equal(nfqd_transport_open(&t, "mmap", fd, &p, &why), 0);
	assert_int_equal(nlmmap_emu_rx_frames(nlmmap_emu_of(fd)), 16);
	nfqd_transport_close(t);
	close(fd);
}

/* ---- random interleavings ---- */

static uint64_t rng_state;

static unsigned int rnd(unsigned int n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned int)(rng_state % n);
}

struct run {
	struct fx *fx;
	int in_build[8]; /* RX frames the kernel is building messages in */
	unsigned int n_build;
	uint8_t unreadable[MODEL_IDS];
	unsigned int unread_seen;
	bool unsent;
};

/* The kernel finishes one build: a packet's message (readable, unreadable, or too long for a
 * frame), or a failed build (no id given). */
static void kernel_complete(struct run *r, unsigned int j, bool all_readable)
{
	struct fx *fx = r->fx;
	unsigned int frame = (unsigned int)r->in_build[j], kind = all_readable ? 99 : rnd(100);
	uint32_t id;
	int len;

	r->in_build[j] = r->in_build[--r->n_build];
	if (kind < 4) {
		assert_int_equal(nlmmap_emu_complete(fx->k, frame, NULL, 0), 0);
		return;
	}
	len = give(fx, kind < 12 ? 5000 : 30, kind >= 4 && kind < 8 ? PB_NFQ_NO_PACKET_HDR : 0,
		   &id);
	r->unreadable[id] = kind >= 4 && kind < 8;
	assert_int_equal(nlmmap_emu_complete(fx->k, frame, fx->msg, (size_t)len), 0);
}

/* The kernel's side of one step: frames taken for new packets, some builds finished in any
 * order (ids in the order of finishing). A packet with no frame is dropped by the kernel. */
static void kernel_step(struct run *r)
{
	for (unsigned int n = rnd(4); n > 0 && r->n_build < 8; n--) {
		int i = nlmmap_emu_deliver(r->fx->k, NULL, 0, NLMMAP_EMU_RESERVE);

		if (i < 0)
			break; /* overrun: the packet never got an id */
		r->in_build[r->n_build++] = i;
	}
	for (unsigned int n = rnd(r->n_build + 1); n > 0; n--)
		kernel_complete(r, rnd(r->n_build), false);
}

/* The worker's side: receive, verdicts, the sweep of unreadable packets once caught up, one send
 * (which may fail: then the failed build again), the frames back. Returns the messages read. */
static int worker_step(struct run *r, bool faults)
{
	struct fx *fx = r->fx;
	unsigned int unread = 0;
	int n = take(fx, NULL, &unread), err;

	r->unread_seen += unread;
	if (r->unread_seen && nfqd_transport_caught_up(fx->t))
		assert_int_equal(nfqd_batcher_sweep_read(fx->b, NF_DROP), 0);
	fx->m.fail_next = !faults ? 0 : rnd(8) == 0 ? 1000 : rnd(4) == 0 ? 1 + rnd(3) : 0;
	err = answer_all(fx);
	fx->m.fail_next = 0;
	if (err < 0)
		assert_int_equal(nfqd_batcher_unsent(fx->b), 0);
	r->unsent = err < 0;
	nfqd_transport_release(fx->t);
	return n + (int)unread;
}

static void interleaving(uint64_t seed)
{
	struct run *r = calloc(1, sizeof(*r));
	struct fx *fx = fx_open(8, 32);
	unsigned int frames = nlmmap_emu_rx_frames(fx->k);

	assert_non_null(r);
	rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
	r->fx = fx;
	for (unsigned int step = 0; step < 60; step++) {
		kernel_step(r);
		if (rnd(3))
			worker_step(r, true);
	}
	/* the end: every build finishes, the worker reads everything, then the drain's sweep */
	while (r->n_build)
		kernel_complete(r, 0, true);
	while (worker_step(r, false) > 0 || r->unsent || !nfqd_transport_caught_up(fx->t))
		;
	assert_int_equal(nfqd_batcher_sweep(fx->b, NF_DROP, 1), 0);
	assert_int_equal(answer_all(fx), 0);
	nfqd_transport_release(fx->t);

	for (uint32_t id = 1; id <= fx->m.last_id; id++) {
		uint32_t want = r->unreadable[id] ? NF_DROP : intended(id);

		if (fx->m.times[id] != 1 || fx->m.queued[id] || fx->m.verdict[id] != want)
			fail_msg("seed %llu: id %u: %u verdicts (%u, intended %u), still queued %u",
				 (unsigned long long)seed, id, fx->m.times[id], fx->m.verdict[id],
				 want, fx->m.queued[id]);
	}
	if (nlmmap_emu_rx_count(fx->k, NL_MMAP_STATUS_UNUSED) != frames)
		fail_msg("seed %llu: %u of %u frames back to the kernel", (unsigned long long)seed,
			 nlmmap_emu_rx_count(fx->k, NL_MMAP_STATUS_UNUSED), frames);
	assert_int_equal(nlmmap_emu_queued(fx->k), 0);
	fx_close(fx);
	free(r);
}

/*
 * Thousands of random interleavings of a model nfqueue (frames taken in order, ids given in the
 * order builds finish, some builds left RESERVED across receives, unreadable messages, COPY
 * messages, failed builds, a full ring) with the worker's use of the transport and the batcher
 * without id order (sweep of what was read once caught up, the failed build again, the drain's
 * sweep of everything): every id gets exactly one verdict, the intended one, and every frame is
 * the kernel's again at the end. NFQD_TEST_SEED=N runs that seed alone.
 */
static void test_mmap_random_interleavings_answer_every_id_once(void **state)
{
	const char *one = getenv("NFQD_TEST_SEED");

	(void)state;
	if (one) {
		interleaving(strtoull(one, NULL, 10));
		return;
	}
	for (uint64_t seed = 1; seed <= 3000; seed++)
		interleaving(seed);
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
		cmocka_unit_test(test_mmap_valid_frames_read_in_place_out_of_id_order),
		cmocka_unit_test(test_mmap_copy_and_empty_frames_released_at_once),
		cmocka_unit_test(test_mmap_full_ring_counted_no_frame_lost),
		cmocka_unit_test(test_mmap_wraps_around_many_times),
		cmocka_unit_test(test_mmap_tx_frames_tail_by_send_and_partial_failure),
		cmocka_unit_test(test_mmap_tx_failure_returns_frames),
		cmocka_unit_test(test_mmap_caught_up_exactly_when_head_unused),
		cmocka_unit_test(test_mmap_setup_refusals),
		cmocka_unit_test(test_mmap_random_interleavings_answer_every_id_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
