/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The geometry of the mmap backend's netlink rings (NETLINK_RX_RING / NETLINK_TX_RING, Linux
 * 3.10-4.5), apart from the socket so that unit tests can check it against the kernel's rules.
 *
 * Frame size rule (README, "Which kernels use which transport"):
 *  - RX frame = the smallest power of two >= NL_MMAP_HDRLEN + msg_size, at least 4096 bytes: a
 *    frame holds the frame header and one whole packet message (copy range plus every
 *    attribute), so only messages longer than msg_size come as COPY frames;
 *  - block = max(frame, page size): a frame never straddles a block, a block is a whole number
 *    of pages, and (both powers of two) frames fill blocks exactly;
 *  - RX frames = the queue's depth (`[queue] max-len`) plus one batch: every packet the kernel
 *    may hold waiting for a verdict can sit in a frame while the frames of the batch being
 *    answered are still ours (they go back once its verdicts are sent); at least 4 batches,
 *    rounded up to whole blocks; then
 *    capped so that the RX ring stays <= 64 MiB (the cap wins over "4 batches": kernel memory
 *    per queue is bounded first), never fewer than one block;
 *  - TX frame = one page; TX frames = enough for one batch's verdict messages at 128 bytes
 *    each plus 4096 bytes (the mmsg backend's send-buffer rule), plus 2 frames of slack.
 *
 * The kernel's checks of each ring (netlink_set_ring(), 3.10-4.5): block size > 0 and a page
 * multiple; frame size >= NL_MMAP_HDRLEN and a multiple of NL_MMAP_MSG_ALIGNMENT; frames per
 * block >= 1; frame_nr == frames per block * block_nr. Both rings are then mapped by one mmap()
 * of exactly the sum of their sizes, RX first.
 */
#ifndef NFQD_MMAP_RING_H
#define NFQD_MMAP_RING_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

#define NFQD_MMAP_FRAME_MIN	 4096u
#define NFQD_MMAP_RX_MAX	 (64u << 20) /* bytes of one queue's RX ring */
#define NFQD_MMAP_DEPTH_DEFAULT	 8192u	     /* the kernel's queue max-len when none is given */
#define NFQD_MMAP_TX_PER_VERDICT 128u	     /* worst case of one verdict message, as mmsg's */
#define NFQD_MMAP_TX_SLACK	 2u	     /* TX frames beyond one batch */

/* The smallest power of two >= n (n <= 2^31). */
static inline uint32_t nfqd_mmap_pow2(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static inline size_t nfqd_mmap_ring_bytes(const struct nl_mmap_req *r)
{
	return (size_t)r->nm_block_size * r->nm_block_nr;
}

/*
 * The RX and TX ring requests for messages of msg_size bytes (64..1 MiB), receives of batch
 * messages (1..1024), a queue of depth packets (0: the kernel's default, 8192) and the system's
 * page size (a power of two). Pure: the rule above.
 */
static inline void nfqd_mmap_geometry(size_t msg_size, unsigned int batch, unsigned int depth,
				      size_t page_size, struct nl_mmap_req *rx,
				      struct nl_mmap_req *tx)
{
	uint32_t frame = nfqd_mmap_pow2((uint32_t)(NL_MMAP_HDRLEN + msg_size));
	uint32_t block, per_block, want, max_frames, blocks;
	uint32_t tx_payload, tx_frames;

	if (frame < NFQD_MMAP_FRAME_MIN)
		frame = NFQD_MMAP_FRAME_MIN;
	block = frame > page_size ? frame : (uint32_t)page_size;
	per_block = block / frame;

	want = (depth ? depth : NFQD_MMAP_DEPTH_DEFAULT) + batch;
	if (want < 4 * batch)
		want = 4 * batch;
	blocks = (want + per_block - 1) / per_block;
	max_frames = NFQD_MMAP_RX_MAX / frame;
	if (blocks * per_block > max_frames)
		blocks = max_frames / per_block;
	if (blocks == 0)
		blocks = 1;
	*rx = (struct nl_mmap_req){
		.nm_block_size = block,
		.nm_block_nr = blocks,
		.nm_frame_size = frame,
		.nm_frame_nr = blocks * per_block,
	};

	tx_payload = (uint32_t)page_size - NL_MMAP_HDRLEN;
	tx_frames =
		((uint32_t)batch * NFQD_MMAP_TX_PER_VERDICT + 4096 + tx_payload - 1) / tx_payload +
		NFQD_MMAP_TX_SLACK;
	*tx = (struct nl_mmap_req){
		.nm_block_size = (uint32_t)page_size,
		.nm_block_nr = tx_frames,
		.nm_frame_size = (uint32_t)page_size,
		.nm_frame_nr = tx_frames,
	};
}

/*
 * Byte offset of frame i in a ring of geometry r (from the ring's start in the mapping): frames
 * fill each block from its start, blocks follow each other.
 */
static inline size_t nfqd_mmap_frame_offset(const struct nl_mmap_req *r, unsigned int i)
{
	unsigned int per_block = r->nm_block_size / r->nm_frame_size;

	return (size_t)(i / per_block) * r->nm_block_size +
	       (size_t)(i % per_block) * r->nm_frame_size;
}

#endif /* NFQD_MMAP_RING_H */
