/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the binary seed corpora of the harnesses (tests/fuzz/corpus/{packet,ifwatch}/) from
 * the test packet builder, so that they can be made again when an input format changes:
 *
 *	fuzz-seeds tests/fuzz/corpus
 *
 * The text corpora (rules, config, proc) are written by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "pktbuild.h"

static const char *dir;

static void put(const char *sub, const char *name, const void *a, size_t alen, const void *b,
		size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "we");
	if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
	    fclose(f) != 0) {
		fprintf(stderr, "fuzz-seeds: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* A packet seed: the harness's 4-byte header, the ops, then the packet or message. */
static void packet_seed(const char *name, uint8_t mode, uint8_t answers, const uint8_t *ops,
			unsigned int nops, const void *bytes, size_t len)
{
	uint8_t head[4 + 15] = { mode, answers, (uint8_t)nops, 0x42 };

	memcpy(head + 4, ops, nops);
	put("packet", name, head, 4 + nops, bytes, len);
}

static int build(uint8_t *buf, size_t cap, int kind)
{
	struct pb pb;

	pb_init(&pb, buf, cap);
	switch (kind) {
	case 0:
		pb_ipv4(&pb, "192.0.2.1", "198.51.100.7", 64);
		pb_tcp(&pb, 40000, 22, PB_TCP_SYN);
		break;
	case 1:
		pb_ipv4(&pb, "10.0.0.1", "10.0.0.2", 64);
		pb_udp(&pb, 17, 53, 5353);
		pb_data(&pb, NULL, 16);
		break;
	case 2:
		pb_ipv6(&pb, "2001:db8::1", "2001:db8::2", 64);
		pb_ipv6_ext(&pb, 0, 8);
		pb_ipv6_frag(&pb, 0, true, 7);
		pb_udp(&pb, 136, 1000, 2000);
		break;
	case 3:
		pb_ipv4(&pb, "192.0.2.9", "192.0.2.10", 1);
		pb_icmp(&pb, 8, 0);
		break;
	case 4:
		pb_ipv6(&pb, "::1", "::1", 255);
		pb_ah(&pb, 12, 1);
		pb_sctp(&pb, 1500, 1501, 9);
		break;
	case 5:
		pb_ipv4(&pb, "203.0.113.5", "203.0.113.6", 64);
		pb_ipv4_options(&pb, "\x94\x04\x00\x00", 4);
		pb_ipv4_frag(&pb, 8, false);
		pb_data(&pb, NULL, 8);
		break;
	default:
		pb_ipv6(&pb, "fe80::1", "ff02::1", 1);
		pb_dccp(&pb, 5000, 5001);
		break;
	}
	return pb_finish(&pb);
}

static void packets(void)
{
	static const uint8_t ops[][15] = {
		{ 0x01, 0x01, 0x02, 0x11 },
		{ 0x21, 0x41, 0x09, 0x01, 0x61, 0x12 },
		{ 0x00, 0x00, 0x01, 0x88, 0x01, 0x13, 0x21, 0x21, 0x21 },
	};
	uint8_t pkt[PB_PKT_MAX], msg[PB_PKT_MAX + 512];
	char name[64];

	for (int kind = 0; kind < 7; kind++) {
		int len = build(pkt, sizeof(pkt), kind);
		struct pb_nfq m;
		int mlen;

		if (len < 0) {
			fprintf(stderr, "fuzz-seeds: packet %d: %s\n", kind, strerror(-len));
			exit(1);
		}
		snprintf(name, sizeof(name), "ip-%d", kind);
		packet_seed(name, 0x01 | 0x02 | (uint8_t)(kind << 3), 0x31, ops[kind % 3],
			    4 + kind % 3, pkt, (size_t)len);
		pb_nfq_init(&m, (pkt[0] >> 4) == 6 ? 6 : 4, 100 + (uint32_t)kind);
		m.attrs = PB_NFQ_MARK | PB_NFQ_INDEV | PB_NFQ_UID | PB_NFQ_GID | PB_NFQ_CAP_LEN |
			  (kind & 1 ? PB_NFQ_CT | PB_NFQ_SKB_INFO : PB_NFQ_OUTDEV);
		m.mark = 0x105;
		m.indev = 1;
		m.outdev = 2;
		m.ct_mark = 0x5;
		m.cap_len = (uint32_t)len + (kind == 2 ? 100 : 0);
		mlen = pb_nfq_msg(msg, sizeof(msg), &m, pkt, (size_t)len);
		if (mlen < 0) {
			fprintf(stderr, "fuzz-seeds: message %d: %s\n", kind, strerror(-mlen));
			exit(1);
		}
		snprintf(name, sizeof(name), "msg-%d", kind);
		packet_seed(name, (uint8_t)(kind & 1 ? 0x02 : 0), (uint8_t)(0x0f << (kind & 4)),
			    ops[(kind + 1) % 3], 4 + (kind + 1) % 3, msg, (size_t)mlen);
	}
}

/* RTM_NEWLINK / RTM_DELLINK messages as the kernel sends them, one or two per read. */
static size_t link_msg(uint8_t *buf, uint16_t type, int index, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = index;
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, 6);
	return nlh->nlmsg_len;
}

static void links(void)
{
	uint8_t buf[1024] __attribute__((aligned(4)));
	size_t n;

	memset(buf, 0, sizeof(buf));
	n = link_msg(buf, RTM_NEWLINK, 3, "eth1");
	put("ifwatch", "newlink", buf, n, NULL, 0);
	n = link_msg(buf, RTM_DELLINK, 3, "eth1");
	put("ifwatch", "dellink", buf, n, NULL, 0);
	n = link_msg(buf, RTM_NEWLINK, 4, "veth-fz0");
	n += link_msg(buf + n, RTM_NEWLINK, 5, NULL);
	put("ifwatch", "two", buf, n, NULL, 0);
	n = link_msg(buf, RTM_NEWADDR, 1, "lo");
	n += link_msg(buf + n, RTM_DELLINK, 9, "renamed");
	put("ifwatch", "other-type", buf, n, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds CORPUS_DIR\n");
		return 2;
	}
	dir = argv[1];
	packets();
	links();
	return 0;
}
