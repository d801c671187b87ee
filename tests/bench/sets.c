/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_sets: the cost of set rules, for each way of answering them, in one run.
 *
 * Two rules on one 100,000-entry hash:ip set (`drop src @big`, `drop dst @big`; the packets are
 * not members, so both lookups are done for every packet), against the same traffic without set
 * rules. The traffic comes from 64 client addresses in turn, so that a received batch holds
 * many distinct elements: IPSET_CMD_TEST asks once per distinct element per batch, and one
 * address would flatter it. Each variant is measured in two phases, because the two methods pay in
 * different places: the kernel's mark bits cost in the kernel path that queues the packet (the
 * generated chain's `-m set` rules), IPSET_CMD_TEST costs in nfqd's drain.
 *
 *   fill   N packets sent from the client while nfqd is stopped: the kernel path up to the
 *          queue, including the chain in front of it
 *   drain  nfqd resumed until the queue is empty: nfqd's work, including its set tests
 *
 * Each phase gives packets per second; "both" is N over the sum of the two times. Medians of R
 * runs; ratios against the variant without set rules behind a plain NFQUEUE rule.
 *
 * With --compare OTHER, every run of a variant is also made with the nfqd binary OTHER (another
 * build, such as the code before a change), the two taking turns to go first, and the drain
 * and both rates of this build are given as ratios to OTHER's.
 *
 *   bench_sets [--packets N] [--runs R] [--elements E] [--compare OTHER]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "netns.h"
#include "traffic.h"

struct variant {
	const char *name;
	const char *rules; /* the [policy] rules */
	const char *extra; /* more [policy] keys */
	bool generated;	   /* queue through the generated chain instead of a plain rule */
};

static const struct variant variants[] = {
	{ "no set rules, plain NFQUEUE rule (baseline)", "", "", false },
	{ "no set rules, generated chain", "", "", true },
	{ "2 set rules, IPSET_CMD_TEST", "rule = drop src @big\nrule = drop dst @big\n",
	  "set-lookup = test\n", false },
	{ "2 set rules, kernel mark bits", "rule = drop src @big\nrule = drop dst @big\n",
	  "set-lookup = mark\n", true },
};

#define NV (sizeof(variants) / sizeof(variants[0]))

/* One run: fill and drain times for about n packets; false on failure. */
static bool run_once(struct topo *t, const char *srcs, const struct variant *v, unsigned long n,
		     double *fill, double *drain, unsigned int *queued, uint64_t *tests,
		     uint64_t *marked)
{
	char conf[512];
	struct nfqd_proc d;
	double t0, t1;
	int st;
	bool ok = false;

	snprintf(conf, sizeof(conf), "[queue]\nmax-len = 65536\n[policy]\n%s%s", v->extra,
		 v->rules);
	ns_sh(t->fw, "iptables -F INPUT; iptables -F NFQD 2>/dev/null; iptables -X NFQD "
		     "2>/dev/null; true");
	if (v->generated) {
		if (nfqd_rules_load(t->fw, conf, false) != 0 ||
		    ns_sh(t->fw, "iptables -A INPUT -p udp -j NFQD") != 0)
			return false;
	} else if (ns_sh(t->fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0") != 0) {
		return false;
	}
	if (nfqd_start(&d, t->fw, conf, 5000, &st) != 0) {
		fprintf(stderr, "bench: nfqd did not start\n");
		goto out;
	}
	if (nfqd_pause(&d) < 0)
		goto out;

	t0 = bench_now();
	if (udp_send_spread(t->cli, srcs, t->fw4, 5000, n, 18, 64) < 0)
		goto out;
	*queued = bench_settle(t->fw);
	t1 = bench_now();
	*fill = t1 - t0;

	t0 = bench_now();
	kill(d.pid, SIGCONT);
	for (;;) {
		unsigned int q, last;

		if (kernel_queue_line(t->fw, 0, &q, &last) < 0)
			goto out;
		if (q == 0)
			break;
		if (bench_now() - t0 > 120)
			goto out;
		usleep(500);
	}
	*drain = bench_now() - t0;
	{
		/* what nfqd did, to show each variant measured what it claims */
		char *json = nfqd_control(&d, "stats\n");

		*tests = stats_get(json, 0, "set_tests");
		*marked = stats_get(json, 0, "marked");
		free(json);
	}
	ok = *queued > 0;
	nfqd_stop(&d, SIGTERM, 5000, &st, NULL);
out:
	nfqd_cleanup(&d);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "packets", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "elements", required_argument, NULL, 'e' },
		{ "compare", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long n = 50000, elements = 100000;
	int runs = 5, c, sink;
	double base_fill = 0, base_drain = 0, base_both = 0;
	struct topo t;
	char srcs[2048];
	const char *other = NULL;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			runs = atoi(optarg);
		else if (c == 'e')
			elements = strtoul(optarg, NULL, 10);
		else if (c == 'c')
			other = optarg;
		else
			return 2;
	}
	if (n == 0 || runs < 1 || runs > 99 || elements == 0 || elements > 4000000) {
		fprintf(stderr, "usage: bench_sets [--packets N] [--runs 1..99] [--elements E] "
				"[--compare OTHER-NFQD]\n");
		return 2;
	}
	if (topo_create(&t, "bsets") < 0)
		return 1;
	/* E addresses of 10.0.0.0/8, none of them the client's or the firewall's */
	if (ns_sh(t.fw,
		  "{ echo 'create big hash:ip maxelem %lu'; i=0; while [ $i -lt %lu ]; do "
		  "echo \"add big 10.$((i / 65536)).$((i / 256 %% 256)).$((i %% 256))\"; "
		  "i=$((i + 1)); done; } | ipset restore",
		  elements * 2, elements) != 0) {
		topo_destroy(&t);
		return 1;
	}
	if (topo_add_client_addrs(&t, 64, srcs, sizeof(srcs)) < 0) {
		topo_destroy(&t);
		return 1;
	}
	sink = udp_sink_open(t.fw, "0.0.0.0", 5000);

	printf("set rules on a %lu-entry hash:ip set: %lu UDP packets of 18 bytes from 64 "
	       "addresses, median of %d runs\n",
	       elements, n, runs);
	if (other)
		printf("compared with %s: drain and both of this build / of that one, same runs\n",
		       other);
	printf("%-44s %10s %10s %10s %8s\n", "variant", "fill/s", "drain/s", "both/s", "both vs");
	printf("%-44s %10s %10s %10s %8s\n", "", "", "", "", "baseline");
	for (size_t vi = 0; vi < NV; vi++) {
		/* [0]: this build, [1]: the other */
		double fill[2][99], drain[2][99], both[2][99];
		double mf, md, mb;
		uint64_t tests = 0, marked = 0;

		for (int i = 0; i < runs; i++) {
			for (int k = 0; k < (other ? 2 : 1); k++) {
				int b = (i + k) % (other ? 2 : 1);
				unsigned int q = 0;
				double f, d;

				if (b)
					setenv("NFQD_TEST_BIN", other, 1);
				else
					unsetenv("NFQD_TEST_BIN");
				if (!run_once(&t, srcs, &variants[vi], n, &f, &d, &q, &tests,
					      &marked)) {
					fprintf(stderr, "bench: run failed: %s%s\n",
						variants[vi].name, b ? " (compared build)" : "");
					topo_destroy(&t);
					return 1;
				}
				fill[b][i] = q / f;
				drain[b][i] = q / d;
				both[b][i] = q / (f + d);
				udp_sink_count(sink, 20, 5000);
			}
		}
		mf = bench_median(fill[0], runs);
		md = bench_median(drain[0], runs);
		mb = bench_median(both[0], runs);
		if (vi == 0) {
			base_fill = mf;
			base_drain = md;
			base_both = mb;
		}
		printf("%-44s %10.0f %10.0f %10.0f %7.2fx  (last run: %llu set tests, %llu "
		       "marked)\n",
		       variants[vi].name, mf, md, mb, mb / base_both, (unsigned long long)tests,
		       (unsigned long long)marked);
		if (other)
			printf("%-44s %10s %9.3fx %9.3fx  vs %s\n", "", "",
			       md / bench_median(drain[1], runs), mb / bench_median(both[1], runs),
			       other);
		fflush(stdout);
	}
	printf("(baseline fill %.0f/s, drain %.0f/s)\n", base_fill, base_drain);
	close(sink);
	topo_destroy(&t);
	return 0;
}
