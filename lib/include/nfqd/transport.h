/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transports: how batches of queue messages come in and verdict messages go out.
 *
 * A transport works on a queue's socket (it does not own it) and is one of a table of backends,
 * each a const table of operations. "auto" takes the first backend, in a measured order of
 * preference, that opens on this kernel; a backend named in the config that cannot open is an
 * error that says why.
 */
#ifndef NFQD_TRANSPORT_H
#define NFQD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* nfqd_rx_msg.flags */
enum nfqd_rx_flag {
	NFQD_RX_TRUNC = 1u << 0, /* the datagram was longer than the buffer: len bytes kept */
};

/* One received datagram: one or more netlink messages, in the transport's buffer. */
struct nfqd_rx_msg {
	const void *data;
	uint32_t len;	/* bytes received */
	uint32_t flags; /* enum nfqd_rx_flag */
};

struct nfqd_transport_params {
	unsigned int batch; /* datagrams per receive, 1..NFQD_TRANSPORT_BATCH_MAX */
	size_t msg_size;    /* buffer bytes per datagram (nfqd_queue_msg_size()), 64..1 MiB */
	int timeout_ms;	    /* a receive with nothing to read returns 0 after this long; >= 1 */
	unsigned int depth; /* the queue's max-len: packets the kernel may hold (0: 8192); the
			       mmap ring sizes its RX frames by it */
	bool adopted;	    /* the socket comes from a predecessor (hand-over, fd store): it may
			       carry the mmap ring of an mmap nfqd, which the other backends take
			       away (transport_clear_rings()) */
};

#define NFQD_TRANSPORT_BATCH_MAX 1024

/* nfqd_transport_recv() flags */
enum nfqd_recv_flag {
	NFQD_RECV_NOWAIT = 1u << 0, /* return 0 at once when nothing is waiting */
};

struct nfqd_transport;

/* What a backend promises (nfqd_transport_caps()). */
enum nfqd_transport_cap {
	/*
	 * Packet messages come in the order of their ids: the caller may give its batcher
	 * NFQD_BATCHER_ORDERED (batch verdicts, sweeps) only then.
	 */
	NFQD_TRANSPORT_ORDERED = 1u << 0,
	/*
	 * A send is only queued when nfqd_transport_send() returns: the kernel takes it at the
	 * next receive (or nfqd_transport_tx_wait()), and a failure comes later, from
	 * nfqd_transport_tx_errors().
	 */
	NFQD_TRANSPORT_ASYNC_TX = 1u << 1,
};

/*
 * Open the backend called `name` ("auto" for the first that works) on socket fd.
 * Returns 0 and *out; -ENOENT for an unknown name; -EINVAL for bad params; or the backend's
 * -errno, with *why (if why is not NULL) set to a static sentence saying why it cannot work
 * here (e.g. "kernel has no mmap netlink (removed in 4.6)").
 * With "auto", *why is also set on success when a backend preferred to the one opened could not
 * open (the first such reason, naming its backend), else to NULL: the caller says so once.
 */
int nfqd_transport_open(struct nfqd_transport **out, const char *name, int fd,
			const struct nfqd_transport_params *p, const char **why);

/* Close the transport (not the socket); NULL is accepted. */
void nfqd_transport_close(struct nfqd_transport *t);

/* The backend's name ("mmsg", ...). */
const char *nfqd_transport_name(const struct nfqd_transport *t);

/* 1 when `name` is "auto" or a backend this build has, else 0. */
int nfqd_transport_known(const char *name);

/* The names this build accepts, for messages: "auto, mmsg". */
const char *nfqd_transport_names(void);

/*
 * The calling thread takes the transport: from now on only it receives and sends (a ring backend
 * binds its ring to one thread). Call it at the start of the thread that serves the queue, again
 * from a new thread when another had it (that one must have stopped: nfqd_transport_rx_stop(),
 * its messages answered, nfqd_transport_tx_wait()). Returns 0 or -errno.
 */
int nfqd_transport_attach(struct nfqd_transport *t);

/* enum nfqd_transport_cap bits of t's backend. */
unsigned int nfqd_transport_caps(const struct nfqd_transport *t);

/*
 * Receive a batch: waits up to the timeout for the first datagram, then takes what is already
 * there, up to the batch size. *msgs points at the transport's array of datagrams, valid until
 * nfqd_transport_release(). Returns the number of datagrams (0 on timeout, on a signal, or with
 * NFQD_RECV_NOWAIT when nothing waits), or -errno.
 */
int nfqd_transport_recv(struct nfqd_transport *t, const struct nfqd_rx_msg **msgs,
			unsigned int flags);

/*
 * Hand the buffers of the last receive back to the transport, for the kernel to fill again.
 * Call it after the verdicts of their packets have been given to nfqd_transport_send(): a
 * verdict message never points into a receive buffer (send() copies or sends at once), so
 * "after the verdicts are queued" is enough, and a ring backend then never hands the kernel a
 * buffer whose packet is still unanswered.
 */
void nfqd_transport_release(struct nfqd_transport *t);

/*
 * Send len bytes of concatenated netlink messages as one datagram. buf stays the caller's: a
 * backend with NFQD_TRANSPORT_ASYNC_TX copies it into a transmit buffer it owns and keeps that
 * alive until the kernel has consumed it; the others send at once (retried on EINTR, and a few
 * times on ENOBUFS/EAGAIN). Messages go to the kernel in the order of the calls.
 * Returns 0 (sent, or queued with ASYNC_TX) or -errno (nothing was sent).
 */
int nfqd_transport_send(struct nfqd_transport *t, const void *buf, size_t len);

/*
 * Sends whose completion reported an error since the last call: their count (0 for a backend
 * that sends at once, whose send() returns the error itself), with the first error in *err.
 * The caller treats each as send() failing: those packets are still queued.
 */
unsigned int nfqd_transport_tx_errors(struct nfqd_transport *t, int *err);

/*
 * Hand every queued send to the kernel and wait for their completions, up to timeout_ms.
 * Returns 0 (then nfqd_transport_tx_errors() says which failed) or -errno (-ETIMEDOUT).
 */
int nfqd_transport_tx_wait(struct nfqd_transport *t, int timeout_ms);

/*
 * Stop taking messages from the socket, for a hand-over: what the transport has already taken
 * from the socket is still returned by the next receives (then they return 0); what is still in
 * the socket stays there, for the next reader. Waits up to timeout_ms. Returns 0 or -errno.
 */
int nfqd_transport_rx_stop(struct nfqd_transport *t, int timeout_ms);

/*
 * For a backend without NFQD_TRANSPORT_ORDERED (the mmap ring, whose frame order is the order the
 * kernel allocated frames in, not the order of packet ids): 1 when the last
 * nfqd_transport_recv() left nothing the kernel had begun to deliver, so that every packet the
 * kernel had given an id before that receive looked has had its message returned by it or by an
 * earlier receive (or was never queued). A caller that has added the verdicts of everything it
 * read may then cover "every queued id up to the highest read" with one batch verdict sent after
 * those verdicts: it reaches only packets whose messages could not be read. 0 otherwise, and
 * always 0 for a backend that does not say (the ordered ones need not).
 */
int nfqd_transport_caught_up(const struct nfqd_transport *t);

/* What a ring backend counts (nfqd_transport_stats()); all 0 for the others. */
struct nfqd_transport_stats {
	uint64_t ring_full;    /* receives that found every RX frame holding a message */
	uint64_t ring_copies;  /* COPY frames: messages too long for a frame, read with recv() */
	uint64_t ring_empty;   /* zero-length VALID frames (a message the kernel failed to build) */
	uint64_t tx_ring_full; /* verdict sends (or their tails) that went by send() for want of
				  free TX frames */
};

/* The counters since open. Safe to call from any thread while the owner receives and sends. */
void nfqd_transport_stats(const struct nfqd_transport *t, struct nfqd_transport_stats *out);

#endif /* NFQD_TRANSPORT_H */
