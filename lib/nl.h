/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Netlink helpers shared by the sockets of lib/ (internal to libnfqd). */
#ifndef NFQD_NL_H
#define NFQD_NL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Ask for a receive (rcv true) or send buffer of `want` bytes as the kernel accounts them (it
 * doubles the value it is given, and caps it at INT_MAX). SO_RCVBUFFORCE / SO_SNDBUFFORCE
 * first, which lift the net.core.{r,w}mem_max cap and need CAP_NET_ADMIN; on EPERM the plain
 * option, which the kernel caps. Returns 0 with *got the size obtained (may be less than
 * want: EPERM without CAP_NET_ADMIN in the initial user namespace, as in a container), or
 * -errno. The value given is at most INT_MAX / 2: kernels before 4.9 doubled it without a
 * check, and a larger one came out negative.
 */
int nfqd_sockbuf_set(int fd, bool rcv, size_t want, size_t *got);

/*
 * The length of the run of whole netlink messages at the start of buf[0..len): each with a
 * length of at least a header and no more than what is left. libmnl 1.0.4's mnl_nlmsg_ok()
 * compares the length as a signed int, so a length of 2^31 or more passes it and
 * mnl_cb_run2() walks out of the buffer: callers hand it only this run. Pure.
 */
size_t nfqd_nlmsg_whole(const void *buf, size_t len);

#endif /* NFQD_NL_H */
