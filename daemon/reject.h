/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The load-time check of reject rules. A reject is answered by the kernel: nfqd hands the packet
 * back with NF_REPEAT and a reject code in its mark, and the REJECT rules at the top of the
 * generated chain NFQD answer it (rules.c). Behind a plain NFQUEUE rule that nfqd did not
 * generate nothing would answer, so a configuration with reject rules is refused (at start, at
 * reload, by --check) unless the kernel holds chain NFQD with exactly the rules it generates:
 * the plan tag of the loaded chain (chainplan.h) equals this configuration's, in IPv4, and in
 * IPv6 when an IPv6 chain is loaded.
 *
 * What the load cannot see - a plain queue rule that sends packets to the same queue besides
 * chain NFQD - the worker sees per packet: a reject of a packet without nfqd's marker is dropped
 * and counted (reject_unmarked), and a packet that comes back with its code is dropped and
 * counted (reject_loops).
 */
#ifndef NFQD_DAEMON_REJECT_H
#define NFQD_DAEMON_REJECT_H

#include <stddef.h>

#include "nfqd/ipset.h"

#include "config.h"
#include "ruleset.h"

/* The index of c's first reject rule, -1 when it has none. */
int reject_first_rule(const struct config *c);

/*
 * Whether c's reject rules can be answered, given what the kernel's chain NFQD holds (loaded,
 * ruleset_read_loaded(); NULL: unknown). Returns 0 when c has no reject rule or the loaded chain
 * holds c's rules; -EBADR with msg ("FILE:LINE: rule 'reject ...': ...", saying why and what to
 * do) when it does not or cannot be read.
 */
int reject_check_loaded(const struct config *c, const struct nfqd_ipset_info *infos,
			const struct ruleset_loaded *loaded, char *msg, size_t len);

#endif /* NFQD_DAEMON_REJECT_H */
