/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The memory-mapped netlink ring (NETLINK_RX_RING / NETLINK_TX_RING) of Linux 3.10 to 4.5
 * (removed in 4.6, and in 4.4.56 and 3.16.43): the kernel writes each packet message into the
 * next frame of an RX ring shared with nfqd, which reads it in place and hands the frame back
 * once the verdict is queued; verdicts go out through a TX ring and one sendto(fd, NULL, 0) per
 * send. Geometry: mmap-ring.h.
 *
 * Frame protocol (Documentation/networking/netlink_mmap.txt of those kernels): the kernel owns
 * UNUSED frames; it takes the frame at its head (only if UNUSED: it never skips one), marks it
 * RESERVED while building and VALID when the message is ready; a VALID frame with nm_len 0 is a
 * message whose build failed. COPY: the message did not fit a frame (or was not built in one,
 * as the kernel's own acks): the frame only marks its place, the message waits in the socket's
 * receive queue for a recv(). So our head and the kernel's walk the ring in lockstep.
 *
 * Ring order is the order in which the kernel allocated frames, not the order of packet ids
 * (nfnetlink_queue allocates the message, and so its frame, before it takes the queue lock and
 * numbers the packet): caps 0, and caught_up() says when nothing numbered is left unread
 * (nfnetlink_queue marks the frame VALID, or COPY, inside the same locked section that gave the
 * id; so when the frame at our head is UNUSED, every id given so far is in a frame already taken).
 *
 * Only the libc calls setsockopt, getsockopt, mmap, munmap, poll, recv, sendto and send touch the
 * socket (the tests' simulated kernel stands in for exactly these).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "nfqd/deadline.h"
#include "mmap-ring.h"
#include "transport-internal.h"

/* COPY frames one receive reads (each needs a buffer of msg_size): beyond, the next receive. */
#define COPY_BUFS 4

/* Verdict sends the kernel refused for lack of memory are retried this many times. */
#define TX_TRIES 8

struct mmring {
	struct nfqd_transport base;
	int fd;
	unsigned int batch;
	size_t msg_size;
	int timeout_ms;
	struct nl_mmap_req rxr, txr;
	uint8_t *map; /* both rings, RX first */
	size_t map_len;
	uint8_t *tx; /* map + RX ring bytes */
	unsigned int rx_head, tx_head;
	unsigned int *held; /* RX frames returned by the last receive, still ours */
	unsigned int nheld;
	uint8_t *copy; /* COPY_BUFS buffers of msg_size */
	struct nfqd_rx_msg *msgs;
	int pending_err; /* an error met after messages were taken: the next receive's */
	bool stopped;
	bool caught_up;
	/* nfqd_transport_stats(): written by the owner, read from any thread (relaxed) */
	uint64_t ring_full, ring_copies, ring_empty, tx_ring_full;
};

static const char WHY_NO_MMAP[] =
	"kernel has no mmap netlink (NETLINK_RX_RING: ENOPROTOOPT; removed in Linux 4.6)";
static const char WHY_GEOMETRY[] =
	"the kernel refused the mmap netlink ring's geometry (NETLINK_RX_RING/NETLINK_TX_RING: "
	"EINVAL)";
static const char WHY_BUSY[] = "the socket's mmap netlink ring is still mapped by another "
			       "process or has frames in flight (EBUSY after 3 s)";
static const char WHY_NOMEM[] =
	"the kernel cannot allocate the mmap netlink ring (ENOMEM): lower max-len or copy-range";
static const char WHY_PERM[] = "mmap netlink rings need CAP_NET_ADMIN (EPERM)";
static const char WHY_OTHER[] = "the kernel refused the mmap netlink ring";
static const char WHY_MAP[] = "cannot map the mmap netlink ring (mmap of the socket failed)";

static void count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static unsigned int status_of(const struct nl_mmap_hdr *h)
{
	return __atomic_load_n(&h->nm_status, __ATOMIC_ACQUIRE);
}

/* Hand a frame over: everything written to it before is visible to the other side first. */
static void status_set(struct nl_mmap_hdr *h, unsigned int status)
{
	__atomic_store_n(&h->nm_status, status, __ATOMIC_RELEASE);
}

static struct nl_mmap_hdr *rx_frame(const struct mmring *m, unsigned int i)
{
	return (struct nl_mmap_hdr *)(m->map + nfqd_mmap_frame_offset(&m->rxr, i));
}

static struct nl_mmap_hdr *tx_frame(const struct mmring *m, unsigned int i)
{
	return (struct nl_mmap_hdr *)(m->tx + nfqd_mmap_frame_offset(&m->txr, i));
}

static unsigned int next(const struct nl_mmap_req *r, unsigned int i)
{
	return i + 1 == r->nm_frame_nr ? 0 : i + 1;
}

static const char *why_of(int err)
{
	switch (err) {
	case ENOPROTOOPT:
		return WHY_NO_MMAP;
	case EINVAL:
		return WHY_GEOMETRY;
	case EBUSY:
		return WHY_BUSY;
	case ENOMEM:
		return WHY_NOMEM;
	case EPERM:
		return WHY_PERM;
	default:
		return WHY_OTHER;
	}
}

/* Set the RX ring, then the TX ring; when the TX ring fails, the RX ring is taken away again. */
static int set_both(const struct mmring *m)
{
	static const struct nl_mmap_req none;

	if (setsockopt(m->fd, SOL_NETLINK, NETLINK_RX_RING, &m->rxr, sizeof(m->rxr)) == -1)
		return -errno;
	if (setsockopt(m->fd, SOL_NETLINK, NETLINK_TX_RING, &m->txr, sizeof(m->txr)) == -1) {
		int err = -errno;

		(void)setsockopt(m->fd, SOL_NETLINK, NETLINK_RX_RING, &none, sizeof(none));
		return err;
	}
	return 0;
}

/*
 * EBUSY means a ring is already there (a predecessor's: a crashed mmap nfqd, or one that handed
 * the socket over), or is still mapped or sending: take both away, within
 * transport_clear_rings()'s bounded wait, and set both again.
 */
static int set_rings(const struct mmring *m)
{
	int err = set_both(m);

	if (err != -EBUSY)
		return err;
	err = transport_clear_rings(m->fd);
	if (err < 0)
		return err;
	return set_both(m);
}

static void mm_close(struct nfqd_transport *t)
{
	struct mmring *m = (struct mmring *)t;

	if (m->map) {
		munmap(m->map, m->map_len);
		/* A successor that does not use mmap must find a plain socket. */
		(void)transport_clear_rings(m->fd);
	}
	free(m->msgs);
	free(m->copy);
	free(m->held);
	free(m);
}

static int mm_probe(const char **why)
{
	/* Only a socket can tell (setsockopt in open): nothing to look at without one. */
	(void)why;
	return 0;
}

/*
 * Setting the RX ring purges the socket's receive queue: a message the kernel delivered between
 * the bind and here is lost to us, its packet still queued under an id below every id read
 * afterwards (the worker's sweeps of unread ids reach it).
 */
static int mm_open(struct nfqd_transport **out, int fd, const struct nfqd_transport_params *p,
		   const char **why)
{
	struct mmring *m = calloc(1, sizeof(*m));
	long page = sysconf(_SC_PAGESIZE);
	void *map;
	int err = -ENOMEM;

	if (!m)
		return -ENOMEM;
	m->base.ops = &nfqd_transport_mmap;
	m->fd = fd;
	m->batch = p->batch;
	m->msg_size = (p->msg_size + 7) & ~(size_t)7;
	m->timeout_ms = p->timeout_ms;
	nfqd_mmap_geometry(m->msg_size, p->batch, p->depth, page > 0 ? (size_t)page : 4096, &m->rxr,
			   &m->txr);

	m->held = calloc(m->batch, sizeof(*m->held));
	m->msgs = calloc(m->batch, sizeof(*m->msgs));
	m->copy = malloc(COPY_BUFS * m->msg_size);
	if (!m->held || !m->msgs || !m->copy)
		goto err;

	err = set_rings(m);
	if (err < 0) {
		*why = why_of(-err);
		goto err;
	}
	m->map_len = nfqd_mmap_ring_bytes(&m->rxr) + nfqd_mmap_ring_bytes(&m->txr);
	map = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		*why = WHY_MAP;
		(void)transport_clear_rings(fd);
		goto err;
	}
	m->map = map;
	m->tx = m->map + nfqd_mmap_ring_bytes(&m->rxr);

	/* What does not fit the TX ring goes by send(): a batch of verdicts must fit one datagram.
	 */
	err = transport_ensure_sndbuf(fd, (size_t)m->batch * NFQD_MMAP_TX_PER_VERDICT + 4096);
	if (err < 0)
		goto err;
	*out = &m->base;
	return 0;
err:
	mm_close(&m->base);
	return err;
}

static void mm_release(struct nfqd_transport *t)
{
	struct mmring *m = (struct mmring *)t;

	for (unsigned int i = 0; i < m->nheld; i++)
		status_set(rx_frame(m, m->held[i]), NL_MMAP_STATUS_UNUSED);
	m->nheld = 0;
}

/* Read the message of the COPY frame at the head into copy buffer c. 1, 0 (not there), -errno. */
static int take_copy(struct mmring *m, struct nfqd_rx_msg *msg, unsigned int c)
{
	uint8_t *buf = m->copy + (size_t)c * m->msg_size;
	ssize_t n;

	do
		n = recv(m->fd, buf, m->msg_size, MSG_DONTWAIT | MSG_TRUNC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	msg->data = buf;
	msg->len = (size_t)n > m->msg_size ? (uint32_t)m->msg_size : (uint32_t)n;
	msg->flags = (size_t)n > m->msg_size ? NFQD_RX_TRUNC : 0;
	return 1;
}

/*
 * Take ready frames from the head, in ring order, up to a batch. Returns the count or -errno.
 * A message is cut to msg_size (flagged NFQD_RX_TRUNC) even where its frame holds more: the
 * configured receive buffer means the same on every transport.
 */
static int take(struct mmring *m)
{
	size_t room = m->rxr.nm_frame_size - NL_MMAP_HDRLEN;
	unsigned int copies = 0;
	int n = 0;

	if (room > m->msg_size)
		room = m->msg_size;

	while (n < (int)m->batch) {
		struct nl_mmap_hdr *h = rx_frame(m, m->rx_head);
		unsigned int st = status_of(h);

		if (st == NL_MMAP_STATUS_VALID && h->nm_len == 0) {
			status_set(h, NL_MMAP_STATUS_UNUSED);
			count(&m->ring_empty);
		} else if (st == NL_MMAP_STATUS_VALID) {
			struct nfqd_rx_msg *msg = &m->msgs[n++];

			msg->data = (const uint8_t *)h + NL_MMAP_HDRLEN;
			msg->len = h->nm_len > room ? (uint32_t)room : h->nm_len;
			msg->flags = h->nm_len > room ? NFQD_RX_TRUNC : 0;
			m->held[m->nheld++] = m->rx_head;
		} else if (st == NL_MMAP_STATUS_COPY && copies < COPY_BUFS) {
			int r = take_copy(m, &m->msgs[n], copies);

			if (r < 0) {
				if (n == 0)
					return r;
				m->pending_err = r;
				break;
			}
			if (r == 0)
				break;
			n++;
			copies++;
			status_set(h, NL_MMAP_STATUS_UNUSED);
			count(&m->ring_copies);
		} else {
			break;
		}
		m->rx_head = next(&m->rxr, m->rx_head);
	}
	return n;
}

/*
 * Wait for the kernel: 1 when something may be ready, 0 at the deadline or on a signal, or
 * -errno (an overrun: -ENOBUFS, the socket error that netlink_overrun() set).
 */
static int wait_ready(struct mmring *m, int64_t deadline)
{
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN | POLLERR };
	int wait = nfqd_deadline_wait_ms(deadline, nfqd_now_ns());
	int r;

	if (wait == 0)
		return 0;
	r = poll(&pfd, 1, wait);
	if (r == -1)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;
	if (pfd.revents & POLLERR) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			return -errno;
		if (err)
			return -err;
	}
	return 1;
}

static int mm_recv(struct nfqd_transport *t, const struct nfqd_rx_msg **msgs, unsigned int flags)
{
	struct mmring *m = (struct mmring *)t;
	int64_t deadline = nfqd_deadline_after(nfqd_now_ns(), (unsigned int)m->timeout_ms);
	unsigned int before = m->rxr.nm_frame_nr - 1;
	int n;

	/* A receive reuses the batch array: what the caller has not released goes back now. */
	mm_release(t);
	m->caught_up = false;
	if (m->stopped)
		return 0;
	if (m->pending_err) {
		n = m->pending_err;
		m->pending_err = 0;
		return n;
	}
	/* The frame before the head was the last we took and gave back: the kernel filled it
	 * again only by going all the way round. */
	if (status_of(rx_frame(m, (m->rx_head + before) % m->rxr.nm_frame_nr)) !=
	    NL_MMAP_STATUS_UNUSED)
		count(&m->ring_full);

	for (;;) {
		n = take(m);
		if (n != 0 || (flags & NFQD_RECV_NOWAIT))
			break;
		n = wait_ready(m, deadline);
		if (n <= 0)
			break;
		/* poll() also answers for a VALID frame behind a head the kernel is still
		 * building (RESERVED): its build ends soon, in the kernel. */
		if (status_of(rx_frame(m, m->rx_head)) == NL_MMAP_STATUS_RESERVED)
			sched_yield();
	}
	if (n >= 0)
		m->caught_up = status_of(rx_frame(m, m->rx_head)) == NL_MMAP_STATUS_UNUSED;
	*msgs = m->msgs;
	return n;
}

/* Bytes at the start of buf[0..len) that are whole netlink messages within room bytes. */
static size_t chunk_len(const uint8_t *buf, size_t len, size_t room)
{
	size_t off = 0;

	while (off + sizeof(struct nlmsghdr) <= len) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(buf + off);
		size_t l = NLMSG_ALIGN(nlh->nlmsg_len);

		if (nlh->nlmsg_len < sizeof(*nlh) || l > len - off || off + l > room)
			break;
		off += l;
	}
	return off;
}

/* The first of the count TX frames from first that the kernel has not consumed, or count. */
static unsigned int tx_unsent(const struct mmring *m, unsigned int first, unsigned int count)
{
	unsigned int i = first;

	for (unsigned int k = 0; k < count; k++, i = next(&m->txr, i))
		if (status_of(tx_frame(m, i)) == NL_MMAP_STATUS_VALID)
			return k;
	return count;
}

/*
 * Have the kernel consume the count VALID TX frames from first: one sendto(fd, NULL, 0) takes
 * every VALID frame in order; netlink_mmap_sendmsg() stops at the first it cannot take (ENOBUFS)
 * and leaves that and the later ones VALID, which a retry sends. What is left after the tries
 * is taken back (UNUSED, and the head put back on it, where the kernel's head stands).
 */
static int tx_flush(struct mmring *m, unsigned int first, unsigned int count)
{
	unsigned int left = count, at = first;
	int err = -EIO;

	for (int tries = 0; tries < TX_TRIES; tries++) {
		unsigned int done;

		if (sendto(m->fd, NULL, 0, 0, NULL, 0) == -1) {
			err = -errno;
			if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN) {
				done = tx_unsent(m, at, left);
				at = (at + done) % m->txr.nm_frame_nr;
				left -= done;
				break;
			}
		}
		done = tx_unsent(m, at, left);
		at = (at + done) % m->txr.nm_frame_nr;
		left -= done;
		if (left == 0)
			return 0;
		sched_yield();
	}
	m->tx_head = at;
	for (unsigned int k = 0; k < left; k++, at = next(&m->txr, at))
		status_set(tx_frame(m, at), NL_MMAP_STATUS_UNUSED);
	return err;
}

/*
 * Verdicts through the TX ring: buf is cut at message boundaries into frames; one sendto makes
 * the kernel take them all. What the ring has no free frame for (or a message longer than a
 * frame) goes after them by send(), order kept. Returns 0, or -errno when something was left
 * unsent: part of buf may have reached the kernel then, and the caller sends the whole build
 * again (a verdict for an id already answered is answered ENOENT, harmless).
 */
static int mm_send(struct nfqd_transport *t, const void *buf, size_t len)
{
	struct mmring *m = (struct mmring *)t;
	const uint8_t *p = buf;
	size_t room = m->txr.nm_frame_size - NL_MMAP_HDRLEN, off = 0;
	unsigned int first = m->tx_head, used = 0;
	bool full = false;

	while (off < len) {
		size_t n = chunk_len(p + off, len - off, room);
		struct nl_mmap_hdr *h = tx_frame(m, m->tx_head);

		if (n == 0)
			break;
		if (status_of(h) != NL_MMAP_STATUS_UNUSED) {
			full = true;
			break;
		}
		memcpy((uint8_t *)h + NL_MMAP_HDRLEN, p + off, n);
		h->nm_len = (unsigned int)n;
		status_set(h, NL_MMAP_STATUS_VALID);
		m->tx_head = next(&m->txr, m->tx_head);
		used++;
		off += n;
	}
	if (used) {
		int err = tx_flush(m, first, used);

		if (err < 0)
			return err;
	}
	if (off == len)
		return 0;
	if (full)
		count(&m->tx_ring_full);
	return transport_send_now(m->fd, p + off, len - off);
}

/* Nothing is taken ahead of the caller: the frames still in the ring stay for the next reader. */
static int mm_rx_stop(struct nfqd_transport *t, int timeout_ms)
{
	(void)timeout_ms;
	((struct mmring *)t)->stopped = true;
	return 0;
}

static int mm_attach(struct nfqd_transport *t)
{
	((struct mmring *)t)->stopped = false;
	return 0;
}

static int mm_caught_up(const struct nfqd_transport *t)
{
	return ((const struct mmring *)t)->caught_up;
}

static void mm_stats(const struct nfqd_transport *t, struct nfqd_transport_stats *out)
{
	const struct mmring *m = (const struct mmring *)t;

	out->ring_full = __atomic_load_n(&m->ring_full, __ATOMIC_RELAXED);
	out->ring_copies = __atomic_load_n(&m->ring_copies, __ATOMIC_RELAXED);
	out->ring_empty = __atomic_load_n(&m->ring_empty, __ATOMIC_RELAXED);
	out->tx_ring_full = __atomic_load_n(&m->tx_ring_full, __ATOMIC_RELAXED);
}

const struct nfqd_transport_ops nfqd_transport_mmap = {
	.name = "mmap",
	.caps = 0,
	.probe = mm_probe,
	.open = mm_open,
	.close = mm_close,
	.recv = mm_recv,
	.release = mm_release,
	.send = mm_send,
	.rx_stop = mm_rx_stop,
	.attach = mm_attach,
	.caught_up = mm_caught_up,
	.stats = mm_stats,
};
