/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the packet view (lib/packet.c): nfqueue attributes, IPv4/IPv6 and L4 headers,
 * truncation and malformation, and robustness against every prefix and random mutations.
 *
 * Messages and packets under test are copied into heap blocks of exactly the size the parser is
 * told, so that a read past the end shows up under AddressSanitizer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <netinet/in.h>

#include <nfqd/packet.h>

#include "pktbuild.h"

#define ALL_FLAGS                                                                                  \
	(NFQD_PKT_HAS_ID | NFQD_PKT_HAS_MARK | NFQD_PKT_HAS_UIDGID | NFQD_PKT_HAS_PAYLOAD |        \
	 NFQD_PKT_GSO | NFQD_PKT_MSG_TRUNC | NFQD_PKT_PAYLOAD_TRUNC | NFQD_PKT_BAD_ATTR |          \
	 NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_FRAGMENT | NFQD_PKT_FRAG_LATER |          \
	 NFQD_PKT_BAD_L3 | NFQD_PKT_TRUNC_L3 | NFQD_PKT_HAS_PORTS | NFQD_PKT_HAS_ICMP |            \
	 NFQD_PKT_HAS_TCP_FLAGS | NFQD_PKT_BAD_L4 | NFQD_PKT_TRUNC_L4 | NFQD_PKT_HAS_HWADDR |      \
	 NFQD_PKT_HAS_CTMARK | NFQD_PKT_UNREADABLE)

#define L3L4_FLAGS (ALL_FLAGS & ~(0xffu | NFQD_PKT_HAS_HWADDR | NFQD_PKT_HAS_CTMARK))

#define L4_FLAGS                                                                                   \
	(NFQD_PKT_HAS_PORTS | NFQD_PKT_HAS_ICMP | NFQD_PKT_HAS_TCP_FLAGS | NFQD_PKT_BAD_L4 |       \
	 NFQD_PKT_TRUNC_L4)

#define NFQ_PACKET_TYPE ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)

/* A message or packet buffer, aligned like a receive buffer. */
struct buf {
	_Alignas(8) uint8_t b[PB_MSG_MAX];
};

/* A parse of a private, exactly sized copy of the input. */
struct view {
	struct nfqd_packet pkt;
	uint8_t *copy;
	size_t size;
	int ret;
};

static uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool has(const struct nfqd_packet *p, uint32_t flags)
{
	return (p->flags & flags) == flags;
}

static bool has_none(const struct nfqd_packet *p, uint32_t flags)
{
	return (p->flags & flags) == 0;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The L3/L4 half of the view agrees with itself and with the bytes it came from. */
static void check_ip_view(const struct nfqd_packet *p, const uint8_t *data, size_t len)
{
	uint32_t f = p->flags;

	assert_false((f & NFQD_PKT_BAD_L3) && (f & NFQD_PKT_TRUNC_L3));
	assert_false((f & NFQD_PKT_BAD_L4) && (f & NFQD_PKT_TRUNC_L4));

	if (f & NFQD_PKT_HAS_L3) {
		assert_true(p->l3 == 4 || p->l3 == 6);
		if (p->l3 == 4) {
			assert_true(len >= 20);
			assert_memory_equal(p->src.b, data + 12, 4);
			assert_memory_equal(p->dst.b, data + 16, 4);
			assert_true(all_zero(p->src.b + 4, 12) && all_zero(p->dst.b + 4, 12));
			assert_int_equal(p->ttl, data[8]);
		} else {
			assert_true(len >= 40);
			assert_memory_equal(p->src.b, data + 8, 16);
			assert_memory_equal(p->dst.b, data + 24, 16);
			assert_int_equal(p->ttl, data[7]);
		}
	} else {
		assert_int_equal(p->l3, 0);
		assert_int_equal(p->ttl, 0);
		assert_true(all_zero(&p->src, sizeof(p->src)) && all_zero(&p->dst, sizeof(p->dst)));
		assert_true(has_none(p, NFQD_PKT_HAS_PROTO | NFQD_PKT_FRAGMENT));
	}

	if (!(f & NFQD_PKT_FRAGMENT))
		assert_int_equal(p->frag_off, 0);
	assert_int_equal(!!(f & NFQD_PKT_FRAG_LATER), (f & NFQD_PKT_FRAGMENT) && p->frag_off > 0);
	if (f & NFQD_PKT_FRAG_LATER) {
		assert_null(p->l4);
		assert_true(has_none(p, L4_FLAGS));
	}

	if (!(f & NFQD_PKT_HAS_PROTO)) {
		assert_int_equal(p->l4_proto, 0);
		assert_null(p->l4);
		assert_true(has_none(p, L4_FLAGS));
	}
	if (p->l3_hdrlen)
		assert_true(p->l3_hdrlen <= len);

	/*
	 * Unreadable exactly when the transport header could not be reached or its fixed part
	 * read: every L3 problem, every lying L4 header, every L4 header cut short except TCP
	 * options cut by the capture (the fixed 20 bytes are whole then).
	 */
	assert_int_equal(!!(f & NFQD_PKT_UNREADABLE), p->unreadable != NFQD_UNREADABLE_NONE);
	assert_true(p->unreadable < NFQD_UNREADABLE_MAX);
	if (f & (NFQD_PKT_BAD_L3 | NFQD_PKT_TRUNC_L3 | NFQD_PKT_BAD_L4))
		assert_true(has(p, NFQD_PKT_UNREADABLE));
	if (f & NFQD_PKT_TRUNC_L4)
		assert_int_equal(!!(f & NFQD_PKT_UNREADABLE),
				 p->l4_proto != IPPROTO_TCP || p->l4_len < 20);
	if (f & NFQD_PKT_UNREADABLE) {
		char text[128];

		assert_true(f & (NFQD_PKT_BAD_L3 | NFQD_PKT_TRUNC_L3 | NFQD_PKT_BAD_L4 |
				 NFQD_PKT_TRUNC_L4));
		/* a later fragment has no transport header: only its IP header can fail */
		if (f & NFQD_PKT_FRAG_LATER)
			assert_true(f & (NFQD_PKT_BAD_L3 | NFQD_PKT_TRUNC_L3));
		assert_true(nfqd_packet_unreadable_text(p, text, sizeof(text)) > 0);
		assert_null(strstr(text, "reason"));
	} else {
		assert_int_equal(p->unreadable_val, 0);
	}

	if (p->l4) {
		assert_true(p->l4 == data + p->l3_hdrlen);
		assert_true(p->l4_len > 0);
		assert_true(p->l4_len <= len - p->l3_hdrlen);
	} else {
		assert_int_equal(p->l4_len, 0);
	}

	if (f & NFQD_PKT_HAS_PORTS) {
		assert_true(has(p, NFQD_PKT_HAS_PROTO));
		assert_true(has_none(p, NFQD_PKT_FRAG_LATER | NFQD_PKT_HAS_ICMP | NFQD_PKT_BAD_L4));
		assert_true(p->l4_proto == IPPROTO_TCP || p->l4_proto == IPPROTO_UDP ||
			    p->l4_proto == IPPROTO_UDPLITE || p->l4_proto == IPPROTO_SCTP ||
			    p->l4_proto == IPPROTO_DCCP);
		assert_non_null(p->l4);
		assert_true(p->l4_len >= 4);
		assert_int_equal(p->sport, be16_at(p->l4));
		assert_int_equal(p->dport, be16_at(p->l4 + 2));
	} else {
		assert_int_equal(p->sport, 0);
		assert_int_equal(p->dport, 0);
	}
	if (f & NFQD_PKT_HAS_TCP_FLAGS) {
		assert_true(has(p, NFQD_PKT_HAS_PORTS));
		assert_int_equal(p->l4_proto, IPPROTO_TCP);
		assert_true(p->l4_len >= 14);
		assert_int_equal(p->tcp_flags, p->l4[13]);
	} else {
		assert_int_equal(p->tcp_flags, 0);
	}
	if (f & NFQD_PKT_HAS_ICMP) {
		assert_true((p->l3 == 4 && p->l4_proto == IPPROTO_ICMP) ||
			    (p->l3 == 6 && p->l4_proto == IPPROTO_ICMPV6));
		assert_true(has_none(p, NFQD_PKT_BAD_L4));
		assert_non_null(p->l4);
		assert_true(p->l4_len >= 2);
		assert_int_equal(p->icmp_type, p->l4[0]);
		assert_int_equal(p->icmp_code, p->l4[1]);
	} else {
		assert_int_equal(p->icmp_type, 0);
		assert_int_equal(p->icmp_code, 0);
	}
}

/* The whole view agrees with itself and lies inside the size bytes at buf. */
static void check_view(const struct nfqd_packet *p, const uint8_t *buf, size_t size)
{
	const uint8_t *end = buf + size;
	uint32_t f = p->flags;

	assert_int_equal(f & ~(uint32_t)ALL_FLAGS, 0);
	if (!(f & NFQD_PKT_HAS_ID)) {
		assert_int_equal(p->id, 0);
		assert_int_equal(p->hook, 0);
		assert_int_equal(p->hw_protocol, 0);
	}
	if (!(f & NFQD_PKT_HAS_MARK))
		assert_int_equal(p->mark, 0);
	if (!(f & NFQD_PKT_HAS_UIDGID)) {
		assert_int_equal(p->uid, 0);
		assert_int_equal(p->gid, 0);
	}
	assert_int_equal(!!(f & NFQD_PKT_GSO), !!(p->skb_info & NFQA_SKB_GSO));
	/* the parser takes a connmark only from a conntrack nest */
	if (f & NFQD_PKT_HAS_CTMARK)
		assert_non_null(p->ct);
	else
		assert_int_equal(p->ct_mark, 0);
	if (f & NFQD_PKT_HAS_HWADDR)
		assert_true(p->hwaddr_len >= 1 && p->hwaddr_len <= 8);
	else
		assert_int_equal(p->hwaddr_len, 0);
	if (p->ct) {
		const uint8_t *ct = (const uint8_t *)p->ct;

		assert_true(ct >= buf && ct + sizeof(struct nlattr) <= end);
		assert_true(p->ct->nla_len >= sizeof(struct nlattr));
		assert_true(ct + p->ct->nla_len <= end);
		assert_int_equal(mnl_attr_get_type(p->ct), NFQA_CT);
	} else {
		assert_int_equal(p->ct_info, 0);
	}

	if (f & NFQD_PKT_HAS_PAYLOAD) {
		assert_non_null(p->payload);
		assert_true(p->payload >= buf && p->payload + p->payload_len <= end);
		if (p->payload_len < p->packet_len)
			assert_true(has(p, NFQD_PKT_PAYLOAD_TRUNC));
		check_ip_view(p, p->payload, p->payload_len);
	} else {
		assert_null(p->payload);
		assert_int_equal(p->payload_len, 0);
		assert_true(has_none(p, NFQD_PKT_PAYLOAD_TRUNC |
						(L3L4_FLAGS & ~(uint32_t)NFQD_PKT_UNREADABLE)));
		/* no packet, no transport header (once the walk got to the attributes) */
		if (f & NFQD_PKT_HAS_ID) {
			assert_true(has(p, NFQD_PKT_UNREADABLE));
			assert_int_equal(p->unreadable, NFQD_UNREADABLE_NO_PAYLOAD);
		}
	}
}

static uint8_t *dup_exact(const void *src, size_t n)
{
	/* Exactly n bytes (one spare for n == 0, never read): a read past them is caught. */
	uint8_t *copy = malloc(n ? n : 1);

	assert_non_null(copy);
	if (n)
		memcpy(copy, src, n);
	return copy;
}

/* Parses the first avail bytes of msg, from an exactly sized copy. */
static void view_msg(struct view *v, const void *msg, size_t avail)
{
	v->copy = dup_exact(msg, avail);
	v->size = avail;
	v->ret = nfqd_packet_parse(&v->pkt, (const struct nlmsghdr *)v->copy, avail);
	check_view(&v->pkt, v->copy, avail);
	assert_int_equal(v->ret == 0, has(&v->pkt, NFQD_PKT_HAS_ID));
	assert_true(v->ret == 0 || v->ret == -EBADMSG);
}

/* Parses len bytes of an IP packet from an exactly sized copy; packet_len as given. */
static void view_ip(struct view *v, const void *data, size_t len, size_t packet_len)
{
	memset(&v->pkt, 0, sizeof(v->pkt));
	v->copy = dup_exact(data, len);
	v->size = len;
	v->ret = 0;
	nfqd_packet_parse_ip(&v->pkt, v->copy, len, packet_len);
	check_ip_view(&v->pkt, v->copy, len);
	assert_true(has_none(&v->pkt, 0xffu));
}

static void view_free(struct view *v)
{
	free(v->copy);
	v->copy = NULL;
}

/* Finishes a packet that must build. */
static size_t finish(struct pb *pb)
{
	int len = pb_finish(pb);

	assert_true(len > 0);
	return (size_t)len;
}

/* Wraps len bytes of pkt in a message, metadata m. Returns nlmsg_len. */
static size_t wrap(struct buf *msg, const struct pb_nfq *m, const void *pkt, size_t len)
{
	int n = pb_nfq_msg(msg->b, sizeof(msg->b), m, pkt, len);

	assert_true(n > 0);
	return (size_t)n;
}

static struct nlmsghdr *msg_nlh(struct buf *msg)
{
	return (struct nlmsghdr *)msg->b;
}

/* Appends a raw attribute header of any length (nla_len as given) and len bytes of zeros. */
static void put_raw_attr(struct nlmsghdr *nlh, uint16_t type, uint16_t nla_len, size_t len)
{
	struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);

	memset(attr, 0, MNL_ALIGN(sizeof(*attr) + len));
	attr->nla_type = type;
	attr->nla_len = nla_len;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*attr) + len);
}

static void put_packet_hdr(struct nlmsghdr *nlh, uint32_t id)
{
	struct nfqnl_msg_packet_hdr ph = {
		.packet_id = htonl(id),
		.hw_protocol = htons(ETH_P_IP),
		.hook = NF_INET_LOCAL_IN,
	};

	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
}

/* The packets most tests start from. */

static size_t ipv4_tcp(struct buf *out, size_t data_len)
{
	struct pb pb;

	pb_init(&pb, out->b, PB_PKT_MAX);
	pb_ipv4(&pb, "192.0.2.1", "198.51.100.7", 64);
	pb_tcp(&pb, 40000, 443, PB_TCP_SYN | PB_TCP_ECE | PB_TCP_CWR);
	pb_data(&pb, NULL, data_len);
	return finish(&pb);
}

static size_t ipv4_udp(struct buf *out, size_t data_len)
{
	struct pb pb;

	pb_init(&pb, out->b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.1.2.3", "10.4.5.6", 17);
	pb_udp(&pb, IPPROTO_UDP, 5353, 53);
	pb_data(&pb, NULL, data_len);
	return finish(&pb);
}

static size_t ipv6_tcp(struct buf *out, size_t data_len)
{
	struct pb pb;

	pb_init(&pb, out->b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8:ffff::42", 255);
	pb_tcp(&pb, 50000, 22, PB_TCP_ACK | PB_TCP_PSH);
	pb_data(&pb, NULL, data_len);
	return finish(&pb);
}

static void assert_ipv4_addrs(const struct nfqd_packet *p, const char *src, const char *dst)
{
	union nfqd_addr a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(inet_pton(AF_INET, src, &a.v4), 1);
	assert_memory_equal(&p->src, &a, sizeof(a));
	memset(&a, 0, sizeof(a));
	assert_int_equal(inet_pton(AF_INET, dst, &a.v4), 1);
	assert_memory_equal(&p->dst, &a, sizeof(a));
}

static void assert_ipv6_addrs(const struct nfqd_packet *p, const char *src, const char *dst)
{
	union nfqd_addr a;

	assert_int_equal(inet_pton(AF_INET6, src, &a.v6), 1);
	assert_memory_equal(&p->src, &a, sizeof(a));
	assert_int_equal(inet_pton(AF_INET6, dst, &a.v6), 1);
	assert_memory_equal(&p->dst, &a, sizeof(a));
}

/* Valid packets */

static void test_ipv4_tcp_message_gives_every_field(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 32);
	pb_nfq_init(&m, 4, 0x01020304);
	m.queue = 7;
	m.hook = NF_INET_FORWARD;
	mlen = wrap(&msg, &m, pkt.b, len);

	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_PAYLOAD | NFQD_PKT_HAS_L3 |
					      NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.id, 0x01020304);
	assert_int_equal(v.pkt.queue, 7);
	assert_int_equal(v.pkt.family, NFPROTO_IPV4);
	assert_int_equal(v.pkt.hook, NF_INET_FORWARD);
	assert_int_equal(v.pkt.hw_protocol, ETH_P_IP);
	assert_int_equal(v.pkt.payload_len, len);
	assert_int_equal(v.pkt.packet_len, len);
	assert_memory_equal(v.pkt.payload, pkt.b, len);
	assert_int_equal(v.pkt.l3, 4);
	assert_int_equal(v.pkt.ttl, 64);
	assert_ipv4_addrs(&v.pkt, "192.0.2.1", "198.51.100.7");
	assert_int_equal(v.pkt.l4_proto, IPPROTO_TCP);
	assert_int_equal(v.pkt.l3_hdrlen, 20);
	assert_int_equal(v.pkt.sport, 40000);
	assert_int_equal(v.pkt.dport, 443);
	assert_int_equal(v.pkt.tcp_flags, PB_TCP_SYN | PB_TCP_ECE | PB_TCP_CWR);
	assert_ptr_equal(v.pkt.l4, v.pkt.payload + 20);
	assert_int_equal(v.pkt.l4_len, 20 + 32);
	assert_int_equal(v.pkt.mark, 0);
	assert_null(v.pkt.ct);
	view_free(&v);
}

static void test_ipv4_udp_gives_ports(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_udp(&pkt, 100);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_UDP);
	assert_int_equal(v.pkt.sport, 5353);
	assert_int_equal(v.pkt.dport, 53);
	assert_int_equal(v.pkt.ttl, 17);
	assert_int_equal(v.pkt.l4_len, 108);
	view_free(&v);
}

static void test_ipv4_icmp_gives_type_and_code(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_icmp(&pb, 3, 4);
	pb_data(&pb, NULL, 28);
	len = finish(&pb);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_ICMP);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_ICMP);
	assert_int_equal(v.pkt.icmp_type, 3);
	assert_int_equal(v.pkt.icmp_code, 4);
	view_free(&v);
}

static void test_ipv4_sctp_gives_ports(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_sctp(&pb, 2905, 2906, 0xabcdef01);
	pb_data(&pb, NULL, 16);
	len = finish(&pb);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_SCTP);
	assert_int_equal(v.pkt.sport, 2905);
	assert_int_equal(v.pkt.dport, 2906);
	view_free(&v);
}

static void test_ipv4_dccp_and_udplite_give_ports(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_dccp(&pb, 5001, 5002);
	len = finish(&pb);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_DCCP);
	assert_int_equal(v.pkt.sport, 5001);
	assert_int_equal(v.pkt.dport, 5002);
	view_free(&v);

	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_udp(&pb, IPPROTO_UDPLITE, 6001, 6002);
	pb_data(&pb, NULL, 10);
	len = finish(&pb);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_UDPLITE);
	assert_int_equal(v.pkt.sport, 6001);
	assert_int_equal(v.pkt.dport, 6002);
	view_free(&v);
}

static void test_ipv4_other_protocol_has_proto_and_l4_but_no_ports(void **state)
{
	static const uint8_t gre[4] = { 0, 0, 0x08, 0x00 };
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_l4(&pb, IPPROTO_GRE, gre, sizeof(gre));
	pb_data(&pb, NULL, 20);
	len = finish(&pb);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_GRE);
	assert_ptr_equal(v.pkt.l4, v.copy + 20);
	assert_int_equal(v.pkt.l4_len, 24);
	view_free(&v);
}

static void test_ipv4_options_are_skipped_by_ihl(void **state)
{
	/* NOP, NOP, record route with room for two addresses */
	static const uint8_t opts[] = { 1, 1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_ipv4_options(&pb, opts, sizeof(opts));
	pb_tcp(&pb, 1111, 2222, PB_TCP_FIN | PB_TCP_ACK);
	len = finish(&pb);
	assert_int_equal(pkt.b[0], 0x49);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.l3_hdrlen, 36);
	assert_int_equal(v.pkt.sport, 1111);
	assert_int_equal(v.pkt.dport, 2222);
	assert_int_equal(v.pkt.tcp_flags, PB_TCP_FIN | PB_TCP_ACK);
	view_free(&v);
}

static void test_ipv4_link_padding_after_tot_len_is_not_l4(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	/* Ethernet pads a 40-byte packet to 46 bytes. */
	memset(pkt.b + len, 0, 6);
	view_ip(&v, pkt.b, len + 6, len + 6);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.l4_len, 20);
	view_free(&v);
}

/* IPv4 fragments */

static size_t ipv4_udp_fragment(struct buf *out, uint16_t offset, bool more)
{
	struct pb pb;

	pb_init(&pb, out->b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_ipv4_frag(&pb, offset, more);
	pb_udp(&pb, IPPROTO_UDP, 7000, 7001);
	pb_data(&pb, NULL, 64);
	return finish(&pb);
}

static void test_ipv4_first_fragment_has_ports(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_udp_fragment(&pkt, 0, true);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_FRAGMENT |
					      NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.frag_off, 0);
	assert_int_equal(v.pkt.sport, 7000);
	assert_int_equal(v.pkt.dport, 7001);
	view_free(&v);
}

static void test_ipv4_later_fragment_has_proto_but_no_ports(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_udp_fragment(&pkt, 1480, true);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_FRAGMENT |
					      NFQD_PKT_FRAG_LATER);
	assert_int_equal(v.pkt.frag_off, 1480);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_UDP);
	assert_int_equal(v.pkt.l3_hdrlen, 20);
	assert_null(v.pkt.l4);
	assert_int_equal(v.pkt.sport, 0);
	view_free(&v);

	/* the last fragment: MF clear, offset set */
	len = ipv4_udp_fragment(&pkt, 65528, false);
	view_ip(&v, pkt.b, len, len);
	assert_true(has(&v.pkt, NFQD_PKT_FRAGMENT | NFQD_PKT_FRAG_LATER));
	assert_int_equal(v.pkt.frag_off, 65528);
	assert_true(has_none(&v.pkt, NFQD_PKT_HAS_PORTS));
	view_free(&v);
}

static void test_ipv4_first_fragment_cut_inside_tcp_is_trunc_not_bad(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_ipv4_frag(&pb, 0, true);
	pb_tcp(&pb, 80, 81, PB_TCP_SYN);
	len = finish(&pb);
	/* A tiny first fragment: only 8 bytes of TCP in it, the rest in the next fragment. */
	pkt.b[3] = 28;
	view_ip(&v, pkt.b, 28, 28);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_FRAGMENT |
					      NFQD_PKT_HAS_PORTS | NFQD_PKT_TRUNC_L4 |
					      NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.dport, 81);
	assert_int_equal(v.pkt.l4_len, 8);
	(void)len;
	view_free(&v);
}

/* Truncation */

static void test_msg_cut_inside_payload_uses_the_bytes_received(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 100);
	assert_int_equal(len % 4, 0);
	pb_nfq_init(&m, 4, 99);
	mlen = wrap(&msg, &m, pkt.b, len);

	view_msg(&v, msg.b, mlen - 60);
	assert_int_equal(v.ret, 0);
	assert_true(has(&v.pkt, NFQD_PKT_HAS_ID | NFQD_PKT_MSG_TRUNC | NFQD_PKT_HAS_PAYLOAD |
					NFQD_PKT_PAYLOAD_TRUNC | NFQD_PKT_HAS_PORTS |
					NFQD_PKT_HAS_TCP_FLAGS));
	assert_true(has_none(&v.pkt, NFQD_PKT_BAD_ATTR | NFQD_PKT_TRUNC_L3 | NFQD_PKT_TRUNC_L4 |
					     NFQD_PKT_MALFORMED));
	assert_int_equal(v.pkt.id, 99);
	assert_int_equal(v.pkt.payload_len, len - 60);
	assert_int_equal(v.pkt.packet_len, len);
	assert_int_equal(v.pkt.l4_len, len - 60 - 20);
	view_free(&v);
}

static void test_msg_cut_inside_payload_attr_header_has_no_payload(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pb_nfq_init(&m, 4, 5);
	mlen = wrap(&msg, &m, pkt.b, len);

	/* 2 of the 4 bytes of the payload attribute's header */
	view_msg(&v, msg.b, mlen - len - 2);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_MSG_TRUNC | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.packet_len, 0);
	view_free(&v);

	/* the whole header, no data */
	view_msg(&v, msg.b, mlen - len);
	assert_int_equal(v.ret, 0);
	assert_true(has(&v.pkt, NFQD_PKT_HAS_ID | NFQD_PKT_MSG_TRUNC | NFQD_PKT_HAS_PAYLOAD |
					NFQD_PKT_PAYLOAD_TRUNC | NFQD_PKT_TRUNC_L3));
	assert_int_equal(v.pkt.payload_len, 0);
	assert_int_equal(v.pkt.packet_len, len);
	view_free(&v);
}

static void test_msg_cut_inside_packet_hdr_is_ebadmsg(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pb_nfq_init(&m, 4, 5);
	mlen = wrap(&msg, &m, pkt.b, len);
	(void)mlen;

	/* nlmsghdr + nfgenmsg + 8 of the 11 bytes of NFQA_PACKET_HDR */
	view_msg(&v, msg.b, 20 + 8);
	assert_int_equal(v.ret, -EBADMSG);
	assert_int_equal(v.pkt.flags, NFQD_PKT_MSG_TRUNC);
	assert_int_equal(v.pkt.family, NFPROTO_IPV4);
	view_free(&v);
}

static void test_msg_cut_inside_ip_header_is_trunc_l3(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pb_nfq_init(&m, 4, 5);
	mlen = wrap(&msg, &m, pkt.b, len);

	view_msg(&v, msg.b, mlen - len + 12);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_MSG_TRUNC | NFQD_PKT_HAS_PAYLOAD |
					      NFQD_PKT_PAYLOAD_TRUNC | NFQD_PKT_TRUNC_L3 |
					      NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.payload_len, 12);
	view_free(&v);
}

static void test_copy_range_cut_inside_ipv4_options_keeps_addresses(void **state)
{
	uint8_t opts[40];
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	memset(opts, 1, sizeof(opts));
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_ipv4_options(&pb, opts, sizeof(opts));
	pb_tcp(&pb, 1, 2, 0);
	len = finish(&pb);

	view_ip(&v, pkt.b, 30, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_TRUNC_L3 |
					      NFQD_PKT_UNREADABLE);
	assert_ipv4_addrs(&v.pkt, "10.0.0.1", "10.0.0.2");
	assert_int_equal(v.pkt.l4_proto, IPPROTO_TCP);
	assert_int_equal(v.pkt.l3_hdrlen, 0);
	assert_null(v.pkt.l4);
	view_free(&v);
}

static void test_tcp_cut_by_copy_range_at_0_1_3_4_13_14_19_bytes_keeps_facts_in_reach(void **state)
{
	static const struct {
		size_t l4;
		uint32_t l4_flags;
	} cuts[] = {
		{ 0, NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE },
		{ 1, NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE },
		{ 3, NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE },
		{ 4, NFQD_PKT_TRUNC_L4 | NFQD_PKT_HAS_PORTS | NFQD_PKT_UNREADABLE },
		{ 13, NFQD_PKT_TRUNC_L4 | NFQD_PKT_HAS_PORTS | NFQD_PKT_UNREADABLE },
		{ 14, NFQD_PKT_TRUNC_L4 | NFQD_PKT_HAS_PORTS | NFQD_PKT_HAS_TCP_FLAGS |
			      NFQD_PKT_UNREADABLE },
		{ 19, NFQD_PKT_TRUNC_L4 | NFQD_PKT_HAS_PORTS | NFQD_PKT_HAS_TCP_FLAGS |
			      NFQD_PKT_UNREADABLE },
		{ 20, NFQD_PKT_HAS_PORTS | NFQD_PKT_HAS_TCP_FLAGS },
	};
	struct buf pkt;
	struct view v;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		len = ipv4_tcp(&pkt, 40);
		view_ip(&v, pkt.b, 20 + cuts[i].l4, len);
		assert_int_equal(v.pkt.flags,
				 NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | cuts[i].l4_flags);
		assert_int_equal(v.pkt.l4_len, cuts[i].l4);
		if (cuts[i].l4_flags & NFQD_PKT_HAS_PORTS) {
			assert_int_equal(v.pkt.sport, 40000);
			assert_int_equal(v.pkt.dport, 443);
		}
		view_free(&v);

		/* the same over IPv6 */
		len = ipv6_tcp(&pkt, 40);
		view_ip(&v, pkt.b, 40 + cuts[i].l4, len);
		assert_int_equal(v.pkt.flags,
				 NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | cuts[i].l4_flags);
		view_free(&v);
	}
}

static void test_udp_cut_by_copy_range_at_0_1_3_4_7_bytes_keeps_facts_in_reach(void **state)
{
	static const struct {
		size_t l4;
		uint32_t l4_flags;
	} cuts[] = {
		{ 0, NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE },
		{ 1, NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE },
		{ 3, NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE },
		{ 4, NFQD_PKT_TRUNC_L4 | NFQD_PKT_HAS_PORTS | NFQD_PKT_UNREADABLE },
		{ 7, NFQD_PKT_TRUNC_L4 | NFQD_PKT_HAS_PORTS | NFQD_PKT_UNREADABLE },
		{ 8, NFQD_PKT_HAS_PORTS },
	};
	struct buf pkt;
	struct view v;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		len = ipv4_udp(&pkt, 40);
		view_ip(&v, pkt.b, 20 + cuts[i].l4, len);
		assert_int_equal(v.pkt.flags,
				 NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | cuts[i].l4_flags);
		view_free(&v);
	}
}

static void test_l4_header_shorter_in_the_whole_packet_is_bad_l4_without_ports(void **state)
{
	static const size_t cuts[] = { 0, 1, 3, 4, 13, 14, 19 };
	struct buf pkt;
	struct view v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		ipv4_tcp(&pkt, 0);
		/* The packet really ends there: its own header says so. */
		pkt.b[2] = 0;
		pkt.b[3] = (uint8_t)(20 + cuts[i]);
		view_ip(&v, pkt.b, 20 + cuts[i], 20 + cuts[i]);
		assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO |
						      NFQD_PKT_BAD_L4 | NFQD_PKT_UNREADABLE);
		view_free(&v);
	}
}

static void test_tcp_options_cut_by_copy_range_is_trunc_l4_with_ports_and_flags(void **state)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
					0, 1, 0,    0,	  0, 0, 1, 3,  3, 7 };
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_tcp(&pb, 3000, 4000, PB_TCP_SYN);
	pb_tcp_options(&pb, opts, sizeof(opts));
	len = finish(&pb);

	view_ip(&v, pkt.b, 20 + 30, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS | NFQD_PKT_TRUNC_L4);
	assert_int_equal(v.pkt.tcp_flags, PB_TCP_SYN);
	view_free(&v);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	view_free(&v);
}

static void test_cap_len_larger_than_payload_is_payload_trunc(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 1400);
	pb_nfq_init(&m, 4, 1);
	m.attrs = PB_NFQ_CAP_LEN;
	m.cap_len = (uint32_t)len;
	/* copy range 64: the kernel sends the first 64 bytes and the real length */
	mlen = wrap(&msg, &m, pkt.b, 64);

	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_PAYLOAD |
					      NFQD_PKT_PAYLOAD_TRUNC | NFQD_PKT_HAS_L3 |
					      NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.payload_len, 64);
	assert_int_equal(v.pkt.packet_len, len);
	assert_int_equal(v.pkt.l4_len, 44);
	view_free(&v);

	/* copy range 30: cut inside TCP, which is truncation, not malformation */
	mlen = wrap(&msg, &m, pkt.b, 30);
	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_PAYLOAD |
					      NFQD_PKT_PAYLOAD_TRUNC | NFQD_PKT_HAS_L3 |
					      NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE);
	view_free(&v);
}

/* Malformed IP */

static void test_bad_version_is_bad_l3_without_l3(void **state)
{
	static const uint8_t versions[] = { 0, 1, 5, 7, 15 };
	struct buf pkt;
	struct view v;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(versions); i++) {
		len = ipv4_tcp(&pkt, 0);
		pkt.b[0] = (uint8_t)(versions[i] << 4 | 5);
		view_ip(&v, pkt.b, len, len);
		assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
		view_free(&v);
	}
}

static void test_ipv4_ihl_below_5_is_bad_l3(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len, ihl;

	(void)state;
	for (ihl = 0; ihl < 5; ihl++) {
		len = ipv4_tcp(&pkt, 0);
		pkt.b[0] = (uint8_t)(0x40 | ihl);
		view_ip(&v, pkt.b, len, len);
		assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
		view_free(&v);
	}
}

static void test_ipv4_tot_len_below_header_is_bad_l3(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pkt.b[2] = 0;
	pkt.b[3] = 19;
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	/* 0 is below the header too, unless the packet is GSO */
	pkt.b[3] = 0;
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);
}

static void test_ip_length_beyond_the_packet_is_bad_l3(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pkt.b[3] = (uint8_t)(len + 1);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	/* the same tot_len is fine when the copy range cut the packet */
	view_ip(&v, pkt.b, len, len + 1);
	assert_true(has(&v.pkt, NFQD_PKT_HAS_PORTS));
	assert_true(has_none(&v.pkt, NFQD_PKT_BAD_L3));
	view_free(&v);

	len = ipv6_tcp(&pkt, 0);
	pkt.b[5] = (uint8_t)(len - 40 + 1);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);
}

static void test_packet_shorter_than_ip_header_is_trunc_l3_if_cut_else_bad_l3(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	view_ip(&v, pkt.b, 0, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	view_ip(&v, pkt.b, 0, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_TRUNC_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	view_ip(&v, pkt.b, 19, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_TRUNC_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	view_ip(&v, pkt.b, 19, 19);
	assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	len = ipv6_tcp(&pkt, 0);
	view_ip(&v, pkt.b, 39, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_TRUNC_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);
}

/* IPv6 */

static void test_ipv6_tcp_gives_every_field(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv6_tcp(&pkt, 10);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.l3, 6);
	assert_int_equal(v.pkt.ttl, 255);
	assert_ipv6_addrs(&v.pkt, "2001:db8::1", "2001:db8:ffff::42");
	assert_int_equal(v.pkt.l4_proto, IPPROTO_TCP);
	assert_int_equal(v.pkt.l3_hdrlen, 40);
	assert_int_equal(v.pkt.sport, 50000);
	assert_int_equal(v.pkt.dport, 22);
	assert_int_equal(v.pkt.tcp_flags, PB_TCP_ACK | PB_TCP_PSH);
	assert_int_equal(v.pkt.l4_len, 30);
	view_free(&v);
}

static void test_ipv6_udp_gives_ports_and_icmpv6_gives_type(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "fe80::1", "ff02::fb", 1);
	pb_udp(&pb, IPPROTO_UDP, 5353, 5353);
	pb_data(&pb, NULL, 30);
	len = finish(&pb);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_UDP);
	assert_int_equal(v.pkt.sport, 5353);
	assert_int_equal(v.pkt.ttl, 1);
	view_free(&v);

	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "fe80::1", "ff02::1", 255);
	pb_icmp(&pb, 135, 0);
	pb_data(&pb, NULL, 16);
	len = finish(&pb);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_ICMP);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_ICMPV6);
	assert_int_equal(v.pkt.icmp_type, 135);
	view_free(&v);
}

static void test_icmp_types_only_for_their_ip_version(void **state)
{
	static const uint8_t icmp[8] = { 8, 0 };
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_l4(&pb, IPPROTO_ICMP, icmp, sizeof(icmp));
	len = finish(&pb);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO);
	view_free(&v);

	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_l4(&pb, IPPROTO_ICMPV6, icmp, sizeof(icmp));
	len = finish(&pb);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO);
	view_free(&v);
}

static void test_icmp_cut_by_copy_range_is_trunc_and_short_packet_is_bad(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_icmp(&pb, 0, 0);
	len = finish(&pb);

	view_ip(&v, pkt.b, 20 + 2, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_ICMP |
					      NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	view_ip(&v, pkt.b, 20 + 1, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_TRUNC_L4 |
					      NFQD_PKT_UNREADABLE);
	view_free(&v);

	pkt.b[3] = 24;
	view_ip(&v, pkt.b, 24, 24);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_BAD_L4 |
					      NFQD_PKT_UNREADABLE);
	view_free(&v);
}

static void test_ipv6_hbh_routing_dstopts_chain_before_tcp_gives_ports(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_ipv6_ext(&pb, IPPROTO_HOPOPTS, 8);
	pb_ipv6_ext(&pb, IPPROTO_ROUTING, 24);
	pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, 16);
	pb_tcp(&pb, 12345, 8080, PB_TCP_RST);
	len = finish(&pb);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_TCP);
	assert_int_equal(v.pkt.l3_hdrlen, 40 + 8 + 24 + 16);
	assert_int_equal(v.pkt.sport, 12345);
	assert_int_equal(v.pkt.dport, 8080);
	assert_int_equal(v.pkt.tcp_flags, PB_TCP_RST);
	view_free(&v);
}

static void test_ipv6_mobility_hip_shim6_headers_are_walked(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_ipv6_ext(&pb, IPPROTO_MH, 16);
	pb_ipv6_ext(&pb, 139, 8);
	pb_ipv6_ext(&pb, 140, 8);
	pb_udp(&pb, IPPROTO_UDP, 1, 2);
	len = finish(&pb);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.l3_hdrlen, 40 + 32);
	assert_int_equal(v.pkt.dport, 2);
	view_free(&v);
}

static size_t ipv6_udp_fragment(struct buf *out, uint16_t offset, bool more)
{
	struct pb pb;

	pb_init(&pb, out->b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_ipv6_ext(&pb, IPPROTO_HOPOPTS, 8);
	pb_ipv6_frag(&pb, offset, more, 0xcafe);
	pb_udp(&pb, IPPROTO_UDP, 9000, 9001);
	pb_data(&pb, NULL, 64);
	return finish(&pb);
}

static void test_ipv6_first_fragment_has_ports(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv6_udp_fragment(&pkt, 0, true);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_FRAGMENT |
					      NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.l3_hdrlen, 56);
	assert_int_equal(v.pkt.sport, 9000);
	view_free(&v);
}

static void test_ipv6_later_fragment_has_proto_but_no_ports(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv6_udp_fragment(&pkt, 1232, true);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_FRAGMENT |
					      NFQD_PKT_FRAG_LATER);
	assert_int_equal(v.pkt.frag_off, 1232);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_UDP);
	assert_int_equal(v.pkt.l3_hdrlen, 56);
	assert_null(v.pkt.l4);
	view_free(&v);
}

static void test_ipv6_atomic_fragment_is_not_a_fragment(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv6_udp_fragment(&pkt, 0, false);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	view_free(&v);
}

static void test_ipv6_ah_is_walked_by_its_own_length_unit(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_ah(&pb, 24, 0x100);
	pb_tcp(&pb, 700, 701, PB_TCP_ACK);
	len = finish(&pb);
	/* (len + 2) * 4 = 24 */
	assert_int_equal(pkt.b[41], 4);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.l3_hdrlen, 64);
	assert_int_equal(v.pkt.dport, 701);
	view_free(&v);
}

static void test_ipv4_ah_is_the_upper_layer(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_ah(&pb, 24, 0x100);
	pb_tcp(&pb, 700, 701, PB_TCP_ACK);
	len = finish(&pb);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_AH);
	assert_int_equal(v.pkt.l4_len, 44);
	view_free(&v);
}

static void test_ipv6_esp_ends_the_chain(void **state)
{
	static const uint8_t esp[8] = { 0, 0, 1, 0, 0, 0, 0, 1 };
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, 8);
	pb_l4(&pb, IPPROTO_ESP, esp, sizeof(esp));
	pb_data(&pb, NULL, 40);
	len = finish(&pb);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_ESP);
	assert_int_equal(v.pkt.l3_hdrlen, 48);
	assert_ptr_equal(v.pkt.l4, v.copy + 48);
	assert_int_equal(v.pkt.l4_len, 48);
	view_free(&v);
}

static void test_ipv6_no_next_header_ends_the_chain(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_ipv6_ext(&pb, IPPROTO_HOPOPTS, 8);
	len = finish(&pb);
	assert_int_equal(pkt.b[40], IPPROTO_NONE);

	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO);
	assert_int_equal(v.pkt.l4_proto, IPPROTO_NONE);
	assert_int_equal(v.pkt.l3_hdrlen, 48);
	assert_null(v.pkt.l4);
	view_free(&v);
}

static size_t ipv6_chain(struct buf *out, size_t n)
{
	struct pb pb;
	size_t i;

	pb_init(&pb, out->b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	for (i = 0; i < n; i++)
		pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, 8);
	pb_tcp(&pb, 1, 2, PB_TCP_SYN);
	return finish(&pb);
}

static void test_ipv6_chain_of_16_headers_is_walked(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv6_chain(&pkt, 16);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.l3_hdrlen, 40 + 16 * 8);
	view_free(&v);
}

/* An IPv6 packet: n destination options headers of hdr_len bytes each, then UDP to dport. */
static size_t ipv6_udp_behind(struct buf *out, size_t n, size_t hdr_len, uint16_t dport)
{
	struct pb pb;
	size_t i;

	pb_init(&pb, out->b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	for (i = 0; i < n; i++)
		pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, hdr_len);
	pb_udp(&pb, IPPROTO_UDP, 40000, dport);
	pb_data(&pb, NULL, 16);
	return finish(&pb);
}

/*
 * The IP packet in pkt, len of its packet_len bytes received, is unreadable for reason why, told
 * as text; its flags are flags (0: not checked).
 */
static void assert_unreadable(const struct buf *pkt, size_t len, size_t packet_len, uint32_t flags,
			      enum nfqd_unreadable why, const char *text)
{
	char words[128];
	struct view v;

	view_ip(&v, pkt->b, len, packet_len);
	if (flags)
		assert_int_equal(v.pkt.flags, flags | NFQD_PKT_UNREADABLE);
	assert_true(has(&v.pkt, NFQD_PKT_UNREADABLE));
	assert_int_equal(v.pkt.unreadable, why);
	assert_true(nfqd_packet_unreadable_text(&v.pkt, words, sizeof(words)) > 0);
	assert_string_equal(words, text);
	view_free(&v);
}

/* There is no cap on the chain: 17, 100 and 2000 headers all lead to the ports behind them. */
static void test_ipv6_chains_of_17_100_and_2000_headers_are_walked_to_the_ports(void **state)
{
	static const size_t counts[] = { 17, 100, 2000 };
	struct buf pkt;
	struct view v;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		len = ipv6_udp_behind(&pkt, counts[i], 8, 6666);
		view_ip(&v, pkt.b, len, len);
		assert_int_equal(v.pkt.flags,
				 NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
		assert_int_equal(v.pkt.l4_proto, IPPROTO_UDP);
		assert_int_equal(v.pkt.dport, 6666);
		assert_int_equal(v.pkt.l3_hdrlen, 40 + counts[i] * 8);
		view_free(&v);
	}
	/* the longest chain a 64 KiB packet can hold, headers of 2048 bytes */
	len = ipv6_udp_behind(&pkt, 31, 2048, 6666);
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.dport, 6666);
	view_free(&v);
}

/*
 * The two ways the issue hid a UDP datagram to port 6666: one 88-byte destination options header
 * with a copy range of 128 (the UDP header starts exactly at the cut), and 17 headers of 8 bytes
 * with a copy range that ends inside the chain. Both are unreadable, each with its reason.
 */
static void test_ipv6_udp_behind_extension_headers_cut_by_copy_range_is_unreadable(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv6_udp_behind(&pkt, 1, 88, 6666);
	assert_unreadable(&pkt, 128, len, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_TRUNC_L4,
			  NFQD_UNREADABLE_L4_CUT, "UDP header cut short");

	/* with the whole packet, it is plain UDP to 6666 */
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	assert_int_equal(v.pkt.dport, 6666);
	view_free(&v);

	len = ipv6_udp_behind(&pkt, 17, 8, 6666);
	assert_unreadable(&pkt, 128, len, NFQD_PKT_HAS_L3 | NFQD_PKT_TRUNC_L3,
			  NFQD_UNREADABLE_EXT_CUT, "IPv6 extension headers past the copy range");
}

/* An extension header whose length runs past the packet's end is a lie: its own reason. */
static void test_ipv6_extension_header_past_the_packet_is_unreadable_ext_bad(void **state)
{
	struct buf pkt;
	size_t len;

	(void)state;
	len = ipv6_udp_behind(&pkt, 2, 8, 6666);
	pkt.b[40 + 8 + 1] = 50; /* the second header claims 408 bytes */
	assert_unreadable(&pkt, len, len, NFQD_PKT_HAS_L3 | NFQD_PKT_BAD_L3,
			  NFQD_UNREADABLE_EXT_BAD, "IPv6 extension header past the packet's end");
}

/* The truncated L4 headers: UDP cut to 4 bytes, TCP with data offset 4. */
static void test_udp_cut_to_4_bytes_and_tcp_data_offset_4_are_unreadable(void **state)
{
	const uint32_t l3 = NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO;
	struct buf pkt;
	size_t len;

	(void)state;
	/* the packet itself ends 4 bytes into UDP: the IP length says so */
	ipv4_udp(&pkt, 0);
	pkt.b[3] = 24;
	assert_unreadable(&pkt, 24, 24, l3 | NFQD_PKT_BAD_L4, NFQD_UNREADABLE_L4_SHORT,
			  "UDP header past the packet's end");

	/* the copy range cut it after 4 bytes: the ports are known, the header is not whole */
	len = ipv4_udp(&pkt, 40);
	assert_unreadable(&pkt, 24, len, l3 | NFQD_PKT_HAS_PORTS | NFQD_PKT_TRUNC_L4,
			  NFQD_UNREADABLE_L4_CUT, "UDP header cut short");

	len = ipv4_tcp(&pkt, 40);
	pkt.b[20 + 12] = 4 << 4;
	assert_unreadable(&pkt, len, len, l3 | NFQD_PKT_BAD_L4, NFQD_UNREADABLE_TCP_DOFF,
			  "TCP data offset 4");

	/* a data offset past the packet's end is a lie too */
	len = ipv4_tcp(&pkt, 8);
	pkt.b[20 + 12] = 15 << 4;
	assert_unreadable(&pkt, len, len, 0, NFQD_UNREADABLE_L4_SHORT,
			  "TCP header past the packet's end");

	len = ipv4_udp(&pkt, 40);
	pkt.b[20 + 4] = 0;
	pkt.b[20 + 5] = 5;
	assert_unreadable(&pkt, len, len, l3 | NFQD_PKT_BAD_L4, NFQD_UNREADABLE_UDP_LEN,
			  "UDP length 5");
}

/* The IP packet in pkt, len of its packet_len bytes received, is readable and has flags. */
static void assert_readable(const struct buf *pkt, size_t len, size_t packet_len, uint32_t flags)
{
	struct view v;

	view_ip(&v, pkt->b, len, packet_len);
	assert_true(has(&v.pkt, flags));
	assert_true(has_none(&v.pkt, NFQD_PKT_UNREADABLE));
	assert_int_equal(v.pkt.unreadable, NFQD_UNREADABLE_NONE);
	assert_int_equal(nfqd_packet_unreadable_text(&v.pkt, NULL, 0), -EINVAL);
	view_free(&v);
}

/* TCP options cut by the copy range leave the fixed 20 bytes whole: readable. */
static void test_tcp_options_cut_by_copy_range_are_not_unreadable(void **state)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2 };
	struct buf pkt;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	pb_tcp(&pb, 40000, 443, PB_TCP_SYN);
	pb_tcp_options(&pb, opts, sizeof(opts));
	len = finish(&pb);
	assert_readable(&pkt, 20 + 20 + 2, len,
			NFQD_PKT_HAS_PORTS | NFQD_PKT_HAS_TCP_FLAGS | NFQD_PKT_TRUNC_L4);
}

/* An IP packet of version 4 or 6 whose upper layer is proto, with 4 bytes of it. */
static size_t ip_with_l4(struct buf *out, int version, uint8_t proto)
{
	static const uint8_t body[4] = { 0, 0, 0x08, 0x00 };
	struct pb pb;

	pb_init(&pb, out->b, PB_PKT_MAX);
	if (version == 4)
		pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
	else
		pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_l4(&pb, proto, body, sizeof(body));
	return finish(&pb);
}

/*
 * Not unreadable: later fragments (no transport header by nature), protocols whose header is
 * not read (GRE; ICMP in IPv6, which is not ICMPv6), even when cut short. A first fragment whose
 * L4 header is cut is.
 */
static void test_later_fragments_and_unread_protocols_are_never_unreadable(void **state)
{
	struct buf pkt;
	size_t len;

	(void)state;
	len = ipv4_udp_fragment(&pkt, 64, false);
	assert_readable(&pkt, 20, len, NFQD_PKT_FRAG_LATER | NFQD_PKT_HAS_PROTO);
	len = ipv6_udp_fragment(&pkt, 64, false);
	assert_readable(&pkt, 56, len, NFQD_PKT_FRAG_LATER | NFQD_PKT_HAS_PROTO);
	len = ip_with_l4(&pkt, 4, IPPROTO_GRE);
	assert_readable(&pkt, 21, len, NFQD_PKT_HAS_PROTO);
	len = ip_with_l4(&pkt, 6, IPPROTO_ICMP);
	assert_readable(&pkt, 42, len, NFQD_PKT_HAS_PROTO);

	len = ipv4_udp_fragment(&pkt, 0, true);
	assert_unreadable(&pkt, 24, len, 0, NFQD_UNREADABLE_L4_CUT, "UDP header cut short");
}

/* A first fragment that ends inside its extension header chain: the chain goes on elsewhere. */
static void test_ipv6_first_fragment_ending_inside_the_chain_is_unreadable(void **state)
{
	struct buf pkt;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_ipv6_frag(&pb, 0, true, 7);
	pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, 64);
	pb_udp(&pb, IPPROTO_UDP, 1, 6666);
	finish(&pb);
	/* the fragment holds 30 bytes of the 64-byte header, and says so */
	len = 40 + 8 + 30;
	pkt.b[4] = 0;
	pkt.b[5] = 8 + 30;
	assert_unreadable(&pkt, len, len, NFQD_PKT_HAS_L3 | NFQD_PKT_FRAGMENT | NFQD_PKT_TRUNC_L3,
			  NFQD_UNREADABLE_EXT_CUT,
			  "IPv6 extension headers past the first fragment");
	/* the same bytes cut by the copy range of a fragment 100 bytes longer */
	pkt.b[5] = 8 + 30 + 100;
	assert_unreadable(&pkt, len, len + 100, 0, NFQD_UNREADABLE_EXT_CUT,
			  "IPv6 extension headers past the copy range");
}

/* Every L3 reason has its words, with the value it is about. */
static void test_ip_level_reasons_name_the_problem(void **state)
{
	struct buf pkt;
	size_t len;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	assert_unreadable(&pkt, 10, len, 0, NFQD_UNREADABLE_IP_CUT, "IPv4 header cut short");
	assert_unreadable(&pkt, 10, 10, 0, NFQD_UNREADABLE_IP_SHORT,
			  "packet shorter than its IPv4 header");
	pkt.b[0] = 0x43;
	assert_unreadable(&pkt, len, len, 0, NFQD_UNREADABLE_IP_IHL, "IPv4 header length 12");
	pkt.b[0] = 0x55;
	assert_unreadable(&pkt, len, len, 0, NFQD_UNREADABLE_IP_VERSION, "IP version 5");
	pkt.b[0] = 0x45;
	pkt.b[3] = 200;
	assert_unreadable(&pkt, len, len, 0, NFQD_UNREADABLE_IP_LENGTH,
			  "IPv4 total length 200 does not fit the packet");

	len = ipv6_tcp(&pkt, 0);
	assert_unreadable(&pkt, 30, len, 0, NFQD_UNREADABLE_IP_CUT, "IPv6 header cut short");
	pkt.b[5] = 200;
	assert_unreadable(&pkt, len, len, 0, NFQD_UNREADABLE_IPV6_LENGTH,
			  "IPv6 payload length 200 beyond the packet");
}

static void test_ipv6_ext_header_past_the_data_is_trunc_l3_if_cut_else_bad_l3(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_ipv6_ext(&pb, IPPROTO_HOPOPTS, 8);
	pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, 64);
	pb_tcp(&pb, 1, 2, PB_TCP_SYN);
	len = finish(&pb);

	/* cut by the copy range inside the second header */
	view_ip(&v, pkt.b, 40 + 8 + 30, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_TRUNC_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	/* cut right after the first byte of the second header: its length is unknown */
	view_ip(&v, pkt.b, 40 + 8 + 1, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_TRUNC_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	/* the whole packet, but the header claims more than the packet has */
	pkt.b[49] = 200;
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_BAD_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);

	/* a fragment header cut short */
	len = ipv6_udp_fragment(&pkt, 8, true);
	view_ip(&v, pkt.b, 40 + 8 + 6, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_TRUNC_L3 | NFQD_PKT_UNREADABLE);
	view_free(&v);
}

static void test_ipv6_payload_len_zero_means_the_data_length(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv6_tcp(&pkt, 100);
	pkt.b[4] = 0;
	pkt.b[5] = 0;
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.l4_len, 120);
	view_free(&v);
}

/* L4 malformation */

static void test_tcp_doff_below_5_is_bad_l4_without_ports(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_tcp(&pkt, 20);
	pkt.b[20 + 12] = 4 << 4;
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_BAD_L4 |
					      NFQD_PKT_UNREADABLE);
	assert_non_null(v.pkt.l4);
	view_free(&v);
}

static void test_tcp_doff_past_the_whole_packet_is_bad_l4(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_tcp(&pkt, 8);
	pkt.b[20 + 12] = 15 << 4;
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_BAD_L4 |
					      NFQD_PKT_UNREADABLE);
	view_free(&v);
}

static void test_udp_length_below_8_is_bad_l4_and_0_is_accepted(void **state)
{
	struct buf pkt;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_udp(&pkt, 8);
	pkt.b[24] = 0;
	pkt.b[25] = 7;
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_BAD_L4 |
					      NFQD_PKT_UNREADABLE);
	view_free(&v);

	/* 0 is a jumbogram's length */
	pkt.b[25] = 0;
	view_ip(&v, pkt.b, len, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS);
	view_free(&v);
}

static void test_sctp_cut_by_copy_range_keeps_ports(void **state)
{
	struct buf pkt;
	struct view v;
	struct pb pb;
	size_t len;

	(void)state;
	pb_init(&pb, pkt.b, PB_PKT_MAX);
	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
	pb_sctp(&pb, 100, 200, 1);
	pb_data(&pb, NULL, 20);
	len = finish(&pb);

	view_ip(&v, pkt.b, 40 + 8, len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.sport, 100);
	view_free(&v);
}

/* GSO */

static void test_gso_packet_with_tot_len_zero_is_parsed(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 2000);
	pkt.b[2] = 0;
	pkt.b[3] = 0;
	pb_nfq_init(&m, 4, 3);
	m.attrs = PB_NFQ_SKB_INFO;
	m.skb_info = NFQA_SKB_GSO | NFQA_SKB_CSUMNOTREADY;
	mlen = wrap(&msg, &m, pkt.b, len);

	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_PAYLOAD | NFQD_PKT_GSO |
					      NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO |
					      NFQD_PKT_HAS_PORTS | NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(v.pkt.skb_info, NFQA_SKB_GSO | NFQA_SKB_CSUMNOTREADY);
	assert_int_equal(v.pkt.l4_len, len - 20);
	view_free(&v);

	/* without the GSO flag, tot_len 0 is malformed */
	m.skb_info = NFQA_SKB_CSUMNOTREADY;
	mlen = wrap(&msg, &m, pkt.b, len);
	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_PAYLOAD | NFQD_PKT_BAD_L3 |
					      NFQD_PKT_UNREADABLE);
	view_free(&v);
}

/* nfqueue messages */

static void test_metadata_only_message_has_id_and_no_payload(void **state)
{
	struct buf msg;
	struct pb_nfq m;
	struct view v;
	size_t mlen;

	(void)state;
	pb_nfq_init(&m, 6, 77);
	m.attrs = PB_NFQ_MARK;
	m.mark = 9;
	mlen = wrap(&msg, &m, NULL, 0);

	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_MARK | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.id, 77);
	assert_int_equal(v.pkt.family, NFPROTO_IPV6);
	assert_int_equal(v.pkt.hw_protocol, ETH_P_IPV6);
	assert_int_equal(v.pkt.packet_len, 0);
	assert_null(v.pkt.payload);
	view_free(&v);
}

static void test_all_metadata_reads_back(void **state)
{
	const struct nlattr *a;
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;
	uint32_t ct_mark = 0;

	(void)state;
	len = ipv4_udp(&pkt, 10);
	pb_nfq_init(&m, 4, 0xfffffffe);
	m.queue = 65535;
	m.hook = NF_INET_POST_ROUTING;
	m.attrs = PB_NFQ_MARK | PB_NFQ_INDEV | PB_NFQ_OUTDEV | PB_NFQ_PHYSINDEV |
		  PB_NFQ_PHYSOUTDEV | PB_NFQ_UID | PB_NFQ_GID | PB_NFQ_CT | PB_NFQ_SKB_INFO;
	m.mark = 0xdeadbeef;
	m.indev = 2;
	m.outdev = 3;
	m.physindev = 4;
	m.physoutdev = 5;
	m.uid = 1000;
	m.gid = 100;
	m.ct_info = 2;
	m.ct_mark = 0x42;
	m.ct_status = 8;
	m.skb_info = NFQA_SKB_CSUM_NOTVERIFIED;
	mlen = wrap(&msg, &m, pkt.b, len);

	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_MARK | NFQD_PKT_HAS_UIDGID |
					      NFQD_PKT_HAS_PAYLOAD | NFQD_PKT_HAS_L3 |
					      NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					      NFQD_PKT_HAS_CTMARK);
	/* the connmark comes out of the conntrack nest */
	assert_int_equal(v.pkt.ct_mark, 0x42);
	assert_int_equal(v.pkt.id, 0xfffffffe);
	assert_int_equal(v.pkt.queue, 65535);
	assert_int_equal(v.pkt.hook, NF_INET_POST_ROUTING);
	assert_int_equal(v.pkt.mark, 0xdeadbeef);
	assert_int_equal(v.pkt.indev, 2);
	assert_int_equal(v.pkt.outdev, 3);
	assert_int_equal(v.pkt.physindev, 4);
	assert_int_equal(v.pkt.physoutdev, 5);
	assert_int_equal(v.pkt.uid, 1000);
	assert_int_equal(v.pkt.gid, 100);
	assert_int_equal(v.pkt.skb_info, NFQA_SKB_CSUM_NOTVERIFIED);
	assert_int_equal(v.pkt.ct_info, 2);
	assert_non_null(v.pkt.ct);
	mnl_attr_for_each_nested (a, v.pkt.ct) {
		if (mnl_attr_get_type(a) == CTA_MARK)
			ct_mark = ntohl(mnl_attr_get_u32(a));
	}
	assert_int_equal(ct_mark, 0x42);
	view_free(&v);
}

static void test_uid_without_gid_is_not_uidgid(void **state)
{
	struct buf msg;
	struct pb_nfq m;
	struct view v;
	size_t mlen;

	(void)state;
	pb_nfq_init(&m, 4, 1);
	m.attrs = PB_NFQ_UID;
	m.uid = 1000;
	mlen = wrap(&msg, &m, NULL, 0);
	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.uid, 0);
	view_free(&v);
}

static void test_unknown_attributes_are_skipped(void **state)
{
	struct nlmsghdr *nlh;
	struct buf msg;
	struct view v;
	uint8_t ts[16] = { 0 };

	(void)state;
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 12);
	mnl_attr_put(nlh, NFQA_TIMESTAMP, sizeof(ts), ts);
	mnl_attr_put_u32(nlh, 200, 0);
	mnl_attr_put(nlh, NFQA_SECCTX, 3, "ab");
	mnl_attr_put_u32(nlh, NFQA_MARK, htonl(5));
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_MARK | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.mark, 5);
	view_free(&v);
}

static void test_hardware_address_is_read_within_its_length(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct nfqnl_msg_packet_hw hw;
	struct nlmsghdr *nlh;
	struct buf msg;
	struct view v;

	(void)state;
	memset(&hw, 0, sizeof(hw));
	hw.hw_addrlen = htons(6);
	memcpy(hw.hw_addr, mac, sizeof(mac));
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 7);
	mnl_attr_put(nlh, NFQA_HWADDR, sizeof(hw), &hw);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_HWADDR | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.hwaddr_len, 6);
	assert_memory_equal(v.pkt.hwaddr, mac, 6);
	view_free(&v);

	/* a claimed length beyond the 8 bytes of the field is not taken */
	hw.hw_addrlen = htons(9);
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 8);
	mnl_attr_put(nlh, NFQA_HWADDR, sizeof(hw), &hw);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.hwaddr_len, 0);
	view_free(&v);

	/* too short for the structure: malformed */
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 9);
	mnl_attr_put(nlh, NFQA_HWADDR, 4, &hw);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_true(v.pkt.flags & NFQD_PKT_BAD_ATTR);
	assert_false(v.pkt.flags & NFQD_PKT_HAS_HWADDR);
	view_free(&v);
}

static void test_conntrack_nest_without_mark_gives_connmark_zero(void **state)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	struct buf msg;
	struct view v;

	(void)state;
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 10);
	nest = mnl_attr_nest_start(nlh, NFQA_CT);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(8));
	mnl_attr_nest_end(nlh, nest);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, 0);
	assert_true(v.pkt.flags & NFQD_PKT_HAS_CTMARK);
	assert_int_equal(v.pkt.ct_mark, 0);
	view_free(&v);
}

static void test_wrong_message_type_is_ebadmsg(void **state)
{
	static const uint16_t types[] = {
		(NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT,
		(NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG,
		(NFNL_SUBSYS_ULOG << 8) | NFQNL_MSG_PACKET,
		(NFNL_SUBSYS_CTNETLINK << 8),
		NLMSG_ERROR,
		NLMSG_DONE,
	};
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen, i;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pb_nfq_init(&m, 4, 1);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		mlen = wrap(&msg, &m, pkt.b, len);
		msg_nlh(&msg)->nlmsg_type = types[i];
		view_msg(&v, msg.b, mlen);
		assert_int_equal(v.ret, -EBADMSG);
		assert_int_equal(v.pkt.flags, 0);
		view_free(&v);
	}
}

static void test_too_short_buffers_are_ebadmsg(void **state)
{
	struct nfqd_packet p;
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen, avail;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pb_nfq_init(&m, 4, 1);
	mlen = wrap(&msg, &m, pkt.b, len);

	for (avail = 0; avail < 20 + 11; avail++) {
		view_msg(&v, msg.b, avail);
		assert_int_equal(v.ret, -EBADMSG);
		assert_int_equal(v.pkt.flags, avail < 16 ? 0 : NFQD_PKT_MSG_TRUNC);
		view_free(&v);
	}

	/* a header that says the message cannot hold its nfgenmsg */
	msg_nlh(&msg)->nlmsg_len = 19;
	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.ret, -EBADMSG);
	view_free(&v);

	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(nfqd_packet_parse(&p, NULL, 100), -EBADMSG);
	assert_int_equal(p.flags, 0);
	assert_null(p.payload);
}

static void test_message_without_packet_hdr_is_ebadmsg_but_filled(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pb_nfq_init(&m, 4, 1);
	m.attrs = PB_NFQ_NO_PACKET_HDR | PB_NFQ_MARK;
	m.mark = 3;
	mlen = wrap(&msg, &m, pkt.b, len);

	view_msg(&v, msg.b, mlen);
	assert_int_equal(v.ret, -EBADMSG);
	assert_true(has(&v.pkt, NFQD_PKT_HAS_MARK | NFQD_PKT_HAS_PORTS));
	assert_true(has_none(&v.pkt, NFQD_PKT_HAS_ID));
	assert_int_equal(v.pkt.mark, 3);
	view_free(&v);
}

static void test_attr_with_nla_len_2_is_bad_attr_and_stops_the_walk(void **state)
{
	struct nlmsghdr *nlh;
	struct buf pkt, msg;
	struct view v;
	size_t len;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 31337);
	put_raw_attr(nlh, NFQA_MARK, 2, 0);
	mnl_attr_put_u32(nlh, NFQA_MARK, htonl(5));
	mnl_attr_put(nlh, NFQA_PAYLOAD, len, pkt.b);

	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_BAD_ATTR | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.id, 31337);
	assert_int_equal(v.pkt.mark, 0);
	view_free(&v);
}

static void test_attr_with_nla_len_past_the_end_is_bad_attr(void **state)
{
	struct nlmsghdr *nlh;
	struct buf msg;
	struct view v;

	(void)state;
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 8);
	put_raw_attr(nlh, NFQA_MARK, 200, 4);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_BAD_ATTR | NFQD_PKT_UNREADABLE);
	assert_int_equal(v.pkt.id, 8);
	view_free(&v);

	/* A read that was cut does not excuse an attribute longer than the whole message. */
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 8);
	put_raw_attr(nlh, NFQA_PAYLOAD, 1000, 100);
	view_msg(&v, msg.b, nlh->nlmsg_len - 50);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_BAD_ATTR | NFQD_PKT_MSG_TRUNC |
					      NFQD_PKT_UNREADABLE);
	view_free(&v);
}

static void test_attr_with_wrong_size_for_its_type_is_bad_attr(void **state)
{
	struct nlmsghdr *nlh;
	struct buf msg;
	struct view v;
	uint8_t six[6] = { 0 };

	(void)state;
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 8);
	mnl_attr_put_u16(nlh, NFQA_MARK, 1);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_BAD_ATTR | NFQD_PKT_UNREADABLE);
	view_free(&v);

	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 8);
	mnl_attr_put_u64(nlh, NFQA_CAP_LEN, 1);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_BAD_ATTR | NFQD_PKT_UNREADABLE);
	view_free(&v);

	/* a short packet header before anything else: no id, no verdict possible */
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(six), six);
	put_packet_hdr(nlh, 8);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, -EBADMSG);
	assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_ATTR);
	view_free(&v);
}

static void test_malformed_attr_before_packet_hdr_loses_the_id(void **state)
{
	struct nlmsghdr *nlh;
	struct buf msg;
	struct view v;

	(void)state;
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_raw_attr(nlh, NFQA_MARK, 3, 0);
	put_packet_hdr(nlh, 8);
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, -EBADMSG);
	assert_int_equal(v.pkt.flags, NFQD_PKT_BAD_ATTR);
	view_free(&v);
}

static void test_trailing_bytes_shorter_than_an_attr_header_are_bad_attr(void **state)
{
	struct nlmsghdr *nlh;
	struct buf msg;
	struct view v;

	(void)state;
	nlh = pb_nfq_begin(msg.b, sizeof(msg.b), NFPROTO_IPV4, 0);
	put_packet_hdr(nlh, 8);
	nlh->nlmsg_len += 2;
	view_msg(&v, msg.b, nlh->nlmsg_len);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_BAD_ATTR | NFQD_PKT_UNREADABLE);
	view_free(&v);

	/* the same two bytes are only a cut when the read was short */
	view_msg(&v, msg.b, nlh->nlmsg_len - 1);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_MSG_TRUNC | NFQD_PKT_UNREADABLE);
	view_free(&v);
}

static void test_walk_ends_at_nlmsg_len_when_more_was_received(void **state)
{
	struct buf pkt, msg;
	struct pb_nfq m;
	struct view v;
	size_t len, mlen, mlen2;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	pb_nfq_init(&m, 4, 1);
	mlen = wrap(&msg, &m, NULL, 0);
	/* a second message right after the first, as in a batch */
	m.attrs = PB_NFQ_MARK;
	m.mark = 1;
	mlen2 = (size_t)pb_nfq_msg(msg.b + mlen, sizeof(msg.b) - mlen, &m, pkt.b, len);

	view_msg(&v, msg.b, mlen + mlen2);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.pkt.flags, NFQD_PKT_HAS_ID | NFQD_PKT_UNREADABLE);
	view_free(&v);
}

static void test_parse_ip_resets_l3_l4_and_keeps_metadata(void **state)
{
	struct buf pkt, msg, pkt6;
	struct nfqd_packet p;
	struct pb_nfq m;
	size_t len, len6, mlen;

	(void)state;
	len = ipv4_tcp(&pkt, 0);
	len6 = ipv6_udp_fragment(&pkt6, 8, true);
	pb_nfq_init(&m, 4, 4242);
	m.attrs = PB_NFQ_MARK;
	m.mark = 6;
	mlen = wrap(&msg, &m, pkt.b, len);
	assert_int_equal(nfqd_packet_parse(&p, msg_nlh(&msg), mlen - 4), 0);
	assert_true(has(&p, NFQD_PKT_MSG_TRUNC | NFQD_PKT_HAS_TCP_FLAGS));

	nfqd_packet_parse_ip(&p, pkt6.b, len6, len6);
	assert_int_equal(p.flags, NFQD_PKT_HAS_ID | NFQD_PKT_HAS_MARK | NFQD_PKT_HAS_PAYLOAD |
					  NFQD_PKT_MSG_TRUNC | NFQD_PKT_PAYLOAD_TRUNC |
					  NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_FRAGMENT |
					  NFQD_PKT_FRAG_LATER);
	assert_int_equal(p.id, 4242);
	assert_int_equal(p.mark, 6);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.tcp_flags, 0);
	assert_null(p.l4);
	check_ip_view(&p, pkt6.b, len6);
}

static void test_parse_ip_reads_a_packet_at_an_odd_address(void **state)
{
	struct buf pkt, odd;
	struct nfqd_packet p;
	size_t len;

	(void)state;
	len = ipv6_tcp(&pkt, 3);
	memcpy(odd.b + 1, pkt.b, len);
	memset(&p, 0, sizeof(p));
	nfqd_packet_parse_ip(&p, odd.b + 1, len, len);
	assert_int_equal(p.flags, NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS |
					  NFQD_PKT_HAS_TCP_FLAGS);
	assert_int_equal(p.sport, 50000);
	check_ip_view(&p, odd.b + 1, len);
}

/* Robustness */

/* A small set of valid messages covering every path. */
static size_t sample_messages(struct buf *out, size_t max, size_t *lens)
{
	static const uint8_t opts[] = { 1, 1, 1, 0 };
	struct pb_nfq m;
	struct buf pkt;
	struct pb pb;
	size_t n = 0, len;
	int kind;

	for (kind = 0; kind < 14 && n < max; kind++) {
		pb_init(&pb, pkt.b, PB_PKT_MAX);
		if (kind < 6) {
			pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
		} else {
			pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
		}
		switch (kind) {
		case 0:
			pb_tcp(&pb, 1, 2, PB_TCP_SYN);
			break;
		case 1:
			pb_ipv4_options(&pb, opts, sizeof(opts));
			pb_udp(&pb, IPPROTO_UDP, 3, 4);
			break;
		case 2:
			pb_icmp(&pb, 8, 0);
			break;
		case 3:
			pb_ipv4_frag(&pb, 0, true);
			pb_sctp(&pb, 5, 6, 7);
			break;
		case 4:
			pb_ipv4_frag(&pb, 64, false);
			pb_udp(&pb, IPPROTO_UDPLITE, 8, 9);
			break;
		case 5:
			pb_dccp(&pb, 10, 11);
			break;
		case 6:
			pb_ipv6_ext(&pb, IPPROTO_HOPOPTS, 8);
			pb_ipv6_ext(&pb, IPPROTO_ROUTING, 24);
			pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, 16);
			pb_tcp(&pb, 12, 13, PB_TCP_ACK);
			break;
		case 7:
			pb_ipv6_frag(&pb, 0, true, 1);
			pb_udp(&pb, IPPROTO_UDP, 14, 15);
			break;
		case 8:
			pb_ipv6_frag(&pb, 16, true, 1);
			pb_udp(&pb, IPPROTO_UDP, 14, 15);
			break;
		case 9:
			pb_ah(&pb, 16, 1);
			pb_icmp(&pb, 128, 0);
			break;
		case 10:
			pb_ipv6_ext(&pb, IPPROTO_MH, 8);
			pb_ipv6_ext(&pb, 139, 8);
			pb_ipv6_ext(&pb, 140, 8);
			pb_dccp(&pb, 16, 17);
			break;
		case 11:
			pb_l4(&pb, IPPROTO_ESP, "\0\0\0\1\0\0\0\1", 8);
			break;
		case 12:
			pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, 8);
			break;
		default:
			pb_sctp(&pb, 18, 19, 20);
			break;
		}
		pb_data(&pb, NULL, (size_t)kind * 7);
		len = finish(&pb);

		pb_nfq_init(&m, kind < 6 ? 4 : 6, (uint32_t)kind + 1);
		m.attrs = PB_NFQ_MARK | PB_NFQ_INDEV | PB_NFQ_UID | PB_NFQ_GID | PB_NFQ_CT |
			  PB_NFQ_SKB_INFO;
		if (kind % 3 == 0) {
			m.attrs |= PB_NFQ_CAP_LEN;
			m.cap_len = (uint32_t)len + 100;
		}
		m.skb_info = kind % 2 ? NFQA_SKB_GSO : 0;
		m.mark = 1;
		lens[n] = wrap(&out[n], &m, pkt.b, len);
		n++;
	}
	return n;
}

#define N_SAMPLES 14

static void test_every_prefix_of_valid_messages_parses_safely(void **state)
{
	size_t lens[N_SAMPLES], n, i, avail;
	struct buf *msgs;
	struct view v;

	(void)state;
	msgs = malloc(sizeof(*msgs) * N_SAMPLES);
	assert_non_null(msgs);
	n = sample_messages(msgs, N_SAMPLES, lens);
	assert_int_equal(n, N_SAMPLES);

	for (i = 0; i < n; i++) {
		for (avail = 0; avail <= lens[i]; avail++) {
			view_msg(&v, msgs[i].b, avail);
			if (avail >= 16)
				assert_int_equal(has(&v.pkt, NFQD_PKT_MSG_TRUNC), avail < lens[i]);
			/* the packet header comes first: from 31 bytes on, the id is there */
			assert_int_equal(v.ret == 0, avail >= 31);
			/* a prefix of a good message is cut short, never malformed */
			assert_true(has_none(&v.pkt, NFQD_PKT_MALFORMED));
			view_free(&v);
		}
	}
	free(msgs);
}

/* xorshift64*: a deterministic generator, state kept by the caller. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(uint64_t *s, size_t n)
{
	return n ? (size_t)(rnd(s) % n) : 0;
}

static void mutate(uint64_t *s, uint8_t *b, size_t len)
{
	static const uint8_t interesting[] = { 0,    1,	   4,	 5,    6,    8,	   0x0f,
					       0x40, 0x45, 0x4f, 0x60, 0x7f, 0x80, 0xff,
					       17,   44,   50,	 51,   58,   59,   60 };
	size_t n = 1 + rnd_below(s, 8), i, at;

	if (!len)
		return;
	for (i = 0; i < n; i++) {
		at = rnd_below(s, len);
		switch (rnd_below(s, 4)) {
		case 0:
			b[at] ^= (uint8_t)(1u << rnd_below(s, 8));
			break;
		case 1:
			b[at] = (uint8_t)rnd(s);
			break;
		default:
			b[at] = interesting[rnd_below(s, sizeof(interesting))];
			break;
		}
	}
}

static void test_random_mutations_of_valid_packets_keep_invariants(void **state)
{
	size_t lens[N_SAMPLES], n, i, which, avail, off, plen, packet_len;
	uint64_t seed = 0x6e66716470617273ull;
	struct buf *msgs, *work;
	struct nfqd_packet *p;
	struct view v;
	unsigned long mutated_ok = 0;

	(void)state;
	msgs = malloc(sizeof(*msgs) * N_SAMPLES);
	work = malloc(sizeof(*work));
	assert_non_null(msgs);
	assert_non_null(work);
	n = sample_messages(msgs, N_SAMPLES, lens);

	for (i = 0; i < 300000; i++) {
		which = rnd_below(&seed, n);
		memcpy(work->b, msgs[which].b, lens[which]);
		/* payload offset: the IP header is the last attribute's data */
		off = lens[which];
		plen = 0;
		{
			struct nfqd_packet q;

			assert_int_equal(nfqd_packet_parse(&q,
							   (const struct nlmsghdr *)msgs[which].b,
							   lens[which]),
					 0);
			off = (size_t)(q.payload - msgs[which].b);
			plen = q.payload_len;
		}

		if (i % 2) {
			/* the whole message, anywhere */
			mutate(&seed, work->b, lens[which]);
			avail = rnd_below(&seed, 4) ? lens[which]
						    : rnd_below(&seed, lens[which] + 1);
			view_msg(&v, work->b, avail);
			if (v.ret == 0)
				mutated_ok++;
			view_free(&v);
		} else {
			/* the IP packet alone, with a random cut and a random real length */
			mutate(&seed, work->b + off, plen);
			avail = rnd_below(&seed, 3) ? plen : rnd_below(&seed, plen + 1);
			packet_len = rnd_below(&seed, 3) ? plen : rnd_below(&seed, 2 * plen + 1);
			view_ip(&v, work->b + off, avail, packet_len);
			p = &v.pkt;
			assert_true(p->l3_hdrlen <= avail);
			view_free(&v);
		}
	}
	/* the mutations leave many messages usable: the test did not only hit early exits */
	assert_true(mutated_ok > 10000);
	free(work);
	free(msgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp_message_gives_every_field),
		cmocka_unit_test(test_ipv4_udp_gives_ports),
		cmocka_unit_test(test_ipv4_icmp_gives_type_and_code),
		cmocka_unit_test(test_ipv4_sctp_gives_ports),
		cmocka_unit_test(test_ipv4_dccp_and_udplite_give_ports),
		cmocka_unit_test(test_ipv4_other_protocol_has_proto_and_l4_but_no_ports),
		cmocka_unit_test(test_ipv4_options_are_skipped_by_ihl),
		cmocka_unit_test(test_ipv4_link_padding_after_tot_len_is_not_l4),
		cmocka_unit_test(test_ipv4_first_fragment_has_ports),
		cmocka_unit_test(test_ipv4_later_fragment_has_proto_but_no_ports),
		cmocka_unit_test(test_ipv4_first_fragment_cut_inside_tcp_is_trunc_not_bad),
		cmocka_unit_test(test_msg_cut_inside_payload_uses_the_bytes_received),
		cmocka_unit_test(test_msg_cut_inside_payload_attr_header_has_no_payload),
		cmocka_unit_test(test_msg_cut_inside_packet_hdr_is_ebadmsg),
		cmocka_unit_test(test_msg_cut_inside_ip_header_is_trunc_l3),
		cmocka_unit_test(test_copy_range_cut_inside_ipv4_options_keeps_addresses),
		cmocka_unit_test(
			test_tcp_cut_by_copy_range_at_0_1_3_4_13_14_19_bytes_keeps_facts_in_reach),
		cmocka_unit_test(
			test_udp_cut_by_copy_range_at_0_1_3_4_7_bytes_keeps_facts_in_reach),
		cmocka_unit_test(
			test_l4_header_shorter_in_the_whole_packet_is_bad_l4_without_ports),
		cmocka_unit_test(
			test_tcp_options_cut_by_copy_range_is_trunc_l4_with_ports_and_flags),
		cmocka_unit_test(test_cap_len_larger_than_payload_is_payload_trunc),
		cmocka_unit_test(test_bad_version_is_bad_l3_without_l3),
		cmocka_unit_test(test_ipv4_ihl_below_5_is_bad_l3),
		cmocka_unit_test(test_ipv4_tot_len_below_header_is_bad_l3),
		cmocka_unit_test(test_ip_length_beyond_the_packet_is_bad_l3),
		cmocka_unit_test(test_packet_shorter_than_ip_header_is_trunc_l3_if_cut_else_bad_l3),
		cmocka_unit_test(test_ipv6_tcp_gives_every_field),
		cmocka_unit_test(test_ipv6_udp_gives_ports_and_icmpv6_gives_type),
		cmocka_unit_test(test_icmp_types_only_for_their_ip_version),
		cmocka_unit_test(test_icmp_cut_by_copy_range_is_trunc_and_short_packet_is_bad),
		cmocka_unit_test(test_ipv6_hbh_routing_dstopts_chain_before_tcp_gives_ports),
		cmocka_unit_test(test_ipv6_mobility_hip_shim6_headers_are_walked),
		cmocka_unit_test(test_ipv6_first_fragment_has_ports),
		cmocka_unit_test(test_ipv6_later_fragment_has_proto_but_no_ports),
		cmocka_unit_test(test_ipv6_atomic_fragment_is_not_a_fragment),
		cmocka_unit_test(test_ipv6_ah_is_walked_by_its_own_length_unit),
		cmocka_unit_test(test_ipv4_ah_is_the_upper_layer),
		cmocka_unit_test(test_ipv6_esp_ends_the_chain),
		cmocka_unit_test(test_ipv6_no_next_header_ends_the_chain),
		cmocka_unit_test(test_ipv6_chain_of_16_headers_is_walked),
		cmocka_unit_test(
			test_ipv6_chains_of_17_100_and_2000_headers_are_walked_to_the_ports),
		cmocka_unit_test(
			test_ipv6_udp_behind_extension_headers_cut_by_copy_range_is_unreadable),
		cmocka_unit_test(test_ipv6_extension_header_past_the_packet_is_unreadable_ext_bad),
		cmocka_unit_test(test_udp_cut_to_4_bytes_and_tcp_data_offset_4_are_unreadable),
		cmocka_unit_test(test_tcp_options_cut_by_copy_range_are_not_unreadable),
		cmocka_unit_test(test_later_fragments_and_unread_protocols_are_never_unreadable),
		cmocka_unit_test(test_ipv6_first_fragment_ending_inside_the_chain_is_unreadable),
		cmocka_unit_test(test_ip_level_reasons_name_the_problem),
		cmocka_unit_test(test_ipv6_ext_header_past_the_data_is_trunc_l3_if_cut_else_bad_l3),
		cmocka_unit_test(test_ipv6_payload_len_zero_means_the_data_length),
		cmocka_unit_test(test_tcp_doff_below_5_is_bad_l4_without_ports),
		cmocka_unit_test(test_tcp_doff_past_the_whole_packet_is_bad_l4),
		cmocka_unit_test(test_udp_length_below_8_is_bad_l4_and_0_is_accepted),
		cmocka_unit_test(test_sctp_cut_by_copy_range_keeps_ports),
		cmocka_unit_test(test_gso_packet_with_tot_len_zero_is_parsed),
		cmocka_unit_test(test_metadata_only_message_has_id_and_no_payload),
		cmocka_unit_test(test_all_metadata_reads_back),
		cmocka_unit_test(test_uid_without_gid_is_not_uidgid),
		cmocka_unit_test(test_unknown_attributes_are_skipped),
		cmocka_unit_test(test_hardware_address_is_read_within_its_length),
		cmocka_unit_test(test_conntrack_nest_without_mark_gives_connmark_zero),
		cmocka_unit_test(test_wrong_message_type_is_ebadmsg),
		cmocka_unit_test(test_too_short_buffers_are_ebadmsg),
		cmocka_unit_test(test_message_without_packet_hdr_is_ebadmsg_but_filled),
		cmocka_unit_test(test_attr_with_nla_len_2_is_bad_attr_and_stops_the_walk),
		cmocka_unit_test(test_attr_with_nla_len_past_the_end_is_bad_attr),
		cmocka_unit_test(test_attr_with_wrong_size_for_its_type_is_bad_attr),
		cmocka_unit_test(test_malformed_attr_before_packet_hdr_loses_the_id),
		cmocka_unit_test(test_trailing_bytes_shorter_than_an_attr_header_are_bad_attr),
		cmocka_unit_test(test_walk_ends_at_nlmsg_len_when_more_was_received),
		cmocka_unit_test(test_parse_ip_resets_l3_l4_and_keeps_metadata),
		cmocka_unit_test(test_parse_ip_reads_a_packet_at_an_odd_address),
		cmocka_unit_test(test_every_prefix_of_valid_messages_parses_safely),
		cmocka_unit_test(test_random_mutations_of_valid_packets_keep_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
