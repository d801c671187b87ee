/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqctl: the operator's client of nfqd's control socket. Sends one command, prints the JSON
 * answer on stdout; an error answer goes to stderr with exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include "config.h"
#include "json.h"
#include "nfqctl-metrics.h"
#include "nfqctl.h"

#define REPLY_MAX (4u << 20)
/* Whole run, busy retries included: longer than nfqd's deadline for one exchange, so that a
 * slot held by a client that does not read is free again before nfqctl gives up. */
#define TIMEOUT_MS    15000
#define BUSY_RETRY_MS 200

static void usage(FILE *f)
{
	fprintf(f, "Usage: nfqctl [-s SOCKET] COMMAND\n"
		   "Talk to a running nfqd through its control socket.\n"
		   "\n"
		   "Commands:\n"
		   "  stats   counters per queue and in total, as JSON\n"
		   "  status  the ruleset in force: its generation, when and from which file\n"
		   "          it was loaded, the last reload's result and message\n"
		   "  reload  read the configuration again and apply it (as SIGHUP does);\n"
		   "          answers the new generation, or the error (FILE:LINE) with the\n"
		   "          old ruleset still in force\n"
		   "  upgrade re-execute nfqd's binary (a new version, if installed), handing\n"
		   "          the queues over without losing a packet; same pid\n"
		   "  metrics the counters in Prometheus' text format (not JSON)\n"
		   "  capture [-q QUEUE] [--verdict WORD] [--rule N] [-c COUNT] -w FILE\n"
		   "          write the verdicted packets to a pcap file (nfqctl capture --help)\n"
		   "\n"
		   "Options:\n"
		   "  -s, --socket PATH  control socket (default " CONFIG_DEFAULT_CONTROL ")\n"
		   "  -h, --help         show this help\n"
		   "\n"
		   "Exit status: 0 answered; 1 nfqd answered an error, or no valid answer came\n"
		   "(nfqd not running, permission denied, busy until the deadline, a reply cut\n"
		   "short or not JSON); 2 bad command line.\n");
}

long long nfqctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void explain_connect_error(const char *path, int e)
{
	struct stat st;
	struct group *g;

	if (e == EACCES && stat(path, &st) == 0) {
		g = getgrgid(st.st_gid);
		fprintf(stderr,
			"nfqctl: cannot connect to %s: permission denied: the socket is mode %04o, "
			"group '%s'; nfqd.conf's [daemon] control-group and control-mode say who "
			"may connect\n",
			path, (unsigned int)(st.st_mode & 07777), g ? g->gr_name : "?");
		return;
	}
	fprintf(stderr, "nfqctl: cannot connect to %s: %s%s\n", path, strerror(e),
		e == ENOENT || e == ECONNREFUSED ? " (is nfqd running?)" : "");
}

/* Refuse a path that exists but is no socket, naming what it is. */
static int check_is_socket(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1 || S_ISSOCK(st.st_mode))
		return 0; /* connect() tells the rest */
	fprintf(stderr, "nfqctl: %s is %s, not a socket\n", path,
		S_ISREG(st.st_mode)   ? "a regular file"
		: S_ISDIR(st.st_mode) ? "a directory"
				      : "not a socket either");
	return -1;
}

int nfqctl_connect(const char *path, long long deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long left = deadline - nfqctl_now_ms();
	struct timeval tv = { .tv_sec = left > 0 ? left / 1000 : 0,
			      .tv_usec = left > 0 ? left % 1000 * 1000 : 1 };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "nfqctl: socket path '%s' is too long\n", path);
		return -1;
	}
	if (check_is_socket(path) < 0)
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(stderr, "nfqctl: socket: %s\n", strerror(errno));
		return -1;
	}
	/* A blocking connect waits, up to the deadline, while nfqd's backlog is full. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (errno == EINTR)
			continue;
		explain_connect_error(path, errno == EAGAIN ? ETIMEDOUT : errno);
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		fprintf(stderr, "nfqctl: fcntl: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait for fd to be ready for events until deadline; 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - nfqctl_now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR)
			return 0;
	}
}

/*
 * One exchange: send req, read the reply up to its final newline. Returns the reply length
 * (newline included) in reply[], or -1 with the reason printed. A peer that closed its side
 * early (EPIPE) may still have answered: the reply is read anyway.
 */
static long exchange(const char *path, const char *req, char *reply, long long deadline)
{
	size_t len = 0, sent = 0, reqlen = strlen(req);
	int fd = nfqctl_connect(path, deadline);

	if (fd < 0)
		return -1;
	while (sent < reqlen) {
		ssize_t n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);

		if (n >= 0) {
			sent += (size_t)n;
		} else if (errno == EPIPE || errno == ECONNRESET) {
			break;
		} else if (errno == EAGAIN && wait_fd(fd, POLLOUT, deadline)) {
			continue;
		} else if (errno != EINTR) {
			fprintf(stderr, "nfqctl: cannot send to %s: %s\n", path,
				errno == EAGAIN ? "timed out" : strerror(errno));
			close(fd);
			return -1;
		}
	}
	while (len == 0 || reply[len - 1] != '\n') {
		ssize_t n = recv(fd, reply + len, REPLY_MAX - len, 0);

		if (n > 0) {
			len += (size_t)n;
			if (len == REPLY_MAX)
				break;
		} else if (n == 0 || errno == ECONNRESET) {
			break;
		} else if (errno == EAGAIN && wait_fd(fd, POLLIN, deadline)) {
			continue;
		} else if (errno != EINTR) {
			fprintf(stderr, "nfqctl: no answer from %s: %s\n", path,
				errno == EAGAIN ? "timed out" : strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return (long)len;
}

/* Check a reply: whole (final newline), one JSON value. Returns 0, or -1 with why printed. */
static int check_reply(const char *path, const char *reply, size_t len)
{
	const char *why;
	size_t at;

	if (len == 0) {
		fprintf(stderr, "nfqctl: %s closed the connection without an answer\n", path);
		return -1;
	}
	if (len >= REPLY_MAX) {
		fprintf(stderr, "nfqctl: the answer of %s is longer than %u bytes\n", path,
			REPLY_MAX);
		return -1;
	}
	if (reply[len - 1] != '\n') {
		fprintf(stderr,
			"nfqctl: the answer of %s was cut short after %zu bytes (the connection "
			"closed before its final newline)\n",
			path, len);
		return -1;
	}
	if (json_validate(reply, len - 1, &at, &why) < 0) {
		fprintf(stderr, "nfqctl: the answer of %s is not valid JSON: %s at byte %zu\n",
			path, why, at);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_CONTROL;
	long long deadline = nfqctl_now_ms() + TIMEOUT_MS;
	char req[300];
	char *reply;
	long len;
	int c;

	opterr = 0;
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
	/* a sub-command with options of its own */
	if (optind < argc && strcmp(argv[optind], "capture") == 0)
		return nfqctl_capture(path, argc - optind, argv + optind);
	if (optind != argc - 1) {
		fprintf(stderr, "nfqctl: %s\nTry 'nfqctl --help'.\n",
			optind >= argc ? "missing command" : "one command at a time");
		return 2;
	}
	if (strcmp(argv[optind], "stats") != 0 && strcmp(argv[optind], "status") != 0 &&
	    strcmp(argv[optind], "reload") != 0 && strcmp(argv[optind], "upgrade") != 0 &&
	    strcmp(argv[optind], "metrics") != 0) {
		fprintf(stderr,
			"nfqctl: unknown command '%s' (commands: stats, status, reload, upgrade, "
			"metrics, capture)\n",
			argv[optind]);
		return 2;
	}
	snprintf(req, sizeof(req), "%s\n", argv[optind]);

	reply = malloc(REPLY_MAX + 1);
	if (!reply) {
		fprintf(stderr, "nfqctl: out of memory\n");
		return 1;
	}
	for (;;) {
		len = exchange(path, req, reply, deadline);
		if (len < 0 || check_reply(path, reply, (size_t)len) < 0) {
			free(reply);
			return 1;
		}
		reply[len] = '\0';
		/* Busy: nfqd serves as many clients as it may; a slot frees within its
		 * exchange deadline. */
		if (strncmp(reply, "{\"error\":", 9) != 0 || !strstr(reply, ",\"busy\":true}") ||
		    nfqctl_now_ms() + BUSY_RETRY_MS >= deadline)
			break;
		usleep(BUSY_RETRY_MS * 1000);
	}
	if (strncmp(reply, "{\"error\":", 9) == 0) {
		fprintf(stderr, "nfqctl: nfqd answered: %s", reply);
		free(reply);
		return 1;
	}
	if (strcmp(argv[optind], "metrics") == 0) {
		c = nfqctl_print_metrics(reply, stdout);
		if (c < 0)
			fprintf(stderr, "nfqctl: the answer of %s is not a metrics text: %s\n",
				path, strerror(-c));
		free(reply);
		return c < 0 ? 1 : 0;
	}
	fputs(reply, stdout);
	free(reply);
	return 0;
}
