/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd's life on the real kernel: start, shutdown under a flood with every packet accounted for,
 * a queue another process holds, the fail-open choice, signals, and the control socket.
 */
#include <signal.h>
#include <sys/stat.h>

#include "itest.h"

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "life") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
}

static void
test_sigterm_under_flood_exits_0_within_a_second_leaving_no_packet_unverdicted(void **state)
{
	struct itest *it = *state;
	struct sink_thread sink;
	struct flood fl;
	unsigned long long rcvbuf_errors0, sunk, sent;
	uint64_t received, accepted, dropped, enobufs, last_id;
	long elapsed;
	char *log;
	int fd;

	itest_nfqd(it, "[policy]\ndefault = accept\nrule = drop dport 5001\n");
	fd = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(fd >= 0);
	rcvbuf_errors0 = udp_rcvbuf_errors(it->t.fw);
	assert_int_equal(sink_thread_start(&sink, fd), 0);
	assert_int_equal(flood_start(&fl, it->t.cli, NULL, it->t.fw4, 5000, 4, 64), 0);

	/* the flood is going through nfqd */
	itest_wait_total(it, "received", 1001);
	/* Let the queue fill up to max-len behind a stopped nfqd, so that the shutdown meets
	 * thousands of queued packets, not the few a keeping-up reader leaves. */
	assert_int_equal(nfqd_pause(&it->d), 0);
	for (int waited = 0;; waited += 10) {
		unsigned int queued = 0, last = 0;

		assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last), 0);
		if (queued > 4000)
			break;
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("the stopped queue holds %u packets after %d ms, expected > 4000",
				 queued, waited);
		usleep(10 * 1000);
	}
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);

	log = itest_stop(it, 5000, &elapsed);
	sent = flood_stop(&fl);
	/* nfqd is gone: what it accepted is at the sink or counted by its full buffer */
	sunk = sink_thread_stop_at(&sink,
				   final_get(log, 0, "accepted") -
					   (udp_rcvbuf_errors(it->t.fw) - rcvbuf_errors0),
				   ITEST_DEADLINE_MS);
	fprintf(stderr, "flood: sent %llu, nfqd stopped in %ld ms\n", sent, elapsed);
	assert_true(elapsed < 1000);
	assert_true(nfqd_saw_stopping(&it->d));

	received = final_get(log, 0, "received");
	accepted = final_get(log, 0, "accepted");
	dropped = final_get(log, 0, "dropped");
	enobufs = final_get(log, 0, "enobufs");
	last_id = final_get(log, 0, "kernel_last_id");
	if (final_get(log, 0, "kernel_queued") != 0 || last_id != received + enobufs)
		fprintf(stderr, "%s", log);
	/* nothing was left in the queue for the kernel's flush at unbind */
	assert_int_equal(final_get(log, 0, "kernel_queued"), 0);
	assert_int_equal(final_get(log, 0, "swept"), 0);
	/* every packet the queue took was read by nfqd or lost to a full socket, and counted */
	assert_int_equal(last_id, received + enobufs);
	/* every packet read got exactly one verdict */
	assert_int_equal(received, accepted + dropped);
	assert_true(received > 0);
	/* the accepted ones, and only they, reached the sink (or overflowed its buffer) */
	assert_int_equal(sunk + (udp_rcvbuf_errors(it->t.fw) - rcvbuf_errors0), accepted);
	free(log);
	close(fd);
}

static void test_sigint_when_idle_exits_0_at_once(void **state)
{
	struct itest *it = *state;
	int st = -1;
	long elapsed = 0;
	char *log;

	itest_nfqd(it, "");
	assert_int_equal(nfqd_stop(&it->d, SIGINT, 3000, &st, &elapsed), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(elapsed < 1000);
	log = nfqd_log(&it->d);
	assert_non_null(strstr(log, "SIGINT received"));
	assert_non_null(strstr(log, "queue 0: final: received=0"));
	free(log);
}

static void test_second_nfqd_on_a_bound_queue_fails_and_names_the_queue(void **state)
{
	struct itest *it = *state;
	struct nfqd_proc second;
	int st = 0, sink;
	char *log;

	itest_nfqd(it, "");
	assert_int_equal(nfqd_start(&second, it->t.fw, "", 5000, &st), 1);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	log = nfqd_log(&second);
	if (!strstr(log, "queue 0 is already bound by another process"))
		fail_msg("unexpected message from the second nfqd: %s", log);
	free(log);
	nfqd_cleanup(&second);

	/* the first one still serves the queue */
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, 200, 64, 1, 20, 200), 200);
	assert_int_equal(udp_sink_wait(sink, 200, ITEST_DEADLINE_MS), 200);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

/* With nfqd stopped, 100 packets meet a queue of 10: what happens to the other 90? */
static void overflow(struct itest *it, const char *config, uint64_t want_sink_stopped,
		     uint64_t want_sink_after, uint64_t want_full_dropped)
{
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	uint64_t sunk = 0;

	assert_true(sink >= 0);
	itest_nfqd(it, config);
	assert_int_equal(nfqd_pause(&it->d), 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, 100, 64, 1, 10, 1000), 100);
	/* the queue took 10; the kernel handled the other 90 when they met the full queue */
	for (int waited = 0;; waited += 10) {
		unsigned int queued = 0, last = 0;

		assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last), 0);
		sunk += udp_sink_count(sink, 0, 0);
		if (queued == 10 && sunk >= want_sink_stopped)
			break;
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("after %d ms the stopped queue holds %u packets (expected 10), "
				 "the sink %llu (expected %llu)",
				 waited, queued, (unsigned long long)sunk,
				 (unsigned long long)want_sink_stopped);
		usleep(10 * 1000);
	}
	assert_int_equal(sunk, want_sink_stopped);
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);
	/* nfqd gives the 10 their verdict */
	for (int waited = 0; itest_stat(it, 0, "accepted") + itest_stat(it, 0, "dropped") < 10;
	     waited += 10) {
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("nfqd gave %llu of 10 packets a verdict in %d ms",
				 (unsigned long long)(itest_stat(it, 0, "accepted") +
						      itest_stat(it, 0, "dropped")),
				 waited);
		usleep(10 * 1000);
	}
	assert_int_equal(udp_sink_wait(sink, want_sink_after, ITEST_DEADLINE_MS), want_sink_after);
	/* nfqd saw only the 10 that fitted the queue */
	assert_int_equal(itest_wait_stat(it, 0, "received", 10), 10);
	assert_int_equal(itest_wait_stat(it, 0, "full_dropped", want_full_dropped),
			 want_full_dropped);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_fail_open_yes_lets_the_kernel_accept_what_a_full_queue_cannot_hold(void **state)
{
	/* the 90 pass at once; the 10 queued are dropped by the policy when nfqd resumes */
	overflow(*state, "[queue]\nmax-len = 10\nfail-open = yes\n[policy]\ndefault = drop\n", 90,
		 0, 0);
}

static void test_fail_open_no_lets_the_kernel_drop_what_a_full_queue_cannot_hold(void **state)
{
	/* the 90 are dropped and counted by the kernel; the 10 queued pass when nfqd resumes */
	overflow(*state, "[queue]\nmax-len = 10\nfail-open = no\n[policy]\ndefault = accept\n", 0,
		 10, 90);
}

static void test_stats_document_lists_every_counter_per_queue_and_in_total(void **state)
{
	static const char *const keys[] = {
		"received",   "accepted", "dropped",   "queued",    "batches",	  "verdict_msgs",
		"batch_msgs", "sends",	  "truncated", "malformed", "gso",	  "errors",
		"enobufs",    "marked",	  "stamped",   "set_tests", "set_failed", "set_timeouts",
	};
	struct itest *it = *state;
	char *json;

	itest_nfqd(it, "");
	json = itest_stats(it);
	assert_true(strncmp(json, "{\"version\":\"", 12) == 0);
	assert_non_null(strstr(json, "\"queues\":[{\"queue\":0,"));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (stats_get(json, 0, keys[i]) == UINT64_MAX ||
		    stats_get(json, -1, keys[i]) == UINT64_MAX)
			fail_msg("counter '%s' missing in %s", keys[i], json);
	}
	/* the transport in use: auto's first choice here, or the one the run forces */
	const char *forced = getenv("NFQD_TEST_TRANSPORT");
	char want[64];

	snprintf(want, sizeof(want), "\"transport\":\"%s\"", forced ? forced : "mmsg");
	if (!strstr(json, want))
		fail_msg("no %s in %s", want, json);
	free(json);
	free(itest_stop(it, 2000, NULL));
}

static void test_control_socket_answers_bad_requests_with_an_error(void **state)
{
	/* the list of commands begins with these; others follow */
	static const char unknown[] = "{\"error\":\"unknown command 'bogus'; commands: stats, "
				      "status, reload, upgrade";
	static const char empty[] = "{\"error\":\"empty request; commands: stats, status, "
				    "reload, upgrade";
	struct itest *it = *state;
	char big[400];
	char *r;

	itest_nfqd(it, "");
	r = nfqd_control(&it->d, "bogus\n");
	assert_non_null(r);
	if (strncmp(r, unknown, strlen(unknown)) != 0 || !strstr(r, "\"}\n"))
		fail_msg("answer: %s", r);
	free(r);
	r = nfqd_control(&it->d, "\n");
	assert_non_null(r);
	if (strncmp(r, empty, strlen(empty)) != 0)
		fail_msg("answer: %s", r);
	free(r);
	r = nfqd_control(&it->d, "st\x01ts\n");
	assert_string_equal(r, "{\"error\":\"request holds control characters\"}\n");
	free(r);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = nfqd_control(&it->d, big);
	assert_string_equal(r, "{\"error\":\"request longer than 256 bytes\"}\n");
	free(r);
	/* and it still answers properly afterwards */
	free(itest_stats(it));
	free(itest_stop(it, 2000, NULL));
}

static void test_nfqctl_prints_stats_and_the_socket_goes_with_nfqd(void **state)
{
	struct itest *it = *state;
	char cmd[256];
	char out[8192] = "";
	struct stat st;
	FILE *p;
	size_t n;

	itest_nfqd(it, "");
	snprintf(cmd, sizeof(cmd), "%s -s %s stats", nfqctl_bin(), it->d.control);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out, "\"queues\":[{\"queue\":0,"));
	assert_non_null(strstr(out, "\"total\":{"));

	assert_int_equal(stat(it->d.control, &st), 0);
	free(itest_stop(it, 2000, NULL));
	assert_int_equal(stat(it->d.control, &st), -1);
}

static void test_sighup_is_logged_and_nfqd_keeps_serving(void **state)
{
	struct itest *it = *state;
	char *log;

	itest_nfqd(it, "");
	assert_int_equal(kill(it->d.pid, SIGHUP), 0);
	/* handled: logged, and nfqd still answers */
	for (int waited = 0;; waited += 10) {
		char *now = nfqd_log(&it->d);
		bool seen = now && strstr(now, "SIGHUP received");

		free(now);
		if (seen)
			break;
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("nfqd did not log SIGHUP within %d ms", waited);
		usleep(10 * 1000);
	}
	assert_int_equal(kill(it->d.pid, 0), 0);
	free(itest_stats(it));
	log = itest_stop(it, 2000, NULL);
	/* SIGHUP reloads the configuration (test_reload.c tests what a reload does) */
	assert_non_null(strstr(log, "SIGHUP received: reloading"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_sigterm_under_flood_exits_0_within_a_second_leaving_no_packet_unverdicted,
			setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_sigint_when_idle_exits_0_at_once, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_second_nfqd_on_a_bound_queue_fails_and_names_the_queue, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_fail_open_yes_lets_the_kernel_accept_what_a_full_queue_cannot_hold,
			setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_fail_open_no_lets_the_kernel_drop_what_a_full_queue_cannot_hold, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_stats_document_lists_every_counter_per_queue_and_in_total, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_control_socket_answers_bad_requests_with_an_error, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_nfqctl_prints_stats_and_the_socket_goes_with_nfqd, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_sighup_is_logged_and_nfqd_keeps_serving, setup,
						itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: lifecycle", tests, NULL, NULL);
}
