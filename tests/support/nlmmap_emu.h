/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An emulation of the kernel side of memory-mapped netlink (NETLINK_RX_RING / NETLINK_TX_RING,
 * Linux 3.10 to 4.5), for a kernel that no longer has it.
 *
 * The emulator replaces, at the symbol level, setsockopt getsockopt mmap munmap poll ppoll recv
 * recvfrom recvmsg send sendto sendmsg close. A socket becomes emulated when
 * setsockopt(SOL_NETLINK, NETLINK_RX_RING or NETLINK_TX_RING) is called on a netlink socket;
 * every other call, and every call on another descriptor, goes to the next definition
 * (dlsym(RTLD_NEXT)). The frames have the layout of <linux/netlink.h> (struct nl_mmap_hdr,
 * NL_MMAP_HDRLEN, NL_MMAP_STATUS_*), and the rules are those of the old net/netlink/af_netlink.c:
 *  - set-up (netlink_set_ring): the request's checks (EINVAL for a block size that is not a
 *    positive multiple of the page size, a frame smaller than NL_MMAP_HDRLEN or not aligned to
 *    NL_MMAP_MSG_ALIGNMENT, no frame per block, frame_nr != frames per block * block_nr, a
 *    frame_nr without blocks); EBUSY while the ring is mapped, while a frame is RESERVED, or when
 *    a ring is already set (clear it first with an all-zero request); setting or clearing the RX
 *    ring purges the receive queue (the COPY messages);
 *  - mmap (netlink_mmap): one mapping of the RX ring followed by the TX ring, offset 0, length
 *    exactly their sum (EINVAL otherwise); munmap only unmaps (the rings stay, as the kernel's
 *    pages stay, until cleared or closed; a new mmap returns the same memory);
 *  - RX: frames are taken in order from the kernel's head, and only when UNUSED (else the
 *    message is an overrun); a message is RESERVED while it is built, then VALID, or VALID with
 *    nm_len 0 when the build failed; a message too long for a frame, or not built in place (an
 *    error or ack), goes to the receive queue and its frame is marked COPY (recv() reads it);
 *  - poll (netlink_poll): POLLIN when the receive queue holds a message, when a frame is VALID,
 *    or when the frame before the kernel's head is not UNUSED; POLLOUT when the TX frame at the
 *    kernel's TX head is UNUSED;
 *  - TX (netlink_mmap_sendmsg): a send whose data pointer is NULL takes every VALID frame from
 *    the TX head in order, each one datagram, marking it UNUSED; it stops at the first frame that
 *    is not VALID; a frame whose nm_len is over the frame's room fails the call with EINVAL; a
 *    failure to allocate (ENOBUFS) leaves that frame and the rest VALID. It returns the bytes
 *    sent, or -1 with errno (what the call consumed before failing stays consumed).
 *
 * Two builds of the same source:
 *  - in-process (unit tests): the test plays the kernel through the functions below. Nothing
 *    reaches the real socket: plain sends and TX frames go to the test's sink; recv() and
 *    poll() see only what the test delivered (a blocking recv() with nothing queued fails with
 *    EAGAIN, and poll() with nothing ready returns 0 at once: no other thread can deliver);
 *  - LD_PRELOAD (NLMMAP_EMU_PRELOAD defined, libnlmmap_emu.so): the emulator plays the kernel's
 *    ring over a real nfqueue socket. Its faults and their environment variables are described
 *    at the top of nlmmap_emu.c.
 */
#ifndef NFQD_TEST_NLMMAP_EMU_H
#define NFQD_TEST_NLMMAP_EMU_H

#include <stddef.h>
#include <stdint.h>

struct nlmmap_emu;

/* How nlmmap_emu_deliver() hands a message to the RX ring. */
enum nlmmap_emu_how {
	NLMMAP_EMU_VALID,   /* built in place: the frame VALID (COPY when it does not fit) */
	NLMMAP_EMU_COPY,    /* not built in place (an ack, an error): the frame COPY */
	NLMMAP_EMU_FAILED,  /* the build failed: the frame VALID with nm_len 0 */
	NLMMAP_EMU_RESERVE, /* the frame RESERVED; nlmmap_emu_complete() finishes it */
};

/* What an emulated socket counted. */
struct nlmmap_emu_counts {
	uint64_t delivered;   /* VALID frames holding a message */
	uint64_t copies;      /* COPY frames */
	uint64_t failed;      /* VALID frames with nm_len 0 */
	uint64_t overruns;    /* messages refused because the frame at the head was not UNUSED */
	uint64_t tx_frames;   /* TX frames consumed */
	uint64_t tx_calls;    /* sends with a NULL data pointer */
	uint64_t tx_failed;   /* of which failed */
	uint64_t plain_sends; /* sends with data (not through the TX ring) */
	uint64_t unreadable;  /* LD_PRELOAD: packet messages stripped of NFQA_PACKET_HDR */
	uint64_t held;	      /* LD_PRELOAD: frames left RESERVED across a call */
};

/*
 * In-process only: where datagrams sent on the socket go, instead of the kernel. from_ring is
 * 1 for a TX frame, 0 for a plain send. Return 0, or -errno to make that send fail (a TX frame
 * then stays VALID, as when the kernel cannot allocate its copy; a plain send fails with it).
 */
typedef int (*nlmmap_emu_sink)(void *arg, const void *buf, size_t len, int from_ring);

/* The emulated state of fd, or NULL when no ring was set on it (or it was closed). */
struct nlmmap_emu *nlmmap_emu_of(int fd);

/* The next `times` ring set-ups (on any socket) fail with err (ENOPROTOOPT, EINVAL, EBUSY...). */
void nlmmap_emu_refuse(int err, unsigned int times);

/* In-process: the sink of k's sends (NULL: counted and dropped). */
void nlmmap_emu_set_sink(struct nlmmap_emu *k, nlmmap_emu_sink sink, void *arg);

/*
 * Hand one message of len bytes to k's RX ring as `how` says, at the kernel's head. Returns the
 * frame's index, -ENOBUFS for an overrun (counted; the message is lost, as the kernel loses it),
 * -ENXIO when k has no RX ring, -EINVAL for a RESERVE or FAILED with a message or len.
 */
int nlmmap_emu_deliver(struct nlmmap_emu *k, const void *msg, size_t len, enum nlmmap_emu_how how);

/*
 * Finish the RESERVED frame `frame`: VALID with msg (len bytes), or, with msg NULL, VALID with
 * nm_len 0 (a failed build). A message longer than the frame goes to the receive queue and the
 * frame becomes COPY. Returns 0, or -EINVAL when the frame is not RESERVED.
 */
int nlmmap_emu_complete(struct nlmmap_emu *k, unsigned int frame, const void *msg, size_t len);

/* Frames in k's RX ring (0 without one). */
unsigned int nlmmap_emu_rx_frames(const struct nlmmap_emu *k);

/* The kernel's RX head: the next frame it will take. */
unsigned int nlmmap_emu_rx_head(const struct nlmmap_emu *k);

/* The NL_MMAP_STATUS_* of RX frame `frame`, or -EINVAL when there is no such frame. */
int nlmmap_emu_rx_status(const struct nlmmap_emu *k, unsigned int frame);

/* The header of TX frame `frame` (struct nl_mmap_hdr), or NULL when there is no such frame. */
void *nlmmap_emu_tx_frame(const struct nlmmap_emu *k, unsigned int frame);

/* RX frames in status `status` (NL_MMAP_STATUS_*). */
unsigned int nlmmap_emu_rx_count(const struct nlmmap_emu *k, int status);

/* RX frames the process owns: VALID or COPY (the kernel takes them back only when UNUSED). */
unsigned int nlmmap_emu_frames_owned_by_user(const struct nlmmap_emu *k);

/* Messages waiting in the receive queue (those of COPY frames not yet read by recv()). */
unsigned int nlmmap_emu_queued(const struct nlmmap_emu *k);

/* k's counters. */
void nlmmap_emu_counts(const struct nlmmap_emu *k, struct nlmmap_emu_counts *out);

#endif /* NFQD_TEST_NLMMAP_EMU_H */
