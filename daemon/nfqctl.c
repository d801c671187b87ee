/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqctl: the operator's client of nfqd's control socket. Parses the options common to every
 * sub-command and dispatches to the sub-command's own code (a row of commands[]); the plain
 * ones send one request and print the JSON answer on stdout, an error answer going to stderr
 * with exit status 1.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "nfqctl-client.h"
#include "nfqctl-metrics.h"

/* A plain sub-command: its name is the request, and it takes no argument. */
static int run_plain(const char *socket, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "nfqctl: one command at a time\nTry 'nfqctl --help'.\n");
		return 2;
	}
	return nfqctl_simple(socket, argv[0]);
}

/* metrics: the Prometheus text of nfqd's {"metrics":"TEXT"} answer, printed raw. */
static int run_metrics(const char *socket, int argc, char **argv)
{
	struct json_val doc;
	char *reply;
	int r;

	if (argc > 1) {
		fprintf(stderr, "nfqctl: one command at a time\nTry 'nfqctl --help'.\n");
		return 2;
	}
	r = nfqctl_get(socket, argv[0], &reply, &doc);
	if (r != 0)
		return r;
	r = nfqctl_print_metrics(reply, stdout);
	if (r < 0)
		fprintf(stderr, "nfqctl: the answer of %s is not a metrics text: %s\n", socket,
			strerror(-r));
	free(reply);
	return r < 0 ? 1 : 0;
}

static const struct nfqctl_command commands[] = {
	{ "stats", "stats\n    counters per queue and in total, as JSON", run_plain },
	{ "status",
	  "status\n    the ruleset in force: its generation, when and from which file it was\n"
	  "    loaded, the last reload's result and message",
	  run_plain },
	{ "reload",
	  "reload\n    read the configuration again and apply it (as SIGHUP does); answers the\n"
	  "    new generation, or the error (FILE:LINE) with the old ruleset still in force",
	  run_plain },
	{ "upgrade",
	  "upgrade\n    re-execute nfqd's binary (a new version, if installed), handing the\n"
	  "    queues over without losing a packet; same pid",
	  run_plain },
	{ "metrics", "metrics\n    the counters in Prometheus' text format (not JSON)",
	  run_metrics },
	{ "rules",
	  "rules [--json]\n    the rules as compiled, with their counters, each set term and how "
	  "it is\n"
	  "    answered (mark bit of the generated chain, IPSET_CMD_TEST); --json: as nfqd\n"
	  "    answers it",
	  nfqctl_rules },
	{ "explain",
	  "explain [--json] PROTO SRC > DST [iif NAME] [oif NAME] [mark V] [ctmark V] [queue N]\n"
	  "    which rule such a packet would hit now, and why, its sets asked of the kernel;\n"
	  "    e.g. explain tcp 192.0.2.1:1234 '>' 198.51.100.7:443 iif eth0",
	  nfqctl_explain },
	{ "top",
	  "top [-d SECONDS] [--once] [--json]\n    a live view refreshed every interval (1 s): per "
	  "queue packets/s and the\n"
	  "    verdict mix, kernel drops/s, the batch sizes of the interval, the busiest\n"
	  "    rules; q or Ctrl-C quits. --once: one plain frame (two samples one\n"
	  "    interval apart); --json: the same figures as JSON, one object a line",
	  nfqctl_top },
	{ "capture",
	  "capture [-q QUEUE] [--verdict WORD] [--rule N|default] [-c COUNT] -w FILE\n"
	  "    write the verdicted packets to a pcap file (nfqctl capture --help);\n"
	  "    root and nfqd's own user only",
	  nfqctl_capture },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: nfqctl [-s SOCKET] COMMAND [ARGS]\n"
		   "Talk to a running nfqd through its control socket.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].summary);
	fprintf(f, "\n"
		   "Options:\n"
		   "  -s, --socket PATH  control socket (default " CONFIG_DEFAULT_CONTROL ")\n"
		   "  -h, --help         show this help\n"
		   "\n"
		   "Exit status: 0 answered; 1 nfqd answered an error, or no valid answer came\n"
		   "(nfqd not running, permission denied, busy until the deadline, a reply cut\n"
		   "short or not JSON); 2 bad command line.\n");
}

static void unknown_command(const char *name)
{
	fprintf(stderr, "nfqctl: unknown command '%s' (commands: ", name);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", commands[i].name);
	fprintf(stderr, ")\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_CONTROL;
	int c;

	opterr = 0;
	/* '+': the options of nfqctl end at the command; the rest are the command's own */
	while ((c = getopt_long(argc, argv, "+:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "nfqctl: option '%s' needs an argument\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "nfqctl: unknown option '%s'\nTry 'nfqctl --help'.\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "nfqctl: missing command\nTry 'nfqctl --help'.\n");
		return 2;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			/* the sub-command parses its own options from its name on */
			argv += optind;
			argc -= optind;
			optind = 0;
			return commands[i].run(path, argc, argv);
		}
	}
	unknown_command(argv[optind]);
	return 2;
}
