/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "control.h"
#include "log.h"
#include "strbuf.h"

#define MAX_CLIENTS	  32
#define CLIENT_TIMEOUT_US (2 * 1000000ULL)
#define REPLY_TIMEOUT_S	  1

struct client;

struct control {
	sd_event *ev;
	sd_event_source *listen_src;
	int fd;
	char *path;
	control_handler *fn;
	void *user;
	struct client *clients;
	unsigned int n_clients;
};

struct client {
	struct control *ctl;
	struct client *next;
	int fd;
	sd_event_source *io;
	sd_event_source *timer;
	size_t len;
	char buf[CONTROL_REQUEST_MAX + 1];
};

static void client_free(struct client *cl)
{
	struct control *ctl = cl->ctl;

	for (struct client **pp = &ctl->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	ctl->n_clients--;
	sd_event_source_disable_unref(cl->io);
	sd_event_source_disable_unref(cl->timer);
	close(cl->fd);
	free(cl);
}

/* Replies are small; the socket is made blocking with a send timeout so that a client that
 * does not read cannot hold the event loop for long. */
static void reply(int fd, const char *text)
{
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	size_t len = strlen(text), off = 0;
	int flags = fcntl(fd, F_GETFL);

	if (flags != -1)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		off += (size_t)n;
	}
	(void)send(fd, "\n", 1, MSG_NOSIGNAL);
}

static void reply_error(int fd, const char *fmt, const char *arg)
{
	struct strbuf b = { 0 };
	char msg[CONTROL_REQUEST_MAX + 128];
	char *text;

	snprintf(msg, sizeof(msg), fmt, arg);
	strbuf_printf(&b, "{\"error\":");
	strbuf_json_string(&b, msg);
	strbuf_printf(&b, "}");
	text = strbuf_steal(&b);
	reply(fd, text ? text : "{\"error\":\"out of memory\"}");
	free(text);
}

static void answer(struct client *cl)
{
	char *cmd = cl->buf;
	char *end;
	char *text;

	cl->buf[cl->len] = '\0';
	end = strchr(cmd, '\n');
	if (end)
		*end = '\0';
	end = cmd + strlen(cmd);
	while (end > cmd && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;

	for (const char *p = cmd; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
			reply_error(cl->fd, "%s", "request holds control characters");
			return;
		}
	}
	text = cl->ctl->fn(cl->ctl->user, cmd);
	if (!text) {
		reply(cl->fd, "{\"error\":\"out of memory\"}");
		return;
	}
	reply(cl->fd, text);
	free(text);
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct client *cl = userdata;

	(void)s;
	(void)usec;
	reply_error(cl->fd, "%s", "no request within 2 seconds");
	client_free(cl);
	return 0;
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct client *cl = userdata;
	ssize_t n;

	(void)s;
	(void)revents;
	n = recv(fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		client_free(cl);
		return 0;
	}
	cl->len += (size_t)n;
	if (n > 0 && !memchr(cl->buf, '\n', cl->len)) {
		if (cl->len < sizeof(cl->buf) - 1)
			return 0;
		reply_error(cl->fd, "request longer than %s bytes", "256");
		client_free(cl);
		return 0;
	}
	/* A newline, or the client closed its side: answer what came. */
	answer(cl);
	client_free(cl);
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct control *ctl = userdata;
	struct client *cl;
	uint64_t now;
	int cfd;

	(void)s;
	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd == -1)
		return 0;
	if (ctl->n_clients >= MAX_CLIENTS) {
		reply_error(cfd, "%s", "too many control clients at once; try again");
		close(cfd);
		return 0;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(cfd);
		return 0;
	}
	cl->ctl = ctl;
	cl->fd = cfd;
	cl->next = ctl->clients;
	ctl->clients = cl;
	ctl->n_clients++;
	if (sd_event_add_io(ctl->ev, &cl->io, cfd, EPOLLIN, on_client_io, cl) < 0 ||
	    sd_event_now(ctl->ev, CLOCK_MONOTONIC, &now) < 0 ||
	    sd_event_add_time(ctl->ev, &cl->timer, CLOCK_MONOTONIC, now + CLIENT_TIMEOUT_US, 0,
			      on_client_timeout, cl) < 0)
		client_free(cl);
	return 0;
}

/* A socket file with a listener behind it belongs to a running daemon. */
static int socket_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd == -1)
		return 0;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return r;
}

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -errno;
	return 0;
}

int control_open(struct control **out, sd_event *ev, const char *path, control_handler *fn,
		 void *user, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *ctl;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ctl->ev = ev;
	ctl->fn = fn;
	ctl->user = user;
	ctl->fd = -1;
	ctl->path = strdup(path);
	if (!ctl->path) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto err;
	}

	r = make_parent_dir(path);
	if (r < 0) {
		snprintf(err, errlen, "cannot create the directory of control socket '%s': %s",
			 path, strerror(-r));
		goto err;
	}
	if (socket_in_use(&sa)) {
		r = -EADDRINUSE;
		snprintf(err, errlen,
			 "control socket '%s' is in use by another process; is another nfqd "
			 "running?",
			 path);
		goto err;
	}
	(void)unlink(path);

	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd == -1 || bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    chmod(path, 0660) == -1 || listen(ctl->fd, 16) == -1) {
		r = -errno;
		snprintf(err, errlen, "cannot listen on control socket '%s': %s", path,
			 strerror(-r));
		goto err;
	}
	r = sd_event_add_io(ev, &ctl->listen_src, ctl->fd, EPOLLIN, on_accept, ctl);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch control socket '%s': %s", path, strerror(-r));
		goto err;
	}
	*out = ctl;
	return 0;
err:
	if (ctl->fd != -1) {
		close(ctl->fd);
		if (r != -EADDRINUSE)
			(void)unlink(path);
	}
	free(ctl->path);
	free(ctl);
	return r;
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	sd_event_source_disable_unref(ctl->listen_src);
	close(ctl->fd);
	(void)unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
