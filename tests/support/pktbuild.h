/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test support: build IPv4/IPv6 packets and wrap them in nfnetlink_queue packet messages, the
 * way the kernel sends them.
 *
 * Packets are built front to back into a caller's buffer:
 *
 *	struct pb pb;
 *	uint8_t buf[PB_PKT_MAX];
 *
 *	pb_init(&pb, buf, sizeof(buf));
 *	pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
 *	pb_ipv6_ext(&pb, IPPROTO_HOPOPTS, 8);
 *	pb_tcp(&pb, 40000, 80, PB_TCP_SYN);
 *	pb_data(&pb, NULL, 100);
 *	len = pb_finish(&pb);
 *
 * Each header's protocol / next-header field is filled in by whatever is appended after it, or
 * set to 59 (no next header) when nothing is. pb_finish() fills in the lengths (IPv4 total
 * length, IPv6 payload length, UDP length) and the checksums (IPv4 header; TCP, UDP, ICMP and
 * ICMPv6 when the packet is not a fragment; the IPv6 pseudo-header uses the fixed header's
 * destination even after a routing header). Errors are sticky: once a call fails, later calls do
 * nothing and pb_finish() returns the first error. Tests that need a malformed packet build a
 * good one and then change its bytes.
 *
 * Nothing here has global state; every function works only on what it is given.
 */
#ifndef NFQD_TESTS_PKTBUILD_H
#define NFQD_TESTS_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#define PB_PKT_MAX     65535			 /* the largest IP packet pb_finish() accepts */
#define PB_PAYLOAD_MAX (UINT16_MAX - NLA_HDRLEN) /* the most an NFQA_PAYLOAD can carry */
#define PB_MSG_MAX     (PB_PAYLOAD_MAX + 512)	 /* room for any message pb_nfq_msg() builds */
#define PB_NONE	       SIZE_MAX

/* TCP flags for pb_tcp(). */
#define PB_TCP_FIN 0x01
#define PB_TCP_SYN 0x02
#define PB_TCP_RST 0x04
#define PB_TCP_PSH 0x08
#define PB_TCP_ACK 0x10
#define PB_TCP_URG 0x20
#define PB_TCP_ECE 0x40
#define PB_TCP_CWR 0x80

/* A packet under construction. Read len and the offsets; change the rest only through pb_*(). */
struct pb {
	uint8_t *buf;
	size_t cap;
	size_t len;	     /* bytes written so far */
	int err;	     /* 0, or the first -errno */
	uint8_t l3;	     /* 4 or 6 once the IP header is written */
	size_t proto_off;    /* the protocol/next-header byte still to fill in, or PB_NONE */
	size_t l4_off;	     /* offset of the L4 header, or PB_NONE */
	uint8_t l4_proto;    /* its protocol */
	bool fragment;	     /* the packet is a fragment: no L4 checksum */
	size_t ipv4_opt_end; /* IPv4: where the header ends (after options) */
};

/* Starts a packet in buf (cap bytes; at most PB_PKT_MAX are used). */
void pb_init(struct pb *pb, void *buf, size_t cap);

/* IPv4 header, 20 bytes, no options, not a fragment. Addresses in dotted form. */
void pb_ipv4(struct pb *pb, const char *src, const char *dst, uint8_t ttl);

/*
 * IPv4 options right after pb_ipv4(): len bytes (up to 40) copied and padded with end-of-options
 * to a multiple of 4; ihl follows.
 */
void pb_ipv4_options(struct pb *pb, const void *opts, size_t len);

/* Makes the IPv4 packet a fragment: offset in bytes (a multiple of 8), more = the MF flag. */
void pb_ipv4_frag(struct pb *pb, uint16_t offset, bool more);

/* IPv6 fixed header, 40 bytes. Addresses in colon form. */
void pb_ipv6(struct pb *pb, const char *src, const char *dst, uint8_t hop_limit);

/*
 * An IPv6 extension header of the (hdrlen + 1) * 8 kind: hop-by-hop (0), routing (43),
 * destination options (60), mobility (135), HIP (139), shim6 (140). len is its size in bytes,
 * a multiple of 8 from 8 to 2048; the body is zero (options: Pad1s; routing: type 0, 0 left).
 */
void pb_ipv6_ext(struct pb *pb, uint8_t type, size_t len);

/* IPv6 fragment header: offset in bytes (a multiple of 8), more = the M flag. */
void pb_ipv6_frag(struct pb *pb, uint16_t offset, bool more, uint32_t ident);

/* Authentication header of len bytes ((payload len + 2) * 4; at least 12, a multiple of 4). */
void pb_ah(struct pb *pb, size_t len, uint32_t spi);

/* TCP header, 20 bytes, with these PB_TCP_* flags; window 65535, sequence numbers fixed. */
void pb_tcp(struct pb *pb, uint16_t sport, uint16_t dport, uint8_t flags);

/* TCP options right after pb_tcp(): padded with end-of-options to a multiple of 4; doff follows. */
void pb_tcp_options(struct pb *pb, const void *opts, size_t len);

/* UDP (proto 17) or UDP-Lite (proto 136) header, 8 bytes; UDP-Lite covers the whole packet. */
void pb_udp(struct pb *pb, uint8_t proto, uint16_t sport, uint16_t dport);

/* SCTP common header, 12 bytes (checksum left zero). */
void pb_sctp(struct pb *pb, uint16_t sport, uint16_t dport, uint32_t vtag);

/* DCCP generic header with extended sequence numbers, 16 bytes, type Request. */
void pb_dccp(struct pb *pb, uint16_t sport, uint16_t dport);

/* ICMP header for IPv4, ICMPv6 header for IPv6, 8 bytes (rest of header zero). */
void pb_icmp(struct pb *pb, uint8_t type, uint8_t code);

/* Any other upper-layer header (ESP, GRE, ...): proto, then len bytes copied from hdr. */
void pb_l4(struct pb *pb, uint8_t proto, const void *hdr, size_t len);

/* len bytes of data after the headers, copied from data, or a counting pattern if data is NULL. */
void pb_data(struct pb *pb, const void *data, size_t len);

/* Fills in lengths and checksums. Returns the packet's length, or the first -errno. */
int pb_finish(struct pb *pb);

/* Which optional attributes pb_nfq_msg() puts in the message (struct pb_nfq.attrs). */
enum pb_nfq_attr {
	PB_NFQ_MARK = 1u << 0,
	PB_NFQ_INDEV = 1u << 1,
	PB_NFQ_OUTDEV = 1u << 2,
	PB_NFQ_PHYSINDEV = 1u << 3,
	PB_NFQ_PHYSOUTDEV = 1u << 4,
	PB_NFQ_UID = 1u << 5,
	PB_NFQ_GID = 1u << 6,
	PB_NFQ_CT = 1u << 7, /* NFQA_CT nest (CTA_MARK, CTA_STATUS) and NFQA_CT_INFO */
	PB_NFQ_CAP_LEN = 1u << 8,
	PB_NFQ_SKB_INFO = 1u << 9,
	PB_NFQ_NO_PACKET_HDR = 1u << 10, /* leave NFQA_PACKET_HDR out */
};

/* The metadata of a queued packet, host byte order. */
struct pb_nfq {
	uint8_t family; /* NFPROTO_IPV4, NFPROTO_IPV6, ... */
	uint16_t queue;
	uint32_t id;
	uint16_t hw_protocol; /* ETH_P_IP, ETH_P_IPV6, ... */
	uint8_t hook;	      /* NF_INET_* */
	uint32_t attrs;	      /* PB_NFQ_* */
	uint32_t mark;
	uint32_t indev, outdev, physindev, physoutdev;
	uint32_t uid, gid;
	uint32_t ct_info, ct_mark, ct_status;
	uint32_t cap_len;
	uint32_t skb_info; /* NFQA_SKB_* */
};

/*
 * Metadata for a packet of the given IP version (4 or 6; family and hw_protocol follow), on
 * queue 0, hook LOCAL_IN, with this id, and no optional attributes.
 */
void pb_nfq_init(struct pb_nfq *m, int ip_version, uint32_t id);

/*
 * An NFQNL_MSG_PACKET message in buf (4-byte aligned, cap bytes): nlmsghdr, nfgenmsg, the
 * attributes in the kernel's order, and NFQA_PAYLOAD with pkt_len bytes of pkt unless pkt is
 * NULL (a metadata-only message). Returns the message's length (nlmsg_len), -EMSGSIZE when
 * pkt_len is over PB_PAYLOAD_MAX, -ENOSPC when cap is too small.
 */
int pb_nfq_msg(void *buf, size_t cap, const struct pb_nfq *m, const void *pkt, size_t pkt_len);

/*
 * Just the nlmsghdr and nfgenmsg of a packet message, for tests that add their own attributes
 * with mnl_attr_put*() (buf must have room for them). NULL when cap is too small.
 */
struct nlmsghdr *pb_nfq_begin(void *buf, size_t cap, uint8_t family, uint16_t queue);

#endif /* NFQD_TESTS_PKTBUILD_H */
