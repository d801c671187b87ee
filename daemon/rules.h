/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef NFQD_DAEMON_RULES_H
#define NFQD_DAEMON_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Where the generated rules count the packets that passed nfqd under fail-open. */
#define RULES_PASS_TABLE "security"
#define RULES_PASS_CHAIN "NFQD-PASS"

struct config;
struct nfqd_ipset_info;

/*
 * Write the iptables-restore --noflush script (IPv6: ip6tables-restore) for configuration c to
 * out: chain NFQD of the filter table, and with fail-open chain NFQD-PASS of the security table
 * (RULES_PASS_TABLE, RULES_PASS_CHAIN), which counts the packets that passed without a verdict.
 * infos[i] describes the set of the policy's lookup i (from the kernel). Returns 0, or -EINVAL with
 * err saying what in the configuration cannot be expressed, or -EIO.
 */
int rules_generate(const struct config *c, const struct nfqd_ipset_info *infos, bool ipv6,
		   FILE *out, char *err, size_t errlen);

#endif /* NFQD_DAEMON_RULES_H */
