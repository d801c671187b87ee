/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Zero-loss restarts on the real kernel, with a tiny fd store in place of systemd's
 * (tests/support/fdstore.h): the queue sockets nfqd stores survive it, the next nfqd adopts
 * them, and packets a dead nfqd read but never answered are re-queued. Traffic: UDP from the
 * client namespace through `-j NFQUEUE --queue-balance 0:1` (no --queue-bypass) in the firewall
 * namespace, with fail-open = no, to a counting sink.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include "nfqd/queue.h"

#include "bgproc.h"
#include "fakebus.h"
#include "fdstore.h"
#include "itest.h"
#include "itrace.h"

#define PORT 5000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ht {
	struct itest it;
	struct fdstore store;
};

static int setup(void **state)
{
	struct itest *it;
	struct ht *h;

	if (itest_setup(state, "hand") < 0)
		return -1;
	it = *state;
	/* the fixture's itest first, so that itest helpers take the same pointer */
	h = realloc(it, sizeof(*h));
	if (!h)
		return -1;
	memset(&h->store, 0, sizeof(h->store));
	*state = h;
	return ns_sh(h->it.t.fw,
		     "iptables -A INPUT -p udp --dport %d -j NFQUEUE "
		     "--queue-balance 0:1",
		     PORT);
}

static int teardown(void **state)
{
	struct ht *h = *state;

	if (h)
		fdstore_clear(&h->store);
	return itest_teardown(state);
}

/* The kernel's line for queue num in the firewall namespace; fails the test when absent. */
static struct nfqd_queue_kstats kline(struct itest *it, unsigned int num)
{
	return itest_kline(it, num);
}

static unsigned int count_of(const char *text, const char *what)
{
	unsigned int n = 0;

	for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static bool queue_bound(struct itest *it, unsigned int num)
{
	unsigned int queued, last;

	return kernel_queue_line(it->t.fw, num, &queued, &last) == 0;
}

static void start(struct ht *h, const char *config)
{
	int st = 0;
	int r = nfqd_start_stored(&h->it.d, h->it.t.fw, config, &h->store, ITEST_DEADLINE_MS, &st);

	h->it.have_d = true;
	if (r != 0) {
		itest_print_log(&h->it);
		fail_msg("nfqd did not start (%d, status 0x%x)", r, st);
	}
}

/* Restart nfqd after it exited, as a service manager does, with what the store holds. */
static void respawn(struct ht *h)
{
	int st = 0;
	int r = nfqd_respawn(&h->it.d, h->it.t.fw, ITEST_DEADLINE_MS, &st);

	if (r != 0) {
		itest_print_log(&h->it);
		fail_msg("nfqd did not start again (%d, status 0x%x)", r, st);
	}
}

/* ---- a dead reader, played by the test ---- */

/*
 * Bind queue 0 in the firewall namespace as nfqd would, let n packets in, read `read` of them
 * and answer none: then put the socket into the store, as a crashed nfqd leaves it.
 */
static void dead_reader(struct ht *h, unsigned int n, unsigned int read)
{
	struct nfqd_queue_config qc = { .num = 0, .copy_range = 128, .max_len = 1024 };
	struct itest *it = &h->it;
	struct nfqd_queue *q = NULL;
	unsigned int got = 0;
	char buf[8192];
	int ns = ns_enter(it->t.fw), fd;

	assert_true(ns >= 0);
	assert_int_equal(nfqd_queue_open(&q, &qc), 0);
	ns_leave(ns);
	assert_true(nfqd_queue_start(q) > 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT, n, 32, 1, 10, 1000), n);
	for (int waited = 0; kline(it, 0).queued < n; waited += 10) {
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("queue 0 holds %u packets, not %u", kline(it, 0).queued, n);
		usleep(10 * 1000);
	}
	fd = nfqd_queue_fd(q);
	while (got < read) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *nlh = (const void *)buf;

		assert_true(r > 0);
		if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
			got++;
	}
	assert_int_equal(fdstore_put(&h->store, nfqd_queue_detach(q), "queue-0"), 0);
}

/*
 * A dead reader let 200 packets in and read `read` of them; nfqd starts with its socket. Every
 * packet must reach the sink once, with `read` packets re-queued under new ids (the kernel's
 * last id 200 + read), none dropped, and the log must say `said`.
 */
static void requeue_case(struct ht *h, unsigned int read, const char *said)
{
	struct itest *it = &h->it;
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	struct nfqd_queue_kstats ks;
	uint64_t got;
	char *log;

	assert_true(sink >= 0);
	dead_reader(h, 200, read);
	start(h, "[queue]\nqueues = 0\nfail-open = no\n");
	/* setting an mmap ring purges the socket's receive queue (netlink_set_ring()): all 200
	 * are then re-queued */
	if (strcmp(itest_transport(it), "mmap") == 0) {
		read = 200;
		said = "200 packets were queued when transport mmap was set up";
	}
	got = udp_sink_wait(sink, 200, ITEST_DEADLINE_MS);
	ks = kline(it, 0);
	fprintf(stderr,
		"read by the dead reader %u; sink %llu of 200; kernel last id %u, queued %u\n",
		read, (unsigned long long)got, ks.last_id, ks.queued);
	if (got != 200 || ks.last_id != 200 + read)
		itest_print_log(it);
	assert_int_equal(got, 200);
	assert_int_equal(ks.last_id, 200 + read);
	assert_int_equal(itest_wait_stat(it, 0, "received", 200), 200);
	assert_int_equal(ks.full_dropped + ks.user_dropped, 0);
	log = nfqd_log(&it->d);
	assert_non_null(strstr(log, "queue 0: adopted the socket a previous nfqd left bound"));
	if (!strstr(log, said))
		fail_msg("nfqd did not log '%s':\n%s", said, log);
	free(log);
	free(itest_stop(it, 5000, NULL));
	close(sink);
}

/*
 * The dead reader read 50 of 200 queued packets and answered none. The next nfqd adopts its
 * socket, reads the other 150 and re-queues the 50 (NF_REPEAT below the first id it reads).
 */
static void test_packets_a_dead_reader_read_are_requeued_and_delivered(void **state)
{
	requeue_case(*state, 50, "any packets below id 51, read by a previous nfqd");
}

/*
 * The dead reader read all 200: the socket is empty, the kernel lists 200 queued. The next nfqd
 * re-queues up to the kernel's last id.
 */
static void test_empty_socket_with_packets_queued_requeues_up_to_the_last_id(void **state)
{
	requeue_case(*state, 200, "200 packets queued and none to read");
}

/* ---- under a steady flood ---- */

/* A sender at a steady rate (bursts of 50 every 2 ms: at most 25,000 packets/s) until
 * stopped. */
struct pacer {
	pthread_t thread;
	const char *ns, *dst;
	char src[256]; /* source addresses: --queue-balance hashes on addresses, not ports */
	atomic_int stop;
	atomic_ullong sent;
	unsigned int pause_us; /* between bursts of 50 */
};

static void *pacer_main(void *arg)
{
	struct pacer *p = arg;

	while (!atomic_load(&p->stop)) {
		long long n = udp_send(p->ns, p->src, p->dst, PORT, 2000, 32, 8, 50, p->pause_us);

		if (n > 0)
			atomic_fetch_add(&p->sent, (unsigned long long)n);
	}
	return NULL;
}

struct flow_run {
	struct pacer pacer;
	struct sink_thread sink;
	int sink_fd;
	unsigned long long rcvbuf_errors0;
	long long t0;
};

static void flow_start(struct itest *it, struct flow_run *f)
{
	memset(f, 0, sizeof(*f));
	f->sink_fd = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	assert_true(f->sink_fd >= 0);
	f->rcvbuf_errors0 = udp_rcvbuf_errors(it->t.fw);
	assert_int_equal(sink_thread_start(&f->sink, f->sink_fd), 0);
	assert_int_equal(topo_add_client_addrs(&it->t, 8, f->pacer.src, sizeof(f->pacer.src)), 0);
	f->t0 = now_ms();
	f->pacer.ns = it->t.cli;
	f->pacer.dst = it->t.fw4;
	/*
	 * About 20,000 packets/s. On the emulated mmap ring half that: the emulator moves each
	 * message into its frame with a recvmsg() of its own (the kernel's ring needs no system
	 * call at all), and every restart there re-queues the whole queue (the ring's set-up purges
	 * the socket), so at full pace the sanitizer builds fell behind the flood and the kernel
	 * dropped packets as queue-full: the test is about the restart, not the emulator's speed.
	 */
	f->pacer.pause_us = strcmp(itest_transport(it), "mmap") == 0 ? 4000 : 2000;
	assert_int_equal(pthread_create(&f->pacer.thread, NULL, pacer_main, &f->pacer), 0);
}

/*
 * Stop sending and check that every packet sent reached the sink (or overflowed its buffer, as
 * the kernel counts) and that neither queue dropped one.
 */
static unsigned long long flow_check(struct itest *it, struct flow_run *f)
{
	unsigned long long sent, sunk, lost_at_sink;
	struct nfqd_queue_kstats k0, k1;
	double secs;

	atomic_store(&f->pacer.stop, 1);
	pthread_join(f->pacer.thread, NULL);
	sent = atomic_load(&f->pacer.sent);
	secs = (double)(now_ms() - f->t0) / 1000.0;
	sunk = sink_thread_stop_at(&f->sink, sent, ITEST_DEADLINE_MS);
	lost_at_sink = udp_rcvbuf_errors(it->t.fw) - f->rcvbuf_errors0;
	k0 = kline(it, 0);
	k1 = kline(it, 1);
	fprintf(stderr,
		"sent %llu in %.1f s (%.0f/s), delivered %llu (+%llu overflowed the sink); kernel: "
		"queue 0 last id %u full_dropped %u user_dropped %u queued %u, queue 1 last id %u "
		"full_dropped %u user_dropped %u queued %u\n",
		sent, secs, (double)sent / secs, sunk, lost_at_sink, k0.last_id, k0.full_dropped,
		k0.user_dropped, k0.queued, k1.last_id, k1.full_dropped, k1.user_dropped,
		k1.queued);
	if (sunk + lost_at_sink != sent)
		itest_print_log(it);
	assert_true(sent > 0);
	/* the flood went through both queues */
	assert_true(k0.last_id > 0 && k1.last_id > 0);
	assert_int_equal(sunk + lost_at_sink, sent);
	assert_int_equal(k0.full_dropped + k0.user_dropped, 0);
	assert_int_equal(k1.full_dropped + k1.user_dropped, 0);
	close(f->sink_fd);
	return sent;
}

#define FLOOD_CONFIG                                                                               \
	"[queue]\nqueues = 0-1\nfail-open = no\nmax-len = 65536\nrcvbuf-max = 268435456\n"         \
	"[policy]\ndefault = accept\n"

/* Wait until nfqd has received `more` packets over both queues beyond `from`. */
static uint64_t wait_received(struct itest *it, uint64_t from, uint64_t more)
{
	return itest_wait_total(it, "received", from + more);
}

/* nfqd's worker threads held under the test's ptrace. */
struct held {
	pid_t tid[8];
	unsigned int n;
};

/* Kill nfqd, whose threads h holds, and reap them: a traced thread is its tracer's to reap. */
static void kill_held(pid_t pid, struct held *h)
{
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (unsigned int i = 0; i < h->n; i++)
		waitpid(h->tid[i], NULL, __WALL);
	h->n = 0;
}

/*
 * A system call that sends a worker's verdicts: send() (mmsg), or an io_uring_enter() that
 * submits (uring: the verdicts of the batch whose packets lie in the ring's buffers).
 */
static bool holds_verdicts(const struct __ptrace_syscall_info *si)
{
	return si->entry.nr == SYS_sendto ||
	       (si->entry.nr == SYS_io_uring_enter && si->entry.args[1] > 0);
}

/*
 * Stop nfqd's worker threads, and hold the first that enters send() stopped there: it has read
 * a batch and not sent its verdicts. The others are stopped at some system call. They stay
 * stopped under the test's ptrace until kill_held().
 */
static void hold_a_batch(pid_t pid, struct held *h)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	h->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)) && h->n < sizeof(h->tid) / sizeof(h->tid[0])) {
		pid_t t = (pid_t)strtol(e->d_name, NULL, 10);

		if (t > 0 && t != pid && ptrace(PTRACE_SEIZE, t, 0, PTRACE_O_TRACESYSGOOD) == 0) {
			h->tid[h->n++] = t;
			ptrace(PTRACE_INTERRUPT, t, 0, 0);
		}
	}
	closedir(d);
	for (long long deadline = now_ms() + ITEST_DEADLINE_MS; now_ms() < deadline;) {
		bool any = false;

		for (unsigned int i = 0; i < h->n; i++) {
			struct __ptrace_syscall_info si;
			int st, sig = 0;

			if (waitpid(h->tid[i], &st, __WALL | WNOHANG) != h->tid[i] ||
			    !WIFSTOPPED(st))
				continue;
			any = true;
			if (WSTOPSIG(st) == (SIGTRAP | 0x80) &&
			    ptrace(PTRACE_GET_SYSCALL_INFO, h->tid[i], sizeof(si), &si) > 0 &&
			    si.op == PTRACE_SYSCALL_INFO_ENTRY && holds_verdicts(&si))
				return;
			/* a signal for the thread (the wake-up) is passed on; other stops are ours
			 */
			if (WSTOPSIG(st) != (SIGTRAP | 0x80) && (st >> 16) == 0)
				sig = WSTOPSIG(st);
			ptrace(PTRACE_SYSCALL, h->tid[i], 0, sig);
		}
		if (!any)
			usleep(100);
	}
	kill_held(pid, h);
	fail_msg("no worker of nfqd sent verdicts within %d ms", ITEST_DEADLINE_MS);
}

/*
 * kill -9 three times under the flood, each time while a worker holds a batch it read and has
 * not answered, restarted with the stored sockets: nothing is lost, the kernel drops nothing,
 * the queues were never unbound (the same port id serves them), and the held packets were
 * re-queued (the kernel gave ids beyond the packets sent).
 */
static void test_kill9_three_times_under_flood_loses_nothing(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	unsigned long long sent, ids;
	struct flow_run f;
	uint32_t port0;
	char *log;

	start(h, FLOOD_CONFIG);
	port0 = kline(it, 0).portid;
	flow_start(it, &f);
	for (int i = 0; i < 3; i++) {
		long long t0;
		int st = 0;

		struct held held;

		wait_received(it, 0, 5000);
		hold_a_batch(it->d.pid, &held);
		t0 = now_ms();
		kill_held(it->d.pid, &held);
		assert_int_equal(nfqd_stop(&it->d, SIGKILL, ITEST_DEADLINE_MS, &st, NULL), 0);
		assert_true(WIFSIGNALED(st));
		/* the store holds the sockets: the queues are still bound */
		assert_true(queue_bound(it, 0) && queue_bound(it, 1));
		respawn(h);
		fprintf(stderr, "kill -9 %d: %lld ms from SIGKILL to READY=1 of the next nfqd\n",
			i + 1, now_ms() - t0);
	}
	wait_received(it, 0, 5000);
	sent = flow_check(it, &f);
	assert_int_equal(kline(it, 0).portid, port0);
	ids = (unsigned long long)kline(it, 0).last_id + kline(it, 1).last_id;
	fprintf(stderr, "ids given by the kernel %llu for %llu packets sent: %llu re-queued\n", ids,
		sent, ids - sent);
	assert_true(ids > sent);
	log = nfqd_log(&it->d);
	/* each held batch was re-queued by the next nfqd, below its first id or by id sequence */
	if (count_of(log, strcmp(itest_transport(it), "mmap") == 0
				  ? "when transport mmap was set up"
				  : "never answered") < 3)
		fail_msg("fewer than 3 re-queues in the log:\n%s", log);
	free(log);
	free(itest_stop(it, 5000, NULL));
}

/*
 * A real stop (SIGTERM with no successor) still drains and unbinds, and takes the sockets out of
 * the store: the next start binds afresh.
 */
static void test_real_stop_drains_unbinds_and_empties_the_store(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	char *log;

	start(h, FLOOD_CONFIG);
	assert_true(fdstore_get(&h->store, "queue-0") >= 0);
	assert_true(fdstore_get(&h->store, "queue-1") >= 0);
	assert_true(fdstore_get(&h->store, "control") >= 0);
	log = itest_stop(it, 5000, NULL);
	assert_non_null(strstr(log, "draining the queues (not started by systemd)"));
	assert_non_null(strstr(log, "queue 0: final:"));
	free(log);
	/* what nfqd said last is still in the notify socket */
	nfqd_saw_stopping(&it->d);
	assert_false(queue_bound(it, 0));
	assert_false(queue_bound(it, 1));
	assert_int_equal(fdstore_get(&h->store, "queue-0"), -1);
	assert_int_equal(fdstore_get(&h->store, "queue-1"), -1);
	assert_int_equal(fdstore_get(&h->store, "control"), -1);
}

/* Whether pid has exited and is not reaped yet (left for nfqd_stop()). */
static bool zombie(pid_t pid)
{
	char path[64], state[8];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return proc_stat_field(path, 3, state, sizeof(state)) < 0 || state[0] == 'Z';
}

/*
 * A worker whose receive fails for good (strace makes every recvmmsg of the worker EBADF) ends
 * nfqd with status 1. Under a service manager's fd store, nfqd leaves its queue bound there
 * instead of draining and unbinding it: packets keep being queued while nfqd is down, and the
 * restart (Restart=on-failure) adopts the queue and gives each its verdict. The seccomp filter
 * is off for strace's fault injection (itrace.h).
 */
static void test_a_worker_that_cannot_receive_leaves_its_queue_to_the_restart(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	uint64_t got, sent = 100;
	const char *recv_call;
	char inject[64];
	pid_t tracer;
	long ms = 0;
	int st = 0, sink;
	char *log;

	assert_int_equal(ns_sh(it->t.fw,
			       "iptables -I INPUT -p udp --dport %d -j NFQUEUE "
			       "--queue-num 0",
			       PORT + 1),
			 0);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT + 1);
	assert_true(sink >= 0);
	start(h, "[queue]\nqueues = 0\nfail-open = no\n[policy]\ndefault = accept\n"
		 "[daemon]\nseccomp = no\n");
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT + 1, 100, 32, 4, 50, 0), 100);
	got = udp_sink_wait(sink, 100, ITEST_DEADLINE_MS);
	assert_int_equal(got, 100);

	/* the system call that receives on the transport in use */
	recv_call = strcmp(itest_transport(it), "uring") == 0  ? "io_uring_enter"
		    : strcmp(itest_transport(it), "mmap") == 0 ? "poll"
							       : "recvmmsg";
	snprintf(inject, sizeof(inject), "inject=%s:error=EBADF:when=20+", recv_call);
	/* from the 20th receive after strace attached on, every one fails; packets hurry them */
	tracer = itrace_worker(it, recv_call, inject);
	for (long long end = now_ms() + ITEST_DEADLINE_MS; !zombie(it->d.pid) && now_ms() < end;) {
		assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT + 1, 1, 32, 1, 1, 0), 1);
		sent++;
		usleep(5000);
	}
	assert_int_equal(nfqd_stop(&it->d, 0, ITEST_DEADLINE_MS, &st, &ms), 0);
	itrace_detach(tracer);
	log = nfqd_log(&it->d);
	assert_non_null(log);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 ||
	    !strstr(log, "the queues stay bound in the service manager's fd store"))
		fprintf(stderr, "nfqd's log:\n%s\n", log);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_non_null(strstr(log, "the queues stay bound in the service manager's fd store"));
	free(log);
	/* down, but the queue is bound and stored: what comes now waits in it */
	assert_true(queue_bound(it, 0));
	assert_true(fdstore_get(&h->store, "queue-0") >= 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT + 1, 200, 32, 4, 50, 0), 200);
	sent += 200;

	respawn(h);
	/* every one: those the failed worker read are re-queued by the new nfqd */
	got += udp_sink_wait(sink, sent - got, ITEST_DEADLINE_MS);
	fprintf(stderr, "worker failure: %llu sent, %llu delivered\n", (unsigned long long)sent,
		(unsigned long long)got);
	if (got != sent)
		itest_print_log(it);
	assert_int_equal(got, sent);
	assert_int_equal(kline(it, 0).full_dropped + kline(it, 0).user_dropped, 0);
	close(sink);
}

/*
 * The store holds queue-0 and queue-1, the new config only queue 0: queue 1 is unbound on
 * purpose, logged, and removed from the store; queue 0 is adopted.
 */
static void test_a_stored_queue_no_longer_configured_is_unbound(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	uint32_t port0;
	int st = 0;
	char *log;
	FILE *c;

	start(h, FLOOD_CONFIG);
	port0 = kline(it, 0).portid;
	assert_int_equal(nfqd_stop(&it->d, SIGKILL, ITEST_DEADLINE_MS, &st, NULL), 0);
	assert_true(queue_bound(it, 1));
	c = fopen(it->d.conf, "we");
	assert_non_null(c);
	fprintf(c, "[queue]\nqueues = 0\nfail-open = no\n[daemon]\ncontrol = %s\n", it->d.control);
	fclose(c);
	respawn(h);
	log = nfqd_log(&it->d);
	if (!strstr(log, "queue 1 is no longer configured: unbound its inherited socket"))
		fail_msg("no word of queue 1:\n%s", log);
	free(log);
	assert_false(queue_bound(it, 1));
	assert_int_equal(kline(it, 0).portid, port0);
	/* FDSTOREREMOVE came with it */
	for (int waited = 0; fdstore_get(&h->store, "queue-1") != -1; waited += 10) {
		nfqd_saw_stopping(&it->d);
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("queue-1 is still in the store");
		usleep(10 * 1000);
	}
	free(itest_stop(it, 5000, NULL));
}

/* ---- SIGTERM: a stop, or a restart with a successor ---- */

/* Start nfqd as systemd would, with a D-Bus peer that says what job the unit has. */
static void start_under_fake_systemd(struct ht *h, struct fakebus *bus, const char *job_type)
{
	char path[96];

	snprintf(path, sizeof(path), "/tmp/nfqd-test-bus-%d.sock", (int)getpid());
	assert_int_equal(fakebus_start(bus, path, job_type), 0);
	setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", bus->address, 1);
	start(h, FLOOD_CONFIG);
	unsetenv("INVOCATION_ID");
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

/*
 * SIGTERM while systemd runs a restart job, three times under the flood: each nfqd answers what
 * it read and leaves the queues bound (never frozen to max-len 0, never unbound); the next one
 * adopts them. Nothing is lost, the kernel drops nothing, the same sockets serve throughout.
 */
static void test_sigterm_during_a_restart_job_hands_over_and_loses_nothing(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	struct fakebus bus;
	struct flow_run f;
	uint32_t port0, port1;
	char *log;

	start_under_fake_systemd(h, &bus, "restart");
	port0 = kline(it, 0).portid;
	port1 = kline(it, 1).portid;
	flow_start(it, &f);
	for (int i = 0; i < 3; i++) {
		long long t0;
		long stop_ms = 0;

		wait_received(it, 0, 5000);
		t0 = now_ms();
		free(itest_stop(it, 5000, &stop_ms));
		assert_true(queue_bound(it, 0) && queue_bound(it, 1));
		setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
		setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address, 1);
		respawn(h);
		unsetenv("INVOCATION_ID");
		unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
		fprintf(stderr,
			"restart %d: hand-over stop %ld ms, %lld ms from SIGTERM to READY=1 of the "
			"next nfqd\n",
			i + 1, stop_ms, now_ms() - t0);
	}
	wait_received(it, 0, 5000);
	flow_check(it, &f);
	assert_int_equal(kline(it, 0).portid, port0);
	assert_int_equal(kline(it, 1).portid, port1);
	assert_int_equal(atomic_load(&bus.asked), 3);
	log = nfqd_log(&it->d);
	if (!strstr(log, "SIGTERM received; systemd's job for the unit is 'restart': handing the "
			 "queues over"))
		fail_msg("no hand-over in the log:\n%s", log);
	free(log);
	fakebus_stop(&bus);
}

/* SIGTERM during a stop job drains and unbinds, as a stop must. */
static void test_sigterm_during_a_stop_job_drains_and_unbinds(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	struct fakebus bus;
	char *log;

	start_under_fake_systemd(h, &bus, "stop");
	log = itest_stop(it, 5000, NULL);
	fakebus_stop(&bus);
	if (!strstr(log, "draining the queues (systemd's job for the unit is 'stop')"))
		fail_msg("no drain in the log:\n%s", log);
	free(log);
	assert_int_equal(atomic_load(&bus.asked), 1);
	assert_false(queue_bound(it, 0));
	assert_false(queue_bound(it, 1));
}

/* D-Bus cannot be asked: drain (the safe choice), and say why. */
static void test_sigterm_when_dbus_cannot_be_asked_drains_and_says_why(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	char *log;

	setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/nfqd-test-bus.sock", 1);
	start(h, FLOOD_CONFIG);
	unsetenv("INVOCATION_ID");
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	log = itest_stop(it, 5000, NULL);
	if (!strstr(log, "draining the queues (cannot ask systemd over D-Bus: "))
		fail_msg("no reason in the log:\n%s", log);
	free(log);
	assert_false(queue_bound(it, 0));
}

/* ---- nfqctl upgrade and SIGUSR2: re-exec in place ---- */

/* The number of seccomp filters in force in pid (Seccomp_filters in /proc). */
static unsigned int seccomp_filters(pid_t pid)
{
	char path[64], line[256];
	unsigned int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		sscanf(line, "Seccomp_filters: %u", &n);
	fclose(f);
	return n;
}

/* A copy of nfqd in a directory of the test's own, that the test may replace or move away. */
struct bincopy {
	char dir[64];
	char bin[96];
};

static void bincopy_make(struct itest *it, struct bincopy *c)
{
	snprintf(c->dir, sizeof(c->dir), "/tmp/nfqd-test-bin-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->bin, sizeof(c->bin), "%s/nfqd", c->dir);
	itest_fw(it, "cp %s %s", nfqd_bin(), c->bin);
	setenv("NFQD_TEST_BIN", c->bin, 1);
}

static void bincopy_remove(struct itest *it, struct bincopy *c)
{
	unsetenv("NFQD_TEST_BIN");
	itest_fw(it, "rm -rf %s", c->dir);
}

static unsigned int ready_lines(struct itest *it)
{
	char *log = nfqd_log(&it->d);
	unsigned int n = count_of(log, "ready: serving");

	free(log);
	return n;
}

/* Wait until the log holds n "ready" lines (READY=1 goes out just before the line). */
static void wait_ready_lines(struct itest *it, unsigned int n)
{
	for (int waited = 0; ready_lines(it) < n; waited += 10) {
		if (waited >= ITEST_DEADLINE_MS) {
			itest_print_log(it);
			fail_msg("%u 'ready' lines in the log, expected %u", ready_lines(it), n);
		}
		usleep(10 * 1000);
	}
}

/*
 * Upgrade by `nfqctl upgrade` (or SIGUSR2 with by_signal) and wait until the new image is
 * ready: the same pid, one more "ready" in the log.
 */
static void upgrade_once(struct itest *it, bool by_signal)
{
	pid_t pid = it->d.pid;
	unsigned int ready;

	wait_ready_lines(it, 1);
	ready = ready_lines(it);

	if (by_signal) {
		assert_int_equal(kill(pid, SIGUSR2), 0);
	} else {
		char *r = nfqd_control(&it->d, "upgrade\n");

		if (!r || !strstr(r, "{\"upgrade\":\"re-executing '")) {
			itest_print_log(it);
			fail_msg("upgrade answered: %s", r ? r : "(nothing)");
		}
		free(r);
	}
	if (nfqd_wait_ready(&it->d, ITEST_DEADLINE_MS) != 0) {
		itest_print_log(it);
		fail_msg("no READY=1 from the upgraded nfqd");
	}
	assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
	wait_ready_lines(it, ready + 1);
	assert_int_equal(ready_lines(it), ready + 1);
}

/*
 * `nfqctl upgrade` twice and SIGUSR2 once under the flood: the same pid runs a new image each
 * time, which adopts the sockets; nothing is lost and the kernel drops nothing.
 */
static void test_upgrade_three_times_under_flood_loses_nothing_and_keeps_the_pid(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	struct bincopy c;
	struct flow_run f;
	uint32_t port0, port1;
	unsigned int filters;
	pid_t pid;
	char *log;

	bincopy_make(it, &c);
	start(h, FLOOD_CONFIG);
	pid = it->d.pid;
	filters = seccomp_filters(pid);
	assert_true(filters >= 1);
	port0 = kline(it, 0).portid;
	port1 = kline(it, 1).portid;
	flow_start(it, &f);
	for (int i = 0; i < 3; i++) {
		long long t0;

		wait_received(it, 0, 5000);
		t0 = now_ms();
		upgrade_once(it, i == 2);
		fprintf(stderr, "upgrade %d (%s): %lld ms to READY=1 of the new image\n", i + 1,
			i == 2 ? "SIGUSR2" : "nfqctl upgrade", now_ms() - t0);
	}
	wait_received(it, 0, 5000);
	flow_check(it, &f);
	assert_int_equal(it->d.pid, pid);
	/* the new images loaded no filter of their own on top of the inherited one */
	assert_int_equal(seccomp_filters(pid), filters);
	assert_int_equal(kline(it, 0).portid, port0);
	assert_int_equal(kline(it, 1).portid, port1);
	log = itest_stop(it, 5000, NULL);
	assert_int_equal(count_of(log, "upgrade: re-executing"), 3);
	assert_int_equal(count_of(log, "control socket '"), 3);
	free(log);
	bincopy_remove(it, &c);
}

/* The binary moved away: the upgrade is refused with the reason, and nfqd serves on. */
static void test_upgrade_with_the_binary_moved_away_is_refused_and_nfqd_serves_on(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	struct bincopy c;
	char want[256];
	char *r, *log;

	assert_true(sink >= 0);
	bincopy_make(it, &c);
	start(h, FLOOD_CONFIG);
	itest_fw(it, "mv %s %s.moved", c.bin, c.bin);
	r = nfqd_control(&it->d, "upgrade\n");
	snprintf(want, sizeof(want),
		 "{\"error\":\"upgrade refused: cannot open '%s': No such file or directory; nfqd "
		 "serves on\"}",
		 c.bin);
	if (!r || !strstr(r, want))
		fail_msg("upgrade answered %s, not %s", r ? r : "(nothing)", want);
	free(r);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT, 200, 32, 4, 20, 500), 200);
	assert_int_equal(udp_sink_wait(sink, 200, ITEST_DEADLINE_MS), 200);
	log = itest_stop(it, 5000, NULL);
	assert_non_null(strstr(log, "upgrade refused: cannot open '"));
	free(log);
	close(sink);
	bincopy_remove(it, &c);
}

/*
 * The binary passes the check but the exec fails (a script whose interpreter is missing): the
 * workers start again on the same sockets, nfqd says why and serves on, losing nothing.
 */
static void test_failed_exec_restarts_the_workers_on_the_same_sockets(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	struct bincopy c;
	struct flow_run f;
	uint32_t port0;
	char *r, *log;

	bincopy_make(it, &c);
	start(h, FLOOD_CONFIG);
	port0 = kline(it, 0).portid;
	flow_start(it, &f);
	wait_received(it, 0, 1000);
	itest_fw(it,
		 "printf '#!/nonexistent/interpreter\\n' > %s.new && chmod 755 %s.new && "
		 "mv %s.new %s",
		 c.bin, c.bin, c.bin, c.bin);
	r = nfqd_control(&it->d, "upgrade\n");
	assert_non_null(r);
	assert_non_null(strstr(r, "{\"upgrade\":\"re-executing '"));
	free(r);
	if (nfqd_wait_ready(&it->d, ITEST_DEADLINE_MS) != 0) {
		itest_print_log(it);
		fail_msg("no READY=1 after the failed exec");
	}
	wait_received(it, 0, 5000);
	flow_check(it, &f);
	assert_int_equal(kline(it, 0).portid, port0);
	log = itest_stop(it, 5000, NULL);
	if (!strstr(log, "upgrade failed: cannot execute '"))
		fail_msg("no reason in the log:\n%s", log);
	free(log);
	bincopy_remove(it, &c);
}

/*
 * The config names another control socket when nfqd upgrades: the new image, under the filter
 * of the old one, keeps serving the inherited socket and says so, rather than dying on a call
 * the filter denies.
 */
static void test_upgrade_with_a_new_control_path_keeps_the_inherited_socket(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	struct bincopy c;
	char *log;
	FILE *f;

	bincopy_make(it, &c);
	start(h, "[queue]\nqueues = 0\n");
	f = fopen(it->d.conf, "we");
	assert_non_null(f);
	fprintf(f, "[queue]\nqueues = 0\n[daemon]\ncontrol = %s/other.sock\n", it->d.dir);
	fclose(f);
	upgrade_once(it, false);
	free(itest_stats(it));
	log = itest_stop(it, 5000, NULL);
	if (!strstr(log, "but this upgraded nfqd keeps serving"))
		fail_msg("no word of the control socket:\n%s", log);
	free(log);
	bincopy_remove(it, &c);
}

/* ---- upgrade as `user =` ---- */

static char test_user[32];

static int setup_user(void **state)
{
	char cmd[160];

	snprintf(test_user, sizeof(test_user), "nfqd-h-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "useradd --system --no-create-home --shell /usr/sbin/nologin %s",
		 test_user);
	if (system(cmd) != 0)
		return -1;
	if (setup(state) == 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "userdel %s", test_user);
	(void)system(cmd);
	return -1;
}

static int teardown_user(void **state)
{
	char cmd[160];

	teardown(state);
	snprintf(cmd, sizeof(cmd), "userdel %s", test_user);
	return system(cmd) == 0 ? 0 : -1;
}

/* The effective capabilities (CapEff) and real uid of pid, from /proc. */
static void proc_caps(pid_t pid, unsigned long long *cap_eff, unsigned int *uid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "CapEff: %llx", cap_eff);
		sscanf(line, "Uid: %u", uid);
	}
	fclose(f);
}

/*
 * Running as a user (not root), nfqd keeps cap_net_admin across the exec (ambient set): the new
 * image runs as the same user with cap_net_admin alone, adopts the queue and gives verdicts.
 */
static void test_upgrade_as_a_user_keeps_cap_net_admin_and_serves(void **state)
{
	struct ht *h = *state;
	struct itest *it = &h->it;
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	struct passwd *pw = getpwnam(test_user);
	unsigned long long caps = 0;
	unsigned int uid = 0;
	struct bincopy c;
	char conf[256];
	char *log;

	assert_true(sink >= 0);
	assert_non_null(pw);
	bincopy_make(it, &c);
	itest_fw(it, "chmod 755 %s", c.dir);
	snprintf(conf, sizeof(conf), "[queue]\nqueues = 0-1\nfail-open = no\n[daemon]\nuser = %s\n",
		 test_user);
	start(h, conf);
	upgrade_once(it, false);
	proc_caps(it->d.pid, &caps, &uid);
	assert_int_equal(uid, pw->pw_uid);
	assert_int_equal(caps, 1ull << 12 /* CAP_NET_ADMIN */);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT, 300, 32, 4, 20, 500), 300);
	assert_int_equal(udp_sink_wait(sink, 300, ITEST_DEADLINE_MS), 300);
	log = itest_stop(it, 5000, NULL);
	assert_int_equal(count_of(log, "privileges: running as user"), 2);
	free(log);
	close(sink);
	bincopy_remove(it, &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_packets_a_dead_reader_read_are_requeued_and_delivered, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_empty_socket_with_packets_queued_requeues_up_to_the_last_id, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_kill9_three_times_under_flood_loses_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_stop_drains_unbinds_and_empties_the_store,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_worker_that_cannot_receive_leaves_its_queue_to_the_restart, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_a_stored_queue_no_longer_configured_is_unbound,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sigterm_during_a_restart_job_hands_over_and_loses_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_during_a_stop_job_drains_and_unbinds,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sigterm_when_dbus_cannot_be_asked_drains_and_says_why, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_upgrade_three_times_under_flood_loses_nothing_and_keeps_the_pid, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_upgrade_with_the_binary_moved_away_is_refused_and_nfqd_serves_on,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_exec_restarts_the_workers_on_the_same_sockets, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_upgrade_with_a_new_control_path_keeps_the_inherited_socket, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_upgrade_as_a_user_keeps_cap_net_admin_and_serves, setup_user,
			teardown_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
