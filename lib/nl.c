/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include "nl.h"

int nfqd_sockbuf_set(int fd, bool rcv, size_t want, size_t *got)
{
	int force_opt = rcv ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
	int opt = rcv ? SO_RCVBUF : SO_SNDBUF;
	/* Rounded up: the kernel's doubled value is then at least want. */
	int val = want / 2 >= INT_MAX / 2 ? INT_MAX / 2 : (int)((want + 1) / 2);
	int now;
	socklen_t len = sizeof(now);

	if (setsockopt(fd, SOL_SOCKET, force_opt, &val, sizeof(val)) == -1) {
		if (errno != EPERM)
			return -errno;
		if (setsockopt(fd, SOL_SOCKET, opt, &val, sizeof(val)) == -1)
			return -errno;
	}
	if (getsockopt(fd, SOL_SOCKET, opt, &now, &len) == -1)
		return -errno;
	*got = now > 0 ? (size_t)now : 0;
	return 0;
}

size_t nfqd_nlmsg_whole(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(p + off);
		size_t n = nlh->nlmsg_len;

		if (n < sizeof(*nlh) || n > len - off)
			break;
		/* the last message may come without its padding */
		off += NLMSG_ALIGN(n) < len - off ? NLMSG_ALIGN(n) : len - off;
	}
	return off;
}
