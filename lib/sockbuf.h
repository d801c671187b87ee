/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Socket buffer sizing shared by the netlink sockets of lib/ (internal to libnfqd). */
#ifndef NFQD_SOCKBUF_H
#define NFQD_SOCKBUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Ask for a receive (rcv true) or send buffer of `want` bytes as the kernel accounts them (it
 * doubles the value it is given, and caps it at INT_MAX). SO_RCVBUFFORCE / SO_SNDBUFFORCE
 * first, which lift the net.core.{r,w}mem_max cap and need CAP_NET_ADMIN; on EPERM the plain
 * option, which the kernel caps. Returns 0 with *got the size obtained (may be less than
 * want), or -errno.
 */
int nfqd_sockbuf_set(int fd, bool rcv, size_t want, size_t *got);

#endif /* NFQD_SOCKBUF_H */
