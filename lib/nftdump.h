/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dumps of the rules of one nftables chain (as iptables-nft keeps an iptables chain) over a
 * netfilter netlink socket (internal to libnfqd: chaincount.c, chainplan.c).
 */
#ifndef NFQD_NFTDUMP_H
#define NFQD_NFTDUMP_H

#include <stdint.h>
#include <libmnl/libmnl.h>

struct nfqd_nftdump {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *table, *chain; /* owned: what the dumps read */
};

/* A chain read by chaincount.c and chainplan.c. */
struct nfqd_chaincount {
	struct nfqd_nftdump dump;
};

/*
 * Open and bind the socket of d, for chain `chain` of table `table` (both copied). Opened while the
 * process may (CAP_NET_ADMIN in its network namespace); a dump then needs no further system call
 * than send and receive. Returns 0 or -errno; d holds nothing on failure.
 */
int nfqd_nftdump_open(struct nfqd_nftdump *d, const char *table, const char *chain);

/* Close d's socket and free its names; a d that never opened (or closed) is accepted. */
void nfqd_nftdump_close(struct nfqd_nftdump *d);

/*
 * Whether d's chain exists in family (NFPROTO_IPV4, NFPROTO_IPV6): 0, or
 * -ENOENT when the table or the chain does not, or another -errno. A dump of the rules of a
 * chain that does not exist answers nothing and no error, so this is how to tell.
 */
int nfqd_nftdump_chain_exists(struct nfqd_nftdump *d, uint8_t family);

/*
 * Dump the rules of d's chain in family (NFPROTO_IPV4, NFPROTO_IPV6) and
 * hand each NFT_MSG_NEWRULE message to cb with data. Returns 0 (also when the table or the
 * chain does not exist: the kernel then answers no rule), or another -errno (the kernel's answer, a
 * reply that cannot be read, -EAGAIN when a part of the answer took over a second, what cb made of
 * a rule).
 */
int nfqd_nftdump_rules(struct nfqd_nftdump *d, uint8_t family, mnl_cb_t cb, void *data);

/* nfqd_nftdump_rules() over every chain of every table of family, on d's socket. */
int nfqd_nftdump_all_rules(struct nfqd_nftdump *d, uint8_t family, mnl_cb_t cb, void *data);

/*
 * The NFTA_EXPR_DATA of expression expr (an NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS) when its
 * NFTA_EXPR_NAME is name, validated as nested; NULL otherwise. Pure.
 */
const struct nlattr *nfqd_nft_expr_data(const struct nlattr *expr, const char *name);

#endif /* NFQD_NFTDUMP_H */
