/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_latency: the latency a queue reader adds to each packet.
 *
 * A sender in the client namespace writes CLOCK_MONOTONIC (ns) and a sequence number into each
 * UDP datagram, paced on absolute deadlines (clock_nanosleep, TIMER_ABSTIME: a late wake-up
 * sends what is due at once, so the rate asked is the rate over the run; the rate achieved is
 * printed). A socket in the firewall namespace, behind `iptables -A INPUT -j NFQUEUE` (the path
 * bench_drain uses), reads each one and records now - stamp: both namespaces share the host's
 * clock. The contenders take turns within each round (A B C, A B C, ...):
 *
 *   none          no NFQUEUE rule: the path's own latency, the baseline of the round
 *   floor         bench_reader --mode floor (recvmmsg 64 + one VERDICT_BATCH)
 *   nfqd ...      nfqd with its defaults, then each setting studied (--variant)
 *
 * For each: p50/p90/p99/p99.9 of the latency, and the ADDED latency, the contender's percentile
 * minus none's of the same round; each figure the median over the rounds with its min-max,
 * and the added p50 and p99 as a ratio to the floor reader's. Packets lost are counted (a lost
 * packet is no sample). CPU per packet: non-idle CPU time of the whole machine (/proc/stat)
 * over the measured interval, divided by the packets received.
 *
 * Rates: --rate R (default 1000 pkt/s) and --half-capacity: half of nfqd's drain rate, measured
 * first as bench_drain does (a pre-filled queue emptied by a resumed nfqd). Without either,
 * both are run.
 *
 *   bench_latency [--runs N] [--rate R] [--half-capacity] [--seconds S] [--quick]
 *                 [--out DIR] [--variant NAME:CONFIG-LINES]...
 *
 * --out DIR writes latency-<contender>-<rate>.dat for each contender and rate (<rate> is the
 * pkt/s asked, or "half"): latencies in microseconds, one per line, ascending, from every round
 * pooled; at most 10001 lines, taken at evenly spaced ranks (the first and last kept), so that
 * the file is the pooled distribution's CDF at that resolution.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bgproc.h"
#include "bench.h"
#include "cpustat.h"
#include "netns.h"
#include "traffic.h"

#define PORT	      5000
#define DRAIN_PORT    5001
#define MAX_VARIANTS  8
#define MAX_RUNS      99
#define DAT_LINES_MAX 10001
#define COUNT_MAX     300000
#define SEND_BURST    64
#define RECV_BURST    64
#define QUEUE_RULE    "INPUT -p udp -j NFQUEUE --queue-num 0"

enum kind {
	KIND_NONE,
	KIND_FLOOR,
	KIND_NFQD,
};

struct contender {
	char name[32];
	enum kind kind;
	char conf[256]; /* nfqd: lines of [queue] */
};

/* One contender's figures in one round. */
struct sample {
	double pct[4]; /* p50, p90, p99, p99.9 in microseconds */
	double rate;   /* achieved send rate */
	double cpu_us; /* machine CPU per packet received */
	unsigned long sent, received;
	double idle_ms; /* nfqd's CPU time over the idle interval after the traffic; -1: none */
	/* nfqd's worker since its start: moves between CPUs, and preemptions */
	unsigned long long migrations, preempted;
};

static const double pct_of[4] = { 50, 90, 99, 99.9 };

/* The payload: when and which. */
struct stamp {
	uint64_t seq;
	uint64_t ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* utime + stime of process pid, in clock ticks (/proc/PID/stat fields 14 and 15). */
static int process_cpu(pid_t pid, unsigned long long *ticks)
{
	char path[64], ut[32], st[32];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (proc_stat_field(path, 14, ut, sizeof(ut)) < 0 ||
	    proc_stat_field(path, 15, st, sizeof(st)) < 0)
		return -1;
	*ticks = strtoull(ut, NULL, 10) + strtoull(st, NULL, 10);
	return 0;
}

struct sender {
	pthread_t thread;
	int fd;
	double rate;
	unsigned long count;
	uint64_t first_seq;
	uint64_t t0, t1; /* first and last send */
	unsigned long sent;
};

/*
 * Send count datagrams at rate, the i-th due at t0 + i / rate. A wake-up finds every datagram
 * due by then and sends them in one sendmmsg, each stamped as it leaves: a late sender catches
 * up on its schedule without counting its own lateness as the path's.
 */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	uint64_t period = (uint64_t)(1e9 / s->rate);
	struct stamp st[SEND_BURST];
	struct mmsghdr mh[SEND_BURST];
	struct iovec iov[SEND_BURST];
	uint64_t t0;

	/* the default 50 us of slack would pace 1k pkt/s with 5% jitter */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	memset(mh, 0, sizeof(mh));
	for (int k = 0; k < SEND_BURST; k++) {
		iov[k] = (struct iovec){ .iov_base = &st[k], .iov_len = sizeof(st[k]) };
		mh[k].msg_hdr.msg_iov = &iov[k];
		mh[k].msg_hdr.msg_iovlen = 1;
	}
	t0 = mono_ns() + 1000000;
	s->t0 = t0;
	for (unsigned long i = 0; i < s->count;) {
		uint64_t due = t0 + i * period, now = mono_ns();
		struct timespec ts = { .tv_sec = (time_t)(due / 1000000000u),
				       .tv_nsec = (long)(due % 1000000000u) };
		unsigned int n = 0;
		int r;

		if (now < due) {
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
			now = mono_ns();
		}
		while (n < SEND_BURST && i + n < s->count && t0 + (i + n) * period <= now) {
			st[n].seq = s->first_seq + i + n;
			st[n].ns = now;
			n++;
		}
		if (n == 0)
			continue;
		r = sendmmsg(s->fd, mh, n, 0);
		if (r > 0)
			s->sent += (unsigned long)r;
		i += n;
	}
	__atomic_store_n(&s->t1, mono_ns(), __ATOMIC_RELEASE);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values, in microseconds. */
static double percentile_us(const uint64_t *v, unsigned long n, double p)
{
	unsigned long rank = (unsigned long)(p / 100.0 * (double)n + 0.999999);

	if (n == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

/*
 * Send count datagrams at rate through the path and read them at the sink; fill *out and
 * append the latencies (ns) to *pool. Half a second of warm-up first, not measured. Returns 0
 * or -1.
 */
static int measure(struct topo *t, int sink, double rate, unsigned long count, uint64_t *seq,
		   struct sample *out, uint64_t **pool, unsigned long *pool_n)
{
	struct sender s = { .rate = rate };
	struct stamp rst[RECV_BURST];
	struct mmsghdr rm[RECV_BURST];
	struct iovec riov[RECV_BURST];
	/* half a second: a reader just started may still be settling in (page faults, its
	 * main thread's start-up work) */
	unsigned long warm = (unsigned long)(rate / 2);
	uint64_t *lat = NULL;
	uint8_t *seen = NULL;
	unsigned long got = 0;
	unsigned long long b0 = 0, b1;
	uint64_t last_arrival, base;
	long tck = sysconf(_SC_CLK_TCK);
	int ret = -1;

	s.fd = udp_flow_open(t->cli, NULL, t->fw4, PORT);
	if (s.fd < 0)
		return -1;
	/* the warm-up leads the same schedule: wakes the path and the reader; its datagrams are
	 * read and not measured */
	base = *seq + warm;
	lat = calloc(count, sizeof(*lat));
	seen = calloc(count, 1);
	if (!lat || !seen)
		goto out;
	s.count = warm + count;
	s.first_seq = *seq;
	*seq += warm + count;
	if (pthread_create(&s.thread, NULL, sender_main, &s) != 0)
		goto out;
	memset(rm, 0, sizeof(rm));
	for (int k = 0; k < RECV_BURST; k++) {
		riov[k] = (struct iovec){ .iov_base = &rst[k], .iov_len = sizeof(rst[k]) };
		rm[k].msg_hdr.msg_iov = &riov[k];
		rm[k].msg_hdr.msg_iovlen = 1;
	}
	last_arrival = mono_ns();
	while (got < count) {
		/* what one receive returns had all arrived by its return: one clock read */
		int r = recvmmsg(sink, rm, RECV_BURST, MSG_WAITFORONE, NULL);
		uint64_t now = mono_ns();

		for (int k = 0; k < r; k++) {
			uint64_t q = rst[k].seq - base;

			if (rm[k].msg_len != sizeof(rst[k]) || rst[k].seq < base || q >= count ||
			    seen[q])
				continue;
			/* the measured interval starts with its first datagram */
			if (got == 0 && bench_machine_busy(&b0) < 0)
				b0 = 0;
			seen[q] = 1;
			lat[got++] = now - rst[k].ns;
			last_arrival = now;
		}
		/* the receive timeout: is everything sent, and nothing more on its way? */
		if (r <= 0 && __atomic_load_n(&s.t1, __ATOMIC_ACQUIRE) &&
		    now - last_arrival > 3000000000u)
			break;
	}
	pthread_join(s.thread, NULL);
	if (bench_machine_busy(&b1) < 0)
		goto out;
	qsort(lat, got, sizeof(*lat), cmp_u64);
	for (int k = 0; k < 4; k++)
		out->pct[k] = percentile_us(lat, got, pct_of[k]);
	out->sent = s.sent > warm ? s.sent - warm : 0;
	out->received = got;
	out->rate = s.t1 > s.t0 ? (double)s.sent / ((double)(s.t1 - s.t0) / 1e9) : 0;
	out->cpu_us = got ? (double)(b1 - b0) / (double)tck * 1e6 / (double)got : 0;
	if (got) {
		uint64_t *np = realloc(*pool, (*pool_n + got) * sizeof(**pool));

		if (!np)
			goto out;
		memcpy(np + *pool_n, lat, got * sizeof(*lat));
		*pool = np;
		*pool_n += got;
	}
	ret = 0;
out:
	free(seen);
	free(lat);
	close(s.fd);
	return ret;
}

/* The floor reader, started in ns; returns its pid once it printed "ready", or -1. */
static pid_t floor_start(const char *ns)
{
	char self[PATH_MAX], path[PATH_MAX + 16], line[64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int pfd[2];
	pid_t pid;
	FILE *f;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(path, sizeof(path), "%s/bench_reader", self);
	if (pipe2(pfd, O_CLOEXEC) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execlp("ip", "ip", "netns", "exec", ns, path, "--mode", "floor", "--queue", "0",
		       "--max-len", "8192", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return -1;
	}
	f = fdopen(pfd[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "ready", 5) != 0) {
		fprintf(stderr, "bench: %s did not say ready\n", path);
		if (f)
			fclose(f);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	fclose(f);
	return pid;
}

static void floor_stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "bench: bench_reader ended with status 0x%x\n", st);
}

/* The reader of a contender, running; undone by reader_stop(). */
struct reader {
	const struct contender *c;
	struct nfqd_proc d;
	pid_t floor;
};

static int reader_start(struct reader *r, struct topo *t, const struct contender *c)
{
	char conf[512];
	int st;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->floor = -1;
	switch (c->kind) {
	case KIND_NONE:
		return ns_sh(t->fw, "iptables -D " QUEUE_RULE) == 0 ? 0 : -1;
	case KIND_FLOOR:
		r->floor = floor_start(t->fw);
		return r->floor > 0 ? 0 : -1;
	case KIND_NFQD:
		snprintf(conf, sizeof(conf), "[queue]\n%s\n", c->conf);
		if (nfqd_start(&r->d, t->fw, conf, 5000, &st) != 0) {
			char *log = nfqd_log(&r->d);

			fprintf(stderr, "bench: nfqd (%s) did not start:\n%s\n", c->name,
				log ? log : "");
			free(log);
			nfqd_cleanup(&r->d);
			return -1;
		}
		return 0;
	}
	return -1;
}

static void reader_stop(struct reader *r, struct topo *t)
{
	int st;

	switch (r->c->kind) {
	case KIND_NONE:
		ns_sh(t->fw, "iptables -A " QUEUE_RULE);
		break;
	case KIND_FLOOR:
		floor_stop(r->floor);
		break;
	case KIND_NFQD:
		nfqd_stop(&r->d, SIGTERM, 5000, &st, NULL);
		nfqd_cleanup(&r->d);
		break;
	}
}

/* nfqd's drain rate (packets/s) of n pre-queued packets, as bench_drain measures it; -1. */
static double drain_rate(struct topo *t, unsigned long n)
{
	struct nfqd_proc d;
	unsigned int queued = 0, last, prev = ~0u;
	double t0, pps = -1;
	int st, sink = udp_sink_open(t->fw, "0.0.0.0", DRAIN_PORT);

	if (sink < 0)
		return -1;
	if (nfqd_start(&d, t->fw, "[queue]\nmax-len = 65536\n", 5000, &st) != 0 ||
	    nfqd_pause(&d) < 0 || udp_send(t->cli, NULL, t->fw4, DRAIN_PORT, n, 16, 4, 32, 0) < 0)
		goto out;
	/* packets may still be on their way through the veth */
	for (int i = 0; i < 200 && queued != prev; i++) {
		prev = queued;
		usleep(20000);
		if (kernel_queue_line(t->fw, 0, &queued, &last) < 0)
			goto out;
	}
	t0 = bench_now();
	kill(d.pid, SIGCONT);
	for (unsigned int q = queued; q > 0;) {
		if (kernel_queue_line(t->fw, 0, &q, &last) < 0 || bench_now() - t0 > 60)
			goto out;
		usleep(500);
	}
	pps = queued / (bench_now() - t0);
	nfqd_stop(&d, SIGTERM, 5000, &st, NULL);
out:
	nfqd_cleanup(&d);
	udp_sink_count(sink, 20, 5000);
	close(sink);
	return pps;
}

/* A thread's scheduler counters (/proc/PID/task/TID/sched): CPU moves and preemptions. */
static void sched_counts(pid_t pid, pid_t tid, unsigned long long *migr, unsigned long long *pre)
{
	char path[96], line[256];
	FILE *f;

	*migr = *pre = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/sched", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		if (strncmp(line, "se.nr_migrations ", 17) == 0)
			*migr = strtoull(colon + 1, NULL, 10);
		else if (strncmp(line, "nr_involuntary_switches ", 24) == 0)
			*pre = strtoull(colon + 1, NULL, 10);
	}
	fclose(f);
}

/* CPU time (ms) process pid takes over the next `seconds`, with no traffic; -1 on error. */
static double idle_cpu_ms(pid_t pid, double seconds)
{
	unsigned long long a, b;
	struct timespec ts = { .tv_sec = (time_t)seconds,
			       .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };

	if (process_cpu(pid, &a) < 0)
		return -1;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	if (process_cpu(pid, &b) < 0)
		return -1;
	return (double)(b - a) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* "median [min-max]" of n values (sorted in place). */
static const char *spread(double *v, int n, char *buf, size_t len)
{
	double med = bench_median(v, n);

	if (n == 1)
		snprintf(buf, len, "%.0f", med);
	else
		snprintf(buf, len, "%.0f [%.0f-%.0f]", med, v[0], v[n - 1]);
	return buf;
}

static void write_dat(const char *dir, const char *name, const char *rate, uint64_t *v,
		      unsigned long n)
{
	char path[PATH_MAX];
	unsigned long lines = n < DAT_LINES_MAX ? n : DAT_LINES_MAX;
	FILE *f;

	snprintf(path, sizeof(path), "%s/latency-%s-%s.dat", dir, name, rate);
	f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	for (unsigned long i = 0; i < lines; i++) {
		unsigned long at =
			lines > 1
				? (unsigned long)((double)i * (double)(n - 1) / (double)(lines - 1))
				: 0;

		fprintf(f, "%.3f\n", (double)v[at] / 1000.0);
	}
	fclose(f);
}

struct plan {
	struct contender c[MAX_VARIANTS + 2];
	int n;
	int runs;
	double seconds;
	double idle_seconds; /* how long nfqd's CPU time is watched without traffic */
	const char *out;
};

/* Every round of one rate, and its table. Returns 0 or -1. */
static int run_rate(struct topo *t, int sink, const struct plan *p, double rate, const char *label)
{
	static struct sample s[MAX_RUNS][MAX_VARIANTS + 2];
	uint64_t *pool[MAX_VARIANTS + 2] = { NULL };
	unsigned long pool_n[MAX_VARIANTS + 2] = { 0 };
	unsigned long count = (unsigned long)(rate * p->seconds);
	uint64_t seq = 0;
	int floor_i = -1, ret = -1;

	if (count < 100)
		count = 100;
	/* at half capacity, a bound on the memory of the samples pooled for --out */
	if (count > COUNT_MAX)
		count = COUNT_MAX;
	for (int r = 0; r < p->runs; r++) {
		for (int i = 0; i < p->n; i++) {
			struct reader rd;
			int m;

			if (reader_start(&rd, t, &p->c[i]) < 0)
				goto out;
			m = measure(t, sink, rate, count, &seq, &s[r][i], &pool[i], &pool_n[i]);
			s[r][i].idle_ms = -1;
			/* once per contender: what it costs while nothing comes */
			if (m == 0 && r == 0 && p->c[i].kind == KIND_NFQD) {
				sched_counts(rd.d.pid, nfqd_worker_tid(rd.d.pid),
					     &s[r][i].migrations, &s[r][i].preempted);
				s[r][i].idle_ms = idle_cpu_ms(rd.d.pid, p->idle_seconds);
			}
			reader_stop(&rd, t);
			if (m < 0)
				goto out;
			/* what is left of a lost packet's neighbours must not count next turn */
			udp_sink_count(sink, 20, 5000);
		}
	}
	for (int i = 0; i < p->n; i++)
		if (p->c[i].kind == KIND_FLOOR)
			floor_i = i;

	printf("\n### added latency at %.0f pkt/s (%s), %lu packets per contender and round, "
	       "median [min-max] of %d round%s, microseconds\n\n",
	       rate, label, count, p->runs, p->runs == 1 ? "" : "s");
	printf("| contender | pkt/s sent | lost | p50 | p90 | p99 | p99.9 | added p50 | added p90 "
	       "| added p99 | added p99.9 | added p50 / floor | added p99 / floor | CPU us/pkt "
	       "|\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < p->n; i++) {
		double v[MAX_RUNS], added[4][MAX_RUNS], ratio[2];
		unsigned long lost = 0, sent = 0;
		char b[64];

		printf("| %s ", p->c[i].name);
		for (int r = 0; r < p->runs; r++) {
			v[r] = s[r][i].rate;
			lost += s[r][i].sent - s[r][i].received;
			sent += s[r][i].sent;
		}
		printf("| %s | %lu of %lu ", spread(v, p->runs, b, sizeof(b)), lost, sent);
		for (int k = 0; k < 4; k++) {
			for (int r = 0; r < p->runs; r++)
				v[r] = s[r][i].pct[k];
			printf("| %s ", spread(v, p->runs, b, sizeof(b)));
		}
		for (int k = 0; k < 4; k++) {
			for (int r = 0; r < p->runs; r++)
				added[k][r] = v[r] = s[r][i].pct[k] - s[r][0].pct[k];
			printf("| %s ", spread(v, p->runs, b, sizeof(b)));
		}
		for (int j = 0; j < 2; j++) {
			int k = j == 0 ? 0 : 2;
			double mine = bench_median(added[k], p->runs), fl;

			if (floor_i < 0 || i == 0) {
				printf("| - ");
				continue;
			}
			for (int r = 0; r < p->runs; r++)
				v[r] = s[r][floor_i].pct[k] - s[r][0].pct[k];
			fl = bench_median(v, p->runs);
			ratio[j] = fl > 0 ? mine / fl : 0;
			printf("| %.2fx ", ratio[j]);
		}
		for (int r = 0; r < p->runs; r++)
			v[r] = s[r][i].cpu_us;
		snprintf(b, sizeof(b), "%.2f", bench_median(v, p->runs));
		printf("| %s |\n", b);
		if (p->out)
			write_dat(p->out, p->c[i].name, label, pool[i], pool_n[i]);
	}
	printf("\nnfqd's CPU time with no traffic for %.0f s right after the first round's "
	       "(/proc/PID/stat utime+stime, 10 ms ticks):",
	       p->idle_seconds);
	for (int i = 0; i < p->n; i++)
		if (p->c[i].kind == KIND_NFQD)
			printf(" %s %.0f ms;", p->c[i].name, s[0][i].idle_ms);
	printf("\nnfqd's worker in the first round, warm-up included (/proc/PID/task/TID/sched): "
	       "moves to another CPU, involuntary switches:");
	for (int i = 0; i < p->n; i++)
		if (p->c[i].kind == KIND_NFQD)
			printf(" %s %llu, %llu;", p->c[i].name, s[0][i].migrations,
			       s[0][i].preempted);
	printf("\n");
	fflush(stdout);
	ret = 0;
out:
	for (int i = 0; i < p->n; i++)
		free(pool[i]);
	return ret;
}

static int add_variant(struct plan *p, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct contender *c = &p->c[p->n];

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(c->name) ||
	    strlen(colon + 1) >= sizeof(c->conf) || p->n >= MAX_VARIANTS + 2)
		return -1;
	c->kind = KIND_NFQD;
	snprintf(c->name, sizeof(c->name), "%.*s", (int)(colon - arg), arg);
	/* "batch = 1;cpu-affinity = 0": one setting per line */
	snprintf(c->conf, sizeof(c->conf), "%s", colon + 1);
	for (char *x = c->conf; *x; x++)
		if (*x == ';')
			*x = '\n';
	p->n++;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "half-capacity", no_argument, NULL, 'H' },
		{ "seconds", required_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ "out", required_argument, NULL, 'o' },
		{ "variant", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct plan p = {
		.c = { { "none", KIND_NONE, "" },
		       { "floor", KIND_FLOOR, "" },
		       { "nfqd", KIND_NFQD, "" } },
		.n = 3,
		.runs = 5,
		.seconds = 10,
		.idle_seconds = 10,
	};
	double rate = 0, half = 0;
	bool want_half = false, quick = false, variants = false;
	unsigned long drain_n = 50000;
	int c, sink, ret = 1;
	struct topo t;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			p.runs = atoi(optarg);
			break;
		case 'R':
			rate = strtod(optarg, NULL);
			break;
		case 'H':
			want_half = true;
			break;
		case 's':
			p.seconds = strtod(optarg, NULL);
			break;
		case 'q':
			quick = true;
			break;
		case 'o':
			p.out = optarg;
			break;
		case 'v':
			variants = true;
			if (add_variant(&p, optarg) < 0) {
				fprintf(stderr,
					"bench_latency: --variant '%s' is not "
					"NAME:CONFIG-LINES (';' between lines)\n",
					optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (!variants) {
		/* the setting studied: pinned, as nfqd did before cpu-affinity (README) */
		add_variant(&p, "nfqd-pinned:cpu-affinity = 0");
	}
	if (quick) {
		p.runs = 1;
		p.seconds = 2;
		p.idle_seconds = 1;
		drain_n = 20000;
	}
	if (p.runs < 1 || p.runs > MAX_RUNS || p.seconds <= 0 || rate < 0 || rate > 1e7) {
		fprintf(stderr, "usage: bench_latency [--runs 1..99] [--rate R] [--half-capacity] "
				"[--seconds S] [--quick] [--out DIR] [--variant NAME:CONF]...\n");
		return 2;
	}
	if (rate == 0 && !want_half) {
		rate = 1000;
		want_half = true;
	}
	if (p.out && mkdir(p.out, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "bench_latency: cannot create %s: %s\n", p.out, strerror(errno));
		return 1;
	}
	if (topo_create(&t, "lat") < 0)
		return 1;
	sink = udp_sink_open(t.fw, "0.0.0.0", PORT);
	/* blocking, with a timeout to look at the sender: a poll would add a wake-up of its own */
	if (sink < 0 || fcntl(sink, F_SETFL, 0) == -1 ||
	    setsockopt(sink, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_usec = 100000 },
		       sizeof(struct timeval)) == -1 ||
	    ns_sh(t.fw, "iptables -A " QUEUE_RULE) != 0)
		goto out;
	printf("## bench_latency: UDP datagrams of %zu bytes, cli -> fw INPUT, NFQUEUE 0\n",
	       sizeof(struct stamp));
	if (rate > 0) {
		char label[32];

		snprintf(label, sizeof(label), "%.0f", rate);
		if (run_rate(&t, sink, &p, rate, label) < 0)
			goto out;
	}
	if (want_half) {
		double d[MAX_RUNS];
		int n = quick ? 1 : 3;

		for (int i = 0; i < n; i++) {
			d[i] = drain_rate(&t, drain_n);
			if (d[i] <= 0) {
				fprintf(stderr, "bench_latency: the drain of nfqd failed\n");
				goto out;
			}
		}
		half = bench_median(d, n) / 2;
		printf("\nnfqd drains %.0f pkt/s (median of %d drains of %lu packets): half is "
		       "%.0f\n",
		       half * 2, n, drain_n, half);
		if (run_rate(&t, sink, &p, half, "half") < 0)
			goto out;
	}
	ret = 0;
out:
	if (sink >= 0)
		close(sink);
	topo_destroy(&t);
	return ret;
}
