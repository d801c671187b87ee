/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "nfqd/deadline.h"

#include "transport-internal.h"

/*
 * In order of preference for "auto", as measured on kernel 6.18 (a shared 2-core VM), draining a
 * pre-filled queue of small UDP packets, batch 64, the transports alternating in each round:
 *  - scripts/bench.sh (bench_contenders --runs 5, 50,000 packets): mmsg 497k and uring 494k
 *    packets/s (accept), 577k and 561k (drop); machine CPU per packet 2.0 us for both;
 *  - 25 rounds of 60,000: uring/mmsg 0.97x (accept) and 1.02x (drop);
 *  - perf record -a -e cpu-clock over 3 drains of 60,000 each: 5,459 samples in nfqd's threads
 *    with mmsg against 6,564 with uring; the difference is mostly the multishot receive's copy
 *    into the buffer ring (_copy_to_iter, 1,370 samples, not among mmsg's top entries). uring
 *    makes one system call per batch where mmsg makes two, but the kernel's work per packet
 *    dominates both.
 * A tie in speed and more CPU per packet for uring; and with mmsg every operation nfqd makes
 * passes its seccomp filter, which io_uring's operations do not. So mmsg comes first, and uring
 * is there to be chosen (`transport = uring`) where it measures better.
 * mmap comes before both: where the kernel still has mmap netlink (3.10-4.5) it is the only one
 * that reads packets in place; everywhere else it refuses at once (ENOPROTOOPT) and auto goes on.
 */
static const struct nfqd_transport_ops *const backends[] = {
	&nfqd_transport_mmap,
	&nfqd_transport_mmsg,
	&nfqd_transport_uring,
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

static const struct nfqd_transport_ops *find(const char *name)
{
	for (size_t i = 0; i < N_BACKENDS; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

int nfqd_transport_known(const char *name)
{
	return strcmp(name, "auto") == 0 || find(name) != NULL;
}

/* "auto" and every backend of the table, in auto's order, for messages. */
static char names[64];

static void names_build(void)
{
	size_t n = strlen(strcpy(names, "auto"));

	for (size_t i = 0; i < N_BACKENDS && n + 2 + strlen(backends[i]->name) < sizeof(names); i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, ", %s", backends[i]->name);
}

const char *nfqd_transport_names(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, names_build);
	return names;
}

static int params_ok(const struct nfqd_transport_params *p)
{
	return p->batch >= 1 && p->batch <= NFQD_TRANSPORT_BATCH_MAX && p->msg_size >= 64 &&
	       p->msg_size <= (1u << 20) && p->timeout_ms >= 1;
}

int nfqd_transport_open(struct nfqd_transport **out, const char *name, int fd,
			const struct nfqd_transport_params *p, const char **why)
{
	const char *reason = NULL;
	int err = -ENOENT;

	if (!params_ok(p))
		return -EINVAL;

	if (strcmp(name, "auto") != 0) {
		const struct nfqd_transport_ops *ops = find(name);

		if (!ops)
			return -ENOENT;
		err = ops->probe(&reason);
		if (err == 0)
			err = ops->open(out, fd, p, &reason);
		if (err < 0 && why)
			*why = reason;
		return err;
	}

	/* The first refusal is the one worth telling: it names the preferred backend. */
	for (size_t i = 0; i < N_BACKENDS; i++) {
		const char *r = NULL;

		err = backends[i]->probe(&r);
		if (err == 0)
			err = backends[i]->open(out, fd, p, &r);
		if (err < 0 && !reason)
			reason = r;
		if (err == 0)
			break;
	}
	if (why)
		*why = reason;
	return err;
}

void nfqd_transport_close(struct nfqd_transport *t)
{
	if (t)
		t->ops->close(t);
}

const char *nfqd_transport_name(const struct nfqd_transport *t)
{
	return t->ops->name;
}

int nfqd_transport_recv(struct nfqd_transport *t, const struct nfqd_rx_msg **msgs,
			unsigned int flags)
{
	return t->ops->recv(t, msgs, flags);
}

void nfqd_transport_release(struct nfqd_transport *t)
{
	if (t->ops->release)
		t->ops->release(t);
}

int nfqd_transport_send(struct nfqd_transport *t, const void *buf, size_t len)
{
	return t->ops->send(t, buf, len);
}

unsigned int nfqd_transport_caps(const struct nfqd_transport *t)
{
	return t->ops->caps;
}

unsigned int nfqd_transport_tx_errors(struct nfqd_transport *t, int *err)
{
	return t->ops->tx_errors ? t->ops->tx_errors(t, err) : 0;
}

int nfqd_transport_tx_wait(struct nfqd_transport *t, int timeout_ms)
{
	return t->ops->tx_wait ? t->ops->tx_wait(t, timeout_ms) : 0;
}

int nfqd_transport_rx_stop(struct nfqd_transport *t, int timeout_ms)
{
	return t->ops->rx_stop ? t->ops->rx_stop(t, timeout_ms) : 0;
}

int nfqd_transport_attach(struct nfqd_transport *t)
{
	return t->ops->attach ? t->ops->attach(t) : 0;
}

int nfqd_transport_caught_up(const struct nfqd_transport *t)
{
	return t->ops->caught_up ? t->ops->caught_up(t) : 0;
}

void nfqd_transport_stats(const struct nfqd_transport *t, struct nfqd_transport_stats *out)
{
	*out = (struct nfqd_transport_stats){ 0 };
	if (t->ops->stats)
		t->ops->stats(t, out);
}

/* How long a ring still mapped elsewhere, or with frames in flight, is waited for. */
#define RING_BUSY_MS	  3000
#define RING_BUSY_STEP_NS (20 * 1000 * 1000)

int transport_clear_rings(int fd)
{
	static const struct nl_mmap_req none;
	int64_t deadline = nfqd_deadline_after(nfqd_now_ns(), RING_BUSY_MS);
	static const int opts[] = { NETLINK_RX_RING, NETLINK_TX_RING };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		while (setsockopt(fd, SOL_NETLINK, opts[i], &none, sizeof(none)) == -1) {
			struct timespec step = { .tv_nsec = RING_BUSY_STEP_NS };

			if (errno == ENOPROTOOPT || errno == EINVAL)
				break;
			if (errno != EBUSY || nfqd_now_ns() >= deadline)
				return -errno;
			nanosleep(&step, NULL);
		}
	}
	return 0;
}

int transport_ensure_sndbuf(int fd, size_t need)
{
	int cur;
	socklen_t len = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &len) == -1)
		return -errno;
	if ((size_t)cur >= need)
		return 0;
	int val = (int)need;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &val, sizeof(val)) == -1 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &val, sizeof(val)) == -1)
		return -errno;
	return 0;
}

/* Verdict sends refused for lack of kernel memory are retried this many times. */
#define SEND_TRIES 8

int transport_send_now(int fd, const void *buf, size_t len)
{
	int tries = 0;

	for (;;) {
		if (send(fd, buf, len, 0) != -1)
			return 0;
		if (errno == EINTR)
			continue;
		if ((errno == ENOBUFS || errno == EAGAIN) && ++tries < SEND_TRIES) {
			sched_yield();
			continue;
		}
		return -errno;
	}
}
