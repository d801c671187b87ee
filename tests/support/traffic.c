/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "netns.h"
#include "rawsend.h"
#include "traffic.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int make_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	return -1;
}

/* A socket created inside ns. */
static int socket_in(const char *ns, int family, int type)
{
	int h = ns_enter(ns);
	int fd;

	if (h < 0)
		return -1;
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	ns_leave(h);
	return fd;
}

long long raw_ip_send(const char *ns, const void *pkt, size_t len, unsigned long count,
		      unsigned int pause_us)
{
	const uint8_t *ip = pkt;
	int fd, r = 0;

	if (len < 1 || (ip[0] >> 4 != 4 && ip[0] >> 4 != 6))
		return -EINVAL;
	fd = raw_ip_open(ns, ip[0] >> 4);
	if (fd < 0)
		return fd;
	for (unsigned long i = 0; i < count && r == 0; i++) {
		r = raw_fd_send(fd, pkt, len);
		if (pause_us && i % 32 == 31)
			usleep(pause_us);
	}
	close(fd);
	return r < 0 ? r : (long long)count;
}

int udp_sink_open(const char *ns, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = make_addr(addr, port, &ss, &len);
	int size = 64 << 20;
	int fd;

	if (family < 0)
		return -1;
	fd = socket_in(ns, family, SOCK_DGRAM | SOCK_NONBLOCK);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

uint64_t udp_sink_count(int fd, int idle_ms, int max_ms)
{
	struct mmsghdr msgs[64];
	struct iovec iov[64];
	static char bufs[64][2048];
	long long start = now_ms(), last = start;
	uint64_t count = 0;

	for (int i = 0; i < 64; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int n = recvmmsg(fd, msgs, 64, MSG_DONTWAIT, NULL);
		long long t = now_ms();

		if (n > 0) {
			count += (uint64_t)n;
			last = t;
			continue;
		}
		if (t - last >= idle_ms || t - start >= max_ms)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, 10);
	}
	return count;
}

uint64_t udp_sink_wait(int fd, uint64_t want, int max_ms)
{
	long long start = now_ms();
	uint64_t count = 0;

	/* Until want arrived or the deadline, then whatever more is already there: a test that
	 * expects fewer than came sees the extra ones. */
	for (;;) {
		uint64_t got = udp_sink_count(fd, 0, 0);
		long long t = now_ms();

		count += got;
		if (count >= want) {
			count += udp_sink_count(fd, 0, 0);
			return count;
		}
		if (t - start >= max_ms)
			return count;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, 10);
	}
}

static void *sink_main(void *arg)
{
	struct sink_thread *s = arg;

	while (!atomic_load(&s->stop))
		atomic_fetch_add(&s->count, udp_sink_count(s->fd, 50, 100));
	return NULL;
}

int sink_thread_start(struct sink_thread *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	if (pthread_create(&s->thread, NULL, sink_main, s) != 0)
		return -1;
	s->running = 1;
	return 0;
}

unsigned long long sink_thread_stop_at(struct sink_thread *s, unsigned long long want, int max_ms)
{
	unsigned long long got;

	if (s->running) {
		atomic_store(&s->stop, 1);
		pthread_join(s->thread, NULL);
		s->running = 0;
	}
	got = atomic_load(&s->count);
	if (got < want)
		got += udp_sink_wait(s->fd, want - got, max_ms);
	else
		got += udp_sink_count(s->fd, 0, 0);
	atomic_store(&s->count, got);
	return got;
}

unsigned long long sink_thread_stop(struct sink_thread *s, int idle_ms)
{
	if (s->running) {
		atomic_store(&s->stop, 1);
		pthread_join(s->thread, NULL);
		s->running = 0;
	}
	atomic_fetch_add(&s->count, udp_sink_count(s->fd, idle_ms, 30000));
	return atomic_load(&s->count);
}

unsigned long long udp_rcvbuf_errors(const char *ns)
{
	int h = ns_enter(ns);
	FILE *f;
	char names[1024], values[1024];
	unsigned long long r = 0;

	if (h < 0)
		return 0;
	f = fopen("/proc/thread-self/net/snmp", "re");
	ns_leave(h);
	if (!f)
		return 0;
	/* "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors ..." then the values */
	while (fgets(names, sizeof(names), f)) {
		char *np, *vp, *nsave, *vsave;

		if (strncmp(names, "Udp:", 4) != 0 || !fgets(values, sizeof(values), f))
			continue;
		np = strtok_r(names, " \n", &nsave);
		vp = strtok_r(values, " \n", &vsave);
		while (np && vp) {
			if (strcmp(np, "RcvbufErrors") == 0)
				r = strtoull(vp, NULL, 10);
			np = strtok_r(NULL, " \n", &nsave);
			vp = strtok_r(NULL, " \n", &vsave);
		}
		break;
	}
	fclose(f);
	return r;
}

/* Address i (modulo their number) of a comma-separated list. */
static void pick_source(const char *list, unsigned int i, char *out, size_t len)
{
	unsigned int n = 1;
	const char *p = list;

	for (const char *c = list; *c; c++)
		n += *c == ',';
	i %= n;
	while (i--)
		p = strchr(p, ',') + 1;
	snprintf(out, len, "%.*s", (int)strcspn(p, ","), p);
}

static int open_senders(const char *ns, const char *src, const char *dst, uint16_t port,
			unsigned int flows, int *fds, struct sockaddr_storage *to, socklen_t *tolen)
{
	int family = make_addr(dst, port, to, tolen);
	int size = 16 << 20;

	if (family < 0)
		return -1;
	for (unsigned int i = 0; i < flows; i++) {
		fds[i] = socket_in(ns, family, SOCK_DGRAM);
		if (fds[i] < 0)
			return -1;
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
		if (src) {
			struct sockaddr_storage ss;
			socklen_t len;
			char one[64];

			pick_source(src, i, one, sizeof(one));
			if (make_addr(one, 0, &ss, &len) < 0 ||
			    bind(fds[i], (struct sockaddr *)&ss, len) == -1)
				return -1;
		}
		if (connect(fds[i], (struct sockaddr *)to, *tolen) == -1)
			return -1;
	}
	return 0;
}

long long udp_send(const char *ns, const char *src, const char *dst, uint16_t port,
		   unsigned long count, size_t payload, unsigned int flows, unsigned int burst,
		   unsigned int pause_us)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	int fds[64];
	struct mmsghdr msgs[256];
	struct iovec iov;
	char *data;
	unsigned long sent = 0;
	long long r = -1;

	if (flows == 0 || flows > 64 || burst == 0 || burst > 256)
		return -1;
	for (unsigned int i = 0; i < flows; i++)
		fds[i] = -1;
	data = calloc(1, payload ? payload : 1);
	if (!data)
		return -1;
	if (open_senders(ns, src, dst, port, flows, fds, &to, &tolen) < 0)
		goto out;
	iov.iov_base = data;
	iov.iov_len = payload;
	for (unsigned int i = 0; i < burst; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (unsigned long b = 0; sent < count; b++) {
		unsigned int n = count - sent < burst ? (unsigned int)(count - sent) : burst;
		int fd = fds[b % flows];
		int k = sendmmsg(fd, msgs, n, 0);

		if (k < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
				usleep(100);
				continue;
			}
			goto out;
		}
		sent += (unsigned long)k;
		if (pause_us)
			usleep(pause_us);
	}
	r = (long long)sent;
out:
	for (unsigned int i = 0; i < flows; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(data);
	return r;
}

long long udp_send_spread(const char *ns, const char *srcs, const char *dst, uint16_t port,
			  unsigned long count, size_t payload, unsigned int burst)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	struct in_addr src[64];
	unsigned int nsrc = 0;
	char one[64];
	struct mmsghdr msgs[64];
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl[64];
	char *data;
	unsigned long sent = 0;
	long long r = -1;
	int fd;

	if (burst == 0 || burst > 64 || make_addr(dst, port, &to, &tolen) != AF_INET)
		return -1;
	for (unsigned int i = 0; i < 64; i++) {
		pick_source(srcs, i, one, sizeof(one));
		if (inet_pton(AF_INET, one, &src[i]) != 1)
			return -1;
		if (i > 0 && src[i].s_addr == src[0].s_addr)
			break;
		nsrc++;
	}
	data = calloc(1, payload ? payload : 1);
	fd = socket_in(ns, AF_INET, SOCK_DGRAM);
	if (!data || fd < 0)
		goto out;
	iov.iov_base = data;
	iov.iov_len = payload;
	while (sent < count) {
		unsigned int n = count - sent < burst ? (unsigned int)(count - sent) : burst;
		int k;

		for (unsigned int i = 0; i < n; i++) {
			struct msghdr *m = &msgs[i].msg_hdr;
			struct cmsghdr *c;
			struct in_pktinfo pi = { .ipi_spec_dst = src[(sent + i) % nsrc] };

			memset(&msgs[i], 0, sizeof(msgs[i]));
			m->msg_name = &to;
			m->msg_namelen = tolen;
			m->msg_iov = &iov;
			m->msg_iovlen = 1;
			m->msg_control = ctl[i].buf;
			m->msg_controllen = sizeof(ctl[i].buf);
			c = CMSG_FIRSTHDR(m);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
		k = sendmmsg(fd, msgs, n, 0);
		if (k < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
				usleep(100);
				continue;
			}
			goto out;
		}
		sent += (unsigned long)k;
	}
	r = (long long)sent;
out:
	if (fd >= 0)
		close(fd);
	free(data);
	return r;
}

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	struct mmsghdr msgs[64];
	struct iovec iov;
	char *data = calloc(1, f->payload ? f->payload : 1);
	unsigned long b = 0;

	if (!data)
		return NULL;
	iov.iov_base = data;
	iov.iov_len = f->payload;
	for (int i = 0; i < 64; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!atomic_load(&f->stop)) {
		int k = sendmmsg(f->fds[b++ % f->n_fds], msgs, 64, MSG_DONTWAIT);

		if (k > 0)
			atomic_fetch_add(&f->sent, (unsigned long long)k);
		else
			usleep(50);
	}
	free(data);
	return NULL;
}

int flood_start(struct flood *f, const char *ns, const char *src, const char *dst, uint16_t port,
		unsigned int flows, size_t payload)
{
	struct sockaddr_storage to;
	socklen_t tolen;

	memset(f, 0, sizeof(*f));
	if (flows == 0 || flows > 16)
		return -1;
	for (unsigned int i = 0; i < 16; i++)
		f->fds[i] = -1;
	f->n_fds = flows;
	f->payload = payload;
	if (open_senders(ns, src, dst, port, flows, f->fds, &to, &tolen) < 0)
		return -1;
	if (pthread_create(&f->thread, NULL, flood_main, f) != 0)
		return -1;
	f->running = 1;
	return 0;
}

unsigned long long flood_stop(struct flood *f)
{
	if (f->running) {
		atomic_store(&f->stop, 1);
		pthread_join(f->thread, NULL);
		f->running = 0;
	}
	for (unsigned int i = 0; i < f->n_fds; i++) {
		if (f->fds[i] >= 0)
			close(f->fds[i]);
		f->fds[i] = -1;
	}
	return atomic_load(&f->sent);
}

/* Byte i of the transfer: a pattern whose period (251, prime) does not divide segment sizes. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 7 + i / 251) % 251);
}

int udp_flow_open(const char *ns, const char *src, const char *dst, uint16_t port)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	int fd;

	if (open_senders(ns, src, dst, port, 1, &fd, &to, &tolen) < 0)
		return -1;
	return fd;
}

int udp_flow_open_from(const char *ns, const char *src, uint16_t sport, const char *dst,
		       uint16_t port)
{
	struct sockaddr_storage from, to;
	socklen_t fromlen, tolen;
	int family = make_addr(dst, port, &to, &tolen);
	int one = 1, fd;

	if (family < 0 || make_addr(src ? src : (family == AF_INET ? "0.0.0.0" : "::"), sport,
				    &from, &fromlen) != family)
		return -1;
	fd = socket_in(ns, family, SOCK_DGRAM);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&from, fromlen) == -1 ||
	    connect(fd, (struct sockaddr *)&to, tolen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

long long udp_flow_send(int fd, unsigned long count, uint64_t *seq, unsigned int burst,
			unsigned int pause_us)
{
	uint64_t nums[256];
	struct mmsghdr msgs[256];
	struct iovec iov[256];
	unsigned long sent = 0;

	if (burst == 0 || burst > 256)
		return -1;
	while (sent < count) {
		unsigned int n = count - sent < burst ? (unsigned int)(count - sent) : burst;
		int k;

		for (unsigned int i = 0; i < n; i++) {
			nums[i] = *seq + i;
			iov[i].iov_base = &nums[i];
			iov[i].iov_len = sizeof(nums[i]);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		k = sendmmsg(fd, msgs, n, 0);
		if (k < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
				usleep(100);
				continue;
			}
			return -1;
		}
		sent += (unsigned long)k;
		*seq += (uint64_t)k;
		if (pause_us)
			usleep(pause_us);
	}
	return (long long)sent;
}

uint64_t udp_sink_count_seq(int fd, int idle_ms, int max_ms, uint64_t *max_seq)
{
	long long start = now_ms(), last = start;
	uint64_t count = 0;

	*max_seq = 0;
	for (;;) {
		uint64_t v = 0;
		ssize_t n = recv(fd, &v, sizeof(v), MSG_DONTWAIT);
		long long t = now_ms();

		if (n >= (ssize_t)sizeof(v)) {
			count++;
			if (v > *max_seq)
				*max_seq = v;
			last = t;
			continue;
		}
		if (t - last >= idle_ms || t - start >= max_ms)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, 10);
	}
	return count;
}

struct receiver {
	int lfd;
	size_t want;
	size_t got;
	int bad;
	size_t bad_at;
};

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	unsigned char buf[65536];
	int fd = accept(r->lfd, NULL, NULL);

	if (fd < 0) {
		r->bad = 1;
		return NULL;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (!r->bad && buf[i] != pattern(r->got + (size_t)i)) {
				r->bad = 1;
				r->bad_at = r->got + (size_t)i;
			}
		}
		r->got += (size_t)n;
	}
	close(fd);
	return NULL;
}

int tcp_transfer(const char *ns_cli, const char *ns_srv, const char *addr, uint16_t port,
		 size_t bytes, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = make_addr(addr, port, &ss, &len);
	struct receiver rcv = { .lfd = -1, .want = bytes };
	struct timeval tv = { .tv_sec = TEST_DEADLINE_MS / 1000 };
	pthread_t thr;
	unsigned char *data;
	int one = 1, cfd = -1, r = -1;
	size_t off = 0;

	if (family < 0) {
		snprintf(why, whylen, "bad address %s", addr);
		return -1;
	}
	data = malloc(bytes);
	if (!data)
		return -1;
	for (size_t i = 0; i < bytes; i++)
		data[i] = pattern(i);

	rcv.lfd = socket_in(ns_srv, family, SOCK_STREAM);
	setsockopt(rcv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rcv.lfd < 0 || bind(rcv.lfd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(rcv.lfd, 1) == -1) {
		snprintf(why, whylen, "cannot listen on %s:%u: %s", addr, port, strerror(errno));
		goto out;
	}
	setsockopt(rcv.lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (pthread_create(&thr, NULL, receiver_main, &rcv) != 0)
		goto out;

	cfd = socket_in(ns_cli, family, SOCK_STREAM);
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&ss, len) == -1) {
		snprintf(why, whylen, "cannot connect to %s:%u: %s", addr, port, strerror(errno));
		shutdown(rcv.lfd, SHUT_RDWR);
		pthread_join(thr, NULL);
		goto out;
	}
	while (off < bytes) {
		ssize_t n = send(cfd, data + off, bytes - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "send failed after %zu bytes: %s", off,
				 strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	shutdown(cfd, SHUT_WR);
	pthread_join(thr, NULL);
	if (off == bytes && rcv.got == bytes && !rcv.bad)
		r = 0;
	else if (off == bytes)
		snprintf(why, whylen, "received %zu of %zu bytes%s (first bad byte at %zu)",
			 rcv.got, bytes, rcv.bad ? ", corrupted" : "", rcv.bad_at);
out:
	if (cfd >= 0)
		close(cfd);
	if (rcv.lfd >= 0)
		close(rcv.lfd);
	free(data);
	return r;
}

uint64_t udp_sink_wait_seq(int fd, uint64_t want, int max_ms, uint64_t *max_seq)
{
	long long start = now_ms();
	uint64_t count = 0, m;

	*max_seq = 0;
	for (;;) {
		count += udp_sink_count_seq(fd, 0, 0, &m);
		if (m > *max_seq)
			*max_seq = m;
		if (count >= want || now_ms() - start >= max_ms)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, 10);
	}
	/* and whatever more is already there */
	count += udp_sink_count_seq(fd, 0, 0, &m);
	if (m > *max_seq)
		*max_seq = m;
	return count;
}
