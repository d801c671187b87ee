/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Marks, interfaces and the queue verdict on the real kernel: `meta mark` and `ct mark` matches
 * against marks set by iptables, `set-mark` seen by a later iptables rule, nfqd's own mark bits
 * cleared in its verdicts, `queue N` handing packets to a second nfqd, and `iif`/`oif`, including
 * an interface renamed while nfqd runs.
 */
#include "itest.h"
#include "rawsend.h"

#define N 300

/* The second nfqd of the queue verdict tests: cleaned up by the teardown, whatever happens. */
static struct nfqd_proc second;
static bool have_second;

static int setup(void **state)
{
	return itest_setup(state, "marks");
}

static int teardown(void **state)
{
	if (have_second) {
		nfqd_cleanup(&second);
		have_second = false;
	}
	return itest_teardown(state);
}

/*
 * n datagrams from namespace from to dst:port, counted by a sink bound in namespace to. A
 * caller that expects want > 0 of them waits until they came (a busy machine stretches any
 * idle time); one that expects none reads for an idle time, which can only miss a late one.
 */
static uint64_t deliver(const char *from, const char *to, const char *dst, uint16_t port,
			unsigned long n, uint64_t want)
{
	int sink = udp_sink_open(to, "0.0.0.0", port);
	uint64_t got;

	assert_true(sink >= 0);
	assert_int_equal(udp_send(from, NULL, dst, port, n, 64, 4, 32, 200), n);
	got = want ? udp_sink_wait(sink, want, ITEST_DEADLINE_MS)
		   : udp_sink_count(sink, 300, 10000);
	close(sink);
	return got;
}

/* Datagrams the client sends to the firewall's port that arrive there (want: expected). */
static uint64_t inbound(struct itest *it, uint16_t port, uint64_t want)
{
	return deliver(it->t.cli, it->t.fw, it->t.fw4, port, N, want);
}

/* Datagrams the firewall sends to the client's port that arrive there (want: expected). */
static uint64_t outbound(struct itest *it, uint16_t port, uint64_t want)
{
	return deliver(it->t.fw, it->t.cli, it->t.cli4, port, N, want);
}

/* The packet counter of rule `num` (1-based) of chain in table, in the firewall namespace. */
static uint64_t rule_packets(struct itest *it, const char *table, const char *chain,
			     unsigned int num)
{
	uint64_t pkts = xt_rule_packets(it->t.fw, false, table, chain, num);

	if (pkts == UINT64_MAX)
		fail_msg("no rule %u in %s %s", num, table, chain);
	return pkts;
}

/* Whether nfqd's log holds text. */
static bool log_has(struct itest *it, const char *text)
{
	char *log = nfqd_log(&it->d);
	bool has = log && strstr(log, text);

	free(log);
	return has;
}

/* Wait up to timeout_ms for text in nfqd's log; fails the test when it does not come. */
static void wait_log(struct itest *it, const char *text, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (log_has(it, text))
			return;
		usleep(10000);
	}
	itest_print_log(it);
	fail_msg("nfqd did not log '%s'", text);
}

/* Wait until veth0 of the client and dev of the firewall have their carrier again. */
static void wait_link_up(struct itest *it, const char *dev)
{
	for (int waited = 0; waited < ITEST_DEADLINE_MS; waited += 20) {
		char *o1 = NULL, *o2 = NULL;
		bool ok;

		ns_sh_out(it->t.cli, &o1, "ip -o link show veth0");
		ns_sh_out(it->t.fw, &o2, "ip -o link show %s", dev);
		ok = o1 && o2 && strstr(o1, "LOWER_UP") && strstr(o2, "LOWER_UP");
		free(o1);
		free(o2);
		if (ok)
			return;
		usleep(20000);
	}
	fail_msg("link %s did not come up again within %d ms", dev, ITEST_DEADLINE_MS);
}

/* Stop nfqd (the queues drain, it exits 0) and forget it. */
static void stop_nfqd(struct itest *it)
{
	free(itest_stop(it, 2000, NULL));
	nfqd_cleanup(&it->d);
	it->have_d = false;
}

/* ---- meta mark ---- */

/* Datagrams to 5001 carry mark 0x4 from the mangle table; all UDP is queued to nfqd. */
static void mark_5001(struct itest *it)
{
	itest_fw(it, "iptables -t mangle -A PREROUTING -p udp --dport 5001 -j MARK --set-mark 0x4");
	itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
}

static void test_meta_mark_matches_the_packet_mark(void **state)
{
	struct itest *it = *state;
	char *json;

	mark_5001(it);
	itest_nfqd(it, "[policy]\nrule = drop meta mark 0x4/0x4\n");
	assert_int_equal(inbound(it, 5001, 0), 0);
	assert_int_equal(inbound(it, 5000, N), N);
	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "dropped", N);
	itest_wait_stat(it, 0, "accepted", N);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "dropped"), N);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	assert_int_equal(stats_get(json, 0, "errors"), 0);
	free(json);
	stop_nfqd(it);
}

static void test_not_meta_mark(void **state)
{
	struct itest *it = *state;
	char *json;

	mark_5001(it);
	/* the unmarked are accepted by the rule, the marked get the default */
	itest_nfqd(it, "[policy]\ndefault = drop\nrule = accept not meta mark 0x4/0x4\n");
	assert_int_equal(inbound(it, 5001, 0), 0);
	assert_int_equal(inbound(it, 5000, N), N);
	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "dropped", N);
	itest_wait_stat(it, 0, "accepted", N);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "dropped"), N);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	free(json);
	stop_nfqd(it);

	/* and dropping what is not marked turns the outcome around */
	itest_nfqd(it, "[policy]\ndefault = accept\nrule = drop not meta mark 0x4/0x4\n");
	assert_int_equal(inbound(it, 5001, N), N);
	assert_int_equal(inbound(it, 5000, 0), 0);
	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "dropped", N);
	itest_wait_stat(it, 0, "accepted", N);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "dropped"), N);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	free(json);
	stop_nfqd(it);
}

/* ---- ct mark ---- */

#define CT_CONFIG "[policy]\nrule = drop ct mark 0x10/0xf0\n"

/* Connections to 5001 carry connmark bits 0x10 in 0xf0. */
static void connmark_5001(struct itest *it)
{
	itest_fw(it, "iptables -t mangle -A PREROUTING -p udp --dport 5001 -j CONNMARK "
		     "--set-mark 0x10/0xf0");
}

static void test_ct_mark_read_from_the_mark_the_generated_rules_restored(void **state)
{
	struct itest *it = *state;
	char *json;

	connmark_5001(it);
	assert_int_equal(nfqd_rules_load(it->t.fw, CT_CONFIG, false), 0);
	itest_fw(it, "iptables -A INPUT -p udp -j NFQD");
	itest_nfqd(it, CT_CONFIG);
	if (!log_has(it, "the kernel gives no NFQA_CT")) {
		itest_print_log(it);
		fail_msg("nfqd does not say where it reads ct marks from");
	}

	assert_int_equal(inbound(it, 5001, 0), 0);
	assert_int_equal(inbound(it, 5000, N), N);
	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "marked", 2 * N);
	itest_wait_stat(it, 0, "dropped", N);
	itest_wait_stat(it, 0, "accepted", N);
	json = itest_stats(it);
	assert_non_null(strstr(json, "\"conntrack\":false"));
	/* every packet went through the generated chain */
	assert_int_equal(stats_get(json, 0, "marked"), 2 * N);
	assert_int_equal(stats_get(json, 0, "dropped"), N);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	free(json);
	stop_nfqd(it);
}

/* IPv6 datagrams from the client to the firewall's port that arrive there. */
static uint64_t inbound6(struct itest *it, uint16_t port, uint64_t want)
{
	int sink = udp_sink_open(it->t.fw, "::", port);
	uint64_t got;

	assert_true(sink >= 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw6, port, N, 64, 4, 32, 200), N);
	got = want ? udp_sink_wait(sink, want, ITEST_DEADLINE_MS)
		   : udp_sink_count(sink, 300, 10000);
	close(sink);
	return got;
}

static void test_ipv6_meta_mark_ct_mark_and_iif(void **state)
{
	static const char config[] = "[policy]\nrule = drop meta mark 0x4/0x4\n"
				     "rule = drop ct mark 0x10/0xf0\n"
				     "rule = drop iif veth0 proto udp dport 5003\n";
	struct itest *it = *state;
	char *json;

	/* 5001 carries a packet mark, 5002 a connmark; 5003 meets the interface rule */
	itest_fw(it,
		 "ip6tables -t mangle -A PREROUTING -p udp --dport 5001 -j MARK --set-mark 0x4");
	itest_fw(it, "ip6tables -t mangle -A PREROUTING -p udp --dport 5002 -j CONNMARK "
		     "--set-mark 0x10/0xf0");
	assert_int_equal(nfqd_rules_load(it->t.fw, config, true), 0);
	itest_fw(it, "ip6tables -A INPUT -p udp -j NFQD");
	itest_nfqd(it, config);

	assert_int_equal(inbound6(it, 5001, 0), 0);
	assert_int_equal(inbound6(it, 5002, 0), 0);
	assert_int_equal(inbound6(it, 5003, 0), 0);
	assert_int_equal(inbound6(it, 5000, N), N);
	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "dropped", 3 * N);
	itest_wait_stat(it, 0, "accepted", N);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "dropped"), 3 * N);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	free(json);
	stop_nfqd(it);
}

static void test_ct_mark_nobody_provides_does_not_match(void **state)
{
	struct itest *it = *state;
	char *json;

	/* A plain NFQUEUE rule: without NFQA_CT and without the generated restore, the connmark
	 * is unknown to nfqd, so neither the match nor its negation holds. */
	connmark_5001(it);
	itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, "[policy]\nrule = drop ct mark 0x10/0xf0\nrule = drop not ct mark "
		       "0x10/0xf0\n");
	if (!log_has(it, "the kernel gives no NFQA_CT")) {
		itest_print_log(it);
		fail_msg("nfqd does not say where it reads ct marks from");
	}

	assert_int_equal(inbound(it, 5001, N), N);
	assert_int_equal(inbound(it, 5000, N), N);
	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "accepted", 2 * N);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "marked"), 0);
	assert_int_equal(stats_get(json, 0, "accepted"), 2 * N);
	assert_int_equal(stats_get(json, 0, "dropped"), 0);
	free(json);
	stop_nfqd(it);
}

/* ---- set-mark and nfqd's own bits ---- */

static void test_set_mark_is_seen_by_a_later_hook(void **state)
{
	struct itest *it = *state;
	char *json;

	/* queued in mangle PREROUTING; filter INPUT comes later and counts (rules without a
	 * target only count): 1 the packets with the mark, 2 every packet */
	itest_fw(it, "iptables -t mangle -A PREROUTING -p udp -j NFQUEUE --queue-num 0");
	itest_fw(it, "iptables -A INPUT -p udp -m mark --mark 0x100/0x100");
	itest_fw(it, "iptables -A INPUT -p udp");
	itest_nfqd(it, "[policy]\nrule = accept dport 5000 set-mark 0x100/0x100\n");

	assert_int_equal(inbound(it, 5000, N), N);
	assert_int_equal(rule_packets(it, "filter", "INPUT", 1), N);
	assert_int_equal(rule_packets(it, "filter", "INPUT", 2), N);
	/* accepted by the default: no mark */
	assert_int_equal(inbound(it, 5001, N), N);
	assert_int_equal(rule_packets(it, "filter", "INPUT", 1), N);
	assert_int_equal(rule_packets(it, "filter", "INPUT", 2), 2 * N);

	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "accepted", 2 * N);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "accepted"), 2 * N);
	assert_int_equal(stats_get(json, 0, "errors"), 0);
	free(json);
	stop_nfqd(it);
}

static void test_nfqd_mark_bits_are_cleared_in_the_verdict(void **state)
{
	struct itest *it = *state;
	static const char config[] = "[policy]\nrule = accept dport 5000 set-mark 0x100/0x100\n";
	char *json;

	/* What the firewall sends goes through the generated chain in filter OUTPUT, which sets
	 * nfqd's marker before queueing; mangle POSTROUTING runs later and counts: 1 the packets
	 * with none of nfqd's bits (mark-bits 0xff000000), 2 those with the rule's mark, 3 all. */
	assert_int_equal(nfqd_rules_load(it->t.fw, config, false), 0);
	itest_fw(it, "iptables -A OUTPUT -p udp -j NFQD");
	itest_fw(it, "iptables -t mangle -A POSTROUTING -p udp -m mark --mark 0x0/0xff000000");
	itest_fw(it, "iptables -t mangle -A POSTROUTING -p udp -m mark --mark 0x100/0x100");
	itest_fw(it, "iptables -t mangle -A POSTROUTING -p udp");
	itest_nfqd(it, config);

	assert_int_equal(outbound(it, 5000, N), N);
	assert_int_equal(outbound(it, 5001, N), N);

	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "marked", 2 * N);
	itest_wait_stat(it, 0, "accepted", 2 * N);
	json = itest_stats(it);
	/* every packet carried the marker when nfqd read it ... */
	assert_int_equal(stats_get(json, 0, "marked"), 2 * N);
	assert_int_equal(stats_get(json, 0, "accepted"), 2 * N);
	free(json);
	/* ... and none after the verdict, which kept the rule's own mark */
	assert_int_equal(rule_packets(it, "mangle", "POSTROUTING", 1), 2 * N);
	assert_int_equal(rule_packets(it, "mangle", "POSTROUTING", 2), N);
	assert_int_equal(rule_packets(it, "mangle", "POSTROUTING", 3), 2 * N);
	stop_nfqd(it);
}

/* ---- queue N ---- */

/* Start the second nfqd in the firewall namespace. */
static void start_second(struct itest *it, const char *config)
{
	int st = 0;
	int r = nfqd_start(&second, it->t.fw, config, 5000, &st);

	have_second = true;
	if (r != 0) {
		char *log = nfqd_log(&second);

		fprintf(stderr, "---- second nfqd log ----\n%s------------------\n", log);
		free(log);
		fail_msg("the second nfqd did not start (%d)", r);
	}
}

static void test_queue_verdict_hands_packets_to_another_queue(void **state)
{
	struct itest *it = *state;
	char *json;
	int st = -1;

	itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, "[queue]\nqueues = 0\n[policy]\nrule = queue 3 proto udp dport 5001\n");
	start_second(it, "[queue]\nqueues = 3\n[policy]\ndefault = drop\n");

	assert_int_equal(inbound(it, 5001, 0), 0);
	assert_int_equal(inbound(it, 5000, N), N);

	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "received", 2 * N);
	itest_wait_stat(it, 0, "queued", N);
	itest_wait_stat(it, 0, "accepted", N);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "received"), 2 * N);
	assert_int_equal(stats_get(json, 0, "queued"), N);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	assert_int_equal(stats_get(json, 0, "dropped"), 0);
	assert_int_equal(stats_get(json, 0, "errors"), 0);
	free(json);
	/* the second nfqd's counters, once its last batch is published */
	json = NULL;
	for (int waited = 0; waited < ITEST_DEADLINE_MS; waited += 10) {
		free(json);
		json = nfqd_control(&second, "stats\n");
		assert_non_null(json);
		if (stats_get(json, 3, "dropped") >= N)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(stats_get(json, 3, "received"), N);
	assert_int_equal(stats_get(json, 3, "dropped"), N);
	assert_int_equal(stats_get(json, 3, "accepted"), 0);
	free(json);

	assert_int_equal(nfqd_stop(&second, SIGTERM, 2000, &st, NULL), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	stop_nfqd(it);
}

static void test_queue_verdict_to_its_own_queue_does_not_loop(void **state)
{
	struct itest *it = *state;
	char *json;

	itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, "[queue]\nqueues = 0\n[policy]\ndefault = accept\n"
		       "rule = queue 0 proto udp dport 5001\n");
	/* the rule is skipped on queue 0: the default accepts, each packet read once */
	assert_int_equal(inbound(it, 5001, N), N);
	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_stat(it, 0, "received", N);
	itest_wait_stat(it, 0, "accepted", N);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "received"), N);
	assert_int_equal(stats_get(json, 0, "accepted"), N);
	assert_int_equal(stats_get(json, 0, "queued"), 0);
	free(json);
	stop_nfqd(it);
}

/* ---- iif / oif ---- */

/* A queue verdict toward a queue nobody serves follows fail-open, as the NFQUEUE rule would. */
static void queue_to_nobody(struct itest *it, const char *fail_open, uint64_t want)
{
	char config[160];

	snprintf(config, sizeof(config),
		 "[queue]\nfail-open = %s\n[policy]\nrule = queue 7 proto udp dport 5001\n",
		 fail_open);
	itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, config);
	assert_int_equal(inbound(it, 5001, want), want);
	stop_nfqd(it);
}

static void test_queue_verdict_to_a_queue_nobody_serves_fails_open(void **state)
{
	queue_to_nobody(*state, "yes", N);
}

static void test_queue_verdict_to_a_queue_nobody_serves_fails_closed(void **state)
{
	queue_to_nobody(*state, "no", 0);
}

static void test_iif_matches_the_input_interface(void **state)
{
	struct itest *it = *state;

	itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, "[policy]\nrule = drop iif veth0 dport 5001\n");
	assert_int_equal(inbound(it, 5001, 0), 0);
	assert_int_equal(inbound(it, 5000, N), N);
	stop_nfqd(it);
}

static void test_iif_of_a_missing_interface_never_matches(void **state)
{
	struct itest *it = *state;

	itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, "[policy]\nrule = drop iif nosuch0 dport 5001\n");
	if (!log_has(it, "interface nosuch0 does not exist")) {
		itest_print_log(it);
		fail_msg("nfqd does not say that interface nosuch0 does not exist");
	}
	assert_int_equal(inbound(it, 5001, N), N);
	stop_nfqd(it);
}

static void test_iif_follows_a_rename(void **state)
{
	struct itest *it = *state;

	itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, "[policy]\nrule = drop iif veth9 dport 5001\n");
	assert_int_equal(inbound(it, 5001, N), N);

	/* the addresses stay with the link through the rename */
	itest_fw(it, "ip link set veth0 down && ip link set veth0 name veth9 && "
		     "ip link set veth9 up");
	wait_link_up(it, "veth9");
	wait_log(it, "interface veth9: present", ITEST_DEADLINE_MS);
	assert_int_equal(inbound(it, 5001, 0), 0);
	assert_int_equal(inbound(it, 5000, N), N);
	stop_nfqd(it);
}

static void test_oif_matches_the_output_interface(void **state)
{
	struct itest *it = *state;

	itest_fw(it, "iptables -A OUTPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, "[policy]\nrule = drop oif veth0 dport 5001\n");
	assert_int_equal(outbound(it, 5001, 0), 0);
	assert_int_equal(outbound(it, 5000, N), N);
	stop_nfqd(it);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_meta_mark_matches_the_packet_mark, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_meta_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ct_mark_read_from_the_mark_the_generated_rules_restored, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_meta_mark_ct_mark_and_iif, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ct_mark_nobody_provides_does_not_match, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_set_mark_is_seen_by_a_later_hook, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nfqd_mark_bits_are_cleared_in_the_verdict,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_verdict_hands_packets_to_another_queue,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_verdict_to_its_own_queue_does_not_loop,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_queue_verdict_to_a_queue_nobody_serves_fails_open, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_queue_verdict_to_a_queue_nobody_serves_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iif_matches_the_input_interface, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iif_of_a_missing_interface_never_matches,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_iif_follows_a_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oif_matches_the_output_interface, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("integration: marks, queue verdict, interfaces", tests,
					   NULL, NULL);
}
