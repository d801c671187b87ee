/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet view: the nfqueue attributes of one NFQNL_MSG_PACKET message and the IP and L4 headers
 * of the packet it carries, read in place.
 *
 * Every read goes through a length check against what was received, and multi-byte fields are
 * assembled byte by byte, so neither a short buffer nor an odd address can make a read go wrong.
 *
 * A header that does not fit in the bytes received is one of two things: cut short by the capture
 * (the copy range or a truncated read: len < packet_len), which sets a TRUNC flag and keeps the
 * facts already in reach; or longer than the packet itself, which is a lie of the header, sets a
 * BAD flag and withholds the facts of that header.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <nfqd/packet.h>

#define NFQD_PKT_META_FLAGS                                                                        \
	(NFQD_PKT_HAS_ID | NFQD_PKT_HAS_MARK | NFQD_PKT_HAS_UIDGID | NFQD_PKT_HAS_PAYLOAD |        \
	 NFQD_PKT_GSO | NFQD_PKT_MSG_TRUNC | NFQD_PKT_PAYLOAD_TRUNC | NFQD_PKT_BAD_ATTR |          \
	 NFQD_PKT_HAS_HWADDR | NFQD_PKT_HAS_CTMARK)

#define IPV4_HDRLEN	  20
#define IPV4_MF		  0x2000
#define IPV4_OFFSET	  0x1fff
#define IPV6_HDRLEN	  40
#define IPV6_FRAG_HDRLEN  8
#define IPV6_FRAG_OFFSET  0xfff8
#define IPV6_FRAG_MORE	  0x0001
#define IPPROTO_HIP_EXT	  139
#define IPPROTO_SHIM6_EXT 140

/* Where the L3 packet ends, in what was received and in the real packet. */
struct ip_bounds {
	const uint8_t *data;
	size_t end;	 /* bytes of data that belong to the L3 packet and were received */
	size_t real_end; /* bytes the L3 packet really has, received or not */
	bool captured;	 /* the capture (copy range, receive buffer) cut the packet short */
};

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * A header that would end at hdr_end does not fit in what was received: TRUNC when the capture
 * cut it, BAD when the packet itself is shorter than the header says.
 */
static uint32_t short_header_flag(const struct ip_bounds *b, size_t hdr_end, uint32_t trunc,
				  uint32_t bad)
{
	return hdr_end > b->real_end ? bad : trunc;
}

/* The first reason found wins: it is the header the walk could not get past. */
static void set_unreadable(struct nfqd_packet *pkt, enum nfqd_unreadable why, size_t val)
{
	if (pkt->flags & NFQD_PKT_UNREADABLE)
		return;
	pkt->flags |= NFQD_PKT_UNREADABLE;
	pkt->unreadable = (uint8_t)why;
	pkt->unreadable_val = (uint16_t)min_size(val, UINT16_MAX);
}

/* A fixed L4 header that would end at hdr_end does not fit in what was received. */
static uint32_t short_l4(struct nfqd_packet *pkt, const struct ip_bounds *b, size_t hdr_end)
{
	uint32_t flag = short_header_flag(b, hdr_end, NFQD_PKT_TRUNC_L4, NFQD_PKT_BAD_L4);

	set_unreadable(pkt,
		       flag == NFQD_PKT_BAD_L4 ? NFQD_UNREADABLE_L4_SHORT : NFQD_UNREADABLE_L4_CUT,
		       0);
	return flag;
}

static void parse_ports(struct nfqd_packet *pkt, const uint8_t *l4, size_t avail)
{
	if (avail >= 4) {
		pkt->sport = get_be16(l4);
		pkt->dport = get_be16(l4 + 2);
		pkt->flags |= NFQD_PKT_HAS_PORTS;
	}
}

static void withhold_l4_facts(struct nfqd_packet *pkt)
{
	pkt->flags &= ~(uint32_t)(NFQD_PKT_HAS_PORTS | NFQD_PKT_HAS_TCP_FLAGS | NFQD_PKT_HAS_ICMP);
	pkt->sport = 0;
	pkt->dport = 0;
	pkt->tcp_flags = 0;
	pkt->icmp_type = 0;
	pkt->icmp_code = 0;
}

static uint32_t check_tcp(struct nfqd_packet *pkt, const struct ip_bounds *b, size_t off)
{
	const uint8_t *th = b->data + off;
	size_t avail = b->end - off;
	size_t doff;

	parse_ports(pkt, th, avail);
	if (avail >= 14) {
		pkt->tcp_flags = th[13];
		pkt->flags |= NFQD_PKT_HAS_TCP_FLAGS;
	}
	if (avail >= 13) {
		doff = (size_t)(th[12] >> 4) * 4;
		if (doff < 20) {
			set_unreadable(pkt, NFQD_UNREADABLE_TCP_DOFF, doff / 4);
			return NFQD_PKT_BAD_L4;
		}
		if (off + doff > b->end) {
			uint32_t flag = short_header_flag(b, off + doff, NFQD_PKT_TRUNC_L4,
							  NFQD_PKT_BAD_L4);

			/* Options cut by the capture leave the fixed 20 bytes readable. */
			if (flag == NFQD_PKT_BAD_L4)
				set_unreadable(pkt, NFQD_UNREADABLE_L4_SHORT, 0);
			else if (avail < 20)
				set_unreadable(pkt, NFQD_UNREADABLE_L4_CUT, 0);
			return flag;
		}
		return 0;
	}
	return short_l4(pkt, b, off + 20);
}

static uint32_t check_udp(struct nfqd_packet *pkt, const struct ip_bounds *b, size_t off)
{
	const uint8_t *uh = b->data + off;
	size_t avail = b->end - off;
	uint16_t ulen;

	parse_ports(pkt, uh, avail);
	if (avail < 8)
		return short_l4(pkt, b, off + 8);
	/* 0 is legal: a jumbogram for UDP, full checksum coverage for UDP-Lite. */
	ulen = get_be16(uh + 4);
	if (ulen != 0 && ulen < 8) {
		set_unreadable(pkt, NFQD_UNREADABLE_UDP_LEN, ulen);
		return NFQD_PKT_BAD_L4;
	}
	return 0;
}

static uint32_t check_ports_hdr(struct nfqd_packet *pkt, const struct ip_bounds *b, size_t off,
				size_t hdrlen)
{
	size_t avail = b->end - off;

	parse_ports(pkt, b->data + off, avail);
	if (avail < hdrlen)
		return short_l4(pkt, b, off + hdrlen);
	return 0;
}

static uint32_t check_icmp(struct nfqd_packet *pkt, const struct ip_bounds *b, size_t off)
{
	const uint8_t *ih = b->data + off;
	size_t avail = b->end - off;

	if (avail >= 2) {
		pkt->icmp_type = ih[0];
		pkt->icmp_code = ih[1];
		pkt->flags |= NFQD_PKT_HAS_ICMP;
	}
	if (avail < 8)
		return short_l4(pkt, b, off + 8);
	return 0;
}

/* off: where the L4 header of protocol pkt->l4_proto starts, off <= b->end. */
static void parse_l4(struct nfqd_packet *pkt, const struct ip_bounds *b, size_t off)
{
	uint32_t err = 0;

	if (off < b->end) {
		pkt->l4 = b->data + off;
		pkt->l4_len = (uint32_t)(b->end - off);
	}

	switch (pkt->l4_proto) {
	case IPPROTO_TCP:
		err = check_tcp(pkt, b, off);
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		err = check_udp(pkt, b, off);
		break;
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		err = check_ports_hdr(pkt, b, off, 12);
		break;
	case IPPROTO_ICMP:
		if (pkt->l3 == 4)
			err = check_icmp(pkt, b, off);
		break;
	case IPPROTO_ICMPV6:
		if (pkt->l3 == 6)
			err = check_icmp(pkt, b, off);
		break;
	default:
		break;
	}

	pkt->flags |= err;
	if (err & NFQD_PKT_BAD_L4)
		withhold_l4_facts(pkt);
}

/* The fixed IP header of version l3 does not fit: bad when the packet itself is that short. */
static void short_ip(struct nfqd_packet *pkt, unsigned int l3, bool bad)
{
	pkt->flags |= bad ? NFQD_PKT_BAD_L3 : NFQD_PKT_TRUNC_L3;
	set_unreadable(pkt, bad ? NFQD_UNREADABLE_IP_SHORT : NFQD_UNREADABLE_IP_CUT, l3);
}

/* An IPv6 extension header that would end at hdr_end does not fit in what was received. */
static void short_ext(struct nfqd_packet *pkt, const struct ip_bounds *b, size_t hdr_end)
{
	uint32_t flag = short_header_flag(b, hdr_end, NFQD_PKT_TRUNC_L3, NFQD_PKT_BAD_L3);

	pkt->flags |= flag;
	/* val 1: the capture cut the chain; 0: it goes on in the next fragment */
	set_unreadable(pkt,
		       flag == NFQD_PKT_BAD_L3 ? NFQD_UNREADABLE_EXT_BAD : NFQD_UNREADABLE_EXT_CUT,
		       b->captured);
}

static void parse_ipv4(struct nfqd_packet *pkt, const uint8_t *data, size_t len, size_t packet_len)
{
	struct ip_bounds b = { .data = data };
	size_t ihl, tot_len;
	uint16_t frag;

	if (len < IPV4_HDRLEN) {
		short_ip(pkt, 4, packet_len < IPV4_HDRLEN);
		return;
	}
	ihl = (size_t)(data[0] & 0x0f) * 4;
	tot_len = get_be16(data + 2);
	if (ihl < IPV4_HDRLEN) {
		pkt->flags |= NFQD_PKT_BAD_L3;
		set_unreadable(pkt, NFQD_UNREADABLE_IP_IHL, ihl);
		return;
	}
	if (tot_len == 0 && (pkt->flags & NFQD_PKT_GSO)) {
		/* Big TCP: a GSO packet over 64 KiB has no room for its length in tot_len. */
		b.real_end = packet_len;
	} else if (tot_len < ihl || tot_len > packet_len) {
		pkt->flags |= NFQD_PKT_BAD_L3;
		set_unreadable(pkt, NFQD_UNREADABLE_IP_LENGTH, tot_len);
		return;
	} else {
		b.real_end = tot_len;
	}
	/* Bytes after tot_len are link-layer padding, not part of the packet. */
	b.end = min_size(len, b.real_end);
	b.captured = len < b.real_end;

	pkt->l3 = 4;
	pkt->ttl = data[8];
	pkt->l4_proto = data[9];
	memcpy(&pkt->src.v4, data + 12, 4);
	memcpy(&pkt->dst.v4, data + 16, 4);
	pkt->flags |= NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO;

	frag = get_be16(data + 6);
	if (frag & (IPV4_MF | IPV4_OFFSET)) {
		pkt->flags |= NFQD_PKT_FRAGMENT;
		pkt->frag_off = (uint16_t)((frag & IPV4_OFFSET) * 8);
		if (pkt->frag_off)
			pkt->flags |= NFQD_PKT_FRAG_LATER;
		/* A first fragment ends where the fragmenter cut it, not where its headers do. */
		b.real_end = SIZE_MAX;
	}

	if (ihl > b.end) {
		uint32_t flag = short_header_flag(&b, ihl, NFQD_PKT_TRUNC_L3, NFQD_PKT_BAD_L3);

		pkt->flags |= flag;
		if (flag == NFQD_PKT_BAD_L3)
			set_unreadable(pkt, NFQD_UNREADABLE_IP_SHORT, 4);
		else
			set_unreadable(pkt, NFQD_UNREADABLE_IPV4_OPTS_CUT, ihl);
		return;
	}
	pkt->l3_hdrlen = (uint16_t)ihl;
	if (pkt->flags & NFQD_PKT_FRAG_LATER)
		return;
	parse_l4(pkt, &b, ihl);
}

static void parse_ipv6(struct nfqd_packet *pkt, const uint8_t *data, size_t len, size_t packet_len)
{
	struct ip_bounds b = { .data = data };
	size_t plen, off, hdrlen;
	uint16_t frag;
	uint8_t nexthdr;

	if (len < IPV6_HDRLEN) {
		short_ip(pkt, 6, packet_len < IPV6_HDRLEN);
		return;
	}
	plen = get_be16(data + 4);
	if (plen == 0) {
		/* Jumbogram or big TCP: the length is not in the header, take the packet's. */
		b.real_end = packet_len;
	} else if (IPV6_HDRLEN + plen > packet_len) {
		pkt->flags |= NFQD_PKT_BAD_L3;
		set_unreadable(pkt, NFQD_UNREADABLE_IPV6_LENGTH, plen);
		return;
	} else {
		b.real_end = IPV6_HDRLEN + plen;
	}
	b.end = min_size(len, b.real_end);
	b.captured = len < b.real_end;

	pkt->l3 = 6;
	pkt->ttl = data[7];
	memcpy(&pkt->src.v6, data + 8, 16);
	memcpy(&pkt->dst.v6, data + 24, 16);
	pkt->flags |= NFQD_PKT_HAS_L3;

	nexthdr = data[6];
	off = IPV6_HDRLEN;
	for (;;) {
		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_MH:
		case IPPROTO_HIP_EXT:
		case IPPROTO_SHIM6_EXT:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			/* The upper layer, or ESP or no-next-header, which end the chain too. */
			pkt->l4_proto = nexthdr;
			pkt->flags |= NFQD_PKT_HAS_PROTO;
			pkt->l3_hdrlen = (uint16_t)off;
			parse_l4(pkt, &b, off);
			return;
		}

		/*
		 * No cap on the number of headers: each takes at least 8 bytes that must lie within
		 * what was received, so the walk ends there. A cap would hide the upper layer of a
		 * longer chain from the rules.
		 */
		if (nexthdr == IPPROTO_FRAGMENT) {
			hdrlen = IPV6_FRAG_HDRLEN;
		} else {
			if (off + 2 > b.end) {
				short_ext(pkt, &b, off + 2);
				return;
			}
			if (nexthdr == IPPROTO_AH)
				hdrlen = ((size_t)data[off + 1] + 2) * 4;
			else
				hdrlen = ((size_t)data[off + 1] + 1) * 8;
		}
		if (off + hdrlen > b.end) {
			short_ext(pkt, &b, off + hdrlen);
			return;
		}

		if (nexthdr == IPPROTO_FRAGMENT) {
			frag = get_be16(data + off + 2);
			if (frag & (IPV6_FRAG_OFFSET | IPV6_FRAG_MORE)) {
				pkt->flags |= NFQD_PKT_FRAGMENT;
				pkt->frag_off = frag & IPV6_FRAG_OFFSET;
				/* Headers after this one may continue in the next fragment. */
				b.real_end = SIZE_MAX;
			}
			if (pkt->frag_off) {
				pkt->flags |= NFQD_PKT_FRAG_LATER | NFQD_PKT_HAS_PROTO;
				pkt->l4_proto = data[off];
				pkt->l3_hdrlen = (uint16_t)(off + hdrlen);
				return;
			}
		}
		nexthdr = data[off];
		off += hdrlen;
	}
}

void nfqd_packet_parse_ip(struct nfqd_packet *pkt, const uint8_t *data, size_t len,
			  size_t packet_len)
{
	pkt->flags &= NFQD_PKT_META_FLAGS;
	pkt->l3 = 0;
	pkt->l4_proto = 0;
	pkt->l3_hdrlen = 0;
	pkt->frag_off = 0;
	pkt->ttl = 0;
	memset(&pkt->src, 0, sizeof(pkt->src));
	memset(&pkt->dst, 0, sizeof(pkt->dst));
	pkt->sport = 0;
	pkt->dport = 0;
	pkt->icmp_type = 0;
	pkt->icmp_code = 0;
	pkt->tcp_flags = 0;
	pkt->l4 = NULL;
	pkt->l4_len = 0;
	pkt->unreadable = 0;
	pkt->unreadable_val = 0;

	/* A caller that does not know better says the packet is what it has. */
	if (packet_len < len)
		packet_len = len;

	if (len == 0) {
		pkt->flags |= packet_len == 0 ? NFQD_PKT_BAD_L3 : NFQD_PKT_TRUNC_L3;
		set_unreadable(
			pkt, packet_len == 0 ? NFQD_UNREADABLE_NO_PAYLOAD : NFQD_UNREADABLE_IP_CUT,
			0);
		return;
	}
	switch (data[0] >> 4) {
	case 4:
		parse_ipv4(pkt, data, len, packet_len);
		break;
	case 6:
		parse_ipv6(pkt, data, len, packet_len);
		break;
	default:
		pkt->flags |= NFQD_PKT_BAD_L3;
		set_unreadable(pkt, NFQD_UNREADABLE_IP_VERSION, data[0] >> 4);
		break;
	}
}

static const char *l4_name(const struct nfqd_packet *pkt)
{
	switch (pkt->l4_proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_UDPLITE:
		return "UDP-Lite";
	case IPPROTO_SCTP:
		return "SCTP";
	case IPPROTO_DCCP:
		return "DCCP";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	default:
		return "transport";
	}
}

int nfqd_packet_unreadable_text(const struct nfqd_packet *pkt, char *buf, size_t size)
{
	unsigned int val = pkt->unreadable_val;
	const char *ip = val == 6 ? "IPv6" : "IPv4";

	if (!(pkt->flags & NFQD_PKT_UNREADABLE))
		return -EINVAL;
	switch (pkt->unreadable) {
	case NFQD_UNREADABLE_NO_PAYLOAD:
		return snprintf(buf, size, "no packet data");
	case NFQD_UNREADABLE_IP_VERSION:
		return snprintf(buf, size, "IP version %u", val);
	case NFQD_UNREADABLE_IP_CUT:
		if (val == 0)
			return snprintf(buf, size, "IP header past the copy range");
		return snprintf(buf, size, "%s header cut short", ip);
	case NFQD_UNREADABLE_IP_SHORT:
		return snprintf(buf, size, "packet shorter than its %s header", ip);
	case NFQD_UNREADABLE_IP_IHL:
		return snprintf(buf, size, "IPv4 header length %u", val);
	case NFQD_UNREADABLE_IP_LENGTH:
		return snprintf(buf, size, "IPv4 total length %u does not fit the packet", val);
	case NFQD_UNREADABLE_IPV6_LENGTH:
		return snprintf(buf, size, "IPv6 payload length %u beyond the packet", val);
	case NFQD_UNREADABLE_IPV4_OPTS_CUT:
		return snprintf(buf, size, "IPv4 options past the copy range");
	case NFQD_UNREADABLE_EXT_CUT:
		if (!val)
			return snprintf(buf, size,
					"IPv6 extension headers past the first fragment");
		return snprintf(buf, size, "IPv6 extension headers past the copy range");
	case NFQD_UNREADABLE_EXT_BAD:
		return snprintf(buf, size, "IPv6 extension header past the packet's end");
	case NFQD_UNREADABLE_L4_CUT:
		return snprintf(buf, size, "%s header cut short", l4_name(pkt));
	case NFQD_UNREADABLE_L4_SHORT:
		return snprintf(buf, size, "%s header past the packet's end", l4_name(pkt));
	case NFQD_UNREADABLE_TCP_DOFF:
		return snprintf(buf, size, "TCP data offset %u", val);
	case NFQD_UNREADABLE_UDP_LEN:
		return snprintf(buf, size, "%s length %u", l4_name(pkt), val);
	default:
		return snprintf(buf, size, "unreadable (reason %u)", pkt->unreadable);
	}
}

/* Reads a big-endian u32 attribute; false when its length is wrong. */
static bool attr_be32(const struct nlattr *attr, uint32_t *val)
{
	int saved_errno = errno;

	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) {
		/* The parser has no side effects, not even on errno. */
		errno = saved_errno;
		return false;
	}
	*val = get_be32(mnl_attr_get_payload(attr));
	return true;
}

struct attr_state {
	bool have_cap_len, have_uid, have_gid;
	uint32_t cap_len;
	uint32_t claimed_payload_len;
};

/*
 * The connmark from the conntrack nest: CTA_MARK when present, else 0 (the kernel leaves a zero
 * mark out). A malformed nest yields no connmark rather than a wrong one.
 */
static void take_ct_mark(struct nfqd_packet *pkt, const struct nlattr *ct)
{
	const struct nlattr *a;
	uint32_t mark = 0;

	mnl_attr_for_each_nested (a, ct) {
		if (mnl_attr_get_type(a) != CTA_MARK)
			continue;
		if (mnl_attr_get_payload_len(a) != sizeof(uint32_t))
			return;
		mark = get_be32(mnl_attr_get_payload(a));
	}
	/* mnl_attr_for_each_nested stops at the first attribute that does not fit */
	pkt->ct_mark = mark;
	pkt->flags |= NFQD_PKT_HAS_CTMARK;
}

/* Takes one well-formed attribute into the view; false when its contents are malformed. */
static bool take_attr(struct nfqd_packet *pkt, struct attr_state *st, const struct nlattr *attr)
{
	const uint8_t *p = mnl_attr_get_payload(attr);
	uint32_t val;

	switch (mnl_attr_get_type(attr)) {
	case NFQA_PACKET_HDR: {
		int saved_errno = errno;

		if (mnl_attr_validate2(attr, MNL_TYPE_UNSPEC, sizeof(struct nfqnl_msg_packet_hdr)) <
		    0) {
			errno = saved_errno;
			return false;
		}
		pkt->id = get_be32(p + offsetof(struct nfqnl_msg_packet_hdr, packet_id));
		pkt->hw_protocol = get_be16(p + offsetof(struct nfqnl_msg_packet_hdr, hw_protocol));
		pkt->hook = p[offsetof(struct nfqnl_msg_packet_hdr, hook)];
		pkt->flags |= NFQD_PKT_HAS_ID;
		return true;
	}
	case NFQA_MARK:
		if (!attr_be32(attr, &pkt->mark))
			return false;
		pkt->flags |= NFQD_PKT_HAS_MARK;
		return true;
	case NFQA_IFINDEX_INDEV:
		return attr_be32(attr, &pkt->indev);
	case NFQA_IFINDEX_OUTDEV:
		return attr_be32(attr, &pkt->outdev);
	case NFQA_IFINDEX_PHYSINDEV:
		return attr_be32(attr, &pkt->physindev);
	case NFQA_IFINDEX_PHYSOUTDEV:
		return attr_be32(attr, &pkt->physoutdev);
	case NFQA_SKB_INFO:
		if (!attr_be32(attr, &pkt->skb_info))
			return false;
		if (pkt->skb_info & NFQA_SKB_GSO)
			pkt->flags |= NFQD_PKT_GSO;
		return true;
	case NFQA_CAP_LEN:
		if (!attr_be32(attr, &st->cap_len))
			return false;
		st->have_cap_len = true;
		return true;
	case NFQA_UID:
		if (!attr_be32(attr, &val))
			return false;
		pkt->uid = val;
		st->have_uid = true;
		return true;
	case NFQA_GID:
		if (!attr_be32(attr, &val))
			return false;
		pkt->gid = val;
		st->have_gid = true;
		return true;
	case NFQA_CT:
		pkt->ct = attr;
		take_ct_mark(pkt, attr);
		return true;
	case NFQA_HWADDR: {
		uint16_t alen;

		if (mnl_attr_get_payload_len(attr) < sizeof(struct nfqnl_msg_packet_hw))
			return false;
		alen = get_be16(p + offsetof(struct nfqnl_msg_packet_hw, hw_addrlen));
		if (alen == 0 || alen > sizeof(pkt->hwaddr))
			return true;
		memcpy(pkt->hwaddr, p + offsetof(struct nfqnl_msg_packet_hw, hw_addr), alen);
		pkt->hwaddr_len = (uint8_t)alen;
		pkt->flags |= NFQD_PKT_HAS_HWADDR;
		return true;
	}
	case NFQA_CT_INFO:
		return attr_be32(attr, &pkt->ct_info);
	case NFQA_PAYLOAD:
		pkt->payload = p;
		pkt->payload_len = mnl_attr_get_payload_len(attr);
		st->claimed_payload_len = pkt->payload_len;
		pkt->flags |= NFQD_PKT_HAS_PAYLOAD;
		return true;
	default:
		/* Newer kernels add attributes; not knowing one is not an error. */
		return true;
	}
}

/*
 * The attribute at attr could not be walked over: room bytes of it were received, msg_room bytes
 * are in the message by nlmsg_len. Either the read cut it (its header is there and its claimed
 * length fits in the message), or it is malformed.
 */
static void take_cut_attr(struct nfqd_packet *pkt, struct attr_state *st, const struct nlattr *attr,
			  size_t room, size_t msg_room)
{
	bool truncated = room < msg_room;

	if (room < sizeof(struct nlattr)) {
		if (!truncated)
			pkt->flags |= NFQD_PKT_BAD_ATTR;
		return;
	}
	if (!truncated || attr->nla_len < sizeof(struct nlattr) || attr->nla_len > msg_room) {
		pkt->flags |= NFQD_PKT_BAD_ATTR;
		return;
	}
	if (mnl_attr_get_type(attr) == NFQA_PAYLOAD) {
		pkt->payload = mnl_attr_get_payload(attr);
		pkt->payload_len = (uint32_t)(room - MNL_ATTR_HDRLEN);
		st->claimed_payload_len = mnl_attr_get_payload_len(attr);
		pkt->flags |= NFQD_PKT_HAS_PAYLOAD | NFQD_PKT_PAYLOAD_TRUNC;
	}
}

int nfqd_packet_parse(struct nfqd_packet *pkt, const struct nlmsghdr *nlh, size_t avail)
{
	const size_t hdrlen = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	struct attr_state st = { 0 };
	const struct nlattr *attr;
	struct nfgenmsg nfg;
	size_t off, end, msg_len;
	int room;

	memset(pkt, 0, sizeof(*pkt));
	if (!nlh || avail < sizeof(*nlh))
		return -EBADMSG;
	msg_len = nlh->nlmsg_len;
	if (avail < msg_len)
		pkt->flags |= NFQD_PKT_MSG_TRUNC;
	if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) || msg_len < hdrlen ||
	    avail < hdrlen)
		return -EBADMSG;

	memcpy(&nfg, mnl_nlmsg_get_payload(nlh), sizeof(nfg));
	pkt->family = nfg.nfgen_family;
	pkt->queue = ntohs(nfg.res_id);

	/* Offsets rather than pointers: nothing is computed beyond what was received. */
	end = min_size(msg_len, avail);
	off = hdrlen;
	attr = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg));
	while (off < end) {
		/* nla_len is 16 bits: clamping the room keeps it exact and fits an int. */
		room = (int)min_size(end - off, UINT16_MAX);
		if (!mnl_attr_ok(attr, room)) {
			take_cut_attr(pkt, &st, attr, end - off, msg_len - off);
			break;
		}
		if (!take_attr(pkt, &st, attr)) {
			pkt->flags |= NFQD_PKT_BAD_ATTR;
			break;
		}
		off += MNL_ALIGN(attr->nla_len);
		if (off >= end)
			break;
		attr = mnl_attr_next(attr);
	}

	if (st.have_uid && st.have_gid) {
		pkt->flags |= NFQD_PKT_HAS_UIDGID;
	} else {
		pkt->uid = 0;
		pkt->gid = 0;
	}
	if (!pkt->ct)
		pkt->ct_info = 0;

	if (st.have_cap_len)
		pkt->packet_len = st.cap_len;
	else if (pkt->flags & NFQD_PKT_HAS_PAYLOAD)
		pkt->packet_len = st.claimed_payload_len;
	if ((pkt->flags & NFQD_PKT_HAS_PAYLOAD) && pkt->payload_len < pkt->packet_len)
		pkt->flags |= NFQD_PKT_PAYLOAD_TRUNC;

	if (pkt->flags & NFQD_PKT_HAS_PAYLOAD)
		nfqd_packet_parse_ip(pkt, pkt->payload, pkt->payload_len, pkt->packet_len);
	else if (pkt->flags & NFQD_PKT_HAS_ID)
		set_unreadable(pkt, NFQD_UNREADABLE_NO_PAYLOAD, 0);

	return (pkt->flags & NFQD_PKT_HAS_ID) ? 0 : -EBADMSG;
}
