/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd at the edges of its queue, on the real kernel: a shutdown that meets a full queue of
 * 65536 packets, a start into a running flood, and the overload counters (queue full, socket
 * overrun, fail-open passes).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/socket.h>

#include "nfqd/queue.h"

#include "itest.h"

/* The most packets the kernel holds in one queue (config.h: CONFIG_MAX_LEN_MAX). */
#define FULL_QUEUE 65536

/* How long the drain test stops nfqd in the middle of its drain: longer than the drain's old
 * fixed bound (500 ms), far shorter than the time without progress it now gives up after. */
#define DRAIN_PAUSE_MS 1500

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "ovl") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0");
}

static struct nfqd_queue_kstats kstats(struct itest *it)
{
	struct nfqd_queue_kstats ks = { 0 };

	assert_int_equal(kernel_queue_kstats(it->t.fw, 0, &ks), 0);
	return ks;
}

/* Wait until the kernel's queue 0 holds want packets; fails with the numbers. */
static void wait_queued(struct itest *it, unsigned int want)
{
	struct nfqd_queue_kstats ks = { 0 };

	for (int waited = 0;; waited += 10) {
		ks = kstats(it);
		if (ks.queued == want)
			return;
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("the stopped queue holds %u packets after %d ms, expected %u "
				 "(last id %u, full_dropped %u, user_dropped %u)",
				 ks.queued, waited, want, ks.last_id, ks.full_dropped,
				 ks.user_dropped);
		usleep(10 * 1000);
	}
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until nfqd's log holds text; fails with the log. */
static void wait_log(struct itest *it, const char *text)
{
	for (int waited = 0;; waited++) {
		char *log = nfqd_log(&it->d);
		bool seen = log && strstr(log, text);

		free(log);
		if (seen)
			return;
		if (waited >= ITEST_DEADLINE_MS) {
			itest_print_log(it);
			fail_msg("nfqd did not log '%s' in %d ms", text, waited);
		}
		usleep(1000);
	}
}

/*
 * SIGTERM meets a queue filled to the kernel's limit behind a stopped nfqd: half the packets
 * are for an accepted port, half for a dropped one. The drain is stopped for 1.5 s in its
 * middle, as a loaded machine (or a sanitizer build) deschedules it: the drain runs as long as
 * it makes progress, not a fixed 500 ms, so every packet still gets its classified verdict:
 * nothing swept with the fail-side verdict, the accepted half at its sink, none of the dropped
 * half at the other.
 */
static void test_sigterm_with_a_full_queue_of_65536_gives_each_its_classified_verdict(void **state)
{
	struct itest *it = *state;
	const unsigned long half = FULL_QUEUE / 2;
	unsigned long long errors0, sunk_accept, sunk_drop;
	struct sink_thread acc, drp;
	int fd_accept, fd_drop;
	long long t0, stop_ms;
	unsigned int left;
	long elapsed = 0;
	char *log;

	/* a buffer that holds a full queue whatever the message's true size; batch 1, the
	 * slowest reader, so that the drain lasts long enough to be stopped in its middle */
	itest_nfqd(it, "[queue]\nmax-len = 65536\nrcvbuf-max = 268435456\nbatch = 1\n"
		       "[policy]\ndefault = accept\nrule = drop dport 5001\n");
	fd_accept = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	fd_drop = udp_sink_open(it->t.fw, "0.0.0.0", 5001);
	assert_true(fd_accept >= 0 && fd_drop >= 0);
	errors0 = udp_rcvbuf_errors(it->t.fw);
	assert_int_equal(sink_thread_start(&acc, fd_accept), 0);
	assert_int_equal(sink_thread_start(&drp, fd_drop), 0);

	assert_int_equal(nfqd_pause(&it->d), 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, half, 32, 4, 64, 0), half);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5001, half, 32, 4, 64, 0), half);
	wait_queued(it, FULL_QUEUE);

	t0 = ms_now();
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);
	assert_int_equal(kill(it->d.pid, SIGTERM), 0);
	/* the drain has begun: stop it in its middle, as a busy machine would */
	wait_log(it, "draining the queues");
	assert_int_equal(nfqd_pause(&it->d), 0);
	left = kstats(it).queued;
	usleep(DRAIN_PAUSE_MS * 1000);
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);
	log = itest_stop(it, ITEST_DEADLINE_MS, &elapsed);
	stop_ms = ms_now() - t0;
	fprintf(stderr, "drain: paused for %d ms with %u of %d packets still queued\n",
		DRAIN_PAUSE_MS, left, FULL_QUEUE);
	/* else the pause proved nothing: the drain was over before it */
	assert_true(left > 0);
	sunk_accept = sink_thread_stop_at(&acc, half, ITEST_DEADLINE_MS);
	sunk_drop = sink_thread_stop(&drp, 200);
	fprintf(stderr,
		"drain: %d packets queued, nfqd resumed and stopped in %lld ms with the "
		"pause\n",
		FULL_QUEUE, stop_ms);
	if (final_get(log, 0, "swept") != 0 || final_get(log, 0, "received") != FULL_QUEUE ||
	    final_get(log, 0, "kernel_queued") != 0)
		fprintf(stderr, "%s", log);

	/* nothing left for the fail-side sweep or the kernel's flush at unbind */
	assert_int_equal(final_get(log, 0, "swept"), 0);
	assert_int_equal(final_get(log, 0, "kernel_queued"), 0);
	assert_int_equal(final_get(log, 0, "kernel_full_dropped"), 0);
	assert_int_equal(final_get(log, 0, "kernel_user_dropped"), 0);
	/* every packet read, each with its own class's verdict */
	assert_int_equal(final_get(log, 0, "received"), FULL_QUEUE);
	assert_int_equal(final_get(log, 0, "accepted"), half);
	assert_int_equal(final_get(log, 0, "dropped"), half);
	/* and the kernel did as told: the accepted half arrived, none of the dropped */
	assert_int_equal(sunk_accept + (udp_rcvbuf_errors(it->t.fw) - errors0), half);
	assert_int_equal(sunk_drop, 0);
	free(log);
	close(fd_accept);
	close(fd_drop);
}

/* One UDP flow sending numbered datagrams, a few at a time, until stopped. */
struct seq_flood {
	pthread_t thread;
	int fd;
	atomic_ullong next; /* the number the next datagram carries */
	atomic_int stop;
};

static void *seq_flood_main(void *arg)
{
	struct seq_flood *f = arg;
	uint64_t seq = 0;

	while (!atomic_load(&f->stop)) {
		/* dense enough that any gap at the start meets datagrams, and short enough (a few
		 * thousand in all) that the queue of 65536 never fills */
		if (udp_flow_send(f->fd, 32, &seq, 32, 100) < 0)
			break;
		atomic_store(&f->next, seq);
	}
	return NULL;
}

/* Wait until the flood has sent datagram number n. */
static void seq_flood_wait(struct seq_flood *f, uint64_t n)
{
	for (int waited = 0; atomic_load(&f->next) <= n; waited++) {
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("the flood sent %llu datagrams in %d ms, expected %llu",
				 (unsigned long long)atomic_load(&f->next), waited,
				 (unsigned long long)n + 1);
		usleep(1000);
	}
}

/* What a sink saw of a numbered flow. */
struct seq_seen {
	uint64_t count, min, max;
};

/* Read numbered datagrams from fd until the one numbered last arrived (or the deadline). */
static struct seq_seen seq_sink_read(int fd, uint64_t last)
{
	struct seq_seen s = { 0, UINT64_MAX, 0 };

	for (int waited = 0; s.count == 0 || s.max < last;) {
		uint64_t num;
		ssize_t n = recv(fd, &num, sizeof(num), MSG_DONTWAIT);

		if (n == (ssize_t)sizeof(num)) {
			s.count++;
			s.min = num < s.min ? num : s.min;
			s.max = num > s.max ? num : s.max;
			continue;
		}
		if (waited >= ITEST_DEADLINE_MS)
			break;
		usleep(1000);
		waited++;
	}
	return s;
}

/*
 * nfqd starts into a flood that is already running, with fail-open off and no --queue-bypass:
 * until the bind, the rule drops every packet (no queue); from the bind on, every packet is
 * queued and gets nfqd's verdict, none meets a shut queue (max-len 0) while the worker starts.
 * The numbers prove it: the sink holds every datagram from the first one queued to the last
 * one sent, with no gap, as many as the kernel queued, and the kernel dropped none as
 * queue-full or socket-full. That the flood ran across the start is checked too (datagrams
 * sent while nfqd started, and the first ones lost to the missing queue).
 */
static void test_a_flood_running_at_start_loses_nothing_from_the_bind_on(void **state)
{
	struct itest *it = *state;
	struct seq_flood f = { .fd = -1 };
	struct nfqd_queue_kstats ks;
	uint64_t at_start, at_ready, last;
	struct seq_seen seen;
	int sink;

	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	f.fd = udp_flow_open(it->t.cli, NULL, it->t.fw4, 5000);
	assert_true(sink >= 0 && f.fd >= 0);
	assert_int_equal(pthread_create(&f.thread, NULL, seq_flood_main, &f), 0);
	seq_flood_wait(&f, 500);

	at_start = atomic_load(&f.next);
	itest_nfqd(it, "[queue]\nmax-len = 65536\nfail-open = no\n[policy]\ndefault = accept\n");
	at_ready = atomic_load(&f.next);
	seq_flood_wait(&f, at_ready + 2000);
	atomic_store(&f.stop, 1);
	pthread_join(f.thread, NULL);
	last = atomic_load(&f.next) - 1;

	seen = seq_sink_read(sink, last);
	ks = kstats(it);
	fprintf(stderr,
		"start: nfqd started after datagram %llu, ready at %llu; the sink got %llu, "
		"from %llu to %llu; the kernel queued %u, dropped %u (queue full) and %u (socket "
		"full)\n",
		(unsigned long long)at_start, (unsigned long long)at_ready,
		(unsigned long long)seen.count, (unsigned long long)seen.min,
		(unsigned long long)seen.max, ks.last_id, ks.full_dropped, ks.user_dropped);
	/* the flood was running when nfqd bound its queue */
	assert_true(at_ready > at_start);
	assert_true(seen.min >= at_start);
	assert_true(seen.min > 0);
	/* nothing dropped by the kernel once the queue existed */
	assert_int_equal(ks.full_dropped, 0);
	assert_int_equal(ks.user_dropped, 0);
	/* every datagram from the first queued to the last sent arrived, once */
	assert_int_equal(seen.max, last);
	assert_int_equal(seen.count, last - seen.min + 1);
	assert_int_equal(seen.count, ks.last_id);
	close(f.fd);
	close(sink);
}

/* Wait until nfqd's log holds text within the deadline, and return the log (malloc'd). */
static char *log_with(struct itest *it, const char *text)
{
	wait_log(it, text);
	return nfqd_log(&it->d);
}

/*
 * With nfqd stopped, 100 packets meet a queue of max-len 10: the kernel queues 10 and handles
 * the other 90 alone. Returns once the kernel has seen all 100 (queued, or past the queue).
 */
static void overflow_stopped(struct itest *it, const char *config)
{
	itest_nfqd(it, config);
	assert_int_equal(nfqd_pause(&it->d), 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, 100, 64, 1, 10, 1000), 100);
	for (int waited = 0;; waited += 10) {
		struct nfqd_queue_kstats ks = kstats(it);

		if (ks.queued == 10 && ks.full_dropped + ks.last_id >= 100)
			break;
		/* fail-open counts nothing in the queue: the 90 are seen by the chain */
		if (ks.queued == 10 && strstr(config, "fail-open = yes"))
			break;
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("after %d ms the stopped queue holds %u (last id %u, full_dropped "
				 "%u), expected 10",
				 waited, ks.queued, ks.last_id, ks.full_dropped);
		usleep(10 * 1000);
	}
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);
}

/*
 * Fail-open off: the 90 packets a full queue turns away are dropped by the kernel, which
 * counts them; nfqd reads that count into queue_full, per queue and in the total, and says so
 * in its log within a period, with the number.
 */
static void test_queue_full_drops_are_counted_and_logged(void **state)
{
	struct itest *it = *state;
	char *log;

	overflow_stopped(it, "[queue]\nmax-len = 10\nfail-open = no\n");
	assert_int_equal(itest_wait_stat(it, 0, "received", 10), 10);
	assert_int_equal(itest_stat(it, 0, "queue_full"), 90);
	assert_int_equal(itest_total(it, "queue_full"), 90);
	/* the drops may fall into two periods: the last line has them all */
	log = log_with(it, "(max-len 10; 90 since the start)");
	assert_non_null(strstr(log, "queue 0: "));
	assert_non_null(strstr(log, " packets dropped as queue-full in the last 5 s"));
	free(log);
	free(itest_stop(it, 2000, NULL));
}

/*
 * Fail-open on, with the rules of `nfqd rules` loaded and their NFQD-PASS chain jumped to from
 * the security table: the 90 packets a full queue lets through without nfqd's verdict still
 * carry the marker and are counted there; nfqd reads that count (fail_open_passed in the
 * total) and logs it. The 10 queued ones get nfqd's verdict, which clears the marker: they are
 * not counted as passed. Nothing is counted as queue-full (the kernel dropped nothing).
 */
static void test_fail_open_passes_are_counted_by_the_generated_chain_and_logged(void **state)
{
	static const char config[] = "[queue]\nmax-len = 10\nfail-open = yes\n";
	struct itest *it = *state;
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	char *log;

	assert_true(sink >= 0);
	itest_fw(it, "iptables -F INPUT");
	assert_int_equal(nfqd_rules_load(it->t.fw, config, false), 0);
	itest_fw(it, "iptables -A INPUT -p udp -j NFQD");
	itest_fw(it, "iptables -t security -A INPUT -j NFQD-PASS");
	overflow_stopped(it, config);
	assert_int_equal(itest_wait_stat(it, 0, "accepted", 10), 10);
	/* all 100 arrive: 90 passed, 10 accepted by nfqd */
	assert_int_equal(udp_sink_wait(sink, 100, ITEST_DEADLINE_MS), 100);
	assert_int_equal(itest_total(it, "fail_open_passed"), 90);
	assert_int_equal(itest_total(it, "queue_full"), 0);
	log = log_with(it, "(90 counted by chain NFQD-PASS)");
	assert_non_null(
		strstr(log, " packets passed the queues without nfqd's verdict (fail-open) in the "
			    "last 5 s"));
	free(log);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

/*
 * A socket buffer capped at 256 KiB behind a stopped nfqd, and a queue long enough to hold a
 * burst that the buffer cannot: the messages the socket could not take are counted (enobufs,
 * the socket's own drop count) and logged with the number, and the kernel's user_dropped
 * agrees (fail-open off: it dropped them).
 */
static void test_socket_overruns_are_counted_and_logged(void **state)
{
	struct itest *it = *state;
	uint64_t enobufs;
	char want[96];
	char *log;

	itest_nfqd(it, "[queue]\nmax-len = 65536\nrcvbuf-max = 262144\nfail-open = no\n");
	assert_int_equal(nfqd_pause(&it->d), 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, 3000, 64, 4, 32, 200), 3000);
	for (int waited = 0;; waited += 10) {
		struct nfqd_queue_kstats ks = kstats(it);

		/* each one queued, or dropped for want of room in the socket */
		if (ks.queued + ks.user_dropped == 3000)
			break;
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("the kernel queued %u and dropped %u of 3000 packets in %d ms",
				 ks.queued, ks.user_dropped, waited);
		usleep(10 * 1000);
	}
	assert_int_equal(kill(it->d.pid, SIGCONT), 0);
	enobufs = itest_stat(it, 0, "enobufs");
	fprintf(stderr, "overrun: %llu of 3000 messages lost to the socket, user_dropped %llu\n",
		(unsigned long long)enobufs, (unsigned long long)itest_stat(it, 0, "user_dropped"));
	assert_true(enobufs > 0);
	assert_int_equal(itest_stat(it, 0, "user_dropped"), enobufs);
	assert_int_equal(itest_total(it, "enobufs"), enobufs);
	/* the losses may fall into two periods: the last line has them all */
	snprintf(want, sizeof(want),
		 "the kernel dropped them (fail-open = no; %llu since the start)",
		 (unsigned long long)enobufs);
	log = log_with(it, want);
	assert_non_null(strstr(log, " packets not delivered to nfqd in the last 5 s: socket "
				    "receive buffer full"));
	free(log);
	free(itest_stop(it, 2000, NULL));
}

/*
 * A max-len the kernel would not honour is refused before anything is bound, by the start
 * and by --check alike, with the file and line, the limit and the reason: nfqd never logs a
 * max-len that is not in force (it logged 300000 while the queue held 65536).
 */
static void test_a_max_len_above_the_kernels_limit_is_refused_by_start_and_check(void **state)
{
	static const char want[] = ":2: max-len: '300000' is above 65536, the most packets the "
				   "kernel holds in one queue";
	struct itest *it = *state;
	struct nfqd_proc d;
	char path[] = "/tmp/nfqd-maxlen-XXXXXX";
	int fd = mkstemp(path), st = 0, r;
	char *out = NULL, *log;
	bool ok;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[queue]\nmax-len = 300000\n", 25), 25);
	close(fd);
	r = ns_sh_out(it->t.fw, &out, "%s --check -c %s 2>&1", nfqd_bin(), path);
	unlink(path);
	ok = r == 1 && out && strstr(out, want);
	if (!ok)
		fprintf(stderr, "nfqd --check: status %d, output: %s\n", r, out ? out : "(none)");
	free(out);
	assert_true(ok);

	r = nfqd_start(&d, it->t.fw, "[queue]\nmax-len = 300000\n", 5000, &st);
	log = nfqd_log(&d);
	nfqd_cleanup(&d);
	ok = r == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 1 && log && strstr(log, want);
	if (!ok)
		fprintf(stderr, "nfqd with max-len 300000: %d, status 0x%x: %s\n", r, st,
			log ? log : "");
	free(log);
	assert_true(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_sigterm_with_a_full_queue_of_65536_gives_each_its_classified_verdict,
			setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_flood_running_at_start_loses_nothing_from_the_bind_on, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_queue_full_drops_are_counted_and_logged, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_fail_open_passes_are_counted_by_the_generated_chain_and_logged, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_socket_overruns_are_counted_and_logged, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_max_len_above_the_kernels_limit_is_refused_by_start_and_check, setup,
			itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: overload", tests, NULL, NULL);
}
