/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The arithmetic of the uring backend's provided-buffer ring, apart from io_uring so that unit
 * tests can drive it.
 */
#ifndef NFQD_URING_RING_H
#define NFQD_URING_RING_H

#include <stddef.h>
#include <stdint.h>

/* The kernel's limit on a provided-buffer ring (buffer ids are 16 bits, entries a power of 2). */
#define NFQD_URING_RING_MAX 32768u

/*
 * Buffers in the ring for receives of `batch` messages: twice the batch, as a power of 2, so
 * that the kernel keeps filling one batch's worth while the worker answers the other (a ring of
 * one batch runs empty at every batch, which ends the multishot receive and costs a re-arm).
 */
static inline unsigned int nfqd_uring_ring_entries(unsigned int batch)
{
	unsigned int n = 1;

	while (n < 2 * batch && n < NFQD_URING_RING_MAX)
		n <<= 1;
	return n;
}

/*
 * Bytes of one buffer for messages of up to msg_size bytes: the kernel writes a struct
 * io_uring_recvmsg_out (out_hdr bytes) ahead of the payload of a multishot recvmsg. Rounded to
 * 64 so that every payload starts aligned.
 */
static inline size_t nfqd_uring_buf_size(size_t msg_size, size_t out_hdr)
{
	return (msg_size + out_hdr + 63) & ~(size_t)63;
}

/* What an -ENOBUFS that ended the multishot receive means. */
enum nfqd_uring_enobufs {
	NFQD_URING_RING_EMPTY, /* no buffer left to fill: re-arm once buffers come back */
	NFQD_URING_OVERRUN, /* buffers were free: the socket lost messages (receive buffer full) */
};

/*
 * io_uring reports both with -ENOBUFS; the buffers the kernel still holds tell them apart.
 * entries: buffers in the ring; owned: those the process holds (received, not yet released).
 */
static inline enum nfqd_uring_enobufs nfqd_uring_enobufs_kind(unsigned int entries,
							      unsigned int owned)
{
	return owned >= entries ? NFQD_URING_RING_EMPTY : NFQD_URING_OVERRUN;
}

#endif /* NFQD_URING_RING_H */
