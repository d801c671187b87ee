/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef NFQD_TRANSPORT_INTERNAL_H
#define NFQD_TRANSPORT_INTERNAL_H

#include "nfqd/transport.h"

/*
 * A backend. open() allocates the backend's own state, which starts with struct nfqd_transport
 * so that the generic layer can reach the operations.
 */
struct nfqd_transport_ops {
	const char *name;
	unsigned int caps; /* enum nfqd_transport_cap */
	/* 0 when the backend can work on this kernel, else -errno with *why set. */
	int (*probe)(const char **why);
	int (*open)(struct nfqd_transport **out, int fd, const struct nfqd_transport_params *p,
		    const char **why);
	void (*close)(struct nfqd_transport *t);
	int (*recv)(struct nfqd_transport *t, const struct nfqd_rx_msg **msgs, unsigned int flags);
	void (*release)(struct nfqd_transport *t); /* may be NULL */
	int (*send)(struct nfqd_transport *t, const void *buf, size_t len);
	/* The next three may be NULL when sends complete at once and receives take nothing
	 * ahead of the caller. */
	unsigned int (*tx_errors)(struct nfqd_transport *t, int *err);
	int (*tx_wait)(struct nfqd_transport *t, int timeout_ms);
	int (*rx_stop)(struct nfqd_transport *t, int timeout_ms);
	int (*attach)(struct nfqd_transport *t);	  /* may be NULL */
	int (*caught_up)(const struct nfqd_transport *t); /* may be NULL: never caught up */
	/* may be NULL: nothing counted */
	void (*stats)(const struct nfqd_transport *t, struct nfqd_transport_stats *out);
};

struct nfqd_transport {
	const struct nfqd_transport_ops *ops;
};

/* Raise the send buffer of fd to need bytes: a batch of verdicts must fit it in one datagram
 * (netlink refuses larger ones with EMSGSIZE). Returns 0 or -errno. */
int transport_ensure_sndbuf(int fd, size_t need);

/* send() of len bytes on fd, retried on EINTR and a few times on ENOBUFS/EAGAIN. Returns 0 or
 * -errno. */
int transport_send_now(int fd, const void *buf, size_t len);

/*
 * Take away mmap netlink rings (NETLINK_RX_RING/TX_RING, Linux 3.10-4.5) left on fd, so that a
 * backend reading with recv() finds a plain socket: a predecessor's ring (an mmap nfqd that
 * crashed or handed the socket over) would swallow every message. Setting the rings to nothing
 * also purges the socket's receive queue: the packets of the messages lost stay queued in the
 * kernel under ids below every id read afterwards, the orphans a worker re-queues after a
 * hand-over. A ring still mapped by another process, or with frames in flight (EBUSY), is waited
 * for, up to 3 s. Returns 0 (none left, or a kernel without mmap netlink) or -errno.
 */
int transport_clear_rings(int fd);

/* The reason to give when transport_clear_rings() fails. */
#define TRANSPORT_WHY_RING_LEFT                                                                    \
	"the socket still carries the mmap netlink ring of another process (it did not go away "   \
	"within 3 s)"

extern const struct nfqd_transport_ops nfqd_transport_mmap;
extern const struct nfqd_transport_ops nfqd_transport_mmsg;
extern const struct nfqd_transport_ops nfqd_transport_uring;

#endif /* NFQD_TRANSPORT_INTERNAL_H */
