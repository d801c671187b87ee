/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
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

#include "json.h"
#include "nfqctl-client.h"

#define REPLY_MAX     (4u << 20)
#define BUSY_RETRY_MS 200

/* Where one request says why it failed. */
struct why {
	char *s;
	size_t len;
};

static void say(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct why *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->s, w->len, fmt, ap);
	va_end(ap);
}

long long nfqctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void explain_connect_error(struct why *w, const char *path, int e)
{
	struct stat st;
	struct group *g;

	if (e == EACCES && stat(path, &st) == 0) {
		g = getgrgid(st.st_gid);
		say(w,
		    "cannot connect to %s: permission denied: the socket is mode %04o, group '%s'; "
		    "nfqd.conf's [daemon] control-group and control-mode say who may connect",
		    path, (unsigned int)(st.st_mode & 07777), g ? g->gr_name : "?");
		return;
	}
	say(w, "cannot connect to %s: %s%s", path, strerror(e),
	    e == ENOENT || e == ECONNREFUSED ? " (is nfqd running?)" : "");
}

/* Refuse a path that exists but is no socket, naming what it is. */
static int check_is_socket(struct why *w, const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1 || S_ISSOCK(st.st_mode))
		return 0; /* connect() tells the rest */
	say(w, "%s is %s, not a socket", path,
	    S_ISREG(st.st_mode)	  ? "a regular file"
	    : S_ISDIR(st.st_mode) ? "a directory"
				  : "not a socket either");
	return -1;
}

static int connect_to(struct why *w, const char *path, long long deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long left = deadline - nfqctl_now_ms();
	struct timeval tv = { .tv_sec = left > 0 ? left / 1000 : 0,
			      .tv_usec = left > 0 ? left % 1000 * 1000 : 1 };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		say(w, "socket path '%s' is too long", path);
		return -1;
	}
	if (check_is_socket(w, path) < 0)
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		say(w, "socket: %s", strerror(errno));
		return -1;
	}
	/* A blocking connect waits, up to the deadline, while nfqd's backlog is full. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (errno == EINTR)
			continue;
		explain_connect_error(w, path, errno == EAGAIN ? ETIMEDOUT : errno);
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		say(w, "fcntl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int nfqctl_connect(const char *path, long long deadline)
{
	char msg[512];
	struct why w = { msg, sizeof(msg) };
	int fd = connect_to(&w, path, deadline);

	if (fd < 0)
		fprintf(stderr, "nfqctl: %s\n", msg);
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
 * (newline included) in reply[], or -1 with the reason said. A peer that closed its side early
 * (EPIPE) may still have answered: the reply is read anyway.
 */
static long exchange(struct why *w, const char *path, const char *req, char *reply,
		     long long deadline)
{
	size_t len = 0, sent = 0, reqlen = strlen(req);
	int fd = connect_to(w, path, deadline);

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
			say(w, "cannot send to %s: %s", path,
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
			say(w, "no answer from %s: %s", path,
			    errno == EAGAIN ? "timed out" : strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return (long)len;
}

/* Check a reply: whole (final newline), one JSON value. Returns 0, or -1 with why said. */
static int check_reply(struct why *w, const char *path, const char *reply, size_t len)
{
	const char *why;
	size_t at;

	if (len == 0) {
		say(w, "%s closed the connection without an answer", path);
		return -1;
	}
	if (len >= REPLY_MAX) {
		say(w, "the answer of %s is longer than %u bytes", path, REPLY_MAX);
		return -1;
	}
	if (reply[len - 1] != '\n') {
		say(w,
		    "the answer of %s was cut short after %zu bytes (the connection closed before "
		    "its final newline)",
		    path, len);
		return -1;
	}
	if (json_validate(reply, len - 1, &at, &why) < 0) {
		say(w, "the answer of %s is not valid JSON: %s at byte %zu", path, why, at);
		return -1;
	}
	return 0;
}

bool nfqctl_is_error(const char *reply)
{
	return strncmp(reply, "{\"error\":", 9) == 0;
}

int nfqctl_request(const char *socket, const char *line, long timeout_ms, char **reply, char *err,
		   size_t errlen)
{
	long long deadline = nfqctl_now_ms() + timeout_ms;
	struct why w = { .s = err, .len = errlen };
	char *req = NULL, *buf;
	long len;

	*reply = NULL;
	buf = malloc(REPLY_MAX + 1);
	if (!buf || asprintf(&req, "%s\n", line) < 0) {
		free(buf);
		say(&w, "out of memory");
		return -1;
	}
	for (;;) {
		len = exchange(&w, socket, req, buf, deadline);
		if (len < 0 || check_reply(&w, socket, buf, (size_t)len) < 0) {
			free(req);
			free(buf);
			return -1;
		}
		buf[len - 1] = '\0';
		/* Busy: nfqd serves as many clients as it may; a slot frees within its
		 * exchange deadline. */
		if (!nfqctl_is_error(buf) || !strstr(buf, ",\"busy\":true}") ||
		    nfqctl_now_ms() + BUSY_RETRY_MS >= deadline)
			break;
		usleep(BUSY_RETRY_MS * 1000);
	}
	free(req);
	*reply = buf;
	return 0;
}

/* The answer to line in *reply, or exit status 1 with why printed and *reply NULL. */
static int nfqctl_simple_checked(const char *socket, const char *line, char **reply)
{
	char err[512];

	if (nfqctl_request(socket, line, NFQCTL_TIMEOUT_MS, reply, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqctl: %s\n", err);
		return 1;
	}
	if (nfqctl_is_error(*reply)) {
		fprintf(stderr, "nfqctl: nfqd answered: %s\n", *reply);
		free(*reply);
		*reply = NULL;
		return 1;
	}
	return 0;
}

int nfqctl_simple(const char *socket, const char *line)
{
	char *reply;
	int r = nfqctl_simple_checked(socket, line, &reply);

	if (r != 0)
		return r;
	printf("%s\n", reply);
	free(reply);
	return 0;
}

int nfqctl_get(const char *socket, const char *line, char **reply, struct json_val *doc)
{
	int r = nfqctl_simple_checked(socket, line, reply);

	if (r != 0)
		return r;
	/* checked by nfqctl_request(): one JSON value */
	json_parse(*reply, strlen(*reply), doc, NULL);
	return 0;
}

int nfqctl_json_option(const char *cmd, int argc, char **argv, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	*json = false;
	while ((c = getopt_long(argc, argv, "+j", opts, NULL)) != -1) {
		if (c != 'j') {
			fprintf(stderr, "nfqctl: %s: unknown option '%s'\n", cmd, argv[optind - 1]);
			return -1;
		}
		*json = true;
	}
	return 0;
}
