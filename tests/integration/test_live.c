/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live set edits and set failures on the real kernel: `ipset add/del/swap/flush` apply to the
 * next packet nfqd classifies, answered both ways (IPSET_CMD_TEST behind a plain NFQUEUE rule,
 * the kernel's mark bits behind the generated rules); a missing set is a start-up error; a set
 * destroyed while nfqd runs gives the on-set-error verdict, logged once, until it is back.
 */
#include <stdatomic.h>
#include <time.h>
#include <sys/socket.h>

#include "itest.h"
#include "itrace.h"

#define N 20

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "live") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "ipset create bl hash:ip && ipset create bl2 hash:ip");
}

/* Queue UDP to nfqd with a plain rule (set answers by IPSET_CMD_TEST) or through the generated
 * chain (answers in mark bits), and start nfqd with config. */
static void start(struct itest *it, const char *config, bool generated)
{
	if (generated) {
		assert_int_equal(nfqd_rules_load(it->t.fw, config, false), 0);
		itest_fw(it, "iptables -A INPUT -p udp -j NFQD");
	} else {
		itest_fw(it, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	}
	itest_nfqd(it, config);
}

/* Datagrams of N sent from the client to dst that reached the sink, once nfqd has given
 * every one its verdict. */
static uint64_t pass_to(struct itest *it, int sink, const char *dst)
{
	struct itest_count before = itest_count(it);

	assert_int_equal(udp_send(it->t.cli, NULL, dst, 5000, N, 32, 1, 10, 200), N);
	return itest_delivered(it, &before, N, sink);
}

static uint64_t pass(struct itest *it, int sink)
{
	return pass_to(it, sink, it->t.fw4);
}

static void edits_apply_to_the_next_packet(struct itest *it, bool generated)
{
	int sink;

	start(it, "[policy]\nrule = drop src @bl\n", generated);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);

	assert_int_equal(pass(it, sink), N);
	itest_fw(it, "ipset add bl %s", it->t.cli4);
	assert_int_equal(pass(it, sink), 0);
	itest_fw(it, "ipset del bl %s", it->t.cli4);
	assert_int_equal(pass(it, sink), N);

	/* swap: the name now holds what bl2 held */
	itest_fw(it, "ipset add bl2 %s && ipset swap bl bl2", it->t.cli4);
	assert_int_equal(pass(it, sink), 0);
	itest_fw(it, "ipset swap bl bl2");
	assert_int_equal(pass(it, sink), N);

	itest_fw(it, "ipset add bl %s", it->t.cli4);
	assert_int_equal(pass(it, sink), 0);
	itest_fw(it, "ipset flush bl");
	assert_int_equal(pass(it, sink), N);
	close(sink);
	free(itest_stop(it, 2000, NULL));
}

static void test_add_del_swap_flush_apply_to_the_next_packet_by_test(void **state)
{
	edits_apply_to_the_next_packet(*state, false);
}

static void test_add_del_swap_flush_apply_to_the_next_packet_by_mark(void **state)
{
	edits_apply_to_the_next_packet(*state, true);
}

/* A paced flow of sequence-numbered datagrams, for edits made while traffic flows. */
struct flow {
	pthread_t thread;
	int fd;
	atomic_int stop;
	atomic_ullong next; /* sequence number of the next datagram */
};

static void *flow_main(void *arg)
{
	struct flow *f = arg;
	uint64_t seq = 1;

	while (!atomic_load(&f->stop)) {
		if (udp_flow_send(f->fd, 1, &seq, 1, 0) != 1)
			break;
		atomic_store(&f->next, seq);
		usleep(300);
	}
	return NULL;
}

/* Datagrams on the sink, and how many of them carry a sequence number >= from. */
static uint64_t drain_from(int sink, uint64_t from, uint64_t *at_or_after)
{
	uint64_t v, total = 0;

	*at_or_after = 0;
	while (recv(sink, &v, sizeof(v), MSG_DONTWAIT) == (ssize_t)sizeof(v)) {
		total++;
		if (v >= from)
			(*at_or_after)++;
	}
	return total;
}

/* Read the sink until `want` datagrams numbered from `from` on have arrived, or the deadline;
 * returns how many numbered from `from` on did, adding every datagram read to *total. */
static uint64_t wait_from(int sink, uint64_t from, uint64_t want, uint64_t *total)
{
	uint64_t late = 0, l;

	for (int waited = 0; waited < ITEST_DEADLINE_MS; waited += 10) {
		*total += drain_from(sink, from, &l);
		late += l;
		if (late >= want)
			break;
		usleep(10 * 1000);
	}
	*total += drain_from(sink, from, &l);
	return late + l;
}

/* Wait until the flow has sent `more` datagrams after number `from`. */
static void wait_sent(struct flow *f, uint64_t from, uint64_t more)
{
	for (int waited = 0; atomic_load(&f->next) < from + more; waited += 10) {
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("the flow sent %llu datagrams in %d ms, expected %llu",
				 (unsigned long long)(atomic_load(&f->next) - from),
				 ITEST_DEADLINE_MS, (unsigned long long)more);
		usleep(10 * 1000);
	}
}

static void edits_while_traffic_flows(struct itest *it, bool generated)
{
	struct flow f = { .fd = -1 };
	uint64_t after_add, after_del, late, total = 0, sent, dropped;
	int sink;

	start(it, "[policy]\nrule = drop src @bl\n", generated);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	f.fd = udp_flow_open(it->t.cli, NULL, it->t.fw4, 5000);
	assert_true(sink >= 0 && f.fd >= 0);
	atomic_store(&f.next, 1);
	assert_int_equal(pthread_create(&f.thread, NULL, flow_main, &f), 0);

	/* the flow passes before the add */
	if (wait_from(sink, 1, 20, &total) < 20)
		fail_msg("only %llu datagrams passed before the add", (unsigned long long)total);
	itest_fw(it, "ipset add bl %s", it->t.cli4);
	/* The flow publishes the next number after each send returns: the datagram of that
	 * number may be on its way already, and so may have crossed the firewall before the add.
	 * Every datagram numbered above it was sent after the add had taken effect. */
	after_add = atomic_load(&f.next) + 1;
	dropped = itest_total(it, "dropped");
	wait_sent(&f, after_add, 200);
	/* nfqd has given a verdict to many of them: all those were drops */
	itest_wait_total(it, "dropped", dropped + 100);
	drain_from(sink, after_add, &late);
	if (late != 0)
		fail_msg("%llu datagrams sent after ipset add were delivered",
			 (unsigned long long)late);

	itest_fw(it, "ipset del bl %s", it->t.cli4);
	after_del = atomic_load(&f.next) + 1; /* as after_add */
	wait_sent(&f, after_del, 200);
	atomic_store(&f.stop, 1);
	pthread_join(f.thread, NULL);
	sent = atomic_load(&f.next);
	/* every datagram sent after the del is delivered */
	assert_true(sent > after_del);
	late = wait_from(sink, after_del, sent - after_del, &total);
	if (late != sent - after_del)
		fail_msg("%llu of the %llu datagrams sent after ipset del were delivered",
			 (unsigned long long)late, (unsigned long long)(sent - after_del));
	close(f.fd);
	close(sink);
	free(itest_stop(it, 2000, NULL));
}

static void test_edits_while_traffic_flows_by_test(void **state)
{
	edits_while_traffic_flows(*state, false);
}

static void test_edits_while_traffic_flows_by_mark(void **state)
{
	edits_while_traffic_flows(*state, true);
}

/* No packet took the on-set-error verdict: every answer came from the kernel. */
static void assert_no_set_failures(struct itest *it)
{
	assert_int_equal(itest_total(it, "set_failed"), 0);
}

/*
 * The steps: a set of family inet6 behind `drop src @bl`, recreated as inet with the
 * client's address while nfqd runs. The cached header said inet6, which an IPv4 packet cannot
 * match; the header read after the tests says inet, so the packets are asked again at once.
 */
static void test_a_set_recreated_inet6_to_inet_is_seen_at_the_next_packet(void **state)
{
	struct itest *it = *state;
	uint64_t tests;
	int sink;

	itest_fw(it, "ipset destroy bl && ipset create bl hash:ip family inet6");
	start(it, "[policy]\nrule = drop src @bl\n", false);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(pass(it, sink), N);

	itest_fw(it, "ipset destroy bl && ipset create bl hash:ip && ipset add bl %s", it->t.cli4);
	tests = itest_total(it, "set_tests");
	assert_int_equal(pass(it, sink), 0);
	assert_true(itest_total(it, "set_tests") > tests);
	assert_no_set_failures(it);
	close(sink);
	free(itest_stop(it, 2000, NULL));
}

static void test_a_set_recreated_inet_to_inet6_is_seen_at_the_next_packet(void **state)
{
	struct itest *it = *state;
	int sink;

	itest_fw(it, "ip6tables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	start(it, "[policy]\nrule = drop src @bl\n", false);
	sink = udp_sink_open(it->t.fw, "::", 5000);
	assert_true(sink >= 0);
	assert_int_equal(pass_to(it, sink, it->t.fw6), N);

	itest_fw(it, "ipset destroy bl && ipset create bl hash:ip family inet6 && ipset add bl %s",
		 it->t.cli6);
	assert_int_equal(pass_to(it, sink, it->t.fw6), 0);
	assert_no_set_failures(it);
	close(sink);
	free(itest_stop(it, 2000, NULL));
}

/*
 * hash:ip -> hash:ip,port: the kernel answers an element without a port "not a member", so
 * only the header tells; hash:ip,port -> hash:net: the element with a port is refused; back to
 * hash:ip. Each change is seen at the next packet, with no packet failed.
 */
static void test_a_set_recreated_with_another_type_is_seen_at_the_next_packet(void **state)
{
	struct itest *it = *state;
	int sink;

	start(it, "[policy]\nrule = drop dst @bl\n", false);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(pass(it, sink), N);

	itest_fw(it, "ipset destroy bl && ipset create bl hash:ip,port && ipset add bl %s,udp:5000",
		 it->t.fw4);
	assert_int_equal(pass(it, sink), 0);
	itest_fw(it, "ipset del bl %s,udp:5000 && ipset add bl %s,udp:5001", it->t.fw4, it->t.fw4);
	assert_int_equal(pass(it, sink), N);

	itest_fw(it, "ipset destroy bl && ipset create bl hash:net && ipset add bl 10.199.0.0/24");
	assert_int_equal(pass(it, sink), 0);

	itest_fw(it, "ipset destroy bl && ipset create bl hash:ip");
	assert_int_equal(pass(it, sink), N);
	assert_no_set_failures(it);
	close(sink);
	free(itest_stop(it, 2000, NULL));
}

static void test_a_missing_set_at_start_is_an_error_naming_set_and_rule(void **state)
{
	struct itest *it = *state;
	struct nfqd_proc d;
	int st = 0;
	char *log;

	assert_int_equal(nfqd_start(&d, it->t.fw,
				    "[policy]\nrule = accept dport 22\nrule = drop "
				    "src @nosuch\n",
				    5000, &st),
			 1);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	log = nfqd_log(&d);
	if (!strstr(log, "nfqd.conf:3: rule 'drop src @nosuch': set 'nosuch' does not exist"))
		fail_msg("unexpected log: %s", log);
	free(log);
	nfqd_cleanup(&d);
}

/* How often a line appears in the log. */
static int count_lines(const char *log, const char *what)
{
	int n = 0;

	for (const char *p = strstr(log, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static void test_destroyed_set_fails_to_drop_logs_once_and_recovers(void **state)
{
	struct itest *it = *state;
	int sink, gone, back;
	char *log;

	start(it, "[policy]\nrule = drop src @bl\n", false);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_int_equal(pass(it, sink), N);

	itest_fw(it, "ipset destroy bl");
	/* several batches while it is gone: each packet gets the on-set-error verdict */
	assert_int_equal(pass(it, sink), 0);
	assert_int_equal(pass(it, sink), 0);
	assert_int_equal(itest_wait_stat(it, 0, "set_failed", 2 * N), 2 * N);

	itest_fw(it, "ipset create bl hash:ip");
	assert_int_equal(pass(it, sink), N);
	/* and back with another type: the header is read again */
	itest_fw(it, "ipset destroy bl && ipset create bl hash:net && ipset add bl 10.199.0.0/24");
	assert_int_equal(pass(it, sink), 0);
	assert_int_equal(itest_wait_stat(it, 0, "set_failed", 2 * N), 2 * N);

	log = itest_stop(it, 2000, NULL);
	gone = count_lines(log, "set 'bl' (src @bl) does not exist");
	back = count_lines(log, "set 'bl' (src @bl) answers again");
	free(log);
	assert_int_equal(gone, 1);
	assert_int_equal(back, 1);
	close(sink);
}

static void test_on_set_error_accept_lets_packets_pass_while_the_set_is_gone(void **state)
{
	struct itest *it = *state;
	int sink;

	start(it, "[policy]\non-set-error = accept\nrule = drop src @bl\n", false);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	itest_fw(it, "ipset add bl %s", it->t.cli4);
	assert_int_equal(pass(it, sink), 0);
	itest_fw(it, "ipset destroy bl");
	assert_int_equal(pass(it, sink), N);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_a_set_the_generated_rules_use_cannot_be_destroyed(void **state)
{
	struct itest *it = *state;

	start(it, "[policy]\nrule = drop src @bl\n", true);
	/* the kernel refuses: the rules keep answering for it, so nothing can fail */
	assert_true(ns_sh(it->t.fw, "ipset destroy bl 2>/dev/null") != 0);
	free(itest_stop(it, 2000, NULL));
}

/* ---- every wait for the kernel's set answers is bounded (set-timeout) ---- */

/* Datagrams sent one at a time while answers go missing, each answered before the next. */
#define K_MISSING 5

/* on-set-error = accept: a packet whose answer is missing passes, where its answer drops it */
#define BOUNDED(rule)                                                                              \
	"[policy]\non-set-error = accept\nset-timeout = 20ms\nrule = " rule "\n"                   \
	"[daemon]\nseccomp = no\n"

/*
 * The worker has a per-packet budget far above set-timeout (20 ms) and far below the 2 s a
 * worker used to wait for one missing answer; a busy machine may stretch the first, never
 * shrink the second.
 */
#define PER_PACKET_BUDGET_MS 1000

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Send K_MISSING datagrams one at a time, each given its verdict before the next goes (so each
 * is a batch, an exchange, of its own), while their set answers never come: each passes by the
 * on-set-error verdict within the budget, and the queue keeps flowing.
 */
static void pass_one_by_one_within_the_bound(struct itest *it, int sink)
{
	long long t0 = mono_ms(), took;
	uint64_t got = 0;

	for (int i = 0; i < K_MISSING; i++) {
		struct itest_count before = itest_count(it);

		assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, 1, 32, 1, 1, 0), 1);
		got += itest_delivered(it, &before, 1, sink);
	}
	took = mono_ms() - t0;
	if (got != K_MISSING || took >= K_MISSING * PER_PACKET_BUDGET_MS) {
		itest_print_log(it);
		fail_msg("%llu of %d datagrams passed by on-set-error, in %lld ms (budget %d ms)",
			 (unsigned long long)got, K_MISSING, took,
			 K_MISSING * PER_PACKET_BUDGET_MS);
	}
	assert_int_equal(itest_wait_total(it, "set_timeouts", K_MISSING), K_MISSING);
	assert_int_equal(itest_total(it, "set_failed"), K_MISSING);
}

/* Start nfqd with config, whose rule drops the client, and see it does; returns the sink. */
static int start_bounded(struct itest *it, const char *config)
{
	int sink;

	start(it, config, false);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	assert_int_equal(pass(it, sink), 0);
	return sink;
}

/* After the fault: answers are taken again, and none of the abandoned exchanges' leftovers. */
static void answers_are_used_again(struct itest *it, int sink)
{
	assert_int_equal(pass(it, sink), 0);
	assert_int_equal(itest_total(it, "set_failed"), K_MISSING);
	assert_int_equal(itest_total(it, "set_timeouts"), K_MISSING);
	close(sink);
	itest_stop_logged(it, "the kernel's set answers did not all come within set-timeout "
			      "(20 ms): on-set-error verdict (accept) for 1 packets");
}

static void test_tests_the_kernel_never_answers_give_on_set_error_within_set_timeout(void **state)
{
	struct itest *it = *state;
	pid_t tracer;
	int sink;

	itest_fw(it, "ipset add bl %s", it->t.cli4);
	sink = start_bounded(it, BOUNDED("drop src @bl"));

	/* The next K_MISSING exchanges' requests never reach the kernel: the worker's sendmsg()
	 * (ipset's TEST batches alone; verdicts go by send()) is skipped and says it sent. */
	tracer = itrace_worker(it, "sendmsg", "inject=sendmsg:retval=1:when=1..5");
	pass_one_by_one_within_the_bound(it, sink);
	itrace_detach(tracer);
	answers_are_used_again(it, sink);
}

static void test_a_list_set_read_whose_answer_is_never_read_gives_on_set_error_in_time(void **state)
{
	struct itest *it = *state;
	pid_t tracer;
	int sink;

	itest_fw(it,
		 "ipset create M hash:ip && ipset add M %s && ipset create L list:set && "
		 "ipset add L M",
		 it->t.cli4);
	sink = start_bounded(it, BOUNDED("drop src @L"));

	/* The answers to the list:set reads come, but every recvmsg() (those reads alone: the
	 * queue is read by recvmmsg(), the rest by recv()) says nothing is there yet, though
	 * poll() says there is: a wait bounded by poll()'s timeout alone never ends. The
	 * answers left behind must not be taken for a later read's. */
	tracer = itrace_worker(it, "recvmsg", "inject=recvmsg:error=EAGAIN");
	pass_one_by_one_within_the_bound(it, sink);
	itrace_detach(tracer);
	answers_are_used_again(it, sink);
}

/*
 * A kernel that stops answering costs one set-timeout, not one per batch: with one packet per
 * batch and the longest set-timeout (1 s), Q queued packets would take Q seconds; after the
 * first timeout the batches take what the kernel queued without waiting, and all Q pass by
 * on-set-error in well under half that. Once the kernel answers again, so does nfqd.
 */
static void test_a_kernel_that_stops_answering_costs_one_timeout_not_one_per_batch(void **state)
{
	const unsigned int q = 20;
	struct itest *it = *state;
	struct itest_count before;
	long long t0, took;
	pid_t tracer;
	int sink;

	itest_fw(it, "ipset add bl %s", it->t.cli4);
	sink = start_bounded(it, "[queue]\nbatch = 1\n[policy]\non-set-error = accept\n"
				 "set-timeout = 1s\nrule = drop src @bl\n[daemon]\nseccomp = no\n");

	/* from now on no TEST request reaches the kernel */
	tracer = itrace_worker(it, "sendmsg", "inject=sendmsg:retval=1");
	before = itest_count(it);
	t0 = mono_ms();
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, q, 32, 1, q, 0), q);
	assert_int_equal(itest_delivered(it, &before, q, sink), q);
	took = mono_ms() - t0;
	if (took >= q * 1000 / 2) {
		itest_print_log(it);
		fail_msg("%u batches without answers took %lld ms: more than half a set-timeout "
			 "(1 s) each",
			 q, took);
	}
	assert_int_equal(itest_wait_total(it, "set_timeouts", q), q);
	assert_int_equal(itest_total(it, "set_failed"), q);
	itrace_detach(tracer);

	assert_int_equal(pass(it, sink), 0);
	assert_int_equal(itest_total(it, "set_failed"), q);
	close(sink);
	free(itest_stop(it, 2000, NULL));
}

/*
 * The header of a list:set's member, read in the same bounded exchange as the list, does not
 * come: the list's answer is unknown (on-set-error), not "no member holds it", as it was when
 * a member that could not be read was skipped.
 */
static void test_a_list_set_member_whose_header_never_comes_fails_the_list(void **state)
{
	struct itest *it = *state;
	struct itest_count before;
	pid_t tracer;
	int sink;

	itest_fw(it, "ipset create M hash:ip && ipset create L list:set && ipset add L M");
	start(it,
	      "[policy]\non-set-error = drop\nset-timeout = 20ms\nrule = drop src @L\n"
	      "[daemon]\nseccomp = no\n",
	      false);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	/* the client is in no member set: it passes */
	assert_int_equal(pass(it, sink), N);

	/* The next packet's batch asks for L's members, then for M's header: its request, the
	 * worker's second sendto() from now (verdicts come after both), never goes out. */
	tracer = itrace_worker(it, "sendto", "inject=sendto:retval=1:when=2");
	before = itest_count(it);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, 1, 32, 1, 1, 0), 1);
	assert_int_equal(itest_delivered(it, &before, 1, sink), 0);
	assert_int_equal(itest_wait_total(it, "set_timeouts", 1), 1);
	assert_int_equal(itest_total(it, "set_failed"), 1);
	itrace_detach(tracer);

	assert_int_equal(pass(it, sink), N);
	assert_int_equal(itest_total(it, "set_failed"), 1);
	close(sink);
	free(itest_stop(it, 2000, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_add_del_swap_flush_apply_to_the_next_packet_by_test, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_add_del_swap_flush_apply_to_the_next_packet_by_mark, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_edits_while_traffic_flows_by_test, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_edits_while_traffic_flows_by_mark, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_set_recreated_inet6_to_inet_is_seen_at_the_next_packet, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_set_recreated_inet_to_inet6_is_seen_at_the_next_packet, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_set_recreated_with_another_type_is_seen_at_the_next_packet, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_missing_set_at_start_is_an_error_naming_set_and_rule, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_destroyed_set_fails_to_drop_logs_once_and_recovers, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_on_set_error_accept_lets_packets_pass_while_the_set_is_gone, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_set_the_generated_rules_use_cannot_be_destroyed, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_tests_the_kernel_never_answers_give_on_set_error_within_set_timeout,
			setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_list_set_read_whose_answer_is_never_read_gives_on_set_error_in_time,
			setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_list_set_member_whose_header_never_comes_fails_the_list, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_kernel_that_stops_answering_costs_one_timeout_not_one_per_batch,
			setup, itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: live set edits", tests, NULL, NULL);
}
