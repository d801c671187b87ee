/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "control.h"
#include "log.h"
#include "strbuf.h"

/* Connections taken from the backlog per wake-up, so that a flood cannot starve the loop. */
#define ACCEPT_BATCH 64
/*
 * Clients' events come after the daemon's own (signals, worker failures, interface changes,
 * and accepting new clients, at the default priority): a SIGTERM waits for one reply at most,
 * and a new client is taken or refused busy before the replies of those taken are rendered.
 */
#define CLIENT_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 10)

struct client;

struct control {
	sd_event *ev;
	sd_event_source *listen_src;
	int fd;
	char *path;
	dev_t dev; /* the socket file we bound, removed at close only if still there */
	ino_t ino;
	control_handler *fn;
	void *user;
	struct client *clients;
	unsigned int n_clients;
	size_t reply_bytes; /* replies not yet written, all clients together */
};

struct client {
	struct control *ctl;
	struct client *next;
	int fd;
	sd_event_source *io;
	sd_event_source *timer;
	struct command_peer peer;
	size_t len;
	char buf[CONTROL_REQUEST_MAX];
	char *out; /* the reply, newline included; NULL while the request is read */
	size_t out_len, out_off;
	bool taken; /* the handler took the connection over (control_take()) */
};

char *control_error_json(const char *msg, bool busy)
{
	struct strbuf b = { 0 };

	strbuf_printf(&b, "{\"error\":");
	strbuf_json_string(&b, msg);
	strbuf_printf(&b, "%s}", busy ? ",\"busy\":true" : "");
	return strbuf_steal(&b);
}

enum control_request control_request_parse(const char *buf, size_t len, bool eof, char *cmd,
					   size_t cmdlen, char *err, size_t errlen)
{
	const char *nl = memchr(buf, '\n', len);
	size_t start = 0, end = nl ? (size_t)(nl - buf) : len;

	if ((!nl && len >= CONTROL_REQUEST_MAX) || end + 1 > CONTROL_REQUEST_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CONTROL_REQUEST_MAX);
		return CONTROL_REQUEST_BAD;
	}
	if (!nl && !eof)
		return CONTROL_REQUEST_INCOMPLETE;
	while (end > start && (buf[end - 1] == '\r' || buf[end - 1] == ' ' || buf[end - 1] == '\t'))
		end--;
	while (start < end && (buf[start] == ' ' || buf[start] == '\t'))
		start++;
	for (size_t i = start; i < end; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\0') {
			snprintf(err, errlen, "request holds a NUL byte (at byte %zu)", i);
			return CONTROL_REQUEST_BAD;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(err, errlen, "request holds control characters");
			return CONTROL_REQUEST_BAD;
		}
		/* Echoed in error answers, the line must stay valid UTF-8: ASCII only. */
		if (c > 0x7f) {
			snprintf(err, errlen,
				 "request holds byte 0x%02x (at byte %zu), which is not printable "
				 "ASCII",
				 c, i);
			return CONTROL_REQUEST_BAD;
		}
	}
	if (end - start >= cmdlen) {
		snprintf(err, errlen, "request longer than %zu bytes", cmdlen - 1);
		return CONTROL_REQUEST_BAD;
	}
	memcpy(cmd, buf + start, end - start);
	cmd[end - start] = '\0';
	return CONTROL_REQUEST_OK;
}

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
	if (cl->out)
		ctl->reply_bytes -= cl->out_len;
	sd_event_source_disable_unref(cl->io);
	sd_event_source_disable_unref(cl->timer);
	if (!cl->taken)
		close(cl->fd);
	free(cl->out);
	free(cl);
}

int control_take(struct client *cl)
{
	if (!cl || cl->taken)
		return -EBADF;
	cl->taken = true;
	/* the new owner watches the socket itself: epoll takes an fd once */
	cl->io = sd_event_source_disable_unref(cl->io);
	return cl->fd;
}

/*
 * Write what the socket takes now. Returns 1 when the reply is all written, 0 when the rest
 * waits for EPOLLOUT, -errno when the client is gone.
 */
static int client_flush(struct client *cl)
{
	return control_send_some(cl->fd, cl->out, cl->out_len, &cl->out_off);
}

int control_send_some(int fd, const void *buf, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n =
			send(fd, (const char *)buf + *off, len - *off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		*off += (size_t)n;
	}
	return 1;
}

/* Best effort, never blocking: for clients that are dropped right after. */
static void send_now(int fd, const char *json)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)json, .iov_len = strlen(json) },
		{ .iov_base = (void *)"\n", .iov_len = 1 },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	(void)sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void send_error_now(int fd, const char *msg, bool busy)
{
	char *json = control_error_json(msg, busy);

	send_now(fd, json ? json : "{\"error\":\"out of memory\"}");
	free(json);
}

/* Take text (malloc'd JSON, or NULL for out of memory) as cl's reply and start writing it. */
static void client_reply(struct client *cl, char *text)
{
	struct control *ctl = cl->ctl;
	char msg[160];
	size_t len;
	int r;

	if (!text)
		text = strdup("{\"error\":\"out of memory\"}");
	len = text ? strlen(text) + 1 : 0;
	if (text && len > CONTROL_REPLY_MAX) {
		snprintf(msg, sizeof(msg), "the reply of %zu bytes is over the limit of %u bytes",
			 len, CONTROL_REPLY_MAX);
		free(text);
		text = control_error_json(msg, false);
	} else if (text && ctl->reply_bytes + len > CONTROL_REPLY_TOTAL_MAX) {
		snprintf(msg, sizeof(msg),
			 "busy: %zu bytes of replies wait for their clients to read them; try "
			 "again",
			 ctl->reply_bytes);
		free(text);
		text = control_error_json(msg, true);
	}
	if (!text) {
		send_now(cl->fd, "{\"error\":\"out of memory\"}");
		client_free(cl);
		return;
	}
	len = strlen(text);
	text[len++] = '\n'; /* over the NUL: the reply is bytes, not a string */
	cl->out = text;
	cl->out_len = len;
	ctl->reply_bytes += len;
	r = client_flush(cl);
	if (r == 0)
		r = sd_event_source_set_io_events(cl->io, EPOLLOUT);
	if (r != 0)
		client_free(cl);
}

static void client_read(struct client *cl)
{
	char cmd[CONTROL_REQUEST_MAX], err[128], *text;
	enum control_request st;
	ssize_t n;

	n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			client_free(cl);
		return;
	}
	cl->len += (size_t)n;
	st = control_request_parse(cl->buf, cl->len, n == 0, cmd, sizeof(cmd), err, sizeof(err));
	if (st == CONTROL_REQUEST_INCOMPLETE)
		return;
	if (st == CONTROL_REQUEST_BAD) {
		client_reply(cl, control_error_json(err, false));
		return;
	}
	text = cl->ctl->fn(cl->ctl->user, cmd, &cl->peer);
	/* A stream (capture) owns the connection now: no reply, no deadline from here. */
	if (cl->taken) {
		free(text);
		client_free(cl);
		return;
	}
	client_reply(cl, text);
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct client *cl = userdata;

	(void)s;
	(void)fd;
	(void)revents;
	if (!cl->out)
		client_read(cl);
	else if (client_flush(cl) != 0)
		client_free(cl);
	return 0;
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct client *cl = userdata;

	(void)s;
	(void)usec;
	/* A client still writing its request is told why; one that does not read its reply is
	 * dropped, what it did not read with it. */
	if (!cl->out)
		send_error_now(cl->fd, "no complete request within the deadline of the exchange",
			       false);
	log_debug("control client pid %d uid %u dropped: exchange not done within %d s",
		  (int)cl->peer.pid, (unsigned int)cl->peer.uid, CONTROL_EXCHANGE_TIMEOUT_S);
	client_free(cl);
	return 0;
}

/* Refuse cfd for load: read what it sent (so that closing does not reset the connection
 * before the answer is read), answer busy, close. */
static void refuse_busy(struct control *ctl, int cfd)
{
	char scratch[CONTROL_REQUEST_MAX], msg[128];

	while (recv(cfd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
	snprintf(msg, sizeof(msg), "busy: %u control clients are being served; try again",
		 ctl->n_clients);
	send_error_now(cfd, msg, true);
	close(cfd);
}

static void client_add(struct control *ctl, int cfd)
{
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	struct client *cl;
	uint64_t now;

	if (ctl->n_clients >= CONTROL_MAX_CLIENTS) {
		refuse_busy(ctl, cfd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		send_now(cfd, "{\"error\":\"out of memory\"}");
		close(cfd);
		return;
	}
	cl->ctl = ctl;
	cl->fd = cfd;
	cl->peer.uid = (uid_t)-1;
	cl->peer.gid = (gid_t)-1;
	cl->peer.conn = cl;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
		cl->peer.pid = uc.pid;
		cl->peer.uid = uc.uid;
		cl->peer.gid = uc.gid;
	}
	cl->next = ctl->clients;
	ctl->clients = cl;
	ctl->n_clients++;
	if (sd_event_add_io(ctl->ev, &cl->io, cfd, EPOLLIN, on_client_io, cl) < 0 ||
	    sd_event_source_set_priority(cl->io, CLIENT_PRIORITY) < 0 ||
	    sd_event_now(ctl->ev, CLOCK_MONOTONIC, &now) < 0 ||
	    sd_event_add_time(ctl->ev, &cl->timer, CLOCK_MONOTONIC,
			      now + CONTROL_EXCHANGE_TIMEOUT_S * 1000000ULL, 0, on_client_timeout,
			      cl) < 0 ||
	    sd_event_source_set_priority(cl->timer, CLIENT_PRIORITY) < 0)
		client_free(cl);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct control *ctl = userdata;

	(void)s;
	(void)revents;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd == -1) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning("control socket '%s': cannot accept: %s", ctl->path,
					    strerror(errno));
			break;
		}
		client_add(ctl, cfd);
	}
	return 0;
}

static const char *file_kind(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a socket";
}

static int make_parent_dir(const char *path, char *err, size_t errlen)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *dir;
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", path);
	dir = dirname(buf);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the directory '%s' of control socket '%s': %s",
			 dir, path, strerror(errno));
		return -errno;
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "cannot read the directory '%s' of control socket '%s': %s",
			 dir, path, strerror(errno));
		return -errno;
	}
	/* Anybody could swap the socket for something else there between our checks. */
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "the directory '%s' of control socket '%s' is writable by anybody "
			 "without the sticky bit (mode %04o); put the socket in a directory only "
			 "root can write",
			 dir, path, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/*
 * Make room at sa's path: nothing there, or a socket proven dead (connect() refused), which is
 * removed. Anything else stays and is an error.
 */
static int clear_path(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	const char *path = sa->sun_path;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read control socket path '%s': %s", path,
			 strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "control socket path '%s' is %s, not a socket; nfqd replaces only a stale "
			 "socket: remove it or choose another path",
			 path, file_kind(st.st_mode));
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "cannot probe control socket '%s': %s", path,
			 strerror(errno));
		return -errno;
	}
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ? -errno : 0;
	close(fd);
	if (r == -ECONNREFUSED) {
		if (unlink(path) == -1) {
			snprintf(err, errlen, "cannot remove stale control socket '%s': %s", path,
				 strerror(errno));
			return -errno;
		}
		log_info("removed stale control socket '%s' (nobody listened on it)", path);
		return 0;
	}
	if (r == 0 || r == -EAGAIN) {
		snprintf(err, errlen,
			 "control socket '%s' is in use by another process; is another nfqd "
			 "running?",
			 path);
		return -EADDRINUSE;
	}
	snprintf(err, errlen, "cannot tell whether control socket '%s' is in use: %s", path,
		 strerror(-r));
	return r;
}

/*
 * Bind fd at sa with access's mode and group from the start: the socket inode's mode and the
 * umask make the file's mode, the fs gid its group. Nothing goes through the path after bind,
 * so it cannot be swapped for something else in between. The umask and the fs gid are the
 * process's (the fs gid this thread's): control_open() runs before any worker thread starts.
 */
static int bind_with_access(int fd, const struct sockaddr_un *sa,
			    const struct control_access *access)
{
	mode_t old_mask;
	int old_gid = -1, r;

	if (fchmod(fd, access->mode) == -1)
		return -errno;
	old_mask = umask(~access->mode & 0777);
	if (access->gid != (gid_t)-1)
		old_gid = setfsgid(access->gid);
	r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ? -errno : 0;
	if (old_gid != -1)
		setfsgid((gid_t)old_gid);
	umask(old_mask);
	return r;
}

int control_open(struct control **out, sd_event *ev, const char *path,
		 const struct control_access *access, control_handler *fn, void *user, char *err,
		 size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *ctl;
	struct stat st;
	bool bound = false;
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
	r = make_parent_dir(path, err, errlen);
	if (r == 0)
		r = clear_path(&sa, err, errlen);
	if (r < 0)
		goto err;

	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd == -1) {
		r = -errno;
		snprintf(err, errlen, "cannot create control socket '%s': %s", path, strerror(-r));
		goto err;
	}
	r = bind_with_access(ctl->fd, &sa, access);
	if (r < 0) {
		snprintf(err, errlen, "cannot bind control socket '%s': %s", path, strerror(-r));
		goto err;
	}
	bound = true;
	if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		r = -EIO;
		snprintf(err, errlen, "control socket '%s' vanished after bind", path);
		goto err;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	/* A set-group-ID directory gives its own group instead of ours. */
	if (access->gid != (gid_t)-1 && st.st_gid != access->gid) {
		r = -EPERM;
		snprintf(err, errlen,
			 "control socket '%s' got group %u instead of %u (a set-group-ID "
			 "directory?)",
			 path, (unsigned int)st.st_gid, (unsigned int)access->gid);
		goto err;
	}
	if (listen(ctl->fd, SOMAXCONN) == -1) {
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
	if (ctl->fd != -1)
		close(ctl->fd);
	if (bound)
		(void)unlink(path);
	free(ctl->path);
	free(ctl);
	return r;
}

/* The socket file at path, if it is the one fd listens on (same address): its identity, for
 * control_close() to remove only that file. */
static int inherited_path(int fd, const char *path, struct stat *st)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	int type = 0, listening = 0;
	socklen_t ilen = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ilen) == -1)
		return -errno;
	ilen = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) == -1)
		return -errno;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		return -errno;
	if (sa.sun_family != AF_UNIX || type != SOCK_STREAM || !listening)
		return -EPROTOTYPE;
	if (len <= offsetof(struct sockaddr_un, sun_path) ||
	    strncmp(sa.sun_path, path, len - offsetof(struct sockaddr_un, sun_path)) != 0 ||
	    strlen(path) != strnlen(sa.sun_path, len - offsetof(struct sockaddr_un, sun_path)))
		return -EADDRNOTAVAIL;
	if (lstat(path, st) == -1)
		return -errno;
	return S_ISSOCK(st->st_mode) ? 0 : -ENOTSOCK;
}

int control_bound_path(int fd, char *buf, size_t len)
{
	struct sockaddr_un sa;
	socklen_t sl = sizeof(sa);
	size_t n;

	if (getsockname(fd, (struct sockaddr *)&sa, &sl) == -1)
		return -errno;
	if (sa.sun_family != AF_UNIX || sl <= offsetof(struct sockaddr_un, sun_path))
		return -EPROTOTYPE;
	n = strnlen(sa.sun_path, sl - offsetof(struct sockaddr_un, sun_path));
	if (n == 0 || n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, sa.sun_path, n);
	buf[n] = '\0';
	return 0;
}

int control_adopt(struct control **out, sd_event *ev, int fd, const char *path, control_handler *fn,
		  void *user, char *err, size_t errlen)
{
	struct control *ctl;
	struct stat st;
	int r = inherited_path(fd, path, &st);

	if (r == -EADDRNOTAVAIL) {
		snprintf(err, errlen,
			 "the inherited control socket is not bound at '%s' (the configured path)",
			 path);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "the inherited control socket for '%s' is unusable: %s", path,
			 strerror(-r));
		return r;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(path))) {
		free(ctl);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ctl->ev = ev;
	ctl->fn = fn;
	ctl->user = user;
	ctl->fd = fd;
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	/* Non-blocking, as control_open() makes it: accept4() must never wait. */
	r = fcntl(fd, F_GETFL);
	if (r == -1 || fcntl(fd, F_SETFL, r | O_NONBLOCK) == -1) {
		r = -errno;
		snprintf(err, errlen, "control socket '%s': cannot make it non-blocking: %s", path,
			 strerror(-r));
		goto err;
	}
	r = sd_event_add_io(ev, &ctl->listen_src, fd, EPOLLIN, on_accept, ctl);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch control socket '%s': %s", path, strerror(-r));
		goto err;
	}
	*out = ctl;
	return 0;
err:
	free(ctl->path);
	free(ctl);
	return r;
}

int control_fd(const struct control *ctl)
{
	return ctl->fd;
}

int control_detach(struct control *ctl)
{
	int fd;

	if (!ctl)
		return -EBADF;
	fd = ctl->fd;
	while (ctl->clients)
		client_free(ctl->clients);
	sd_event_source_disable_unref(ctl->listen_src);
	free(ctl->path);
	free(ctl);
	return fd;
}

void control_close(struct control *ctl)
{
	struct stat st;

	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	sd_event_source_disable_unref(ctl->listen_src);
	close(ctl->fd);
	/* Only our own socket: a successor may have bound the path since. */
	if (lstat(ctl->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino)
		(void)unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
