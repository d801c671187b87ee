/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The single-producer single-consumer ring of variable-length records (see nfqd/spsc.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfqd/spsc.h"

/* The header before each payload. len == SPSC_PAD: skip to the start of the buffer. */
struct spsc_hdr {
	uint32_t len;
	uint32_t reserved;
};

#define SPSC_HDR   ((uint64_t)sizeof(struct spsc_hdr))
#define SPSC_PAD   UINT32_MAX
#define SPSC_MIN   64u
#define SPSC_LIMIT (1u << 30)

_Static_assert(sizeof(struct spsc_hdr) % NFQD_SPSC_ALIGN == 0, "payloads stay aligned");

static uint64_t spsc_span(size_t len)
{
	return (SPSC_HDR + len + NFQD_SPSC_ALIGN - 1) & ~(uint64_t)(NFQD_SPSC_ALIGN - 1);
}

int nfqd_spsc_init(struct nfqd_spsc *ring, size_t size)
{
	size_t n = SPSC_MIN;

	memset(ring, 0, sizeof(*ring));
	if (size == 0 || size > SPSC_LIMIT)
		return -EINVAL;
	while (n < size)
		n <<= 1;
	ring->buf = aligned_alloc(64, n);
	if (!ring->buf)
		return -ENOMEM;
	ring->size = n;
	return 0;
}

void nfqd_spsc_free(struct nfqd_spsc *ring)
{
	free(ring->buf);
	ring->buf = NULL;
	ring->size = 0;
}

struct nfqd_spsc *nfqd_spsc_new(size_t size)
{
	struct nfqd_spsc *ring = aligned_alloc(_Alignof(struct nfqd_spsc), sizeof(*ring));

	if (ring && nfqd_spsc_init(ring, size) < 0) {
		free(ring);
		ring = NULL;
	}
	return ring;
}

void nfqd_spsc_delete(struct nfqd_spsc *ring)
{
	if (!ring)
		return;
	nfqd_spsc_free(ring);
	free(ring);
}

size_t nfqd_spsc_max_record(const struct nfqd_spsc *ring)
{
	return ring->size / 4 - SPSC_HDR;
}

void *nfqd_spsc_reserve(struct nfqd_spsc *ring, size_t len)
{
	uint64_t head = ring->head; /* only this thread writes it */
	uint64_t off = head & (ring->size - 1);
	uint64_t contig = ring->size - off;
	uint64_t span, need;
	struct spsc_hdr *h;

	if (len == 0 || len > nfqd_spsc_max_record(ring))
		return NULL;
	span = spsc_span(len);
	/* A record that would straddle the end starts at the buffer's start, after a pad. */
	need = span <= contig ? span : contig + span;
	if (head + need - ring->prod_tail > ring->size) {
		ring->prod_tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
		if (head + need - ring->prod_tail > ring->size)
			return NULL;
	}
	if (span > contig) {
		/* contig >= SPSC_HDR: positions advance in multiples of NFQD_SPSC_ALIGN. */
		h = (struct spsc_hdr *)(ring->buf + off);
		h->len = SPSC_PAD;
		off = 0;
	}
	h = (struct spsc_hdr *)(ring->buf + off);
	h->len = (uint32_t)len;
	ring->prod_next = head + need;
	return h + 1;
}

void nfqd_spsc_commit(struct nfqd_spsc *ring)
{
	if (ring->prod_next != ring->head)
		__atomic_store_n(&ring->head, ring->prod_next, __ATOMIC_RELEASE);
}

const void *nfqd_spsc_peek(struct nfqd_spsc *ring, size_t *len)
{
	uint64_t tail = ring->tail; /* only this thread writes it */
	const struct spsc_hdr *h;

	if (tail == ring->cons_head) {
		ring->cons_head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
		if (tail == ring->cons_head)
			return NULL;
	}
	h = (const struct spsc_hdr *)(ring->buf + (tail & (ring->size - 1)));
	if (h->len == SPSC_PAD) {
		/* A pad is committed with the record after it: that record is there. */
		tail += ring->size - (tail & (ring->size - 1));
		h = (const struct spsc_hdr *)ring->buf;
	}
	*len = h->len;
	ring->cons_next = tail + spsc_span(h->len);
	return h + 1;
}

void nfqd_spsc_release(struct nfqd_spsc *ring)
{
	if (ring->cons_next != ring->tail)
		__atomic_store_n(&ring->tail, ring->cons_next, __ATOMIC_RELEASE);
}
