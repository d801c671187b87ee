/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPv4 UDP through a real NFQUEUE rule and nfqd: what a sink receives is counted against what
 * was sent, nfqd's counters and the kernel's.
 */
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

static void test_accept_policy_delivers_every_packet(void **state)
{
	struct itest *it = *state;
	int sink;
	char *json, *log;
	unsigned int queued, last_id;

	itest_nfqd(it, "[queue]\nqueues = 0\n[policy]\ndefault = accept\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);

	assert_int_equal(send_to(it, 5000, N, 64), N);
	assert_int_equal(udp_sink_count(sink, 300, 10000), N);

	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "received"), N);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	assert_int_equal(stats_get(json, 0, "dropped"), 0);
	assert_int_equal(stats_get(json, -1, "received"), N);
	assert_int_equal(stats_get(json, 0, "errors"), 0);
	/* verdicts went out batched: fewer messages than packets */
	assert_true(stats_get(json, 0, "verdict_msgs") < N);
	/* the kernel saw exactly these packets, and holds none */
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
	assert_int_equal(last_id, N);
	assert_int_equal(queued, 0);
	free(json);

	log = itest_stop(it, 2000, NULL);
	assert_int_equal(final_get(log, 0, "received"), N);
	assert_int_equal(final_get(log, 0, "kernel_queued"), 0);
	free(log);
	close(sink);
}

static void test_drop_policy_delivers_nothing(void **state)
{
	struct itest *it = *state;
	int sink;
	char *json;

	itest_nfqd(it, "[policy]\ndefault = drop\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);

	assert_int_equal(send_to(it, 5000, N, 64), N);
	assert_int_equal(udp_sink_count(sink, 300, 10000), 0);

	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "received"), N);
	assert_int_equal(stats_get(json, 0, "dropped"), N);
	assert_int_equal(stats_get(json, 0, "accepted"), 0);
	free(json);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_port_rule_drops_its_port_and_passes_the_other(void **state)
{
	struct itest *it = *state;
	int s5000, s5001;
	char *json;

	itest_nfqd(it, "[policy]\ndefault = accept\nrule = drop proto udp dport 5001\n");
	s5000 = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	s5001 = udp_sink_open(it->t.fw, "0.0.0.0", 5001);
	assert_true(s5000 >= 0 && s5001 >= 0);

	assert_int_equal(send_to(it, 5000, N, 64), N);
	assert_int_equal(send_to(it, 5001, N, 64), N);
	assert_int_equal(udp_sink_count(s5000, 300, 10000), N);
	assert_int_equal(udp_sink_count(s5001, 300, 10000), 0);

	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	assert_int_equal(stats_get(json, 0, "dropped"), N);
	free(json);
	free(itest_stop(it, 2000, NULL));
	close(s5000);
	close(s5001);
}

static void test_source_prefix_rule(void **state)
{
	struct itest *it = *state;
	int sink;
	char *json;

	/* the client's address is in 10.199.0.0/24, not in 10.199.1.0/24 */
	itest_nfqd(it, "[policy]\nrule = drop src 10.199.1.0/24\nrule = drop src 10.199.0.0/24 "
		       "dport 6000\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(send_to(it, 5000, 500, 64), 500);
	assert_int_equal(udp_sink_count(sink, 300, 10000), 500);
	close(sink);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 6000);
	assert_int_equal(send_to(it, 6000, 500, 64), 500);
	assert_int_equal(udp_sink_count(sink, 300, 10000), 0);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "accepted"), 500);
	assert_int_equal(stats_get(json, 0, "dropped"), 500);
	free(json);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_truncated_reads_are_counted_and_still_get_verdicts(void **state)
{
	struct itest *it = *state;
	int s5000, s5001;
	char *json;

	/* 1000-byte datagrams copied whole, into 256-byte receive buffers: every read is cut,
	 * but the headers are in the first bytes, so the port rule still applies */
	itest_nfqd(it, "[queue]\ncopy-range = 1500\nrecv-buffer = 256\n"
		       "[policy]\nrule = drop proto udp dport 5001\n");
	s5000 = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	s5001 = udp_sink_open(it->t.fw, "0.0.0.0", 5001);
	assert_true(s5000 >= 0 && s5001 >= 0);

	assert_int_equal(send_to(it, 5000, 1000, 1000), 1000);
	assert_int_equal(send_to(it, 5001, 1000, 1000), 1000);
	assert_int_equal(udp_sink_count(s5000, 300, 10000), 1000);
	assert_int_equal(udp_sink_count(s5001, 300, 10000), 0);

	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "received"), 2000);
	assert_int_equal(stats_get(json, 0, "truncated"), 2000);
	assert_int_equal(stats_get(json, 0, "accepted"), 1000);
	assert_int_equal(stats_get(json, 0, "dropped"), 1000);
	assert_int_equal(stats_get(json, 0, "errors"), 0);
	free(json);
	free(itest_stop(it, 2000, NULL));
	close(s5000);
	close(s5001);
}

static void test_full_copy_of_large_packets_is_not_truncated(void **state)
{
	struct itest *it = *state;
	int sink;
	char *json;

	itest_nfqd(it, "[queue]\ncopy-range = 65531\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(send_to(it, 5000, 500, 1400), 500);
	assert_int_equal(udp_sink_count(sink, 300, 10000), 500);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "received"), 500);
	assert_int_equal(stats_get(json, 0, "truncated"), 0);
	free(json);
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
	};

	return cmocka_run_group_tests_name("integration: IPv4 UDP", tests, NULL, NULL);
}
