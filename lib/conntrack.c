/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
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
#include "nl.h"

/* Worst case of one request: headers, two tuples of IPv6 addresses and ports, mark, timeout. */
#define CREATE_MSG_MAX 256

/* netlink_sendmsg() refuses a message longer than the send buffer minus this. */
#define SNDBUF_SLACK 32

/* What one refusal costs in the receive buffer (skb truesize of a NETLINK_CAP_ACK error
 * message: measured 832 bytes on 6.18; the margin covers other kernels). Without
 * NETLINK_CAP_ACK (kernels before 4.3) a refusal echoes its request, up to CREATE_MSG_MAX:
 * measured 1280 bytes for a 300-byte answer; ACK_TRUESIZE_ECHO bounds it. */
#define ACK_TRUESIZE	  1024
#define ACK_TRUESIZE_ECHO 2048

struct nfqd_ct {
	struct mnl_socket *nl;
	uint32_t portid;
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

size_t nfqd_ct_sndbuf_need(unsigned int capacity)
{
	return (size_t)capacity * CREATE_MSG_MAX + SNDBUF_SLACK;
}

size_t nfqd_ct_rcvbuf_need(unsigned int capacity)
{
	return (size_t)capacity * ACK_TRUESIZE;
}

/* A buffer of at least want bytes, or -ENOBUFS. */
static int need_buf(int fd, bool rcv, size_t want)
{
	size_t got;
	int r = nfqd_sockbuf_set(fd, rcv, want, &got);

	if (r < 0)
		return r;
	return got >= want ? 0 : -ENOBUFS;
}

int nfqd_ct_open(struct nfqd_ct **out, unsigned int capacity)
{
	size_t rcvbuf_need = nfqd_ct_rcvbuf_need(capacity);
	struct nfqd_ct *ct;
	int one = 1, fd, r;

	if (capacity == 0 || capacity > NFQD_CT_CAPACITY_MAX)
		return -EINVAL;
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return -ENOMEM;
	ct->capacity = capacity;
	ct->buf = malloc((size_t)capacity * CREATE_MSG_MAX);
	if (!ct->buf) {
		r = -ENOMEM;
		goto err;
	}
	ct->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!ct->nl) {
		r = -errno;
		goto err;
	}
	fd = mnl_socket_get_fd(ct->nl);
	/* Answers to refusals carry only the header. Kernels before 4.3 lack the option and
	 * echo the request: each refusal then takes ACK_TRUESIZE_ECHO of the receive buffer. */
	if (mnl_socket_setsockopt(ct->nl, NETLINK_CAP_ACK, &one, sizeof(one)) == -1) {
		if (errno != ENOPROTOOPT) {
			r = -errno;
			goto err;
		}
		rcvbuf_need = (size_t)capacity * ACK_TRUESIZE_ECHO;
	}
	/* A batch goes in one send(), and every refusal is queued before send() returns. */
	r = need_buf(fd, false, nfqd_ct_sndbuf_need(capacity));
	if (r < 0)
		goto err;
	r = need_buf(fd, true, rcvbuf_need);
	if (r < 0)
		goto err;
	if (mnl_socket_bind(ct->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		r = -errno;
		goto err;
	}
	ct->portid = mnl_socket_get_portid(ct->nl);
	*out = ct;
	return 0;
err:
	nfqd_ct_close(ct);
	return r;
}

int nfqd_ct_fd(const struct nfqd_ct *ct)
{
	return mnl_socket_get_fd(ct->nl);
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

/* A refusal: the kernel's error; EEXIST means the tuple belongs to an entry the other way
 * round (the packet was a reply): nothing to stamp, nothing wrong. */
static int ct_ack(const struct nlmsghdr *nlh, void *data)
{
	struct nfqd_ct_replies *r = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_pid != r->portid)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(e->error))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	r->answers++;
	if (e->error && e->error != -EEXIST)
		r->refused++;
	return MNL_CB_OK;
}

int nfqd_ct_parse_replies(const void *buf, size_t len, struct nfqd_ct_replies *r)
{
	/* libmnl takes the table as non-const; it only reads it. */
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = ct_ack };
	size_t whole;

	if (!buf || !r || len > INT_MAX)
		return -EINVAL;
	/* Sequence numbers are not checked: every refusal on this socket is of a request of
	 * ours, whichever flush sent it. */
	whole = nfqd_nlmsg_whole(buf, len);
	if (mnl_cb_run2(buf, whole, 0, 0, NULL, r, ctl, NLMSG_MIN_TYPE) == MNL_CB_ERROR)
		return errno > 0 ? -errno : -EBADMSG;
	/* The kernel sends whole messages: anything else is no answer to trust. */
	return whole == len ? 0 : -EBADMSG;
}

int nfqd_ct_flush(struct nfqd_ct *ct, unsigned int *failed)
{
	char rbuf[8192] __attribute__((aligned(4)));
	struct nfqd_ct_replies rep = { .portid = ct->portid };
	unsigned int queued = ct->queued;
	int fd = mnl_socket_get_fd(ct->nl);
	int err = 0;
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
	for (;;) {
		n = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		/* Refusals lost to a full receive buffer cannot be counted: say so. */
		if (n == -1 && errno == ENOBUFS) {
			err = -ENOBUFS;
			continue;
		}
		if (n <= 0)
			break;
		/* A malformed answer is skipped: the others still count. */
		if (nfqd_ct_parse_replies(rbuf, (size_t)n, &rep) < 0)
			err = -EBADMSG;
	}
	if (failed)
		*failed = rep.refused;
	if (err < 0)
		return err;
	return rep.refused > queued ? 0 : (int)(queued - rep.refused);
}
