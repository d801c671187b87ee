/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A single-producer single-consumer ring of variable-length records.
 *
 * One thread (the producer) writes records, one other thread (the consumer) reads them in the
 * order they were committed. The producer never blocks, never takes a lock and never makes a
 * system call: nfqd_spsc_reserve() returns NULL when the record does not fit, and the caller
 * counts the loss. This is how a worker hands facts about packets (the drop log, captures) to a
 * slower thread without ever waiting for it.
 *
 * Layout: a power-of-two byte buffer and two free-running 64-bit byte positions, head (written
 * by the producer only) and tail (written by the consumer only), each on its own cache line
 * together with its owner's private state. The producer publishes a record with a release
 * store of head; the consumer sees it with an acquire load of head, and gives its bytes back
 * with a release store of tail, which the producer reads with an acquire load before reusing
 * them. Each side caches the other's last seen position, so the shared line is read only when
 * the cached value says the ring is full (producer) or empty (consumer).
 *
 * A record is an 8-byte header and its payload, rounded up to NFQD_SPSC_ALIGN bytes; payloads
 * start NFQD_SPSC_ALIGN-aligned (any integer, pointer, double or struct timespec can be stored
 * in place). A record never straddles the end of the buffer: when it would, the producer writes
 * a padding header that sends the consumer back to the start.
 *
 * Neither side may be used by two threads at once; the producer and the consumer may run at the
 * same time. The struct is public so that it can be embedded; its fields are private.
 */
#ifndef NFQD_SPSC_H
#define NFQD_SPSC_H

#include <stddef.h>
#include <stdint.h>

/* Alignment of every payload, and the granule of the ring. */
#define NFQD_SPSC_ALIGN 8u

struct nfqd_spsc {
	/* The producer's line: head is published, the rest is its own. */
	uint64_t head __attribute__((aligned(64)));
	uint64_t prod_tail; /* last tail the producer read */
	uint64_t prod_next; /* head once the reserved record is committed */
	/* The consumer's line: tail is published, the rest is its own. */
	uint64_t tail __attribute__((aligned(64)));
	uint64_t cons_head; /* last head the consumer read */
	uint64_t cons_next; /* tail once the peeked record is released */
	/* Read-only after nfqd_spsc_init. */
	unsigned char *buf __attribute__((aligned(64)));
	uint64_t size;
};

/*
 * Set up an empty ring of at least size bytes (rounded up to a power of two, at least 64).
 * Returns 0, -EINVAL for a size of 0 or above 1 GiB, or -ENOMEM. Release with nfqd_spsc_free.
 */
int nfqd_spsc_init(struct nfqd_spsc *ring, size_t size);

/* Free the ring's buffer (ring itself belongs to the caller). Accepts a zeroed or freed ring. */
void nfqd_spsc_free(struct nfqd_spsc *ring);

/*
 * A ring of its own allocation, on the cache-line alignment struct nfqd_spsc needs (malloc()
 * promises 16 bytes only), set up by nfqd_spsc_init(). NULL when size is refused or out of
 * memory. Release with nfqd_spsc_delete().
 */
struct nfqd_spsc *nfqd_spsc_new(size_t size);

/* Free a ring from nfqd_spsc_new() and its buffer; NULL is accepted. */
void nfqd_spsc_delete(struct nfqd_spsc *ring);

/*
 * The longest payload a record of this ring may have: a quarter of the ring, so that a record
 * always fits in an empty ring wherever its head stands, and several are in flight at once.
 */
size_t nfqd_spsc_max_record(const struct nfqd_spsc *ring);

/*
 * Producer: reserve room for a record of len bytes (1..nfqd_spsc_max_record). Returns where to
 * write its payload (NFQD_SPSC_ALIGN-aligned), or NULL when the ring has no room for it now or
 * len is out of range. The record becomes visible at nfqd_spsc_commit(); a second reserve before
 * the commit abandons the first. Wait-free: a bounded number of steps, no lock, no system call.
 */
void *nfqd_spsc_reserve(struct nfqd_spsc *ring, size_t len);

/* Producer: publish the record last reserved. No effect without a reservation. */
void nfqd_spsc_commit(struct nfqd_spsc *ring);

/*
 * Consumer: the oldest committed record not yet released, with its payload length in *len, or
 * NULL when the ring is empty. The payload stays valid and unchanged until nfqd_spsc_release;
 * peeking again before that returns the same record.
 */
const void *nfqd_spsc_peek(struct nfqd_spsc *ring, size_t *len);

/* Consumer: give back the record last peeked, making its room available to the producer. */
void nfqd_spsc_release(struct nfqd_spsc *ring);

#endif
