/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test support: IPv4/IPv6 packet builder and nfnetlink_queue packet messages (see pktbuild.h).
 */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <netinet/in.h>

#include "pktbuild.h"

#define IPV4_HDRLEN 20
#define IPV6_HDRLEN 40
#define TCP_HDRLEN  20

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void fail(struct pb *pb, int err)
{
	if (!pb->err)
		pb->err = err;
}

/* Appends n zero bytes; NULL (and the error recorded) if they do not fit. */
static uint8_t *grow(struct pb *pb, size_t n)
{
	uint8_t *p;

	if (pb->err)
		return NULL;
	if (n > pb->cap - pb->len) {
		fail(pb, -ENOSPC);
		return NULL;
	}
	p = pb->buf + pb->len;
	memset(p, 0, n);
	pb->len += n;
	return p;
}

/* Fills the pending protocol/next-header field with proto: what comes next is of that type. */
static bool chain(struct pb *pb, uint8_t proto)
{
	if (pb->err)
		return false;
	if (!pb->l3 || pb->l4_off != PB_NONE || pb->proto_off == PB_NONE) {
		fail(pb, -EINVAL);
		return false;
	}
	pb->buf[pb->proto_off] = proto;
	pb->proto_off = PB_NONE;
	return true;
}

void pb_init(struct pb *pb, void *buf, size_t cap)
{
	memset(pb, 0, sizeof(*pb));
	pb->buf = buf;
	pb->cap = cap < PB_PKT_MAX ? cap : PB_PKT_MAX;
	pb->proto_off = PB_NONE;
	pb->l4_off = PB_NONE;
}

void pb_ipv4(struct pb *pb, const char *src, const char *dst, uint8_t ttl)
{
	uint8_t *p;

	if (!pb->err && pb->len != 0)
		fail(pb, -EINVAL);
	p = grow(pb, IPV4_HDRLEN);
	if (!p)
		return;
	p[0] = 0x45;
	put_be16(p + 4, 0x1234);
	p[8] = ttl;
	if (inet_pton(AF_INET, src, p + 12) != 1 || inet_pton(AF_INET, dst, p + 16) != 1) {
		fail(pb, -EINVAL);
		return;
	}
	pb->l3 = 4;
	pb->proto_off = 9;
	pb->ipv4_opt_end = IPV4_HDRLEN;
}

void pb_ipv4_options(struct pb *pb, const void *opts, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	uint8_t *p;

	if (!pb->err && (pb->l3 != 4 || pb->len != IPV4_HDRLEN || padded > 40))
		fail(pb, -EINVAL);
	p = grow(pb, padded);
	if (!p)
		return;
	memcpy(p, opts, len);
	pb->buf[0] = (uint8_t)(0x40 | (IPV4_HDRLEN + padded) / 4);
	pb->ipv4_opt_end = IPV4_HDRLEN + padded;
}

void pb_ipv4_frag(struct pb *pb, uint16_t offset, bool more)
{
	if (pb->err)
		return;
	if (pb->l3 != 4 || offset % 8) {
		fail(pb, -EINVAL);
		return;
	}
	put_be16(pb->buf + 6, (uint16_t)((more ? 0x2000 : 0) | offset / 8));
	pb->fragment = more || offset;
}

void pb_ipv6(struct pb *pb, const char *src, const char *dst, uint8_t hop_limit)
{
	uint8_t *p;

	if (!pb->err && pb->len != 0)
		fail(pb, -EINVAL);
	p = grow(pb, IPV6_HDRLEN);
	if (!p)
		return;
	p[0] = 0x60;
	p[7] = hop_limit;
	if (inet_pton(AF_INET6, src, p + 8) != 1 || inet_pton(AF_INET6, dst, p + 24) != 1) {
		fail(pb, -EINVAL);
		return;
	}
	pb->l3 = 6;
	pb->proto_off = 6;
}

void pb_ipv6_ext(struct pb *pb, uint8_t type, size_t len)
{
	size_t start = pb->len;
	uint8_t *p;

	if (!pb->err && (pb->l3 != 6 || len < 8 || len > 2048 || len % 8))
		fail(pb, -EINVAL);
	if (!chain(pb, type))
		return;
	p = grow(pb, len);
	if (!p)
		return;
	p[1] = (uint8_t)(len / 8 - 1);
	pb->proto_off = start;
}

void pb_ipv6_frag(struct pb *pb, uint16_t offset, bool more, uint32_t ident)
{
	size_t start = pb->len;
	uint8_t *p;

	if (!pb->err && (pb->l3 != 6 || offset % 8))
		fail(pb, -EINVAL);
	if (!chain(pb, IPPROTO_FRAGMENT))
		return;
	p = grow(pb, 8);
	if (!p)
		return;
	put_be16(p + 2, (uint16_t)(offset | (more ? 1 : 0)));
	put_be32(p + 4, ident);
	pb->proto_off = start;
	if (more || offset)
		pb->fragment = true;
}

void pb_ah(struct pb *pb, size_t len, uint32_t spi)
{
	size_t start = pb->len;
	uint8_t *p;

	if (!pb->err && (len < 12 || len % 4 || len / 4 - 2 > 255))
		fail(pb, -EINVAL);
	if (!chain(pb, IPPROTO_AH))
		return;
	p = grow(pb, len);
	if (!p)
		return;
	p[1] = (uint8_t)(len / 4 - 2);
	put_be32(p + 4, spi);
	put_be32(p + 8, 1);
	pb->proto_off = start;
}

/* Starts the upper-layer header: n zero bytes of protocol proto. */
static uint8_t *start_l4(struct pb *pb, uint8_t proto, size_t n)
{
	size_t start = pb->len;
	uint8_t *p;

	if (!chain(pb, proto))
		return NULL;
	p = grow(pb, n);
	if (!p)
		return NULL;
	pb->l4_off = start;
	pb->l4_proto = proto;
	return p;
}

void pb_tcp(struct pb *pb, uint16_t sport, uint16_t dport, uint8_t flags)
{
	uint8_t *p = start_l4(pb, IPPROTO_TCP, TCP_HDRLEN);

	if (!p)
		return;
	put_be16(p, sport);
	put_be16(p + 2, dport);
	put_be32(p + 4, 1000);
	if (flags & PB_TCP_ACK)
		put_be32(p + 8, 2000);
	p[12] = (TCP_HDRLEN / 4) << 4;
	p[13] = flags;
	put_be16(p + 14, 65535);
}

void pb_tcp_options(struct pb *pb, const void *opts, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	uint8_t *p;

	if (!pb->err && (pb->l4_proto != IPPROTO_TCP || pb->l4_off == PB_NONE ||
			 pb->len != pb->l4_off + TCP_HDRLEN || padded > 40))
		fail(pb, -EINVAL);
	p = grow(pb, padded);
	if (!p)
		return;
	memcpy(p, opts, len);
	pb->buf[pb->l4_off + 12] = (uint8_t)(((TCP_HDRLEN + padded) / 4) << 4);
}

void pb_udp(struct pb *pb, uint8_t proto, uint16_t sport, uint16_t dport)
{
	uint8_t *p;

	if (!pb->err && proto != IPPROTO_UDP && proto != IPPROTO_UDPLITE)
		fail(pb, -EINVAL);
	p = start_l4(pb, proto, 8);
	if (!p)
		return;
	put_be16(p, sport);
	put_be16(p + 2, dport);
}

void pb_sctp(struct pb *pb, uint16_t sport, uint16_t dport, uint32_t vtag)
{
	uint8_t *p = start_l4(pb, IPPROTO_SCTP, 12);

	if (!p)
		return;
	put_be16(p, sport);
	put_be16(p + 2, dport);
	put_be32(p + 4, vtag);
}

void pb_dccp(struct pb *pb, uint16_t sport, uint16_t dport)
{
	uint8_t *p = start_l4(pb, IPPROTO_DCCP, 16);

	if (!p)
		return;
	put_be16(p, sport);
	put_be16(p + 2, dport);
	p[4] = 16 / 4;
	/* type 2 (Data), X = 1: 48-bit sequence numbers */
	p[8] = (2 << 1) | 1;
	p[15] = 1;
}

void pb_icmp(struct pb *pb, uint8_t type, uint8_t code)
{
	uint8_t *p = start_l4(pb, pb->l3 == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 8);

	if (!p)
		return;
	p[0] = type;
	p[1] = code;
}

void pb_l4(struct pb *pb, uint8_t proto, const void *hdr, size_t len)
{
	uint8_t *p = start_l4(pb, proto, len);

	if (p && len)
		memcpy(p, hdr, len);
}

void pb_data(struct pb *pb, const void *data, size_t len)
{
	uint8_t *p = grow(pb, len);
	size_t i;

	if (!p)
		return;
	if (data) {
		memcpy(p, data, len);
		return;
	}
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)i;
}

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void l4_checksum(struct pb *pb)
{
	uint8_t *l4 = pb->buf + pb->l4_off;
	size_t l4_len = pb->len - pb->l4_off;
	size_t csum_off;
	uint8_t pseudo[40];
	uint16_t csum;
	uint32_t sum = 0;

	switch (pb->l4_proto) {
	case IPPROTO_TCP:
		csum_off = 16;
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		csum_off = 6;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		csum_off = 2;
		break;
	default:
		return;
	}
	if (pb->l4_proto != IPPROTO_ICMP) {
		memset(pseudo, 0, sizeof(pseudo));
		if (pb->l3 == 4) {
			memcpy(pseudo, pb->buf + 12, 8);
			pseudo[9] = pb->l4_proto;
			put_be16(pseudo + 10, (uint16_t)l4_len);
			sum = sum_bytes(sum, pseudo, 12);
		} else {
			memcpy(pseudo, pb->buf + 8, 32);
			put_be32(pseudo + 32, (uint32_t)l4_len);
			pseudo[39] = pb->l4_proto;
			sum = sum_bytes(sum, pseudo, 40);
		}
	}
	put_be16(l4 + csum_off, 0);
	sum = sum_bytes(sum, l4, l4_len);
	csum = fold(sum);
	if (csum == 0 && pb->l4_proto != IPPROTO_TCP)
		csum = 0xffff;
	put_be16(l4 + csum_off, csum);
}

int pb_finish(struct pb *pb)
{
	if (pb->err)
		return pb->err;
	if (!pb->l3)
		return -EINVAL;
	if (pb->proto_off != PB_NONE) {
		pb->buf[pb->proto_off] = IPPROTO_NONE;
		pb->proto_off = PB_NONE;
	}

	if (pb->l4_off != PB_NONE && pb->l4_proto == IPPROTO_UDP)
		put_be16(pb->buf + pb->l4_off + 4, (uint16_t)(pb->len - pb->l4_off));

	if (pb->l3 == 4) {
		put_be16(pb->buf + 2, (uint16_t)pb->len);
		put_be16(pb->buf + 10, 0);
		put_be16(pb->buf + 10, fold(sum_bytes(0, pb->buf, pb->ipv4_opt_end)));
	} else {
		put_be16(pb->buf + 4, (uint16_t)(pb->len - IPV6_HDRLEN));
	}

	if (pb->l4_off != PB_NONE && !pb->fragment)
		l4_checksum(pb);
	return (int)pb->len;
}

void pb_nfq_init(struct pb_nfq *m, int ip_version, uint32_t id)
{
	memset(m, 0, sizeof(*m));
	m->family = ip_version == 6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	m->hw_protocol = ip_version == 6 ? ETH_P_IPV6 : ETH_P_IP;
	m->hook = NF_INET_LOCAL_IN;
	m->id = id;
}

struct nlmsghdr *pb_nfq_begin(void *buf, size_t cap, uint8_t family, uint16_t queue)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (cap < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(queue);
	return nlh;
}

/* The optional u32 attributes, in the order the kernel puts them. */
static const struct {
	uint32_t bit;
	uint16_t type;
	size_t field;
} u32_attrs[] = {
	{ PB_NFQ_INDEV, NFQA_IFINDEX_INDEV, offsetof(struct pb_nfq, indev) },
	{ PB_NFQ_PHYSINDEV, NFQA_IFINDEX_PHYSINDEV, offsetof(struct pb_nfq, physindev) },
	{ PB_NFQ_OUTDEV, NFQA_IFINDEX_OUTDEV, offsetof(struct pb_nfq, outdev) },
	{ PB_NFQ_PHYSOUTDEV, NFQA_IFINDEX_PHYSOUTDEV, offsetof(struct pb_nfq, physoutdev) },
	{ PB_NFQ_MARK, NFQA_MARK, offsetof(struct pb_nfq, mark) },
	{ PB_NFQ_UID, NFQA_UID, offsetof(struct pb_nfq, uid) },
	{ PB_NFQ_GID, NFQA_GID, offsetof(struct pb_nfq, gid) },
};

static uint32_t field_u32(const struct pb_nfq *m, size_t off)
{
	uint32_t v;

	memcpy(&v, (const uint8_t *)m + off, sizeof(v));
	return v;
}

int pb_nfq_msg(void *buf, size_t cap, const struct pb_nfq *m, const void *pkt, size_t pkt_len)
{
	const size_t u32_attr = MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(uint32_t));
	struct nfqnl_msg_packet_hdr ph;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	size_t need, i;

	if (pkt && pkt_len > PB_PAYLOAD_MAX)
		return -EMSGSIZE;

	need = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	if (!(m->attrs & PB_NFQ_NO_PACKET_HDR))
		need += MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(ph));
	for (i = 0; i < sizeof(u32_attrs) / sizeof(u32_attrs[0]); i++)
		if (m->attrs & u32_attrs[i].bit)
			need += u32_attr;
	if (m->attrs & PB_NFQ_CT)
		need += MNL_ATTR_HDRLEN + 2 * u32_attr + u32_attr;
	if (m->attrs & PB_NFQ_CAP_LEN)
		need += u32_attr;
	if (m->attrs & PB_NFQ_SKB_INFO)
		need += u32_attr;
	if (pkt)
		need += MNL_ATTR_HDRLEN + MNL_ALIGN(pkt_len);
	if (need > cap)
		return -ENOSPC;

	nlh = pb_nfq_begin(buf, cap, m->family, m->queue);
	if (!(m->attrs & PB_NFQ_NO_PACKET_HDR)) {
		ph.packet_id = htonl(m->id);
		ph.hw_protocol = htons(m->hw_protocol);
		ph.hook = m->hook;
		mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
	}
	for (i = 0; i < sizeof(u32_attrs) / sizeof(u32_attrs[0]); i++)
		if (m->attrs & u32_attrs[i].bit)
			mnl_attr_put_u32(nlh, u32_attrs[i].type,
					 htonl(field_u32(m, u32_attrs[i].field)));
	if (m->attrs & PB_NFQ_CT) {
		nest = mnl_attr_nest_start(nlh, NFQA_CT);
		mnl_attr_put_u32(nlh, CTA_STATUS, htonl(m->ct_status));
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(m->ct_mark));
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u32(nlh, NFQA_CT_INFO, htonl(m->ct_info));
	}
	if (m->attrs & PB_NFQ_CAP_LEN)
		mnl_attr_put_u32(nlh, NFQA_CAP_LEN, htonl(m->cap_len));
	if (m->attrs & PB_NFQ_SKB_INFO)
		mnl_attr_put_u32(nlh, NFQA_SKB_INFO, htonl(m->skb_info));
	if (pkt)
		mnl_attr_put(nlh, NFQA_PAYLOAD, pkt_len, pkt);
	return (int)nlh->nlmsg_len;
}
