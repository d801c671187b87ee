/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
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

#include "nftdump.h"
#include "nl.h"

/* Longest a read waits for a part of the kernel's answer. */
#define READ_TIMEOUT_S 1

int nfqd_nftdump_open(struct nfqd_nftdump *d, const char *table, const char *chain)
{
	const struct timeval timeout = { .tv_sec = READ_TIMEOUT_S };
	int err;

	d->table = strdup(table);
	d->chain = strdup(chain);
	if (!d->table || !d->chain) {
		nfqd_nftdump_close(d);
		return -ENOMEM;
	}
	d->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!d->nl) {
		err = -errno;
		nfqd_nftdump_close(d);
		return err;
	}
	/* The kernel answers a dump inside send(); the bound only guards the caller's loop
	 * against a kernel that never does. */
	if (setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVTIMEO, &timeout,
		       sizeof(timeout)) == -1 ||
	    mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		err = -errno;
		nfqd_nftdump_close(d);
		return err;
	}
	d->portid = mnl_socket_get_portid(d->nl);
	d->seq = (uint32_t)time(NULL);
	return 0;
}

void nfqd_nftdump_close(struct nfqd_nftdump *d)
{
	if (d->nl)
		mnl_socket_close(d->nl);
	free(d->table);
	free(d->chain);
	d->nl = NULL;
	d->table = d->chain = NULL;
}

/* A request of type for d's chain in family (every chain of every table with whole), its
 * messages handed to cb, until the kernel's done (a dump) or acknowledgement (a single answer). */
static int exchange(struct nfqd_nftdump *d, uint16_t type, uint16_t flags, uint8_t family,
		    bool whole, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	bool rule = type == NFT_MSG_GETRULE;
	struct nfgenmsg *nfg;
	uint32_t seq = ++d->seq;
	int r;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (!whole) {
		mnl_attr_put_strz(nlh, rule ? NFTA_RULE_TABLE : NFTA_CHAIN_TABLE, d->table);
		mnl_attr_put_strz(nlh, rule ? NFTA_RULE_CHAIN : NFTA_CHAIN_NAME, d->chain);
	}
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) == -1)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(d->nl, buf, sizeof(buf));

		if (n == -1)
			return -errno;
		r = mnl_cb_run(buf, nfqd_nlmsg_whole(buf, (size_t)n), seq, d->portid, cb, data);
		if (r == MNL_CB_ERROR)
			return errno ? -errno : -EIO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

int nfqd_nftdump_chain_exists(struct nfqd_nftdump *d, uint8_t family)
{
	/* the answer (NFT_MSG_NEWCHAIN) says nothing more than that it exists */
	return exchange(d, NFT_MSG_GETCHAIN, NLM_F_ACK, family, false, NULL, NULL);
}

int nfqd_nftdump_rules(struct nfqd_nftdump *d, uint8_t family, mnl_cb_t cb, void *data)
{
	return exchange(d, NFT_MSG_GETRULE, NLM_F_DUMP, family, false, cb, data);
}

int nfqd_nftdump_all_rules(struct nfqd_nftdump *d, uint8_t family, mnl_cb_t cb, void *data)
{
	return exchange(d, NFT_MSG_GETRULE, NLM_F_DUMP, family, true, cb, data);
}

const struct nlattr *nfqd_nft_expr_data(const struct nlattr *expr, const char *name)
{
	const struct nlattr *a, *data = NULL;
	const char *have = NULL;

	mnl_attr_for_each_nested (a, expr) {
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			have = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA &&
			 mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			data = a;
	}
	return have && strcmp(have, name) == 0 ? data : NULL;
}
