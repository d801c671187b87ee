/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_contenders: nfqd against the readers an operator would otherwise run.
 *
 *   bench_contenders [--quick] [--runs N] [--packets N] [--transports mmsg,uring]
 *                    [--no-suricata] [--only drain,two,restart,batch] [--out DIR]
 *
 * Contenders: nfqd with each transport asked for (one nfqd refuses is skipped, saying so),
 * bench_reader floor and single, Suricata 7 in NFQ mode (workers + batchcount 64, and its
 * default autofp runmode) when installed. Scenarios, each round running every contender in
 * turn (A B C, A B C, ...) so that a change in the machine's load hits all alike:
 *
 *  - drain: the contender is stopped (SIGSTOP), the queue pre-filled with N small UDP packets,
 *    the contender continued, and the time until the kernel lists the queue empty (polled
 *    from SCHED_IDLE so as not to preempt the contender: bench_drain_time()) gives
 *    packets/s; CPU per packet is the non-idle CPU time of the whole machine (/proc/stat) over
 *    that interval divided by the packets; VmHWM and VmRSS are read after the accept drain;
 *  - two queues against one: the same drain over --queue-balance 0:1, the contender serving
 *    both, each queue filled with exactly N/2 (bench_fill_balanced(): the hash of the
 *    addresses alone splits unevenly); which of the contender's threads did the work shows
 *    whether it served the two in parallel;
 *  - restart loss: a paced flood through the queue while the contender is stopped with
 *    SIGTERM and started again, as a plain process manager does; lost = packets that reached
 *    the queue's chain (a counting rule before it) minus those accepted (a counting rule after
 *    it). No fail-open, no --queue-bypass: the kernel drops what finds no reader;
 *  - rate against batch size for nfqd (batch 1, 4, 16, 64, 256), written to DIR/batch.dat.
 *
 * --only runs the scenarios listed (two runs the one-queue accept drain too: its baseline).
 * Every figure is the median of the rounds with its min-max spread, printed as markdown.
 * Ratios are what to compare across machines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "nfqd/queue.h"

#include "bench.h"
#include "contender.h"
#include "fill.h"
#include "netns.h"
#include "traffic.h"

#define CONTENDERS_MAX 12
#define RUNS_MAX       99
/*
 * Ports 5000-5001: NFQUEUE --queue-num 0; 5002-5003: --queue-balance 0:1. Each port has its
 * own receiving socket, and a drain sends half its load to each of its pair: the accepted
 * packets of two queues' workers then do not contend for one socket's lock (the rig's cost, not
 * the reader's), and one queue does the same kernel work as two.
 */
#define PORT_ONE 5000
#define PORT_TWO 5002
#define SINKS	 4

/* The scenarios, for --only. */
enum {
	SCENARIO_DRAIN = 1,   /* drain with accept and drop, memory */
	SCENARIO_TWO = 2,     /* two queues against one (runs the one-queue accept drain too) */
	SCENARIO_RESTART = 4, /* restart loss */
	SCENARIO_BATCH = 8,   /* nfqd's rate against batch size */
};
static const char *const scenario_names[] = { "drain", "two", "restart", "batch" };
#define SCENARIOS_ALL 15

static const unsigned int batches[] = { 1, 4, 16, 64, 256 };
#define N_BATCHES (sizeof(batches) / sizeof(batches[0]))

struct options {
	bool quick, suricata;
	int runs;
	unsigned int only; /* SCENARIO_* bits */
	unsigned long packets;
	unsigned long restart_packets, restart_rate;
	char transports[64];
	char out[256];
};

struct drain {
	double pps, cpu_us; /* packets per second, CPU microseconds per packet */
	double hwm_kb, rss_kb;
	double threads; /* the contender's threads that did the work */
	double overlap; /* its CPU time over the drain's wall time: above 1 only in parallel */
};

/* One figure over the rounds. */
struct series {
	double v[RUNS_MAX];
	int n;
};

struct results {
	struct series pps[2], cpu[2], hwm, rss; /* [0] accept, [1] drop */
	struct series one, two;			/* drain pps, one queue and two */
	struct series two_threads, two_overlap; /* struct drain's, for the two-queue drain */
	struct series lost, sent;
	bool refused;
};

struct bench {
	struct options o;
	struct topo t;
	char srcs[512];
	int sink[SINKS];
	struct contender c[CONTENDERS_MAX];
	struct results res[CONTENDERS_MAX];
	int n;
	struct series batch[N_BATCHES];
};

static void add(struct series *s, double v)
{
	if (s->n < RUNS_MAX)
		s->v[s->n++] = v;
}

/* Median, min and max (sorts the values). Returns false when there are none. */
static bool stats(struct series *s, double *med, double *lo, double *hi)
{
	if (s->n == 0)
		return false;
	*med = bench_median(s->v, s->n);
	*lo = s->v[0];
	*hi = s->v[s->n - 1];
	return true;
}

/* Non-idle CPU time of the whole machine so far, in microseconds (first line of /proc/stat). */
static double cpu_busy_us(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	int got;

	if (!f)
		return 0;
	got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		     &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (got < 8)
		return 0;
	/* user nice system [idle iowait] irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1e6 /
	       (double)sysconf(_SC_CLK_TCK);
}

/* Packets waiting in queues first..last, or -1 when one is not listed. */
static long queued(const struct bench *b, unsigned int first, unsigned int last)
{
	struct nfqd_queue_kstats ks;
	long sum = 0;

	for (unsigned int q = first; q <= last; q++) {
		if (kernel_queue_kstats(b->t.fw, q, &ks) < 0)
			return -1;
		sum += ks.queued;
	}
	return sum;
}

/* Wait until the number queued stops growing (packets still on their way through the veth). */
static long settle(const struct bench *b, unsigned int last)
{
	long prev = -2, now = -1;

	for (long long t0 = test_now_ms(); test_now_ms() - t0 < TEST_DEADLINE_MS;) {
		now = queued(b, 0, last);
		if (now < 0 || now == prev)
			break;
		prev = now;
		usleep(50000);
	}
	return now;
}

/*
 * One drain of about n packets by contender c over queues 0..last. Returns 0 with *d filled,
 * 1 when the contender refused to start, -1 on a failure.
 */
static int drain_once(struct bench *b, const struct contender *c, const char *verdict,
		      unsigned int last, unsigned long n, struct drain *d)
{
	struct contender_run r;
	struct bench_threads th0, th1;
	unsigned long long cpu_ns;
	long q, q0;
	double wall, c0, c1;
	int kq = bench_kq_open(&b->t), ret = contender_start(&r, c, b->t.fw, 0, last, verdict);

	if (ret != 0)
		goto out;
	ret = -1;
	if (proc_pause(contender_pid(&r)) < 0)
		goto out;
	if (last ? bench_fill_balanced(&b->t, b->srcs, PORT_TWO, n) < 0
		 : udp_send(b->t.cli, b->srcs, b->t.fw4, PORT_ONE, n / 2, 18, 16, 32, 0) < 0 ||
			    udp_send(b->t.cli, b->srcs, b->t.fw4, PORT_ONE + 1, n - n / 2, 18, 16,
				     32, 0) < 0) {
		fprintf(stderr, "bench: %s: the queue%s could not be filled\n", c->name,
			last ? "s" : "");
		goto out;
	}
	q = settle(b, last);
	if (q <= 0) {
		fprintf(stderr, "bench: %s: nothing queued\n", c->name);
		goto out;
	}
	/* the fuller queue would set the time of the drain: a figure of the rig, not the reader */
	q0 = queued(b, 0, 0);
	if (last && labs(q0 * 2 - q) > q / 50) {
		fprintf(stderr, "bench: %s: uneven fill: %ld of %ld packets on queue 0\n", c->name,
			q0, q);
		goto out;
	}
	if (kq < 0 || bench_threads_read(contender_pid(&r), &th0) < 0)
		goto out;
	c0 = cpu_busy_us();
	wall = bench_drain_time(kq, last + 1, contender_pid(&r));
	c1 = cpu_busy_us();
	if (wall < 0) {
		fprintf(stderr, "bench: %s: the drain did not finish\n", c->name);
		goto out;
	}
	if (bench_threads_read(contender_pid(&r), &th1) < 0)
		goto out;
	d->threads = bench_threads_working(&th0, &th1, &cpu_ns);
	d->overlap = (double)cpu_ns / 1e9 / wall;
	d->pps = (double)q / wall;
	d->cpu_us = (c1 - c0) / (double)q;
	d->hwm_kb = (double)proc_status_kb(contender_pid(&r), "VmHWM");
	d->rss_kb = (double)proc_status_kb(contender_pid(&r), "VmRSS");
	if (q < (long)n * 9 / 10)
		fprintf(stderr, "bench: %s: only %ld of %lu packets were queued\n", c->name, q, n);
	ret = contender_stop(&r);
out:
	if (kq >= 0)
		close(kq);
	contender_cleanup(&r);
	/* accepted packets went to the sinks: empty them so they never overflow */
	for (int i = 0; i < SINKS; i++)
		udp_sink_count(b->sink[i], 20, 10000);
	return ret;
}

struct sender {
	struct bench *b;
	unsigned long count;
	unsigned int pause_us;
	long long sent;
};

static void *send_paced(void *arg)
{
	struct sender *s = arg;

	s->sent = udp_send(s->b->t.cli, s->b->srcs, s->b->t.fw4, PORT_ONE, s->count, 18, 4, 16,
			   s->pause_us);
	return NULL;
}

/* Counters of the rules around the queue: packets that reached it, and those accepted. */
static int around(const struct bench *b, uint64_t *reached, uint64_t *passed)
{
	*reached = ipt_rule_packets(b->t.fw, "mangle", "INPUT", 1);
	*passed = ipt_rule_packets(b->t.fw, "security", "INPUT", 1);
	return *reached == UINT64_MAX || *passed == UINT64_MAX ? -1 : 0;
}

/* One restart under a paced flood. Returns 0 with *lost and *reached, 1 refused, -1. */
static int restart_once(struct bench *b, const struct contender *c, double *lost, double *sent)
{
	struct sender s = { .b = b, .count = b->o.restart_packets };
	struct contender_run r;
	uint64_t r0, p0, r1 = 0, p1 = 0, prev = 0;
	pthread_t th;
	int ret = contender_start(&r, c, b->t.fw, 0, 0, "accept");

	/* 16 datagrams a burst: the pause that gives the rate (a bound: sending takes time too) */
	s.pause_us = (unsigned int)(16 * 1000000ul / b->o.restart_rate);
	if (ret != 0)
		goto out;
	ret = -1;
	if (around(b, &r0, &p0) < 0 || pthread_create(&th, NULL, send_paced, &s) != 0)
		goto out;
	/* restart once a third of the flood reached the queue: its ids count from 1 at each bind
	 * (the proc file is cheap to read, unlike the rule counters) */
	for (long long t0 = test_now_ms(); test_now_ms() - t0 < TEST_DEADLINE_MS; usleep(5000)) {
		struct nfqd_queue_kstats ks;

		if (kernel_queue_kstats(b->t.fw, 0, &ks) == 0 && ks.last_id >= s.count / 3)
			break;
	}
	ret = contender_restart(&r);
	pthread_join(th, NULL);
	if (ret != 0 || s.sent < 0)
		goto out;
	/* the rest of the flood is through once the queue is empty and the counter stands still */
	for (long long t0 = test_now_ms(); test_now_ms() - t0 < TEST_DEADLINE_MS; usleep(50000)) {
		if (around(b, &r1, &p1) < 0)
			break;
		if (r1 == prev && queued(b, 0, 0) == 0)
			break;
		prev = r1;
	}
	*sent = (double)(r1 - r0);
	*lost = (double)(r1 - r0) - (double)(p1 - p0);
	ret = contender_stop(&r);
out:
	contender_cleanup(&r);
	udp_sink_count(b->sink[0], 20, 10000);
	return ret;
}

/* Note a refusal once; a failure ends the benchmark. */
static bool check(struct bench *b, int i, int ret)
{
	if (ret == 1)
		b->res[i].refused = true;
	return ret >= 0;
}

static int round_of(struct bench *b)
{
	static const char *const verdicts[2] = { "accept", "drop" };
	unsigned long n = b->o.packets;

	for (int i = 0; i < b->n; i++) {
		struct results *res = &b->res[i];
		struct drain d;
		double lost, sent;
		int ret;

		if (res->refused)
			continue;
		/* the hand-over differs from nfqd only in its restart; the accept drain is also the
		 * baseline of two queues */
		for (int k = 0; k < 2 && b->c[i].kind != CONTENDER_NFQD_HANDOVER; k++) {
			if (!(b->o.only & (k ? SCENARIO_DRAIN : SCENARIO_DRAIN | SCENARIO_TWO)))
				continue;
			ret = drain_once(b, &b->c[i], verdicts[k], 0, n, &d);
			if (!check(b, i, ret))
				return -1;
			if (ret)
				break;
			add(&res->pps[k], d.pps);
			add(&res->cpu[k], d.cpu_us);
			if (k == 0) {
				add(&res->hwm, d.hwm_kb);
				add(&res->rss, d.rss_kb);
				add(&res->one, d.pps);
			}
		}
		if (res->refused)
			continue;
		if (b->c[i].kind != CONTENDER_NFQD_HANDOVER && (b->o.only & SCENARIO_TWO)) {
			ret = drain_once(b, &b->c[i], "accept", 1, n, &d);
			if (!check(b, i, ret))
				return -1;
			if (ret == 0) {
				add(&res->two, d.pps);
				add(&res->two_threads, d.threads);
				add(&res->two_overlap, d.overlap);
			}
		}
		if (!(b->o.only & SCENARIO_RESTART))
			continue;
		ret = restart_once(b, &b->c[i], &lost, &sent);
		if (!check(b, i, ret))
			return -1;
		if (ret == 0) {
			add(&res->lost, lost);
			add(&res->sent, sent);
		}
	}
	return 0;
}

static int batch_round(struct bench *b)
{
	struct contender c = { .kind = CONTENDER_NFQD };
	struct drain d;

	snprintf(c.transport, sizeof(c.transport), "%s", b->c[0].transport);
	for (size_t i = 0; i < N_BATCHES; i++) {
		c.batch = batches[i];
		snprintf(c.name, sizeof(c.name), "nfqd batch %u", c.batch);
		if (drain_once(b, &c, "accept", 0, b->o.packets, &d) != 0)
			return -1;
		add(&b->batch[i], d.pps);
	}
	return 0;
}

/* The contender list: nfqd per transport, the readers, Suricata's two runmodes. */
static void add_contenders(struct bench *b)
{
	char list[64], *save = NULL;
	const char *why;

	snprintf(list, sizeof(list), "%s", b->o.transports);
	for (char *tr = strtok_r(list, ",", &save); tr && b->n < CONTENDERS_MAX - 5;
	     tr = strtok_r(NULL, ",", &save)) {
		struct contender *c = &b->c[b->n++];

		c->kind = CONTENDER_NFQD;
		snprintf(c->transport, sizeof(c->transport), "%s", tr);
		snprintf(c->name, sizeof(c->name), "nfqd (%s)", tr);
	}
	/* restart only: under a service manager with an fd store, whose job is a restart */
	b->c[b->n] = (struct contender){ .kind = CONTENDER_NFQD_HANDOVER };
	snprintf(b->c[b->n].transport, sizeof(b->c[b->n].transport), "%s", b->c[0].transport);
	snprintf(b->c[b->n].name, sizeof(b->c[b->n].name), "nfqd (%s), hand-over",
		 b->c[0].transport);
	b->n++;
	b->c[b->n++] = (struct contender){ .name = "floor (recvmmsg 64 + batch verdict)",
					   .kind = CONTENDER_FLOOR };
	b->c[b->n++] = (struct contender){ .name = "single (recv + verdict per packet)",
					   .kind = CONTENDER_SINGLE };
	if (!b->o.suricata) {
		printf("Suricata: skipped (--no-suricata)\n\n");
		return;
	}
	if (!suricata_available(&why)) {
		printf("Suricata: skipped: %s\n\n", why);
		return;
	}
	b->c[b->n++] = (struct contender){ .name = "Suricata workers, batchcount 64",
					   .kind = CONTENDER_SURICATA_WORKERS };
	b->c[b->n++] = (struct contender){ .name = "Suricata autofp (default)",
					   .kind = CONTENDER_SURICATA_AUTOFP };
}

static int find_kind(const struct bench *b, enum contender_kind kind)
{
	for (int i = 0; i < b->n; i++)
		if (b->c[i].kind == kind && !b->res[i].refused)
			return i;
	return -1;
}

static void print_drain(struct bench *b, int k)
{
	int base = find_kind(b, CONTENDER_FLOOR);
	double bmed = 0, lo, hi, med, cmed, clo, chi;

	if (base >= 0)
		stats(&b->res[base].pps[k], &bmed, &lo, &hi);
	printf("### Drain of a pre-filled queue: %lu packets, verdict %s\n\n", b->o.packets,
	       k ? "drop" : "accept");
	printf("| contender | packets/s | min-max | vs floor | CPU us/packet | min-max |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < b->n; i++) {
		if (b->c[i].kind == CONTENDER_NFQD_HANDOVER)
			continue;
		if (b->res[i].refused) {
			printf("| %s | refused to start | | | | |\n", b->c[i].name);
			continue;
		}
		if (!stats(&b->res[i].pps[k], &med, &lo, &hi) ||
		    !stats(&b->res[i].cpu[k], &cmed, &clo, &chi))
			continue;
		printf("| %s | %.0f | %.0f-%.0f | %.2fx | %.2f | %.2f-%.2f |\n", b->c[i].name, med,
		       lo, hi, bmed > 0 ? med / bmed : 0, cmed, clo, chi);
	}
	printf("\n");
}

static void print_rss(struct bench *b)
{
	double hmed, hlo, hhi, rmed, rlo, rhi;

	printf("### Memory after the accept drain (kB, /proc/PID/status)\n\n");
	printf("| contender | VmHWM | min-max | VmRSS | min-max |\n|---|---:|---:|---:|---:|\n");
	for (int i = 0; i < b->n; i++)
		if (stats(&b->res[i].hwm, &hmed, &hlo, &hhi) &&
		    stats(&b->res[i].rss, &rmed, &rlo, &rhi))
			printf("| %s | %.0f | %.0f-%.0f | %.0f | %.0f-%.0f |\n", b->c[i].name, hmed,
			       hlo, hhi, rmed, rlo, rhi);
	printf("\n");
}

static void print_two(struct bench *b)
{
	double omed, olo, ohi, tmed, tlo, thi, wmed, wlo, whi, pmed, plo, phi;
	bool serial = false;

	printf("### Two queues against one (--queue-balance 0:1, 2 x %lu against 1 x %lu)\n\n",
	       b->o.packets / 2, b->o.packets);
	printf("| contender | 1 queue packets/s | min-max | 2 queues packets/s | min-max | "
	       "2 / 1 | threads working | CPU time / wall |\n"
	       "|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < b->n; i++)
		if (stats(&b->res[i].one, &omed, &olo, &ohi) &&
		    stats(&b->res[i].two, &tmed, &tlo, &thi) &&
		    stats(&b->res[i].two_threads, &wmed, &wlo, &whi) &&
		    stats(&b->res[i].two_overlap, &pmed, &plo, &phi)) {
			printf("| %s | %.0f | %.0f-%.0f | %.0f | %.0f-%.0f | %.2fx | %.0f | %.2f "
			       "|\n",
			       b->c[i].name, omed, olo, ohi, tmed, tlo, thi, tmed / omed, wmed,
			       pmed);
			serial |= wmed < 2;
		}
	printf("\nEach queue filled with exactly half (the source addresses probed for their "
	       "queue first); the accepted packets of each queue's share, and of each half of the "
	       "one-queue load, go to a receiving socket of their own. Threads working: the "
	       "contender's threads that ran at least a tenth as long as its busiest one during "
	       "the two-queue drain (/proc/PID/task/*/schedstat); CPU time / wall: all its "
	       "threads' CPU time over the drain's wall time, above 1 only when they ran at the "
	       "same time. Medians of the rounds.\n\n");
	for (int i = 0; serial && i < b->n; i++)
		if (stats(&b->res[i].two_threads, &wmed, &wlo, &whi) && wmed < 2)
			printf("Not in parallel: %s did the two queues' work with %.0f thread.\n\n",
			       b->c[i].name, wmed);
}

static void print_restart(struct bench *b)
{
	double lmed, llo, lhi, smed, slo, shi;

	printf("### Packets lost across a restart (SIGTERM, start again; flood of %lu packets "
	       "paced at <= %lu/s)\n\n",
	       b->o.restart_packets, b->o.restart_rate);
	printf("| contender | lost | min-max | reached the queue | lost share |\n"
	       "|---|---:|---:|---:|---:|\n");
	for (int i = 0; i < b->n; i++)
		if (stats(&b->res[i].lost, &lmed, &llo, &lhi) &&
		    stats(&b->res[i].sent, &smed, &slo, &shi))
			printf("| %s | %.0f | %.0f-%.0f | %.0f | %.1f%% |\n", b->c[i].name, lmed,
			       llo, lhi, smed, smed > 0 ? 100 * lmed / smed : 0);
	printf("\nhand-over: nfqd started as under systemd with an fd store (FDSTORE=1, "
	       "LISTEN_FDS) and a D-Bus that says the unit's job is a restart, so that it leaves "
	       "its "
	       "queues bound for the successor (tests/support/fdstore.h, fakebus.h).\n\n");
}

static int print_batch(struct bench *b)
{
	double med[N_BATCHES], lo[N_BATCHES], hi[N_BATCHES], base = 0;
	char path[300];
	FILE *f;

	for (size_t i = 0; i < N_BATCHES; i++) {
		stats(&b->batch[i], &med[i], &lo[i], &hi[i]);
		if (batches[i] == 64)
			base = med[i];
	}
	printf("### nfqd (%s): drain rate against batch size\n\n", b->c[0].transport);
	printf("| batch | packets/s | min-max | vs batch 64 |\n|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < N_BATCHES; i++)
		printf("| %u | %.0f | %.0f-%.0f | %.2fx |\n", batches[i], med[i], lo[i], hi[i],
		       base > 0 ? med[i] / base : 0);
	printf("\n");
	if (mkdir(b->o.out, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "bench: cannot create '%s': %s\n", b->o.out, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/batch.dat", b->o.out);
	f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "bench: cannot write '%s': %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# batch packets/s(median) min max\n");
	for (size_t i = 0; i < N_BATCHES; i++)
		fprintf(f, "%u %.0f %.0f %.0f\n", batches[i], med[i], lo[i], hi[i]);
	return fclose(f) == 0 ? 0 : -1;
}

/* --only LIST: the scenarios named in the comma-separated list, as SCENARIO_* bits. */
static int parse_only(const char *arg, unsigned int *only)
{
	char list[64], *save = NULL;

	*only = 0;
	if (strlen(arg) >= sizeof(list)) {
		fprintf(stderr, "bench: --only '%s' is too long\n", arg);
		return -1;
	}
	snprintf(list, sizeof(list), "%s", arg);
	for (char *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i = 0;

		while (i < sizeof(scenario_names) / sizeof(scenario_names[0]) &&
		       strcmp(w, scenario_names[i]) != 0)
			i++;
		if (i == sizeof(scenario_names) / sizeof(scenario_names[0])) {
			fprintf(stderr,
				"bench: bad --only '%s': no scenario '%s' (drain, two, restart, "
				"batch)\n",
				arg, w);
			return -1;
		}
		*only |= 1u << i;
	}
	if (!*only) {
		fprintf(stderr, "bench: --only '%s' names no scenario\n", arg);
		return -1;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "packets", required_argument, NULL, 'n' },
		{ "transports", required_argument, NULL, 't' },
		{ "no-suricata", no_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	bool runs_set = false, packets_set = false;
	char *end;
	int c;

	*o = (struct options){ .suricata = true,
			       .only = SCENARIOS_ALL,
			       .runs = 5,
			       .packets = 50000,
			       .restart_packets = 60000,
			       .restart_rate = 20000 };
	strcpy(o->transports, "mmsg,uring");
	strcpy(o->out, "build/bench");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'r':
			o->runs = (int)strtol(optarg, &end, 10);
			runs_set = true;
			if (*end || o->runs < 1 || o->runs > RUNS_MAX) {
				fprintf(stderr, "bench: bad --runs '%s' (1..%d)\n", optarg,
					RUNS_MAX);
				return -1;
			}
			break;
		case 'n':
			o->packets = strtoul(optarg, &end, 10);
			packets_set = true;
			if (*end || o->packets < 100 || o->packets > 60000) {
				fprintf(stderr, "bench: bad --packets '%s' (100..60000)\n", optarg);
				return -1;
			}
			break;
		case 't':
			if (!*optarg || strlen(optarg) >= sizeof(o->transports)) {
				fprintf(stderr, "bench: bad --transports '%s'\n", optarg);
				return -1;
			}
			strcpy(o->transports, optarg);
			break;
		case 's':
			o->suricata = false;
			break;
		case 'O':
			if (parse_only(optarg, &o->only) < 0)
				return -1;
			break;
		case 'o':
			if (strlen(optarg) >= sizeof(o->out)) {
				fprintf(stderr, "bench: --out '%s' is too long\n", optarg);
				return -1;
			}
			strcpy(o->out, optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_contenders [--quick] [--runs N] "
					"[--packets N] [--transports LIST] [--no-suricata] "
					"[--only drain,two,restart,batch] [--out DIR]\n");
			return -1;
		}
	}
	if (o->quick) {
		if (!runs_set)
			o->runs = 1;
		if (!packets_set)
			o->packets = 2000;
		o->restart_packets = 3000;
	}
	return 0;
}

static int setup(struct bench *b)
{
	if (topo_create(&b->t, "bc") < 0)
		return -1;
	if (topo_add_client_addrs(&b->t, 16, b->srcs, sizeof(b->srcs)) < 0)
		return -1;
	if (ns_sh(b->t.fw, "iptables -t mangle -A INPUT -p udp --dport %d", PORT_ONE) != 0 ||
	    ns_sh(b->t.fw, "iptables -A INPUT -p udp --dport %d:%d -j NFQUEUE --queue-num 0",
		  PORT_ONE, PORT_ONE + 1) != 0 ||
	    ns_sh(b->t.fw, "iptables -A INPUT -p udp --dport %d:%d -j NFQUEUE --queue-balance 0:1",
		  PORT_TWO, PORT_TWO + 1) != 0 ||
	    ns_sh(b->t.fw, "iptables -t security -A INPUT -p udp --dport %d", PORT_ONE) != 0)
		return -1;
	for (int i = 0; i < SINKS; i++) {
		b->sink[i] = udp_sink_open(b->t.fw, "0.0.0.0", (uint16_t)(PORT_ONE + i));
		if (b->sink[i] < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	int rc = 1;

	for (int i = 0; i < SINKS; i++)
		b.sink[i] = -1;
	if (parse_options(argc, argv, &b.o) < 0)
		return 2;
	printf("## Contenders%s: median of %d rounds, contenders alternating in each\n\n",
	       b.o.quick ? " (quick: numbers meaningless)" : "", b.o.runs);
	add_contenders(&b);
	if (setup(&b) < 0)
		goto out;
	for (int r = 0; r < b.o.runs; r++) {
		fprintf(stderr, "bench_contenders: round %d of %d\n", r + 1, b.o.runs);
		if (round_of(&b) < 0 || ((b.o.only & SCENARIO_BATCH) && batch_round(&b) < 0))
			goto out;
	}
	for (int i = 0; i < b.n; i++)
		if (b.res[i].refused)
			printf("%s: skipped, it refused to start (its reason is on stderr)\n\n",
			       b.c[i].name);
	if (b.o.only & SCENARIO_DRAIN) {
		print_drain(&b, 0);
		print_drain(&b, 1);
		print_rss(&b);
	}
	if (b.o.only & SCENARIO_TWO)
		print_two(&b);
	if (b.o.only & SCENARIO_RESTART)
		print_restart(&b);
	rc = (b.o.only & SCENARIO_BATCH) && print_batch(&b) < 0;
	if (b.o.only & SCENARIO_DRAIN)
		printf("CPU per packet: non-idle CPU time of the whole machine (/proc/stat) during "
		       "the drain, divided by the packets drained.\n\n");
out:
	for (int i = 0; i < SINKS; i++)
		if (b.sink[i] >= 0)
			close(b.sink[i]);
	topo_destroy(&b.t);
	return rc;
}
