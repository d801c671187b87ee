/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rules as nftables dumps them (NFT_MSG_NEWRULE), built for the unit tests of their readers. */
#ifndef NFQD_TEST_NFTMSG_H
#define NFQD_TEST_NFTMSG_H

#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

/* An NFT_MSG_NEWRULE message of chain in table filter in buf, with nothing but its names yet. */
static inline struct nlmsghdr *rule_msg(char *buf, const char *chain)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_IPV4;
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "filter");
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
	return nlh;
}

#endif /* NFQD_TEST_NFTMSG_H */
