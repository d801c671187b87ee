/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqctl: the operator's client of nfqd's control socket. Sends one command, prints the JSON
 * answer on stdout; an error answer goes to stderr with exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "config.h"

#define REPLY_MAX	(4u << 20)
#define TIMEOUT_SECONDS 5

static void usage(FILE *f)
{
	fprintf(f, "Usage: nfqctl [-s SOCKET] COMMAND\n"
		   "Talk to a running nfqd through its control socket.\n"
		   "\n"
		   "Commands:\n"
		   "  stats   counters per queue and in total, as JSON\n"
		   "\n"
		   "Options:\n"
		   "  -s, --socket PATH  control socket (default " CONFIG_DEFAULT_CONTROL ")\n"
		   "  -h, --help         show this help\n");
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TIMEOUT_SECONDS };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "nfqctl: socket path '%s' is too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(stderr, "nfqctl: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		int e = errno;

		fprintf(stderr, "nfqctl: cannot connect to %s: %s%s\n", path, strerror(e),
			e == ENOENT || e == ECONNREFUSED ? " (is nfqd running?)" : "");
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_CONTROL;
	char req[300];
	char *reply;
	size_t len = 0;
	int c, fd;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
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
	if (optind != argc - 1) {
		fprintf(stderr, "nfqctl: %s\nTry 'nfqctl --help'.\n",
			optind >= argc ? "missing command" : "one command at a time");
		return 2;
	}
	if (strcmp(argv[optind], "stats") != 0) {
		fprintf(stderr, "nfqctl: unknown command '%s' (commands: stats)\n", argv[optind]);
		return 2;
	}
	snprintf(req, sizeof(req), "%s\n", argv[optind]);

	fd = connect_to(path);
	if (fd < 0)
		return 1;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) == -1) {
		fprintf(stderr, "nfqctl: cannot send to %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	reply = malloc(REPLY_MAX + 1);
	if (!reply) {
		fprintf(stderr, "nfqctl: out of memory\n");
		close(fd);
		return 1;
	}
	for (;;) {
		ssize_t n = recv(fd, reply + len, REPLY_MAX - len, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "nfqctl: no answer from %s: %s\n", path, strerror(errno));
			free(reply);
			close(fd);
			return 1;
		}
		if (n == 0 || len + (size_t)n == REPLY_MAX) {
			len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	reply[len] = '\0';
	if (len == 0) {
		fprintf(stderr, "nfqctl: %s closed the connection without an answer\n", path);
		free(reply);
		return 1;
	}
	if (strncmp(reply, "{\"error\":", 9) == 0) {
		fprintf(stderr, "nfqctl: nfqd answered: %s", reply);
		free(reply);
		return 1;
	}
	fputs(reply, stdout);
	free(reply);
	return 0;
}
