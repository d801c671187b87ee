/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <libmnl/libmnl.h>

#include "nfqd/chaincount.h"
#include "nfqd/queuerule.h"
#include "nftdump.h"

/* The queues of an xt NFQUEUE target: revision 0 names one queue, 1 to 3 a range. */
static int target_queues(const struct nlattr *data, struct nfqd_queue_rule *out)
{
	const struct nlattr *a, *info = NULL;
	const char *name = NULL;
	uint32_t rev = 0;
	struct xt_NFQ_info_v1 q = { 0 };

	mnl_attr_for_each_nested (a, data) {
		if (mnl_attr_get_type(a) == NFTA_TARGET_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == NFTA_TARGET_REV &&
			 mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			rev = ntohl(mnl_attr_get_u32(a));
		else if (mnl_attr_get_type(a) == NFTA_TARGET_INFO)
			info = a;
	}
	if (!name || strcmp(name, "NFQUEUE") != 0)
		return -ENODATA;
	if (!info || mnl_attr_get_payload_len(info) < (rev ? sizeof(q) : sizeof(q.queuenum)))
		return -EBADMSG;
	memcpy(&q, mnl_attr_get_payload(info), rev ? sizeof(q) : sizeof(q.queuenum));
	out->first = q.queuenum;
	out->last = q.queues_total > 1 ? (uint16_t)(q.queuenum + q.queues_total - 1) : q.queuenum;
	if (out->last < out->first)
		out->last = UINT16_MAX;
	return 0;
}

/* The queues of an nftables queue expression. */
static int expr_queues(const struct nlattr *data, struct nfqd_queue_rule *out)
{
	const struct nlattr *a;
	uint16_t num = 0, total = 1;

	mnl_attr_for_each_nested (a, data) {
		uint16_t type = mnl_attr_get_type(a);

		if ((type == NFTA_QUEUE_NUM || type == NFTA_QUEUE_TOTAL) &&
		    mnl_attr_validate(a, MNL_TYPE_U16) < 0)
			return -EBADMSG;
		if (type == NFTA_QUEUE_NUM)
			num = ntohs(mnl_attr_get_u16(a));
		else if (type == NFTA_QUEUE_TOTAL)
			total = ntohs(mnl_attr_get_u16(a));
		else if (type == NFTA_QUEUE_SREG_QNUM)
			total = 0; /* from a register: any queue */
	}
	out->first = total ? num : 0;
	out->last = total ? (uint16_t)(num + total - 1) : UINT16_MAX;
	if (out->last < out->first)
		out->last = UINT16_MAX;
	return 0;
}

static int expressions_queues(const struct nlattr *list, struct nfqd_queue_rule *out)
{
	const struct nlattr *elem, *data;

	mnl_attr_for_each_nested (elem, list) {
		int r;

		if (mnl_attr_get_type(elem) != NFTA_LIST_ELEM ||
		    mnl_attr_validate(elem, MNL_TYPE_NESTED) < 0)
			return -EBADMSG;
		if ((data = nfqd_nft_expr_data(elem, "target")))
			r = target_queues(data, out);
		else if ((data = nfqd_nft_expr_data(elem, "queue")))
			r = expr_queues(data, out);
		else
			continue;
		if (r != -ENODATA)
			return r;
	}
	return -ENODATA;
}

static void copy_name(char *dst, size_t size, const struct nlattr *a)
{
	snprintf(dst, size, "%.*s",
		 (int)strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a)),
		 (const char *)mnl_attr_get_payload(a));
}

int nfqd_queue_rule_parse(const struct nlmsghdr *nlh, struct nfqd_queue_rule *out)
{
	const struct nlattr *a;
	int r = -ENODATA;

	/* as nfqd_chainplan_rule_tag(): libmnl walks attributes up to the aligned length */
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) ||
	    nlh->nlmsg_len != MNL_ALIGN(nlh->nlmsg_len))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	mnl_attr_for_each (a, nlh, sizeof(struct nfgenmsg)) {
		uint16_t type = mnl_attr_get_type(a);

		if (type == NFTA_RULE_TABLE || type == NFTA_RULE_CHAIN) {
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
				return -EBADMSG;
			if (type == NFTA_RULE_TABLE)
				copy_name(out->table, sizeof(out->table), a);
			else
				copy_name(out->chain, sizeof(out->chain), a);
		} else if (type == NFTA_RULE_EXPRESSIONS && r == -ENODATA) {
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
				return -EBADMSG;
			r = expressions_queues(a, out);
			if (r == -EBADMSG)
				return r;
		}
	}
	return r;
}

struct find {
	const char *table, *chain; /* the chain left out */
	const uint16_t *queues;
	unsigned int n;
	bool found;
	struct nfqd_queue_rule rule;
};

/* One rule of the dump: keep the first that queues to one of the queues, outside the chain. A
 * malformed rule is passed over. */
static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct find *f = data;
	struct nfqd_queue_rule r;

	if (f->found || nfqd_queue_rule_parse(nlh, &r) < 0 ||
	    (strcmp(r.table, f->table) == 0 && strcmp(r.chain, f->chain) == 0))
		return MNL_CB_OK;
	for (unsigned int i = 0; i < f->n; i++) {
		if (f->queues[i] >= r.first && f->queues[i] <= r.last) {
			f->found = true;
			f->rule = r;
			break;
		}
	}
	return MNL_CB_OK;
}

int nfqd_queue_rule_find_other(struct nfqd_chaincount *chain, uint8_t family,
			       const uint16_t *queues, unsigned int n, struct nfqd_queue_rule *out)
{
	struct find f = {
		.table = chain->dump.table,
		.chain = chain->dump.chain,
		.queues = queues,
		.n = n,
	};
	int r = nfqd_nftdump_all_rules(&chain->dump, family, rule_cb, &f);

	if (r < 0)
		return r;
	if (!f.found)
		return -ENOENT;
	*out = f.rule;
	return 0;
}
