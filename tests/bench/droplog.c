/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_droplog: whether the drop log slows verdicts under a flood.
 *
 * The drain of bench_drain (nfqd stopped with SIGSTOP, the queue filled with small UDP packets,
 * nfqd resumed, the time until the kernel's queue is empty gives packets per second), with one
 * rule that drops every packet of the flood, against the same rule with `log`:
 *
 *   drop         rule = drop proto udp dport 5000
 *   drop log     rule = drop log log-prefix "flood" proto udp dport 5000, [log] as by default
 *                (10/s, burst 20): the flood an operator's blocklist meets, nearly all of it
 *                suppressed by the rate limit in the worker
 *   log all      the same with rate and burst at 1000000: every packet goes through the ring
 *                and the logging thread writes a line for each (to a file: nfqd's stderr), the
 *                worst case; the ring may fill, which the counters show
 *
 * The contenders take turns within each round, so that a change in the machine's load hits them
 * alike; each figure is the median of the rounds with its min-max, and its ratio to `drop`.
 * Besides the rate, nfqd's CPU time per packet over the drain (all its threads, the logging
 * thread included: proc_runtime_ns()), which the machine's other load does not inflate.
 * After each drain the counters logged, log_suppressed and log_ring_full of that drain are read
 * from nfqd, and every packet is checked to have been dropped.
 *
 *   bench_droplog [--packets N] [--runs R] [--quick]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "netns.h"
#include "traffic.h"

#define MAX_RUNS 99

struct contender {
	const char *name;
	const char *config;
};

static const struct contender contenders[] = {
	{ "drop", "[policy]\nrule = drop proto udp dport 5000\n" },
	{ "drop log", "[policy]\nrule = drop log log-prefix \"flood\" proto udp dport 5000\n" },
	{ "log all", "[policy]\nrule = drop log log-prefix \"flood\" proto udp dport 5000\n"
		     "[log]\nrate = 1000000/s\nburst = 1000000\n" },
};

#define N_CONTENDERS (sizeof(contenders) / sizeof(contenders[0]))

/* What one drain measured. */
struct drain {
	double pps;
	double ns_per_packet; /* nfqd's CPU time over the drain, all its threads */
	unsigned int queued;
	uint64_t dropped, logged, suppressed, ring_full;
};

/* Wait until nfqd counted want drops (its counters follow the verdicts). */
static char *stats_when_dropped(struct nfqd_proc *d, uint64_t want)
{
	for (double t0 = bench_now(); bench_now() - t0 < 60;) {
		char *json = nfqd_control(d, "stats\n");

		if (json && stats_get(json, 0, "dropped") >= want)
			return json;
		free(json);
		usleep(10000);
	}
	return NULL;
}

/* One drain of about n packets by contender c. Returns 0, or -1 with a message. */
static int drain_once(struct topo *t, const struct contender *c, unsigned long n, struct drain *out)
{
	char conf[512];
	struct nfqd_proc d;
	unsigned int q, last;
	char *json = NULL;
	unsigned long long r0, r1;
	double t0;
	int st, r = -1;

	snprintf(conf, sizeof(conf), "[queue]\nmax-len = 65536\n%s", c->config);
	if (nfqd_start(&d, t->fw, conf, 5000, &st) != 0) {
		fprintf(stderr, "bench_droplog: nfqd did not start (%s)\n", c->name);
		goto out;
	}
	if (nfqd_pause(&d) < 0 || udp_send(t->cli, NULL, t->fw4, 5000, n, 18, 4, 32, 0) < 0)
		goto out;
	out->queued = bench_settle(t->fw);
	if (out->queued == 0 || proc_runtime_ns(d.pid, &r0) < 0)
		goto out;
	t0 = bench_now();
	kill(d.pid, SIGCONT);
	do {
		if (kernel_queue_line(t->fw, 0, &q, &last) < 0)
			goto out;
		if (bench_now() - t0 > 60) {
			fprintf(stderr, "bench_droplog: the drain did not finish (%s)\n", c->name);
			goto out;
		}
		if (q)
			usleep(500);
	} while (q);
	out->pps = out->queued / (bench_now() - t0);
	if (proc_runtime_ns(d.pid, &r1) < 0)
		goto out;
	out->ns_per_packet = (double)(r1 - r0) / out->queued;
	json = stats_when_dropped(&d, out->queued);
	if (!json) {
		fprintf(stderr, "bench_droplog: nfqd did not count %u drops (%s)\n", out->queued,
			c->name);
		goto out;
	}
	out->dropped = stats_get(json, 0, "dropped");
	out->logged = stats_get(json, 0, "logged");
	out->suppressed = stats_get(json, 0, "log_suppressed");
	out->ring_full = stats_get(json, 0, "log_ring_full");
	if (out->dropped != out->queued || out->logged + out->suppressed + out->ring_full !=
						   (strstr(c->config, " log ") ? out->queued : 0)) {
		fprintf(stderr,
			"bench_droplog: %s: %u queued but %llu dropped, %llu logged, %llu "
			"suppressed, %llu lost to a full ring\n",
			c->name, out->queued, (unsigned long long)out->dropped,
			(unsigned long long)out->logged, (unsigned long long)out->suppressed,
			(unsigned long long)out->ring_full);
		goto out;
	}
	nfqd_stop(&d, SIGTERM, 5000, &st, NULL);
	r = 0;
out:
	free(json);
	nfqd_cleanup(&d);
	return r;
}

static void min_max(const double *v, int n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (int i = 1; i < n; i++) {
		if (v[i] < *lo)
			*lo = v[i];
		if (v[i] > *hi)
			*hi = v[i];
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "packets", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	static double pps[N_CONTENDERS][MAX_RUNS], cpu[N_CONTENDERS][MAX_RUNS];
	static struct drain last[N_CONTENDERS];
	unsigned long n = 50000;
	int runs = 5, c;
	double base = 0, cpu_base = 0;
	struct topo t;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			runs = atoi(optarg);
		else if (c == 'q') {
			n = 2000;
			runs = 1;
		} else
			return 2;
	}
	if (n == 0 || n > 65536 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr,
			"usage: bench_droplog [--packets 1..65536] [--runs 1..%d] "
			"[--quick]\n",
			MAX_RUNS);
		return 2;
	}
	if (topo_create(&t, "bdlog") < 0)
		return 1;
	if (ns_sh(t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0") != 0) {
		topo_destroy(&t);
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		for (size_t k = 0; k < N_CONTENDERS; k++) {
			if (drain_once(&t, &contenders[k], n, &last[k]) < 0) {
				topo_destroy(&t);
				return 1;
			}
			pps[k][i] = last[k].pps;
			cpu[k][i] = last[k].ns_per_packet;
		}
	}
	topo_destroy(&t);

	printf("drain of a pre-filled queue: %lu UDP packets of 18 bytes, every one dropped by "
	       "one rule; contenders in turn, median (min-max) of %d rounds\n\n",
	       n, runs);
	printf("%-10s %10s %21s %8s %10s %8s   %s\n", "contender", "packets/s", "min-max",
	       "vs drop", "nfqd ns/p", "vs drop", "last drain: logged / suppressed / ring full");
	for (size_t k = 0; k < N_CONTENDERS; k++) {
		double lo, hi, med, ns;

		min_max(pps[k], runs, &lo, &hi);
		med = bench_median(pps[k], runs);
		ns = bench_median(cpu[k], runs);
		if (k == 0) {
			base = med;
			cpu_base = ns;
		}
		printf("%-10s %10.0f %10.0f-%-10.0f %7.2fx %10.0f %7.2fx   %llu / %llu / %llu\n",
		       contenders[k].name, med, lo, hi, med / base, ns, ns / cpu_base,
		       (unsigned long long)last[k].logged, (unsigned long long)last[k].suppressed,
		       (unsigned long long)last[k].ring_full);
	}
	return 0;
}
