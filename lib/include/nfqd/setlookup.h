/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Set lookups of a received batch, answered by the kernel with IPSET_CMD_TEST.
 *
 * For each packet of a batch the caller names the lookups (of the policy) to answer; the
 * lookups register their tests in one ipset batch, where equal (set, element) tests are asked
 * once; one exchange answers them all; then each packet's answers are read back. A list:set is
 * expanded into its member sets, read afresh once per batch that needs it, so that a member
 * added or removed is seen at once. Nothing is kept from one batch to the next but the sets'
 * headers, which are read again whenever an answer shows they changed. All the reads of one
 * batch wait for the kernel within one bound (nfqd_setlookup_set_timeout()).
 *
 * One per worker: it owns a netlink socket and preallocated tables.
 */
#ifndef NFQD_SETLOOKUP_H
#define NFQD_SETLOOKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "nfqd/ipset.h"
#include "nfqd/policy.h"

#define NFQD_SETLOOKUP_LIST_MAX 8 /* member sets of a list:set that are tested */

/* Bound on the waits of one batch for the kernel's answers, unless set otherwise. */
#define NFQD_SETLOOKUP_TIMEOUT_MS 50

struct nfqd_setlookup;

/* What the last batch learnt about one lookup. */
struct nfqd_setlookup_state {
	int err;	/* 0, or -errno of the last failure (-ENOENT: the set is missing) */
	uint64_t tests; /* IPSET_CMD_TEST requests sent for it, in total */
};

/*
 * Create the lookups of policy p for batches of up to max_packets packets. infos[i] is the
 * header of lookup i's set, read at start. Opens its own ipset socket (in the caller's network
 * namespace). Returns 0 and *out, or -errno.
 */
int nfqd_setlookup_new(struct nfqd_setlookup **out, const struct nfqd_policy *p,
		       const struct nfqd_ipset_info *infos, unsigned int max_packets);

void nfqd_setlookup_free(struct nfqd_setlookup *sl);

/*
 * Bound the waits of each batch for the kernel's answers to timeout_ms in all, counted from the
 * batch's first request (a list:set read or the tests' exchange): every read of the batch
 * shares that deadline. The kernel answers inside the send of each request, so the bound is
 * only reached when answers are missing; the lookups that wait for them fail with -ETIMEDOUT
 * (their packets' set answers are failed), and nfqd_setlookup_timed_out() tells. After a batch
 * that timed out, the next ones take the answers the kernel queued without waiting for any
 * other, until one gets them all: a kernel that stopped answering costs one timeout, not one
 * per batch. The default is NFQD_SETLOOKUP_TIMEOUT_MS.
 */
void nfqd_setlookup_set_timeout(struct nfqd_setlookup *sl, unsigned int timeout_ms);

/* Whether a wait of the last batch reached its deadline. */
bool nfqd_setlookup_timed_out(const struct nfqd_setlookup *sl);

/* Start a new batch: forget the tests and answers of the last. */
void nfqd_setlookup_begin(struct nfqd_setlookup *sl);

/*
 * Register the tests packet pkt needs for the lookups in mask (bit i: lookup i), as packet
 * number slot (< max_packets) of the batch. Lookups whose tests do not fit are answered as
 * failed (-ENOSPC). Never fails otherwise.
 */
void nfqd_setlookup_add(struct nfqd_setlookup *sl, unsigned int slot, const struct nfqd_packet *pkt,
			uint32_t mask);

/* Ask the kernel every registered test, in one exchange. Returns the number of tests asked
 * (0 when none were needed) or -errno when the exchange failed (then every answer failed). */
int nfqd_setlookup_run(struct nfqd_setlookup *sl);

/* The answers of packet slot, for the lookups registered for it. */
void nfqd_setlookup_answers(const struct nfqd_setlookup *sl, unsigned int slot,
			    struct nfqd_set_answers *ans);

/* The state of lookup i after the last run. */
const struct nfqd_setlookup_state *nfqd_setlookup_state(const struct nfqd_setlookup *sl,
							unsigned int i);

#endif /* NFQD_SETLOOKUP_H */
