/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet view: one queued packet, parsed in place.
 *
 * A view points into the buffer the message was received in; nothing is copied and nothing is
 * allocated. Every read is bounds-checked against what was actually received, so a truncated,
 * malformed or hostile packet yields a view with fewer facts, never an out-of-bounds read.
 * Each fact that may be unknown has a NFQD_PKT_HAS_* flag; a match on an unknown fact does not
 * match (as in iptables, where --dport does not match a non-first fragment).
 */
#ifndef NFQD_PACKET_H
#define NFQD_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct nlmsghdr;
struct nlattr;

/* An IPv4 or IPv6 address in network byte order. IPv4 uses the first four bytes, rest zero. */
union nfqd_addr {
	struct in_addr v4;
	struct in6_addr v6;
	uint8_t b[16];
	uint32_t w[4];
};

/* A side of a packet: where an address, a port or a set element's dimension is taken from. */
enum nfqd_dir {
	NFQD_DIR_SRC = 1,
	NFQD_DIR_DST = 2,
};

/* Facts known about the packet, and what went wrong while learning them (nfqd_packet.flags). */
enum nfqd_packet_flag {
	/* nfqueue metadata */
	NFQD_PKT_HAS_ID = 1u << 0,	  /* id is valid: the packet can get a verdict */
	NFQD_PKT_HAS_MARK = 1u << 1,	  /* NFQA_MARK present (the kernel omits a zero mark) */
	NFQD_PKT_HAS_UIDGID = 1u << 2,	  /* uid and gid valid */
	NFQD_PKT_HAS_PAYLOAD = 1u << 3,	  /* payload/payload_len valid (may be partial) */
	NFQD_PKT_GSO = 1u << 4,		  /* NFQA_SKB_INFO says GSO: payload may be up to 64 KiB */
	NFQD_PKT_MSG_TRUNC = 1u << 5,	  /* the message was cut by the receive buffer */
	NFQD_PKT_PAYLOAD_TRUNC = 1u << 6, /* payload shorter than the packet (copy range or cut) */
	NFQD_PKT_BAD_ATTR = 1u << 7,	  /* an nfqueue attribute was malformed and ignored */

	/* L3 */
	NFQD_PKT_HAS_L3 = 1u << 8,	/* l3 (4 or 6), src and dst valid */
	NFQD_PKT_HAS_PROTO = 1u << 9,	/* l4_proto valid (after IPv6 extension headers) */
	NFQD_PKT_FRAGMENT = 1u << 10,	/* the packet is a fragment (first or later) */
	NFQD_PKT_FRAG_LATER = 1u << 11, /* a non-first fragment: it carries no L4 header */
	NFQD_PKT_BAD_L3 = 1u << 12,	/* malformed IP header or extension header chain */
	NFQD_PKT_TRUNC_L3 = 1u << 13,	/* IP header or extension chain cut short */

	/* more nfqueue metadata */
	NFQD_PKT_HAS_HWADDR = 1u << 14, /* hwaddr/hwaddr_len valid (NFQA_HWADDR: source MAC) */
	NFQD_PKT_HAS_CTMARK = 1u << 15, /* ct_mark valid: the connmark (from NFQA_CT, or set by
					   the caller from a mark the generated rules restored) */

	/* L4 */
	NFQD_PKT_HAS_PORTS = 1u << 16, /* sport and dport valid (tcp, udp, udplite, sctp, dccp) */
	NFQD_PKT_HAS_ICMP = 1u << 17,  /* icmp_type and icmp_code valid (icmp, icmpv6) */
	NFQD_PKT_HAS_TCP_FLAGS = 1u << 18, /* tcp_flags valid */
	NFQD_PKT_BAD_L4 = 1u << 19,	   /* malformed L4 header (e.g. TCP data offset < 5) */
	NFQD_PKT_TRUNC_L4 = 1u << 20,	   /* L4 header cut short */

	/* the transport header cannot be located or its fixed part read whole: see below */
	NFQD_PKT_UNREADABLE = 1u << 21,
};

/*
 * Why a packet is unreadable (nfqd_packet.unreadable, with NFQD_PKT_UNREADABLE set); the value
 * the reason is about is in nfqd_packet.unreadable_val. A packet is unreadable when nfqd cannot
 * locate its transport header and read its fixed part whole from the bytes received: its IP
 * header is cut short or malformed, its IPv6 extension header chain runs past the bytes received
 * or past the packet, or its protocol is one whose header is read (TCP, UDP, UDP-Lite, SCTP,
 * DCCP, ICMP over IPv4, ICMPv6 over IPv6) and the fixed header (TCP 20 bytes, UDP and UDP-Lite 8,
 * SCTP 12, DCCP 12, ICMP and ICMPv6 8) is not whole in what was received, or lies (TCP data
 * offset below 5 or a TCP header past the packet's end, a UDP length of 1 to 7). TCP options cut
 * by the copy range are not: the fixed 20 bytes are what is read. A non-first fragment carries no
 * transport header by nature and a protocol whose header is not read has none to read: neither
 * is unreadable.
 */
enum nfqd_unreadable {
	NFQD_UNREADABLE_NONE,
	NFQD_UNREADABLE_NO_PAYLOAD,    /* the message carries no packet data */
	NFQD_UNREADABLE_IP_VERSION,    /* val: the version nibble, neither 4 nor 6 */
	NFQD_UNREADABLE_IP_CUT,	       /* val: 4 or 6; fixed IP header cut short by the capture */
	NFQD_UNREADABLE_IP_SHORT,      /* val: 4 or 6; the packet is shorter than its IP header */
	NFQD_UNREADABLE_IP_IHL,	       /* val: the IPv4 header length in bytes, below 20 */
	NFQD_UNREADABLE_IP_LENGTH,     /* val: the IPv4 total length: below the header, or more
					  than the packet holds */
	NFQD_UNREADABLE_IPV6_LENGTH,   /* val: the IPv6 payload length, beyond the packet */
	NFQD_UNREADABLE_IPV4_OPTS_CUT, /* val: IPv4 header length; options cut by the capture */
	NFQD_UNREADABLE_EXT_CUT,       /* val: 1 when the capture cut the IPv6 extension header
					  chain, 0 when it goes on past a first fragment's end */
	NFQD_UNREADABLE_EXT_BAD,       /* an IPv6 extension header runs past the packet's end */
	NFQD_UNREADABLE_L4_CUT,	       /* l4_proto's fixed header cut short by the capture */
	NFQD_UNREADABLE_L4_SHORT,      /* l4_proto's header runs past the packet's end */
	NFQD_UNREADABLE_TCP_DOFF,      /* val: the TCP data offset, below 5 */
	NFQD_UNREADABLE_UDP_LEN,       /* val: the UDP (UDP-Lite) length field, 1 to 7 */
	NFQD_UNREADABLE_MAX,
};

/* Any of these flags means the packet was not what its headers claim: counted as malformed. */
#define NFQD_PKT_MALFORMED (NFQD_PKT_BAD_ATTR | NFQD_PKT_BAD_L3 | NFQD_PKT_BAD_L4)

/*
 * The view. Fields are valid only where the matching NFQD_PKT_HAS_* flag is set; otherwise they
 * are zero. Multi-byte fields are in host byte order, addresses in network byte order.
 */
struct nfqd_packet {
	uint32_t flags; /* enum nfqd_packet_flag */

	/* from the nfqueue message */
	uint32_t id;	      /* packet id, for the verdict */
	uint16_t queue;	      /* queue number (nfgenmsg res_id) */
	uint8_t family;	      /* nfgenmsg family: NFPROTO_IPV4, NFPROTO_IPV6, ... */
	uint8_t hook;	      /* netfilter hook */
	uint16_t hw_protocol; /* ethertype of the packet */
	uint32_t mark;	      /* packet mark (0 when absent) */
	uint32_t indev;	      /* input ifindex, 0 when absent */
	uint32_t outdev;      /* output ifindex, 0 when absent */
	uint32_t physindev;   /* bridge port ifindexes, 0 when absent */
	uint32_t physoutdev;
	uint32_t skb_info;	 /* NFQA_SKB_INFO flags */
	uint32_t uid, gid;	 /* socket owner, with NFQD_PKT_HAS_UIDGID */
	uint32_t ct_info;	 /* NFQA_CT_INFO, valid when ct != NULL */
	const struct nlattr *ct; /* NFQA_CT nest (conntrack), or NULL */
	uint32_t ct_mark;  /* the connmark, with NFQD_PKT_HAS_CTMARK (CTA_MARK; 0 if absent) */
	uint8_t hwaddr[8]; /* source hardware address, with NFQD_PKT_HAS_HWADDR */
	uint8_t hwaddr_len;
	const uint8_t *payload; /* the packet from its IP header, payload_len bytes of it */
	uint32_t payload_len;
	uint32_t packet_len; /* the packet's full length (NFQA_CAP_LEN, else the length the
			      * payload attribute claims, even if the read cut it; 0 without one) */

	/* L3 */
	uint8_t l3;	    /* 4 or 6 with NFQD_PKT_HAS_L3, else 0 */
	uint8_t l4_proto;   /* IPPROTO_* with NFQD_PKT_HAS_PROTO */
	uint16_t l3_hdrlen; /* bytes from the IP header to the L4 header (options, ext headers);
			     * 0 when the IP headers are cut short or malformed */
	uint16_t frag_off;  /* fragment offset in bytes, with NFQD_PKT_FRAGMENT */
	uint8_t ttl;	    /* TTL or hop limit, with NFQD_PKT_HAS_L3 */
	union nfqd_addr src;
	union nfqd_addr dst;

	/* L4 */
	uint16_t sport, dport; /* with NFQD_PKT_HAS_PORTS */
	uint8_t icmp_type;     /* with NFQD_PKT_HAS_ICMP */
	uint8_t icmp_code;
	uint8_t tcp_flags; /* with NFQD_PKT_HAS_TCP_FLAGS: FIN 0x01 ... CWR 0x80 */
	const uint8_t *l4; /* start of the L4 header inside payload, or NULL */
	uint32_t l4_len;   /* bytes available from l4 to the end of what was received */

	uint8_t unreadable;	 /* enum nfqd_unreadable, with NFQD_PKT_UNREADABLE, else 0 */
	uint16_t unreadable_val; /* the value the reason is about (see enum nfqd_unreadable) */
};

/*
 * Parse one nfnetlink_queue NFQNL_MSG_PACKET message into *pkt (fully overwritten).
 *
 * nlh points at the message, avail is how many bytes of it were received: it may be less than
 * nlh->nlmsg_len when the read was truncated (MSG_TRUNC), and then NFQD_PKT_MSG_TRUNC is set and
 * a payload attribute cut short is used as far as it goes. Attributes after a malformed one are
 * not trusted. The IP packet in NFQA_PAYLOAD is parsed with nfqd_packet_parse_ip(); a message
 * without one is unreadable (NFQD_UNREADABLE_NO_PAYLOAD).
 *
 * Returns 0 when the packet id was read (NFQD_PKT_HAS_ID: the packet can and must get a
 * verdict), -EBADMSG when the message is not a packet message or its id cannot be read.
 * The view points into the message; it is valid as long as the buffer is.
 */
int nfqd_packet_parse(struct nfqd_packet *pkt, const struct nlmsghdr *nlh, size_t avail);

/*
 * Parse an IP packet (IPv4 or IPv6, told apart by the version nibble) into the L3/L4 fields of
 * *pkt; the nfqueue fields and the NFQD_PKT_* metadata flags are left as they are, the L3/L4
 * fields and flags are reset first.
 *
 * data/len are the bytes available; packet_len is the packet's real length (len when the whole
 * packet is there, more when it was truncated by the copy range). Headers are read only within
 * len: IPv4 options, IPv6 extension header chains (hop-by-hop, routing, fragment, destination
 * options, AH, mobility, HIP, shim6; all of them: each is at least 8 bytes, so the walk ends
 * within len), fragments (only the first carries ports),
 * TCP, UDP, UDP-Lite, SCTP, DCCP ports, ICMP and ICMPv6 type and code, TCP flags.
 *
 * A header that runs past len is told apart by packet_len: when the packet is longer than what
 * was received (the copy range cut it), the header is cut short (NFQD_PKT_TRUNC_L3/_L4) and the
 * facts already read are kept; when the packet itself, or the length its IP header gives, ends
 * before the header does, the header is malformed (NFQD_PKT_BAD_L3/_L4) and its facts are
 * withheld (those of the headers before it are kept). An IP length beyond packet_len is
 * malformed too. A first fragment may end inside a header without being malformed. The
 * NFQD_PKT_GSO flag already in pkt->flags allows an IPv4 total length of 0 (big TCP).
 *
 * Whether the packet is unreadable (NFQD_PKT_UNREADABLE, enum nfqd_unreadable) is decided here
 * too, from the same checks.
 */
void nfqd_packet_parse_ip(struct nfqd_packet *pkt, const uint8_t *data, size_t len,
			  size_t packet_len);

/*
 * Write why the packet is unreadable in words into buf ("UDP header cut short", "TCP data offset
 * 4", "IPv6 extension headers past the copy range"), always NUL-terminated when size > 0.
 * Returns the length of the full text (as snprintf), or -EINVAL when the packet is not
 * unreadable.
 */
int nfqd_packet_unreadable_text(const struct nfqd_packet *pkt, char *buf, size_t size);

#endif /* NFQD_PACKET_H */
