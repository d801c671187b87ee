/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet views built by hand for the ipset tests: the fields and flags nfqd_packet_parse()
 * would set for such a packet, without packet bytes (a view with bytes is built where a test
 * needs them). Header-only, so that each test links nothing more.
 */
#ifndef NFQD_TEST_IPSET_UTIL_H
#define NFQD_TEST_IPSET_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/packet.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

/* A view of a packet from src to dst (IPv4 or IPv6, told by the text) of protocol proto. */
static inline struct nfqd_packet view_ip(const char *src, const char *dst, uint8_t proto)
{
	struct nfqd_packet p;
	int af = strchr(src, ':') ? AF_INET6 : AF_INET;

	memset(&p, 0, sizeof(p));
	p.flags = NFQD_PKT_HAS_ID | NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO;
	p.l3 = af == AF_INET ? 4 : 6;
	p.family = af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	p.l4_proto = proto;
	if (inet_pton(af, src, &p.src) != 1 || inet_pton(af, dst, &p.dst) != 1) {
		fprintf(stderr, "bad test address '%s' or '%s'\n", src, dst);
		abort();
	}
	return p;
}

/* ...with ports (TCP, UDP, UDP-Lite, SCTP, DCCP). */
static inline struct nfqd_packet view_ports(const char *src, const char *dst, uint8_t proto,
					    uint16_t sport, uint16_t dport)
{
	struct nfqd_packet p = view_ip(src, dst, proto);

	p.flags |= NFQD_PKT_HAS_PORTS;
	p.sport = sport;
	p.dport = dport;
	return p;
}

/* ...an ICMP (IPv4) or ICMPv6 (IPv6) packet. */
static inline struct nfqd_packet view_icmp(const char *src, const char *dst, uint8_t type,
					   uint8_t code)
{
	struct nfqd_packet p = view_ip(src, dst, 0);

	p.l4_proto = p.l3 == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	p.flags |= NFQD_PKT_HAS_ICMP;
	p.icmp_type = type;
	p.icmp_code = code;
	return p;
}

/* Give the view a source MAC address "aa:bb:cc:dd:ee:ff" (NFQA_HWADDR). */
static inline void view_set_mac(struct nfqd_packet *p, const char *mac)
{
	unsigned int b[6];
	int i;

	if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
		fprintf(stderr, "bad test MAC '%s'\n", mac);
		abort();
	}
	memset(p->hwaddr, 0, sizeof(p->hwaddr));
	for (i = 0; i < 6; i++)
		p->hwaddr[i] = (uint8_t)b[i];
	p->hwaddr_len = 6;
	p->flags |= NFQD_PKT_HAS_HWADDR;
}

/* Give the view a packet mark (the kernel omits NFQA_MARK for 0). */
static inline void view_set_mark(struct nfqd_packet *p, uint32_t mark)
{
	p->mark = mark;
	if (mark)
		p->flags |= NFQD_PKT_HAS_MARK;
	else
		p->flags &= ~(uint32_t)NFQD_PKT_HAS_MARK;
}

#endif /* NFQD_TEST_IPSET_UTIL_H */
