/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_rules: what a realistic 20-rule policy costs nfqd, against accept-all, in one run.
 *
 * The policy (POLICY below) is what a small site writes: two set rules on a 100,000-entry
 * hash:ip blocklist answered by the kernel's mark bits, bogon prefixes of both families, port
 * and port-range drops, a ct mark rule, an interface rule, and accept rules by prefix, protocol
 * and port, with the default drop. The traffic is IPv4 from 64 client addresses to two ports and
 * IPv6 to one, so that a received batch mixes the families and four accept rules end the walk
 * at different depths (rules 17 to 20); every packet passes the sixteen rules before those, two
 * set lookups among them.
 *
 * Why every packet ends at accept: accept-all and the policy must make the kernel do the same
 * work, so that the only difference is nfqd's. The verdict decides the kernel's work (an accept
 * is re-injected and delivered, a drop is freed), and so does the verdict message (equal
 * verdicts go as one NFQNL_MSG_VERDICT_BATCH). The policy's packets therefore all end at accept
 * rules, and the benchmark checks that from nfqd's counters after every drain (accepted ==
 * queued, no drop, no set test, every packet marked). For the same reason both contenders run
 * behind the same chain: `nfqd rules` of the policy's configuration, loaded for IPv4 and IPv6
 * (set matches, connmark restore, marker), so the kernel's path to the queue is the same too.
 *
 * Each drain is the pattern of bench_drain: nfqd stopped (SIGSTOP), the queue filled, nfqd
 * resumed, and the time until the kernel's queue is empty gives packets per second. The
 * contenders take turns within each round; each figure is the median of the rounds with its
 * min-max, and a ratio to accept-all of the same build. Two CPU figures per packet: nfqd's own
 * (its threads' run time over the drain, proc_runtime_ns()), which the machine's other load does
 * not inflate, so that on a shared machine its ratio is the steadier measure of nfqd's work; and
 * the non-idle CPU time of the whole machine (/proc/stat) over the drain.
 *
 *   --compare OTHER  also run both contenders with the nfqd binary OTHER (another build, such as
 *                    the code before a change), in the same rounds
 *   --perf DIR       after the measured rounds, PERF_DRAINS more drains of each contender by
 *                    one nfqd under `perf record -e cpu-clock -F 10000 -g -p PID`, which samples
 *                    only the drains (nfqd is stopped in between): DIR/<contender>.data, not
 *                    counted in the figures
 *   --out DIR        every round's figures: DIR/rules.tsv
 *   --quick          one round of few packets on a small set: every contender and code path
 *
 *   bench_rules [--packets N] [--runs R] [--elements E] [--compare OTHER] [--perf DIR]
 *               [--out DIR] [--quick]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bench.h"
#include "netns.h"
#include "traffic.h"

#define MAX_RUNS 99

/* Drains profiled per contender with --perf: enough samples for a stable profile. */
#define PERF_DRAINS 10

/*
 * Common to both contenders: the same queue and mark bits, and the default set-lookup (auto):
 * the chain's marker makes the policy's set rules answered by the mark bits, never by a test.
 */
#define QUEUE_CONF "[queue]\nmax-len = 65536\n"
#define DEFAULTS   "set-lookup = auto\nmark-bits = 0xff000000\n"

/*
 * The fw namespace's interface is veth0 (netns.h); the clients are 10.199.0.100-163 and
 * fd00:199::1, the firewall 10.199.0.2 and fd00:199::2. Rule 17 takes the IPv4 traffic to port
 * 514, rule 18 that to port 5000 from .100-.127, rule 19 the IPv6, rule 20 the rest.
 */
static const char POLICY[] =
	"default = drop\n"
	"rule = drop src @blocklist\n"
	"rule = drop dst @blocklist\n"
	"rule = drop src 0.0.0.0/8\n"
	"rule = drop src 127.0.0.0/8 not iif lo\n"
	"rule = drop src 169.254.0.0/16\n"
	"rule = drop src 192.0.2.0/24\n"
	"rule = drop src 198.18.0.0/15\n"
	"rule = drop src 2001:db8::/32\n"
	"rule = drop dst 2001:db8::/32\n"
	"rule = drop proto udp dport 0\n"
	"rule = drop proto udp dport 137-139\n"
	"rule = drop proto udp sport 0-19\n"
	"rule = accept ct mark 0x10/0x10\n"
	"rule = accept proto tcp dport 22 src 10.0.0.0/8\n"
	"rule = accept proto tcp dport 80\n"
	"rule = accept proto udp dport 53 src 10.199.0.0/24\n"
	"rule = accept proto udp dport 514 iif veth0\n"
	"rule = accept proto udp src 10.199.0.96/27 dport 5000-5099\n"
	"rule = accept proto udp src fd00:199::/64 dport 5000-5099\n"
	"rule = accept proto udp src 10.199.0.0/24 dport 5000-5099 sport 1024-65535\n";

struct contender {
	const char *name;
	bool policy;
	bool other; /* run with the --compare binary */
};

static const struct contender all_contenders[] = {
	{ "accept-all", false, false },
	{ "20-rule policy", true, false },
	{ "accept-all (compared build)", false, true },
	{ "20-rule policy (compared build)", true, true },
};

struct setup {
	struct topo t;
	char srcs[2048];
	int sinks[3];
	const char *other; /* --compare binary, or NULL */
};

/* Non-idle and total CPU time of the whole machine, in clock ticks (/proc/stat "cpu"). */
static int cpu_ticks(unsigned long long *busy)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 5)
		return -1;
	/* everything but idle (3) and iowait (4) */
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return 0;
}

/*
 * Fill the queue with about n packets: IPv4 to port 5000 from the 64 client addresses (70%), to
 * port 514 (15%) and IPv6 to port 5000 (15%), in ten interleaved chunks.
 */
static bool fill(struct setup *s, unsigned long n)
{
	for (int chunk = 0; chunk < 10; chunk++) {
		unsigned long part = n / 10;
		unsigned long v6 = part * 15 / 100, syslog = part * 15 / 100;

		if (udp_send(s->t.cli, s->srcs, s->t.fw4, 5000, part - v6 - syslog, 18, 64, 4, 0) <
			    0 ||
		    udp_send(s->t.cli, s->srcs, s->t.fw4, 514, syslog, 18, 16, 4, 0) < 0 ||
		    udp_send(s->t.cli, s->t.cli6, s->t.fw6, 5000, v6, 18, 16, 4, 0) < 0)
			return false;
	}
	return true;
}

/* Start `perf record` on pid into path; returns its pid once the profile is open, or -1. */
static pid_t perf_start(pid_t pid, const char *path)
{
	char pidstr[16];
	pid_t p;
	struct stat st;

	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	unlink(path);
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("perf", "perf", "record", "-q", "-e", "cpu-clock", "-F", "10000", "-g", "-p",
		       pidstr, "-o", path, (char *)NULL);
		_exit(127);
	}
	/* perf writes its header once the events are open */
	for (int i = 0; i < 3000; i++) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return p;
		if (waitpid(p, NULL, WNOHANG) == p)
			return -1;
		usleep(10000);
	}
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	return -1;
}

static void perf_stop(pid_t p)
{
	if (p <= 0)
		return;
	kill(p, SIGINT);
	waitpid(p, NULL, 0);
}

/* What one drain measured. */
struct drain {
	double pps;
	double cpu_us;	/* machine CPU per packet, microseconds */
	double nfqd_ns; /* nfqd's own CPU time per packet, nanoseconds */
	unsigned int queued;
};

/* The config of a contender: the policy or accept-all. */
static void contender_conf(const struct contender *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s[policy]\n%s%s", QUEUE_CONF, DEFAULTS,
		 c->policy ? POLICY : "default = accept\n");
}

/*
 * nfqd's counters after a drain of q packets must show the verdict mix both contenders share:
 * every packet accepted, marked by the chain, none tested.
 */
static bool check_mix(const struct contender *c, struct nfqd_proc *d, unsigned int q)
{
	char *json = nfqd_control(d, "stats\n");
	uint64_t acc, drop, marked, tests;

	if (!json) {
		fprintf(stderr, "bench: %s: no stats\n", c->name);
		return false;
	}
	acc = stats_get(json, 0, "accepted");
	drop = stats_get(json, 0, "dropped");
	marked = stats_get(json, 0, "marked");
	tests = stats_get(json, 0, "set_tests");
	free(json);
	if (acc < q || drop != 0 || marked != acc || tests != 0) {
		fprintf(stderr,
			"bench: %s: verdict mix differs: %u queued, %llu accepted, %llu dropped, "
			"%llu marked, %llu set tests\n",
			c->name, q, (unsigned long long)acc, (unsigned long long)drop,
			(unsigned long long)marked, (unsigned long long)tests);
		return false;
	}
	return true;
}

/* Fill the queue of the paused nfqd d, resume it and time the drain into *out. */
static bool drain_timed(struct setup *s, const struct contender *c, struct nfqd_proc *d,
			unsigned long n, struct drain *out)
{
	unsigned long long b0, b1, r0, r1;
	double t0, t1;

	if (!fill(s, n))
		return false;
	out->queued = bench_settle(s->t.fw);
	if (out->queued == 0 || cpu_ticks(&b0) < 0 || proc_runtime_ns(d->pid, &r0) < 0)
		return false;
	t0 = bench_now();
	kill(d->pid, SIGCONT);
	for (;;) {
		unsigned int q, last;

		if (kernel_queue_line(s->t.fw, 0, &q, &last) < 0)
			return false;
		if (q == 0)
			break;
		if (bench_now() - t0 > 120) {
			fprintf(stderr, "bench: %s: the drain did not finish\n", c->name);
			return false;
		}
		usleep(500);
	}
	t1 = bench_now();
	if (cpu_ticks(&b1) < 0 || proc_runtime_ns(d->pid, &r1) < 0)
		return false;
	out->pps = out->queued / (t1 - t0);
	out->cpu_us = (double)(b1 - b0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / out->queued;
	out->nfqd_ns = (double)(r1 - r0) / out->queued;
	return true;
}

/*
 * Drains of contender c by one nfqd: one to measure (into *out), or with perf_path, reps of them
 * under `perf record`, which is attached only while nfqd drains (it is stopped in between), so
 * that the profile holds enough samples of the drain alone.
 */
static bool drain_once(struct setup *s, const struct contender *c, unsigned long n,
		       const char *perf_path, int reps, struct drain *out)
{
	char conf[4096];
	struct nfqd_proc d;
	unsigned int total = 0;
	pid_t perf = -1;
	bool ok = false;
	int st;

	if (c->other)
		setenv("NFQD_TEST_BIN", s->other, 1);
	else
		unsetenv("NFQD_TEST_BIN");
	contender_conf(c, conf, sizeof(conf));
	if (nfqd_start(&d, s->t.fw, conf, 5000, &st) != 0) {
		fprintf(stderr, "bench: %s: nfqd did not start\n", c->name);
		goto out;
	}
	if (nfqd_pause(&d) < 0)
		goto out;
	if (perf_path) {
		perf = perf_start(d.pid, perf_path);
		if (perf < 0) {
			fprintf(stderr, "bench: perf record did not start\n");
			goto out;
		}
	}
	for (int i = 0; i < reps; i++) {
		if ((i > 0 && nfqd_pause(&d) < 0) || !drain_timed(s, c, &d, n, out))
			goto out;
		total += out->queued;
		/* empty the sinks between drains so that they never overflow */
		for (int k = 0; k < 3; k++)
			udp_sink_count(s->sinks[k], 20, 5000);
	}
	perf_stop(perf);
	perf = -1;
	ok = check_mix(c, &d, total);
	nfqd_stop(&d, SIGTERM, 5000, &st, NULL);
out:
	perf_stop(perf);
	nfqd_cleanup(&d);
	return ok;
}

static int setup_create(struct setup *s, unsigned long elements)
{
	char conf[4096];
	const struct contender *policy = &all_contenders[1];

	if (topo_create(&s->t, "brules") < 0)
		return -1;
	/* E addresses of 10.0.0.0/8, none of them the client's or the firewall's */
	if (ns_sh(s->t.fw,
		  "{ echo 'create blocklist hash:ip maxelem %lu'; i=0; while [ $i -lt %lu ]; do "
		  "echo \"add blocklist 10.$((i / 65536)).$((i / 256 %% 256)).$((i %% 256))\"; "
		  "i=$((i + 1)); done; } | ipset restore",
		  elements * 2, elements) != 0)
		return -1;
	if (topo_add_client_addrs(&s->t, 64, s->srcs, sizeof(s->srcs)) < 0)
		return -1;
	/* the policy's chain, for both contenders and both families */
	unsetenv("NFQD_TEST_BIN");
	contender_conf(policy, conf, sizeof(conf));
	if (nfqd_rules_load(s->t.fw, conf, false) != 0 || nfqd_rules_load(s->t.fw, conf, true) ||
	    ns_sh(s->t.fw,
		  "iptables -A INPUT -p udp -j NFQD && ip6tables -A INPUT -p udp -j NFQD") != 0)
		return -1;
	s->sinks[0] = udp_sink_open(s->t.fw, "0.0.0.0", 5000);
	s->sinks[1] = udp_sink_open(s->t.fw, "0.0.0.0", 514);
	s->sinks[2] = udp_sink_open(s->t.fw, s->t.fw6, 5000);
	for (int i = 0; i < 3; i++)
		if (s->sinks[i] < 0)
			return -1;
	return 0;
}

static void setup_destroy(struct setup *s)
{
	for (int i = 0; i < 3; i++)
		if (s->sinks[i] >= 0)
			close(s->sinks[i]);
	topo_destroy(&s->t);
}

static double min_of(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double max_of(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Median of n values without disturbing them. */
static double median_of(const double *v, int n)
{
	double tmp[MAX_RUNS];

	memcpy(tmp, v, (size_t)n * sizeof(*v));
	return bench_median(tmp, n);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_rules [--packets N] [--runs 1..%d] [--elements E] "
		"[--compare OTHER-NFQD] [--perf DIR] [--out DIR] [--quick]\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "packets", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "elements", required_argument, NULL, 'e' },
		{ "compare", required_argument, NULL, 'c' },
		{ "perf", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "quick", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	/* [contender][run] */
	static double pps[4][MAX_RUNS], cpu[4][MAX_RUNS], ratio[4][MAX_RUNS];
	static double nfqd_ns[4][MAX_RUNS], cost[4][MAX_RUNS];
	unsigned long n = 50000, elements = 100000;
	int runs = 5, c, nc;
	const char *perf_dir = NULL, *out_dir = NULL;
	struct setup s = { .sinks = { -1, -1, -1 } };
	FILE *tsv = NULL;
	int ret = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'e':
			elements = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			s.other = optarg;
			break;
		case 'p':
			perf_dir = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'q':
			n = 3000;
			runs = 1;
			elements = 2000;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (n < 100 || n > 60000 || runs < 1 || runs > MAX_RUNS || elements == 0 ||
	    elements > 4000000) {
		usage();
		return 2;
	}
	if (s.other && access(s.other, X_OK) != 0) {
		fprintf(stderr, "bench_rules: cannot run '%s': %s\n", s.other, strerror(errno));
		return 2;
	}
	nc = s.other ? 4 : 2;
	if (out_dir) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/rules.tsv", out_dir);
		tsv = fopen(path, "w");
		if (!tsv) {
			fprintf(stderr, "bench_rules: cannot write '%s': %s\n", path,
				strerror(errno));
			return 2;
		}
		fprintf(tsv,
			"# round\tcontender\tpackets/s\tcpu_us_per_packet\tnfqd_ns_per_packet\n");
	}
	if (setup_create(&s, elements) < 0)
		goto out;

	for (int i = 0; i < runs; i++) {
		for (int k = 0; k < nc; k++) {
			struct drain d;

			if (!drain_once(&s, &all_contenders[k], n, NULL, 1, &d))
				goto out;
			pps[k][i] = d.pps;
			cpu[k][i] = d.cpu_us;
			nfqd_ns[k][i] = d.nfqd_ns;
			if (tsv)
				fprintf(tsv, "%d\t%s\t%.0f\t%.3f\t%.1f\n", i,
					all_contenders[k].name, d.pps, d.cpu_us, d.nfqd_ns);
		}
		/* each build's contenders against that build's accept-all of the same round */
		for (int k = 0; k < nc; k++) {
			ratio[k][i] = pps[k][i] / pps[k & ~1][i];
			cost[k][i] = nfqd_ns[k & ~1][i] / nfqd_ns[k][i];
		}
	}

	printf("### Rule cost: drain of %lu queued UDP packets (IPv4 and IPv6), 20 rules with 2 "
	       "set rules on a %lu-entry ipset answered by mark bits, against accept-all\n\n",
	       n, elements);
	printf("Median of %d rounds (min-max), contenders alternating in each round. Ratios are to "
	       "accept-all of the same build in the same round: of packets/s, and of nfqd's CPU "
	       "time per packet (its threads' run time, the kernel's work in them included; "
	       "accept-all's over the contender's, so that higher is better in both). Machine "
	       "CPU: non-idle time of the whole machine per packet.\n\n",
	       runs);
	printf("| contender | packets/s | ratio | nfqd CPU per packet (ns) | ratio | machine CPU "
	       "per packet (us) |\n");
	printf("|---|---|---|---|---|---|\n");
	for (int k = 0; k < nc; k++)
		printf("| %s | %.0f (%.0f-%.0f) | %.3f (%.3f-%.3f) | %.0f (%.0f-%.0f) | %.3f "
		       "(%.3f-%.3f) | %.2f (%.2f-%.2f) |\n",
		       all_contenders[k].name, median_of(pps[k], runs), min_of(pps[k], runs),
		       max_of(pps[k], runs), median_of(ratio[k], runs), min_of(ratio[k], runs),
		       max_of(ratio[k], runs), median_of(nfqd_ns[k], runs),
		       min_of(nfqd_ns[k], runs), max_of(nfqd_ns[k], runs), median_of(cost[k], runs),
		       min_of(cost[k], runs), max_of(cost[k], runs), median_of(cpu[k], runs),
		       min_of(cpu[k], runs), max_of(cpu[k], runs));
	if (s.other)
		printf("\nCompared build: %s\n", s.other);
	fflush(stdout);

	if (perf_dir) {
		for (int k = 0; k < nc; k++) {
			char path[4096];
			struct drain d;

			snprintf(path, sizeof(path), "%s/%s%s.data", perf_dir,
				 all_contenders[k].policy ? "policy" : "accept-all",
				 all_contenders[k].other ? "-compared" : "");
			if (!drain_once(&s, &all_contenders[k], n, path, PERF_DRAINS, &d))
				goto out;
			printf("profile of %s: %s\n", all_contenders[k].name, path);
		}
	}
	ret = 0;
out:
	if (tsv)
		fclose(tsv);
	setup_destroy(&s);
	return ret;
}
