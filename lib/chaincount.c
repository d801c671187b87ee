/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "nfqd/chaincount.h"
#include "nftdump.h"

int nfqd_chaincount_open(struct nfqd_chaincount **out, const char *table, const char *chain)
{
	struct nfqd_chaincount *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = nfqd_nftdump_open(&c->dump, table, chain);
	if (err < 0) {
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

void nfqd_chaincount_free(struct nfqd_chaincount *c)
{
	if (!c)
		return;
	nfqd_nftdump_close(&c->dump);
	free(c);
}

/* The packets of a `counter` expression: NFTA_EXPR_NAME "counter", NFTA_EXPR_DATA holding
 * NFTA_COUNTER_PACKETS. 0 for any other expression. */
static uint64_t expr_packets(const struct nlattr *expr)
{
	const struct nlattr *a, *data = nfqd_nft_expr_data(expr, "counter");

	if (!data)
		return 0;
	mnl_attr_for_each_nested (a, data) {
		if (mnl_attr_get_type(a) == NFTA_COUNTER_PACKETS &&
		    mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			return be64toh(mnl_attr_get_u64(a));
	}
	return 0;
}

/* One rule of the dump: add the packets of its counters. */
static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	uint64_t *sum = data;
	const struct nlattr *a;

	mnl_attr_for_each (a, nlh, sizeof(struct nfgenmsg)) {
		const struct nlattr *elem;

		if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS ||
		    mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			continue;
		mnl_attr_for_each_nested (elem, a) {
			if (mnl_attr_get_type(elem) == NFTA_LIST_ELEM &&
			    mnl_attr_validate(elem, MNL_TYPE_NESTED) == 0)
				*sum += expr_packets(elem);
		}
	}
	return MNL_CB_OK;
}

int nfqd_chaincount_read(struct nfqd_chaincount *c, uint64_t *packets)
{
	static const uint8_t families[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	uint64_t sum = 0;
	int found = 0, err = -ENOENT;

	for (size_t i = 0; i < sizeof(families); i++) {
		int r = nfqd_nftdump_rules(&c->dump, families[i], rule_cb, &sum);

		if (r == 0)
			found++;
		else if (r != -ENOENT)
			err = r;
	}
	if (!found)
		return err;
	*packets = sum;
	return 0;
}
