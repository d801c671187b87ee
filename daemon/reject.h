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
 * A rule elsewhere in the kernel's ruleset that sends packets to one of nfqd's queues without
 * going through chain NFQD (a plain NFQUEUE rule, queuerule.h) is refused the same way. What the
 * load cannot see (such a rule added later, or loaded by iptables-legacy) the worker sees per
 * packet: a reject of a packet without nfqd's marker is dropped
 * and counted (reject_unmarked), and a packet that comes back with its code is dropped and
 * counted (reject_loops).
 */
#ifndef NFQD_DAEMON_REJECT_H
#define NFQD_DAEMON_REJECT_H

#include <stddef.h>

#include "nfqd/chaincount.h"
#include "nfqd/ipset.h"
#include "nfqd/queuerule.h"

#include "config.h"
#include "ruleset.h"

/* The index of c's first reject rule, -1 when it has none. */
int reject_first_rule(const struct config *c);

/* The plain queue rules to c's queues, [0] in IPv4 and [1] in IPv6: err 0 with the first one
 * found, -ENOENT when there is none, another -errno when the ruleset could not be read. */
struct reject_plain {
	int err[2];
	struct nfqd_queue_rule rule[2];
};

/*
 * Whether c's reject rules can be answered, given what the kernel's chain NFQD holds (loaded,
 * ruleset_read_loaded(); NULL: unknown) and the plain queue rules found (plain; NULL: none
 * looked for). Returns 0 when c has no reject rule, or the loaded chain holds c's rules and no
 * plain queue rule sends to c's queues; -EBADR with msg ("FILE:LINE: rule 'reject ...': ...",
 * saying why and what to do) otherwise.
 */
int reject_check_loaded(const struct config *c, const struct nfqd_ipset_info *infos,
			const struct ruleset_loaded *loaded, const struct reject_plain *plain,
			char *msg, size_t len);

/*
 * reject_check_loaded() with the plain queue rules read from the kernel through chain (the
 * handle of chain NFQD; NULL: none read), when c has reject rules.
 */
int reject_check_kernel(const struct config *c, const struct nfqd_ipset_info *infos,
			const struct ruleset_loaded *loaded, struct nfqd_chaincount *chain,
			char *msg, size_t len);

/*
 * reject_check_kernel() with a netlink socket of its own, opened and closed here (nfqd's start,
 * before its queues are bound, and --check). Returns 0 when c has no reject rule or they are
 * answered; -EBADR with msg when they would not be; another -errno with msg saying why the kernel
 * could not be asked (no CAP_NET_ADMIN: -EPERM).
 */
int reject_check_now(const struct config *c, const struct nfqd_ipset_info *infos, char *msg,
		     size_t len);

#endif /* NFQD_DAEMON_REJECT_H */
