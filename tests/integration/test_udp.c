/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPv4 UDP through a real NFQUEUE rule and nfqd: what a sink receives is counted against what
 * was sent, nfqd's counters and the kernel's.
 */
#include <netinet/in.h>

#include "itest.h"
#include "itrace.h"
#include "pktbuild.h"

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
	/* verdicts went out batched: fewer messages than packets; on the mmap ring, whose order is
	 * not id order, one single verdict per packet */
	if (strcmp(itest_transport(it), "mmap") == 0)
		assert_int_equal(itest_stat(it, 0, "verdict_msgs"), N);
	else
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
 * max-len 65536 at copy-range 128 would need a receive buffer of 151 MB; the cap keeps the
 * socket's SO_RCVBUF (as nfqd reads it back) at 64 MiB, and the start says so.
 */
static void test_the_receive_buffer_of_a_long_queue_is_capped(void **state)
{
	struct itest *it = *state;
	uint64_t rcvbuf;
	char *log;

	itest_nfqd(it, "[queue]\nmax-len = 65536\n");
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

#define N_CUT	     200
#define STAT_WAIT_MS 60000

/*
 * Queue UDP and TCP before the filter table (mangle PREROUTING), and count in INPUT what nfqd
 * let through: a packet accepted from the queue goes on to the next hook, a dropped one does
 * not. The L4 protocols themselves would discard the cut headers later, so INPUT is where an
 * accept shows.
 */
static void queue_before_input(struct itest *it)
{
	itest_fw(it, "iptables -F INPUT && "
		     "iptables -t mangle -A PREROUTING -p udp -j NFQUEUE --queue-num 0 && "
		     "iptables -t mangle -A PREROUTING -p tcp -j NFQUEUE --queue-num 0 && "
		     "iptables -A INPUT -p udp -j ACCEPT && iptables -A INPUT -p tcp -j ACCEPT");
}

/* Packets the INPUT rule of protocol proto counted (iptables -n prints its number). */
static uint64_t input_count(struct itest *it, int proto)
{
	char *out = NULL;
	uint64_t n;

	assert_int_equal(ns_sh_out(it->t.fw, &out,
				   "iptables -nvxL INPUT | awk '$3 == \"ACCEPT\" && $4 == \"%d\" "
				   "{ print $1 }'",
				   proto),
			 0);
	assert_non_null(out);
	n = strtoull(out, NULL, 10);
	free(out);
	return n;
}

/*
 * The truncated L4 headers, to port 6666 that rules drop: UDP whose packet ends 4 bytes
 * into its header, TCP with data offset 4. Sends N_CUT of each and waits until nfqd read them.
 */
static char *send_cut_headers(struct itest *it, const char *config)
{
	uint8_t pkt[128];
	struct pb pb;
	int len;

	queue_before_input(it);
	itest_nfqd(it, config);

	pb_init(&pb, pkt, sizeof(pkt));
	pb_ipv4(&pb, it->t.cli4, it->t.fw4, 64);
	pb_udp(&pb, IPPROTO_UDP, 40000, 6666);
	assert_true(pb_finish(&pb) > 0);
	/* the kernel sets the total length to what is sent: 24 bytes */
	assert_int_equal(raw_ip_send(it->t.cli, pkt, 24, N_CUT, 500), N_CUT);

	pb_init(&pb, pkt, sizeof(pkt));
	pb_ipv4(&pb, it->t.cli4, it->t.fw4, 64);
	pb_tcp(&pb, 40000, 6666, PB_TCP_SYN);
	pb_data(&pb, NULL, 16);
	len = pb_finish(&pb);
	assert_true(len > 0);
	pkt[20 + 12] = 4 << 4;
	assert_int_equal(raw_ip_send(it->t.cli, pkt, (size_t)len, N_CUT, 500), N_CUT);

	return itest_wait_stat_json(it, 0, "received", 2 * N_CUT, STAT_WAIT_MS);
}

#define CUT_RULES                                                                                  \
	"[policy]\ndefault = accept\nrule = drop proto udp dport 6666\n"                           \
	"rule = drop proto tcp dport 6666\n"

/* Unreadable, so dropped by on-unreadable (default drop), counted and logged with the reason. */
static void test_udp_cut_to_4_bytes_and_tcp_data_offset_4_are_dropped_as_unreadable(void **state)
{
	struct itest *it = *state;
	char *json = send_cut_headers(it, CUT_RULES);

	assert_int_equal(input_count(it, IPPROTO_UDP), 0);
	assert_int_equal(input_count(it, IPPROTO_TCP), 0);
	assert_int_equal(stats_get(json, 0, "dropped"), 2 * N_CUT);
	assert_int_equal(stats_get(json, 0, "accepted"), 0);
	assert_int_equal(stats_get(json, 0, "unreadable"), 2 * N_CUT);
	free(json);
	/* the first one is logged; the rest within the second are counted as suppressed */
	itest_stop_logged(it, "unreadable packet 10.199.0.1 -> 10.199.0.2, protocol 17: UDP header "
			      "past the packet's end; verdict drop (on-unreadable)");
}

/* With on-unreadable = accept they pass to INPUT: the kernel's own count shows them. */
static void test_on_unreadable_accept_passes_the_cut_headers_on(void **state)
{
	struct itest *it = *state;
	char *json = send_cut_headers(it, CUT_RULES "on-unreadable = accept\n");

	assert_int_equal(stats_get(json, 0, "unreadable"), 2 * N_CUT);
	assert_int_equal(stats_get(json, 0, "accepted"), 2 * N_CUT);
	assert_int_equal(input_count(it, IPPROTO_UDP), N_CUT);
	assert_int_equal(input_count(it, IPPROTO_TCP), N_CUT);
	free(json);
	free(itest_stop(it, 5000, NULL));
}

/*
 * Make the next `fails` sends of nfqd's worker thread fail with EPERM, for real: strace turns
 * its next sendto() calls into errors without running them.
 */
static pid_t fail_worker_sends(struct itest *it, unsigned int fails)
{
	char inject[64];

	snprintf(inject, sizeof(inject), "inject=sendto:error=EPERM:when=1..%u", fails);
	return itrace_worker(it, "sendto", inject);
}

/* Wait until the kernel holds no packet of queue 0 and has handed out last ids; fail if not. */
static void wait_queue_empty(struct itest *it, unsigned int last, int timeout_ms)
{
	unsigned int queued = 0, last_id = 0;

	for (int waited = 0;; waited += 20) {
		assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
		if (queued == 0 && last_id >= last)
			return;
		if (waited >= timeout_ms)
			break;
		usleep(20000);
	}
	itest_print_log(it);
	fail_msg("queue 0 still holds %u packets (last id %u, want %u) after %d ms", queued,
		 last_id, last, timeout_ms);
}

/*
 * A verdict send fails (mmsg: its send is a syscall strace can fail), and so does the sweep sent
 * right after it: on a queue that then stays
 * quiet, the sweep is sent again on the next turn of the receive loop, and the packet gets the
 * fail-side verdict (drop) without waiting for another packet. Later sends work as before.
 */
static void test_failed_verdict_send_is_swept_without_waiting_for_traffic(void **state)
{
	struct itest *it = *state;
	char *json;
	pid_t tracer;
	int sink;

	/* strace needs the seccomp filter off (itrace.h) */
	itest_nfqd(it, "[queue]\nfail-open = no\ntransport = mmsg\n[policy]\ndefault = accept\n"
		       "[daemon]\nseccomp = no\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	tracer = fail_worker_sends(it, 2);

	assert_int_equal(send_to(it, 5000, 1, 64), 1);
	wait_queue_empty(it, 1, 30000);
	assert_int_equal(udp_sink_count(sink, 300, 10000), 0);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "errors"), 2);
	assert_int_equal(stats_get(json, 0, "received"), 1);
	free(json);

	itrace_detach(tracer);
	assert_int_equal(send_to(it, 5000, 1, 64), 1);
	wait_queue_empty(it, 2, 30000);
	assert_int_equal(udp_sink_count(sink, 300, 10000), 1);
	close(sink);

	itest_stop_logged(it, "cannot send 1 verdicts (1 messages): Operation not permitted; their "
			      "packets get the fail-side verdict (drop) by a sweep, sent now");
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
		cmocka_unit_test_setup_teardown(
			test_udp_cut_to_4_bytes_and_tcp_data_offset_4_are_dropped_as_unreadable,
			setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_on_unreadable_accept_passes_the_cut_headers_on,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_verdict_send_is_swept_without_waiting_for_traffic, setup,
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
