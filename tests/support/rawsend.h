/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test support: send crafted IP packets exactly as built, through raw sockets in a namespace, and
 * read the kernel's per-rule packet counters to see what became of them.
 */
#ifndef NFQD_TEST_RAWSEND_H
#define NFQD_TEST_RAWSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A raw socket in namespace ns that sends whole IP packets of family 4 or 6, headers included
 * (IPPROTO_RAW). The kernel keeps every byte of an IPv6 packet; of an IPv4 header it rewrites
 * the total length (to the bytes sent) and the checksum, and fills in a zero id. Returns the
 * fd, or -errno.
 */
int raw_ip_open(const char *ns, int family);

/* Send the IP packet pkt (len bytes) on a raw_ip_open() socket of its family, to the
 * destination address in its header. Returns 0 or -errno. */
int raw_fd_send(int fd, const void *pkt, size_t len);

/*
 * The packet counter of rule num (1-based) of chain in table, in namespace ns, from iptables
 * (ip6tables with ipv6). Returns UINT64_MAX when the rule or the command is missing.
 */
uint64_t xt_rule_packets(const char *ns, bool ipv6, const char *table, const char *chain,
			 unsigned int num);

#endif /* NFQD_TEST_RAWSEND_H */
