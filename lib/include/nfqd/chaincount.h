/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The packet counters of one nftables chain (as iptables-nft keeps an iptables chain): the sum
 * of the `counter` expressions of its rules, read over a netfilter netlink socket. nfqd reads
 * in this way what the kernel counts nowhere else, such as the packets that passed its queues
 * under fail-open without its verdict (the chain NFQD-PASS of `nfqd rules`). The same handle
 * reads the plan tag of a chain (nfqd/chainplan.h).
 */
#ifndef NFQD_CHAINCOUNT_H
#define NFQD_CHAINCOUNT_H

#include <stdint.h>

struct nfqd_chaincount;

/*
 * Open a netlink socket for reading chain `chain` of table `table` (both copied), in the IPv4
 * and the IPv6 family. Opened while the process may (CAP_NET_ADMIN in its network namespace);
 * reading needs no further system call than send and receive. Returns 0 and *out, or -errno.
 */
int nfqd_chaincount_open(struct nfqd_chaincount **out, const char *table, const char *chain);

/* Close the socket and free; NULL is accepted. */
void nfqd_chaincount_free(struct nfqd_chaincount *c);

/*
 * The packets counted by the rules of the chain, summed over both families, in *packets.
 * Returns 0, -ENOENT when the chain exists in neither family, or another -errno (the kernel's
 * answer, a reply that cannot be read, -EAGAIN when a part of the answer took over a second).
 */
int nfqd_chaincount_read(struct nfqd_chaincount *c, uint64_t *packets);

#endif /* NFQD_CHAINCOUNT_H */
