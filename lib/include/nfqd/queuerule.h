/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rules of the kernel's ruleset that send packets to netfilter queues: iptables' NFQUEUE
 * target (kept by iptables-nft as an xt `target` expression named "NFQUEUE" whose info is a
 * struct xt_NFQ_info of revision 0 to 3, in host byte order) and nftables' `queue` expression.
 * nfqd looks for those outside its generated chain NFQD: a packet such a rule queues carries
 * none of nfqd's marks, and nothing in the chain answers it (a reject). Rules loaded by
 * iptables-legacy are not in nftables and are not seen.
 */
#ifndef NFQD_QUEUERULE_H
#define NFQD_QUEUERULE_H

#include <stdint.h>

struct nlmsghdr;
struct nfqd_chaincount;

/* Where a queue rule is, and the queues first..last it sends to. */
struct nfqd_queue_rule {
	char table[64], chain[64]; /* cut to fit, NUL-terminated */
	uint16_t first, last;
};

/*
 * The table, the chain and the queues of one NFT_MSG_NEWRULE message when the rule sends to a
 * queue (its first NFQUEUE target or queue expression; a queue number taken from a register
 * counts as every queue). Returns 0 with *out, -ENODATA when it queues nothing, -EBADMSG when it
 * is malformed. nlh holds nlmsg_len bytes. Pure.
 */
int nfqd_queue_rule_parse(const struct nlmsghdr *nlh, struct nfqd_queue_rule *out);

/*
 * The first rule of family (NFPROTO_IPV4, NFPROTO_IPV6), in any table and chain other than the
 * chain `chain` reads (nfqd_chaincount_open(): the generated chain), that sends to one of
 * queues[0..n). Returns 0 with *out, -ENOENT when there is none, or another -errno (the
 * kernel's answer, -EAGAIN when a part of the answer took over a second).
 */
int nfqd_queue_rule_find_other(struct nfqd_chaincount *chain, uint8_t family,
			       const uint16_t *queues, unsigned int n, struct nfqd_queue_rule *out);

#endif /* NFQD_QUEUERULE_H */
