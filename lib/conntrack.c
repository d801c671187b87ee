/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>

#include "nfqd/conntrack.h"

/* Worst case of one request: headers, two tuples of IPv6 addresses and ports, mark, timeout. */
#define CREATE_MSG_MAX 256

struct nfqd_ct {
	struct mnl_socket *nl;
	char *buf;
	size_t used;
	unsigned int capacity;
	unsigned int queued;
	uint32_t seq;
};

static bool ports_proto(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP;
}

static void put_tuple(struct nlmsghdr *nlh, int type, const struct nfqd_packet *pkt, bool reply)
{
	const union nfqd_addr *src = reply ? &pkt->dst : &pkt->src;
	const union nfqd_addr *dst = reply ? &pkt->src : &pkt->dst;
	uint16_t sport = reply ? pkt->dport : pkt->sport;
	uint16_t dport = reply ? pkt->sport : pkt->dport;
	struct nlattr *tuple, *ip, *proto;

	tuple = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (pkt->l3 == 4) {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, src->b);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, dst->b);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, src->b);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, dst->b);
	}
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, pkt->l4_proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tuple);
}

int nfqd_ct_put_create(void *buf, size_t len, uint32_t seq, const struct nfqd_packet *pkt,
		       uint32_t mark, uint32_t mark_mask, uint32_t timeout)
{
	const uint32_t need = NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if ((pkt->flags & need) != need || !ports_proto(pkt->l4_proto))
		return -EPROTONOSUPPORT;
	if (len < CREATE_MSG_MAX)
		return -ENOSPC;
	/* libmnl leaves attribute padding unwritten: no stale bytes go to the kernel */
	memset(buf, 0, CREATE_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	/* Create, or update the connmark of an entry that exists (a flow accepted before and
	 * dropped now). Without NLM_F_ACK the kernel answers only refusals. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = pkt->l3 == 4 ? AF_INET : AF_INET6;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	put_tuple(nlh, CTA_TUPLE_ORIG, pkt, false);
	put_tuple(nlh, CTA_TUPLE_REPLY, pkt, true);
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(timeout));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(mark_mask));
	return (int)nlh->nlmsg_len;
}

int nfqd_ct_open(struct nfqd_ct **out, unsigned int capacity)
{
	struct nfqd_ct *ct;
	int one = 1, size, r;

	if (capacity == 0)
		return -EINVAL;
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return -ENOMEM;
	ct->capacity = capacity;
	ct->buf = malloc((size_t)capacity * CREATE_MSG_MAX);
	ct->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!ct->buf || !ct->nl) {
		r = ct->buf ? -errno : -ENOMEM;
		goto err;
	}
	/* answers to refusals carry only the header */
	mnl_socket_setsockopt(ct->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	size = (int)(capacity * CREATE_MSG_MAX + 4096);
	if (setsockopt(mnl_socket_get_fd(ct->nl), SOL_SOCKET, SO_SNDBUFFORCE, &size,
		       sizeof(size)) == -1)
		setsockopt(mnl_socket_get_fd(ct->nl), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (mnl_socket_bind(ct->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		r = -errno;
		goto err;
	}
	*out = ct;
	return 0;
err:
	nfqd_ct_close(ct);
	return r;
}

void nfqd_ct_close(struct nfqd_ct *ct)
{
	if (!ct)
		return;
	if (ct->nl)
		mnl_socket_close(ct->nl);
	free(ct->buf);
	free(ct);
}

int nfqd_ct_add(struct nfqd_ct *ct, const struct nfqd_packet *pkt, uint32_t mark,
		uint32_t mark_mask, uint32_t timeout)
{
	int r;

	if (ct->queued == ct->capacity)
		return -ENOSPC;
	r = nfqd_ct_put_create(ct->buf + ct->used, CREATE_MSG_MAX, ++ct->seq, pkt, mark, mark_mask,
			       timeout);
	if (r < 0)
		return r;
	ct->used += (size_t)r;
	ct->queued++;
	return 0;
}

int nfqd_ct_flush(struct nfqd_ct *ct, unsigned int *failed)
{
	char rbuf[8192];
	unsigned int refused = 0, queued = ct->queued;
	int fd = mnl_socket_get_fd(ct->nl);
	ssize_t n;

	if (failed)
		*failed = 0;
	if (queued == 0)
		return 0;
	n = send(fd, ct->buf, ct->used, 0);
	ct->used = 0;
	ct->queued = 0;
	if (n == -1)
		return -errno;
	while ((n = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rbuf;
		int len = (int)n;

		while (mnl_nlmsg_ok(nlh, len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				/* EEXIST: the tuple belongs to an entry the other way round (the
				 * packet was a reply): nothing to stamp, nothing wrong */
				if (e->error && e->error != -EEXIST)
					refused++;
			}
			nlh = mnl_nlmsg_next(nlh, &len);
		}
	}
	if (failed)
		*failed = refused;
	return (int)(queued - refused);
}
