/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ctnetlink request that creates (or updates) a dropped flow's conntrack entry. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>

#include "nfqd/conntrack.h"

static struct nfqd_packet udp4(void)
{
	struct nfqd_packet p;

	memset(&p, 0, sizeof(p));
	p.flags = NFQD_PKT_HAS_ID | NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS;
	p.l3 = 4;
	p.l4_proto = IPPROTO_UDP;
	inet_pton(AF_INET, "192.0.2.1", &p.src.v4);
	inet_pton(AF_INET, "198.51.100.2", &p.dst.v4);
	p.sport = 40000;
	p.dport = 53;
	return p;
}

/* Collects the attributes of one nest level. */
static int collect(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= CTA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

/* Check one tuple: addresses, protocol and ports as expected. */
static void check_tuple(const struct nlattr *tuple, int family, const void *src, const void *dst,
			uint8_t proto, uint16_t sport, uint16_t dport)
{
	const struct nlattr *t[CTA_MAX + 1] = { 0 }, *ip[CTA_MAX + 1] = { 0 },
					 *pr[CTA_MAX + 1] = { 0 };
	int s = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	int d = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;
	size_t alen = family == AF_INET ? 4 : 16;

	assert_non_null(tuple);
	assert_true(mnl_attr_parse_nested(tuple, collect, t) >= 0);
	assert_true(mnl_attr_parse_nested(t[CTA_TUPLE_IP], collect, ip) >= 0);
	assert_true(mnl_attr_parse_nested(t[CTA_TUPLE_PROTO], collect, pr) >= 0);
	assert_int_equal(mnl_attr_get_payload_len(ip[s]), alen);
	assert_memory_equal(mnl_attr_get_payload(ip[s]), src, alen);
	assert_memory_equal(mnl_attr_get_payload(ip[d]), dst, alen);
	assert_int_equal(mnl_attr_get_u8(pr[CTA_PROTO_NUM]), proto);
	assert_int_equal(ntohs(mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT])), sport);
	assert_int_equal(ntohs(mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT])), dport);
}

static void test_create_request_names_the_flow_both_ways_with_mark_mask_and_timeout(void **state)
{
	struct nfqd_packet p = udp4();
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };
	const struct nlmsghdr *nlh;
	const struct nfgenmsg *nfg;
	char buf[512];
	int len;

	(void)state;
	len = nfqd_ct_put_create(buf, sizeof(buf), 7, &p, 0x04100000, 0x07f00000, 30);
	assert_true(len > 0);
	nlh = (const struct nlmsghdr *)buf;
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW);
	/* create, or update an entry that exists; no exclusivity, no ack */
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE);
	assert_int_equal(nlh->nlmsg_seq, 7);
	nfg = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nfg->nfgen_family, AF_INET);
	assert_true(mnl_attr_parse(nlh, sizeof(*nfg), collect, tb) >= 0);
	check_tuple(tb[CTA_TUPLE_ORIG], AF_INET, &p.src, &p.dst, IPPROTO_UDP, 40000, 53);
	check_tuple(tb[CTA_TUPLE_REPLY], AF_INET, &p.dst, &p.src, IPPROTO_UDP, 53, 40000);
	assert_int_equal(ntohl(mnl_attr_get_u32(tb[CTA_MARK])), 0x04100000);
	assert_int_equal(ntohl(mnl_attr_get_u32(tb[CTA_MARK_MASK])), 0x07f00000);
	assert_int_equal(ntohl(mnl_attr_get_u32(tb[CTA_TIMEOUT])), 30);
}

static void test_create_request_for_ipv6_tcp(void **state)
{
	struct nfqd_packet p = udp4();
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };
	char buf[512];

	(void)state;
	p.l3 = 6;
	p.l4_proto = IPPROTO_TCP;
	inet_pton(AF_INET6, "2001:db8::1", &p.src.v6);
	inet_pton(AF_INET6, "2001:db8::2", &p.dst.v6);
	assert_true(nfqd_ct_put_create(buf, sizeof(buf), 1, &p, 1, 1, 30) > 0);
	assert_int_equal(
		((const struct nfgenmsg *)mnl_nlmsg_get_payload((void *)buf))->nfgen_family,
		AF_INET6);
	assert_true(mnl_attr_parse((const struct nlmsghdr *)buf, sizeof(struct nfgenmsg), collect,
				   tb) >= 0);
	check_tuple(tb[CTA_TUPLE_ORIG], AF_INET6, &p.src, &p.dst, IPPROTO_TCP, 40000, 53);
}

static void test_flows_that_cannot_be_named_are_refused(void **state)
{
	struct nfqd_packet p = udp4();
	char buf[512];

	(void)state;
	p.l4_proto = IPPROTO_ICMP;
	assert_int_equal(nfqd_ct_put_create(buf, sizeof(buf), 1, &p, 1, 1, 30), -EPROTONOSUPPORT);
	p = udp4();
	p.flags &= ~NFQD_PKT_HAS_PORTS; /* a later fragment */
	assert_int_equal(nfqd_ct_put_create(buf, sizeof(buf), 1, &p, 1, 1, 30), -EPROTONOSUPPORT);
	p = udp4();
	assert_int_equal(nfqd_ct_put_create(buf, 16, 1, &p, 1, 1, 30), -ENOSPC);
}

/* ---- the answers to a flush ---- */

#define PORTID 777

struct dgram {
	union {
		uint8_t b[512];
		uint32_t align;
	};
	size_t len;
};

/* An acknowledgement as NETLINK_CAP_ACK sends it; `whole` false cuts it before its error. */
static void put_ack(struct dgram *d, uint32_t portid, int error, bool whole)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->b + d->len);

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_pid = portid;
	if (whole)
		((struct nlmsgerr *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct nlmsgerr)))
			->error = error;
	d->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void test_replies_count_refusals_but_not_eexist_nor_another_sockets(void **state)
{
	struct dgram d = { .len = 0 };
	struct nfqd_ct_replies r = { .portid = PORTID };

	(void)state;
	put_ack(&d, PORTID, -EPERM, true);
	put_ack(&d, PORTID, -EEXIST, true);
	put_ack(&d, PORTID, 0, true);
	put_ack(&d, PORTID + 1, -EPERM, true);
	assert_int_equal(nfqd_ct_parse_replies(d.b, d.len, &r), 0);
	assert_int_equal(r.answers, 3);
	assert_int_equal(r.refused, 1);
}

/* An NLMSG_ERROR of 16 bytes holds no error: it is refused, not read beyond its length. */
static void test_a_short_error_message_is_ebadmsg_and_those_before_it_count(void **state)
{
	struct dgram d = { .len = 0 };
	struct nfqd_ct_replies r = { .portid = PORTID };

	(void)state;
	put_ack(&d, PORTID, -EPERM, true);
	put_ack(&d, PORTID, 0, false);
	/* what follows the short message in the datagram looks like a refusal */
	*(int32_t *)(d.b + d.len) = -EPERM;
	assert_int_equal(nfqd_ct_parse_replies(d.b, d.len, &r), -EBADMSG);
	assert_int_equal(r.answers, 1);
	assert_int_equal(r.refused, 1);

	/* alone, and cut short of its own header */
	memset(&r, 0, sizeof(r));
	r.portid = PORTID;
	assert_int_equal(nfqd_ct_parse_replies(d.b + NLMSG_ALIGN(36), 16, &r), -EBADMSG);
	assert_int_equal(nfqd_ct_parse_replies(d.b, 10, &r), -EBADMSG);
	assert_int_equal(r.answers, 0);

	/* a length of 2^31 or more, which libmnl 1.0.4 takes for a negative one and walks out
	 * of the buffer with: the message is refused, the one before it counted */
	memset(&d, 0, sizeof(d));
	memset(&r, 0, sizeof(r));
	r.portid = PORTID;
	put_ack(&d, PORTID, -EPERM, true);
	put_ack(&d, PORTID, -EPERM, true);
	((struct nlmsghdr *)(d.b + NLMSG_ALIGN(36)))->nlmsg_len = 0xfe000000u;
	assert_int_equal(nfqd_ct_parse_replies(d.b, d.len, &r), -EBADMSG);
	assert_int_equal(r.answers, 1);
}

/* ---- the socket's buffers ---- */

static int sockopt(int fd, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, opt, &v, &len), 0);
	return v;
}

static void test_a_batch_of_1024_gets_buffers_for_its_requests_and_refusals(void **state)
{
	struct nfqd_ct *ct;
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_true(nfqd_ct_sndbuf_need(1024) >= 256 * 1024);
	assert_int_equal(nfqd_ct_open(&ct, 1024), 0);
	fd = nfqd_ct_fd(ct);
	if ((size_t)sockopt(fd, SO_SNDBUF) < nfqd_ct_sndbuf_need(1024) ||
	    (size_t)sockopt(fd, SO_RCVBUF) < nfqd_ct_rcvbuf_need(1024))
		fail_msg("buffers %d/%d, need %zu/%zu", sockopt(fd, SO_SNDBUF),
			 sockopt(fd, SO_RCVBUF), nfqd_ct_sndbuf_need(1024),
			 nfqd_ct_rcvbuf_need(1024));
	nfqd_ct_close(ct);
	assert_int_equal(nfqd_ct_open(&ct, 0), -EINVAL);
	assert_int_equal(nfqd_ct_open(&ct, NFQD_CT_CAPACITY_MAX + 1), -EINVAL);
}

static unsigned long sysctl_ul(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "re");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu", &v), 1);
	fclose(f);
	return v;
}

/*
 * Without CAP_NET_ADMIN the forced options are refused and the plain ones capped by
 * net.core.rmem_max: a batch whose refusals would not fit is refused with -ENOBUFS, where the
 * socket used to open with a buffer too small for it.
 */
static void test_without_cap_net_admin_a_buffer_too_small_is_enobufs(void **state)
{
	unsigned int cap = NFQD_CT_CAPACITY_MAX;
	int expect, st = 0;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	/* the kernel doubles what it is given, up to twice the sysctl */
	expect = 2 * sysctl_ul("/proc/sys/net/core/rmem_max") >= nfqd_ct_rcvbuf_need(cap) &&
				 2 * sysctl_ul("/proc/sys/net/core/wmem_max") >=
					 nfqd_ct_sndbuf_need(cap)
			 ? 0
			 : ENOBUFS;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nfqd_ct *ct = NULL;
		int r;

		/* leaving root drops every capability */
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(100);
		r = nfqd_ct_open(&ct, cap);
		nfqd_ct_close(ct);
		_exit(-r);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_create_request_names_the_flow_both_ways_with_mark_mask_and_timeout),
		cmocka_unit_test(test_create_request_for_ipv6_tcp),
		cmocka_unit_test(test_flows_that_cannot_be_named_are_refused),
		cmocka_unit_test(test_replies_count_refusals_but_not_eexist_nor_another_sockets),
		cmocka_unit_test(test_a_short_error_message_is_ebadmsg_and_those_before_it_count),
		cmocka_unit_test(test_a_batch_of_1024_gets_buffers_for_its_requests_and_refusals),
		cmocka_unit_test(test_without_cap_net_admin_a_buffer_too_small_is_enobufs),
	};

	return cmocka_run_group_tests_name("conntrack requests", tests, NULL, NULL);
}
