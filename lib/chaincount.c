/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "nfqd/chaincount.h"
#include "nl.h"

/* Longest a read waits for a part of the kernel's answer. */
#define READ_TIMEOUT_S 1

struct nfqd_chaincount {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *table, *chain;
};

int nfqd_chaincount_open(struct nfqd_chaincount **out, const char *table, const char *chain)
{
	const struct timeval timeout = { .tv_sec = READ_TIMEOUT_S };
	struct nfqd_chaincount *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->table = strdup(table);
	c->chain = strdup(chain);
	if (!c->table || !c->chain) {
		err = -ENOMEM;
		goto err;
	}
	c->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!c->nl) {
		err = -errno;
		goto err;
	}
	/* The kernel answers a dump inside send(); the bound only guards the caller's loop
	 * against a kernel that never does. */
	if (setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO, &timeout,
		       sizeof(timeout)) == -1 ||
	    mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		err = -errno;
		goto err;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	*out = c;
	return 0;
err:
	nfqd_chaincount_free(c);
	return err;
}

void nfqd_chaincount_free(struct nfqd_chaincount *c)
{
	if (!c)
		return;
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->table);
	free(c->chain);
	free(c);
}

/* The packets of a `counter` expression: NFTA_EXPR_NAME "counter", NFTA_EXPR_DATA holding
 * NFTA_COUNTER_PACKETS. 0 for any other expression. */
static uint64_t expr_packets(const struct nlattr *expr)
{
	const struct nlattr *a, *data = NULL;
	const char *name = NULL;

	mnl_attr_for_each_nested (a, expr) {
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA &&
			 mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			data = a;
	}
	if (!name || !data || strcmp(name, "counter") != 0)
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

/* Dump the chain's rules of one family and add their counters to *sum. */
static int read_family(struct nfqd_chaincount *c, uint8_t family, uint64_t *sum)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	uint32_t seq = ++c->seq;
	int r;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, c->table);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, c->chain);
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) == -1)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));

		if (n == -1)
			return -errno;
		r = mnl_cb_run(buf, nfqd_nlmsg_whole(buf, (size_t)n), seq, c->portid, rule_cb, sum);
		if (r == MNL_CB_ERROR)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

int nfqd_chaincount_read(struct nfqd_chaincount *c, uint64_t *packets)
{
	static const uint8_t families[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	uint64_t sum = 0;
	int found = 0, err = -ENOENT;

	for (size_t i = 0; i < sizeof(families); i++) {
		int r = read_family(c, families[i], &sum);

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
