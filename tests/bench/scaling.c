/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_scaling: what more queues and the flow cache buy.
 *
 * 1. Two queues against one: nfqd drains a pre-filled load (SIGSTOP, fill, SIGCONT, time until
 *    the kernel lists every queue empty) of 1 x N packets on one queue, and of 2 x N/2 on
 *    queues 0-1, spread by --queue-balance 0:1 (a hash of the addresses: sent from 16 client
 *    addresses) and by --queue-cpu-fanout (fanout = cpu: half sent from a sender pinned to each
 *    CPU, so each queue is filled from its own CPU). Ratio: two queues / one.
 * 2. End to end: one UDP flow client -> fw -> server (the FORWARD path) with no queue at all,
 *    with nfqd's flow cache (the rules of `nfqd rules`, only a flow's first packets queued), and
 *    with every packet queued to nfqd. The sender is paced at a fixed rate below what it reaches
 *    alone (--rate, by default 60% of the no-queue maximum measured first in the same run), so
 *    the figure is the delivered rate and the loss, with the CPU per packet of the whole machine
 *    next to it. The unpaced maximum of each contender is printed too, with the share of its
 *    wall time the sending thread was on a CPU: near 100% means the sender was the limit.
 *
 * Each figure is the median of --runs rounds (default 5), contenders alternating within each
 * round, with its min-max spread and its ratio to the baseline of the same run. CPU per packet
 * = non-idle CPU time of the whole machine (/proc/stat) over the measured interval / packets.
 *
 *   bench_scaling [--runs N] [--quick] [--packets N] [--flow-packets N] [--rate PPS]
 *                 [--only DRAIN_CASE]   (0 one queue, 1 balance, 2 cpu fanout: for a profile)
 *                 [--out DIR]           (accepted as every bench_* does; writes no data files)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "nfqd/queue.h"

#include "bench.h"
#include "fill.h"
#include "netns.h"
#include "traffic.h"

#define RUNS_MAX 99
#define PORT	 5000

/*
 * Non-idle and total jiffies from the line of /proc/stat named which: "cpu" for the whole
 * machine, "cpu0" for CPU 0.
 */
static void cpu_jiffies_of(const char *which, unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[8];
	char name[16], line[512];
	FILE *f = fopen("/proc/stat", "re");

	*busy = *total = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%15s %llu %llu %llu %llu %llu %llu %llu %llu", name, &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9 &&
		    strcmp(name, which) == 0) {
			/* user nice system idle iowait irq softirq steal (guest is in user already)
			 */
			for (int i = 0; i < 8; i++)
				*total += v[i];
			*busy = *total - v[3] - v[4];
			break;
		}
	fclose(f);
}

static void cpu_jiffies(unsigned long long *busy, unsigned long long *total)
{
	cpu_jiffies_of("cpu", busy, total);
}

/* Microseconds of non-idle CPU since *busy0 (cpu_jiffies()), per packet. */
static double cpu_us_per_packet(unsigned long long busy0, unsigned long long packets)
{
	unsigned long long busy, total;

	cpu_jiffies(&busy, &total);
	return packets ? (double)(busy - busy0) * 1e6 / (double)sysconf(_SC_CLK_TCK) /
				 (double)packets
		       : 0;
}

/*
 * Nanoseconds process pid's threads have been on a CPU (/proc/PID/task/TID/schedstat, first
 * field), or 0; and in *waited those they were runnable but waiting for a CPU (second field).
 */
static unsigned long long process_cpu_ns(pid_t pid, unsigned long long *waited)
{
	char path[320];
	struct dirent *de;
	unsigned long long sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	*waited = 0;
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		unsigned long long ns = 0, w = 0;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (f && fscanf(f, "%llu %llu", &ns, &w) == 2) {
			sum += ns;
			*waited += w;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* A figure over the rounds: each round's value, then median, min, max. */
struct figure {
	double v[RUNS_MAX];
	int n;
};

static void figure_add(struct figure *f, double v)
{
	if (f->n < RUNS_MAX)
		f->v[f->n++] = v;
}

static void figure_stats(const struct figure *f, double *med, double *min, double *max)
{
	double s[RUNS_MAX];

	memcpy(s, f->v, sizeof(double) * (size_t)f->n);
	*med = bench_median(s, f->n);
	*min = s[0];
	*max = s[f->n - 1];
}

/*
 * A markdown row: name; the figure's median (min-max); its ratio to base's median; the CPU per
 * packet; and the median (min-max) of last, with decimals digits and unit after it.
 */
static void row(const char *name, const struct figure *f, const struct figure *cpu,
		const struct figure *base, const struct figure *last, int decimals,
		const char *unit)
{
	double m, lo, hi, bm, blo, bhi, cm, clo, chi, lm, llo, lhi;

	figure_stats(f, &m, &lo, &hi);
	figure_stats(base, &bm, &blo, &bhi);
	figure_stats(cpu, &cm, &clo, &chi);
	figure_stats(last, &lm, &llo, &lhi);
	printf("| %s | %.0fk (%.0fk-%.0fk) | %.2f | %.2f µs (%.2f-%.2f) | %.*f%s (%.*f-%.*f) |\n",
	       name, m / 1e3, lo / 1e3, hi / 1e3, m / bm, cm, clo, chi, decimals, lm, unit,
	       decimals, llo, decimals, lhi);
}

/* ---- 1. two queues against one ------------------------------------------------------------ */

struct drain_case {
	const char *name;
	const char *conf;   /* [queue] lines */
	const char *target; /* the NFQUEUE target options */
	int fill;	    /* 0: one sender; 1: from 16 addresses; 2: half from each CPU */
	unsigned int queues;
};

static const struct drain_case drain_cases[] = {
	{ "one queue (baseline)", "queues = 0", "--queue-num 0", 0, 1 },
	{ "two queues, --queue-balance 0:1", "queues = 0-1", "--queue-balance 0:1", 1, 2 },
	{ "two queues, --queue-cpu-fanout (fanout = cpu)", "queues = 0-1\nfanout = cpu",
	  "--queue-balance 0:1 --queue-cpu-fanout", 2, 2 },
};

#define N_DRAIN (sizeof(drain_cases) / sizeof(drain_cases[0]))

/* Packets queued now on the case's queues; -1 when one is not listed. */
static long queued_now(const struct topo *t, unsigned int queues)
{
	long sum = 0;

	for (unsigned int q = 0; q < queues; q++) {
		unsigned int queued, last;

		if (kernel_queue_line(t->fw, q, &queued, &last) < 0)
			return -1;
		sum += queued;
	}
	return sum;
}

static int fill(const struct topo *t, const struct drain_case *c, const char *srcs, unsigned long n)
{
	cpu_set_t saved;
	int r = 0;

	if (c->fill == 0)
		return udp_send(t->cli, NULL, t->fw4, PORT, n / 2, 18, 4, 32, 0) < 0 ||
				       udp_send(t->cli, NULL, t->fw4, PORT + 1, n - n / 2, 18, 4,
						32, 0) < 0
			       ? -1
			       : 0;
	if (c->fill == 1)
		return bench_fill_balanced(t, srcs, PORT, n);
	if (sched_getaffinity(0, sizeof(saved), &saved) == -1)
		return -1;
	for (int cpu = 0; cpu < 2 && r == 0; cpu++) {
		if (pin_self(cpu) < 0 ||
		    udp_send(t->cli, NULL, t->fw4, PORT + cpu, n / 2, 18, 4, 32, 0) < 0)
			r = -1;
	}
	sched_setaffinity(0, sizeof(saved), &saved);
	return r;
}

/* One drain: packets per second in *pps and non-idle CPU µs per packet in *cpu; 0 or -1. */
static int drain_once(const struct topo *t, const struct drain_case *c, const char *srcs,
		      unsigned long n, double *pps, double *cpu, double *split, double *nfqd_cpu,
		      double *busy, double *waiting)
{
	char conf[256];
	struct nfqd_proc d;
	long queued = 0, prev = -1;
	unsigned long long busy0, total0, ns0, w0, w1;
	double wall;
	int st, r = -1, kq = bench_kq_open(t);

	memset(&d, 0, sizeof(d));
	if (ns_sh(t->fw,
		  "iptables -F INPUT && iptables -A INPUT -p udp --dport %d:%d -j NFQUEUE %s", PORT,
		  PORT + 1, c->target) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "[queue]\n%s\nmax-len = 65536\n", c->conf);
	if (nfqd_start(&d, t->fw, conf, 5000, &st) != 0) {
		fprintf(stderr, "bench_scaling: nfqd did not start (%s)\n", c->name);
		goto out;
	}
	if (nfqd_pause(&d) < 0 || fill(t, c, srcs, n) < 0)
		goto out;
	/* packets may still be on their way through the veth: wait until the count holds */
	for (int i = 0; i < 500; i++) {
		queued = queued_now(t, c->queues);
		if (queued < 0)
			goto out;
		if (queued == prev)
			break;
		prev = queued;
		usleep(20000);
	}
	if (c->queues == 2) {
		unsigned int q0, last;

		kernel_queue_line(t->fw, 0, &q0, &last);
		*split = q0;
	} else {
		*split = (double)queued;
	}
	ns0 = process_cpu_ns(d.pid, &w0);
	cpu_jiffies(&busy0, &total0);
	wall = bench_drain_time(kq, c->queues, d.pid);
	if (wall < 0) {
		fprintf(stderr, "bench_scaling: the drain did not finish (%s)\n", c->name);
		goto out;
	}
	*pps = (double)queued / wall;
	*cpu = cpu_us_per_packet(busy0, (unsigned long long)queued);
	*nfqd_cpu = (double)(process_cpu_ns(d.pid, &w1) - ns0) / 1e3 / (double)queued;
	/* of the time the drain took, the share each queue's worker spent on a CPU */
	*busy = 100.0 * *nfqd_cpu * (double)queued / 1e6 / wall / c->queues;
	/* ... and the share it was runnable but another task had its CPU */
	*waiting = 100.0 * (double)(w1 - w0) / 1e9 / wall / c->queues;
	r = 0;
	nfqd_stop(&d, SIGTERM, 10000, &st, NULL);
out:
	if (kq >= 0)
		close(kq);
	nfqd_cleanup(&d);
	return r;
}

static int bench_drain(struct topo *t, int runs, unsigned long n, int only)
{
	struct figure pps[N_DRAIN] = { 0 }, cpu[N_DRAIN] = { 0 }, split[N_DRAIN] = { 0 },
		      ncpu[N_DRAIN] = { 0 }, busy[N_DRAIN] = { 0 }, wait[N_DRAIN] = { 0 };
	char srcs[512];
	/*
	 * Accepted packets land in a socket that is never read (no ICMP for a closed port): one
	 * per queue's share, on ports 5000 and 5001, so that the two workers' reinjections do not
	 * contend for the lock of one receiving socket, which is the test rig's, not nfqd's. One
	 * queue's load is split the same way.
	 */
	int sink[2] = { udp_sink_open(t->fw, "0.0.0.0", PORT),
			udp_sink_open(t->fw, "0.0.0.0", PORT + 1) };
	int r = -1;

	if (sink[0] < 0 || sink[1] < 0 || topo_add_client_addrs(t, 16, srcs, sizeof(srcs)) < 0)
		goto out;
	for (int round = 0; round < runs; round++)
		for (size_t i = 0; i < N_DRAIN; i++) {
			double p, c, q0, nc, b, wt;

			if (only >= 0 && (size_t)only != i) {
				figure_add(&pps[i], 1);
				figure_add(&cpu[i], 0);
				figure_add(&split[i], 0);
				figure_add(&ncpu[i], 0);
				figure_add(&busy[i], 0);
				figure_add(&wait[i], 0);
				continue;
			}
			if (drain_once(t, &drain_cases[i], srcs, n, &p, &c, &q0, &nc, &b, &wt) < 0)
				goto out;
			figure_add(&ncpu[i], nc * 1e3);
			figure_add(&busy[i], b);
			figure_add(&wait[i], wt);
			figure_add(&pps[i], p);
			figure_add(&cpu[i], c);
			figure_add(&split[i], q0);
			/* accepted packets wait in the sink: empty it between drains */
			for (int k = 0; k < 2; k++)
				udp_sink_count(sink[k], 20, 10000);
		}
	printf("\n### Two queues against one: drain of %lu pre-filled packets\n\n", n);
	printf("nfqd (defaults), 18-byte UDP; median of %d rounds (min-max); ratio to one queue "
	       "in the same run; goal two / one >= 1.85.\n\n",
	       runs);
	printf("| nfqd | packets/s | ratio | CPU per packet | packets on queue 0 |\n");
	printf("|---|---|---|---|---|\n");
	for (size_t i = 0; i < N_DRAIN; i++)
		row(drain_cases[i].name, &pps[i], &cpu[i], &pps[0], &split[i], 0, "");
	printf("\nWhere the time goes: nfqd's own CPU time per packet (all its threads, "
	       "/proc/PID/task/*/schedstat: its system calls and the kernel work they do, "
	       "reinjection included), and the share of the drain's wall time each worker was on "
	       "a CPU (100%%: never preempted, never waiting), or runnable while another task had "
	       "its CPU.\n\n");
	printf("The last column is the ratio to one queue had every worker been on its CPU all the "
	       "time: queues x (one queue's nfqd CPU per packet / this one's).\n\n");
	printf("| nfqd | nfqd CPU per packet | workers on CPU | workers waiting for a CPU | ratio, "
	       "CPU time alone |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < N_DRAIN; i++) {
		double m, lo, hi, bm, blo, bhi, m0, wm, wlo, whi;

		figure_stats(&ncpu[0], &m0, &lo, &hi);
		figure_stats(&wait[i], &wm, &wlo, &whi);
		figure_stats(&ncpu[i], &m, &lo, &hi);
		figure_stats(&busy[i], &bm, &blo, &bhi);
		printf("| %s | %.0f ns (%.0f-%.0f) | %.0f%% (%.0f-%.0f) | %.0f%% (%.0f-%.0f) | "
		       "%.2f |\n",
		       drain_cases[i].name, m, lo, hi, bm, blo, bhi, wm, wlo, whi,
		       m > 0 ? drain_cases[i].queues * m0 / m : 0);
	}
	fflush(stdout);
	r = 0;
out:
	for (int k = 0; k < 2; k++)
		if (sink[k] >= 0)
			close(sink[k]);
	return r;
}

/* ---- 2. end to end ------------------------------------------------------------------------ */

/* The server namespace behind fw: fw 10.199.1.1 - srv 10.199.1.2, routed both ways. */
static int server_create(const struct topo *t, char *srv, size_t len)
{
	snprintf(srv, len, "nfqd-t-bsc-%d-srv", (int)getpid());
	/* from inside fw: the veth is born there, and one end moves to the server */
	if (ns_sh(t->fw,
		  "ip netns add %s && ip -n %s link set lo up && ip link add bsc%da type veth peer "
		  "name bsc%db && ip link set bsc%db netns %s",
		  srv, srv, (int)getpid(), (int)getpid(), (int)getpid(), srv) != 0)
		return -1;
	if (ns_sh(t->fw,
		  "ip addr add 10.199.1.1/24 dev bsc%da && ip link set bsc%da up && "
		  "sysctl -qw net.ipv4.ip_forward=1",
		  (int)getpid(), (int)getpid()) != 0 ||
	    ns_sh(srv,
		  "ip addr add 10.199.1.2/24 dev bsc%db && ip link set bsc%db up && ip route add "
		  "default via 10.199.1.1",
		  (int)getpid(), (int)getpid()) != 0 ||
	    ns_sh(t->cli, "ip route add 10.199.1.0/24 via %s", t->fw4) != 0)
		return -1;
	return 0;
}

struct e2e_case {
	const char *name;
	const char *conf; /* nfqd's config; NULL: no nfqd, no queue */
	bool generated;	  /* FORWARD jumps to the chain of `nfqd rules` */
};

static const struct e2e_case e2e_cases[] = {
	{ "no queue (baseline)", NULL, false },
	{ "nfqd, flow-cache = connmark", "[policy]\nflow-cache = connmark\n", true },
	{ "nfqd, every packet queued", "[queue]\nmax-len = 65536\n", false },
};

#define N_E2E (sizeof(e2e_cases) / sizeof(e2e_cases[0]))

struct e2e_result {
	double sent_pps;  /* the sender's rate */
	double got_pps;	  /* delivered: received / the time from the first send to the last */
	double loss;	  /* 1 - received / sent */
	double cpu;	  /* non-idle CPU µs per delivered packet */
	double cpu0_busy; /* the share of CPU 0 (the sender's and the forwarding's) not idle */
};

/*
 * Send n datagrams of one flow at rate packets/s (0: as fast as the sender goes), 32 at a time
 * with sendmmsg, each burst at its due time. Returns the wall time taken, or -1.
 */
static double paced_send(int fd, unsigned long n, double rate)
{
	char payload[18] = { 0 };
	struct iovec iov = { payload, sizeof(payload) };
	struct mmsghdr m[32];
	double t0 = bench_now();
	unsigned long sent = 0;

	memset(m, 0, sizeof(m));
	for (int i = 0; i < 32; i++) {
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	while (sent < n) {
		unsigned int k = n - sent < 32 ? (unsigned int)(n - sent) : 32;
		int r;

		if (rate > 0) {
			double due = t0 + (double)sent / rate, now = bench_now();

			if (due > now) {
				struct timespec ts = { 0, (long)((due - now) * 1e9) };

				nanosleep(&ts, NULL);
			}
		}
		r = sendmmsg(fd, m, k, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
				continue;
			return -1;
		}
		sent += (unsigned long)r;
	}
	return bench_now() - t0;
}

static int e2e_once(const struct topo *t, const char *srv, const struct e2e_case *c,
		    unsigned long n, double rate, struct e2e_result *res)
{
	struct nfqd_proc d;
	struct sink_thread s;
	unsigned long long busy0, total0, got, c0busy0, c0total0, c0busy, c0total;
	double wall;
	int st, fd = -1, sink = -1, r = -1;
	static uint16_t sport = 41000;

	memset(&d, 0, sizeof(d));
	memset(&s, 0, sizeof(s));
	if (ns_sh(t->fw, "iptables -F FORWARD && conntrack -F 2>/dev/null; true") != 0)
		return -1;
	if (c->conf) {
		if (nfqd_start(&d, t->fw, c->conf, 5000, &st) != 0) {
			fprintf(stderr, "bench_scaling: nfqd did not start (%s)\n", c->name);
			goto out;
		}
		if (c->generated
			    ? nfqd_rules_load(t->fw, c->conf, false) != 0 ||
				      ns_sh(t->fw, "iptables -A FORWARD -j NFQD") != 0
			    : ns_sh(t->fw, "iptables -A FORWARD -p udp -j NFQUEUE --queue-num 0") !=
				      0)
			goto out;
	}
	sink = udp_sink_open(srv, "0.0.0.0", PORT);
	/* a new source port each time: a new flow, whose first packet meets nfqd */
	fd = udp_flow_open_from(t->cli, NULL, sport++, "10.199.1.2", PORT);
	if (sink < 0 || fd < 0 || sink_thread_start(&s, sink) < 0)
		goto out;
	cpu_jiffies(&busy0, &total0);
	cpu_jiffies_of("cpu0", &c0busy0, &c0total0);
	wall = paced_send(fd, n, rate);
	cpu_jiffies_of("cpu0", &c0busy, &c0total);
	got = sink_thread_stop_at(&s, n, 10000);
	if (wall <= 0)
		goto out;
	res->sent_pps = (double)n / wall;
	res->got_pps = (double)got / wall;
	res->loss = 1.0 - (double)got / (double)n;
	res->cpu = cpu_us_per_packet(busy0, got ? got : 1);
	res->cpu0_busy =
		c0total > c0total0 ? (double)(c0busy - c0busy0) / (double)(c0total - c0total0) : 0;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (sink >= 0)
		close(sink);
	if (c->conf) {
		nfqd_stop(&d, SIGTERM, 10000, &st, NULL);
		nfqd_cleanup(&d);
	}
	ns_sh(t->fw, "iptables -F FORWARD");
	return r;
}

static int bench_e2e(struct topo *t, int runs, unsigned long n, double rate)
{
	struct figure got[N_E2E] = { 0 }, cpu[N_E2E] = { 0 }, loss[N_E2E] = { 0 },
		      max[N_E2E] = { 0 }, maxcpu[N_E2E] = { 0 }, on[N_E2E] = { 0 };
	char srv[64];
	cpu_set_t saved;
	int r = -1;

	if (server_create(t, srv, sizeof(srv)) < 0 ||
	    sched_getaffinity(0, sizeof(saved), &saved) == -1)
		goto out;
	/* the sender on CPU 0, where veth also runs the forwarding; the sink thread elsewhere */
	pin_self(0);
	for (int round = 0; round < runs; round++) {
		/* unpaced first: the no-queue maximum sets the paced rate */
		for (size_t i = 0; i < N_E2E; i++) {
			struct e2e_result res;

			if (e2e_once(t, srv, &e2e_cases[i], n, 0, &res) < 0)
				goto out;
			figure_add(&max[i], res.got_pps);
			figure_add(&maxcpu[i], res.cpu);
			figure_add(&on[i], res.cpu0_busy * 100);
		}
		if (rate <= 0) {
			double m, lo, hi;

			figure_stats(&max[0], &m, &lo, &hi);
			rate = 0.6 * m;
		}
		for (size_t i = 0; i < N_E2E; i++) {
			struct e2e_result res;

			if (e2e_once(t, srv, &e2e_cases[i], n, rate, &res) < 0)
				goto out;
			figure_add(&got[i], res.got_pps);
			figure_add(&cpu[i], res.cpu);
			figure_add(&loss[i], res.loss * 100);
		}
	}
	printf("\n### End to end: one UDP flow client -> fw -> server (FORWARD), %lu packets\n\n",
	       n);
	printf("Paced at %.0fk packets/s (below the no-queue maximum: the sender is not the "
	       "limit); delivered rate, loss, CPU per delivered packet. Median of %d rounds "
	       "(min-max), ratio to no queue; goal flow cache / no queue >= 0.95.\n\n",
	       rate / 1e3, runs);
	printf("| paced | delivered/s | ratio | CPU per packet | loss |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < N_E2E; i++)
		row(e2e_cases[i].name, &got[i], &cpu[i], &got[0], &loss[i], 2, "%");
	printf("\nUnpaced (the sender as fast as it goes, pinned to CPU 0, where veth also runs "
	       "the "
	       "forwarding and the queueing in the sender's softirq): the last column is how busy "
	       "CPU 0 was; near 100%% CPU 0, the sender with the kernel path it drives, is the "
	       "limit.\n\n");
	printf("| unpaced | delivered/s | ratio | CPU per packet | CPU 0 busy |\n"
	       "|---|---|---|---|---|\n");
	for (size_t i = 0; i < N_E2E; i++)
		row(e2e_cases[i].name, &max[i], &maxcpu[i], &max[0], &on[i], 0, "%");
	fflush(stdout);
	r = 0;
out:
	sched_setaffinity(0, sizeof(saved), &saved);
	ns_sh(t->fw, "ip netns del %s 2>/dev/null; true", srv);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "packets", required_argument, NULL, 'n' },
		{ "flow-packets", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long n = 50000, flow_n = 300000;
	double rate = 0;
	int runs = 5, c, r, only = -1;
	struct topo t;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r') {
			runs = atoi(optarg);
		} else if (c == 'q') {
			runs = 1;
			n = 4000;
			flow_n = 20000;
		} else if (c == 'n') {
			n = strtoul(optarg, NULL, 10);
		} else if (c == 'f') {
			flow_n = strtoul(optarg, NULL, 10);
		} else if (c == 'p') {
			rate = atof(optarg);
		} else if (c == 'O') {
			/* for profiling one case: its drains alone, no end to end */
			only = atoi(optarg);
		} else if (c == 'o') {
			/* no data files: the tables are the output */
		} else {
			return 2;
		}
	}
	if (n < 2 || n > 65536 || flow_n == 0 || runs < 1 || runs > RUNS_MAX || only < -1 ||
	    only >= (int)N_DRAIN) {
		fprintf(stderr,
			"usage: bench_scaling [--runs 1..%d] [--quick] [--packets 2..65536] "
			"[--flow-packets N] [--rate PPS] [--only 0..2] [--out DIR]\n",
			RUNS_MAX);
		return 2;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		fprintf(stderr, "bench_scaling: one CPU: two queues cannot run in parallel\n");
	if (topo_create(&t, "bsc") < 0)
		return 1;
	printf("## bench_scaling\n");
	r = bench_drain(&t, runs, n, only);
	if (r == 0 && only < 0)
		r = bench_e2e(&t, runs, flow_n, rate);
	topo_destroy(&t);
	return r == 0 ? 0 : 1;
}
