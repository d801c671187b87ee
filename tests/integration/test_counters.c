/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-rule counters on the real kernel: known numbers of packets hitting rule 1, rule 2 and the
 * default on two queues show up, packets and bytes, per rule and per queue in `nfqctl stats`; a
 * reload that inserts a rule before them renumbers them and their counts follow them; each
 * queue's batch-size histogram adds up to its batches counter.
 */
#include "itest.h"

#define P_R1  5101 /* dropped by rule 1 */
#define P_R2  5102 /* accepted by rule 2 */
#define P_DEF 5103 /* no rule: the default (accept) */
#define P_NEW 5104 /* the rule the reload inserts */
/* 200 bytes of payload in 228-byte IPv4 packets: the copy range of 64 cuts them, and the byte
 * counts must still be of the packets' full length */
#define PAYLOAD	  200
#define IP_LEN	  (20 + 8 + PAYLOAD)

#define HEAD	  "[queue]\nqueues = 0-1\ncopy-range = 64\n[policy]\n" /* lines 1-4 */
#define RULES_OLD HEAD "rule = drop proto udp dport 5101\nrule = accept  proto udp  dport 5102\n"
#define RULES_NEW                                                                                  \
	HEAD "rule = accept proto udp dport 5104\nrule = drop proto udp dport 5101\n"              \
	     "rule = accept proto udp dport 5102\n"

static char q1_src[64]; /* the client address whose packets go to queue 1 */

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "ct") < 0)
		return -1;
	it = *state;
	if (topo_add_client_addrs(&it->t, 1, q1_src, sizeof(q1_src)) < 0)
		return -1;
	/* the queue by the source address: each sender's packets meet one worker */
	return ns_sh(it->t.fw,
		     "iptables -A INPUT -p udp -s %s -j NFQUEUE --queue-num 1 && "
		     "iptables -A INPUT -p udp -s %s -j NFQUEUE --queue-num 0",
		     q1_src, it->t.cli4);
}

/*
 * key of rule (1-based; 0: the default object) in the stats JSON: of the rule as a whole with
 * queue -1, else of its entry for that queue. UINT64_MAX when absent.
 */
static uint64_t rule_get(const char *json, unsigned int rule, int queue, const char *key)
{
	char pat[64];
	const char *obj, *qs, *end, *at;

	if (rule)
		snprintf(pat, sizeof(pat), "{\"rule\":%u,", rule);
	else
		snprintf(pat, sizeof(pat), "\"default\":{");
	obj = strstr(json, pat);
	qs = obj ? strstr(obj, "\"queues\":[") : NULL;
	end = qs ? strchr(qs, ']') : NULL;
	if (!end)
		return UINT64_MAX;
	if (queue >= 0) {
		snprintf(pat, sizeof(pat), "{\"queue\":%d,", queue);
		obj = strstr(qs, pat);
		if (!obj || obj > end)
			return UINT64_MAX;
	}
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(obj, pat);
	if (!at || at > end)
		return UINT64_MAX;
	return strtoull(at + strlen(pat), NULL, 10);
}

/* The sum of queue's batch-size histogram; UINT64_MAX when absent. */
static uint64_t histogram_sum(const char *json, int queue)
{
	char pat[64];
	const char *q, *h, *end;
	uint64_t sum = 0;
	unsigned int keys = 0;

	snprintf(pat, sizeof(pat), "{\"queue\":%d,", queue);
	q = strstr(json, pat);
	h = q ? strstr(q, "\"batch_sizes\":{") : NULL;
	end = h ? strchr(h, '}') : NULL;
	if (!end)
		return UINT64_MAX;
	for (const char *at = strchr(h + 15, '"'); at && at < end; at = strchr(at, '"')) {
		const char *colon = strchr(at + 1, '"');

		if (!colon || colon > end)
			break;
		sum += strtoull(colon + 2, NULL, 10);
		keys++;
		at = strchr(colon + 2, ',');
		if (!at || at > end)
			break;
	}
	return keys == 10 ? sum : UINT64_MAX;
}

/*
 * Sinks on the ports whose packets are accepted: without a listener the firewall would answer
 * with port unreachable, and the next send of that client socket would fail.
 */
struct sinks {
	int fd[3];
};

static void sinks_open(struct itest *it, struct sinks *s)
{
	static const uint16_t ports[3] = { P_R2, P_DEF, P_NEW };

	for (int i = 0; i < 3; i++) {
		s->fd[i] = udp_sink_open(it->t.fw, "0.0.0.0", ports[i]);
		assert_true(s->fd[i] >= 0);
	}
}

static void sinks_close(struct sinks *s)
{
	for (int i = 0; i < 3; i++)
		close(s->fd[i]);
}

/* Send n datagrams to port from the queue's client address. */
static void send_to(struct itest *it, int queue, uint16_t port, unsigned long n)
{
	assert_int_equal(udp_send(it->t.cli, queue ? q1_src : it->t.cli4, it->t.fw4, port, n,
				  PAYLOAD, 1, 8, 200),
			 (long long)n);
}

/* The expected packets of each rule (1-based, 0: the default) on each queue. */
struct expect {
	uint64_t p[4][2];
};

/*
 * Wait until the rules and the default have counted `total` packets in all (a batch's counts
 * are published after its verdicts), then check each count and byte count, per queue and in
 * all. Prints the stats when a number is off.
 */
static void check_rules(struct itest *it, const struct expect *e, unsigned int n_rules,
			uint64_t total)
{
	char *json = NULL;
	uint64_t have = 0;

	for (int waited = 0; waited < ITEST_DEADLINE_MS; waited += 20) {
		free(json);
		json = itest_stats(it);
		have = 0;
		for (unsigned int r = 0; r <= n_rules; r++)
			have += rule_get(json, r, -1, "packets");
		if (have >= total)
			break;
		usleep(20 * 1000);
	}
	for (unsigned int r = 0; r <= n_rules; r++) {
		uint64_t sum = e->p[r][0] + e->p[r][1];

		for (int q = 0; q < 2; q++) {
			if (rule_get(json, r, q, "packets") == e->p[r][q] &&
			    rule_get(json, r, q, "bytes") == e->p[r][q] * IP_LEN)
				continue;
			fprintf(stderr, "stats: %s\n", json);
			fail_msg("rule %u (0: default), queue %d: %llu packets, %llu bytes; "
				 "expected %llu and %llu (%llu counted of %llu)",
				 r, q, (unsigned long long)rule_get(json, r, q, "packets"),
				 (unsigned long long)rule_get(json, r, q, "bytes"),
				 (unsigned long long)e->p[r][q],
				 (unsigned long long)(e->p[r][q] * IP_LEN),
				 (unsigned long long)have, (unsigned long long)total);
		}
		if (rule_get(json, r, -1, "packets") != sum ||
		    rule_get(json, r, -1, "bytes") != sum * IP_LEN) {
			fprintf(stderr, "stats: %s\n", json);
			fail_msg("rule %u (0: default): %llu packets, %llu bytes in all; expected "
				 "%llu and %llu",
				 r, (unsigned long long)rule_get(json, r, -1, "packets"),
				 (unsigned long long)rule_get(json, r, -1, "bytes"),
				 (unsigned long long)sum, (unsigned long long)(sum * IP_LEN));
		}
	}
	free(json);
}

/* The JSON holds want (a rule's number, line, text and verdict); fails with the stats. */
static void assert_stats_hold(struct itest *it, const char *want)
{
	char *json = itest_stats(it);
	bool found = strstr(json, want) != NULL;

	if (!found)
		fprintf(stderr, "stats: %s\n", json);
	free(json);
	if (!found)
		fail_msg("the stats lack %s", want);
}

static void test_rule_counters_per_queue_follow_their_rules_across_a_reload(void **state)
{
	struct itest *it = *state;
	struct expect e = { { { 0 } } };
	struct sinks sk;

	sinks_open(it, &sk);
	itest_nfqd(it, RULES_OLD);
	send_to(it, 0, P_R1, 10);
	send_to(it, 0, P_R2, 20);
	send_to(it, 0, P_DEF, 30);
	send_to(it, 1, P_R1, 5);
	send_to(it, 1, P_R2, 7);
	send_to(it, 1, P_DEF, 9);
	e.p[1][0] = 10, e.p[2][0] = 20, e.p[0][0] = 30;
	e.p[1][1] = 5, e.p[2][1] = 7, e.p[0][1] = 9;
	check_rules(it, &e, 2, 81);
	assert_stats_hold(it, "{\"rule\":1,\"line\":5,\"text\":\"drop proto udp dport 5101\","
			      "\"verdict\":\"drop\",");
	assert_stats_hold(it, "{\"rule\":2,\"line\":6,\"text\":\"accept proto udp dport 5102\","
			      "\"verdict\":\"accept\",");
	assert_stats_hold(it, "\"default\":{\"verdict\":\"accept\",");

	/* a rule inserted first: the old ones are rules 2 and 3 now, with their counts */
	itest_reload_ok(it, RULES_NEW, 2);
	memmove(&e.p[2], &e.p[1], 2 * sizeof(e.p[0]));
	e.p[1][0] = e.p[1][1] = 0;
	check_rules(it, &e, 3, 81);
	assert_stats_hold(it, "{\"rule\":1,\"line\":5,\"text\":\"accept proto udp dport 5104\","
			      "\"verdict\":\"accept\",\"packets\":0,");
	assert_stats_hold(it, "{\"rule\":2,\"line\":6,\"text\":\"drop proto udp dport 5101\",");
	assert_stats_hold(it, "{\"rule\":3,\"line\":7,\"text\":\"accept proto udp dport 5102\",");

	/* and they go on counting where they are now */
	send_to(it, 0, P_NEW, 4);
	send_to(it, 1, P_R1, 3);
	send_to(it, 0, P_R2, 2);
	send_to(it, 1, P_DEF, 1);
	e.p[1][0] += 4, e.p[2][1] += 3, e.p[3][0] += 2, e.p[0][1] += 1;
	check_rules(it, &e, 3, 91);
	free(itest_stop(it, 5000, NULL));
	sinks_close(&sk);
}

/* Every receive call that returned messages is in one bucket of its queue's histogram. */
static void test_batch_histogram_adds_up_to_batches(void **state)
{
	struct itest *it = *state;
	uint64_t batches[2], sums[2];
	struct sinks sk;
	char *json;

	sinks_open(it, &sk);
	itest_nfqd(it, RULES_OLD);
	/* bursts of 64 and single packets: several sizes */
	assert_int_equal(udp_send(it->t.cli, it->t.cli4, it->t.fw4, P_DEF, 2000, 32, 4, 64, 0),
			 2000);
	send_to(it, 1, P_DEF, 50);
	itest_wait_stat(it, -1, "received", 2050);
	/* the histogram is committed with the batch counters: one snapshot shows both */
	json = itest_stats(it);
	for (int q = 0; q < 2; q++) {
		batches[q] = stats_get(json, q, "batches");
		sums[q] = histogram_sum(json, q);
	}
	if (batches[0] != sums[0] || batches[1] != sums[1] || batches[0] == 0 || batches[1] == 0)
		fprintf(stderr, "stats: %s\n", json);
	free(json);
	for (int q = 0; q < 2; q++) {
		if (batches[q] == 0 || batches[q] != sums[q])
			fail_msg("queue %d: %llu batches, histogram holds %llu", q,
				 (unsigned long long)batches[q], (unsigned long long)sums[q]);
	}
	free(itest_stop(it, 5000, NULL));
	sinks_close(&sk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_rule_counters_per_queue_follow_their_rules_across_a_reload, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_batch_histogram_adds_up_to_batches, setup,
						itest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
