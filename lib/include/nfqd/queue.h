/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One nfnetlink_queue instance: its netlink socket, binding and configuration.
 *
 * A queue takes packets from the moment its bind is answered: it is bound with its max-len, and
 * the socket's receive buffer holds their messages until a reader comes (nothing is lost
 * between the bind and the first read). nfqd_queue_freeze() stops new packets (max-len 0) so
 * that the packets already queued can be drained and given their verdicts before unbinding:
 * every packet that entered the queue then gets nfqd's verdict, none the kernel's flush;
 * nfqd_queue_start() lets them in again.
 *
 * Start and freeze are asynchronous: the kernel's answer arrives on the socket among packet
 * messages, as an NLMSG_ERROR carrying the request's sequence number (error 0 is success).
 */
#ifndef NFQD_QUEUE_H
#define NFQD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits of the kernel. */
#define NFQD_COPY_RANGE_MAX 65531 /* 0xffff minus an attribute header */

struct nfqd_queue_config {
	uint16_t num;	     /* queue number */
	uint32_t copy_range; /* bytes of each packet copied to user space, 1..NFQD_COPY_RANGE_MAX */
	uint32_t max_len;    /* kernel queue length, >= 1 */
	bool fail_open;	     /* queue or socket full: the kernel accepts (else drops) */
	bool gso;	     /* NFQA_CFG_F_GSO: GSO packets queued whole, not segmented */
	bool conntrack;	     /* ask for NFQA_CFG_F_CONNTRACK (conntrack data in each message,
				connmark in verdicts); kernels without it are used without */
	uint32_t rcvbuf;     /* socket receive buffer, bytes; 0: sized so max_len messages fit */
	uint64_t
		rcvbuf_max; /* cap on the receive buffer, bytes; 0: NFQD_QUEUE_RCVBUF_MAX_DEFAULT */
};

/*
 * Default cap on a queue socket's receive buffer: what the kernel may pin for one queue's
 * undelivered messages. Sized for max-len 8192 at copy ranges up to about 3 KiB; beyond the
 * cap, messages the socket cannot hold are lost to it (counted as enobufs: SK_MEMINFO_DROPS)
 * and the kernel applies the queue's fail-open choice, instead of a flood pinning up to 2 GiB.
 */
#define NFQD_QUEUE_RCVBUF_MAX_DEFAULT (64ull << 20)

/* One line of /proc/net/netfilter/nfnetlink_queue (the kernel's view of a queue). */
struct nfqd_queue_kstats {
	uint32_t portid; /* netlink port of the bound socket */
	uint32_t queued; /* packets waiting for a verdict now */
	uint32_t copy_mode;
	uint32_t copy_range;
	uint32_t full_dropped; /* dropped because the queue was full (fail-closed) */
	uint32_t user_dropped; /* dropped because the socket buffer was full (fail-closed) */
	uint32_t last_id;      /* id of the last packet queued */
};

struct nfqd_queue;

/*
 * Open a netlink socket, size its receive buffer (SO_RCVBUFFORCE, falling back to SO_RCVBUF),
 * set NETLINK_NO_ENOBUFS (losses are counted by nfqd_queue_drops(), not reported as errors)
 * and NETLINK_CAP_ACK where the kernel has it (nfqd_queue_has_cap_ack()), bind the queue with
 * copy range, max-len and flags (fail-open, GSO) in one request. The queue takes packets at once:
 * their messages, and possibly the bind's success answer after them, are left in the socket for the
 * reader.
 *
 * Returns 0 and *out, or: -EBUSY when another socket has the queue bound, -EPERM without
 * CAP_NET_ADMIN, -EOPNOTSUPP when the kernel refuses a flag, -EINVAL for a bad config, or
 * another -errno from the socket calls. Must be called in the network namespace of the queue.
 */
int nfqd_queue_open(struct nfqd_queue **out, const struct nfqd_queue_config *cfg);

/*
 * Unbind the queue (every packet still queued is dropped by the kernel) and close the socket.
 * NULL is accepted.
 */
void nfqd_queue_free(struct nfqd_queue *q);

/*
 * Adopt fd, a queue socket a previous process bound (handed over through the systemd fd store
 * or across exec), like libmnl's mnl_socket_fdopen(): check that fd is an AF_NETLINK /
 * NETLINK_NETFILTER socket and that /proc/net/netfilter/nfnetlink_queue lists queue cfg->num
 * as bound to its port id, then apply cfg's receive buffer, socket options, copy range and
 * flags with the socket's own requests (no BIND: the kernel refuses a second one), max-len
 * included: the queue stays bound and takes packets throughout. The packet messages already in
 * the socket stay there for the caller, except when the kernel's answer must be awaited: when
 * cfg->conntrack asks for conntrack data, or when the proc file cannot be read (not root):
 * the answer is then the proof of ownership. The messages before it are read and not
 * answered (they join the packets a previous reader left without a verdict:
 * nfqd_batcher_orphans(), nfqd_queue_skipped()).
 *
 * Returns 0 and *out (which then owns fd), or: -EPROTOTYPE when fd is not a netfilter netlink
 * socket, -ENOENT when the queue is not bound, -EBUSY when another port has it, -EINVAL for a
 * bad config, or another -errno (-ENOTSOCK, -EBADF from the checks). On error fd stays the
 * caller's, open.
 */
int nfqd_queue_adopt(struct nfqd_queue **out, int fd, const struct nfqd_queue_config *cfg);

/*
 * Whether nfqd_queue_adopt() read packet messages while it waited for the kernel's answer and
 * left them unanswered; *upto then holds the highest of their ids (re-queue up to it when no
 * later packet comes: nfqd_batcher_orphans_upto()).
 */
bool nfqd_queue_skipped(const struct nfqd_queue *q, uint32_t *upto);

/*
 * Give up q without unbinding or closing its socket: the kernel queue stays bound, packets keep
 * being queued (up to max-len) for whoever holds the descriptor next. Returns the descriptor,
 * now the caller's, or -EBADF for NULL.
 */
int nfqd_queue_detach(struct nfqd_queue *q);

/*
 * Ask the kernel to unbind queue num from fd (a queue socket nfqd will not serve): every packet
 * still queued is dropped by the kernel. The descriptor stays open. Returns 0 or -errno.
 */
int nfqd_queue_unbind_fd(int fd, uint16_t num);

/*
 * Whether fd is a netfilter netlink socket; its port id in *portid. Returns 0, -EPROTOTYPE for
 * another kind of socket, or -errno (-ENOTSOCK, -EBADF).
 */
int nfqd_queue_check_fd(int fd, uint32_t *portid);

/*
 * Whether a queue is bound to portid, from its proc line: ks and the result kstats_err of
 * reading it. Returns 0, kstats_err when negative (-ENOENT: not bound), or -EBUSY when another
 * port holds it. Pure.
 */
int nfqd_queue_owner_check(const struct nfqd_queue_kstats *ks, int kstats_err, uint32_t portid);

/* Let packets in: set max-len to the configured value. Returns the request's sequence number
 * (> 0), or -errno when it could not be sent. */
int nfqd_queue_start(struct nfqd_queue *q);

/* Stop new packets (max-len 0; they take the fail side). Returns the request's sequence number
 * (> 0): once its answer is read, every packet that entered the queue has been delivered to the
 * socket before it. Or -errno. */
int nfqd_queue_freeze(struct nfqd_queue *q);

/* The socket, for the transport. Owned by the queue. */
int nfqd_queue_fd(const struct nfqd_queue *q);

/* Queue number, netlink port id, and the receive buffer the kernel granted (bytes). */
uint16_t nfqd_queue_num(const struct nfqd_queue *q);
uint32_t nfqd_queue_portid(const struct nfqd_queue *q);
uint32_t nfqd_queue_rcvbuf(const struct nfqd_queue *q);

/* Whether the kernel gives conntrack data (NFQA_CT) in this queue's messages and takes a
 * connmark in verdicts: asked for and supported (CONFIG_NETFILTER_NETLINK_GLUE_CT). */
bool nfqd_queue_has_conntrack(const struct nfqd_queue *q);

/* The configuration the queue was opened with. */
const struct nfqd_queue_config *nfqd_queue_config(const struct nfqd_queue *q);

/*
 * Whether the kernel took NETLINK_CAP_ACK on the queue socket (Linux 4.3+). Without it the
 * queue works the same, but an error answer echoes the whole request it refuses.
 */
bool nfqd_queue_has_cap_ack(const struct nfqd_queue *q);

/*
 * Whether getsockopt(SO_MEMINFO) reports the socket's drops (Linux 4.12+). Without it
 * nfqd_queue_drops() counts from the kernel's per-queue user_dropped column instead.
 */
bool nfqd_queue_has_meminfo(const struct nfqd_queue *q);

/*
 * Messages the kernel could not deliver because the receive buffer was full, since the socket
 * was opened (SO_MEMINFO drops). Where SO_MEMINFO is missing (nfqd_queue_has_meminfo() false):
 * the queue's user_dropped of /proc/net/netfilter/nfnetlink_queue since the queue was bound
 * (across a hand-over too): the messages a full socket lost, as those kernels drop them whatever
 * fail-open says (a newer kernel refusing SO_MEMINFO leaves out the ones fail-open accepted).
 * Safe to call from any thread. Returns 0 or -errno.
 */
int nfqd_queue_drops(const struct nfqd_queue *q, uint64_t *drops);

/*
 * Read the kernel's line for queue `num` from /proc/net/netfilter/nfnetlink_queue of the
 * caller's network namespace. Returns 0, -ENOENT when the queue is not bound, or -errno.
 */
int nfqd_queue_kstats(uint16_t num, struct nfqd_queue_kstats *ks);

/*
 * Parse one line of /proc/net/netfilter/nfnetlink_queue (NUL-terminated, as fgets() reads it):
 * the queue number into *num and the rest into *ks. Returns 0, or -EINVAL when the line does
 * not hold the eight numbers of a queue line (*num and *ks then untouched). Pure.
 */
int nfqd_queue_kstats_parse(const char *line, uint32_t *num, struct nfqd_queue_kstats *ks);

/*
 * nfqd_queue_kstats() for q's own queue, read through the proc file opened when q was bound: it
 * keeps working after the process has given up the right to open the file (root-only, 0440), and
 * reads the namespace q was bound in. Safe to call from any thread. Returns 0, -ENOENT when
 * the queue is not listed, or -errno.
 */
int nfqd_queue_kstats_of(const struct nfqd_queue *q, struct nfqd_queue_kstats *ks);

/*
 * Receive buffer needed for one message of a queue with this copy range: the packet bytes plus
 * room for every attribute the kernel may add.
 */
size_t nfqd_queue_msg_size(uint32_t copy_range);

/*
 * The receive buffer that holds max_len messages of this copy range, in the kernel's
 * accounting (measured: 832 bytes a message at copy range 128, 2304 at 1500).
 */
uint64_t nfqd_queue_rcvbuf_for(uint32_t copy_range, uint32_t max_len);

/* The cap of cfg (rcvbuf_max, or the default). Pure. */
uint64_t nfqd_queue_rcvbuf_cap(const struct nfqd_queue_config *cfg);

/*
 * The receive buffer nfqd_queue_open() asks for: rcvbuf, or what max_len messages need, at
 * most the cap, at least two messages of the copy range. Compare with nfqd_queue_rcvbuf_for()
 * to tell whether the cap cuts a full queue short. Pure.
 */
uint64_t nfqd_queue_rcvbuf_want(const struct nfqd_queue_config *cfg);

#endif /* NFQD_QUEUE_H */
