/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd-traffic: UDP traffic inside network namespaces, for the demo and the benchmarks.
 *
 *   nfqd-traffic send  --ns NS --to ADDR --port P --count N [--size B] [--flows F] [--src LIST]
 *                      [--burst B] [--pause-us U] [--sport P]
 *
 * With --sport every datagram goes from that source port: one flow, the same one again at the
 * next run (as long as conntrack remembers it).
 *   nfqd-traffic sink  --ns NS --port P [--addr A] [--idle-ms M] [--max-ms M]
 *   nfqd-traffic flood --ns NS --to ADDR --port P --seconds S [--size B] [--flows F]
 *                      [--src LIST]
 *
 * Each prints one line of key=value results on stdout.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "traffic.h"

struct args {
	const char *ns, *to, *addr, *src;
	unsigned long port, count, size, flows, burst, pause_us, idle_ms, max_ms, sport;
	double seconds;
};

static void usage(void)
{
	fprintf(stderr,
		"usage:\n"
		"  nfqd-traffic send  --ns NS --to ADDR --port P --count N [--size B] [--flows F]\n"
		"                     [--src A,B,...] [--burst B] [--pause-us U] [--sport P]\n"
		"  nfqd-traffic sink  --ns NS --port P [--addr A] [--idle-ms M] [--max-ms M]\n"
		"  nfqd-traffic flood --ns NS --to ADDR --port P --seconds S [--size B] [--flows "
		"F]\n"
		"                     [--src A,B,...]\n");
	exit(2);
}

static unsigned long num(const char *opt, const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "nfqd-traffic: %s: '%s' is not a number\n", opt, s);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "ns", required_argument, NULL, 'n' },
		{ "to", required_argument, NULL, 't' },
		{ "addr", required_argument, NULL, 'a' },
		{ "src", required_argument, NULL, 'S' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "burst", required_argument, NULL, 'b' },
		{ "pause-us", required_argument, NULL, 'u' },
		{ "idle-ms", required_argument, NULL, 'i' },
		{ "max-ms", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*a = (struct args){ .addr = "0.0.0.0",
			    .size = 64,
			    .flows = 4,
			    .burst = 32,
			    .pause_us = 0,
			    .idle_ms = 500,
			    .max_ms = 60000,
			    .count = 1 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			a->ns = optarg;
			break;
		case 't':
			a->to = optarg;
			break;
		case 'a':
			a->addr = optarg;
			break;
		case 'S':
			a->src = optarg;
			break;
		case 'p':
			a->port = num("--port", optarg);
			break;
		case 'c':
			a->count = num("--count", optarg);
			break;
		case 's':
			a->size = num("--size", optarg);
			break;
		case 'f':
			a->flows = num("--flows", optarg);
			break;
		case 'b':
			a->burst = num("--burst", optarg);
			break;
		case 'u':
			a->pause_us = num("--pause-us", optarg);
			break;
		case 'i':
			a->idle_ms = num("--idle-ms", optarg);
			break;
		case 'm':
			a->max_ms = num("--max-ms", optarg);
			break;
		case 'P':
			a->sport = num("--sport", optarg);
			break;
		case 'd':
			a->seconds = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	if (!a->ns || a->port == 0 || a->port > 65535)
		usage();
}

int main(int argc, char **argv)
{
	struct args a;
	const char *cmd;

	if (argc < 2)
		usage();
	cmd = argv[1];
	parse(argc - 1, argv + 1, &a);

	if (strcmp(cmd, "send") == 0) {
		long long n;

		if (!a.to)
			usage();
		if (a.sport) {
			uint64_t seq = 1;
			int fd = udp_flow_open_from(a.ns, a.src, (uint16_t)a.sport, a.to,
						    (uint16_t)a.port);

			n = fd < 0 ? -1
				   : udp_flow_send(fd, a.count, &seq, (unsigned int)a.burst,
						   (unsigned int)a.pause_us);
			if (fd >= 0)
				close(fd);
			if (n < 0) {
				fprintf(stderr,
					"nfqd-traffic: send from %s port %lu to %s:%lu failed\n",
					a.src ? a.src : "*", a.sport, a.to, a.port);
				return 1;
			}
			printf("sent=%lld\n", n);
			return 0;
		}
		n = udp_send(a.ns, a.src, a.to, (uint16_t)a.port, a.count, a.size,
			     (unsigned int)a.flows, (unsigned int)a.burst,
			     (unsigned int)a.pause_us);
		if (n < 0) {
			fprintf(stderr, "nfqd-traffic: send from %s to %s:%lu failed\n", a.ns, a.to,
				a.port);
			return 1;
		}
		printf("sent=%lld\n", n);
		return 0;
	}
	if (strcmp(cmd, "sink") == 0) {
		int fd = udp_sink_open(a.ns, a.addr, (uint16_t)a.port);

		if (fd < 0) {
			fprintf(stderr, "nfqd-traffic: cannot listen on %s:%lu in %s\n", a.addr,
				a.port, a.ns);
			return 1;
		}
		/* tell a waiting script the sink is listening */
		fprintf(stderr, "listening\n");
		printf("received=%llu\n",
		       (unsigned long long)udp_sink_count(fd, (int)a.idle_ms, (int)a.max_ms));
		close(fd);
		return 0;
	}
	if (strcmp(cmd, "flood") == 0) {
		struct flood f;
		struct timespec t0, t1;
		unsigned long long sent;
		double secs;

		if (!a.to || a.seconds <= 0)
			usage();
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (flood_start(&f, a.ns, a.src, a.to, (uint16_t)a.port, (unsigned int)a.flows,
				a.size) < 0) {
			fprintf(stderr, "nfqd-traffic: cannot flood %s:%lu from %s\n", a.to, a.port,
				a.ns);
			return 1;
		}
		usleep((useconds_t)(a.seconds * 1e6));
		sent = flood_stop(&f);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		printf("sent=%llu seconds=%.3f pps=%.0f\n", sent, secs, (double)sent / secs);
		return 0;
	}
	usage();
	return 2;
}
