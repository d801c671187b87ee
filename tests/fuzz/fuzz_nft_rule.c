/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness: the plan tag and the queues of one rule as nftables dumps it
 * (NFT_MSG_NEWRULE), over arbitrary bytes. Seeds: tests/fuzz/corpus/nft_rule/, rules of chain NFQD
 * as the kernel dumped them after iptables-restore loaded `nfqd rules` (the tagged marker rule
 * among them), and one with the tag in its user data.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>

#include "nfqd/chainplan.h"
#include "nfqd/queuerule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfqd_queue_rule q;
	struct nlmsghdr *nlh;
	uint64_t hash = 0;
	int r;

	/* the parser gets one whole message, as mnl_cb_run() hands it over: aligned, and its
	 * length the bytes there are */
	if (size < sizeof(*nlh) || size > UINT32_MAX)
		return 0;
	nlh = malloc(size);
	if (!nlh)
		return 0;
	memcpy(nlh, data, size);
	nlh->nlmsg_len = (uint32_t)size;
	r = nfqd_chainplan_rule_tag(nlh, &hash);
	if (r != 0 && r != -ENODATA && r != -EBADMSG)
		abort();
	r = nfqd_queue_rule_parse(nlh, &q);
	if (r != 0 && r != -ENODATA && r != -EBADMSG)
		abort();
	if (r == 0 && (q.first > q.last || !memchr(q.table, '\0', sizeof(q.table)) ||
		       !memchr(q.chain, '\0', sizeof(q.chain))))
		abort();
	free(nlh);
	return 0;
}
