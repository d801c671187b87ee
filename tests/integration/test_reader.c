/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_reader, the benchmark's plain readers: each mode gives every queued packet exactly one
 * verdict, the one asked for, on one queue and on two. Counted by the kernel: the queue's own
 * counters, and a counting rule in the security table, which sees a packet only after its
 * NFQUEUE verdict in the filter table was accept.
 */
#include "itest.h"

#include "bgproc.h"
#include "nfqd/queue.h"

#define N 6000

/* The reader of the running test, killed by the teardown whatever the outcome. */
static struct bgproc reader = { .pid = -1, .out_fd = -1 };

static int setup_queues(void **state, const char *target)
{
	struct itest *it;

	if (itest_setup(state, "rd") < 0)
		return -1;
	it = *state;
	reader = (struct bgproc){ .pid = -1, .out_fd = -1 };
	if (ns_sh(it->t.fw, "iptables -A INPUT -p udp --dport 5000 -j NFQUEUE %s", target) != 0)
		return -1;
	return ns_sh(it->t.fw, "iptables -t security -A INPUT -p udp --dport 5000");
}

static int teardown(void **state)
{
	bgproc_cleanup(&reader);
	return itest_teardown(state);
}

static int setup(void **state)
{
	return setup_queues(state, "--queue-num 0");
}

static int setup_two(void **state)
{
	return setup_queues(state, "--queue-balance 0:1");
}

/* Wait until queues 0..last together were given n packets and hold none; fail with the numbers
 * otherwise. */
static void wait_all_answered(struct itest *it, unsigned int last, uint64_t n)
{
	struct nfqd_queue_kstats ks[2] = { 0 };
	uint64_t ids = 0, queued = 0;

	for (int waited = 0; waited < ITEST_DEADLINE_MS; waited += 20) {
		ids = queued = 0;
		for (unsigned int q = 0; q <= last; q++) {
			assert_int_equal(kernel_queue_kstats(it->t.fw, q, &ks[q]), 0);
			ids += ks[q].last_id;
			queued += ks[q].queued;
		}
		if (ids >= n && queued == 0)
			break;
		usleep(20000);
	}
	for (unsigned int q = 0; q <= last; q++)
		if (ks[q].full_dropped || ks[q].user_dropped)
			fail_msg("queue %u dropped packets: %u full, %u socket", q,
				 ks[q].full_dropped, ks[q].user_dropped);
	if (ids != n || queued != 0) {
		ns_sh(it->t.fw,
		      "iptables -nvxL INPUT >&2; cat /proc/net/netfilter/nfnetlink_queue >&2");
		fail_msg("the kernel queued %llu packets (want %llu), %llu still wait",
			 (unsigned long long)ids, (unsigned long long)n,
			 (unsigned long long)queued);
	}
}

static void check_reader(void **state, const char *mode, const char *verdict, bool two)
{
	struct itest *it = *state;
	char *argv[] = { (char *)bench_reader_bin(),
			 "--mode",
			 (char *)mode,
			 two ? "--queues" : "--queue",
			 two ? "0:1" : "0",
			 "--verdict",
			 (char *)verdict,
			 NULL };
	bool accept = !strcmp(verdict, "accept");
	char srcs[512], want[64], *log;
	uint64_t passed;
	int st = -1, sink;

	assert_int_equal(topo_add_client_addrs(&it->t, 16, srcs, sizeof(srcs)), 0);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(bgproc_init(&reader), 0);
	assert_int_equal(bgproc_start(&reader, it->t.fw, argv, "ready", ITEST_DEADLINE_MS, &st), 0);

	assert_int_equal(udp_send(it->t.cli, srcs, it->t.fw4, 5000, N, 18, 32, 32, 200), N);
	wait_all_answered(it, two ? 1 : 0, N);
	if (accept)
		assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	passed = ipt_rule_packets(it->t.fw, "security", "INPUT", 1);
	if (two) {
		struct nfqd_queue_kstats k0, k1;

		/* the balance spread the sources: each queue, and so each thread, served some */
		assert_int_equal(kernel_queue_kstats(it->t.fw, 0, &k0), 0);
		assert_int_equal(kernel_queue_kstats(it->t.fw, 1, &k1), 0);
		assert_true(k0.last_id > 0 && k1.last_id > 0);
	}

	assert_int_equal(bgproc_stop(&reader, SIGTERM, ITEST_DEADLINE_MS, &st), 0);
	log = bgproc_log(&reader);
	bgproc_cleanup(&reader);
	close(sink);
	snprintf(want, sizeof(want), "packets %d\n", N);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(log, want)) {
		fprintf(stderr, "---- bench_reader ----\n%s", log);
		free(log);
		fail_msg("bench_reader did not exit 0 having answered %d packets (status 0x%x)", N,
			 st);
	}
	free(log);
	/* exactly one verdict each: accepted ones pass the counting rule once, dropped ones never
	 */
	assert_int_equal(passed, accept ? N : 0);
}

static void test_floor_accepts_every_packet(void **state)
{
	check_reader(state, "floor", "accept", false);
}

static void test_floor_drops_every_packet(void **state)
{
	check_reader(state, "floor", "drop", false);
}

static void test_single_accepts_every_packet(void **state)
{
	check_reader(state, "single", "accept", false);
}

static void test_single_drops_every_packet(void **state)
{
	check_reader(state, "single", "drop", false);
}

static void test_floor_serves_two_queues(void **state)
{
	check_reader(state, "floor", "accept", true);
}

static void test_single_serves_two_queues(void **state)
{
	check_reader(state, "single", "drop", true);
}

static void test_bad_option_is_named(void **state)
{
	struct itest *it = *state;
	char *out = NULL;
	int r = ns_sh_out(it->t.fw, &out, "%s --mode floor --queue 0 --batch 0 2>&1",
			  bench_reader_bin());

	assert_int_equal(r, 2);
	assert_non_null(strstr(out, "bad value '0' for --batch"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_floor_accepts_every_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_floor_drops_every_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_accepts_every_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_drops_every_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_floor_serves_two_queues, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_single_serves_two_queues, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_bad_option_is_named, setup, teardown),
	};

	return cmocka_run_group_tests_name("integration: bench_reader", tests, NULL, NULL);
}
