/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef NFQD_DAEMON_RULES_H
#define NFQD_DAEMON_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where the generated rules count the packets that passed nfqd under fail-open. */
#define RULES_PASS_TABLE "security"
#define RULES_PASS_CHAIN "NFQD-PASS"
/* The chain of the rules in front of the NFQUEUE rule, which carries the plan tag. */
#define RULES_TABLE "filter"
#define RULES_CHAIN "NFQD"

struct config;
struct nfqd_ipset_info;

/*
 * Write the iptables-restore --noflush script (IPv6: ip6tables-restore) for configuration c to
 * out: chain NFQD of the filter table, and with fail-open chain NFQD-PASS of the security table
 * (RULES_PASS_TABLE, RULES_PASS_CHAIN), which counts the packets that passed without a verdict.
 * infos[i] describes the set of the policy's lookup i (from the kernel). The marker rule carries
 * the comment "nfqd plan <hash>" (nfqd/chainplan.h), <hash> that of rules_plan(), by which a
 * running nfqd recognises the loaded chain. Returns 0, or -EINVAL with err saying what in the
 * configuration cannot be expressed, or -EIO.
 */
int rules_generate(const struct config *c, const struct nfqd_ipset_info *infos, bool ipv6,
		   FILE *out, char *err, size_t errlen);

/*
 * The plan: what of the rules for c (IPv6 with ipv6) a running nfqd depends on. The script of
 * rules_generate() without the comment lines and the plan tag, and with one queue: the queue
 * target follows the queues, which a reload may change (the operator's NFQUEUE rule names them),
 * but keeps `--queue-cpu-fanout` under fanout = cpu: how the kernel spreads packets over the
 * queues decides where nfqd places their workers.
 * With set-lookup = test and no flow cache nothing reads the mark bits of the set rules, so they
 * are left out too: set rules may then change by reload. Returns a malloc'd text, or NULL with
 * err filled.
 */
char *rules_plan(const struct config *c, const struct nfqd_ipset_info *infos, bool ipv6, char *err,
		 size_t errlen);

/* The FNV-1a 64 hash of rules_plan() in *hash: 0, or -EINVAL with err filled. */
int rules_plan_hash(const struct config *c, const struct nfqd_ipset_info *infos, bool ipv6,
		    uint64_t *hash, char *err, size_t errlen);

#endif /* NFQD_DAEMON_RULES_H */
