/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow cache on the real kernel, with the rules of `nfqd rules` loaded by iptables-restore:
 * the verdict of a flow's first packets is stamped into its connmark, and the rest of the flow
 * is accepted or dropped by the kernel without reaching nfqd - except when the flow's set
 * memberships change, which sends it back to nfqd, so live edits still hold.
 */
#include "itest.h"

#define CONFIG                                                                                     \
	"[policy]\nflow-cache = connmark\nrule = drop src @bl\nrule = drop proto udp dport "       \
	"5001\n"

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "flow") < 0)
		return -1;
	it = *state;
	if (ns_sh(it->t.fw, "ipset create bl hash:ip") != 0 ||
	    nfqd_rules_load(it->t.fw, CONFIG, false) != 0 ||
	    ns_sh(it->t.fw,
		  "iptables -A INPUT -p udp -j NFQD && iptables -A INPUT -p tcp -j NFQD") != 0)
		return -1;
	return 0;
}

/* Packets the kernel's rule with this target counted in chain NFQD (the cache bypass). */
static uint64_t chain_count(struct itest *it, const char *target)
{
	char *out = NULL;
	uint64_t n = UINT64_MAX;

	if (ns_sh_out(it->t.fw, &out, "iptables -L NFQD -v -x -n | awk '$3 == \"%s\" {print $1}'",
		      target) == 0 &&
	    out && out[0])
		n = strtoull(out, NULL, 10);
	free(out);
	return n;
}

/* Wait until the kernel's DROP rule and nfqd together have dropped `want` packets. */
static void wait_dropped(struct itest *it, uint64_t want)
{
	uint64_t chain = 0, nfqd = 0;

	for (int waited = 0; waited < ITEST_DEADLINE_MS; waited += 10) {
		chain = chain_count(it, "DROP");
		nfqd = itest_stat(it, 0, "dropped");
		if (chain != UINT64_MAX && chain + nfqd >= want)
			return;
		usleep(10 * 1000);
	}
	fail_msg("after %d ms the kernel dropped %llu and nfqd %llu packets, expected %llu",
		 ITEST_DEADLINE_MS, (unsigned long long)chain, (unsigned long long)nfqd,
		 (unsigned long long)want);
}

/*
 * The flow's first packet goes to nfqd, which stamps the flow; every packet sent after the
 * stamp took effect is the kernel's. Waiting for the stamp instead of counting what was in
 * flight before it keeps the numbers exact on a loaded machine.
 */
static void test_long_udp_flow_passes_whole_with_only_its_first_packets_queued(void **state)
{
	struct itest *it = *state;
	uint64_t seq = 1, max;
	int sink, fd;

	itest_nfqd(it, CONFIG);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	fd = udp_flow_open(it->t.cli, NULL, it->t.fw4, 5000);
	assert_true(sink >= 0 && fd >= 0);
	assert_int_equal(udp_flow_send(fd, 1, &seq, 1, 0), 1);
	assert_int_equal(udp_sink_wait_seq(sink, 1, ITEST_DEADLINE_MS, &max), 1);
	itest_wait_total(it, "stamped", 1);
	assert_int_equal(udp_flow_send(fd, 4999, &seq, 16, 100), 4999);
	assert_int_equal(udp_sink_wait_seq(sink, 4999, ITEST_DEADLINE_MS, &max), 4999);
	assert_int_equal(max, 5000);

	/* the first packet went to nfqd, the rest by the kernel's cache */
	assert_int_equal(itest_wait_stat(it, 0, "received", 1), 1);
	assert_true(chain_count(it, "ACCEPT") >= 4999);
	free(itest_stop(it, 2000, NULL));
	close(fd);
	close(sink);
}

static void test_tcp_flow_passes_whole_with_only_its_first_packets_queued(void **state)
{
	struct itest *it = *state;
	char why[256] = "";
	uint64_t received, stamped;

	itest_nfqd(it, CONFIG);
	if (tcp_transfer(it->t.cli, it->t.fw, it->t.fw4, 7000, 4 << 20, why, sizeof(why)) != 0)
		fail_msg("TCP transfer through the flow cache failed: %s", why);
	received = itest_stat(it, 0, "received");
	stamped = itest_stat(it, 0, "stamped");
	/* TCP sends nothing more before the handshake: only its first packets are queued */
	assert_true(received >= 1);
	assert_true(received < 20);
	assert_true(stamped >= 1);
	/* the kernel took the rest of the flow (GRO may have merged its segments) */
	assert_true(chain_count(it, "ACCEPT") > 10 * received);
	free(itest_stop(it, 2000, NULL));
}

static void test_blocked_flow_is_dropped_whole_by_the_kernel(void **state)
{
	struct itest *it = *state;
	uint64_t seq = 1, max;
	int sink, fd;

	itest_nfqd(it, CONFIG);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5001);
	fd = udp_flow_open(it->t.cli, NULL, it->t.fw4, 5001);
	assert_true(sink >= 0 && fd >= 0);
	assert_int_equal(udp_flow_send(fd, 1, &seq, 1, 0), 1);
	/* dropped, and its flow's entry created over ctnetlink */
	itest_wait_total(it, "stamped", 1);
	assert_int_equal(udp_flow_send(fd, 4999, &seq, 16, 100), 4999);
	/* once every packet is dropped, by nfqd or the kernel, none is at the sink */
	wait_dropped(it, 5000);
	assert_int_equal(udp_sink_count_seq(sink, 0, 0, &max), 0);
	assert_int_equal(itest_wait_stat(it, 0, "received", 1), 1);
	assert_int_equal(itest_wait_stat(it, 0, "dropped", 1), 1);
	assert_true(chain_count(it, "DROP") >= 4999);
	free(itest_stop(it, 2000, NULL));
	close(fd);
	close(sink);
}

static void test_ipset_add_and_del_reach_a_cached_flow_at_its_next_packet(void **state)
{
	struct itest *it = *state;
	uint64_t seq = 1, max, before, after, stamped;
	int sink, fd;

	itest_nfqd(it, CONFIG);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	fd = udp_flow_open(it->t.cli, NULL, it->t.fw4, 5000);
	assert_int_equal(udp_flow_send(fd, 500, &seq, 16, 100), 500);
	assert_int_equal(udp_sink_wait_seq(sink, 500, ITEST_DEADLINE_MS, &max), 500);
	before = itest_stat(it, 0, "received");

	/* the flow is cached; its source joins the blocklist: the very next packet is dropped,
	 * by nfqd, which stamps the flow again; the kernel drops the rest */
	itest_fw(it, "ipset add bl %s", it->t.cli4);
	stamped = itest_stat(it, 0, "stamped");
	assert_int_equal(udp_flow_send(fd, 1, &seq, 1, 0), 1);
	itest_wait_stat(it, 0, "stamped", stamped + 1);
	assert_int_equal(udp_flow_send(fd, 499, &seq, 16, 100), 499);
	wait_dropped(it, 500);
	assert_int_equal(udp_sink_count_seq(sink, 0, 0, &max), 0);
	/* and leaves it: the very next packet passes */
	itest_fw(it, "ipset del bl %s", it->t.cli4);
	assert_int_equal(udp_flow_send(fd, 1, &seq, 1, 0), 1);
	assert_int_equal(udp_sink_wait_seq(sink, 1, ITEST_DEADLINE_MS, &max), 1);
	assert_int_equal(max, seq - 1);
	assert_int_equal(udp_flow_send(fd, 499, &seq, 16, 100), 499);
	assert_int_equal(udp_sink_wait_seq(sink, 499, ITEST_DEADLINE_MS, &max), 499);

	/* each change cost nfqd the one packet that met it, not the flow */
	after = itest_stat(it, 0, "received");
	if (after - before > 2)
		fail_msg("nfqd received %llu packets of the flow after the edits, expected 2",
			 (unsigned long long)(after - before));
	free(itest_stop(it, 2000, NULL));
	close(fd);
	close(sink);
}

static void test_loading_the_rules_again_replaces_them(void **state)
{
	struct itest *it = *state;
	char *a = NULL, *b = NULL;

	assert_int_equal(ns_sh_out(it->t.fw, &a, "iptables -S NFQD"), 0);
	assert_int_equal(nfqd_rules_load(it->t.fw, CONFIG, false), 0);
	assert_int_equal(nfqd_rules_load(it->t.fw, CONFIG, false), 0);
	assert_int_equal(ns_sh_out(it->t.fw, &b, "iptables -S NFQD"), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* the jumps into the chain survive too */
	assert_int_equal(ns_sh(it->t.fw, "iptables -C INPUT -p udp -j NFQD"), 0);
}

static void test_per_packet_decisions_are_not_cached(void **state)
{
	struct itest *it = *state;
	static const char config[] = "[policy]\nflow-cache = connmark\n"
				     "rule = accept dport 5000 set-mark 0x100/0x100\n";
	uint64_t seq = 1, max;
	int sink, fd;

	/* a set-mark applies to each packet: the kernel's cache could not repeat it */
	assert_int_equal(nfqd_rules_load(it->t.fw, config, false), 0);
	itest_nfqd(it, config);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	fd = udp_flow_open(it->t.cli, NULL, it->t.fw4, 5000);
	assert_int_equal(udp_flow_send(fd, 300, &seq, 10, 200), 300);
	assert_int_equal(udp_sink_wait_seq(sink, 300, ITEST_DEADLINE_MS, &max), 300);
	assert_int_equal(itest_wait_stat(it, 0, "received", 300), 300);
	assert_int_equal(itest_stat(it, 0, "stamped"), 0);
	free(itest_stop(it, 2000, NULL));
	close(fd);
	close(sink);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_long_udp_flow_passes_whole_with_only_its_first_packets_queued, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_tcp_flow_passes_whole_with_only_its_first_packets_queued, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_blocked_flow_is_dropped_whole_by_the_kernel,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_ipset_add_and_del_reach_a_cached_flow_at_its_next_packet, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_loading_the_rules_again_replaces_them, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_per_packet_decisions_are_not_cached, setup,
						itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: flow cache", tests, NULL, NULL);
}
