/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipset membership over raw nfnetlink messages (libmnl).
 *
 * Every answer comes from the kernel: nothing here remembers what a set holds. The element a
 * packet presents to a set is built the way the kernel's set match builds it from the skb
 * (each type's kadt and ip_set_getport.c), and then asked with IPSET_CMD_TEST, which runs the
 * type's uadt. Where the two kernel paths differ in what they accept, the difference is noted
 * at the place that handles it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/ipset/ip_set_bitmap.h>
#include <linux/netfilter/ipset/ip_set_hash.h>
#include <linux/netfilter/ipset/ip_set_list.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "nfqd/deadline.h"
#include "nfqd/ipset.h"
#include "nl.h"

/* Receive buffer: a dump message is at most 32 KiB (netlink caps its dump skbs there). The same
 * buffer holds RECV_SLOTS acknowledgements of RECV_SLOT bytes for recvmmsg(). */
#define RECV_BUF   65536
#define RECV_SLOT  1024
#define RECV_SLOTS (RECV_BUF / RECV_SLOT)

/* What one acknowledgement costs in the receive buffer (skb truesize: measured 832 bytes on
 * 6.18 for a 36-byte NETLINK_CAP_ACK error message); the margin covers other kernels. Without
 * NETLINK_CAP_ACK (kernels before 4.3) an error answer echoes its request: measured 832 bytes
 * up to a 180-byte answer, 1280 from 300 bytes; ACK_TRUESIZE_ECHO bounds either. */
#define ACK_TRUESIZE	  1024
#define ACK_TRUESIZE_ECHO 2048

/* netlink_sendmsg() refuses a message longer than the send buffer minus this. */
#define SNDBUF_SLACK 32

#define ATTR_SIZE(n) MNL_ALIGN(MNL_ATTR_HDRLEN + (n))
#define MSG_HEAD     (MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)))
#define IP_NEST_MAX  (MNL_ATTR_HDRLEN + ATTR_SIZE(16))

/* The longest TEST request: every attribute an element can carry, the longest set name. */
#define TEST_MSG_MAX                                                                               \
	(MSG_HEAD + ATTR_SIZE(1) + ATTR_SIZE(IPSET_MAXNAMELEN) + MNL_ATTR_HDRLEN +                 \
	 2 * IP_NEST_MAX + ATTR_SIZE(2) + ATTR_SIZE(1) + ATTR_SIZE(6) + ATTR_SIZE(4))

/* A HEADER or LIST request: the longest set name. */
#define HEADER_MSG_MAX (MSG_HEAD + ATTR_SIZE(1) + ATTR_SIZE(IPSET_MAXNAMELEN))

/* The PROTOCOL request. */
#define PROTOCOL_MSG_MAX (MSG_HEAD + ATTR_SIZE(1))

/* Where every request carries its version: the first attribute's payload (the kernel reads
 * attributes by type, the ipset tool puts the version first, and so does nfqd). */
#define VERSION_OFF (MSG_HEAD + MNL_ATTR_HDRLEN)

/* Room a header answer takes in the receive buffer, in acknowledgements: the kernel builds it
 * in a page-sized buffer that netlink trims on delivery; this bounds both. */
#define HEADER_ANSWER_ACKS 8

#define IPSET_MSG(cmd)	   ((NFNL_SUBSYS_IPSET << 8) | (cmd))

/* Result of a test added to a batch that has not run yet. */
#define RESULT_PENDING (-EAGAIN)

/* Protocols whose headers the kernel reads as ports (ip_set_get_ip4_port, get_port). */
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define IPV6_NEXTHDR_NONE 59

struct nfqd_ipset {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	size_t send_max;      /* longest send() the socket takes */
	unsigned int ack_max; /* acknowledgements the receive buffer holds */
	uint8_t *rbuf;	      /* RECV_BUF bytes */
	struct mmsghdr msgs[RECV_SLOTS];
	struct iovec iov[RECV_SLOTS];
	struct sockaddr_nl from[RECV_SLOTS];
	int64_t deadline;  /* of every wait for an answer (nfqd_now_ns()); 0: per call */
	bool stale;	   /* an exchange ended without its answers: they may still come */
	uint8_t proto;	   /* the version spoken, 0 before the kernel was asked */
	uint8_t proto_max; /* the highest version s may speak */
	bool refused;	   /* the last asking found no version in common: why says so */
	char why[128];
};

struct batch_entry {
	const char *set;
	struct nfqd_ipset_elem e; /* canonical: fields the flags do not name are zero */
	uint32_t hash;
	uint32_t off; /* of its request in buf */
	int result;
};

struct batch_slot {
	uint32_t gen; /* the slot is used when this equals the batch's gen */
	uint32_t idx;
};

struct batch_header {
	const char *set;
	uint32_t seq; /* of its request in the current run */
	int result;
	bool pending; /* to be asked in the next run */
	struct nfqd_ipset_info info;
};

struct nfqd_ipset_batch {
	unsigned int capacity;
	unsigned int count;
	unsigned int run_from; /* tests before it were asked by an earlier run */
	unsigned int n_headers;
	struct batch_header headers[NFQD_IPSET_HEADERS_MAX];
	uint8_t hbuf[NFQD_IPSET_HEADERS_MAX * HEADER_MSG_MAX]; /* the pending header requests */
	uint32_t gen;
	uint32_t mask; /* slots - 1 */
	struct batch_slot *slots;
	struct batch_entry *entries;
	uint8_t *buf;
	size_t used;
};

/* ---- the kind table ---- */

enum dim_what {
	DIM_ADDR,  /* the address of the side dirs[i] names */
	DIM_PORT,  /* protocol and port (TCP/UDP/UDP-Lite/SCTP port, ICMP type and code) */
	DIM_ADDR2, /* the address of the side dirs[i] names, as the second address */
	DIM_MARK,  /* the packet mark; the side is ignored, as in the kernel */
	DIM_MAC,   /* the MAC address of the side dirs[i] names */
	DIM_BPORT, /* bitmap:port: a TCP or UDP port, no protocol */
	DIM_NONE,
};

struct kind_desc {
	uint8_t dims;
	uint8_t what[NFQD_IPSET_DIMS_MAX];
};

static const struct kind_desc kinds[NFQD_IPSET_KIND_MAX] = {
	[NFQD_IPSET_IP] = { 1, { DIM_ADDR } },
	[NFQD_IPSET_NET] = { 1, { DIM_ADDR } },
	[NFQD_IPSET_IP_PORT] = { 2, { DIM_ADDR, DIM_PORT } },
	[NFQD_IPSET_NET_PORT] = { 2, { DIM_ADDR, DIM_PORT } },
	[NFQD_IPSET_IP_PORT_IP] = { 3, { DIM_ADDR, DIM_PORT, DIM_ADDR2 } },
	[NFQD_IPSET_IP_PORT_NET] = { 3, { DIM_ADDR, DIM_PORT, DIM_ADDR2 } },
	[NFQD_IPSET_NET_NET] = { 2, { DIM_ADDR, DIM_ADDR2 } },
	[NFQD_IPSET_NET_PORT_NET] = { 3, { DIM_ADDR, DIM_PORT, DIM_ADDR2 } },
	[NFQD_IPSET_IP_MARK] = { 2, { DIM_ADDR, DIM_MARK } },
	[NFQD_IPSET_MAC] = { 1, { DIM_MAC } },
	[NFQD_IPSET_IP_MAC] = { 2, { DIM_ADDR, DIM_MAC } },
	[NFQD_IPSET_PORT] = { 1, { DIM_BPORT } },
	/* The kernel's list:set type has one dimension; its members are tested instead. */
	[NFQD_IPSET_LIST] = { 1, { DIM_NONE } },
};

static const struct {
	const char *name;
	enum nfqd_ipset_kind kind;
} type_names[] = {
	{ "hash:ip", NFQD_IPSET_IP },
	{ "bitmap:ip", NFQD_IPSET_IP },
	{ "hash:net", NFQD_IPSET_NET },
	{ "hash:ip,port", NFQD_IPSET_IP_PORT },
	{ "hash:net,port", NFQD_IPSET_NET_PORT },
	{ "hash:ip,port,ip", NFQD_IPSET_IP_PORT_IP },
	{ "hash:ip,port,net", NFQD_IPSET_IP_PORT_NET },
	{ "hash:net,net", NFQD_IPSET_NET_NET },
	{ "hash:net,port,net", NFQD_IPSET_NET_PORT_NET },
	{ "hash:ip,mark", NFQD_IPSET_IP_MARK },
	{ "hash:mac", NFQD_IPSET_MAC },
	{ "hash:ip,mac", NFQD_IPSET_IP_MAC },
	{ "bitmap:ip,mac", NFQD_IPSET_IP_MAC },
	{ "bitmap:port", NFQD_IPSET_PORT },
	{ "list:set", NFQD_IPSET_LIST },
};

int nfqd_ipset_kind_of(const char *type, uint8_t *dims)
{
	size_t i;

	if (!type)
		return -EINVAL;
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(type, type_names[i].name) == 0) {
			if (dims)
				*dims = kinds[type_names[i].kind].dims;
			return (int)type_names[i].kind;
		}
	}
	return -EPROTONOSUPPORT;
}

/* ---- the element a packet presents ---- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Bytes of the L4 header the kernel reads to take a port (the whole header struct: it takes
 * nothing from a shorter one), 0 for protocols it takes port 0 for. */
static unsigned int kernel_l4_size(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_SCTP:
		return 12;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* The port the kernel reads from an L4 header: ICMP and ICMPv6 give type << 8 | code whatever
 * the family of the packet carrying them, whatever the side. */
static uint16_t l4_port(uint8_t proto, const uint8_t *l4, bool src)
{
	if (is_icmp(proto))
		return (uint16_t)(l4[0] << 8 | l4[1]);
	return get_be16(src ? l4 : l4 + 2);
}

/* An IPv4 non-first fragment: the kernel fails the port protocols (and ICMP) and takes port 0
 * for every other protocol. */
static int later_fragment_v4(uint8_t proto, uint8_t *out_proto, uint16_t *port)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_SCTP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_ICMP:
		return 0;
	default:
		*out_proto = proto;
		*port = 0;
		return 1;
	}
}

/*
 * The kernel's port lookup (ip_set_get_ip4_port / ip_set_get_ip6_port) redone on the packet's
 * own bytes. The view's parse is not enough for it: the kernel walks IPv6 extension headers
 * with ipv6_skip_exthdr(), which stops at mobility, HIP and shim6 headers (taking them as the
 * protocol) and fails at no-next-header, and it takes nothing from an L4 header shorter than
 * its struct. Returns 1, 0 when the kernel fails the lookup, -ENODATA when the bytes it would
 * read were not received.
 */
static int port_from_payload(const struct nfqd_packet *pkt, bool src, uint8_t *proto,
			     uint16_t *port)
{
	const uint8_t *p = pkt->payload;
	size_t len = pkt->payload_len;
	size_t plen = pkt->packet_len > len ? pkt->packet_len : len;
	size_t off, end, hs;
	uint8_t nh;

	if (pkt->l3 == 4) {
		size_t tot;

		if (len < 20)
			return -ENODATA;
		off = (size_t)(p[0] & 0x0f) * 4;
		if (off < 20)
			return -ENODATA;
		tot = get_be16(p + 2);
		/* A total length of 0 is a GSO packet too big to state it. */
		end = tot && tot < plen ? tot : plen;
		nh = p[9];
		if (nh == 0)
			return 0;
		if (get_be16(p + 6) & 0x1fff)
			return later_fragment_v4(nh, proto, port);
	} else {
		size_t pl;

		if (len < 40)
			return -ENODATA;
		pl = get_be16(p + 4);
		end = pl && 40 + pl < plen ? 40 + pl : plen;
		nh = p[6];
		off = 40;
		for (;;) {
			size_t hlen;

			switch (nh) {
			case IPPROTO_HOPOPTS:
			case IPPROTO_ROUTING:
			case IPPROTO_FRAGMENT:
			case IPPROTO_AH:
			case IPPROTO_DSTOPTS:
				break;
			case IPV6_NEXTHDR_NONE:
				return 0;
			default:
				goto l4;
			}
			if (off + (nh == IPPROTO_FRAGMENT ? 4 : 2) > end)
				return 0;
			if (off + (nh == IPPROTO_FRAGMENT ? 4 : 2) > len)
				return -ENODATA;
			if (nh == IPPROTO_FRAGMENT) {
				/* Unlike IPv4, every protocol fails on a non-first fragment. */
				if (get_be16(p + off + 2) & 0xfff8)
					return 0;
				hlen = 8;
			} else if (nh == IPPROTO_AH) {
				hlen = ((size_t)p[off + 1] + 2) * 4;
			} else {
				hlen = ((size_t)p[off + 1] + 1) * 8;
			}
			nh = p[off];
			off += hlen;
		}
	}
l4:
	*proto = nh;
	*port = 0;
	hs = kernel_l4_size(nh);
	if (hs == 0)
		return 1;
	if (off + hs > end)
		return 0;
	if (off + (is_icmp(nh) ? 2 : 4) > len)
		return -ENODATA;
	*port = l4_port(nh, p + off, src);
	return 1;
}

/* The same from the view's fields, for a view that carries no packet bytes. */
static int port_from_view(const struct nfqd_packet *pkt, bool src, uint8_t *proto, uint16_t *port)
{
	uint8_t nh = pkt->l4_proto;

	if (!(pkt->flags & NFQD_PKT_HAS_PROTO))
		return -ENODATA;
	if (pkt->l3 == 4 && nh == 0)
		return 0;
	if (pkt->flags & NFQD_PKT_FRAG_LATER)
		return pkt->l3 == 6 ? 0 : later_fragment_v4(nh, proto, port);
	if (pkt->l3 == 6 && nh == IPV6_NEXTHDR_NONE)
		return 0;

	*proto = nh;
	*port = 0;
	switch (nh) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
		if (!(pkt->flags & NFQD_PKT_HAS_PORTS))
			return -ENODATA;
		*port = src ? pkt->sport : pkt->dport;
		return 1;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* The view reads ICMP only in IPv4 and ICMPv6 only in IPv6. */
		if (!(pkt->flags & NFQD_PKT_HAS_ICMP) || (nh == IPPROTO_ICMP) != (pkt->l3 == 4))
			return -ENODATA;
		*port = (uint16_t)(pkt->icmp_type << 8 | pkt->icmp_code);
		return 1;
	default:
		/* DCCP included: the kernel takes no port from it. */
		return 1;
	}
}

static int packet_port(const struct nfqd_packet *pkt, bool src, uint8_t *proto, uint16_t *port)
{
	if (!(pkt->flags & NFQD_PKT_HAS_L3))
		return -ENODATA;
	if ((pkt->flags & NFQD_PKT_HAS_PAYLOAD) && pkt->payload)
		return port_from_payload(pkt, src, proto, port);
	return port_from_view(pkt, src, proto, port);
}

/*
 * The port dimension of the hash types. The kernel stores and tests elements from a process
 * with port 0 for every protocol but TCP, UDP, UDP-Lite, SCTP and the family's own ICMP. The
 * match reads a port for two more (ICMPv6 in IPv4, ICMP in IPv6): such an element with a
 * non-zero port is in no set filled with `ipset add`, and asking for it would test the port-0
 * element instead. So: no match.
 */
static int hash_port(const struct nfqd_packet *pkt, bool src, struct nfqd_ipset_elem *e)
{
	int r = packet_port(pkt, src, &e->proto, &e->port);

	if (r <= 0)
		return r;
	switch (e->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
		break;
	default:
		if (e->port != 0 && e->proto != (pkt->l3 == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
			return 0;
	}
	e->flags |= NFQD_ELEM_PORT;
	return 1;
}

/* bitmap:port takes a TCP or UDP port only (ip_set_get_ip_port) and has no protocol. */
static int bitmap_port(const struct nfqd_packet *pkt, bool src, struct nfqd_ipset_elem *e)
{
	uint8_t proto = 0;
	int r = packet_port(pkt, src, &proto, &e->port);

	if (r <= 0)
		return r;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	e->proto = 0;
	e->flags |= NFQD_ELEM_PORT;
	return 1;
}

/*
 * The kernel reads a MAC address from the Ethernet header: the source or the destination, as
 * the side says, and fails without an Ethernet header or on an all-zero address. The queue
 * delivers only the source (NFQA_HWADDR, present exactly when there is a link-layer header).
 */
static int packet_mac(const struct nfqd_packet *pkt, bool src, struct nfqd_ipset_elem *e)
{
	static const uint8_t zero[6];

	if (!(pkt->flags & NFQD_PKT_HAS_HWADDR) || pkt->hwaddr_len != 6)
		return 0;
	if (!src)
		return -ENODATA;
	if (memcmp(pkt->hwaddr, zero, 6) == 0)
		return 0;
	memcpy(e->mac, pkt->hwaddr, 6);
	e->flags |= NFQD_ELEM_MAC;
	return 1;
}

static int packet_addr(const struct nfqd_packet *pkt, bool src, union nfqd_addr *a)
{
	const union nfqd_addr *from = src ? &pkt->src : &pkt->dst;

	if (!(pkt->flags & NFQD_PKT_HAS_L3))
		return -ENODATA;
	memset(a, 0, sizeof(*a));
	memcpy(a->b, from->b, pkt->l3 == 4 ? 4 : 16);
	return 1;
}

/* The packet's family as NFPROTO_*, or 0 when it is unknown. */
static uint8_t packet_family(const struct nfqd_packet *pkt)
{
	if (pkt->flags & NFQD_PKT_HAS_L3)
		return pkt->l3 == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	if (pkt->family == NFPROTO_IPV4 || pkt->family == NFPROTO_IPV6)
		return pkt->family;
	return 0;
}

int nfqd_ipset_elem_from_packet(const struct nfqd_ipset_info *info, const uint8_t *dirs,
				const struct nfqd_packet *pkt, struct nfqd_ipset_elem *e)
{
	const struct kind_desc *k;
	bool unknown = false;
	uint8_t fam;
	unsigned int i;

	if (!info || !dirs || !pkt || !e || info->kind >= NFQD_IPSET_KIND_MAX ||
	    info->kind == NFQD_IPSET_LIST)
		return -EINVAL;
	k = &kinds[info->kind];
	if (info->dims != k->dims)
		return -EINVAL;
	for (i = 0; i < k->dims; i++)
		if (dirs[i] != NFQD_DIR_SRC && dirs[i] != NFQD_DIR_DST)
			return -EINVAL;

	memset(e, 0, sizeof(*e));

	/* The kernel's match fails a set of the other family before reading the packet. */
	fam = packet_family(pkt);
	if (info->family != NFPROTO_UNSPEC) {
		if (fam == 0)
			unknown = true;
		else if (fam != info->family)
			return 0;
	}

	/* The kernel fails at the first dimension it cannot take; a failure in any dimension
	 * decides, whatever the others would have been. */
	for (i = 0; i < k->dims; i++) {
		bool src = dirs[i] == NFQD_DIR_SRC;
		int r = 1;

		switch (k->what[i]) {
		case DIM_ADDR:
			r = packet_addr(pkt, src, &e->ip);
			if (r > 0)
				e->flags |= NFQD_ELEM_IP;
			break;
		case DIM_ADDR2:
			r = packet_addr(pkt, src, &e->ip2);
			if (r > 0)
				e->flags |= NFQD_ELEM_IP2;
			break;
		case DIM_PORT:
			r = hash_port(pkt, src, e);
			break;
		case DIM_BPORT:
			r = bitmap_port(pkt, src, e);
			break;
		case DIM_MARK:
			e->mark = (pkt->flags & NFQD_PKT_HAS_MARK) ? pkt->mark : 0;
			e->flags |= NFQD_ELEM_MARK;
			break;
		case DIM_MAC:
			r = packet_mac(pkt, src, e);
			break;
		default:
			return -EINVAL;
		}
		if (r == 0) {
			memset(e, 0, sizeof(*e));
			return 0;
		}
		if (r < 0)
			unknown = true;
	}
	if (unknown) {
		memset(e, 0, sizeof(*e));
		return -ENODATA;
	}
	if (e->flags & (NFQD_ELEM_IP | NFQD_ELEM_IP2))
		e->family = pkt->l3;
	return 1;
}

/* ---- TEST requests ---- */

static int check_name(const char *set)
{
	size_t n;

	if (!set)
		return -EINVAL;
	n = strnlen(set, IPSET_MAXNAMELEN);
	if (n == 0)
		return -EINVAL;
	if (n >= IPSET_MAXNAMELEN)
		return -ENAMETOOLONG;
	return 0;
}

/* Copy the fields of e its flags name into *c, all else zero: two equal tests compare equal
 * whatever the caller left in unused fields. */
static int canonical(const struct nfqd_ipset_elem *e, struct nfqd_ipset_elem *c)
{
	const uint8_t known =
		NFQD_ELEM_IP | NFQD_ELEM_PORT | NFQD_ELEM_IP2 | NFQD_ELEM_MAC | NFQD_ELEM_MARK;
	size_t alen;

	if (!e || !e->flags || (e->flags & ~known))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->flags = e->flags;
	if (e->flags & (NFQD_ELEM_IP | NFQD_ELEM_IP2)) {
		if (e->family != 4 && e->family != 6)
			return -EINVAL;
		c->family = e->family;
		alen = e->family == 4 ? 4 : 16;
		if (e->flags & NFQD_ELEM_IP)
			memcpy(c->ip.b, e->ip.b, alen);
		if (e->flags & NFQD_ELEM_IP2)
			memcpy(c->ip2.b, e->ip2.b, alen);
	}
	if (e->flags & NFQD_ELEM_PORT) {
		c->port = e->port;
		c->proto = e->proto;
	}
	if (e->flags & NFQD_ELEM_MAC)
		memcpy(c->mac, e->mac, 6);
	if (e->flags & NFQD_ELEM_MARK)
		c->mark = e->mark;
	return 0;
}

static struct nlmsghdr *put_request(void *buf, uint8_t cmd, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = IPSET_MSG(cmd);
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	/* ipset ignores the family of a request; this is what the ipset tool sends. */
	nfg->nfgen_family = NFPROTO_IPV4;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static bool put_addr(struct nlmsghdr *nlh, size_t len, uint16_t type, uint8_t family,
		     const union nfqd_addr *a)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, len, type);

	if (!nest)
		return false;
	if (family == 4) {
		if (!mnl_attr_put_check(nlh, len, IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, 4,
					a->b))
			return false;
	} else if (!mnl_attr_put_check(nlh, len, IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, 16,
				       a->b)) {
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

static bool proto_ok(uint8_t proto)
{
	return proto >= NFQD_IPSET_PROTOCOL_MIN && proto <= NFQD_IPSET_PROTOCOL_MAX;
}

/* Write the request for canonical element c; name and version checked. */
static int put_test(void *buf, size_t len, uint32_t seq, uint8_t proto, const char *set,
		    const struct nfqd_ipset_elem *c)
{
	struct nlmsghdr *nlh;
	struct nlattr *data;
	uint16_t port = htons(c->port);
	uint32_t mark = htonl(c->mark);

	if (len < MSG_HEAD)
		return -ENOSPC;
	/* libmnl leaves the padding of attributes unwritten: no stale byte goes out. */
	memset(buf, 0, len < TEST_MSG_MAX ? len : TEST_MSG_MAX);
	nlh = put_request(buf, IPSET_CMD_TEST, NLM_F_ACK, seq);
	if (!mnl_attr_put_u8_check(nlh, len, IPSET_ATTR_PROTOCOL, proto) ||
	    !mnl_attr_put_strz_check(nlh, len, IPSET_ATTR_SETNAME, set))
		return -ENOSPC;
	data = mnl_attr_nest_start_check(nlh, len, IPSET_ATTR_DATA);
	if (!data)
		return -ENOSPC;
	if ((c->flags & NFQD_ELEM_IP) && !put_addr(nlh, len, IPSET_ATTR_IP, c->family, &c->ip))
		return -ENOSPC;
	if (c->flags & NFQD_ELEM_PORT) {
		if (!mnl_attr_put_check(nlh, len, IPSET_ATTR_PORT | NLA_F_NET_BYTEORDER, 2, &port))
			return -ENOSPC;
		/* bitmap:port has no protocol: its element carries none. */
		if (c->proto && !mnl_attr_put_u8_check(nlh, len, IPSET_ATTR_PROTO, c->proto))
			return -ENOSPC;
	}
	if ((c->flags & NFQD_ELEM_IP2) && !put_addr(nlh, len, IPSET_ATTR_IP2, c->family, &c->ip2))
		return -ENOSPC;
	if ((c->flags & NFQD_ELEM_MAC) &&
	    !mnl_attr_put_check(nlh, len, IPSET_ATTR_ETHER, 6, c->mac))
		return -ENOSPC;
	if ((c->flags & NFQD_ELEM_MARK) &&
	    !mnl_attr_put_check(nlh, len, IPSET_ATTR_MARK | NLA_F_NET_BYTEORDER, 4, &mark))
		return -ENOSPC;
	mnl_attr_nest_end(nlh, data);
	return (int)nlh->nlmsg_len;
}

int nfqd_ipset_put_test(void *buf, size_t len, uint32_t seq, uint8_t proto, const char *set,
			const struct nfqd_ipset_elem *e)
{
	struct nfqd_ipset_elem c;
	int err;

	err = check_name(set);
	if (err < 0)
		return err;
	err = canonical(e, &c);
	if (err < 0)
		return err;
	if (!proto_ok(proto))
		return -EINVAL;
	if (!buf)
		return -ENOSPC;
	return put_test(buf, len, seq, proto, set, &c);
}

/* A request of cmd carrying only the version and maybe a set name (checked), into buf of len
 * bytes (at least MSG_HEAD). Returns its length or -ENOSPC. */
static int put_named(void *buf, size_t len, uint8_t cmd, uint16_t flags, uint32_t seq,
		     uint8_t proto, const char *set)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, len < HEADER_MSG_MAX ? len : HEADER_MSG_MAX);
	nlh = put_request(buf, cmd, flags, seq);
	if (!mnl_attr_put_u8_check(nlh, len, IPSET_ATTR_PROTOCOL, proto) ||
	    (set && !mnl_attr_put_strz_check(nlh, len, IPSET_ATTR_SETNAME, set)))
		return -ENOSPC;
	return (int)nlh->nlmsg_len;
}

int nfqd_ipset_put_header(void *buf, size_t len, uint32_t seq, uint8_t proto, const char *set)
{
	int err = check_name(set);

	if (err < 0)
		return err;
	if (!proto_ok(proto))
		return -EINVAL;
	if (!buf || len < MSG_HEAD)
		return -ENOSPC;
	return put_named(buf, len, IPSET_CMD_HEADER, 0, seq, proto, set);
}

int nfqd_ipset_put_protocol(void *buf, size_t len, uint32_t seq)
{
	if (!buf || len < MSG_HEAD)
		return -ENOSPC;
	/* The kernel answers with its own versions whatever this says; the ipset tool sends its
	 * highest, and so does nfqd. */
	return put_named(buf, len, IPSET_CMD_PROTOCOL, 0, seq, NFQD_IPSET_PROTOCOL_MAX, NULL);
}

/* The highest version of kmin..kmax and NFQD_IPSET_PROTOCOL_MIN..max. */
static int pick_upto(uint8_t kmin, uint8_t kmax, uint8_t max)
{
	uint8_t lo = kmin > NFQD_IPSET_PROTOCOL_MIN ? kmin : NFQD_IPSET_PROTOCOL_MIN;
	uint8_t hi = kmax < max ? kmax : max;

	if (kmin > kmax)
		return -EINVAL;
	return hi >= lo ? hi : -EPROTO;
}

int nfqd_ipset_protocol_pick(uint8_t kmin, uint8_t kmax)
{
	return pick_upto(kmin, kmax, NFQD_IPSET_PROTOCOL_MAX);
}

const char *nfqd_ipset_protocol_refusal(char *buf, size_t len, uint8_t kmin, uint8_t kmax)
{
	if (!buf || len == 0)
		return "";
	if (kmin == kmax)
		snprintf(
			buf, len,
			"the kernel speaks ipset protocol %u only; nfqd speaks protocols %u and %u",
			kmax, NFQD_IPSET_PROTOCOL_MIN, NFQD_IPSET_PROTOCOL_MAX);
	else
		snprintf(buf, len,
			 "the kernel speaks ipset protocols %u to %u; nfqd speaks protocols %u and "
			 "%u",
			 kmin, kmax, NFQD_IPSET_PROTOCOL_MIN, NFQD_IPSET_PROTOCOL_MAX);
	return buf;
}

/* ---- the socket ---- */

int nfqd_ipset_open(struct nfqd_ipset **out)
{
	struct nfqd_ipset *s;
	size_t sndbuf, rcvbuf, ack_truesize = ACK_TRUESIZE;
	unsigned int i;
	int one = 1;
	int err;

	if (!out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rbuf = malloc(RECV_BUF);
	if (!s->rbuf) {
		err = -ENOMEM;
		goto fail;
	}
	s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!s->nl) {
		err = -errno;
		goto fail;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		err = -errno;
		goto fail;
	}
	s->portid = mnl_socket_get_portid(s->nl);
	/* Short error answers: without this each one echoes its whole request. Kernels before
	 * 4.3 lack it and answer longer messages, which still fit a receive slot but take more
	 * of the receive buffer each. */
	if (mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one)) == -1) {
		if (errno != ENOPROTOOPT) {
			err = -errno;
			goto fail;
		}
		ack_truesize = ACK_TRUESIZE_ECHO;
	}
	err = nfqd_sockbuf_set(mnl_socket_get_fd(s->nl), false,
			       (size_t)NFQD_IPSET_BATCH_MAX * TEST_MSG_MAX + SNDBUF_SLACK, &sndbuf);
	if (err < 0)
		goto fail;
	/* Every answer to a send() is queued before send() returns: the receive buffer must
	 * hold them all, or the kernel drops the rest. */
	err = nfqd_sockbuf_set(mnl_socket_get_fd(s->nl), true,
			       (size_t)NFQD_IPSET_BATCH_MAX * ack_truesize, &rcvbuf);
	if (err < 0)
		goto fail;
	s->send_max = sndbuf > SNDBUF_SLACK + TEST_MSG_MAX ? sndbuf - SNDBUF_SLACK : TEST_MSG_MAX;
	s->ack_max = rcvbuf / ack_truesize > 1 ? (unsigned int)(rcvbuf / ack_truesize) : 1;
	s->seq = 1;
	s->proto_max = NFQD_IPSET_PROTOCOL_MAX;

	for (i = 0; i < RECV_SLOTS; i++) {
		s->iov[i].iov_base = s->rbuf + (size_t)i * RECV_SLOT;
		s->iov[i].iov_len = RECV_SLOT;
		s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
		s->msgs[i].msg_hdr.msg_iovlen = 1;
		s->msgs[i].msg_hdr.msg_name = &s->from[i];
		s->msgs[i].msg_hdr.msg_namelen = sizeof(s->from[i]);
	}
	*out = s;
	return 0;

fail:
	nfqd_ipset_close(s);
	return err;
}

void nfqd_ipset_close(struct nfqd_ipset *s)
{
	int saved = errno;

	if (!s)
		return;
	if (s->nl)
		mnl_socket_close(s->nl);
	free(s->rbuf);
	free(s);
	errno = saved;
}

static uint32_t next_seq(struct nfqd_ipset *s, unsigned int n)
{
	uint32_t seq;

	/* 0 is no request's (a parser reads it as "any answer"): a range never wraps through
	 * it. Otherwise a number comes back only 2^32 requests later, so that a late answer
	 * never passes for the answer to a later request. */
	if (s->seq == 0 || (uint32_t)(s->seq + n) < s->seq)
		s->seq = 1;
	seq = s->seq;
	s->seq += n;
	return seq;
}

static int send_all(struct nfqd_ipset *s, const void *buf, size_t len)
{
	for (;;) {
		if (mnl_socket_sendto(s->nl, buf, len) != -1)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Wait until the socket is readable or the deadline has passed (-ETIMEDOUT). */
static int wait_readable(struct nfqd_ipset *s, int64_t deadline)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(s->nl), .events = POLLIN };

	for (;;) {
		int ms = nfqd_deadline_wait_ms(deadline, nfqd_now_ns());
		int r;

		if (ms == 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -errno;
	}
}

/* Read whatever is queued, to leave the socket empty after an exchange failed. */
static void drain(struct nfqd_ipset *s)
{
	int fd = mnl_socket_get_fd(s->nl);
	int i;

	for (i = 0; i < 1 << 16; i++) {
		if (recv(fd, s->rbuf, RECV_BUF, MSG_DONTWAIT) == -1 && errno != EINTR &&
		    errno != ENOBUFS)
			break;
	}
}

/* An exchange ended before all its answers came: drop what is queued now, and what comes
 * later at the start of the next exchange (whose sequence numbers skip it anyway). */
static void abandon(struct nfqd_ipset *s)
{
	drain(s);
	s->stale = true;
}

/* The deadline of an exchange that starts now, once answers an abandoned one left are gone. */
static int64_t exchange_start(struct nfqd_ipset *s)
{
	if (s->stale) {
		drain(s);
		s->stale = false;
	}
	if (s->deadline)
		return s->deadline;
	return nfqd_deadline_after(nfqd_now_ns(), NFQD_IPSET_WAIT_DEFAULT_MS);
}

void nfqd_ipset_set_deadline(struct nfqd_ipset *s, int64_t deadline)
{
	if (s)
		s->deadline = deadline;
}

/* ---- the kernel's answers, parsed without a socket ---- */

/*
 * One pass of libmnl's reply loop over a datagram. Sequence numbers and portids are checked
 * here rather than by mnl_cb_run2(), which fails the whole datagram on a mismatch: an answer
 * left over from an aborted exchange is skipped, not an error.
 */
struct reply {
	uint32_t portid;
	uint32_t seq; /* 0: answers to any request */
	int (*data_cb)(const struct nlmsghdr *nlh, void *data);
	void (*ack_cb)(const struct nlmsghdr *nlh, int error, void *data); /* NULL: stop there */
	void *data;
	int error; /* the kernel's, from the acknowledgement or NLMSG_DONE that ended the answer */
	bool done;
};

static bool ours(const struct nlmsghdr *nlh, const struct reply *r)
{
	return nlh->nlmsg_pid == r->portid && (r->seq == 0 || nlh->nlmsg_seq == r->seq);
}

static int reply_data(const struct nlmsghdr *nlh, void *data)
{
	struct reply *r = data;
	int err;

	if (!ours(nlh, r) || !r->data_cb)
		return MNL_CB_OK;
	err = r->data_cb(nlh, r->data);
	if (err < 0) {
		errno = -err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* NLMSG_ERROR and NLMSG_DONE carry an int error first; a message too short for it is bad. */
static int reply_end(const struct nlmsghdr *nlh, void *data)
{
	struct reply *r = data;
	const int *error = mnl_nlmsg_get_payload(nlh);
	int e;

	if (!ours(nlh, r))
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*error))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	e = *error;
	/* An error must be negative; a positive one is no errno anybody can act on. */
	if (e > 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (nlh->nlmsg_type == NLMSG_ERROR && r->ack_cb) {
		r->ack_cb(nlh, e, r->data);
		return MNL_CB_OK;
	}
	r->error = e;
	r->done = true;
	return MNL_CB_STOP;
}

static int run_reply(const void *buf, size_t len, struct reply *r)
{
	/* libmnl takes the table as non-const; it only reads it. */
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = reply_end,
		[NLMSG_DONE] = reply_end,
	};

	size_t whole;

	if (!buf || len > INT_MAX)
		return -EINVAL;
	whole = nfqd_nlmsg_whole(buf, len);
	if (mnl_cb_run2(buf, whole, 0, 0, reply_data, r, ctl, NLMSG_MIN_TYPE) == MNL_CB_ERROR)
		return errno > 0 ? -errno : -EBADMSG;
	/* The kernel sends whole messages: anything else is no answer to trust. */
	return whole == len ? 0 : -EBADMSG;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IPSET_ATTR_CMD_MAX) <= 0)
		return MNL_CB_OK;
	switch (type) {
	case IPSET_ATTR_SETNAME:
	case IPSET_ATTR_TYPENAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 ||
		    mnl_attr_get_payload_len(a) > IPSET_MAXNAMELEN)
			return MNL_CB_OK;
		break;
	case IPSET_ATTR_PROTOCOL:
	case IPSET_ATTR_PROTOCOL_MIN:
	case IPSET_ATTR_FAMILY:
	case IPSET_ATTR_REVISION:
		if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
			return MNL_CB_OK;
		break;
	case IPSET_ATTR_ADT:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return MNL_CB_OK;
		break;
	default:
		break;
	}
	tb[type] = a;
	return MNL_CB_OK;
}

/* The header of a set from a HEADER answer: 0, -EPROTONOSUPPORT (info filled) or -EBADMSG. */
static int header_of(const struct nlmsghdr *nlh, struct nfqd_ipset_info *info)
{
	const struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1] = { NULL };
	int kind;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0)
		return -EBADMSG;
	if (!tb[IPSET_ATTR_TYPENAME] || !tb[IPSET_ATTR_FAMILY])
		return -EBADMSG;
	memset(info, 0, sizeof(*info));
	strcpy(info->type, mnl_attr_get_str(tb[IPSET_ATTR_TYPENAME]));
	info->family = mnl_attr_get_u8(tb[IPSET_ATTR_FAMILY]);
	info->revision = tb[IPSET_ATTR_REVISION] ? mnl_attr_get_u8(tb[IPSET_ATTR_REVISION]) : 0;
	info->protocol = tb[IPSET_ATTR_PROTOCOL] ? mnl_attr_get_u8(tb[IPSET_ATTR_PROTOCOL]) : 0;
	kind = nfqd_ipset_kind_of(info->type, &info->dims);
	if (kind < 0) {
		info->kind = NFQD_IPSET_KIND_MAX;
		info->dims = 0;
		return kind;
	}
	info->kind = (uint8_t)kind;
	return 0;
}

struct header_state {
	struct nfqd_ipset_info *info;
	int err;
	bool seen;
};

static int header_cb(const struct nlmsghdr *nlh, void *data)
{
	struct header_state *st = data;
	int err;

	if (nlh->nlmsg_type != IPSET_MSG(IPSET_CMD_HEADER) || st->seen)
		return 0;
	err = header_of(nlh, st->info);
	if (err == -EBADMSG)
		return err;
	st->err = err;
	st->seen = true;
	return 0;
}

int nfqd_ipset_parse_header(const void *buf, size_t len, uint32_t portid, uint32_t seq,
			    struct nfqd_ipset_info *info)
{
	struct header_state st = { .info = info };
	struct reply r = { .portid = portid, .seq = seq, .data_cb = header_cb, .data = &st };
	int err;

	if (!info)
		return -EINVAL;
	err = run_reply(buf, len, &r);
	if (err < 0)
		return err;
	if (st.seen)
		return st.err < 0 ? st.err : 1;
	if (r.done)
		/* The request asks for no acknowledgement: a success without the header is bad. */
		return r.error ? r.error : -EBADMSG;
	return 0;
}

struct versions {
	uint8_t min, max;
	bool seen;
};

static int protocol_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1] = { NULL };
	struct versions *v = data;

	if (nlh->nlmsg_type != IPSET_MSG(IPSET_CMD_PROTOCOL) || v->seen)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0 ||
	    !tb[IPSET_ATTR_PROTOCOL])
		return -EBADMSG;
	v->max = mnl_attr_get_u8(tb[IPSET_ATTR_PROTOCOL]);
	/* Kernels of protocol 6 answer with their version only (ip_set_protocol() of 4.4). */
	v->min =
		tb[IPSET_ATTR_PROTOCOL_MIN] ? mnl_attr_get_u8(tb[IPSET_ATTR_PROTOCOL_MIN]) : v->max;
	if (v->min > v->max)
		return -EBADMSG;
	v->seen = true;
	return 0;
}

int nfqd_ipset_parse_protocol(const void *buf, size_t len, uint32_t portid, uint32_t seq,
			      uint8_t *kmin, uint8_t *kmax)
{
	struct versions v = { 0 };
	struct reply r = { .portid = portid, .seq = seq, .data_cb = protocol_cb, .data = &v };
	int err;

	if (!kmin || !kmax)
		return -EINVAL;
	err = run_reply(buf, len, &r);
	if (err < 0)
		return err;
	if (v.seen) {
		*kmin = v.min;
		*kmax = v.max;
		return 1;
	}
	if (r.done)
		/* The request asks for no acknowledgement: a success without the answer is bad. */
		return r.error ? r.error : -EBADMSG;
	return 0;
}

static int member_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nfqd_ipset_members *m = data;
	const struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1] = { NULL };
	const struct nlattr *d, *a;

	if (nlh->nlmsg_type != IPSET_MSG(IPSET_CMD_LIST))
		return 0;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0)
		return -EBADMSG;
	/* Only the first message of a dump carries the type. */
	if (tb[IPSET_ATTR_TYPENAME] &&
	    strcmp(mnl_attr_get_str(tb[IPSET_ATTR_TYPENAME]), "list:set"))
		m->not_list = true;
	if (m->not_list || !tb[IPSET_ATTR_ADT])
		return 0;
	mnl_attr_for_each_nested (d, tb[IPSET_ATTR_ADT]) {
		if (mnl_attr_get_type(d) != IPSET_ATTR_DATA ||
		    mnl_attr_validate(d, MNL_TYPE_NESTED) < 0)
			continue;
		mnl_attr_for_each_nested (a, d) {
			if (mnl_attr_get_type(a) != IPSET_ATTR_NAME ||
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 ||
			    mnl_attr_get_payload_len(a) > NFQD_IPSET_NAME_MAX)
				continue;
			if (m->names && m->count < m->max)
				strcpy(m->names[m->count], mnl_attr_get_str(a));
			if (m->count < UINT_MAX)
				m->count++;
		}
	}
	return 0;
}

int nfqd_ipset_parse_list(const void *buf, size_t len, uint32_t portid, uint32_t seq,
			  struct nfqd_ipset_members *m)
{
	struct reply r = { .portid = portid, .seq = seq, .data_cb = member_cb, .data = m };
	int err;

	if (!m)
		return -EINVAL;
	err = run_reply(buf, len, &r);
	if (err < 0)
		return err;
	if (!r.done)
		return 0;
	return r.error ? r.error : 1;
}

struct answers_state {
	void (*fn)(uint32_t seq, int result, const struct nfqd_ipset_info *info, void *data);
	void *data;
	int count;
};

static int answer_header_cb(const struct nlmsghdr *nlh, void *data)
{
	struct answers_state *st = data;
	struct nfqd_ipset_info info;
	int err;

	if (nlh->nlmsg_type != IPSET_MSG(IPSET_CMD_HEADER))
		return 0;
	err = header_of(nlh, &info);
	if (err == -EBADMSG)
		return err;
	st->fn(nlh->nlmsg_seq, err, &info, st->data);
	st->count++;
	return 0;
}

static void answer_ack_cb(const struct nlmsghdr *nlh, int error, void *data)
{
	struct answers_state *st = data;

	st->fn(nlh->nlmsg_seq, error, NULL, st->data);
	st->count++;
}

int nfqd_ipset_parse_answers(const void *buf, size_t len, uint32_t portid,
			     void (*fn)(uint32_t seq, int result,
					const struct nfqd_ipset_info *info, void *data),
			     void *data)
{
	struct answers_state st = { .fn = fn, .data = data };
	struct reply r = {
		.portid = portid,
		.data_cb = answer_header_cb,
		.ack_cb = answer_ack_cb,
		.data = &st,
	};
	int err;

	if (!fn)
		return -EINVAL;
	err = run_reply(buf, len, &r);
	return err < 0 ? err : st.count;
}

/* ---- one request, one answer ---- */

/*
 * Send the request nlh and read its answer with parse() (nfqd_ipset_parse_header() or
 * nfqd_ipset_parse_list()) until that says it is complete. Returns parse()'s positive result,
 * the kernel's refusal, or -errno.
 */
static int ask(struct nfqd_ipset *s, const struct nlmsghdr *nlh,
	       int (*parse)(const void *buf, size_t len, uint32_t portid, uint32_t seq, void *arg),
	       void *arg, int64_t deadline)
{
	int fd = mnl_socket_get_fd(s->nl);
	int err = send_all(s, nlh, nlh->nlmsg_len);

	while (err == 0) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = s->rbuf, .iov_len = RECV_BUF };
		struct msghdr mh = {
			.msg_name = &from,
			.msg_namelen = sizeof(from),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: answers were lost, and what follows them may be queued */
			err = errno == EAGAIN ? wait_readable(s, deadline) : -errno;
			continue;
		}
		if (from.nl_pid != 0)
			continue;
		if (mh.msg_flags & MSG_TRUNC) {
			err = -EMSGSIZE;
			break;
		}
		err = parse(s->rbuf, (size_t)n, s->portid, nlh->nlmsg_seq, arg);
		if (err > 0)
			return err;
		/* A refusal ends the answer; what is left of a malformed one is drained. */
		if (err < 0 && err != -EBADMSG)
			return err;
	}
	abandon(s);
	return err;
}

static int parse_header_arg(const void *buf, size_t len, uint32_t portid, uint32_t seq, void *arg)
{
	return nfqd_ipset_parse_header(buf, len, portid, seq, arg);
}

static int parse_list_arg(const void *buf, size_t len, uint32_t portid, uint32_t seq, void *arg)
{
	return nfqd_ipset_parse_list(buf, len, portid, seq, arg);
}

static int parse_protocol_arg(const void *buf, size_t len, uint32_t portid, uint32_t seq, void *arg)
{
	struct versions *v = arg;

	return nfqd_ipset_parse_protocol(buf, len, portid, seq, &v->min, &v->max);
}

/* Ask the kernel which versions it speaks and keep the one to speak. */
static int negotiate(struct nfqd_ipset *s, int64_t deadline)
{
	uint8_t buf[PROTOCOL_MSG_MAX];
	struct versions v = { 0 };
	int r;

	nfqd_ipset_put_protocol(buf, sizeof(buf), next_seq(s, 1));
	r = ask(s, (const struct nlmsghdr *)buf, parse_protocol_arg, &v, deadline);
	if (r < 0)
		return r;
	r = pick_upto(v.min, v.max, s->proto_max);
	s->refused = r == -EPROTO;
	if (r < 0) {
		nfqd_ipset_protocol_refusal(s->why, sizeof(s->why), v.min, v.max);
		return r;
	}
	s->proto = (uint8_t)r;
	return r;
}

/* Begin an exchange: its deadline in *deadline, once the version to speak is known. Returns 0
 * or the errors of nfqd_ipset_protocol(). */
static int exchange_begin(struct nfqd_ipset *s, int64_t *deadline)
{
	int r;

	*deadline = exchange_start(s);
	if (s->proto)
		return 0;
	r = negotiate(s, *deadline);
	return r < 0 ? r : 0;
}

int nfqd_ipset_protocol(struct nfqd_ipset *s)
{
	int64_t deadline;
	int r;

	if (!s)
		return -EINVAL;
	r = exchange_begin(s, &deadline);
	return r < 0 ? r : s->proto;
}

int nfqd_ipset_limit_protocol(struct nfqd_ipset *s, uint8_t max)
{
	if (!s || !proto_ok(max))
		return -EINVAL;
	s->proto_max = max;
	s->proto = 0;
	return 0;
}

const char *nfqd_ipset_error(const struct nfqd_ipset *s, int err)
{
	if (s && s->refused && (err == -EPROTO || err == EPROTO))
		return s->why;
	return nfqd_ipset_strerror(err);
}

/* The HEADER request for set `name` (checked) in version proto (negotiated), without
 * acknowledgement: the answer is either the header or the refusal. Returns its length. */
static size_t put_header_request(void *buf, uint32_t seq, uint8_t proto, const char *name)
{
	return (size_t)put_named(buf, HEADER_MSG_MAX, IPSET_CMD_HEADER, 0, seq, proto, name);
}

int nfqd_ipset_info(struct nfqd_ipset *s, const char *name, struct nfqd_ipset_info *info)
{
	uint8_t buf[HEADER_MSG_MAX];
	int64_t deadline;
	int err;

	if (!s || !info)
		return -EINVAL;
	err = check_name(name);
	if (err < 0)
		return err;
	memset(info, 0, sizeof(*info));
	err = exchange_begin(s, &deadline);
	if (err < 0)
		return err;
	put_header_request(buf, next_seq(s, 1), s->proto, name);
	err = ask(s, (const struct nlmsghdr *)buf, parse_header_arg, info, deadline);
	if (err < 0 && err != -EPROTONOSUPPORT) {
		memset(info, 0, sizeof(*info));
		return err;
	}
	strcpy(info->name, name);
	return err < 0 ? err : 0;
}

/* ---- list:set members ---- */

int nfqd_ipset_list_members(struct nfqd_ipset *s, const char *name,
			    char (*names)[NFQD_IPSET_NAME_MAX], unsigned int max)
{
	uint8_t buf[HEADER_MSG_MAX];
	struct nfqd_ipset_members m = { .names = names, .max = names ? max : 0 };
	int64_t deadline;
	int err;

	if (!s)
		return -EINVAL;
	err = check_name(name);
	if (err < 0)
		return err;
	err = exchange_begin(s, &deadline);
	if (err < 0)
		return err;
	/* A dump without NLM_F_ACK: a refused one is answered with an error message (Linux 4.4:
	 * with NLMSG_DONE carrying the error), a finished one ends with NLMSG_DONE. Version 7
	 * adds the set's index (IPSET_ATTR_INDEX) to the first message; nothing reads it. */
	put_named(buf, sizeof(buf), IPSET_CMD_LIST, NLM_F_DUMP, next_seq(s, 1), s->proto, name);
	err = ask(s, (const struct nlmsghdr *)buf, parse_list_arg, &m, deadline);
	if (err < 0)
		return err;
	if (m.not_list)
		return -EINVAL;
	return m.count > INT_MAX ? INT_MAX : (int)m.count;
}

/* ---- batches ---- */

bool nfqd_ipset_elem_equal(const struct nfqd_ipset_elem *a, const struct nfqd_ipset_elem *b)
{
	size_t alen;

	if (a->flags != b->flags)
		return false;
	if (a->flags & (NFQD_ELEM_IP | NFQD_ELEM_IP2)) {
		if (a->family != b->family)
			return false;
		alen = a->family == 4 ? 4 : 16;
		if ((a->flags & NFQD_ELEM_IP) && memcmp(a->ip.b, b->ip.b, alen) != 0)
			return false;
		if ((a->flags & NFQD_ELEM_IP2) && memcmp(a->ip2.b, b->ip2.b, alen) != 0)
			return false;
	}
	if ((a->flags & NFQD_ELEM_PORT) && (a->port != b->port || a->proto != b->proto))
		return false;
	if ((a->flags & NFQD_ELEM_MAC) && memcmp(a->mac, b->mac, sizeof(a->mac)) != 0)
		return false;
	if ((a->flags & NFQD_ELEM_MARK) && a->mark != b->mark)
		return false;
	return true;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/* Over the fields of canonical element c, never its padding. */
static uint32_t test_hash(const char *set, const struct nfqd_ipset_elem *c)
{
	uint64_t h = (uint64_t)(uintptr_t)set * 0x9e3779b97f4a7c15ull;
	uint64_t w[2];

	h = mix(h, (uint64_t)c->family | (uint64_t)c->flags << 8 | (uint64_t)c->proto << 16 |
			   (uint64_t)c->port << 24 | (uint64_t)c->mark << 32);
	h = mix(h, (uint64_t)c->mac[0] | (uint64_t)c->mac[1] << 8 | (uint64_t)c->mac[2] << 16 |
			   (uint64_t)c->mac[3] << 24 | (uint64_t)c->mac[4] << 32 |
			   (uint64_t)c->mac[5] << 40);
	memcpy(w, c->ip.b, sizeof(w));
	h = mix(mix(h, w[0]), w[1]);
	memcpy(w, c->ip2.b, sizeof(w));
	h = mix(mix(h, w[0]), w[1]);
	return (uint32_t)(h ^ (h >> 32));
}

int nfqd_ipset_batch_new(struct nfqd_ipset_batch **out, unsigned int capacity)
{
	struct nfqd_ipset_batch *b;
	uint32_t slots = 1;
	int err = -ENOMEM;

	if (!out || capacity == 0 || capacity > NFQD_IPSET_BATCH_MAX)
		return -EINVAL;
	/* At most half full: probe sequences stay short. */
	while (slots < 2 * capacity)
		slots <<= 1;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->capacity = capacity;
	b->mask = slots - 1;
	b->gen = 1;
	b->slots = calloc(slots, sizeof(*b->slots));
	if (!b->slots)
		goto fail;
	b->entries = calloc(capacity, sizeof(*b->entries));
	if (!b->entries)
		goto fail;
	b->buf = malloc((size_t)capacity * TEST_MSG_MAX);
	if (!b->buf)
		goto fail;
	*out = b;
	return 0;

fail:
	nfqd_ipset_batch_free(b);
	return err;
}

void nfqd_ipset_batch_free(struct nfqd_ipset_batch *b)
{
	int saved = errno;

	if (!b)
		return;
	free(b->buf);
	free(b->entries);
	free(b->slots);
	free(b);
	errno = saved;
}

void nfqd_ipset_batch_reset(struct nfqd_ipset_batch *b)
{
	if (!b)
		return;
	b->count = 0;
	b->used = 0;
	b->run_from = 0;
	b->n_headers = 0;
	/* A new generation empties every slot without touching them. */
	if (++b->gen == 0) {
		memset(b->slots, 0, ((size_t)b->mask + 1) * sizeof(*b->slots));
		b->gen = 1;
	}
}

int nfqd_ipset_batch_add(struct nfqd_ipset_batch *b, const char *set,
			 const struct nfqd_ipset_elem *e)
{
	struct nfqd_ipset_elem c;
	struct batch_entry *ent;
	uint32_t h, i;
	int err;

	if (!b)
		return -EINVAL;
	err = check_name(set);
	if (err < 0)
		return err;
	err = canonical(e, &c);
	if (err < 0)
		return err;
	h = test_hash(set, &c);
	for (i = h & b->mask;; i = (i + 1) & b->mask) {
		struct batch_slot *sl = &b->slots[i];

		if (sl->gen != b->gen)
			break;
		ent = &b->entries[sl->idx];
		if (ent->hash == h && ent->set == set && nfqd_ipset_elem_equal(&ent->e, &c))
			return (int)sl->idx;
	}
	if (b->count == b->capacity)
		return -ENOSPC;

	ent = &b->entries[b->count];
	/* Numbered and versioned by the run that sends it, once the socket's version is known:
	 * version 0 until then, which every kernel refuses, so that none goes out unversioned. */
	err = put_test(b->buf + b->used, TEST_MSG_MAX, 0, 0, set, &c);
	if (err < 0)
		return err;
	ent->set = set;
	ent->e = c;
	ent->hash = h;
	ent->off = (uint32_t)b->used;
	ent->result = RESULT_PENDING;
	b->used += (size_t)err;
	b->slots[i].gen = b->gen;
	b->slots[i].idx = b->count;
	return (int)b->count++;
}

int nfqd_ipset_batch_add_header(struct nfqd_ipset_batch *b, const char *set)
{
	struct batch_header *h;
	unsigned int i;
	int err;

	if (!b)
		return -EINVAL;
	err = check_name(set);
	if (err < 0)
		return err;
	for (i = 0; i < b->n_headers; i++)
		if (b->headers[i].set == set || strcmp(b->headers[i].set, set) == 0)
			break;
	if (i == NFQD_IPSET_HEADERS_MAX)
		return -ENOSPC;
	h = &b->headers[i];
	if (i == b->n_headers) {
		b->n_headers++;
		h->set = set;
	}
	h->pending = true;
	h->result = RESULT_PENDING;
	return (int)i;
}

int nfqd_ipset_batch_header(const struct nfqd_ipset_batch *b, unsigned int i,
			    struct nfqd_ipset_info *info)
{
	if (!b || !info || i >= b->n_headers)
		return -EINVAL;
	if (b->headers[i].result == RESULT_PENDING)
		return RESULT_PENDING;
	*info = b->headers[i].info;
	return b->headers[i].result;
}

unsigned int nfqd_ipset_batch_count(const struct nfqd_ipset_batch *b)
{
	return b ? b->count : 0;
}

int nfqd_ipset_batch_result(const struct nfqd_ipset_batch *b, unsigned int i)
{
	if (!b || i >= b->count)
		return -EINVAL;
	return b->entries[i].result;
}

int nfqd_ipset_answer_index(uint32_t base, unsigned int n, uint32_t seq)
{
	uint32_t k = seq - base; /* wraps as sequence numbers do */

	return k < n && k <= INT_MAX ? (int)k : -1;
}

static int test_result(int error)
{
	if (error == 0)
		return 1;
	if (error == -IPSET_ERR_EXIST)
		return 0;
	return error;
}

/* The requests and answers of one send of a run. */
struct run_chunk {
	struct nfqd_ipset_batch *b;
	uint32_t base;	    /* seq of test run_from */
	unsigned int first; /* tests [first, last) */
	unsigned int last;
	bool headers; /* and the pending headers */
	unsigned int missing;
	int64_t deadline; /* of the run's waits */
};

static void fail_all(struct nfqd_ipset_batch *b, int err)
{
	unsigned int i;

	for (i = b->run_from; i < b->count; i++)
		b->entries[i].result = err;
	for (i = 0; i < b->n_headers; i++)
		if (b->headers[i].pending)
			b->headers[i].result = err;
}

static void take_answer(uint32_t seq, int result, const struct nfqd_ipset_info *info, void *data)
{
	struct run_chunk *c = data;
	struct nfqd_ipset_batch *b = c->b;
	int k = nfqd_ipset_answer_index(c->base, b->count - b->run_from, seq);
	unsigned int idx = b->run_from + (unsigned int)k;
	unsigned int i;

	/* Only answers to this send count; stale ones of an abandoned run do not. */
	if (!info && k >= 0 && idx >= c->first && idx < c->last &&
	    b->entries[idx].result == RESULT_PENDING) {
		b->entries[idx].result = test_result(result);
		c->missing--;
		return;
	}
	if (!c->headers)
		return;
	for (i = 0; i < b->n_headers; i++) {
		struct batch_header *h = &b->headers[i];

		if (!h->pending || h->seq != seq || h->result != RESULT_PENDING)
			continue;
		h->result = result;
		if (info) {
			h->info = *info;
			strcpy(h->info.name, h->set);
		}
		c->missing--;
		return;
	}
}

/* Read the answers of one send. */
static int read_results(struct nfqd_ipset *s, struct run_chunk *c)
{
	int fd = mnl_socket_get_fd(s->nl);

	while (c->missing) {
		int n, i, err;

		for (i = 0; i < RECV_SLOTS; i++)
			s->msgs[i].msg_hdr.msg_namelen = sizeof(s->from[i]);
		n = recvmmsg(fd, s->msgs, RECV_SLOTS, MSG_DONTWAIT, NULL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				err = wait_readable(s, c->deadline);
				if (err < 0)
					return err;
				continue;
			}
			return -errno;
		}
		for (i = 0; i < n; i++) {
			if (s->from[i].nl_pid != 0)
				continue;
			if (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
				return -EMSGSIZE;
			err = nfqd_ipset_parse_answers(s->iov[i].iov_base, s->msgs[i].msg_len,
						       s->portid, take_answer, c);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

/* Write the pending header requests into hbuf, numbered from seq, in version proto. Returns
 * their length. */
static size_t put_headers(struct nfqd_ipset_batch *b, uint32_t seq, uint8_t proto,
			  unsigned int *count)
{
	size_t used = 0;
	unsigned int i;

	*count = 0;
	for (i = 0; i < b->n_headers; i++) {
		struct batch_header *h = &b->headers[i];

		if (!h->pending)
			continue;
		h->seq = seq++;
		h->result = RESULT_PENDING;
		used += put_header_request(b->hbuf + used, h->seq, proto, h->set);
		(*count)++;
	}
	return used;
}

static int send_chunk(struct nfqd_ipset *s, const void *tests, size_t tlen, const void *hdrs,
		      size_t hlen)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct iovec iov[2] = {
		{ .iov_base = (void *)tests, .iov_len = tlen },
		{ .iov_base = (void *)hdrs, .iov_len = hlen },
	};
	struct msghdr mh = {
		.msg_name = &to,
		.msg_namelen = sizeof(to),
		.msg_iov = tlen ? iov : iov + 1,
		.msg_iovlen = tlen && hlen ? 2 : 1,
	};

	for (;;) {
		if (sendmsg(mnl_socket_get_fd(s->nl), &mh, 0) != -1)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static int run_from(struct nfqd_ipset *s, struct nfqd_ipset_batch *b)
{
	struct run_chunk c = { .b = b };
	unsigned int n_tests, n_hdrs, i;
	size_t hlen;
	int err = 0;

	n_tests = b->count - b->run_from;
	n_hdrs = 0;
	for (i = 0; i < b->n_headers; i++)
		n_hdrs += b->headers[i].pending;
	if (n_tests == 0 && n_hdrs == 0)
		return 0;
	err = exchange_begin(s, &c.deadline);
	if (err < 0)
		goto fail;
	c.base = next_seq(s, n_tests + NFQD_IPSET_HEADERS_MAX);
	hlen = put_headers(b, c.base + n_tests, s->proto, &n_hdrs);
	for (i = b->run_from; i < b->count; i++) {
		uint8_t *req = b->buf + b->entries[i].off;

		((struct nlmsghdr *)req)->nlmsg_seq = c.base + (i - b->run_from);
		req[VERSION_OFF] = s->proto;
		b->entries[i].result = RESULT_PENDING;
	}

	/* Requests are laid out back to back: a send is a run of them that fits both the send
	 * limit and the room for their answers. The header requests go with the last tests, or
	 * after them in a send of their own when they do not fit. */
	c.first = b->run_from;
	for (;;) {
		size_t start = c.first < b->count ? b->entries[c.first].off : b->used;
		size_t tlen;

		c.last = c.first;
		while (c.last < b->count && c.last - c.first < s->ack_max) {
			size_t end = c.last + 1 < b->count ? b->entries[c.last + 1].off : b->used;

			if (end - start > s->send_max)
				break;
			c.last++;
		}
		if (c.last == c.first && c.first < b->count)
			c.last++;
		tlen = (c.last < b->count ? b->entries[c.last].off : b->used) - start;
		c.headers = c.last == b->count && n_hdrs &&
			    c.last - c.first + n_hdrs * HEADER_ANSWER_ACKS <= s->ack_max &&
			    tlen + hlen <= s->send_max;
		if (c.last == c.first && n_hdrs)
			c.headers = true;
		c.missing = c.last - c.first + (c.headers ? n_hdrs : 0);
		if (c.missing == 0)
			break;
		err = send_chunk(s, b->buf + start, tlen, b->hbuf, c.headers ? hlen : 0);
		if (err < 0)
			goto fail;
		err = read_results(s, &c);
		if (err < 0)
			goto fail;
		if (c.headers)
			break;
		c.first = c.last;
	}
	for (i = 0; i < b->n_headers; i++)
		b->headers[i].pending = false;
	b->run_from = b->count;
	return 0;

fail:
	abandon(s);
	fail_all(b, err);
	for (i = 0; i < b->n_headers; i++)
		b->headers[i].pending = false;
	b->run_from = b->count;
	return err;
}

int nfqd_ipset_batch_run(struct nfqd_ipset *s, struct nfqd_ipset_batch *b)
{
	if (!s || !b)
		return -EINVAL;
	b->run_from = 0;
	return run_from(s, b);
}

int nfqd_ipset_batch_run_new(struct nfqd_ipset *s, struct nfqd_ipset_batch *b)
{
	if (!s || !b)
		return -EINVAL;
	return run_from(s, b);
}

/* ---- naming the kernel's errors ---- */

/* The core's codes (ip_set.h), from IPSET_ERR_PRIVATE. */
static const char *const core_errors[] = {
	[0] = "ipset refused the request (IPSET_ERR_PRIVATE)",
	[IPSET_ERR_PROTOCOL - IPSET_ERR_PRIVATE] =
		("the kernel refused the request: an ipset protocol version it does not speak, or "
		 "an attribute the set's type does not take (IPSET_ERR_PROTOCOL)"),
	[IPSET_ERR_FIND_TYPE - IPSET_ERR_PRIVATE] =
		"the kernel has no such set type or revision (IPSET_ERR_FIND_TYPE)",
	[IPSET_ERR_MAX_SETS - IPSET_ERR_PRIVATE] =
		"the kernel's limit on the number of sets is reached (IPSET_ERR_MAX_SETS)",
	[IPSET_ERR_BUSY - IPSET_ERR_PRIVATE] =
		"the set is in use by a rule or another set (IPSET_ERR_BUSY)",
	[IPSET_ERR_EXIST_SETNAME2 - IPSET_ERR_PRIVATE] =
		("the second set name is taken (rename) or names no set (swap) "
		 "(IPSET_ERR_EXIST_SETNAME2)"),
	[IPSET_ERR_TYPE_MISMATCH - IPSET_ERR_PRIVATE] =
		"the sets differ in type or family (IPSET_ERR_TYPE_MISMATCH)",
	[IPSET_ERR_EXIST - IPSET_ERR_PRIVATE] =
		"the element is not in the set, or is already (IPSET_ERR_EXIST)",
	[IPSET_ERR_INVALID_CIDR - IPSET_ERR_PRIVATE] =
		"a prefix length out of the set's range (IPSET_ERR_INVALID_CIDR)",
	[IPSET_ERR_INVALID_NETMASK - IPSET_ERR_PRIVATE] =
		"a netmask out of the set's range (IPSET_ERR_INVALID_NETMASK)",
	[IPSET_ERR_INVALID_FAMILY - IPSET_ERR_PRIVATE] =
		"an address family the set does not take (IPSET_ERR_INVALID_FAMILY)",
	[IPSET_ERR_TIMEOUT - IPSET_ERR_PRIVATE] =
		"the set was created without timeout support (IPSET_ERR_TIMEOUT)",
	[IPSET_ERR_REFERENCED - IPSET_ERR_PRIVATE] =
		"the set is referenced and cannot be renamed (IPSET_ERR_REFERENCED)",
	[IPSET_ERR_IPADDR_IPV4 - IPSET_ERR_PRIVATE] =
		"an IPv4 address was expected (IPSET_ERR_IPADDR_IPV4)",
	[IPSET_ERR_IPADDR_IPV6 - IPSET_ERR_PRIVATE] =
		"an IPv6 address was expected (IPSET_ERR_IPADDR_IPV6)",
	[IPSET_ERR_COUNTER - IPSET_ERR_PRIVATE] =
		"the set was created without counters (IPSET_ERR_COUNTER)",
	[IPSET_ERR_COMMENT - IPSET_ERR_PRIVATE] =
		"the set was created without comments (IPSET_ERR_COMMENT)",
	[IPSET_ERR_INVALID_MARKMASK - IPSET_ERR_PRIVATE] =
		"a markmask the set does not take (IPSET_ERR_INVALID_MARKMASK)",
	[IPSET_ERR_SKBINFO - IPSET_ERR_PRIVATE] =
		"the set was created without skbinfo (IPSET_ERR_SKBINFO)",
};

/*
 * The set types' own codes start again at IPSET_ERR_TYPE_SPECIFIC for each family of types: an
 * answer does not say which type refused, so each code is named for every type that uses it.
 */
static const char *const type_errors[] = {
	[IPSET_ERR_BITMAP_RANGE - IPSET_ERR_TYPE_SPECIFIC] =
		("refused by the set's type: bitmap: the element is out of the set's range "
		 "(IPSET_ERR_BITMAP_RANGE); hash: the set is full (IPSET_ERR_HASH_FULL); list:set: "
		 "no set of that name (IPSET_ERR_NAME)"),
	[IPSET_ERR_BITMAP_RANGE_SIZE - IPSET_ERR_TYPE_SPECIFIC] =
		("refused by the set's type: bitmap: the range exceeds the type's size limit "
		 "(IPSET_ERR_BITMAP_RANGE_SIZE); hash: a null element (IPSET_ERR_HASH_ELEM); "
		 "list:set: a list:set cannot be a member (IPSET_ERR_LOOP)"),
	[IPSET_ERR_INVALID_PROTO - IPSET_ERR_TYPE_SPECIFIC] =
		("refused by the set's type: hash: a protocol the type does not take "
		 "(IPSET_ERR_INVALID_PROTO); list:set: the reference set is missing "
		 "(IPSET_ERR_BEFORE)"),
	[IPSET_ERR_MISSING_PROTO - IPSET_ERR_TYPE_SPECIFIC] =
		("refused by the set's type: hash: the protocol is missing "
		 "(IPSET_ERR_MISSING_PROTO); list:set: the reference set does not exist "
		 "(IPSET_ERR_NAMEREF)"),
	[IPSET_ERR_HASH_RANGE_UNSUPPORTED - IPSET_ERR_TYPE_SPECIFIC] =
		("refused by the set's type: hash: ranges are not supported "
		 "(IPSET_ERR_HASH_RANGE_UNSUPPORTED); list:set: the set is full "
		 "(IPSET_ERR_LIST_FULL)"),
	[IPSET_ERR_HASH_RANGE - IPSET_ERR_TYPE_SPECIFIC] =
		("refused by the set's type: hash: an invalid range (IPSET_ERR_HASH_RANGE); "
		 "list:set: the reference set is not in the set (IPSET_ERR_REF_EXIST)"),
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *nfqd_ipset_strerror(int err)
{
	unsigned int e = err < 0 ? 0u - (unsigned int)err : (unsigned int)err;
	const char *text;

	if (e >= IPSET_ERR_TYPE_SPECIFIC && e - IPSET_ERR_TYPE_SPECIFIC < N_ELEMS(type_errors))
		return type_errors[e - IPSET_ERR_TYPE_SPECIFIC];
	/* The kernel leaves the type-specific range unbounded; types use a few codes each. */
	if (e >= IPSET_ERR_TYPE_SPECIFIC && e < IPSET_ERR_TYPE_SPECIFIC + 256)
		return "an error of the set's type that nfqd does not know (above "
		       "IPSET_ERR_TYPE_SPECIFIC: a newer kernel's)";
	if (e >= IPSET_ERR_PRIVATE && e - IPSET_ERR_PRIVATE < N_ELEMS(core_errors))
		return core_errors[e - IPSET_ERR_PRIVATE];
	if (e >= IPSET_ERR_PRIVATE && e < IPSET_ERR_TYPE_SPECIFIC)
		return "an ipset error that nfqd does not know (above IPSET_ERR_PRIVATE: a newer "
		       "kernel's)";
	/* glibc's own table, without its "Unknown error N" for a code it lacks (and without the
	 * buffer strerror() may fill for that). */
	text = e < IPSET_ERR_PRIVATE ? strerrordesc_np((int)e) : NULL;
	return text ? text : "an error code that is neither an errno nor an ipset error";
}
