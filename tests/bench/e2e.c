/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_e2e: end-to-end UDP throughput through nfqd's flow cache against no queue at all.
 *
 * A flood from 16 flows (sockets sending as fast as they can) goes from the client namespace to
 * a counting socket in the firewall namespace, for --seconds per turn. The contenders take turns
 * within each round:
 *
 *   none        INPUT does not jump to chain NFQD: the path alone
 *   flow-cache  INPUT -> chain NFQD of `nfqd rules` (flow-cache = connmark), nfqd serving queue
 *               0: each flow's first packets go to nfqd, the rest pass in the kernel
 *
 * The sender is measured, not paced: the table gives datagrams sent and received per second,
 * and where a contender receives what was sent, the sender was the limit. The figure is the
 * received rate, the median of the rounds with min-max, and its ratio to none's; CPU per packet
 * is the machine's non-idle CPU time over the turn divided by the datagrams received.
 *
 *   bench_e2e [--runs N] [--seconds S] [--quick]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "bench.h"
#include "cpustat.h"
#include "netns.h"
#include "traffic.h"

#define PORT	 5000
#define FLOWS	 16
#define MAX_RUNS 99
#define CONFIG	 "[policy]\nflow-cache = connmark\nrule = drop proto udp dport 9\n"
#define JUMP	 "INPUT -p udp -j NFQD"

enum contender {
	C_NONE,
	C_FLOW_CACHE,
	C_MAX
};

static const char *const names[C_MAX] = { "none", "flow-cache" };

struct turn {
	double sent, received;	    /* per second */
	double cpu_us;		    /* per datagram received */
	unsigned long long to_nfqd; /* datagrams nfqd received */
};

/* One turn of a contender: its reader started, the flood, the count. Returns 0 or -1. */
static int turn(struct topo *t, int sink, enum contender c, double seconds, struct turn *out)
{
	struct nfqd_proc d;
	struct sink_thread st;
	struct flood fl;
	unsigned long long sent, got, b0, b1;
	double t0, el;
	int status, ret = -1;

	memset(&d, 0, sizeof(d));
	if (c == C_NONE && ns_sh(t->fw, "iptables -D " JUMP) != 0)
		return -1;
	if (c == C_FLOW_CACHE && nfqd_start(&d, t->fw, CONFIG, 5000, &status) != 0) {
		fprintf(stderr, "bench: nfqd did not start\n");
		goto out;
	}
	if (sink_thread_start(&st, sink) < 0)
		goto out;
	if (bench_machine_busy(&b0) < 0 ||
	    flood_start(&fl, t->cli, NULL, t->fw4, PORT, FLOWS, 16) < 0) {
		sink_thread_stop_at(&st, 0, 0);
		goto out;
	}
	t0 = bench_now();
	usleep((useconds_t)(seconds * 1e6));
	sent = flood_stop(&fl);
	el = bench_now() - t0;
	/* what is on its way still counts: until all came, or the generous deadline */
	got = sink_thread_stop_at(&st, sent, TEST_DEADLINE_MS / 6);
	if (bench_machine_busy(&b1) < 0)
		goto out;
	out->sent = (double)sent / el;
	out->received = (double)got / el;
	out->cpu_us =
		got ? (double)(b1 - b0) / (double)sysconf(_SC_CLK_TCK) * 1e6 / (double)got : 0;
	if (c == C_FLOW_CACHE) {
		char *json = nfqd_control(&d, "stats\n");

		out->to_nfqd = json ? stats_get(json, -1, "received") : 0;
		free(json);
	}
	ret = 0;
out:
	if (c == C_FLOW_CACHE) {
		nfqd_stop(&d, SIGTERM, 5000, &status, NULL);
		nfqd_cleanup(&d);
	}
	if (c == C_NONE && ns_sh(t->fw, "iptables -A " JUMP) != 0)
		ret = -1;
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	static struct turn res[MAX_RUNS][C_MAX];
	double seconds = 5, base = 0;
	int runs = 5, c, sink, ret = 1;
	struct topo t;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			runs = atoi(optarg);
		else if (c == 's')
			seconds = strtod(optarg, NULL);
		else if (c == 'q')
			runs = 1, seconds = 1;
		else
			return 2;
	}
	if (runs < 1 || runs > MAX_RUNS || seconds <= 0 || seconds > 600) {
		fprintf(stderr, "usage: bench_e2e [--runs 1..99] [--seconds S] [--quick]\n");
		return 2;
	}
	if (topo_create(&t, "e2e") < 0)
		return 1;
	sink = udp_sink_open(t.fw, "0.0.0.0", PORT);
	if (sink < 0 || nfqd_rules_load(t.fw, CONFIG, false) != 0 ||
	    ns_sh(t.fw, "iptables -A " JUMP) != 0)
		goto out;
	for (int r = 0; r < runs; r++)
		for (int k = 0; k < C_MAX; k++)
			if (turn(&t, sink, (enum contender)k, seconds, &res[r][k]) < 0)
				goto out;

	printf("## bench_e2e: UDP flood of 16-byte datagrams from %d flows, %.0f s per turn, "
	       "cli -> fw INPUT; the sender is measured (not paced)\n\n",
	       FLOWS, seconds);
	printf("| contender | sent/s | received/s | vs none | CPU us/pkt | reached nfqd (round 1) "
	       "|\n");
	printf("|---|---|---|---|---|---|\n");
	for (int k = 0; k < C_MAX; k++) {
		double v[MAX_RUNS], sent, recv, cpu;

		for (int r = 0; r < runs; r++)
			v[r] = res[r][k].sent;
		sent = bench_median(v, runs);
		for (int r = 0; r < runs; r++)
			v[r] = res[r][k].cpu_us;
		cpu = bench_median(v, runs);
		for (int r = 0; r < runs; r++)
			v[r] = res[r][k].received;
		recv = bench_median(v, runs);
		if (k == C_NONE)
			base = recv;
		printf("| %s | %.0f | %.0f [%.0f-%.0f] | %.2fx | %.2f | %llu |\n", names[k], sent,
		       recv, v[0], v[runs - 1], base > 0 ? recv / base : 0, cpu, res[0][k].to_nfqd);
	}
	ret = 0;
out:
	if (sink >= 0)
		close(sink);
	topo_destroy(&t);
	return ret;
}
