/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel side of mmap netlink, emulated (see nlmmap_emu.h for the rules it follows).
 *
 * Built with NLMMAP_EMU_PRELOAD it is an LD_PRELOAD library over a REAL nfqueue socket. Inside
 * every intercepted poll/ppoll/recv* on a socket with an RX ring it pulls the real messages from
 * the real socket (recvmsg, MSG_DONTWAIT) and plays the kernel's ring with them:
 *  - packet messages that fit a frame are written in place (VALID); the others (acks, errors,
 *    messages longer than a frame) go to the emulator's receive queue with a COPY frame, and
 *    recv() on the socket reads them from there;
 *  - the frames of a pull are allocated in order from the head, but the messages (whose ids the
 *    kernel gave in increasing order) go into them in a random order, and some frames stay
 *    RESERVED until the next call: as on a kernel where several CPUs build messages at once,
 *    the reader sees ids out of frame order, and a receive that is not caught up. A frame left
 *    RESERVED only ever receives a message pulled later, whose id is higher than every id
 *    already in a VALID frame (nfnetlink_queue gives the id after it took the frame, and marks
 *    the frame VALID under the same lock); one still empty at the next pull becomes a failed
 *    build (VALID, nm_len 0), as the kernel marks a frame whose message it then dropped;
 *  - with no UNUSED frame at the head, the real kernel would drop the message (an overrun); the
 *    emulator must not lose real packets, so it leaves the message in the real socket, counts
 *    the overrun, and takes it once a frame is free;
 *  - a send with a NULL data pointer sends each VALID TX frame with the real send() and marks it
 *    UNUSED; plain sends pass through;
 *  - closing the socket, or clearing the RX ring with an all-zero request, drops the emulator's
 *    state: the messages it held in frames are lost, as the kernel's purge loses them, and the
 *    real kernel keeps those packets queued with no message (orphans, for the next reader).
 * There is no helper thread: everything happens inside the calls nfqd makes (its seccomp filter
 * allows only those).
 *
 * Environment (read when the first ring is set):
 *   NLMMAP_EMU_SEED=N               the random choices' seed (default 1); printed to stderr
 *   NLMMAP_EMU_RESERVE_PERMILLE=N   for each message pulled, the chance (per mille, default 200)
 *                                   that one to three more frames are taken into build first
 *                                   (out-of-order ids, frames left RESERVED); 0 for none
 *   NLMMAP_EMU_UNREADABLE_EVERY=N   strip NFQA_PACKET_HDR from every Nth packet message, so
 *                                   that its id cannot be read (0, the default: never)
 *   NLMMAP_EMU_SENDFAIL_EVERY=N     every Nth TX send (NULL data, at least one VALID frame) fails
 *                                   with ENOBUFS before consuming anything (0: never)
 * At close each emulated socket writes one line of its counters to stderr:
 *   "nlmmap_emu: fd N closed: delivered D copies C failed F overruns O tx_frames T tx_calls S
 *    tx_failed X plain_sends P unreadable U held H".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "nlmmap_emu.h"

#define EMU_FD_MAX    4096
#define EMU_RING_MAX  (256u << 20) /* the most ring memory a socket may ask for (else ENOMEM) */
#define EMU_HELD_MAX  8		   /* frames in build at once (LD_PRELOAD) */
#define EMU_PAGE_SIZE 4096u

struct emu_ring {
	struct nl_mmap_req req; /* all zero: no ring */
	unsigned int frames_per_block;
	unsigned int head; /* the kernel's next frame */
	size_t size;	   /* block_size * block_nr */
	size_t off;	   /* where it starts in the mapping */
};

/* A message of the receive queue (a COPY frame's). */
struct emu_msg {
	struct emu_msg *next;
	size_t len;
	unsigned char data[];
};

struct nlmmap_emu {
	int fd;
	struct emu_ring rx, tx;
	unsigned char *mem; /* RX ring then TX ring, anonymous shared memory */
	size_t mem_len;
	unsigned int mapped; /* mmap()s not yet munmap()ed */
	struct emu_msg *q_head, **q_tail;
	unsigned int queued;
	struct nlmmap_emu_counts counts;
	nlmmap_emu_sink sink;
	void *sink_arg;
	/* LD_PRELOAD: frames in build, oldest first, and whether each was taken by this pull */
	unsigned int held[EMU_HELD_MAX];
	bool held_new[EMU_HELD_MAX];
	unsigned int n_held;
	uint64_t packets; /* packet messages pulled */
	unsigned char *buf;
	size_t buf_cap;
};

static pthread_mutex_t emu_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nlmmap_emu *emus[EMU_FD_MAX];
static int refuse_err;
static unsigned int refuse_times;

/* Faults of the LD_PRELOAD build, from the environment (see the top of this file). */
static struct {
	bool read;
	uint64_t rng;
	unsigned int reserve_permille;
	unsigned int unreadable_every;
	unsigned int sendfail_every;
	uint64_t tx_sends;
} env;

#define REAL(name) ((__typeof__(&name))real_sym(#name, &real_##name))
static void *real_setsockopt, *real_getsockopt, *real_mmap, *real_munmap, *real_poll, *real_ppoll,
	*real_recv, *real_recvfrom, *real_recvmsg, *real_send, *real_sendto, *real_sendmsg,
	*real_close;

static void *real_sym(const char *name, void **slot)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		if (!p)
			abort(); /* no libc below us: nothing sensible can follow */
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

static struct nlmmap_emu *lookup(int fd)
{
	return fd >= 0 && fd < EMU_FD_MAX ? emus[fd] : NULL;
}

struct nlmmap_emu *nlmmap_emu_of(int fd)
{
	struct nlmmap_emu *k;

	pthread_mutex_lock(&emu_lock);
	k = lookup(fd);
	pthread_mutex_unlock(&emu_lock);
	return k;
}

void nlmmap_emu_refuse(int err, unsigned int times)
{
	pthread_mutex_lock(&emu_lock);
	refuse_err = err;
	refuse_times = times;
	pthread_mutex_unlock(&emu_lock);
}

void nlmmap_emu_set_sink(struct nlmmap_emu *k, nlmmap_emu_sink sink, void *arg)
{
	pthread_mutex_lock(&emu_lock);
	k->sink = sink;
	k->sink_arg = arg;
	pthread_mutex_unlock(&emu_lock);
}

static unsigned int ring_frames(const struct emu_ring *r)
{
	return r->req.nm_frame_nr;
}

/* The frame's header: frames never straddle blocks (frames_per_block per block). */
static struct nl_mmap_hdr *frame(const struct nlmmap_emu *k, const struct emu_ring *r,
				 unsigned int i)
{
	size_t block = i / r->frames_per_block;
	size_t in = i % r->frames_per_block;

	return (struct nl_mmap_hdr *)(k->mem + r->off + block * r->req.nm_block_size +
				      in * r->req.nm_frame_size);
}

static unsigned int get_status(const struct nl_mmap_hdr *h)
{
	return __atomic_load_n(&h->nm_status, __ATOMIC_ACQUIRE);
}

/* The status last, after the header and the message: the reader trusts nothing before it. */
static void set_status(struct nl_mmap_hdr *h, unsigned int status)
{
	__atomic_store_n(&h->nm_status, status, __ATOMIC_RELEASE);
}

static size_t frame_room(const struct emu_ring *r)
{
	return r->req.nm_frame_size - NL_MMAP_HDRLEN;
}

static void queue_purge(struct nlmmap_emu *k)
{
	while (k->q_head) {
		struct emu_msg *m = k->q_head;

		k->q_head = m->next;
		free(m);
	}
	k->q_tail = &k->q_head;
	k->queued = 0;
}

static int queue_add(struct nlmmap_emu *k, const void *msg, size_t len)
{
	struct emu_msg *m = malloc(sizeof(*m) + len);

	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	memcpy(m->data, msg, len);
	*k->q_tail = m;
	k->q_tail = &m->next;
	k->queued++;
	return 0;
}

/* The frame at the RX head, taken from the kernel's point of view (RESERVED), or -ENOBUFS. */
static int rx_take(struct nlmmap_emu *k)
{
	struct emu_ring *r = &k->rx;
	unsigned int i = r->head;

	if (get_status(frame(k, r, i)) != NL_MMAP_STATUS_UNUSED) {
		k->counts.overruns++;
		return -ENOBUFS;
	}
	set_status(frame(k, r, i), NL_MMAP_STATUS_RESERVED);
	r->head = i + 1 == ring_frames(r) ? 0 : i + 1;
	return (int)i;
}

static void fill_hdr(struct nl_mmap_hdr *h, size_t len)
{
	h->nm_len = (unsigned int)len;
	h->nm_group = 0;
	h->nm_pid = 0;
	h->nm_uid = 0;
	h->nm_gid = 0;
}

/* Finish a RESERVED frame: see nlmmap_emu_complete(). */
static int rx_complete(struct nlmmap_emu *k, unsigned int i, const void *msg, size_t len)
{
	struct nl_mmap_hdr *h = frame(k, &k->rx, i);

	if (!msg) {
		fill_hdr(h, 0);
		k->counts.failed++;
		set_status(h, NL_MMAP_STATUS_VALID);
		return 0;
	}
	if (len > frame_room(&k->rx)) {
		int err = queue_add(k, msg, len);

		if (err < 0)
			return err;
		fill_hdr(h, len);
		k->counts.copies++;
		set_status(h, NL_MMAP_STATUS_COPY);
		return 0;
	}
	memcpy((unsigned char *)h + NL_MMAP_HDRLEN, msg, len);
	fill_hdr(h, len);
	k->counts.delivered++;
	set_status(h, NL_MMAP_STATUS_VALID);
	return 0;
}

static int deliver(struct nlmmap_emu *k, const void *msg, size_t len, enum nlmmap_emu_how how)
{
	int i, err;

	if (!ring_frames(&k->rx))
		return -ENXIO;
	if ((how == NLMMAP_EMU_RESERVE || how == NLMMAP_EMU_FAILED) && (msg || len))
		return -EINVAL;
	i = rx_take(k);
	if (i < 0)
		return i;
	switch (how) {
	case NLMMAP_EMU_RESERVE:
		return i;
	case NLMMAP_EMU_COPY:
		/* a message the kernel did not build in the ring (netlink_ring_set_copied) */
		err = queue_add(k, msg, len);
		if (err < 0)
			return err;
		fill_hdr(frame(k, &k->rx, (unsigned int)i), len);
		k->counts.copies++;
		set_status(frame(k, &k->rx, (unsigned int)i), NL_MMAP_STATUS_COPY);
		return i;
	default:
		err = rx_complete(k, (unsigned int)i, msg, len);
		return err < 0 ? err : i;
	}
}

int nlmmap_emu_deliver(struct nlmmap_emu *k, const void *msg, size_t len, enum nlmmap_emu_how how)
{
	int r;

	pthread_mutex_lock(&emu_lock);
	r = deliver(k, msg, len, how);
	pthread_mutex_unlock(&emu_lock);
	return r;
}

int nlmmap_emu_complete(struct nlmmap_emu *k, unsigned int i, const void *msg, size_t len)
{
	int r = -EINVAL;

	pthread_mutex_lock(&emu_lock);
	if (i < ring_frames(&k->rx) && get_status(frame(k, &k->rx, i)) == NL_MMAP_STATUS_RESERVED)
		r = rx_complete(k, i, msg, len);
	pthread_mutex_unlock(&emu_lock);
	return r;
}

unsigned int nlmmap_emu_rx_frames(const struct nlmmap_emu *k)
{
	return ring_frames(&k->rx);
}

unsigned int nlmmap_emu_rx_head(const struct nlmmap_emu *k)
{
	return k->rx.head;
}

int nlmmap_emu_rx_status(const struct nlmmap_emu *k, unsigned int i)
{
	if (i >= ring_frames(&k->rx))
		return -EINVAL;
	return (int)get_status(frame(k, &k->rx, i));
}

void *nlmmap_emu_tx_frame(const struct nlmmap_emu *k, unsigned int i)
{
	return i < ring_frames(&k->tx) ? frame(k, &k->tx, i) : NULL;
}

unsigned int nlmmap_emu_rx_count(const struct nlmmap_emu *k, int status)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ring_frames(&k->rx); i++)
		n += get_status(frame(k, &k->rx, i)) == (unsigned int)status;
	return n;
}

unsigned int nlmmap_emu_frames_owned_by_user(const struct nlmmap_emu *k)
{
	return nlmmap_emu_rx_count(k, NL_MMAP_STATUS_VALID) +
	       nlmmap_emu_rx_count(k, NL_MMAP_STATUS_COPY);
}

unsigned int nlmmap_emu_queued(const struct nlmmap_emu *k)
{
	return k->queued;
}

void nlmmap_emu_counts(const struct nlmmap_emu *k, struct nlmmap_emu_counts *out)
{
	pthread_mutex_lock(&emu_lock);
	*out = k->counts;
	pthread_mutex_unlock(&emu_lock);
}

static int errno_ret(int err)
{
	errno = err;
	return -1;
}

static void env_read(void)
{
	const char *s;

	if (env.read)
		return;
	env.read = true;
	s = getenv("NLMMAP_EMU_SEED");
	env.rng = s ? strtoull(s, NULL, 10) : 1;
	env.rng = env.rng * 0x9E3779B97F4A7C15ull + 1;
	s = getenv("NLMMAP_EMU_RESERVE_PERMILLE");
	env.reserve_permille = s ? (unsigned int)strtoul(s, NULL, 10) : 200;
	s = getenv("NLMMAP_EMU_UNREADABLE_EVERY");
	env.unreadable_every = s ? (unsigned int)strtoul(s, NULL, 10) : 0;
	s = getenv("NLMMAP_EMU_SENDFAIL_EVERY");
	env.sendfail_every = s ? (unsigned int)strtoul(s, NULL, 10) : 0;
#ifdef NLMMAP_EMU_PRELOAD
	fprintf(stderr,
		"nlmmap_emu: seed %s, reserve %u per mille, unreadable every %u, "
		"sendfail every %u\n",
		getenv("NLMMAP_EMU_SEED") ? getenv("NLMMAP_EMU_SEED") : "1", env.reserve_permille,
		env.unreadable_every, env.sendfail_every);
#endif
}

#ifdef NLMMAP_EMU_PRELOAD
/* A number in [0, n) (xorshift64*). */
static unsigned int rnd(unsigned int n)
{
	env.rng ^= env.rng >> 12;
	env.rng ^= env.rng << 25;
	env.rng ^= env.rng >> 27;
	return n ? (unsigned int)((env.rng * 0x2545F4914F6CDD1Dull) >> 33) % n : 0;
}
#endif

static int is_netlink(int fd)
{
	int domain;
	socklen_t len = sizeof(domain);

	return REAL(getsockopt)(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
	       domain == AF_NETLINK;
}

static void emu_free(struct nlmmap_emu *k)
{
	if (k->mem)
		REAL(munmap)(k->mem, k->mem_len);
	queue_purge(k);
	free(k->buf);
	free(k);
}

/* Lay out RX then TX in new memory, keeping the frames of the ring that is not being changed. */
static int relayout(struct nlmmap_emu *k, const struct emu_ring *rx, const struct emu_ring *tx)
{
	size_t len = rx->size + tx->size;
	unsigned char *mem = NULL;

	if (len) {
		mem = REAL(mmap)(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
				 0);
		if (mem == MAP_FAILED)
			return -ENOMEM;
		if (rx->size && rx->size == k->rx.size && k->mem)
			memcpy(mem, k->mem + k->rx.off, rx->size);
		if (tx->size && tx->size == k->tx.size && k->mem)
			memcpy(mem + rx->size, k->mem + k->tx.off, tx->size);
	}
	if (k->mem)
		REAL(munmap)(k->mem, k->mem_len);
	k->mem = mem;
	k->mem_len = len;
	k->rx = *rx;
	k->tx = *tx;
	k->rx.off = 0;
	k->tx.off = rx->size;
	return 0;
}

#ifdef NLMMAP_EMU_PRELOAD
/* Read and drop everything waiting in the real socket. */
static void drain_real(int fd)
{
	unsigned char b[256];

	while (REAL(recv)(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
}
#endif

/* netlink_set_ring(): returns 0 or -errno. */
static int set_ring(struct nlmmap_emu *k, const struct nl_mmap_req *req, bool is_tx)
{
	struct emu_ring n = { 0 }, rx = k->rx, tx = k->tx;
	struct emu_ring *cur = is_tx ? &tx : &rx;

	if (k->mapped)
		return -EBUSY;
#ifdef NLMMAP_EMU_PRELOAD
	/* a build under way in the kernel ends by itself, within microseconds: here, when the
	 * process next calls; one whose message never came is a failed build */
	for (unsigned int j = 0; j < k->n_held; j++)
		rx_complete(k, k->held[j], NULL, 0);
	k->n_held = 0;
#endif
	if (!is_tx && nlmmap_emu_rx_count(k, NL_MMAP_STATUS_RESERVED))
		return -EBUSY; /* the kernel's ring->pending: skbs being built in frames */
	if (req->nm_block_nr) {
		if (cur->req.nm_block_nr)
			return -EBUSY;
		if ((int)req->nm_block_size <= 0 || req->nm_block_size % EMU_PAGE_SIZE)
			return -EINVAL;
		if (req->nm_frame_size < NL_MMAP_HDRLEN ||
		    req->nm_frame_size % NL_MMAP_MSG_ALIGNMENT)
			return -EINVAL;
		n.frames_per_block = req->nm_block_size / req->nm_frame_size;
		if (n.frames_per_block == 0 ||
		    n.frames_per_block * req->nm_block_nr != req->nm_frame_nr)
			return -EINVAL;
		if ((uint64_t)req->nm_block_size * req->nm_block_nr > EMU_RING_MAX)
			return -ENOMEM;
		n.req = *req;
		n.size = (size_t)req->nm_block_size * req->nm_block_nr;
	} else if (req->nm_frame_nr) {
		return -EINVAL;
	}
	*cur = n;
	if (!is_tx) {
		/* the purge of the receive queue, and of the frames in build */
		queue_purge(k);
		k->n_held = 0;
	}
	return relayout(k, &rx, &tx);
}

static int emu_setsockopt(int fd, const void *val, socklen_t len, bool is_tx)
{
	struct nl_mmap_req req;
	struct nlmmap_emu *k;
	int err;

	if (refuse_times) {
		refuse_times--;
		return -refuse_err;
	}
	if (len < sizeof(req))
		return -EINVAL;
	memcpy(&req, val, sizeof(req));
	k = lookup(fd);
#ifdef NLMMAP_EMU_PRELOAD
	/*
	 * netlink_set_ring() purges the receive queue of a socket without an RX ring too: the
	 * messages waiting in the real socket are lost, their packets stay queued (orphans).
	 */
	if (!is_tx && (!k || !ring_frames(&k->rx)))
		drain_real(fd);
#endif
	if (!k && !req.nm_block_nr && !req.nm_frame_nr)
		return 0; /* nothing to keep for a socket without rings */
	if (!k) {
		if (fd >= EMU_FD_MAX)
			return -EMFILE;
		k = calloc(1, sizeof(*k));
		if (!k)
			return -ENOMEM;
		k->fd = fd;
		k->q_tail = &k->q_head;
		emus[fd] = k;
		env_read();
	}
	err = set_ring(k, &req, is_tx);
	return err;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int r;

	if (level != SOL_NETLINK || (name != NETLINK_RX_RING && name != NETLINK_TX_RING) ||
	    !is_netlink(fd))
		return REAL(setsockopt)(fd, level, name, val, len);
	pthread_mutex_lock(&emu_lock);
	r = emu_setsockopt(fd, val, len, name == NETLINK_TX_RING);
	pthread_mutex_unlock(&emu_lock);
	return r < 0 ? errno_ret(-r) : 0;
}

/* The kernel had no getsockopt for the rings: passed through, which answers ENOPROTOOPT. */
int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return REAL(getsockopt)(fd, level, name, val, len);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct nlmmap_emu *k;
	void *r;

	if (fd < 0 || fd >= EMU_FD_MAX)
		return REAL(mmap)(addr, len, prot, flags, fd, off);
	pthread_mutex_lock(&emu_lock);
	k = lookup(fd);
	if (!k) {
		pthread_mutex_unlock(&emu_lock);
		return REAL(mmap)(addr, len, prot, flags, fd, off);
	}
	/* netlink_mmap(): offset 0, the exact size of both rings, at least one ring */
	if (off != 0 || k->mem_len == 0 || len != k->mem_len) {
		pthread_mutex_unlock(&emu_lock);
		errno = EINVAL;
		return MAP_FAILED;
	}
	k->mapped++;
	r = k->mem;
	pthread_mutex_unlock(&emu_lock);
	return r;
}

int munmap(void *addr, size_t len)
{
	pthread_mutex_lock(&emu_lock);
	for (int fd = 0; fd < EMU_FD_MAX; fd++) {
		struct nlmmap_emu *k = emus[fd];

		if (k && k->mem && addr == k->mem && k->mapped) {
			/* the pages stay with the socket, as the kernel's pg_vec does */
			k->mapped--;
			pthread_mutex_unlock(&emu_lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&emu_lock);
	return REAL(munmap)(addr, len);
}

static void emu_report(const struct nlmmap_emu *k)
{
#ifdef NLMMAP_EMU_PRELOAD
	const struct nlmmap_emu_counts *c = &k->counts;

	fprintf(stderr,
		"nlmmap_emu: fd %d closed: delivered %llu copies %llu failed %llu overruns %llu "
		"tx_frames %llu tx_calls %llu tx_failed %llu plain_sends %llu unreadable %llu "
		"held %llu\n",
		k->fd, (unsigned long long)c->delivered, (unsigned long long)c->copies,
		(unsigned long long)c->failed, (unsigned long long)c->overruns,
		(unsigned long long)c->tx_frames, (unsigned long long)c->tx_calls,
		(unsigned long long)c->tx_failed, (unsigned long long)c->plain_sends,
		(unsigned long long)c->unreadable, (unsigned long long)c->held);
#else
	(void)k;
#endif
}

int close(int fd)
{
	struct nlmmap_emu *k = NULL;

	if (fd >= 0 && fd < EMU_FD_MAX) {
		pthread_mutex_lock(&emu_lock);
		k = emus[fd];
		emus[fd] = NULL;
		pthread_mutex_unlock(&emu_lock);
	}
	if (k) {
		emu_report(k);
		emu_free(k);
	}
	return REAL(close)(fd);
}

/* netlink_poll()'s view of the ring. */
static short ring_events(const struct nlmmap_emu *k)
{
	short ev = 0;
	const struct emu_ring *r = &k->rx;

	if (k->queued)
		ev |= POLLIN | POLLRDNORM;
	if (ring_frames(r)) {
		unsigned int prev = r->head ? r->head - 1 : ring_frames(r) - 1;

		if (get_status(frame(k, r, prev)) != NL_MMAP_STATUS_UNUSED ||
		    nlmmap_emu_rx_count(k, NL_MMAP_STATUS_VALID))
			ev |= POLLIN | POLLRDNORM;
	}
	if (ring_frames(&k->tx) &&
	    get_status(frame(k, &k->tx, k->tx.head)) == NL_MMAP_STATUS_UNUSED)
		ev |= POLLOUT | POLLWRNORM;
	return ev;
}

#ifdef NLMMAP_EMU_PRELOAD
/* buf: the first NLMSG_HDRLEN bytes of a datagram of len bytes. */
static int is_packet_msg(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;

	return len >= NLMSG_HDRLEN && nlh->nlmsg_len <= len &&
	       nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
}

/* Remove NFQA_PACKET_HDR from a packet message in place; returns its new length. */
static size_t strip_packet_hdr(unsigned char *buf, size_t len)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	size_t end = nlh->nlmsg_len;

	while (off + NLA_HDRLEN <= end) {
		struct nlattr *a = (struct nlattr *)(buf + off);
		size_t alen = NLA_ALIGN(a->nla_len);

		if (a->nla_len < NLA_HDRLEN || off + alen > end)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
			memmove(buf + off, buf + off + alen, len - off - alen);
			nlh->nlmsg_len -= (uint32_t)alen;
			return len - alen;
		}
		off += alen;
	}
	return len;
}

/* Take one of the frames in build at random. */
static unsigned int held_take(struct nlmmap_emu *k)
{
	unsigned int j = rnd(k->n_held), i = k->held[j];

	memmove(&k->held[j], &k->held[j + 1], (k->n_held - j - 1) * sizeof(k->held[0]));
	memmove(&k->held_new[j], &k->held_new[j + 1], (k->n_held - j - 1) * sizeof(bool));
	k->n_held--;
	return i;
}

/* Frames taken into build ahead of their messages (their ids come later). */
static void held_grow(struct nlmmap_emu *k)
{
	unsigned int more = 1 + rnd(3);

	while (more-- && k->n_held < EMU_HELD_MAX) {
		int i;

		if (get_status(frame(k, &k->rx, k->rx.head)) != NL_MMAP_STATUS_UNUSED)
			return;
		i = rx_take(k);
		k->held[k->n_held] = (unsigned int)i;
		k->held_new[k->n_held++] = true;
	}
}

/* Read one real datagram of len bytes into k->buf. Returns its length or -errno. */
static ssize_t pull_one(struct nlmmap_emu *k, size_t len)
{
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len > k->buf_cap) {
		unsigned char *b = realloc(k->buf, len);

		if (!b)
			return -ENOMEM;
		k->buf = b;
		k->buf_cap = len;
	}
	iov.iov_base = k->buf;
	iov.iov_len = len;
	n = REAL(recvmsg)(k->fd, &mh, MSG_DONTWAIT);
	return n == -1 ? -errno : n;
}

/*
 * Move what the real socket holds into the ring (see the top of this file). Frames in build
 * from an earlier pull that get no message now become failed builds.
 */
static void pull(struct nlmmap_emu *k)
{
	bool overrun = false;
	unsigned int budget;

	if (!ring_frames(&k->rx))
		return;
	for (unsigned int j = 0; j < k->n_held; j++)
		k->held_new[j] = false;
	/* as many messages as the kernel happens to have built by now */
	budget = 1 + rnd(ring_frames(&k->rx));
	while (budget--) {
		unsigned char peek[NLMSG_HDRLEN];
		ssize_t len =
			REAL(recv)(k->fd, peek, sizeof(peek), MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
		bool head_free = get_status(frame(k, &k->rx, k->rx.head)) == NL_MMAP_STATUS_UNUSED;
		bool in_place;
		int i;

		if (len <= 0)
			break;
		in_place = (size_t)len >= NLMSG_HDRLEN && (size_t)len <= frame_room(&k->rx) &&
			   is_packet_msg(peek, (size_t)len);
		if (in_place && env.reserve_permille && rnd(1000) < env.reserve_permille)
			held_grow(k);
		if (!(in_place && k->n_held) && !head_free) {
			/* the real kernel would drop it here; it stays in the socket instead */
			overrun = true;
			break;
		}
		len = pull_one(k, (size_t)len);
		if (len <= 0)
			break;
		if (!in_place) {
			i = rx_take(k);
			queue_add(k, k->buf, (size_t)len);
			fill_hdr(frame(k, &k->rx, (unsigned int)i), (size_t)len);
			k->counts.copies++;
			set_status(frame(k, &k->rx, (unsigned int)i), NL_MMAP_STATUS_COPY);
			continue;
		}
		i = k->n_held ? (int)held_take(k) : rx_take(k);
		k->packets++;
		if (env.unreadable_every && k->packets % env.unreadable_every == 0) {
			len = (ssize_t)strip_packet_hdr(k->buf, (size_t)len);
			k->counts.unreadable++;
		}
		rx_complete(k, (unsigned int)i, k->buf, (size_t)len);
	}
	if (overrun)
		k->counts.overruns++;
	/* builds under way as the reader looks: their ids come with the next messages */
	if (env.reserve_permille && rnd(1000) < env.reserve_permille)
		held_grow(k);
	/* a frame in build since the last call whose message never came: a failed build */
	for (unsigned int j = 0; j < k->n_held;) {
		if (k->held_new[j]) {
			k->counts.held++;
			j++;
			continue;
		}
		rx_complete(k, k->held[j], NULL, 0);
		memmove(&k->held[j], &k->held[j + 1], (k->n_held - j - 1) * sizeof(k->held[0]));
		memmove(&k->held_new[j], &k->held_new[j + 1], (k->n_held - j - 1) * sizeof(bool));
		k->n_held--;
	}
}

/* Whether the ring can take the real socket's next message (else do not wake on it). */
static bool ring_has_room(const struct nlmmap_emu *k)
{
	return get_status(frame(k, &k->rx, k->rx.head)) == NL_MMAP_STATUS_UNUSED || k->n_held;
}
#endif

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * poll()/ppoll() over fds some of which have rings: their readiness is the ring's. The real
 * wait watches the real socket only while the ring has room for its next message (in-process:
 * never, nothing real comes), so that a full ring does not spin.
 */
static int emu_poll(struct pollfd *fds, nfds_t n, int timeout_ms, const sigset_t *mask)
{
	struct pollfd local[64];
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	if (n > 64)
		return REAL(poll)(fds, n, timeout_ms);
	for (;;) {
		int ready = 0, r, wait_ms;
		bool emulated_only = true;

		pthread_mutex_lock(&emu_lock);
		for (nfds_t i = 0; i < n; i++) {
			struct nlmmap_emu *k = lookup(fds[i].fd);

			local[i] = fds[i];
			fds[i].revents = 0;
			if (!k || !ring_frames(&k->rx)) {
				emulated_only = false;
				continue;
			}
#ifdef NLMMAP_EMU_PRELOAD
			pull(k);
			local[i].events = ring_has_room(k) ? POLLIN : 0;
#else
			local[i].events = 0;
#endif
			fds[i].revents = ring_events(k) & (fds[i].events | POLLERR | POLLHUP);
			ready += fds[i].revents != 0;
		}
		pthread_mutex_unlock(&emu_lock);
		wait_ms = ready ? 0 : deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (wait_ms < 0 && deadline >= 0)
			wait_ms = 0;
#ifndef NLMMAP_EMU_PRELOAD
		if (emulated_only)
			wait_ms = 0; /* nothing but the test can deliver: its time is up at once */
#else
		(void)emulated_only;
#endif
		if (mask) {
			struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };

			r = REAL(ppoll)(local, n, wait_ms < 0 ? NULL : &ts, mask);
		} else {
			r = REAL(poll)(local, n, wait_ms);
		}
		if (r == -1)
			return ready ? ready : -1;
		for (nfds_t i = 0; i < n; i++) {
			struct nlmmap_emu *k = nlmmap_emu_of(fds[i].fd);

			if (k && ring_frames(&k->rx)) {
				fds[i].revents |= local[i].revents & (POLLERR | POLLHUP | POLLNVAL);
				continue;
			}
			fds[i].revents = local[i].revents;
		}
		ready = 0;
		for (nfds_t i = 0; i < n; i++)
			ready += fds[i].revents != 0;
		if (ready || wait_ms == 0)
			return ready;
		/* only the real socket of a ring woke: pull it into the ring and look again */
	}
}

static bool any_ring(const struct pollfd *fds, nfds_t n)
{
	bool any = false;

	pthread_mutex_lock(&emu_lock);
	for (nfds_t i = 0; i < n && !any; i++) {
		struct nlmmap_emu *k = lookup(fds[i].fd);

		any = k && ring_frames(&k->rx);
	}
	pthread_mutex_unlock(&emu_lock);
	return any;
}

/*
 * glibc declares poll()'s and ppoll()'s array write-only (attribute access), which it is not:
 * the definitions below read it, as the kernel does.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	if (!any_ring(fds, n))
		return REAL(poll)(fds, n, timeout_ms);
	return emu_poll(fds, n, timeout_ms, NULL);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	int ms = ts ? (int)(ts->tv_sec * 1000 + ts->tv_nsec / 1000000) : -1;

	if (!any_ring(fds, n))
		return REAL(ppoll)(fds, n, ts, mask);
	return emu_poll(fds, n, ms, mask);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Read the receive queue's first message into iov: netlink_recvmsg() on a ring socket. */
static ssize_t queue_read(struct nlmmap_emu *k, const struct iovec *iov, size_t iovlen, int flags,
			  int *msg_flags)
{
	struct emu_msg *m = k->q_head;
	size_t done = 0;

	for (size_t i = 0; i < iovlen && done < m->len; i++) {
		size_t c = iov[i].iov_len < m->len - done ? iov[i].iov_len : m->len - done;

		memcpy(iov[i].iov_base, m->data + done, c);
		done += c;
	}
	if (msg_flags)
		*msg_flags = done < m->len ? MSG_TRUNC : 0;
	ssize_t r = (flags & MSG_TRUNC) ? (ssize_t)m->len : (ssize_t)done;

	if (!(flags & MSG_PEEK)) {
		k->q_head = m->next;
		if (!k->q_head)
			k->q_tail = &k->q_head;
		k->queued--;
		free(m);
	}
	return r;
}

/*
 * A receive on a ring socket: 0 and *out when it is not one; else 1 with *out the result. A
 * blocking one waits (LD_PRELOAD) for the real socket and pulls it into the ring.
 */
static int emu_recv(int fd, const struct iovec *iov, size_t iovlen, int flags, int *msg_flags,
		    ssize_t *out)
{
	struct nlmmap_emu *k;

	if (fd < 0 || fd >= EMU_FD_MAX)
		return 0;
	for (;;) {
		pthread_mutex_lock(&emu_lock);
		k = lookup(fd);
		if (!k || !ring_frames(&k->rx)) {
			pthread_mutex_unlock(&emu_lock);
			return 0;
		}
#ifdef NLMMAP_EMU_PRELOAD
		pull(k);
#endif
		if (k->queued) {
			*out = queue_read(k, iov, iovlen, flags, msg_flags);
			pthread_mutex_unlock(&emu_lock);
			return 1;
		}
		pthread_mutex_unlock(&emu_lock);
#ifdef NLMMAP_EMU_PRELOAD
		if (!(flags & MSG_DONTWAIT)) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (emu_poll(&p, 1, -1, NULL) == -1) {
				*out = -1;
				return 1;
			}
			continue;
		}
#endif
		errno = EAGAIN;
		*out = -1;
		return 1;
	}
}

ssize_t recvmsg(int fd, struct msghdr *mh, int flags)
{
	ssize_t r;

	if (!emu_recv(fd, mh->msg_iov, mh->msg_iovlen, flags, &mh->msg_flags, &r))
		return REAL(recvmsg)(fd, mh, flags);
	if (r >= 0 && mh->msg_name && mh->msg_namelen >= sizeof(struct sockaddr_nl)) {
		struct sockaddr_nl *sa = mh->msg_name;

		memset(sa, 0, sizeof(*sa));
		sa->nl_family = AF_NETLINK; /* from the kernel: port 0 */
		mh->msg_namelen = sizeof(*sa);
	}
	mh->msg_controllen = 0;
	return r;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *flen)
{
	struct iovec iov = { buf, len };
	ssize_t r;

	if (!emu_recv(fd, &iov, 1, flags, NULL, &r))
		return REAL(recvfrom)(fd, buf, len, flags, from, flen);
	if (r >= 0 && from && flen && *flen >= sizeof(struct sockaddr_nl)) {
		struct sockaddr_nl *sa = (struct sockaddr_nl *)from;

		memset(sa, 0, sizeof(*sa));
		sa->nl_family = AF_NETLINK;
		*flen = sizeof(*sa);
	}
	return r;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct iovec iov = { buf, len };
	ssize_t r;

	if (!emu_recv(fd, &iov, 1, flags, NULL, &r))
		return REAL(recv)(fd, buf, len, flags);
	return r;
}

/* One datagram out: the sink in-process, the real socket with LD_PRELOAD. Returns 0 or -errno. */
static int emit(struct nlmmap_emu *k, const void *buf, size_t len, int from_ring)
{
#ifdef NLMMAP_EMU_PRELOAD
	(void)from_ring;
	return REAL(send)(k->fd, buf, len, 0) == -1 ? -errno : 0;
#else
	return k->sink ? k->sink(k->sink_arg, buf, len, from_ring) : 0;
#endif
}

/* netlink_mmap_sendmsg(): returns the bytes sent or -errno. */
static ssize_t tx_send(struct nlmmap_emu *k)
{
	struct emu_ring *r = &k->tx;
	ssize_t total = 0;

	k->counts.tx_calls++;
#ifdef NLMMAP_EMU_PRELOAD
	if (get_status(frame(k, r, r->head)) == NL_MMAP_STATUS_VALID && env.sendfail_every &&
	    ++env.tx_sends % env.sendfail_every == 0) {
		k->counts.tx_failed++;
		return -ENOBUFS;
	}
#endif
	for (;;) {
		struct nl_mmap_hdr *h = frame(k, r, r->head);
		unsigned int len;
		int err;

		if (get_status(h) != NL_MMAP_STATUS_VALID)
			return total;
		len = h->nm_len;
		if (len > frame_room(r)) {
			k->counts.tx_failed++;
			return -EINVAL;
		}
		err = emit(k, (unsigned char *)h + NL_MMAP_HDRLEN, len, 1);
		if (err == -ENOBUFS || err == -ENOMEM) {
			/* the kernel's copy could not be allocated: the frame stays VALID */
			k->counts.tx_failed++;
			return err;
		}
		set_status(h, NL_MMAP_STATUS_UNUSED);
		r->head = r->head + 1 == ring_frames(r) ? 0 : r->head + 1;
		k->counts.tx_frames++;
		if (err < 0) {
			/* netlink_unicast failed after the frame was taken: it is gone */
			k->counts.tx_failed++;
			return err;
		}
		total += len;
	}
}

/* A send on fd: 0 when it is not a ring socket's, else 1 with *out the result. */
static int emu_send(int fd, const void *buf, size_t len, ssize_t *out)
{
	struct nlmmap_emu *k;
	ssize_t r;

	if (fd < 0 || fd >= EMU_FD_MAX)
		return 0;
	pthread_mutex_lock(&emu_lock);
	k = lookup(fd);
	if (!k) {
		pthread_mutex_unlock(&emu_lock);
		return 0;
	}
	if (!buf && ring_frames(&k->tx)) {
		r = tx_send(k);
	} else {
		k->counts.plain_sends++;
#ifdef NLMMAP_EMU_PRELOAD
		(void)len;
		pthread_mutex_unlock(&emu_lock);
		return 0;
#else
		r = emit(k, buf, len, 0);
		r = r < 0 ? r : (ssize_t)len;
#endif
	}
	pthread_mutex_unlock(&emu_lock);
	*out = r < 0 ? errno_ret((int)-r) : r;
	return 1;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
	       socklen_t tolen)
{
	ssize_t r;

	if (!emu_send(fd, buf, len, &r))
		return REAL(sendto)(fd, buf, len, flags, to, tolen);
	return r;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	ssize_t r;

	if (!emu_send(fd, buf, len, &r))
		return REAL(send)(fd, buf, len, flags);
	return r;
}

ssize_t sendmsg(int fd, const struct msghdr *mh, int flags)
{
	unsigned char *flat;
	size_t len = 0, off = 0;
	ssize_t r;

	if (lookup(fd) == NULL)
		return REAL(sendmsg)(fd, mh, flags);
	if (mh->msg_iovlen >= 1 && mh->msg_iov[0].iov_base == NULL) {
		if (!emu_send(fd, NULL, 0, &r))
			return REAL(sendmsg)(fd, mh, flags);
		return r;
	}
#ifdef NLMMAP_EMU_PRELOAD
	return REAL(sendmsg)(fd, mh, flags);
#endif
	for (size_t i = 0; i < mh->msg_iovlen; i++)
		len += mh->msg_iov[i].iov_len;
	flat = malloc(len ? len : 1);
	if (!flat)
		return errno_ret(ENOMEM);
	for (size_t i = 0; i < mh->msg_iovlen; i++) {
		memcpy(flat + off, mh->msg_iov[i].iov_base, mh->msg_iov[i].iov_len);
		off += mh->msg_iov[i].iov_len;
	}
	if (!emu_send(fd, flat, len, &r))
		r = REAL(sendmsg)(fd, mh, flags);
	free(flat);
	return r;
}
