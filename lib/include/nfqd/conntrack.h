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

/* Open a ctnetlink socket with room for `capacity` requests per send. 0 and *out, or -errno. */
int nfqd_ct_open(struct nfqd_ct **out, unsigned int capacity);

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
 * or -errno when the send failed; *failed (if not NULL) gets the number of other refusals.
 */
int nfqd_ct_flush(struct nfqd_ct *ct, unsigned int *failed);

#endif /* NFQD_CONNTRACK_H */
