/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The io_uring backend: one multishot IORING_OP_RECVMSG over a provided-buffer ring takes the
 * queue's messages into buffers shared with the kernel, where the worker parses them in place;
 * verdicts are send SQEs, handed to the kernel together with the wait for the next completions
 * in one io_uring_enter().
 *
 * The ring is created disabled by open() (in the thread that binds the queues) and enabled by
 * nfqd_transport_attach(), in the worker thread: IORING_SETUP_SINGLE_ISSUER and DEFER_TASKRUN make
 * that thread the only one that submits and reaps, and completions are posted only when it
 * asks for them (no task work interrupting it in the middle of a batch).
 *
 * Order: the kernel runs a netlink send to nfnetlink inline, at submission, in the order of the
 * submission queue (a netlink socket never makes a send to the kernel wait), so verdict messages
 * reach the kernel in the order of nfqd_transport_send() as with the mmsg backend.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "transport-internal.h"
#include "uring-ring.h"

/* user_data of the requests: the multishot receive, its cancellation, sends (tag | slot). */
#define TAG_RECV   1ull
#define TAG_CANCEL 2ull
#define TAG_SEND   (1ull << 32)

/* Verdict messages queued or in flight at once; one more waits for the oldest to complete. */
#define TX_SLOTS 8
#define BGID	 0

/*
 * Flags tried in turn: the first the kernel takes is kept. SINGLE_ISSUER with DEFER_TASKRUN
 * against COOP_TASKRUN, same bench (25 alternating rounds, 60,000 packets): 0.95x and 0.97x of
 * mmsg (accept), 1.09x and 1.00x (drop): no difference outside the noise; DEFER_TASKRUN is
 * kept because completions are then posted only inside io_uring_enter(), never in the middle
 * of a batch. Registered file and ring fd are kept (they save a descriptor lookup per call,
 * too small to measure here); sends are IORING_OP_SEND (one buffer, no msghdr to keep alive).
 * About 64 packets per io_uring_enter() in the drain: one call per batch.
 */
static const unsigned int setup_flags[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

struct pending {
	uint16_t bid;
	uint32_t res; /* bytes the kernel wrote into the buffer */
};

struct uring {
	struct nfqd_transport base;
	struct io_uring ring;
	bool ring_ok;
	bool enabled;
	int fd;
	unsigned int batch;
	int timeout_ms;

	/* the provided-buffer ring and its buffers */
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint8_t *bufs;
	size_t buf_size;
	unsigned int entries;
	unsigned int owned; /* buffers out of the kernel's hands: pending or handed out */
	bool armed;	    /* the multishot receive is in the kernel */
	bool stopping;	    /* rx_stop(): never armed again */
	struct msghdr mh;   /* no name, no control: the payload follows the header */
	int rx_err;	    /* an error that ended the receive, for the next recv() */
	uint64_t overruns;  /* receives ended by a full socket (for a debugger) */

	/* completions not yet handed out, oldest first (a circle of `entries`) */
	struct pending *pend;
	unsigned int pend_head, pend_count;
	/* the last receive's datagrams and their buffer ids */
	struct nfqd_rx_msg *rx;
	uint16_t *rx_bid;
	unsigned int n_rx;

	/* transmit buffers, owned until the send completes */
	uint8_t *tx;
	size_t tx_size;
	bool tx_busy[TX_SLOTS];
	unsigned int tx_inflight;
	unsigned int tx_failed;
	int tx_err;
};

/* The reason for a refusal of io_uring_setup(), as the probe and open report it. */
static const char *setup_why(int err)
{
	switch (err) {
	case -ENOSYS:
		return "io_uring: the kernel has no io_uring (5.1+, CONFIG_IO_URING)";
	case -EPERM:
		return "io_uring: refused (kernel.io_uring_disabled, or a seccomp filter denies "
		       "io_uring_setup)";
	case -EINVAL:
		return "io_uring: the kernel lacks a feature it needs (multishot recvmsg 6.0+, "
		       "provided-buffer rings 5.19+)";
	case -ENOMEM:
		return "io_uring: no memory for the ring (RLIMIT_MEMLOCK?)";
	default:
		return "io_uring: io_uring_setup failed";
	}
}

static int ring_init(struct io_uring *ring, unsigned int sq, unsigned int cq, unsigned int extra)
{
	int err = -EINVAL;

	for (size_t i = 0; i < sizeof(setup_flags) / sizeof(setup_flags[0]); i++) {
		struct io_uring_params prm = {
			.flags = setup_flags[i] | extra | IORING_SETUP_CQSIZE,
			.cq_entries = cq,
		};

		err = io_uring_queue_init_params(sq, ring, &prm);
		if (err != -EINVAL)
			return err;
	}
	return err;
}

/*
 * Can io_uring work here: a ring can be set up and takes a provided-buffer ring (5.19+), and the
 * kernel has the ext-arg wait (5.11+) that lets one io_uring_enter() submit and wait with a
 * timeout. Multishot recvmsg (6.0+) cannot be probed by opcode; a kernel without it refuses
 * the receive, which open() does not try: such a kernel also lacks SINGLE_ISSUER, and the
 * receive then reports the error.
 */
static int uring_probe(const char **why)
{
	struct io_uring ring;
	int err = ring_init(&ring, 4, 8, 0);

	if (err < 0) {
		*why = setup_why(err);
		return err;
	}
	if (!(ring.features & IORING_FEAT_EXT_ARG)) {
		*why = "io_uring: the kernel cannot wait with a timeout in io_uring_enter (5.11+)";
		err = -EOPNOTSUPP;
	}
	io_uring_queue_exit(&ring);
	return err;
}

static void uring_close(struct nfqd_transport *t)
{
	struct uring *u = (struct uring *)t;

	if (u->ring_ok)
		io_uring_queue_exit(&u->ring);
	if (u->br)
		munmap(u->br, u->br_len);
	if (u->bufs)
		munmap(u->bufs, u->buf_size * u->entries);
	free(u->tx);
	free(u->rx_bid);
	free(u->rx);
	free(u->pend);
	free(u);
}

static uint8_t *buf_of(const struct uring *u, unsigned int bid)
{
	return u->bufs + (size_t)bid * u->buf_size;
}

/* Give buffers back to the kernel; the ring's tail moves once for all of them. */
static void give_back(struct uring *u, const uint16_t *bids, unsigned int n)
{
	int mask = io_uring_buf_ring_mask(u->entries);

	for (unsigned int i = 0; i < n; i++)
		io_uring_buf_ring_add(u->br, buf_of(u, bids[i]), (unsigned int)u->buf_size, bids[i],
				      mask, (int)i);
	io_uring_buf_ring_advance(u->br, (int)n);
	u->owned -= n;
}

static int buf_ring_setup(struct uring *u)
{
	struct io_uring_buf_reg reg = { .ring_entries = u->entries, .bgid = BGID };
	int mask = io_uring_buf_ring_mask(u->entries);
	int err;

	u->br_len = (size_t)u->entries * sizeof(struct io_uring_buf);
	u->br = mmap(NULL, u->br_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (u->br == MAP_FAILED) {
		u->br = NULL;
		return -errno;
	}
	reg.ring_addr = (unsigned long)u->br;
	err = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (err < 0)
		return err;
	io_uring_buf_ring_init(u->br);
	for (unsigned int i = 0; i < u->entries; i++)
		io_uring_buf_ring_add(u->br, buf_of(u, i), (unsigned int)u->buf_size, (uint16_t)i,
				      mask, (int)i);
	io_uring_buf_ring_advance(u->br, (int)u->entries);
	u->owned = 0;
	return 0;
}

/*
 * The ring, disabled until a thread attaches (uring_attach()), with the socket registered and
 * every buffer in the provided-buffer ring.
 */
static int ring_build(struct uring *u, const char **why)
{
	/* Room for every buffer's completion, the sends and the cancellation. */
	int err = ring_init(&u->ring, 2 * TX_SLOTS, 2 * u->entries + 4 * TX_SLOTS,
			    IORING_SETUP_R_DISABLED);

	if (err < 0) {
		*why = setup_why(err);
		return err;
	}
	u->ring_ok = true;
	err = io_uring_register_files(&u->ring, &u->fd, 1);
	if (err < 0) {
		*why = "io_uring: cannot register the queue's socket";
		return err;
	}
	err = buf_ring_setup(u);
	if (err < 0) {
		*why = "io_uring: cannot register a provided-buffer ring (5.19+)";
		return err;
	}
	u->armed = false;
	u->stopping = false;
	u->enabled = false;
	return 0;
}

static int uring_open(struct nfqd_transport **out, int fd, const struct nfqd_transport_params *p,
		      const char **why)
{
	struct uring *u = calloc(1, sizeof(*u));
	int err = -ENOMEM;

	if (!u)
		return -ENOMEM;
	u->base.ops = &nfqd_transport_uring;
	u->fd = fd;
	u->batch = p->batch;
	u->timeout_ms = p->timeout_ms;
	u->entries = nfqd_uring_ring_entries(p->batch);
	u->buf_size = nfqd_uring_buf_size(p->msg_size, sizeof(struct io_uring_recvmsg_out));
	/* Worst case per verdict as mmsg: under 128 bytes. */
	u->tx_size = (size_t)p->batch * 128 + 4096;

	u->pend = calloc(u->entries, sizeof(*u->pend));
	u->rx = calloc(p->batch, sizeof(*u->rx));
	u->rx_bid = calloc(p->batch, sizeof(*u->rx_bid));
	u->tx = malloc(u->tx_size * TX_SLOTS);
	if (!u->pend || !u->rx || !u->rx_bid || !u->tx)
		goto err;

	if (p->adopted) {
		err = transport_clear_rings(fd);
		/* Only a ring that stays (EBUSY) stops reading; another refusal (EPERM: no
		 * CAP_NET_ADMIN, which verdicts need too) is for the first send to report. */
		if (err == -EBUSY) {
			*why = TRANSPORT_WHY_RING_LEFT;
			goto err;
		}
	}
	u->bufs = mmap(NULL, u->buf_size * u->entries, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (u->bufs == MAP_FAILED) {
		u->bufs = NULL;
		err = -errno;
		goto err;
	}
	err = ring_build(u, why);
	if (err < 0)
		goto err;
	err = transport_ensure_sndbuf(fd, u->tx_size);
	if (err < 0)
		goto err;
	*out = &u->base;
	return 0;
err:
	uring_close(&u->base);
	return err;
}

/*
 * The calling thread takes the ring: it alone submits from now on. A thread that takes it after
 * another (the workers started again after a failed upgrade) gets a new ring: the old one
 * belongs to its first thread. Its buffers are all the kernel's then: the hand-over that ended
 * the first thread answered every message taken.
 */
static int uring_attach(struct nfqd_transport *t)
{
	struct uring *u = (struct uring *)t;
	const char *why = NULL;

	if (u->enabled) {
		int err;

		io_uring_queue_exit(&u->ring);
		u->ring_ok = false;
		munmap(u->br, u->br_len);
		u->br = NULL;
		u->pend_count = 0;
		u->n_rx = 0;
		memset(u->tx_busy, 0, sizeof(u->tx_busy));
		u->tx_inflight = 0;
		err = ring_build(u, &why);
		if (err < 0)
			return err;
	}
	/* liburing 2.3 declares io_uring_enable_rings() but does not export it. */
	if (syscall(__NR_io_uring_register, u->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
		    0) == -1)
		return -errno;
	/* Saves looking the ring's descriptor up at every io_uring_enter(); optional. */
	(void)io_uring_register_ring_fd(&u->ring);
	u->enabled = true;
	return 0;
}

static struct io_uring_sqe *get_sqe(struct uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		/* full of sends not yet handed over: hand them over now */
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void arm(struct uring *u)
{
	struct io_uring_sqe *sqe;

	if (u->armed || u->stopping || u->owned >= u->entries)
		return;
	sqe = get_sqe(u);
	if (!sqe)
		return;
	io_uring_prep_recvmsg_multishot(sqe, 0, &u->mh, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, TAG_RECV);
	u->armed = true;
}

static void on_recv(struct uring *u, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		u->armed = false;
	if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		struct pending *pd = &u->pend[(u->pend_head + u->pend_count) % u->entries];

		pd->bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		pd->res = (uint32_t)cqe->res;
		u->pend_count++;
		u->owned++;
		return;
	}
	if (cqe->res == -ENOBUFS) {
		/*
		 * An empty ring is re-armed once buffers come back (arm() waits for them). An
		 * overrun lost messages in the socket, which the kernel counts (the queue's
		 * user_dropped, reported as enobufs, as for mmsg): re-armed at the next receive.
		 */
		if (nfqd_uring_enobufs_kind(u->entries, u->owned) == NFQD_URING_OVERRUN)
			u->overruns++;
		return;
	}
	if (cqe->res < 0 && cqe->res != -ECANCELED && cqe->res != -EINTR)
		u->rx_err = cqe->res;
}

static void on_send(struct uring *u, const struct io_uring_cqe *cqe)
{
	unsigned int slot = (unsigned int)(cqe->user_data & (TAG_SEND - 1));

	if (slot < TX_SLOTS && u->tx_busy[slot]) {
		u->tx_busy[slot] = false;
		u->tx_inflight--;
	}
	if (cqe->res < 0) {
		if (u->tx_failed++ == 0)
			u->tx_err = cqe->res;
	}
}

/* Take every completion posted so far. */
static void reap(struct uring *u)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		if (cqe->user_data == TAG_RECV)
			on_recv(u, cqe);
		else if (cqe->user_data & TAG_SEND)
			on_send(u, cqe);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
}

/*
 * Submit what is queued and let the kernel post completions; with wait, block until at least
 * one comes or timeout_ms passes. A signal ends the wait (-EINTR), as the worker's stop needs.
 */
static int enter(struct uring *u, bool wait, int timeout_ms)
{
	int r;

	if (wait) {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};
		struct io_uring_cqe *cqe;

		r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	} else {
		r = io_uring_submit_and_get_events(&u->ring);
	}
	reap(u);
	if (r == -EAGAIN || r == -EBUSY || (r > 0))
		return 0;
	return r < 0 ? r : 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One turn of a wait for completions that has a deadline: submit, wait up to 100 ms (less when
 * the deadline is nearer) and reap. Returns 0 to look again, -ETIMEDOUT once the deadline has
 * passed, or an error of io_uring_enter() other than a timeout or a signal.
 */
static int enter_until(struct uring *u, long long deadline)
{
	long long left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = enter(u, true, (int)(left < 100 ? left : 100));
	return r == -ETIME || r == -EINTR ? 0 : r;
}

/*
 * Wait up to timeout_ms for a received message, a signal or a receive error. Send completions
 * alone do not end the wait: a send the kernel refuses at once would otherwise make the
 * worker's retry of its sweep a busy loop. Their errors are read after the wait returns
 * (nfqd_transport_tx_errors()), as mmsg's worker learns of a failed send at its next turn.
 */
static int wait_rx(struct uring *u, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return 0;
		/* again after a multishot ended by an empty ring or an overrun */
		arm(u);
		r = enter(u, true, (int)left);
		if (r == -EINTR || r == -ETIME)
			return 0;
		if (r < 0)
			return r;
		if (u->pend_count > 0 || u->rx_err)
			return 0;
	}
}

static void uring_release(struct nfqd_transport *t)
{
	struct uring *u = (struct uring *)t;

	if (u->n_rx)
		give_back(u, u->rx_bid, u->n_rx);
	u->n_rx = 0;
}

static int uring_recv(struct nfqd_transport *t, const struct nfqd_rx_msg **msgs, unsigned int flags)
{
	struct uring *u = (struct uring *)t;
	unsigned int n = 0;
	int r;

	uring_release(t);
	if (!u->enabled)
		return -EBADFD;
	reap(u);
	if (u->pend_count == 0 && !(flags & NFQD_RECV_NOWAIT)) {
		r = wait_rx(u, u->timeout_ms);
		if (r < 0)
			return r;
	} else if (u->pend_count == 0) {
		arm(u);
		r = enter(u, false, 0);
		/* a multishot ended by an empty ring or an overrun: once more at once */
		if (r == 0 && u->pend_count == 0 && !u->armed && !u->stopping && !u->rx_err) {
			arm(u);
			r = enter(u, false, 0);
		}
		if (r < 0 && r != -EINTR)
			return r;
	} else if (io_uring_sq_ready(&u->ring)) {
		/* the last batch's verdicts go now, and what came meanwhile comes with them */
		r = enter(u, false, 0);
		if (r < 0 && r != -EINTR)
			return r;
	}
	if (u->pend_count == 0 && u->rx_err) {
		r = u->rx_err;
		u->rx_err = 0;
		return r;
	}

	while (n < u->batch && u->pend_count > 0) {
		const struct pending *pd = &u->pend[u->pend_head];
		struct io_uring_recvmsg_out *o;
		uint8_t *buf = buf_of(u, pd->bid);

		u->pend_head = (u->pend_head + 1) % u->entries;
		u->pend_count--;
		u->rx_bid[n] = pd->bid;
		o = io_uring_recvmsg_validate(buf, (int)pd->res, &u->mh);
		if (!o) {
			/* shorter than its own header: an empty datagram */
			u->rx[n].data = buf;
			u->rx[n].len = 0;
			u->rx[n].flags = 0;
		} else {
			u->rx[n].data = io_uring_recvmsg_payload(o, &u->mh);
			u->rx[n].len = io_uring_recvmsg_payload_length(o, (int)pd->res, &u->mh);
			u->rx[n].flags = (o->flags & MSG_TRUNC) ? NFQD_RX_TRUNC : 0;
		}
		n++;
	}
	u->n_rx = n;
	*msgs = u->rx;
	return (int)n;
}

static int uring_send(struct nfqd_transport *t, const void *buf, size_t len)
{
	struct uring *u = (struct uring *)t;
	struct io_uring_sqe *sqe;
	long long deadline = 0;
	unsigned int slot;

	/* longer than a transmit buffer: at once, as mmsg sends */
	if (len > u->tx_size || !u->enabled)
		return transport_send_now(u->fd, buf, len);
	for (;;) {
		int r;

		for (slot = 0; slot < TX_SLOTS && u->tx_busy[slot]; slot++)
			;
		if (slot < TX_SLOTS)
			break;
		/* every slot is the kernel's: wait (up to 1 s) for the oldest send to complete */
		if (!deadline)
			deadline = now_ms() + 1000;
		r = enter_until(u, deadline);
		if (r < 0)
			return r;
	}
	sqe = get_sqe(u);
	if (!sqe)
		return -EBUSY;
	memcpy(u->tx + slot * u->tx_size, buf, len);
	io_uring_prep_send(sqe, 0, u->tx + slot * u->tx_size, len, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, TAG_SEND | slot);
	u->tx_busy[slot] = true;
	u->tx_inflight++;
	return 0;
}

static unsigned int uring_tx_errors(struct nfqd_transport *t, int *err)
{
	struct uring *u = (struct uring *)t;
	unsigned int n = u->tx_failed;

	if (n)
		*err = u->tx_err;
	u->tx_failed = 0;
	u->tx_err = 0;
	return n;
}

static int uring_tx_wait(struct nfqd_transport *t, int timeout_ms)
{
	struct uring *u = (struct uring *)t;
	long long deadline = now_ms() + timeout_ms;

	if (!u->enabled)
		return 0;
	while (u->tx_inflight > 0 || io_uring_sq_ready(&u->ring)) {
		int r = enter_until(u, deadline);

		if (r < 0)
			return r;
	}
	return 0;
}

static int uring_rx_stop(struct nfqd_transport *t, int timeout_ms)
{
	struct uring *u = (struct uring *)t;
	long long deadline = now_ms() + timeout_ms;
	struct io_uring_sqe *sqe;

	u->stopping = true;
	if (!u->armed)
		return 0;
	sqe = get_sqe(u);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, TAG_RECV, 0);
	io_uring_sqe_set_data64(sqe, TAG_CANCEL);
	/* the receive's last completion (-ECANCELED, no F_MORE) says it is gone */
	while (u->armed) {
		int r = enter_until(u, deadline);

		if (r < 0)
			return r;
	}
	return 0;
}

const struct nfqd_transport_ops nfqd_transport_uring = {
	.name = "uring",
	.caps = NFQD_TRANSPORT_ORDERED | NFQD_TRANSPORT_ASYNC_TX,
	.probe = uring_probe,
	.open = uring_open,
	.close = uring_close,
	.recv = uring_recv,
	.release = uring_release,
	.send = uring_send,
	.tx_errors = uring_tx_errors,
	.tx_wait = uring_tx_wait,
	.rx_stop = uring_rx_stop,
	.attach = uring_attach,
};
