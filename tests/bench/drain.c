/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_drain: how fast nfqd empties a queue pre-filled with small UDP packets.
 *
 * nfqd is stopped (SIGSTOP) while N packets are queued, then resumed, and the time until the
 * kernel's queue is empty gives packets per second. Measuring a pre-filled queue keeps the
 * sender off the two cores while nfqd works (TESTING.md). Each variant runs several times and
 * reports the median, and its ratio to the baseline of the same run: nfqd with batch = 1, one
 * receive and one verdict message per packet, as the classic libnetfilter_queue reader does.
 * Ratios are what to compare across machines; the absolute rates depend on the machine.
 *
 *   bench_drain [--packets N] [--runs R]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "bench.h"
#include "netns.h"
#include "traffic.h"

struct variant {
	const char *name;
	const char *queue_conf;
	bool baseline;
};

static const struct variant variants[] = {
	{ "batch 1 (baseline)", "batch = 1", true },
	{ "batch 64 (default)", "batch = 64", false },
	{ "batch 256", "batch = 256", false },
	{ "mmsg, batch 64", "batch = 64\ntransport = mmsg", false },
	{ "uring, batch 64", "batch = 64\ntransport = uring", false },
};

/* One drain of about n packets; returns packets per second, or -1. */
static double drain_once(struct topo *t, const struct variant *v, const char *verdict,
			 unsigned long n)
{
	char conf[512];
	struct nfqd_proc d;
	unsigned int queued = 0, last = 0, prev = ~0u;
	double t0, t1, pps = -1;
	int st;

	snprintf(conf, sizeof(conf), "[queue]\nmax-len = 65536\n%s\n[policy]\ndefault = %s\n",
		 v->queue_conf, verdict);
	if (nfqd_start(&d, t->fw, conf, 5000, &st) != 0) {
		fprintf(stderr, "bench: nfqd did not start\n");
		goto out;
	}
	if (nfqd_pause(&d) < 0)
		goto out;
	if (udp_send(t->cli, NULL, t->fw4, 5000, n, 18, 4, 32, 0) < 0)
		goto out;
	/* wait for the queue to settle: packets may still be on their way through the veth */
	for (int i = 0; i < 200; i++) {
		if (kernel_queue_line(t->fw, 0, &queued, &last) < 0)
			goto out;
		if (queued == prev)
			break;
		prev = queued;
		usleep(20000);
	}
	t0 = bench_now();
	kill(d.pid, SIGCONT);
	for (;;) {
		unsigned int q;

		if (kernel_queue_line(t->fw, 0, &q, &last) < 0)
			goto out;
		if (q == 0)
			break;
		if (bench_now() - t0 > 60) {
			fprintf(stderr, "bench: drain did not finish\n");
			goto out;
		}
		usleep(500);
	}
	t1 = bench_now();
	pps = queued / (t1 - t0);
	nfqd_stop(&d, SIGTERM, 5000, &st, NULL);
out:
	nfqd_cleanup(&d);
	return pps;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "packets", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const verdicts[] = { "accept", "drop" };
	unsigned long n = 50000;
	int runs = 5, c, sink;
	struct topo t;
	double base[2] = { 0, 0 };

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			runs = atoi(optarg);
		else
			return 2;
	}
	if (n == 0 || runs < 1 || runs > 99) {
		fprintf(stderr, "usage: bench_drain [--packets N] [--runs 1..99]\n");
		return 2;
	}
	if (topo_create(&t, "bench") < 0)
		return 1;
	if (ns_sh(t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0") != 0) {
		topo_destroy(&t);
		return 1;
	}
	/* accepted packets land in a socket that is never read (no ICMP for a closed port) */
	sink = udp_sink_open(t.fw, "0.0.0.0", 5000);

	printf("drain of a pre-filled queue: %lu UDP packets of 18 bytes, copy-range 128, "
	       "median of %d runs\n",
	       n, runs);
	printf("%-22s %-7s %12s %10s\n", "variant", "verdict", "packets/s", "vs batch 1");
	for (size_t vi = 0; vi < sizeof(variants) / sizeof(variants[0]); vi++) {
		for (int k = 0; k < 2; k++) {
			double r[99];
			double med;

			for (int i = 0; i < runs; i++) {
				r[i] = drain_once(&t, &variants[vi], verdicts[k], n);
				if (r[i] < 0) {
					topo_destroy(&t);
					return 1;
				}
				/* empty the sink between runs so it never overflows */
				udp_sink_count(sink, 20, 5000);
			}
			med = bench_median(r, runs);
			if (variants[vi].baseline)
				base[k] = med;
			printf("%-22s %-7s %12.0f %9.2fx\n", variants[vi].name, verdicts[k], med,
			       med / base[k]);
			fflush(stdout);
		}
	}
	close(sink);
	topo_destroy(&t);
	return 0;
}
