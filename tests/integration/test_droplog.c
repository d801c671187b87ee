/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The drop log on the real kernel: a `drop log log-prefix "BL" src @bl` rule and a member of
 * the set sending N datagrams. Exactly burst lines come out, each with the rule, prefix, verdict,
 * queue, protocol, addresses, ports, interface and length of a packet sent; log_suppressed
 * counts the rest; packets no log rule decides are not logged; and every packet still got its
 * verdict (the kernel holds none, dropped none, and the sink got exactly the accepted ones).
 */
#include "itest.h"

#define LISTED	"10.199.0.100"
#define N	30 /* datagrams from the listed address */
#define M	10 /* from the unlisted one */
#define BURST	5
#define PAYLOAD 32

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "droplog") < 0)
		return -1;
	it = *state;
	if (ns_sh(it->t.cli, "ip addr add %s/24 dev veth0", LISTED) != 0 ||
	    ns_sh(it->t.fw,
		  "ipset create bl hash:ip && ipset add bl %s && "
		  "iptables -A INPUT -p udp --dport 5000 -j NFQUEUE --queue-num 0",
		  LISTED) != 0)
		return -1;
	return 0;
}

/*
 * The lines of log holding "nfqd-drop: ", each checked against what was sent: *bad counts
 * those that are not a line of a listed UDP packet, *head those that start with head
 * ("[BL] rule 1 drop"). Returns the number of lines.
 */
static unsigned int check_lines(const char *log, const char *head, unsigned int *with_head,
				unsigned int *bad)
{
	char want[128], fmt[128];
	unsigned int n = 0;

	snprintf(want, sizeof(want), " -> %s:5000 iif veth0 len %u", "10.199.0.2",
		 20 + 8 + PAYLOAD);
	snprintf(fmt, sizeof(fmt), "nfqd-drop: %s queue 0 udp " LISTED ":%%u", head);
	*bad = 0;
	*with_head = 0;
	for (const char *s = strstr(log, "nfqd-drop: "); s; s = strstr(s + 1, "nfqd-drop: ")) {
		const char *end = strchr(s, '\n');
		char line[512];
		unsigned int sport = 0;

		snprintf(line, sizeof(line), "%.*s", end ? (int)(end - s) : (int)strlen(s), s);
		if (n++ == 0)
			fprintf(stderr, "first line: %s\n", line);
		if (sscanf(line, fmt, &sport) == 1 && sport != 0 && strstr(line, want))
			(*with_head)++;
		else if (!strstr(line, " udp " LISTED ":") || !strstr(line, want)) {
			fprintf(stderr, "unexpected drop log line: %s\n", line);
			(*bad)++;
		}
	}
	return n;
}

/* Send n datagrams from the listed address and wait until nfqd dropped drops in all. */
static void send_listed(struct itest *it, unsigned int n, uint64_t drops)
{
	assert_int_equal(udp_send(it->t.cli, LISTED, it->t.fw4, 5000, n, PAYLOAD, 1, 10, 200), n);
	itest_wait_stat(it, 0, "dropped", drops);
}

static void test_drop_log_writes_burst_lines_and_counts_the_rest(void **state)
{
	struct itest *it = *state;
	struct nfqd_queue_kstats ks;
	struct itest_count before;
	uint64_t logged, suppressed, ring_full, dropped, accepted, got;
	unsigned int lines, bad, head;
	char *log;
	int sink;

	itest_nfqd(it, "[policy]\n"
		       "rule = drop log log-prefix \"BL\" src @bl\n"
		       "[log]\n"
		       "rate = 1/h\n"
		       "burst = 5\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	before = itest_count(it);
	assert_int_equal(udp_send(it->t.cli, LISTED, it->t.fw4, 5000, N, PAYLOAD, 1, 10, 200), N);
	assert_int_equal(udp_send(it->t.cli, it->t.cli4, it->t.fw4, 5000, M, PAYLOAD, 1, 10, 200),
			 M);
	got = itest_delivered(it, &before, N + M, sink);
	close(sink);
	itest_wait_stat(it, 0, "dropped", N);
	itest_wait_stat(it, 0, "accepted", M);
	itest_wait_stat(it, 0, "log_suppressed", N - BURST);
	logged = itest_stat(it, 0, "logged");
	suppressed = itest_stat(it, 0, "log_suppressed");
	ring_full = itest_stat(it, 0, "log_ring_full");
	dropped = itest_stat(it, 0, "dropped");
	accepted = itest_stat(it, 0, "accepted");
	ks = itest_kline(it, 0);
	/* the stop drains the logging thread's rings after the workers: every line is written */
	log = itest_stop(it, 5000, NULL);
	lines = check_lines(log, "[BL] rule 1 drop", &head, &bad);
	fprintf(stderr,
		"sent %d+%d: delivered %llu, dropped %llu, accepted %llu; logged %llu, suppressed "
		"%llu, ring full %llu; %u lines (%u bad); kernel queued %u, full-dropped %u, "
		"user-dropped %u\n",
		N, M, (unsigned long long)got, (unsigned long long)dropped,
		(unsigned long long)accepted, (unsigned long long)logged,
		(unsigned long long)suppressed, (unsigned long long)ring_full, lines, bad,
		ks.queued, ks.full_dropped, ks.user_dropped);
	if (lines != BURST || bad)
		fprintf(stderr, "---- nfqd log ----\n%s------------------\n", log);
	free(log);
	assert_int_equal(got, M);
	assert_int_equal(dropped, N);
	assert_int_equal(accepted, M);
	assert_int_equal(logged, BURST);
	assert_int_equal(suppressed, N - BURST);
	assert_int_equal(ring_full, 0);
	assert_int_equal(lines, BURST);
	assert_int_equal(head, BURST);
	assert_int_equal(bad, 0);
	assert_int_equal(ks.queued, 0);
	assert_int_equal(ks.full_dropped, 0);
	assert_int_equal(ks.user_dropped, 0);
}

/*
 * A reload that brings the first log rule starts the logging thread; after a reload, lines
 * carry the new rules' numbers and prefix, each rule starts with the new [log] burst whole, and
 * the lines of the old rules stay as they were.
 */
static void test_drop_log_follows_a_reload(void **state)
{
	struct itest *it = *state;
	unsigned int lines, bad, old_lines, new_lines;
	uint64_t suppressed;
	char *log;

	itest_nfqd(it, "[policy]\nrule = drop src @bl\n");
	send_listed(it, 10, 10);
	itest_reload_ok(it,
			"[policy]\n"
			"rule = drop log log-prefix \"BL\" src @bl\n"
			"[log]\n"
			"rate = 1/h\n"
			"burst = 5\n",
			2);
	send_listed(it, 10, 20);
	itest_wait_stat(it, 0, "log_suppressed", 5);
	itest_reload_ok(it,
			"[policy]\n"
			"rule = accept proto icmp\n"
			"rule = drop log-prefix \"BL two\" src @bl\n"
			"[log]\n"
			"rate = 1/h\n"
			"burst = 3\n",
			3);
	send_listed(it, 10, 30);
	suppressed = itest_wait_stat(it, 0, "log_suppressed", 5 + 7);
	log = itest_stop(it, 5000, NULL);
	lines = check_lines(log, "[BL] rule 1 drop", &old_lines, &bad);
	check_lines(log, "[BL two] rule 2 drop", &new_lines, &bad);
	fprintf(stderr,
		"%u lines: %u of the second rules, %u of the third, %u bad; suppressed %llu\n",
		lines, old_lines, new_lines, bad, (unsigned long long)suppressed);
	if (lines != 8 || bad)
		fprintf(stderr, "---- nfqd log ----\n%s------------------\n", log);
	free(log);
	assert_int_equal(old_lines, 5);
	assert_int_equal(new_lines, 3);
	assert_int_equal(lines, 8);
	assert_int_equal(bad, 0);
	assert_int_equal(suppressed, 12);
}

/*
 * Every packet handed to the drop log is written, also those still in the ring when nfqd is
 * told to stop right after their verdicts: the logging thread stops after the workers and
 * drains first (more records than it takes from one ring in one turn).
 */
static void test_every_logged_packet_is_written_by_the_stop(void **state)
{
	struct itest *it = *state;
	unsigned int lines, bad, head;
	uint64_t logged, ring_full;
	char *log;

	itest_nfqd(it, "[policy]\n"
		       "rule = drop log src @bl\n"
		       "[log]\n"
		       "rate = 1/h\n"
		       "burst = 400\n");
	send_listed(it, 300, 300);
	logged = itest_wait_stat(it, 0, "logged", 300);
	ring_full = itest_stat(it, 0, "log_ring_full");
	log = itest_stop(it, 5000, NULL);
	lines = check_lines(log, "rule 1 drop", &head, &bad);
	fprintf(stderr, "logged %llu, ring full %llu: %u lines (%u as expected, %u bad)\n",
		(unsigned long long)logged, (unsigned long long)ring_full, lines, head, bad);
	free(log);
	assert_int_equal(logged, 300);
	assert_int_equal(ring_full, 0);
	assert_int_equal(lines, 300);
	assert_int_equal(head, 300);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_drop_log_writes_burst_lines_and_counts_the_rest, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_drop_log_follows_a_reload, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_every_logged_packet_is_written_by_the_stop,
						setup, itest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
