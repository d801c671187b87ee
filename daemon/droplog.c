/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The drop log (see droplog.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/netfilter.h>

#include "config.h"
#include "droplog.h"
#include "log.h"

void droplog_limit_set(struct droplog_limit *lim, unsigned int rate, unsigned int period_s,
		       unsigned int burst)
{
	lim->interval_ns = (uint64_t)period_s * 1000000000ull / rate;
	lim->tolerance_ns = (uint64_t)(burst - 1) * lim->interval_ns;
}

bool droplog_admit(uint64_t *tat, const struct droplog_limit *lim, uint64_t now_ns)
{
	uint64_t cur = __atomic_load_n(tat, __ATOMIC_RELAXED);

	for (;;) {
		uint64_t start = cur > now_ns ? cur : now_ns;

		/* burst lines already stand ahead of now: this one would exceed it */
		if (start - now_ns > lim->tolerance_ns)
			return false;
		if (__atomic_compare_exchange_n(tat, &cur, start + lim->interval_ns, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	}
}

int droplog_push(struct nfqd_spsc *ring, const struct nfqd_packet *pkt,
		 const struct nfqd_decision *d, const char *prefix, uint64_t gen, uint64_t now_ns)
{
	size_t plen = prefix ? strnlen(prefix, NFQD_LOG_PREFIX_MAX) : 0;
	struct droplog_record *r = nfqd_spsc_reserve(ring, sizeof(*r) + plen);

	if (!r)
		return -ENOBUFS;
	*r = (struct droplog_record){
		.time_ns = now_ns,
		.gen = gen,
		.rule = (uint32_t)d->rule,
		.verdict = d->verdict,
		.iif = pkt->indev,
		.oif = pkt->outdev,
		.len = pkt->packet_len,
		.queue = pkt->queue,
		.prefix_len = (uint8_t)plen,
	};
	if (pkt->flags & NFQD_PKT_HAS_L3) {
		r->flags |= DROPLOG_F_ADDRS;
		r->family = pkt->l3;
		r->src = pkt->src;
		r->dst = pkt->dst;
	}
	if (pkt->flags & NFQD_PKT_HAS_PROTO) {
		r->flags |= DROPLOG_F_PROTO;
		r->proto = pkt->l4_proto;
	}
	if (pkt->flags & NFQD_PKT_HAS_PORTS) {
		r->flags |= DROPLOG_F_PORTS;
		r->sport = pkt->sport;
		r->dport = pkt->dport;
	}
	if (plen)
		memcpy(r->prefix, prefix, plen);
	nfqd_spsc_commit(ring);
	return 0;
}

/* Append to the line of *len bytes in buf, as snprintf: *len may pass size. */
static void put(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + (*len < size ? *len : size - 1), *len < size ? size - *len : 1, fmt,
		      ap);
	va_end(ap);
	if (r > 0)
		*len += (size_t)r;
}

/* One end of the packet: "192.0.2.1:1234", "[2001:db8::1]:443", "192.0.2.1". */
static void put_end(char *buf, size_t size, size_t *len, const struct droplog_record *r,
		    const union nfqd_addr *a, uint16_t port)
{
	char addr[INET6_ADDRSTRLEN];

	if (!(r->flags & DROPLOG_F_ADDRS)) {
		put(buf, size, len, "?");
		return;
	}
	inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, a, addr, sizeof(addr));
	if (!(r->flags & DROPLOG_F_PORTS))
		put(buf, size, len, "%s", addr);
	else if (r->family == 6)
		put(buf, size, len, "[%s]:%u", addr, port);
	else
		put(buf, size, len, "%s:%u", addr, port);
}

size_t droplog_format(const struct droplog_record *r, const char *iif, const char *oif, char *buf,
		      size_t size)
{
	const char *proto = nfqd_policy_proto_name(r->proto);
	size_t len = 0;

	put(buf, size, &len, "nfqd-drop: ");
	if (r->prefix_len)
		put(buf, size, &len, "[%.*s] ", (int)r->prefix_len, r->prefix);
	put(buf, size, &len, "rule %u ", r->rule + 1);
	if (r->verdict == NF_ACCEPT)
		put(buf, size, &len, "accept");
	else if (r->verdict == NF_DROP)
		put(buf, size, &len, "drop");
	else
		put(buf, size, &len, "queue %u", r->verdict >> 16);
	put(buf, size, &len, " queue %u ", r->queue);
	if (!(r->flags & DROPLOG_F_PROTO))
		put(buf, size, &len, "proto ? ");
	else if (proto)
		put(buf, size, &len, "%s ", proto);
	else
		put(buf, size, &len, "proto %u ", r->proto);
	put_end(buf, size, &len, r, &r->src, r->sport);
	put(buf, size, &len, " -> ");
	put_end(buf, size, &len, r, &r->dst, r->dport);
	if (r->iif && iif)
		put(buf, size, &len, " iif %s", iif);
	else if (r->iif)
		put(buf, size, &len, " iif %u", r->iif);
	if (r->oif && oif)
		put(buf, size, &len, " oif %s", oif);
	else if (r->oif)
		put(buf, size, &len, " oif %u", r->oif);
	put(buf, size, &len, " len %u", r->len);
	return len < size ? len : size - 1;
}

struct droplog {
	_Atomic(struct nfqd_spsc *) rings[CONFIG_MAX_QUEUES];
	atomic_bool stop;
	_Atomic uint64_t lines;
	int efd; /* written at stop: the thread wakes at once */
	pthread_t thread;
	bool started;
};

#define DROPLOG_TURN 256

/* Interface names looked up during one drain: a flood from one interface asks once. */
#define IFNAME_CACHE 8

struct ifname_cache {
	unsigned int n;
	uint32_t index[IFNAME_CACHE];
	char name[IFNAME_CACHE][IF_NAMESIZE];
	bool known[IFNAME_CACHE];
};

/* The name of interface index now (NULL: none), looked up once per cache. */
static const char *ifname(struct ifname_cache *c, uint32_t index)
{
	unsigned int i;

	if (!index)
		return NULL;
	for (i = 0; i < c->n; i++)
		if (c->index[i] == index)
			return c->known[i] ? c->name[i] : NULL;
	/* a full cache takes the last slot again: a drain sees few interfaces */
	i = c->n < IFNAME_CACHE ? c->n++ : IFNAME_CACHE - 1;
	c->index[i] = index;
	c->known[i] = if_indextoname(index, c->name[i]) != NULL;
	return c->known[i] ? c->name[i] : NULL;
}

/*
 * Log every record the rings hold now. Returns how many. Names are those of the interfaces at
 * the drain, which are those at the packet's time unless one was renamed in between.
 */
static unsigned int drain(struct droplog *dl)
{
	struct ifname_cache names = { .n = 0 };
	unsigned int n = 0;

	for (unsigned int s = 0; s < CONFIG_MAX_QUEUES; s++) {
		struct nfqd_spsc *ring = atomic_load_explicit(&dl->rings[s], memory_order_acquire);
		const struct droplog_record *r;
		size_t len;

		/* at most DROPLOG_TURN records of a ring at a time: a flood into one ring does not
		 * starve the others */
		for (unsigned int k = 0;
		     ring && k < DROPLOG_TURN && (r = nfqd_spsc_peek(ring, &len)); k++) {
			char line[512];

			droplog_format(r, ifname(&names, r->iif), ifname(&names, r->oif), line,
				       sizeof(line));
			nfqd_spsc_release(ring);
			log_notice("%s", line);
			n++;
		}
	}
	if (n)
		atomic_fetch_add_explicit(&dl->lines, n, memory_order_relaxed);
	return n;
}

static void *droplog_main(void *arg)
{
	struct droplog *dl = arg;

	for (;;) {
		/* read before the drain: a record committed before stop is in the rings now */
		bool stop = atomic_load(&dl->stop);
		struct pollfd pfd = { .fd = dl->efd, .events = POLLIN };

		if (drain(dl))
			continue;
		if (stop)
			return NULL;
		/* workers never wake this thread: a system call is not theirs to make */
		poll(&pfd, 1, DROPLOG_WAKE_MS);
	}
}

int droplog_new(struct droplog **out)
{
	struct droplog *dl = calloc(1, sizeof(*dl));
	int r;

	if (!dl)
		return -ENOMEM;
	dl->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dl->efd == -1) {
		r = -errno;
		free(dl);
		return r;
	}
	*out = dl;
	return 0;
}

int droplog_start(struct droplog *dl, const struct nfqd_policy *policy)
{
	int r;

	if (dl->started || !nfqd_policy_log_rules(policy))
		return 0;
	r = -pthread_create(&dl->thread, NULL, droplog_main, dl);
	dl->started = r == 0;
	return r;
}

struct nfqd_spsc *droplog_ring(struct droplog *dl, unsigned int slot)
{
	struct nfqd_spsc *ring;

	if (slot >= CONFIG_MAX_QUEUES)
		return NULL;
	ring = atomic_load_explicit(&dl->rings[slot], memory_order_relaxed);
	if (ring)
		return ring;
	ring = nfqd_spsc_new(DROPLOG_RING_SIZE);
	if (!ring)
		return NULL;
	/* the thread reads the ring's fields after this release */
	atomic_store_explicit(&dl->rings[slot], ring, memory_order_release);
	return ring;
}

uint64_t droplog_lines(const struct droplog *dl)
{
	return atomic_load_explicit(&dl->lines, memory_order_relaxed);
}

void droplog_free(struct droplog *dl)
{
	uint64_t one = 1;

	if (!dl)
		return;
	atomic_store(&dl->stop, true);
	if (write(dl->efd, &one, sizeof(one)) == -1) {
		/* the thread wakes within DROPLOG_WAKE_MS anyway */
	}
	if (dl->started)
		pthread_join(dl->thread, NULL);
	else
		while (drain(dl))
			;
	close(dl->efd);
	for (unsigned int s = 0; s < CONFIG_MAX_QUEUES; s++) {
		struct nfqd_spsc *ring = atomic_load(&dl->rings[s]);

		nfqd_spsc_delete(ring);
	}
	free(dl);
}
