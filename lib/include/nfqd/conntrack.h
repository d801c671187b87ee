/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack entries over ctnetlink, for the flow cache of drop verdicts.
 *
 * A packet dropped by nfqd never confirms the conntrack entry it created: the entry dies with
 * the packet, and a connmark stamped on it (NFQA_CT, or a save-mark after NF_REPEAT) with it.
 * So for a dropped flow nfqd creates the entry itself after the verdict, with the flow's tuple
 * and the stamp as its connmark (IPCTNL_MSG_CT_NEW, NLM_F_CREATE): the flow's later packets
 * find it, and the generated rules drop them without queueing. The requests of a batch go in
 * one send. The same request updates the connmark of an entry that exists (a flow accepted
 * first and dropped after a set edit); only nfqd's bits of the connmark are set.
 */
#ifndef NFQD_CONNTRACK_H
#define NFQD_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "nfqd/packet.h"

struct nfqd_ct;

#define NFQD_CT_CAPACITY_MAX 65536 /* requests of one flush, at most */

/*
 * Open a ctnetlink socket with room for `capacity` (1..NFQD_CT_CAPACITY_MAX) requests per
 * send: its send buffer holds them all (nfqd_ct_sndbuf_need()) and its receive buffer a
 * refusal of each (nfqd_ct_rcvbuf_need()). The forced socket options are used when the caller
 * has CAP_NET_ADMIN, the plain ones (capped by net.core.wmem_max and rmem_max) otherwise.
 * Returns 0 and *out; -ENOBUFS when a buffer obtained is smaller than needed; -EINVAL for a
 * capacity out of range; or -errno.
 */
int nfqd_ct_open(struct nfqd_ct **out, unsigned int capacity);

/* The socket, for inspection (its buffers); it stays owned by ct. */
int nfqd_ct_fd(const struct nfqd_ct *ct);

/* Bytes of send and receive buffer `capacity` requests need (the receive buffer where the
 * kernel has NETLINK_CAP_ACK; twice that without it). Pure. */
size_t nfqd_ct_sndbuf_need(unsigned int capacity);
size_t nfqd_ct_rcvbuf_need(unsigned int capacity);

void nfqd_ct_close(struct nfqd_ct *ct);

/*
 * Encode a request creating the entry of pkt's flow (original direction as the packet goes,
 * reply direction its mirror), or updating it when it exists, with the connmark bits of
 * mark_mask set to `mark` and a lifetime of `timeout` seconds. Returns the length, -ENOSPC when
 * len is too small, or -EPROTONOSUPPORT for a packet whose flow cannot be named here (not TCP,
 * UDP, UDP-Lite or SCTP with known ports). Pure.
 */
int nfqd_ct_put_create(void *buf, size_t len, uint32_t seq, const struct nfqd_packet *pkt,
		       uint32_t mark, uint32_t mark_mask, uint32_t timeout);

/* Queue a create request for pkt's flow. Returns 0, -ENOSPC when full, or -EPROTONOSUPPORT. */
int nfqd_ct_add(struct nfqd_ct *ct, const struct nfqd_packet *pkt, uint32_t mark,
		uint32_t mark_mask, uint32_t timeout);

/*
 * Send the queued requests in one send and read the kernel's answers without waiting (it
 * answers inside send()). Returns how many entries were created or found already there (>= 0),
 * or -errno when the send failed; -ENOBUFS when answers were lost to a full receive buffer and
 * -EBADMSG when one was malformed (then what was read still counts in *failed). *failed (if not
 * NULL) gets the number of other refusals.
 */
int nfqd_ct_flush(struct nfqd_ct *ct, unsigned int *failed);

/* What the answers to a flush have told so far. Zero it and set portid. */
struct nfqd_ct_replies {
	uint32_t portid;      /* of the socket: answers to another are skipped */
	unsigned int answers; /* acknowledgements read */
	unsigned int refused; /* of them, refusals (not counting EEXIST: a reply's entry) */
};

/*
 * Parse one received datagram of answers to create requests (pure: for nfqd_ct_flush() and
 * fuzzers). Nothing is read beyond len. Returns 0, or -EBADMSG at the first message too short
 * for its error field (those before it are counted) or when the datagram is not made of whole
 * messages (those that are whole are counted).
 */
int nfqd_ct_parse_replies(const void *buf, size_t len, struct nfqd_ct_replies *r);

#endif /* NFQD_CONNTRACK_H */
