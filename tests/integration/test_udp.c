/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPv4 UDP through a real NFQUEUE rule and nfqd: what a sink receives is counted against what
 * was sent, nfqd's counters and the kernel's.
 */
#include <signal.h>

#include "itest.h"

#define N 3000

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "udp") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
}

/* Send n datagrams to port, paced so that no kernel backlog overflows on the way. */
static long long send_to(struct itest *it, uint16_t port, unsigned long n, size_t payload)
{
	return udp_send(it->t.cli, NULL, it->t.fw4, port, n, payload, 4, 32, 200);
}

/* Send n datagrams to port and return how many reached sink, once nfqd has given every one
 * its verdict (accept or drop). */
static uint64_t pass(struct itest *it, int sink, uint16_t port, unsigned long n, size_t payload)
{
	struct itest_count before = itest_count(it);

	assert_int_equal(send_to(it, port, n, payload), n);
	return itest_delivered(it, &before, n, sink);
}

static void test_accept_policy_delivers_every_packet(void **state)
{
	struct itest *it = *state;
	int sink;
	char *log;
	unsigned int queued, last_id;
	uint64_t received, kernel_queued;

	itest_nfqd(it, "[queue]\nqueues = 0\n[policy]\ndefault = accept\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);

	assert_int_equal(pass(it, sink, 5000, N, 64), N);

	assert_int_equal(itest_wait_stat(it, 0, "received", N), N);
	assert_int_equal(itest_wait_stat(it, 0, "accepted", N), N);
	assert_int_equal(itest_stat(it, 0, "dropped"), 0);
	assert_int_equal(itest_wait_stat(it, -1, "received", N), N);
	assert_int_equal(itest_stat(it, 0, "errors"), 0);
	/* verdicts went out batched: fewer messages than packets */
	assert_true(itest_stat(it, 0, "verdict_msgs") < N);
	/* the kernel saw exactly these packets, and holds none */
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
	assert_int_equal(last_id, N);
	assert_int_equal(queued, 0);

	log = itest_stop(it, 2000, NULL);
	received = final_get(log, 0, "received");
	kernel_queued = final_get(log, 0, "kernel_queued");
	free(log);
	assert_int_equal(received, N);
	assert_int_equal(kernel_queued, 0);
	close(sink);
}

static void test_drop_policy_delivers_nothing(void **state)
{
	struct itest *it = *state;
	int sink;

	itest_nfqd(it, "[policy]\ndefault = drop\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);

	assert_int_equal(pass(it, sink, 5000, N, 64), 0);

	assert_int_equal(itest_wait_stat(it, 0, "received", N), N);
	assert_int_equal(itest_wait_stat(it, 0, "dropped", N), N);
	assert_int_equal(itest_stat(it, 0, "accepted"), 0);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_port_rule_drops_its_port_and_passes_the_other(void **state)
{
	struct itest *it = *state;
	int s5000, s5001;

	itest_nfqd(it, "[policy]\ndefault = accept\nrule = drop proto udp dport 5001\n");
	s5000 = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	s5001 = udp_sink_open(it->t.fw, "0.0.0.0", 5001);
	assert_true(s5000 >= 0 && s5001 >= 0);

	assert_int_equal(pass(it, s5000, 5000, N, 64), N);
	assert_int_equal(pass(it, s5001, 5001, N, 64), 0);

	assert_int_equal(itest_wait_stat(it, 0, "accepted", N), N);
	assert_int_equal(itest_wait_stat(it, 0, "dropped", N), N);
	free(itest_stop(it, 2000, NULL));
	close(s5000);
	close(s5001);
}

static void test_source_prefix_rule(void **state)
{
	struct itest *it = *state;
	int sink;

	/* the client's address is in 10.199.0.0/24, not in 10.199.1.0/24 */
	itest_nfqd(it, "[policy]\nrule = drop src 10.199.1.0/24\nrule = drop src 10.199.0.0/24 "
		       "dport 6000\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(pass(it, sink, 5000, 500, 64), 500);
	close(sink);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 6000);
	assert_true(sink >= 0);
	assert_int_equal(pass(it, sink, 6000, 500, 64), 0);
	assert_int_equal(itest_wait_stat(it, 0, "accepted", 500), 500);
	assert_int_equal(itest_wait_stat(it, 0, "dropped", 500), 500);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_truncated_reads_are_counted_and_still_get_verdicts(void **state)
{
	struct itest *it = *state;
	int s5000, s5001;

	/* 1000-byte datagrams copied whole, into 256-byte receive buffers: every read is cut,
	 * but the headers are in the first bytes, so the port rule still applies */
	itest_nfqd(it, "[queue]\ncopy-range = 1500\nrecv-buffer = 256\n"
		       "[policy]\nrule = drop proto udp dport 5001\n");
	s5000 = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	s5001 = udp_sink_open(it->t.fw, "0.0.0.0", 5001);
	assert_true(s5000 >= 0 && s5001 >= 0);

	assert_int_equal(pass(it, s5000, 5000, 1000, 1000), 1000);
	assert_int_equal(pass(it, s5001, 5001, 1000, 1000), 0);

	assert_int_equal(itest_wait_stat(it, 0, "received", 2000), 2000);
	assert_int_equal(itest_wait_stat(it, 0, "truncated", 2000), 2000);
	assert_int_equal(itest_wait_stat(it, 0, "accepted", 1000), 1000);
	assert_int_equal(itest_wait_stat(it, 0, "dropped", 1000), 1000);
	assert_int_equal(itest_stat(it, 0, "errors"), 0);
	free(itest_stop(it, 2000, NULL));
	close(s5000);
	close(s5001);
}

static void test_full_copy_of_large_packets_is_not_truncated(void **state)
{
	struct itest *it = *state;
	int sink;

	itest_nfqd(it, "[queue]\ncopy-range = 65531\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(pass(it, sink, 5000, 500, 1400), 500);
	assert_int_equal(itest_wait_stat(it, 0, "received", 500), 500);
	assert_int_equal(itest_stat(it, 0, "truncated"), 0);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

/*
 * max-len 1048576 at copy-range 128 would need a receive buffer of 2.4 GB; the cap keeps the
 * socket's SO_RCVBUF (as nfqd reads it back) at 64 MiB, and the start says so.
 */
static void test_the_receive_buffer_of_a_long_queue_is_capped(void **state)
{
	struct itest *it = *state;
	uint64_t rcvbuf;
	char *log;

	itest_nfqd(it, "[queue]\nmax-len = 1048576\n");
	rcvbuf = itest_stat(it, 0, "rcvbuf");
	log = itest_stop(it, 2000, NULL);
	if (rcvbuf > 64u << 20 || rcvbuf < 32u << 20 ||
	    !strstr(log, "socket receive buffer capped at 67108864 bytes per queue")) {
		fprintf(stderr, "%s", log);
		free(log);
		fail_msg("SO_RCVBUF %llu, expected at most the 64 MiB cap",
			 (unsigned long long)rcvbuf);
	}
	free(log);
}

/*
 * A flood into a queue whose reader is stopped, beyond a receive buffer capped at 256 KiB:
 * what the socket cannot hold is counted as enobufs (and dropped by the kernel: fail-open is
 * off), what it held is read when the reader resumes, and every packet nfqd received gets its
 * verdict. Every packet sent is accounted for: received by nfqd, or lost to the socket.
 */
static void test_a_flood_beyond_the_capped_buffer_is_counted_and_the_rest_get_verdicts(void **state)
{
	struct itest *it = *state;
	uint64_t received, accepted, dropped, enobufs, user_dropped, sunk;
	unsigned int queued = 1, last_id = 0;
	int sink;

	itest_nfqd(it, "[queue]\nmax-len = 65536\nrcvbuf-max = 262144\n"
		       "[policy]\ndefault = accept\n");
	assert_true(itest_stat(it, 0, "rcvbuf") <= 262144);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(nfqd_pause(&it->d), 0);
	assert_int_equal(send_to(it, 5000, N, 64), N);
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);

	/* the kernel has seen them all, and holds none waiting for a verdict */
	for (int waited = 0;; waited += 10) {
		assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
		if (last_id == N && queued == 0)
			break;
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("after %d ms the kernel queued %u, last id %u of %u", waited,
				 queued, last_id, N);
		usleep(10 * 1000);
	}
	received = itest_stat(it, 0, "received");
	accepted = itest_stat(it, 0, "accepted");
	dropped = itest_stat(it, 0, "dropped");
	enobufs = itest_stat(it, 0, "enobufs");
	user_dropped = itest_stat(it, 0, "user_dropped");
	sunk = udp_sink_wait(sink, accepted, ITEST_DEADLINE_MS);
	fprintf(stderr,
		"sent %u: received %llu, accepted %llu, dropped %llu, enobufs %llu, kernel "
		"user_dropped %llu, sink %llu\n",
		N, (unsigned long long)received, (unsigned long long)accepted,
		(unsigned long long)dropped, (unsigned long long)enobufs,
		(unsigned long long)user_dropped, (unsigned long long)sunk);
	assert_true(enobufs > 0);
	assert_int_equal(enobufs, user_dropped);
	assert_int_equal(received + user_dropped, N);
	assert_int_equal(accepted + dropped, received);
	assert_int_equal(sunk, accepted);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept_policy_delivers_every_packet, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_drop_policy_delivers_nothing, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_port_rule_drops_its_port_and_passes_the_other,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_source_prefix_rule, setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_truncated_reads_are_counted_and_still_get_verdicts, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_full_copy_of_large_packets_is_not_truncated,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_the_receive_buffer_of_a_long_queue_is_capped,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_flood_beyond_the_capped_buffer_is_counted_and_the_rest_get_verdicts,
			setup, itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: IPv4 UDP", tests, NULL, NULL);
}
