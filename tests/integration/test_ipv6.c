/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv6 through ip6tables NFQUEUE and nfqd: prefixes, ports, counted end to end. */
#include "itest.h"

#define N 2000

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "v6") < 0)
		return -1;
	it = *state;
	/* Neighbour discovery is ICMPv6: queue only UDP, so the link keeps working. */
	return ns_sh(it->t.fw, "ip6tables -A INPUT -p udp -j NFQUEUE --queue-num 0");
}

static long long send6(struct itest *it, uint16_t port, unsigned long n)
{
	return udp_send(it->t.cli, NULL, it->t.fw6, port, n, 64, 4, 32, 200);
}

static void test_ipv6_accept_delivers_every_packet(void **state)
{
	struct itest *it = *state;
	int sink;
	unsigned int queued, last_id;

	itest_nfqd(it, "[policy]\ndefault = accept\n");
	sink = udp_sink_open(it->t.fw, "::", 5000);
	assert_true(sink >= 0);
	assert_int_equal(send6(it, 5000, N), N);
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	assert_int_equal(itest_wait_stat(it, 0, "received", N), N);
	assert_int_equal(itest_wait_stat(it, 0, "accepted", N), N);
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
	assert_int_equal(last_id, N);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_ipv6_destination_prefix_rule_drops_matching_only(void **state)
{
	struct itest *it = *state;
	int sink;

	/* the first rule's prefix does not cover fd00:199::2; the second does */
	itest_nfqd(it, "[policy]\nrule = drop dst 2001:db8::/32\n"
		       "rule = drop dst fd00:199::/64 dport 5001\n");
	sink = udp_sink_open(it->t.fw, "::", 5000);
	assert_true(sink >= 0);
	assert_int_equal(send6(it, 5000, N), N);
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	close(sink);

	sink = udp_sink_open(it->t.fw, "::", 5001);
	assert_true(sink >= 0);
	assert_int_equal(send6(it, 5001, N), N);
	/* once nfqd has dropped them all, none is at the sink */
	itest_wait_total(it, "dropped", N);
	assert_int_equal(udp_sink_count(sink, 0, 0), 0);

	assert_int_equal(itest_wait_stat(it, 0, "accepted", N), N);
	assert_int_equal(itest_wait_stat(it, 0, "dropped", N), N);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_ipv4_rule_never_matches_ipv6_packets(void **state)
{
	struct itest *it = *state;
	int sink;

	itest_nfqd(it, "[policy]\nrule = drop src 0.0.0.0/0\n");
	sink = udp_sink_open(it->t.fw, "::", 5000);
	assert_true(sink >= 0);
	assert_int_equal(send6(it, 5000, 500), 500);
	assert_int_equal(udp_sink_wait(sink, 500, ITEST_DEADLINE_MS), 500);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ipv6_accept_delivers_every_packet, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_ipv6_destination_prefix_rule_drops_matching_only, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_rule_never_matches_ipv6_packets, setup,
						itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: IPv6", tests, NULL, NULL);
}
