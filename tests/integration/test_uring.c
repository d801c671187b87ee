/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The uring transport against the real kernel: what happens without io_uring (auto falls back
 * to mmsg and says why once; an explicit uring refuses to start, naming the reason), and a
 * verdict send whose completion reports an error still leads to the fail-side sweep. The
 * exactness, GSO, drain and hand-over cases run on uring in
 * integration.{udp,gso,lifecycle,handover} (auto takes uring here), and again on mmsg in
 * integration.{udp,gso,lifecycle,handover}_mmsg.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/netlink.h>

#include "itest.h"

#define PORT 5000

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "uring") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp --dport %d -j NFQUEUE --queue-balance 0:1",
		     PORT);
}

static int teardown(void **state)
{
	unsetenv("NFQD_TEST_BIN");
	return itest_teardown(state);
}

#define NO_URING_WHY                                                                               \
	"io_uring: refused (kernel.io_uring_disabled, or a seccomp filter denies "                 \
	"io_uring_setup)"

/* nfqd under a seccomp filter that refuses io_uring_setup() (deny_uring.c) */
static void deny_io_uring(void)
{
	assert_int_equal(setenv("NFQD_TEST_BIN", DENY_URING_BIN, 1), 0);
}

/* `transport = uring` where io_uring is refused: no start, and the reason in the log. */
static void test_explicit_uring_without_io_uring_fails_the_start_with_the_reason(void **state)
{
	struct itest *it = *state;
	int st = 0;
	char *log;
	int r;

	deny_io_uring();
	r = nfqd_start(&it->d, it->t.fw, "[queue]\nqueues = 0-1\ntransport = uring\n",
		       ITEST_DEADLINE_MS, &st);
	it->have_d = true;
	log = nfqd_log(&it->d);
	assert_non_null(log);
	if (r != 1 || !WIFEXITED(st) || WEXITSTATUS(st) == 0 ||
	    !strstr(log, "transport 'uring' cannot work here: " NO_URING_WHY))
		fprintf(stderr, "start %d, status 0x%x; nfqd's log:\n%s\n", r, st, log);
	assert_int_equal(r, 1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_non_null(strstr(log, "transport 'uring' cannot work here: " NO_URING_WHY));
	free(log);
}

/*
 * `transport = auto` takes mmsg before uring (lib/transport/transport.c, measured): where io_uring
 * is refused, both queues run on mmsg, every packet is delivered, and the log has no word of
 * io_uring, because it was never tried.
 */
static void test_auto_takes_mmsg_and_needs_no_io_uring(void **state)
{
	struct itest *it = *state;
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	char *json, *log;

	assert_true(sink >= 0);
	deny_io_uring();
	itest_nfqd(it, "[queue]\nqueues = 0-1\ntransport = auto\n[policy]\ndefault = accept\n");
	json = itest_stats(it);
	assert_non_null(strstr(json, "\"queue\":0,"));
	assert_non_null(strstr(json, "\"queue\":1,"));
	assert_null(strstr(json, "\"transport\":\"uring\""));
	assert_int_equal(itest_count_of(json, "\"transport\":\"mmsg\""), 2);
	free(json);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT, 200, 32, 8, 8, 0), 200);
	assert_int_equal(udp_sink_wait(sink, 200, ITEST_DEADLINE_MS), 200);
	close(sink);

	/* mmsg comes before uring in auto's order: io_uring is never tried, so there is nothing
	 * to explain about it (the one line auto logs is about mmap, which this kernel lacks) */
	log = itest_stop(it, 5000, NULL);
	if (itest_count_of(log, "transport auto: kernel has no mmap netlink") !=
		    itest_count_of(log, "transport auto:") ||
	    itest_count_of(log, "io_uring") != 0)
		fprintf(stderr, "want no word of io_uring in:\n%s\n", log);
	assert_int_equal(itest_count_of(log, "transport auto: kernel has no mmap netlink"),
			 itest_count_of(log, "transport auto:"));
	assert_int_equal(itest_count_of(log, "io_uring"), 0);
	free(log);
}

/*
 * nfqd's socket of queue 0, taken from its process (pidfd_getfd): the netlink socket bound to
 * the queue's port.
 */
static int take_queue_socket(struct itest *it)
{
	uint32_t portid = itest_kline(it, 0).portid;
	int pidfd = (int)syscall(SYS_pidfd_open, it->d.pid, 0);

	assert_true(pidfd >= 0);
	for (int fd = 0; fd < 1024; fd++) {
		int s = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		struct sockaddr_nl sa;
		socklen_t len = sizeof(sa);

		if (s < 0)
			continue;
		if (getsockname(s, (struct sockaddr *)&sa, &len) == 0 &&
		    sa.nl_family == AF_NETLINK && sa.nl_pid == portid) {
			close(pidfd);
			return s;
		}
		close(s);
	}
	close(pidfd);
	fail_msg("no socket of nfqd has netlink port %u", portid);
	return -1;
}

/* Point nfqd's queue socket s at netlink port portid: its sends without an address go there. */
static void connect_to_port(int s, uint32_t portid)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = portid };

	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

/*
 * A verdict send fails where only its completion can tell: with packets waiting in it, the test
 * connects nfqd's queue socket (taken with pidfd_getfd) to a netlink port nobody has, so the
 * kernel refuses every send of the ring with ECONNREFUSED, the sweeps after them too. The worker
 * learns it from the completions and keeps the sweep owed; once the socket points at the kernel
 * again, the sweep goes out and the packets get the fail-side verdict (drop): none delivered, the
 * queue empty. Later packets are served as before.
 */
static void test_a_send_failed_at_completion_leads_to_the_sweep(void **state)
{
	struct itest *it = *state;
	const unsigned int n = 10;
	unsigned int queued;
	int sink, qs;
	char *json;

	assert_int_equal(ns_sh(it->t.fw,
			       "iptables -R INPUT 1 -p udp --dport %d -j NFQUEUE "
			       "--queue-num 0",
			       PORT),
			 0);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	assert_true(sink >= 0);
	itest_nfqd(it, "[queue]\nqueues = 0\ntransport = uring\nfail-open = no\n"
		       "[policy]\ndefault = accept\n");
	qs = take_queue_socket(it);

	/* in the socket before it is connected: a connected socket takes nothing from the kernel */
	assert_int_equal(nfqd_pause(&it->d), 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT, n, 32, 1, 1, 0), n);
	for (int waited = 0; (queued = itest_kline(it, 0).queued) < n; waited += 10) {
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("queue 0 holds %u packets, not %u", queued, n);
		usleep(10000);
	}
	connect_to_port(qs, 0x7ffffff0u);
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);
	/* the verdicts and at least one sweep failed at completion */
	itest_wait_stat(it, 0, "errors", 2);
	assert_int_equal(itest_stat(it, 0, "received"), n);
	assert_int_equal(itest_kline(it, 0).queued, n);

	connect_to_port(qs, 0);
	for (int waited = 0; (queued = itest_kline(it, 0).queued) > 0; waited += 10) {
		if (waited >= ITEST_DEADLINE_MS) {
			itest_print_log(it);
			fail_msg("queue 0 still holds %u packets after %d ms", queued, waited);
		}
		usleep(10000);
	}
	json = itest_stats(it);
	fprintf(stderr, "sent %u: received %llu, errors %llu, accepted %llu\n", n,
		(unsigned long long)stats_get(json, 0, "received"),
		(unsigned long long)stats_get(json, 0, "errors"),
		(unsigned long long)stats_get(json, 0, "accepted"));
	free(json);
	assert_int_equal(udp_sink_count(sink, 300, 10000), 0);

	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT, n, 32, 1, 1, 0), n);
	assert_int_equal(udp_sink_wait(sink, n, ITEST_DEADLINE_MS), n);
	close(sink);
	close(qs);
	itest_stop_logged(it, "verdict sends failed when the kernel took them: Connection refused; "
			      "their packets get the fail-side verdict (drop) by a sweep");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_explicit_uring_without_io_uring_fails_the_start_with_the_reason, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_auto_takes_mmsg_and_needs_no_io_uring, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_send_failed_at_completion_leads_to_the_sweep,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
