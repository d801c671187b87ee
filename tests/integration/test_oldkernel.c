/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd where the kernel lacks what Linux 3.10-4.x lacks, on the real kernel: a seccomp wrapper
 * (deny_oldkernel.c) refuses NETLINK_CAP_ACK (4.3+) and SO_MEMINFO (4.12+) with ENOPROTOOPT,
 * and SO_RCVBUFFORCE / SO_SNDBUFFORCE with EPERM (no CAP_NET_ADMIN in the initial user
 * namespace). nfqd starts, says once what each missing feature costs, and serves: exact counts
 * on two queues, a set rule answered by ipset (whose error answers then echo the request), an
 * error answer to a verdict for an unknown id, and enobufs counted from the kernel's per-queue
 * user_dropped.
 */
#include <signal.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>

#include "bgproc.h"
#include "itest.h"

#define PORT	     5000
#define PORT_SET     5001
#define N	     200
#define VERDICT_SEQ  4242u

#define LINE_CAP_ACK "kernel: no NETLINK_CAP_ACK (Linux 4.3+)"
#define LINE_MEMINFO "kernel: no SO_MEMINFO (Linux 4.12+)"
#define LINE_RCVBUF  "SO_RCVBUFFORCE was refused"
/* nfqd's report of the kernel's answer to send_unknown_verdict() */
#define LINE_UNKNOWN_ID                                                                            \
	"queue 0: the kernel refused a message (type 0x301, seq 4242): No such file or directory"

/* max-len 65536 at copy range 1500 wants a receive buffer of about 330 MB (rcvbuf-max lifted),
 * beyond what net.core.rmem_max lets the plain SO_RCVBUF give */
#define BIG_QUEUE "copy-range = 1500\nmax-len = 65536\nrcvbuf-max = 2147483647\n"

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "oldk") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw,
		     "iptables -A INPUT -p udp -m multiport --dports %d,%d -j NFQUEUE "
		     "--queue-balance 0:1",
		     PORT, PORT_SET);
}

static int teardown(void **state)
{
	unsetenv("NFQD_TEST_BIN");
	unsetenv("NFQD_OLDKERNEL");
	return itest_teardown(state);
}

/* nfqd runs under deny_oldkernel, refusing what (see deny_oldkernel.c; "" for all) */
static void old_kernel(const char *what)
{
	assert_int_equal(setenv("NFQD_TEST_BIN", DENY_OLDKERNEL_BIN, 1), 0);
	assert_int_equal(setenv("NFQD_OLDKERNEL", what, 1), 0);
}

/* The receive buffer the plain SO_RCVBUF can give: twice net.core.rmem_max. */
static uint64_t plain_rcvbuf_max(void)
{
	char *s = file_read_all("/proc/sys/net/core/rmem_max");
	uint64_t v;

	assert_non_null(s);
	v = strtoull(s, NULL, 10);
	free(s);
	return 2 * v;
}

/* Stop nfqd and check its log has each of the lines want[0..n) exactly once and none of the
 * lines not_want[0..m). */
static void stop_with_lines(struct itest *it, const char *const *want, size_t n,
			    const char *const *not_want, size_t m)
{
	char *log = itest_stop(it, 5000, NULL);
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		ok = ok && itest_count_of(log, want[i]) == 1;
	for (size_t i = 0; i < m; i++)
		ok = ok && itest_count_of(log, not_want[i]) == 0;
	if (!ok || getenv("SHOWLOG")) {
		fprintf(stderr, "nfqd's log:\n%s\n", log);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "'%s': %u times, want 1\n", want[i],
				itest_count_of(log, want[i]));
		for (size_t i = 0; i < m; i++)
			fprintf(stderr, "'%s': %u times, want 0\n", not_want[i],
				itest_count_of(log, not_want[i]));
	}
	free(log);
	assert_true(ok);
}

/*
 * A verdict for an id the queue never gave, sent on nfqd's own queue socket with a payload of
 * 600 bytes: the kernel refuses it with ENOENT, and without NETLINK_CAP_ACK its answer, read by
 * nfqd's worker, echoes all 600 bytes.
 */
static void send_unknown_verdict(struct itest *it)
{
	char buf[2048] __attribute__((aligned(4)));
	static const char payload[600];
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, 0);
	int s = itest_queue_socket(it, 0);

	nlh->nlmsg_seq = VERDICT_SEQ;
	nfq_nlmsg_verdict_put(nlh, 0x7ffffff0, NF_ACCEPT);
	nfq_nlmsg_verdict_put_pkt(nlh, payload, sizeof(payload));
	assert_true(sendto(s, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) ==
		    (ssize_t)nlh->nlmsg_len);
	close(s);
}

/*
 * Everything refused at once: nfqd starts (it did not: the queue open failed on
 * NETLINK_CAP_ACK), logs one line per missing feature however many queues meet it, serves 2N
 * packets over two queues with exact counts through a set rule (N to a set member dropped, N
 * not listed accepted: every non-member test is an ipset error answer echoing its request),
 * and reports the kernel's refusal of a verdict for an unknown id once, serving on after it.
 */
static void test_old_kernel_starts_says_once_and_serves(void **state)
{
	static const char *const want[] = {
		LINE_CAP_ACK,
		LINE_MEMINFO,
		LINE_RCVBUF,
		LINE_UNKNOWN_ID,
	};
	struct itest *it = *state;
	uint64_t q0, q1;
	char srcs[512];
	int sink, sink_set;

	assert_true(plain_rcvbuf_max() < 300000000ull);
	/* --queue-balance spreads by address: 16 sources reach both queues */
	assert_int_equal(topo_add_client_addrs(&it->t, 16, srcs, sizeof(srcs)), 0);
	itest_fw(it, "ipset create bl hash:ip,port && ipset add bl %s,udp:%d", it->t.fw4, PORT_SET);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	sink_set = udp_sink_open(it->t.fw, "0.0.0.0", PORT_SET);
	assert_true(sink >= 0 && sink_set >= 0);
	old_kernel("");
	itest_nfqd(it, "[queue]\nqueues = 0-1\n" BIG_QUEUE "fail-open = no\n"
		       "[policy]\ndefault = accept\nrule = drop dst @bl\n");

	assert_int_equal(udp_send(it->t.cli, srcs, it->t.fw4, PORT, N, 32, 16, 8, 0), N);
	assert_int_equal(udp_send(it->t.cli, srcs, it->t.fw4, PORT_SET, N, 32, 16, 8, 0), N);
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	assert_int_equal(itest_wait_total(it, "dropped", N), N);
	assert_int_equal(itest_total(it, "accepted"), N);
	assert_int_equal(itest_total(it, "received"), 2 * N);
	q0 = itest_stat(it, 0, "received");
	q1 = itest_stat(it, 1, "received");
	fprintf(stderr, "received: queue 0 %llu, queue 1 %llu\n", (unsigned long long)q0,
		(unsigned long long)q1);
	assert_true(q0 > 0 && q1 > 0);
	assert_int_equal(itest_kline(it, 0).last_id + itest_kline(it, 1).last_id, 2 * N);
	assert_int_equal(udp_sink_count(sink_set, 300, 10000), 0);

	send_unknown_verdict(it);
	assert_int_equal(itest_wait_stat(it, 0, "errors", 1), 1);
	assert_int_equal(udp_send(it->t.cli, srcs, it->t.fw4, PORT, N, 32, 16, 8, 0), N);
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	close(sink);
	close(sink_set);

	stop_with_lines(it, want, 4, NULL, 0);
}

/* The kernel's lines of queues 0 and 1 summed: (last_id, queued, user_dropped) */
static void klines(struct itest *it, uint64_t *last, uint64_t *queued, uint64_t *user)
{
	struct nfqd_queue_kstats k0 = itest_kline(it, 0), k1 = itest_kline(it, 1);

	*last = (uint64_t)k0.last_id + k1.last_id;
	*queued = (uint64_t)k0.queued + k1.queued;
	*user = (uint64_t)k0.user_dropped + k1.user_dropped;
}

/*
 * Without SO_MEMINFO, `nfqctl stats` counts enobufs from the kernel's user_dropped: with nfqd
 * stopped, M packets overflow the two sockets' smallest receive buffer (rcvbuf-max 256 KiB,
 * fail-open = no); once nfqd reads again, each queue's enobufs is its user_dropped, more than
 * none, and every packet is either read by nfqd or dropped so (it stayed 0: SO_MEMINFO failed).
 * Only the SO_MEMINFO line is logged: the receive buffer is all nfqd asked for.
 */
static void test_enobufs_counts_user_dropped_without_so_meminfo(void **state)
{
	static const char *const want[] = { LINE_MEMINFO };
	static const char *const not_want[] = { LINE_CAP_ACK, LINE_RCVBUF };
	const uint64_t m = 3000;
	struct itest *it = *state;
	uint64_t last = 0, queued = 0, user = 0;
	char srcs[512];
	char *json;

	assert_int_equal(topo_add_client_addrs(&it->t, 16, srcs, sizeof(srcs)), 0);
	old_kernel("meminfo");
	itest_nfqd(it, "[queue]\nqueues = 0-1\ncopy-range = 64\nmax-len = 8192\n"
		       "rcvbuf-max = 262144\nfail-open = no\n[policy]\ndefault = accept\n");
	assert_int_equal(nfqd_pause(&it->d), 0);
	assert_int_equal(udp_send(it->t.cli, srcs, it->t.fw4, PORT, m, 32, 16, 8, 0), (long long)m);
	for (int waited = 0;; waited += 10) {
		klines(it, &last, &queued, &user);
		if (last == m)
			break;
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("the kernel gave %llu ids of %llu sent", (unsigned long long)last,
				 (unsigned long long)m);
		usleep(10000);
	}
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);
	assert_int_equal(itest_wait_total(it, "received", queued), queued);
	json = itest_stats(it);
	fprintf(stderr,
		"sent %llu: queued %llu, user_dropped %llu (queue 0 %u, 1 %u); enobufs %llu "
		"(queue 0 %llu, 1 %llu)\n",
		(unsigned long long)m, (unsigned long long)queued, (unsigned long long)user,
		itest_kline(it, 0).user_dropped, itest_kline(it, 1).user_dropped,
		(unsigned long long)stats_get(json, -1, "enobufs"),
		(unsigned long long)stats_get(json, 0, "enobufs"),
		(unsigned long long)stats_get(json, 1, "enobufs"));
	assert_true(user > 0);
	assert_int_equal(queued + user, m);
	assert_int_equal(stats_get(json, 0, "enobufs"), itest_kline(it, 0).user_dropped);
	assert_int_equal(stats_get(json, 1, "enobufs"), itest_kline(it, 1).user_dropped);
	free(json);
	stop_with_lines(it, want, 1, not_want, 2);
}

/*
 * Each refusal alone says its own line and no other, and nfqd serves: 50 packets, exact.
 */
static void test_each_missing_feature_alone_says_its_line(void **state)
{
	static const struct {
		const char *refuse, *line;
	} cases[] = {
		{ "cap_ack", LINE_CAP_ACK },
		{ "meminfo", LINE_MEMINFO },
		{ "bufforce", LINE_RCVBUF },
	};
	struct itest *it = *state;
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);

	assert_true(sink >= 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *others[2];
		size_t n = 0;

		for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++)
			if (j != i)
				others[n++] = cases[j].line;
		fprintf(stderr, "refusing %s\n", cases[i].refuse);
		old_kernel(cases[i].refuse);
		itest_nfqd(it, "[queue]\nqueues = 0-1\n" BIG_QUEUE "[policy]\ndefault = accept\n");
		assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT, 50, 32, 4, 8, 0), 50);
		assert_int_equal(udp_sink_wait(sink, 50, ITEST_DEADLINE_MS), 50);
		stop_with_lines(it, &cases[i].line, 1, others, n);
		nfqd_cleanup(&it->d);
		it->have_d = false;
	}
	close(sink);
}

#define LINE_TSYNC "kernel: no seccomp() thread synchronisation (Linux 3.17+)"

/*
 * The system calls of Linux 3.10 only (x86-64): every later one (seccomp, getrandom, statx,
 * rseq, clone3, io_uring, ...) fails with ENOSYS as on that kernel, and prctl(PR_CAP_AMBIENT)
 * (4.3) with EINVAL, besides the three socket options. nfqd starts (it did not: libseccomp's
 * TSYNC needs seccomp() of 3.17), with its system call filter on, says the TSYNC line once,
 * and serves both queues exactly.
 */
static void test_linux_3_10_system_calls(void **state)
{
	static const char *const want[] = { LINE_CAP_ACK, LINE_MEMINFO, LINE_RCVBUF, LINE_TSYNC };
	struct itest *it = *state;
	char srcs[512];
	int sink;

#ifndef __x86_64__
	skip();
#endif
	assert_int_equal(topo_add_client_addrs(&it->t, 16, srcs, sizeof(srcs)), 0);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	assert_true(sink >= 0);
	old_kernel("cap_ack,meminfo,bufforce,syscalls,ambient");
	itest_nfqd(it, "[queue]\nqueues = 0-1\n" BIG_QUEUE "[policy]\ndefault = accept\n");
	assert_int_equal(udp_send(it->t.cli, srcs, it->t.fw4, PORT, N, 32, 16, 8, 0), N);
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	assert_int_equal(itest_wait_total(it, "accepted", N), N);
	assert_int_equal(itest_total(it, "received"), N);
	assert_true(itest_stat(it, 0, "received") > 0 && itest_stat(it, 1, "received") > 0);
	close(sink);
	stop_with_lines(it, want, 4, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_old_kernel_starts_says_once_and_serves, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_enobufs_counts_user_dropped_without_so_meminfo,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_missing_feature_alone_says_its_line,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_3_10_system_calls, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
