/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mmap netlink emulator (tests/support/nlmmap_emu.c, its LD_PRELOAD build linked in here)
 * over a REAL nfqueue socket and the real kernel's queue: this process reads the ring as a
 * process of the 3.10-4.5 era does, and every packet sent must come out of the ring exactly
 * once, be answered through the TX ring, and reach the sink; the kernel's queue ends empty.
 * Then the real nfqd with `transport = mmap` under the emulator (nlmmap_run), with faults
 * injected: exactly once for every packet.
 */
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>

#include "itest.h"

#include <linux/netfilter.h>
#include <linux/netlink.h>
#include "nfqd/packet.h"
#include "nfqd/verdict.h"
#include "nlmmap_emu.h"

#define N	   600
#define FRAME_SIZE 2048u
#define BLOCK_SIZE 4096u
#define BLOCKS	   4u /* 8 frames: the ring fills, and messages wait in the socket */
#define FRAMES	   (BLOCKS * (BLOCK_SIZE / FRAME_SIZE))
#define RING_LEN   (2u * BLOCKS * BLOCK_SIZE)
#define FRAME_ROOM (FRAME_SIZE - NL_MMAP_HDRLEN)

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "mmemu") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp --dport 5000 -j NFQUEUE --queue-num 0");
}

/* What the reader saw. */
struct reader {
	int fd;
	unsigned char *map;
	unsigned int rx_head, tx_head;
	struct nfqd_batcher *b;
	unsigned char seen[N + 1];
	unsigned int ids, copies, empties, stalls, out_of_order;
	uint32_t last_id;
};

static struct nl_mmap_hdr *rx_frame(struct reader *r, unsigned int i)
{
	return (struct nl_mmap_hdr *)(r->map + (size_t)i * FRAME_SIZE);
}

static struct nl_mmap_hdr *tx_frame(struct reader *r, unsigned int i)
{
	return (struct nl_mmap_hdr *)(r->map + (size_t)(BLOCKS * BLOCK_SIZE) +
				      (size_t)i * FRAME_SIZE);
}

/* Send what the batcher built: through a TX frame, or by send() when none is free. */
static void answer(struct reader *r)
{
	const void *buf;
	size_t len;
	struct nfqd_batch_stats st;
	struct nl_mmap_hdr *h = tx_frame(r, r->tx_head);

	if (nfqd_batcher_pending(r->b) == 0)
		return;
	assert_true(nfqd_batcher_build(r->b, &buf, &len, &st) > 0);
	if (len <= FRAME_ROOM && h->nm_status == NL_MMAP_STATUS_UNUSED) {
		memcpy((unsigned char *)h + NL_MMAP_HDRLEN, buf, len);
		h->nm_len = (unsigned int)len;
		__atomic_store_n(&h->nm_status, NL_MMAP_STATUS_VALID, __ATOMIC_RELEASE);
		r->tx_head = (r->tx_head + 1) % FRAMES;
		assert_int_equal(sendto(r->fd, NULL, 0, 0, NULL, 0), (ssize_t)len);
		assert_int_equal(h->nm_status, NL_MMAP_STATUS_UNUSED);
	} else {
		assert_int_equal(send(r->fd, buf, len, 0), (ssize_t)len);
	}
}

/* Read the RX ring from the head until a frame the kernel still owns; returns frames read. */
static unsigned int read_ring(struct reader *r)
{
	unsigned int n = 0;
	static unsigned char copy[65536];

	for (;;) {
		struct nl_mmap_hdr *h = rx_frame(r, r->rx_head);
		unsigned int st = __atomic_load_n(&h->nm_status, __ATOMIC_ACQUIRE);
		struct nfqd_packet pkt;

		if (st == NL_MMAP_STATUS_RESERVED) {
			r->stalls++;
			break;
		}
		if (st != NL_MMAP_STATUS_VALID && st != NL_MMAP_STATUS_COPY)
			break;
		if (st == NL_MMAP_STATUS_COPY) {
			/* acks of the set-up and verdicts: nothing to answer */
			assert_true(recv(r->fd, copy, sizeof(copy), MSG_DONTWAIT) > 0);
			r->copies++;
		} else if (h->nm_len == 0) {
			r->empties++;
		} else {
			const struct nlmsghdr *nlh =
				(const struct nlmsghdr *)((unsigned char *)h + NL_MMAP_HDRLEN);
			struct nfqd_verdict v = { .verdict = NF_ACCEPT };

			assert_int_equal(nfqd_packet_parse(&pkt, nlh, h->nm_len), 0);
			assert_true(pkt.id >= 1 && pkt.id <= N);
			if (r->seen[pkt.id])
				fail_msg("id %u came out of the ring twice", pkt.id);
			r->seen[pkt.id] = 1;
			r->ids++;
			r->out_of_order += pkt.id < r->last_id;
			if (pkt.id > r->last_id)
				r->last_id = pkt.id;
			v.id = pkt.id;
			assert_int_equal(nfqd_batcher_add(r->b, &v), 0);
		}
		/* the verdicts of this frame's packet are built below, before the frame goes back:
		 * the message lies in the frame until then */
		answer(r);
		__atomic_store_n(&h->nm_status, NL_MMAP_STATUS_UNUSED, __ATOMIC_RELEASE);
		r->rx_head = (r->rx_head + 1) % FRAMES;
		n++;
	}
	return n;
}

/*
 * 600 datagrams queued through an 8-frame ring with frames held in build and ids given out of
 * frame order: each id read once, answered through the TX ring, delivered; nothing lost.
 */
static void test_emulated_ring_over_a_real_queue_loses_nothing(void **state)
{
	struct itest *it = *state;
	struct nfqd_queue_config cfg = { .num = 0, .copy_range = 128, .max_len = 4096 };
	struct nl_mmap_req req = { .nm_block_size = BLOCK_SIZE,
				   .nm_block_nr = BLOCKS,
				   .nm_frame_size = FRAME_SIZE,
				   .nm_frame_nr = FRAMES };
	struct reader r = { 0 };
	struct nlmmap_emu_counts c;
	struct nfqd_queue *q;
	unsigned int queued, last_id;
	int h, sink;

	setenv("NLMMAP_EMU_SEED", "7", 1);
	setenv("NLMMAP_EMU_RESERVE_PERMILLE", "400", 1);
	h = ns_enter(it->t.fw);
	assert_true(h >= 0);
	assert_int_equal(nfqd_queue_open(&q, &cfg), 0);
	ns_leave(h);
	r.fd = nfqd_queue_fd(q);
	assert_int_equal(setsockopt(r.fd, SOL_NETLINK, NETLINK_RX_RING, &req, sizeof(req)), 0);
	assert_int_equal(setsockopt(r.fd, SOL_NETLINK, NETLINK_TX_RING, &req, sizeof(req)), 0);
	r.map = mmap(NULL, RING_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	assert_true(r.map != MAP_FAILED);
	assert_int_equal(nfqd_batcher_new(&r.b, 0, 64, 0), 0);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);

	/* all of it queued first: more messages than frames wait in the real socket */
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, N, 64, 4, 32, 200), N);
	for (int waited = 0; r.ids < N; waited += 10) {
		struct pollfd p = { .fd = r.fd, .events = POLLIN };

		if (waited > ITEST_DEADLINE_MS)
			fail_msg("after %d ms %u of %d ids read (%u COPY, %u empty)", waited, r.ids,
				 N, r.copies, r.empties);
		if (poll(&p, 1, 10) > 0)
			read_ring(&r);
	}
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
	assert_int_equal(last_id, N);
	assert_int_equal(queued, 0);

	nlmmap_emu_counts(nlmmap_emu_of(r.fd), &c);
	fprintf(stderr,
		"ids %u, out of order %u, stalls at a RESERVED frame %u, COPY %u, empty %u; "
		"emulator: delivered %llu overruns %llu held %llu tx_frames %llu\n",
		r.ids, r.out_of_order, r.stalls, r.copies, r.empties,
		(unsigned long long)c.delivered, (unsigned long long)c.overruns,
		(unsigned long long)c.held, (unsigned long long)c.tx_frames);
	/* the emulator did what it is for: ids out of order, builds held, a full ring */
	assert_int_equal(c.delivered, N);
	assert_true(r.out_of_order > 0);
	assert_true(c.held > 0);
	assert_true(c.overruns > 0);
	assert_true(c.tx_frames > 0);
	assert_int_equal(c.failed, r.empties);

	assert_int_equal(munmap(r.map, RING_LEN), 0);
	nfqd_batcher_free(r.b);
	nfqd_queue_free(q);
	close(sink);
}

/*
 * nfqd on the emulated ring over the real queue, with ids out of frame order, builds held across
 * receives, every 7th message unreadable (its NFQA_PACKET_HDR stripped: no id) and every 5th TX
 * send refused with ENOBUFS before the kernel took anything: every message read once (nfqd's
 * received = the kernel's last id), every readable one accepted and delivered once, every
 * unreadable one given the fail-side verdict (drop, fail-open no) by a sweep or re-queued
 * (NF_REPEAT, a new id: the packets below the kernel's last id at the ring's set-up without a
 * message), and the kernel's queue empty at the end.
 */
static void test_nfqd_on_the_emulated_ring_answers_every_packet_once(void **state)
{
	enum {
		PKTS = 1401
	};
	struct itest *it = *state;
	unsigned int queued = 0, last_id = 0;
	uint64_t got, received, accepted, dropped, errors;
	unsigned long long stripped = 0;
	char *log, *emu;
	int sink;

	setenv("NFQD_TEST_BIN", NLMMAP_RUN_BIN, 1);
	setenv("NLMMAP_EMU_SEED", "11", 1);
	setenv("NLMMAP_EMU_RESERVE_PERMILLE", "300", 1);
	setenv("NLMMAP_EMU_UNREADABLE_EVERY", "7", 1);
	setenv("NLMMAP_EMU_SENDFAIL_EVERY", "5", 1);
	itest_nfqd(it, "[queue]\nqueues = 0\ntransport = mmap\nfail-open = no\n"
		       "[policy]\ndefault = accept\n");
	unsetenv("NFQD_TEST_BIN");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, PKTS, 64, 4, 32, 200), PKTS);

	/* every packet read and answered: the kernel holds none, nfqd read as many as it gave */
	for (int waited = 0;; waited += 10) {
		assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
		if ((last_id >= PKTS && queued == 0 && itest_stat(it, 0, "received") == last_id) ||
		    waited >= ITEST_DEADLINE_MS)
			break;
		usleep(10 * 1000);
	}
	log = itest_stop(it, 5000, NULL);
	received = final_get(log, 0, "received");
	accepted = final_get(log, 0, "accepted");
	dropped = final_get(log, 0, "dropped");
	errors = final_get(log, 0, "errors");
	last_id = (unsigned int)final_get(log, 0, "kernel_last_id");
	emu = strstr(log, "nlmmap_emu: fd");
	if (!emu || !strstr(emu, " unreadable ") ||
	    sscanf(strstr(emu, " unreadable "), " unreadable %llu", &stripped) != 1)
		fail_msg("no counters of the emulator in the log:\n%s", log);
	got = udp_sink_wait(sink, accepted, ITEST_DEADLINE_MS);
	fprintf(stderr,
		"sent %d: nfqd received %llu, accepted %llu, dropped %llu, unreadable %llu "
		"(emulator: %llu stripped); sink %llu; kernel last id %u\n",
		PKTS, (unsigned long long)received, (unsigned long long)accepted,
		(unsigned long long)dropped, (unsigned long long)errors, stripped,
		(unsigned long long)got, last_id);
	if (got != accepted || received != last_id || errors != stripped)
		fprintf(stderr, "%s", log);
	/* the faults were there */
	assert_true(stripped >= PKTS / 7);
	assert_null(strstr(log, "tx_failed 0 "));
	/* nothing lost: every id's message read once, nothing left queued */
	assert_int_equal(final_get(log, 0, "kernel_queued"), 0);
	assert_int_equal(received, last_id);
	/* each message read: accepted (and delivered once), or unreadable */
	assert_int_equal(got, accepted);
	assert_int_equal(dropped, 0);
	assert_int_equal(errors, stripped);
	assert_int_equal(accepted + errors, received);
	/* a packet sent and not delivered is an unreadable one dropped; the ids beyond PKTS are
	 * unreadable ones re-queued, read again */
	assert_int_equal(PKTS - got, errors - (last_id - PKTS));
	free(log);
	close(sink);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_emulated_ring_over_a_real_queue_loses_nothing,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_nfqd_on_the_emulated_ring_answers_every_packet_once, setup,
			itest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
