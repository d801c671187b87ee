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
};

#define NFQD_TRANSPORT_BATCH_MAX 1024

/* nfqd_transport_recv() flags */
enum nfqd_recv_flag {
	NFQD_RECV_NOWAIT = 1u << 0, /* return 0 at once when nothing is waiting */
};

struct nfqd_transport;

/*
 * Open the backend called `name` ("auto" for the first that works) on socket fd.
 * Returns 0 and *out; -ENOENT for an unknown name; -EINVAL for bad params; or the backend's
 * -errno, with *why (if why is not NULL) set to a static sentence saying why it cannot work
 * here (e.g. "kernel has no mmap netlink (removed in 4.6)").
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
 * Receive a batch: waits up to the timeout for the first datagram, then takes what is already
 * there, up to the batch size. *msgs points at the transport's array of datagrams, valid until
 * nfqd_transport_release(). Returns the number of datagrams (0 on timeout, on a signal, or with
 * NFQD_RECV_NOWAIT when nothing waits), or -errno.
 */
int nfqd_transport_recv(struct nfqd_transport *t, const struct nfqd_rx_msg **msgs,
			unsigned int flags);

/* Hand the buffers of the last receive back to the transport. */
void nfqd_transport_release(struct nfqd_transport *t);

/*
 * Send len bytes of concatenated netlink messages in one call (retried on EINTR, and a few times
 * on ENOBUFS/EAGAIN). Returns 0 or -errno.
 */
int nfqd_transport_send(struct nfqd_transport *t, const void *buf, size_t len);

#endif /* NFQD_TRANSPORT_H */
