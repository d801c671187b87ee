/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "netns.h"
#include "rawsend.h"

int raw_ip_open(const char *ns, int family)
{
	int h = ns_enter(ns);
	int fd, err;

	if (h < 0)
		return -errno;
	/* IPPROTO_RAW implies IP_HDRINCL for IPv4 and, since Linux 4.5, for IPv6 too. */
	fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	err = errno;
	ns_leave(h);
	return fd == -1 ? -err : fd;
}

int raw_fd_send(int fd, const void *pkt, size_t len)
{
	const uint8_t *p = pkt;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	const struct sockaddr *sa;
	socklen_t salen;
	ssize_t n;

	if (len >= 20 && p[0] >> 4 == 4) {
		memcpy(&s4.sin_addr, p + 16, 4);
		sa = (const struct sockaddr *)&s4;
		salen = sizeof(s4);
	} else if (len >= 40 && p[0] >> 4 == 6) {
		memcpy(&s6.sin6_addr, p + 24, 16);
		sa = (const struct sockaddr *)&s6;
		salen = sizeof(s6);
	} else {
		return -EINVAL;
	}
	n = sendto(fd, pkt, len, 0, sa, salen);
	if (n == -1)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

uint64_t xt_rule_packets(const char *ns, bool ipv6, const char *table, const char *chain,
			 unsigned int num)
{
	char *out = NULL, *line, *save = NULL;
	uint64_t pkts = UINT64_MAX;

	if (ns_sh_out(ns, &out, "%s -w -t %s -L %s -v -x -n --line-numbers",
		      ipv6 ? "ip6tables" : "iptables", table, chain) != 0) {
		free(out);
		return UINT64_MAX;
	}
	/* "num pkts bytes target prot opt in out source destination ..." */
	for (line = out ? strtok_r(out, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned int n;
		unsigned long long p;

		if (sscanf(line, "%u %llu", &n, &p) == 2 && n == num)
			pkts = p;
	}
	free(out);
	return pkts;
}
