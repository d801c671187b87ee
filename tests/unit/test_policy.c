/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the policy: rule parsing, error messages, canonical text, limits and evaluation
 * against packet views built here (not by the packet parser).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <nfqd/packet.h>
#include <nfqd/policy.h>

/* the compiled form, for the tests of the rule guard */
#include "policy-internal.h"

#include <linux/netfilter.h>

#define L3  (NFQD_PKT_HAS_ID | NFQD_PKT_HAS_PAYLOAD | NFQD_PKT_HAS_L3)
#define L3P (L3 | NFQD_PKT_HAS_PROTO)
#define L4  (L3P | NFQD_PKT_HAS_PORTS)

/* A view as the packet parser would leave it: fields without their flag are zero. */
static struct nfqd_packet make_pkt(uint32_t flags, const char *src, const char *dst, uint8_t proto,
				   uint16_t sport, uint16_t dport)
{
	struct nfqd_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.flags = flags;
	if (flags & NFQD_PKT_HAS_L3) {
		int af = strchr(src, ':') ? AF_INET6 : AF_INET;

		pkt.l3 = af == AF_INET ? 4 : 6;
		assert_int_equal(inet_pton(af, src, &pkt.src), 1);
		assert_int_equal(inet_pton(af, dst, &pkt.dst), 1);
	}
	if (flags & NFQD_PKT_HAS_PROTO)
		pkt.l4_proto = proto;
	if (flags & NFQD_PKT_HAS_PORTS) {
		pkt.sport = sport;
		pkt.dport = dport;
	}
	return pkt;
}

static struct nfqd_packet tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	return make_pkt(L4, src, dst, IPPROTO_TCP, sport, dport);
}

static struct nfqd_packet udp(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	return make_pkt(L4, src, dst, IPPROTO_UDP, sport, dport);
}

static struct nfqd_policy *new_policy(void)
{
	struct nfqd_policy *p = NULL;

	assert_int_equal(nfqd_policy_new(&p), 0);
	assert_non_null(p);
	return p;
}

static void add(struct nfqd_policy *p, const char *text)
{
	struct nfqd_policy_error err;
	int r = nfqd_policy_add_rule(p, text, &err);

	if (r != 0)
		fail_msg("rule '%s': %d %s (word %u)", text, r, err.msg, err.word);
}

/* Whether a one-rule policy "drop TERMS" (default accept) matches the packet. */
static bool matches(const char *terms, const struct nfqd_packet *pkt)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_decision d = { .verdict = 99, .rule = 99 };
	char text[512];

	snprintf(text, sizeof(text), "drop %s", terms);
	add(p, text);
	nfqd_policy_eval(p, pkt, NULL, &d);
	nfqd_policy_free(p);
	if (d.rule == 0) {
		assert_int_equal(d.verdict, NF_DROP);
		return true;
	}
	assert_int_equal(d.rule, -1);
	assert_int_equal(d.verdict, NF_ACCEPT);
	return false;
}

static void assert_match(const char *terms, const struct nfqd_packet *pkt, bool expect)
{
	if (matches(terms, pkt) != expect)
		fail_msg("'%s' should %smatch", terms, expect ? "" : "not ");
}

/* The canonical text of a rule. */
static char *canonical(const char *text)
{
	struct nfqd_policy *p = new_policy();
	char *s;

	add(p, text);
	s = strdup(nfqd_policy_rule_text(p, 0));
	assert_non_null(s);
	nfqd_policy_free(p);
	return s;
}

static void assert_canonical(const char *text, const char *expect)
{
	char *s = canonical(text);

	assert_string_equal(s, expect);
	free(s);
}

/*
 * Adding text to a policy holding one rule fails with ret, the message and the word; the policy
 * is as it was.
 */
static void assert_rule_error(const char *text, int ret, unsigned int word, const char *msg)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_policy_error err;
	struct nfqd_packet pkt = tcp("192.0.2.1", "198.51.100.1", 1234, 22);
	struct nfqd_policy_marks m;
	struct nfqd_decision d;
	int r;

	add(p, "accept proto tcp dport 22");
	assert_int_equal(nfqd_policy_set_default(p, NF_DROP), 0);
	memset(&err, 0x55, sizeof(err));
	r = nfqd_policy_add_rule(p, text, &err);
	if (r != ret || err.word != word || strcmp(err.msg, msg) != 0)
		fail_msg("rule '%s':\n got %d word %u '%s'\nwant %d word %u '%s'",
			 text ? text : "(null)", r, err.word, err.msg, ret, word, msg);
	assert_int_equal(nfqd_policy_rule_count(p), 1);
	assert_string_equal(nfqd_policy_rule_text(p, 0), "accept proto tcp dport 22");
	assert_null(nfqd_policy_rule_text(p, 1));
	assert_int_equal(nfqd_policy_default(p), NF_DROP);
	/* nothing a refused rule named stays in the policy's tables */
	assert_int_equal(nfqd_policy_lookup_count(p), 0);
	assert_int_equal(nfqd_policy_iface_count(p), 0);
	nfqd_policy_marks(p, &m);
	assert_int_equal(m.meta_mask | m.ct_mask | m.set_mask, 0);
	assert_int_equal(m.meta_rule & m.ct_rule & m.set_rule, -1);
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, 0);
	pkt.dport = 23;
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, -1);
	assert_int_equal(d.verdict, NF_DROP);
	nfqd_policy_free(p);
}

static void test_new_policy_is_empty_and_accepts_by_default(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("192.0.2.1", "198.51.100.1", 1, 2);
	struct nfqd_decision d;

	(void)state;
	assert_int_equal(nfqd_policy_rule_count(p), 0);
	assert_int_equal(nfqd_policy_default(p), NF_ACCEPT);
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.verdict, NF_ACCEPT);
	assert_int_equal(d.rule, -1);
	nfqd_policy_free(p);
	nfqd_policy_free(NULL);
}

static void test_default_verdict_is_settable_and_used_when_no_rule_matches(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("192.0.2.1", "198.51.100.1", 1, 2);
	struct nfqd_decision d;

	(void)state;
	add(p, "accept dport 22");
	assert_int_equal(nfqd_policy_set_default(p, NF_DROP), 0);
	assert_int_equal(nfqd_policy_default(p), NF_DROP);
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.verdict, NF_DROP);
	assert_int_equal(d.rule, -1);

	assert_int_equal(nfqd_policy_set_default(p, NF_ACCEPT), 0);
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.verdict, NF_ACCEPT);
	assert_int_equal(d.rule, -1);

	/* only accept and drop are verdicts a policy gives */
	assert_int_equal(nfqd_policy_set_default(p, NF_QUEUE), -EINVAL);
	assert_int_equal(nfqd_policy_set_default(p, 0x12345678), -EINVAL);
	assert_int_equal(nfqd_policy_default(p), NF_ACCEPT);
	nfqd_policy_free(p);
}

static void test_parse_verdict_knows_accept_and_drop_only(void **state)
{
	struct nfqd_policy_error err;
	uint32_t v = 77;

	(void)state;
	assert_int_equal(nfqd_policy_parse_verdict("accept", &v, &err), 0);
	assert_int_equal(v, NF_ACCEPT);
	assert_int_equal(nfqd_policy_parse_verdict("drop", &v, NULL), 0);
	assert_int_equal(v, NF_DROP);

	v = 77;
	assert_int_equal(nfqd_policy_parse_verdict("dorp", &v, &err), -EINVAL);
	assert_string_equal(err.msg, "unknown verdict 'dorp'");
	assert_int_equal(err.word, 0);
	assert_int_equal(v, 77);
	assert_int_equal(nfqd_policy_parse_verdict("ACCEPT", &v, &err), -EINVAL);
	assert_string_equal(err.msg, "unknown verdict 'ACCEPT'");
	assert_int_equal(nfqd_policy_parse_verdict("accept ", &v, &err), -EINVAL);
	assert_string_equal(err.msg, "unknown verdict 'accept '");
	assert_int_equal(nfqd_policy_parse_verdict("", &v, &err), -EINVAL);
	assert_string_equal(err.msg, "missing verdict: expected accept or drop");
	assert_int_equal(nfqd_policy_parse_verdict(NULL, &v, &err), -EINVAL);
	assert_string_equal(err.msg, "missing verdict: expected accept or drop");
	assert_int_equal(nfqd_policy_parse_verdict("queue", &v, NULL), -EINVAL);
	assert_int_equal(v, 77);
}

static void test_proto_matches_each_name_and_number_and_misses_others(void **state)
{
	static const struct {
		const char *word;
		uint8_t num;
	} protos[] = {
		{ "tcp", 6 },	     { "udp", 17 },	 { "icmp", 1 },	  { "icmpv6", 58 },
		{ "ipv6-icmp", 58 }, { "udplite", 136 }, { "sctp", 132 }, { "dccp", 33 },
		{ "gre", 47 },	     { "esp", 50 },	 { "ah", 51 },	  { "0", 0 },
		{ "255", 255 },	     { "99", 99 },	 { "006", 6 },
	};
	char terms[64];

	(void)state;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		struct nfqd_packet hit4 =
			make_pkt(L3P, "192.0.2.1", "192.0.2.2", protos[i].num, 0, 0);
		struct nfqd_packet hit6 =
			make_pkt(L3P, "2001:db8::1", "2001:db8::2", protos[i].num, 0, 0);
		struct nfqd_packet miss =
			make_pkt(L3P, "192.0.2.1", "192.0.2.2", (uint8_t)(protos[i].num + 1), 0, 0);

		snprintf(terms, sizeof(terms), "proto %s", protos[i].word);
		assert_match(terms, protos[i].num == 58 ? &hit6 : &hit4, true);
		if (protos[i].num != 1 && protos[i].num != 58)
			assert_match(terms, &hit6, true);
		assert_match(terms, &miss, false);
		snprintf(terms, sizeof(terms), "not proto %s", protos[i].word);
		assert_match(terms, &hit4, false);
		assert_match(terms, &miss, true);
	}
}

static void test_proto_is_printed_by_name_when_it_has_one(void **state)
{
	(void)state;
	assert_canonical("drop proto 6", "drop proto tcp");
	assert_canonical("drop proto 17", "drop proto udp");
	assert_canonical("drop proto 1", "drop proto icmp");
	assert_canonical("drop proto ipv6-icmp", "drop proto icmpv6");
	assert_canonical("drop proto 58", "drop proto icmpv6");
	assert_canonical("drop proto 136", "drop proto udplite");
	assert_canonical("drop proto 132", "drop proto sctp");
	assert_canonical("drop proto 33", "drop proto dccp");
	assert_canonical("drop proto 47", "drop proto gre");
	assert_canonical("drop proto 50", "drop proto esp");
	assert_canonical("drop proto 51", "drop proto ah");
	assert_canonical("drop proto 0", "drop proto 0");
	assert_canonical("drop proto 099", "drop proto 99");
	assert_canonical("drop proto 255", "drop proto 255");
}

static void test_src_and_dst_ipv4_hit_and_miss(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "198.51.100.7", 1000, 80);

	(void)state;
	assert_match("src 192.0.2.1", &pkt, true);
	assert_match("src 192.0.2.0/24", &pkt, true);
	assert_match("src 192.0.2.2", &pkt, false);
	assert_match("src 198.51.100.7", &pkt, false);
	assert_match("dst 198.51.100.7", &pkt, true);
	assert_match("dst 198.51.100.0/24", &pkt, true);
	assert_match("dst 192.0.2.1", &pkt, false);
	assert_match("src 192.0.2.0/24 dst 198.51.100.0/24", &pkt, true);
	assert_match("src 192.0.2.0/24 dst 198.51.101.0/24", &pkt, false);
}

static void test_src_and_dst_ipv6_hit_and_miss(void **state)
{
	struct nfqd_packet pkt = tcp("2001:db8::1", "2001:db8:ffff::7", 1000, 80);

	(void)state;
	assert_match("src 2001:db8::1", &pkt, true);
	assert_match("src 2001:db8::/32", &pkt, true);
	assert_match("src 2001:db8::2", &pkt, false);
	assert_match("src 2001:db8:ffff::7", &pkt, false);
	assert_match("dst 2001:db8:ffff::7", &pkt, true);
	assert_match("dst 2001:db8:ffff::/48", &pkt, true);
	assert_match("dst 2001:db8:fffe::/48", &pkt, false);
	assert_match("src 2001:db8::/64 dst 2001:db8:ffff::/64", &pkt, true);
}

static void test_address_matches_its_own_family_only_even_negated(void **state)
{
	struct nfqd_packet v4 = tcp("192.0.2.1", "192.0.2.2", 1, 2);
	struct nfqd_packet v6 = tcp("2001:db8::1", "2001:db8::2", 1, 2);
	/* an IPv4-mapped address is an IPv6 address: it never matches an IPv4 packet */
	struct nfqd_packet mapped = tcp("::ffff:192.0.2.1", "::ffff:192.0.2.2", 1, 2);

	(void)state;
	assert_match("src 0.0.0.0/0", &v4, true);
	assert_match("src 0.0.0.0/0", &v6, false);
	assert_match("not src 10.0.0.0/8", &v4, true);
	assert_match("not src 10.0.0.0/8", &v6, false);
	assert_match("src ::/0", &v6, true);
	assert_match("src ::/0", &v4, false);
	assert_match("not dst fc00::/7", &v6, true);
	assert_match("not dst fc00::/7", &v4, false);
	assert_match("src ::ffff:192.0.2.1", &mapped, true);
	assert_match("src ::ffff:192.0.2.1", &v4, false);
	assert_match("src 192.0.2.1", &mapped, false);
}

struct prefix_case {
	const char *prefix;
	const char *addr;
	bool hit;
};

static void check_prefixes(const struct prefix_case *c, size_t n)
{
	char terms[128];

	for (size_t i = 0; i < n; i++) {
		bool v6 = strchr(c[i].addr, ':') != NULL;
		const char *other = v6 ? "2001:db8::99" : "203.0.113.99";
		struct nfqd_packet as_src = tcp(c[i].addr, other, 1, 2);
		struct nfqd_packet as_dst = tcp(other, c[i].addr, 1, 2);

		snprintf(terms, sizeof(terms), "src %s", c[i].prefix);
		if (matches(terms, &as_src) != c[i].hit)
			fail_msg("'%s' on source %s should %smatch", terms, c[i].addr,
				 c[i].hit ? "" : "not ");
		snprintf(terms, sizeof(terms), "dst %s", c[i].prefix);
		if (matches(terms, &as_dst) != c[i].hit)
			fail_msg("'%s' on destination %s should %smatch", terms, c[i].addr,
				 c[i].hit ? "" : "not ");
		snprintf(terms, sizeof(terms), "not src %s", c[i].prefix);
		if (matches(terms, &as_src) == c[i].hit)
			fail_msg("'%s' on source %s should %smatch", terms, c[i].addr,
				 c[i].hit ? "not " : "");
	}
}

static void test_ipv4_prefixes_0_1_7_24_32_cover_exactly_their_range(void **state)
{
	static const struct prefix_case cases[] = {
		{ "0.0.0.0/0", "0.0.0.0", true },
		{ "0.0.0.0/0", "255.255.255.255", true },
		{ "128.0.0.0/1", "128.0.0.0", true },
		{ "128.0.0.0/1", "255.255.255.255", true },
		{ "128.0.0.0/1", "127.255.255.255", false },
		{ "0.0.0.0/1", "127.255.255.255", true },
		{ "0.0.0.0/1", "128.0.0.0", false },
		{ "10.0.0.0/7", "10.0.0.0", true },
		{ "10.0.0.0/7", "11.255.255.255", true },
		{ "10.0.0.0/7", "9.255.255.255", false },
		{ "10.0.0.0/7", "12.0.0.0", false },
		{ "192.0.2.0/24", "192.0.2.0", true },
		{ "192.0.2.0/24", "192.0.2.255", true },
		{ "192.0.2.0/24", "192.0.1.255", false },
		{ "192.0.2.0/24", "192.0.3.0", false },
		{ "192.0.2.0/24", "64.0.2.0", false },
		{ "192.0.2.1/32", "192.0.2.1", true },
		{ "192.0.2.1/32", "192.0.2.0", false },
		{ "192.0.2.1/32", "192.0.2.3", false },
		{ "192.0.2.1", "192.0.2.1", true },
		{ "192.0.2.1", "193.0.2.1", false },
	};

	(void)state;
	check_prefixes(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_ipv6_prefixes_0_1_7_64_127_128_cover_exactly_their_range(void **state)
{
	static const struct prefix_case cases[] = {
		{ "::/0", "::", true },
		{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "8000::/1", "8000::", true },
		{ "8000::/1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
		{ "fc00::/7", "fc00::", true },
		{ "fc00::/7", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "fc00::/7", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
		{ "fc00::/7", "fe00::", false },
		{ "2001:db8:0:1::/64", "2001:db8:0:1::", true },
		{ "2001:db8:0:1::/64", "2001:db8:0:1:ffff:ffff:ffff:ffff", true },
		{ "2001:db8:0:1::/64", "2001:db8:0:0:ffff:ffff:ffff:ffff", false },
		{ "2001:db8:0:1::/64", "2001:db8:0:2::", false },
		{ "2001:db8:0:1::/64", "2001:db9:0:1::", false },
		{ "2001:db8::2/127", "2001:db8::2", true },
		{ "2001:db8::2/127", "2001:db8::3", true },
		{ "2001:db8::2/127", "2001:db8::1", false },
		{ "2001:db8::2/127", "2001:db8::4", false },
		{ "2001:db8::2/127", "3001:db8::2", false },
		{ "2001:db8::1/128", "2001:db8::1", true },
		{ "2001:db8::1/128", "2001:db8::", false },
		{ "2001:db8::1/128", "2001:db8::3", false },
		{ "2001:db8::1/128", "2001:db8:0:1::1", false },
	};

	(void)state;
	check_prefixes(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_port_ranges_are_inclusive_at_both_ends(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 0, 0);
	static const struct {
		uint16_t port;
		bool hit;
	} range[] = { { 0, false },   { 999, false },  { 1000, true },	{ 1500, true },
		      { 2000, true }, { 2001, false }, { 65535, false } };

	(void)state;
	for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
		pkt.sport = range[i].port;
		pkt.dport = 7;
		assert_match("sport 1000-2000", &pkt, range[i].hit);
		assert_match("not sport 1000-2000", &pkt, !range[i].hit);
		pkt.sport = 7;
		pkt.dport = range[i].port;
		assert_match("dport 1000-2000", &pkt, range[i].hit);
		assert_match("not dport 1000-2000", &pkt, !range[i].hit);
	}

	pkt.sport = 0;
	pkt.dport = 65535;
	assert_match("sport 0", &pkt, true);
	assert_match("sport 1", &pkt, false);
	assert_match("dport 65535", &pkt, true);
	assert_match("dport 65534", &pkt, false);
	assert_match("sport 0-65535 dport 0-65535", &pkt, true);
	assert_match("dport 65535-65535", &pkt, true);
	assert_match("sport 0-0", &pkt, true);
}

static void test_ports_match_on_every_protocol_that_has_them(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_SCTP,
					  IPPROTO_DCCP };
	static const char *const names[] = { "tcp", "udp", "udplite", "sctp", "dccp" };
	char terms[64];

	(void)state;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		struct nfqd_packet pkt =
			make_pkt(L4, "2001:db8::1", "2001:db8::2", protos[i], 5, 53);

		snprintf(terms, sizeof(terms), "proto %s dport 53", names[i]);
		assert_match(terms, &pkt, true);
		snprintf(terms, sizeof(terms), "proto %s dport 54", names[i]);
		assert_match(terms, &pkt, false);
	}
}

static void test_not_negates_the_next_match_only(void **state)
{
	struct nfqd_packet pkt = udp("192.0.2.1", "192.0.2.2", 1234, 53);

	(void)state;
	assert_match("not proto tcp", &pkt, true);
	assert_match("not proto udp", &pkt, false);
	assert_match("not proto tcp dport 53", &pkt, true);
	assert_match("not proto tcp dport 54", &pkt, false);
	assert_match("proto udp not dport 53", &pkt, false);
	assert_match("proto udp not dport 54", &pkt, true);
	assert_match("not src 192.0.2.1", &pkt, false);
	assert_match("not src 192.0.2.0/31 not dst 10.0.0.0/8", &pkt, false);
	assert_match("not src 10.0.0.0/8 not dst 10.0.0.0/8", &pkt, true);
	assert_match("not sport 1-1023", &pkt, true);
}

static void test_all_terms_of_a_rule_must_match(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "198.51.100.7", 40000, 443);

	(void)state;
	assert_match("proto tcp src 192.0.2.0/24 dst 198.51.100.7 sport 1024-65535 dport 443", &pkt,
		     true);
	assert_match("proto udp src 192.0.2.0/24 dst 198.51.100.7 sport 1024-65535 dport 443", &pkt,
		     false);
	assert_match("proto tcp src 192.0.3.0/24 dst 198.51.100.7 sport 1024-65535 dport 443", &pkt,
		     false);
	assert_match("proto tcp src 192.0.2.0/24 dst 198.51.100.8 sport 1024-65535 dport 443", &pkt,
		     false);
	assert_match("proto tcp src 192.0.2.0/24 dst 198.51.100.7 sport 1-1023 dport 443", &pkt,
		     false);
	assert_match("proto tcp src 192.0.2.0/24 dst 198.51.100.7 sport 1024-65535 dport 80", &pkt,
		     false);
}

static void test_rule_without_terms_matches_every_packet(void **state)
{
	struct nfqd_packet none;

	(void)state;
	memset(&none, 0, sizeof(none));
	assert_match("", &none, true);
	none = tcp("2001:db8::1", "2001:db8::2", 1, 2);
	assert_match("", &none, true);
}

static void test_first_matching_rule_wins(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet ssh = tcp("192.0.2.1", "192.0.2.2", 40000, 22);
	struct nfqd_packet web = tcp("192.0.2.1", "192.0.2.2", 40000, 80);
	struct nfqd_packet dns = udp("192.0.2.1", "192.0.2.2", 40000, 53);
	struct nfqd_packet v6 = udp("2001:db8::1", "2001:db8::2", 40000, 53);
	struct nfqd_decision d;

	(void)state;
	add(p, "accept dport 22");
	add(p, "drop proto tcp");
	add(p, "accept dport 22 proto tcp");
	add(p, "drop src 0.0.0.0/0");
	assert_int_equal(nfqd_policy_rule_count(p), 4);

	nfqd_policy_eval(p, &ssh, NULL, &d);
	assert_int_equal(d.rule, 0);
	assert_int_equal(d.verdict, NF_ACCEPT);
	nfqd_policy_eval(p, &web, NULL, &d);
	assert_int_equal(d.rule, 1);
	assert_int_equal(d.verdict, NF_DROP);
	nfqd_policy_eval(p, &dns, NULL, &d);
	assert_int_equal(d.rule, 3);
	assert_int_equal(d.verdict, NF_DROP);
	nfqd_policy_eval(p, &v6, NULL, &d);
	assert_int_equal(d.rule, -1);
	assert_int_equal(d.verdict, NF_ACCEPT);
	nfqd_policy_free(p);
}

static void test_unknown_ports_of_a_later_fragment_match_neither_plain_nor_negated(void **state)
{
	struct nfqd_packet frag = make_pkt(L3P | NFQD_PKT_FRAGMENT | NFQD_PKT_FRAG_LATER,
					   "192.0.2.1", "192.0.2.2", IPPROTO_UDP, 0, 0);

	(void)state;
	assert_match("dport 0-65535", &frag, false);
	assert_match("not dport 0-65535", &frag, false);
	assert_match("dport 0", &frag, false);
	assert_match("not dport 80", &frag, false);
	assert_match("sport 0", &frag, false);
	assert_match("not sport 80", &frag, false);
	assert_match("proto udp not dport 80", &frag, false);
	/* what the fragment does tell is still matched */
	assert_match("proto udp", &frag, true);
	assert_match("src 192.0.2.1 proto udp", &frag, true);
}

static void test_unknown_l3_and_proto_match_neither_plain_nor_negated(void **state)
{
	struct nfqd_packet none;
	struct nfqd_packet noproto =
		make_pkt(L3 | NFQD_PKT_TRUNC_L3, "192.0.2.1", "192.0.2.2", 0, 0, 0);

	(void)state;
	memset(&none, 0, sizeof(none));
	none.flags = NFQD_PKT_HAS_ID | NFQD_PKT_BAD_L3;
	assert_match("src 0.0.0.0/0", &none, false);
	assert_match("not src 0.0.0.0/0", &none, false);
	assert_match("not src 10.0.0.0/8", &none, false);
	assert_match("dst ::/0", &none, false);
	assert_match("not dst 2001:db8::/32", &none, false);
	assert_match("proto 0", &none, false);
	assert_match("not proto tcp", &none, false);
	assert_match("not dport 80", &none, false);

	/* a view with l3 set to something that is neither 4 nor 6 has no address of either */
	none.flags |= NFQD_PKT_HAS_L3;
	none.l3 = 5;
	assert_match("src 0.0.0.0/0", &none, false);
	assert_match("not src 0.0.0.0/0", &none, false);
	assert_match("not src ::/0", &none, false);

	assert_match("proto 0", &noproto, false);
	assert_match("not proto tcp", &noproto, false);
	assert_match("src 192.0.2.1", &noproto, true);
}

static void test_canonical_text_normalises_blanks_addresses_and_ranges(void **state)
{
	(void)state;
	assert_canonical("drop  src 192.0.2.0/24\tproto udp   dport 5000-5001 ",
			 "drop src 192.0.2.0/24 proto udp dport 5000-5001");
	assert_canonical("\t accept", "accept");
	assert_canonical("accept src 192.0.2.1/32", "accept src 192.0.2.1");
	assert_canonical("accept src 0.0.0.0/0", "accept src 0.0.0.0/0");
	assert_canonical("accept dst 2001:DB8:0:0:0::1/128", "accept dst 2001:db8::1");
	assert_canonical("accept dst 2001:0db8:0000::/32", "accept dst 2001:db8::/32");
	assert_canonical("accept dst ::/0", "accept dst ::/0");
	assert_canonical("accept src 10.0.0.0/08", "accept src 10.0.0.0/8");
	assert_canonical("accept dport 80-80", "accept dport 80");
	assert_canonical("accept dport 0080", "accept dport 80");
	assert_canonical("accept sport 00-065535", "accept sport 0-65535");
	assert_canonical("drop not proto tcp not   dport 22", "drop not proto tcp not dport 22");
	assert_canonical("drop src ::ffff:192.0.2.1", "drop src ::ffff:192.0.2.1");
}

static void test_canonical_text_parses_back_to_itself(void **state)
{
	static const char *const rules[] = {
		"accept",
		"drop proto tcp",
		"drop proto 253",
		"drop proto ipv6-icmp dst fe80::/10",
		"drop proto icmp src 10.0.0.0/8",
		"accept src 192.0.2.0/24 proto udp dport 5000-5001",
		"accept not src 192.0.2.1/32 not dst 198.51.100.0/31 sport 0 dport 65535",
		"drop src 2001:db8::/127 dst ::1 not proto sctp",
		"drop\tsrc 128.0.0.0/1 dst 0.0.0.0/0 proto 6 sport 1-1023 not dport 0-1023",
		"drop dst fc00::/7 src 2001:db8:0:1::/64 proto dccp",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char *once = canonical(rules[i]);
		char *twice = canonical(once);

		assert_string_equal(once, twice);
		free(once);
		free(twice);
	}
}

static void test_rule_text_out_of_range_is_null(void **state)
{
	struct nfqd_policy *p = new_policy();

	(void)state;
	assert_null(nfqd_policy_rule_text(p, 0));
	add(p, "drop dport 1");
	add(p, "accept");
	assert_string_equal(nfqd_policy_rule_text(p, 0), "drop dport 1");
	assert_string_equal(nfqd_policy_rule_text(p, 1), "accept");
	assert_null(nfqd_policy_rule_text(p, 2));
	assert_null(nfqd_policy_rule_text(p, 0xffffffffu));
	assert_null(nfqd_policy_rule_text(NULL, 0));
	nfqd_policy_free(p);
}

static void test_empty_rule_is_refused(void **state)
{
	(void)state;
	assert_rule_error("", -EINVAL, 0,
			  "empty rule: expected a verdict (accept, drop, reject, queue N)");
	assert_rule_error(" \t  ", -EINVAL, 0,
			  "empty rule: expected a verdict (accept, drop, reject, queue N)");
	assert_rule_error(NULL, -EINVAL, 0,
			  "empty rule: expected a verdict (accept, drop, reject, queue N)");
}

static void test_unknown_verdict_is_refused_at_word_1(void **state)
{
	(void)state;
	assert_rule_error("dorp src 10.0.0.0/8", -EINVAL, 1, "unknown verdict 'dorp'");
	assert_rule_error("  Drop", -EINVAL, 1, "unknown verdict 'Drop'");
	assert_rule_error("not accept", -EINVAL, 1, "unknown verdict 'not'");
	assert_rule_error("proto tcp", -EINVAL, 1, "unknown verdict 'proto'");
}

static void test_unknown_match_is_refused_with_its_position(void **state)
{
	(void)state;
	assert_rule_error("drop proto tcp dprt 80", -EINVAL, 4, "unknown match 'dprt'");
	assert_rule_error("drop\t \tdprt 80", -EINVAL, 2, "unknown match 'dprt'");
	assert_rule_error("drop not dprt 80", -EINVAL, 3, "unknown match 'dprt'");
	assert_rule_error("accept dport 22 accept", -EINVAL, 4, "unknown match 'accept'");
	assert_rule_error("accept Proto tcp", -EINVAL, 2, "unknown match 'Proto'");
}

static void test_missing_argument_is_refused_at_the_match_word(void **state)
{
	(void)state;
	assert_rule_error("drop dport", -EINVAL, 2, "dport: missing port after 'dport'");
	assert_rule_error("drop proto tcp sport  ", -EINVAL, 4,
			  "sport: missing port after 'sport'");
	assert_rule_error("drop proto", -EINVAL, 2, "proto: missing protocol after 'proto'");
	assert_rule_error("drop src", -EINVAL, 2, "src: missing address after 'src'");
	assert_rule_error("accept not dst", -EINVAL, 3, "dst: missing address after 'dst'");
}

static void test_not_twice_or_at_the_end_is_refused(void **state)
{
	(void)state;
	assert_rule_error("drop not", -EINVAL, 2, "missing match after 'not'");
	assert_rule_error("drop proto tcp not \t", -EINVAL, 4, "missing match after 'not'");
	assert_rule_error("drop not not proto tcp", -EINVAL, 3,
			  "unexpected 'not' after 'not': expected a match");
	assert_rule_error("drop dport not", -EINVAL, 3,
			  "bad port 'not' after 'dport': expected a port 0-65535 or a range LO-HI");
}

static void test_bad_port_is_refused_with_the_word_quoted(void **state)
{
	static const char *const junk[] = { "http", "-1",  "+80",  "80-",    "-80", "1-2-3",
					    "0x50", "80a", "1--2", "70000x", "-" };
	char text[64], msg[128];

	(void)state;
	assert_rule_error("drop dport 70000", -EINVAL, 3,
			  "bad port '70000' after 'dport': must be 0-65535");
	assert_rule_error("drop dport 65536", -EINVAL, 3,
			  "bad port '65536' after 'dport': must be 0-65535");
	assert_rule_error("drop dport 99999999999999999999999", -EINVAL, 3,
			  "bad port '99999999999999999999999' after 'dport': must be 0-65535");
	assert_rule_error("drop sport 1-70000", -EINVAL, 3,
			  "bad port '1-70000' after 'sport': must be 0-65535");
	assert_rule_error("drop not sport 70000-1", -EINVAL, 4,
			  "bad port '70000-1' after 'sport': must be 0-65535");
	assert_rule_error("drop dport 90-80", -EINVAL, 3,
			  "bad port range '90-80' after 'dport': 90 is above 80");
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(text, sizeof(text), "drop proto udp dport %s", junk[i]);
		snprintf(msg, sizeof(msg),
			 "bad port '%s' after 'dport': expected a port 0-65535 or a range LO-HI",
			 junk[i]);
		assert_rule_error(text, -EINVAL, 5, msg);
	}
	/* a blank ends the word: "8 0" is port 8, then a word that is no match */
	assert_rule_error("drop dport 8 0", -EINVAL, 4, "unknown match '0'");
}

static void test_bad_protocol_is_refused_with_the_word_quoted(void **state)
{
	(void)state;
	assert_rule_error("drop proto 256", -EINVAL, 3,
			  "bad protocol '256' after 'proto': must be 0-255");
	assert_rule_error("drop not proto tcpp", -EINVAL, 4,
			  "bad protocol 'tcpp' after 'proto': expected tcp, udp, icmp, icmpv6, "
			  "udplite, sctp, dccp, gre, esp, ah or a number 0-255");
	assert_rule_error("drop proto TCP", -EINVAL, 3,
			  "bad protocol 'TCP' after 'proto': expected tcp, udp, icmp, icmpv6, "
			  "udplite, sctp, dccp, gre, esp, ah or a number 0-255");
	assert_rule_error("drop proto -1", -EINVAL, 3,
			  "bad protocol '-1' after 'proto': expected tcp, udp, icmp, icmpv6, "
			  "udplite, sctp, dccp, gre, esp, ah or a number 0-255");
}

static void test_bad_address_or_prefix_length_is_refused(void **state)
{
	static const char *const bad[] = {
		"10.0.0.256",
		"10.0.0",
		"010.0.0.1",
		"fe80::1%eth0",
		"2001:db8::g",
		"1::2::3",
		"localhost",
		"/24",
		"10.0.0.0.0",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999",
		"0000000000000000000000000000000000000000000000000000000000000000000000::1",
	};
	char text[256], msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "drop src %s", bad[i]);
		snprintf(msg, sizeof(msg),
			 "bad address '%s' after 'src': expected an IPv4 or IPv6 address[/LEN]",
			 bad[i]);
		assert_rule_error(text, -EINVAL, 3, msg);
	}
	assert_rule_error("drop proto tcp dst 10.0.0.0/33", -EINVAL, 5,
			  "bad prefix length in '10.0.0.0/33' after 'dst': must be 0-32");
	assert_rule_error("drop dst 2001:db8::/129", -EINVAL, 3,
			  "bad prefix length in '2001:db8::/129' after 'dst': must be 0-128");
	assert_rule_error("drop src 10.0.0.0/", -EINVAL, 3,
			  "bad prefix length in '10.0.0.0/' after 'src': must be 0-32");
	assert_rule_error("drop src 10.0.0.0/-8", -EINVAL, 3,
			  "bad prefix length in '10.0.0.0/-8' after 'src': must be 0-32");
	assert_rule_error("drop src 10.0.0.0/+8", -EINVAL, 3,
			  "bad prefix length in '10.0.0.0/+8' after 'src': must be 0-32");
	assert_rule_error("drop src 10.0.0.0/8x", -EINVAL, 3,
			  "bad prefix length in '10.0.0.0/8x' after 'src': must be 0-32");
	assert_rule_error("drop src 10.0.0.0/8/8", -EINVAL, 3,
			  "bad prefix length in '10.0.0.0/8/8' after 'src': must be 0-32");
	assert_rule_error("drop src ::/0x10", -EINVAL, 3,
			  "bad prefix length in '::/0x10' after 'src': must be 0-128");
}

static void test_host_bits_beyond_the_prefix_are_refused_with_a_suggestion(void **state)
{
	(void)state;
	assert_rule_error("drop src 192.0.2.1/24", -EINVAL, 3,
			  "src '192.0.2.1/24': host bits set; did you mean 192.0.2.0/24?");
	assert_rule_error("drop proto tcp not dst 10.1.2.3/7", -EINVAL, 6,
			  "dst '10.1.2.3/7': host bits set; did you mean 10.0.0.0/7?");
	assert_rule_error("drop src 1.2.3.4/0", -EINVAL, 3,
			  "src '1.2.3.4/0': host bits set; did you mean 0.0.0.0/0?");
	assert_rule_error("drop dst 2001:db8::1/64", -EINVAL, 3,
			  "dst '2001:db8::1/64': host bits set; did you mean 2001:db8::/64?");
	assert_rule_error("drop dst 2001:db8::1/127", -EINVAL, 3,
			  "dst '2001:db8::1/127': host bits set; did you mean 2001:db8::/127?");
	assert_rule_error("drop src fdff::/7", -EINVAL, 3,
			  "src 'fdff::/7': host bits set; did you mean fc00::/7?");
}

static void test_src_and_dst_of_different_families_are_refused(void **state)
{
	(void)state;
	assert_rule_error(
		"drop src 192.0.2.1 dst 2001:db8::1", -EINVAL, 5,
		"dst '2001:db8::1' is IPv6 but src 192.0.2.1 is IPv4: no packet can match "
		"both");
	assert_rule_error("drop not dst 2001:db8::/32 proto tcp not src 10.0.0.0/8", -EINVAL, 9,
			  "src '10.0.0.0/8' is IPv4 but dst 2001:db8::/32 is IPv6: no packet can "
			  "match both");
	assert_rule_error(
		"drop src 10.0.0.0/8 src ::/0", -EINVAL, 5,
		"src '::/0' is IPv6 but src 10.0.0.0/8 is IPv4: no packet can match both");
}

static void test_icmp_with_ipv6_and_icmpv6_with_ipv4_are_refused_suggesting_the_other(void **state)
{
	(void)state;
	assert_rule_error("drop src 2001:db8::1 proto icmp", -EINVAL, 5,
			  "proto 'icmp' is IPv4 only but src 2001:db8::1 is IPv6; did you mean "
			  "icmpv6?");
	assert_rule_error("drop proto icmp dst 2001:db8::/32", -EINVAL, 5,
			  "dst '2001:db8::/32' is IPv6 but proto icmp is IPv4 only; did you mean "
			  "proto icmpv6?");
	assert_rule_error("drop proto icmpv6 not src 192.0.2.0/24", -EINVAL, 6,
			  "src '192.0.2.0/24' is IPv4 but proto icmpv6 is IPv6 only; did you mean "
			  "proto icmp?");
	assert_rule_error("drop dst 10.0.0.1 proto 58", -EINVAL, 5,
			  "proto '58' is IPv6 only but dst 10.0.0.1 is IPv4; did you mean icmp?");
	assert_rule_error("drop dst 10.0.0.1 proto ipv6-icmp", -EINVAL, 5,
			  "proto 'ipv6-icmp' is IPv6 only but dst 10.0.0.1 is IPv4; did you mean "
			  "icmp?");
}

static void test_negated_icmp_with_either_family_is_accepted(void **state)
{
	struct nfqd_packet v6 = make_pkt(L3P, "2001:db8::1", "2001:db8::2", IPPROTO_ICMPV6, 0, 0);
	struct nfqd_packet v4 = make_pkt(L3P, "192.0.2.1", "192.0.2.2", IPPROTO_ICMP, 0, 0);

	(void)state;
	assert_match("not proto icmp src 2001:db8::1", &v6, true);
	assert_match("not proto icmpv6 src 192.0.2.1", &v4, true);
	assert_match("src 2001:db8::1 not proto icmpv6", &v6, false);
	assert_match("proto icmp src 192.0.2.1", &v4, true);
	assert_match("proto icmpv6 src 2001:db8::1", &v6, true);
}

static void test_ports_with_a_protocol_without_ports_are_refused(void **state)
{
	(void)state;
	assert_rule_error("drop proto icmp dport 53", -EINVAL, 5,
			  "dport '53' needs ports but proto icmp has none (only tcp, udp, udplite, "
			  "sctp, dccp have ports)");
	assert_rule_error("drop proto 99 not sport 1-2", -EINVAL, 6,
			  "sport '1-2' needs ports but proto 99 has none (only tcp, udp, udplite, "
			  "sctp, dccp have ports)");
	assert_rule_error("drop sport 1-1023 proto gre", -EINVAL, 5,
			  "proto 'gre' has no ports but sport 1-1023 needs them (only tcp, udp, "
			  "udplite, sctp, dccp have ports)");
	assert_rule_error(
		"drop dport 500 src 10.0.0.0/8 proto 50", -EINVAL, 7,
		"proto '50' has no ports but dport 500 needs them (only tcp, udp, udplite, "
		"sctp, dccp have ports)");
}

static void test_two_different_positive_protocols_are_refused(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1, 2);

	(void)state;
	assert_rule_error("drop proto tcp proto udp", -EINVAL, 5,
			  "proto 'udp' contradicts proto tcp: no packet can match both");
	assert_match("proto tcp proto 6", &pkt, true);
	assert_match("proto tcp not proto udp", &pkt, true);
}

static void test_sixteen_terms_pass_and_the_seventeenth_is_e2big(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1, 80);
	struct nfqd_policy *p;
	char text[1024];
	size_t len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), "drop");
	for (int i = 0; i < 16; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, " not dport %d", 1000 + i);
	p = new_policy();
	add(p, text);
	assert_int_equal(nfqd_policy_rule_count(p), 1);
	assert_string_equal(nfqd_policy_rule_text(p, 0), text);
	assert_match(text + 5, &pkt, true);
	nfqd_policy_free(p);

	snprintf(text + len, sizeof(text) - len, " dport 80");
	/* 1 verdict + 16 terms of 3 words: the 17th term starts at word 50 */
	assert_rule_error(text, -E2BIG, 50, "too many matches at 'dport': at most 16 per rule");
	snprintf(text + len, sizeof(text) - len, " not dport 80");
	assert_rule_error(text, -E2BIG, 50, "too many matches at 'not': at most 16 per rule");
}

static void test_4096_rules_pass_and_the_4097th_is_e2big_leaving_the_policy_unchanged(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("2001:db8::1", "2001:db8::2", 1, 4095);
	struct nfqd_policy_error err;
	struct nfqd_decision d;
	char text[64];

	(void)state;
	for (unsigned int i = 0; i < 4096; i++) {
		snprintf(text, sizeof(text), "%s dport %u", i % 2 ? "accept" : "drop", i);
		add(p, text);
	}
	assert_int_equal(nfqd_policy_rule_count(p), 4096);
	assert_int_equal(nfqd_policy_add_rule(p, "drop", &err), -E2BIG);
	assert_string_equal(err.msg, "too many rules: at most 4096 per policy");
	assert_int_equal(err.word, 0);
	assert_int_equal(nfqd_policy_add_rule(p, "drop", NULL), -E2BIG);
	assert_int_equal(nfqd_policy_rule_count(p), 4096);
	assert_string_equal(nfqd_policy_rule_text(p, 4095), "accept dport 4095");
	assert_null(nfqd_policy_rule_text(p, 4096));

	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, 4095);
	assert_int_equal(d.verdict, NF_ACCEPT);
	pkt.dport = 4094;
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, 4094);
	assert_int_equal(d.verdict, NF_DROP);
	pkt.dport = 4096;
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, -1);
	nfqd_policy_free(p);
}

static void test_failed_add_leaves_rules_texts_and_decisions_unchanged(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet a = tcp("192.0.2.1", "192.0.2.2", 1, 22);
	struct nfqd_packet b = udp("192.0.2.1", "192.0.2.2", 1, 53);
	struct nfqd_decision d;

	(void)state;
	add(p, "accept dport 22");
	add(p, "drop proto udp");
	assert_int_equal(nfqd_policy_add_rule(p, "drop proto tcp dport 99999", NULL), -EINVAL);
	assert_int_equal(nfqd_policy_add_rule(p, "drop src 10.0.0.1/8", NULL), -EINVAL);
	assert_int_equal(nfqd_policy_add_rule(p, "", NULL), -EINVAL);
	assert_int_equal(nfqd_policy_rule_count(p), 2);
	assert_string_equal(nfqd_policy_rule_text(p, 0), "accept dport 22");
	assert_string_equal(nfqd_policy_rule_text(p, 1), "drop proto udp");
	assert_null(nfqd_policy_rule_text(p, 2));
	nfqd_policy_eval(p, &a, NULL, &d);
	assert_int_equal(d.rule, 0);
	nfqd_policy_eval(p, &b, NULL, &d);
	assert_int_equal(d.rule, 1);

	/* a rule added after a refused one is evaluated at the next index */
	add(p, "drop proto tcp");
	a.dport = 80;
	nfqd_policy_eval(p, &a, NULL, &d);
	assert_int_equal(d.rule, 2);
	assert_int_equal(d.verdict, NF_DROP);
	nfqd_policy_free(p);
}

static void test_successful_add_clears_the_error(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_policy_error err;

	(void)state;
	memset(&err, 0x55, sizeof(err));
	assert_int_equal(nfqd_policy_add_rule(p, "accept", &err), 0);
	assert_int_equal(err.word, 0);
	assert_string_equal(err.msg, "");
	nfqd_policy_free(p);
}

/* Issue 3: queue verdicts, set lookups, marks, interfaces, set-mark. */

#define QUEUE_NR(n) (((uint32_t)(n) << 16) | NF_QUEUE)

/* A policy of the given rules, NULL-terminated. */
static struct nfqd_policy *policy_of(const char *const *rules)
{
	struct nfqd_policy *p = new_policy();

	for (; *rules; rules++)
		add(p, *rules);
	return p;
}

/* Evaluate into a decision filled with junk first, so that every field is seen written. */
static void eval(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
		 const struct nfqd_set_answers *ans, struct nfqd_decision *d)
{
	memset(d, 0x55, sizeof(*d));
	nfqd_policy_eval(p, pkt, ans, d);
}

static void assert_decision(const struct nfqd_decision *d, uint32_t verdict, int rule,
			    uint32_t flags, uint32_t lookups_read)
{
	if (d->verdict != verdict || d->rule != rule || d->flags != flags ||
	    d->lookups_read != lookups_read)
		fail_msg(
			"decision: got verdict %#x rule %d flags %#x read %#x, want %#x %d %#x %#x",
			d->verdict, d->rule, d->flags, d->lookups_read, verdict, rule, flags,
			lookups_read);
	if (!(flags & NFQD_DECISION_SET_MARK)) {
		assert_int_equal(d->mark, 0);
		assert_int_equal(d->mark_mask, 0);
	}
	if (!(flags & NFQD_DECISION_SET_FAILED))
		assert_int_equal(d->failed_lookup, -1);
}

static struct nfqd_set_answers answers(uint32_t known, uint32_t member, uint32_t failed)
{
	return (struct nfqd_set_answers){ .known = known, .member = member, .failed = failed };
}

/*
 * Whether the one-rule policy "drop TERMS" matches, with these answers; the lookups it read
 * into *read.
 */
static bool matches_with(const char *terms, const struct nfqd_packet *pkt,
			 const struct nfqd_set_answers *ans, uint32_t *read)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_decision d;
	char text[512];

	snprintf(text, sizeof(text), "drop %s", terms);
	add(p, text);
	eval(p, pkt, ans, &d);
	nfqd_policy_free(p);
	assert_true(d.rule == 0 || d.rule == -1);
	assert_int_equal(d.verdict, d.rule == 0 ? NF_DROP : NF_ACCEPT);
	assert_int_equal(d.failed_lookup, -1);
	if (read)
		*read = d.lookups_read;
	return d.rule == 0;
}

static void assert_match_with(const char *terms, const struct nfqd_packet *pkt,
			      struct nfqd_set_answers ans, bool expect)
{
	if (matches_with(terms, pkt, &ans, NULL) != expect)
		fail_msg("'%s' with known %#x member %#x should %smatch", terms, ans.known,
			 ans.member, expect ? "" : "not ");
}

static void test_queue_verdict_is_nf_queue_nr_and_per_packet(void **state)
{
	static const char *const rules[] = { "queue 3 proto udp dport 53", "queue 0 proto tcp",
					     "queue 65535 src 10.0.0.0/8", NULL };
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet dns = udp("192.0.2.1", "192.0.2.2", 1000, 53);
	struct nfqd_packet ntp = udp("192.0.2.1", "192.0.2.2", 1000, 123);
	struct nfqd_packet web = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_packet ten = udp("10.1.2.3", "192.0.2.2", 1000, 123);
	struct nfqd_decision d;

	(void)state;
	/* read from a queue none of the rules hands packets to */
	dns.queue = ntp.queue = web.queue = ten.queue = 9;
	eval(p, &dns, NULL, &d);
	assert_decision(&d, QUEUE_NR(3), 0, NFQD_DECISION_PER_PACKET, 0);
	assert_int_equal(d.verdict, 0x00030003);
	eval(p, &web, NULL, &d);
	assert_decision(&d, NF_QUEUE, 1, NFQD_DECISION_PER_PACKET, 0);
	eval(p, &ten, NULL, &d);
	assert_decision(&d, 0xffff0003u, 2, NFQD_DECISION_PER_PACKET, 0);
	eval(p, &ntp, NULL, &d);
	assert_decision(&d, NF_ACCEPT, -1, 0, 0);
	assert_string_equal(nfqd_policy_rule_text(p, 0), "queue 3 proto udp dport 53");
	assert_string_equal(nfqd_policy_rule_text(p, 2), "queue 65535 src 10.0.0.0/8");
	nfqd_policy_free(p);

	assert_canonical("queue\t007  dport 53", "queue 7 dport 53");
	assert_canonical("queue 0", "queue 0");
}

static void test_queue_rule_never_matches_a_packet_from_its_own_queue(void **state)
{
	static const char *const rules[] = { "queue 3 proto tcp src @a", "queue 4 proto tcp",
					     "drop proto tcp", NULL };
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_set_answers a = answers(1, 1, 0);
	struct nfqd_decision d;

	(void)state;
	pkt.queue = 0;
	eval(p, &pkt, &a, &d);
	assert_decision(&d, QUEUE_NR(3), 0, NFQD_DECISION_PER_PACKET, 1);
	/* skipped before its terms: its lookup is not read, and the next rule decides */
	pkt.queue = 3;
	eval(p, &pkt, &a, &d);
	assert_decision(&d, QUEUE_NR(4), 1, NFQD_DECISION_PER_PACKET, 0);
	pkt.queue = 4;
	eval(p, &pkt, &a, &d);
	assert_decision(&d, QUEUE_NR(3), 0, NFQD_DECISION_PER_PACKET, 1);
	/* a failed lookup in a skipped rule is not reached either */
	a = answers(0, 0, 1);
	pkt.queue = 3;
	eval(p, &pkt, &a, &d);
	assert_decision(&d, QUEUE_NR(4), 1, NFQD_DECISION_PER_PACKET, 0);
	nfqd_policy_free(p);

	p = new_policy();
	add(p, "queue 0");
	pkt.queue = 0;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, -1, 0, 0);
	pkt.queue = 65535;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_QUEUE, 0, NFQD_DECISION_PER_PACKET, 0);
	nfqd_policy_free(p);
}

static void test_queue_is_a_rule_verdict_only(void **state)
{
	struct nfqd_policy *p = new_policy();
	uint32_t v = 77;

	(void)state;
	assert_int_equal(nfqd_policy_parse_verdict("queue", &v, NULL), -EINVAL);
	assert_int_equal(nfqd_policy_parse_verdict("queue 3", &v, NULL), -EINVAL);
	assert_int_equal(v, 77);
	assert_int_equal(nfqd_policy_set_default(p, QUEUE_NR(3)), -EINVAL);
	assert_int_equal(nfqd_policy_set_on_set_error(p, QUEUE_NR(3)), -EINVAL);
	assert_int_equal(nfqd_policy_default(p), NF_ACCEPT);
	assert_int_equal(nfqd_policy_on_set_error(p), NF_DROP);
	nfqd_policy_free(p);
}

static void test_bad_queue_number_is_refused(void **state)
{
	(void)state;
	assert_rule_error("queue", -EINVAL, 1, "queue: missing queue number after 'queue'");
	assert_rule_error("  queue \t", -EINVAL, 1, "queue: missing queue number after 'queue'");
	assert_rule_error("queue 65536", -EINVAL, 2,
			  "bad queue number '65536' after 'queue': must be 0-65535");
	assert_rule_error("queue 99999999999999999999", -EINVAL, 2,
			  "bad queue number '99999999999999999999' after 'queue': must be 0-65535");
	assert_rule_error("queue -1", -EINVAL, 2,
			  "bad queue number '-1' after 'queue': expected a number 0-65535");
	assert_rule_error("queue 0x3", -EINVAL, 2,
			  "bad queue number '0x3' after 'queue': expected a number 0-65535");
	assert_rule_error("queue proto tcp", -EINVAL, 2,
			  "bad queue number 'proto' after 'queue': expected a number 0-65535");
	assert_rule_error("queue 3 dprt 5", -EINVAL, 3, "unknown match 'dprt'");
	assert_rule_error("Queue 3", -EINVAL, 1, "unknown verdict 'Queue'");
}

/* Policy "drop proto udp dport 6666", default accept, with on-unreadable set to mode. */
static struct nfqd_policy *port_6666_policy(enum nfqd_on_unreadable mode)
{
	struct nfqd_policy *p = new_policy();

	add(p, "drop proto udp dport 6666");
	assert_int_equal(nfqd_policy_set_on_unreadable(p, mode), 0);
	return p;
}

/*
 * An unreadable packet gets the on-unreadable verdict before any rule: drop by default, accept
 * when asked, rule -1 either way, flagged unreadable and per packet (no flow verdict from it).
 * The packets are those of the issue: UDP to 6666 whose header is cut (the ports may or may not
 * be known), and one that no rule would drop.
 */
static void test_unreadable_packet_gets_on_unreadable_verdict_before_any_rule(void **state)
{
	struct nfqd_packet cut = make_pkt(L3P | NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE,
					  "2001:db8::1", "2001:db8::2", IPPROTO_UDP, 0, 0);
	struct nfqd_packet cut4 = make_pkt(L4 | NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE,
					   "192.0.2.1", "192.0.2.2", IPPROTO_UDP, 1, 6666);
	struct nfqd_packet good = udp("192.0.2.1", "192.0.2.2", 1, 6666);
	struct nfqd_policy *p = new_policy();
	struct nfqd_decision d;

	(void)state;
	assert_int_equal(nfqd_policy_on_unreadable(p), NFQD_ON_UNREADABLE_DROP);
	nfqd_policy_free(p);

	p = port_6666_policy(NFQD_ON_UNREADABLE_DROP);
	nfqd_policy_eval(p, &cut, NULL, &d);
	assert_int_equal(d.verdict, NF_DROP);
	assert_int_equal(d.rule, -1);
	assert_int_equal(d.flags, NFQD_DECISION_UNREADABLE | NFQD_DECISION_PER_PACKET);
	/* the rule would not drop it: drop comes from on-unreadable */
	nfqd_policy_eval(p, &cut4, NULL, &d);
	assert_int_equal(d.verdict, NF_DROP);
	assert_int_equal(d.rule, -1);
	/* a readable packet is untouched by it */
	nfqd_policy_eval(p, &good, NULL, &d);
	assert_int_equal(d.verdict, NF_DROP);
	assert_int_equal(d.rule, 0);
	assert_int_equal(d.flags & NFQD_DECISION_UNREADABLE, 0);
	nfqd_policy_free(p);

	p = port_6666_policy(NFQD_ON_UNREADABLE_ACCEPT);
	nfqd_policy_eval(p, &cut4, NULL, &d);
	assert_int_equal(d.verdict, NF_ACCEPT);
	assert_int_equal(d.rule, -1);
	assert_int_equal(d.flags, NFQD_DECISION_UNREADABLE | NFQD_DECISION_PER_PACKET);
	nfqd_policy_free(p);
}

/*
 * evaluate: the rules decide with what is known. Ports read before the cut match; ports not
 * known match neither plainly nor negated; the decision is still flagged unreadable.
 */
static void test_on_unreadable_evaluate_uses_what_is_known(void **state)
{
	struct nfqd_packet no_ports = make_pkt(L3P | NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE,
					       "192.0.2.1", "192.0.2.2", IPPROTO_UDP, 0, 0);
	struct nfqd_packet ports = make_pkt(L4 | NFQD_PKT_TRUNC_L4 | NFQD_PKT_UNREADABLE,
					    "192.0.2.1", "192.0.2.2", IPPROTO_UDP, 1, 6666);
	struct nfqd_policy *p = port_6666_policy(NFQD_ON_UNREADABLE_EVALUATE);
	struct nfqd_decision d;

	(void)state;
	nfqd_policy_eval(p, &ports, NULL, &d);
	assert_int_equal(d.verdict, NF_DROP);
	assert_int_equal(d.rule, 0);
	assert_true(d.flags & NFQD_DECISION_UNREADABLE);
	assert_true(d.flags & NFQD_DECISION_PER_PACKET);

	nfqd_policy_eval(p, &no_ports, NULL, &d);
	assert_int_equal(d.verdict, NF_ACCEPT);
	assert_int_equal(d.rule, -1);
	assert_int_equal(d.flags, NFQD_DECISION_UNREADABLE | NFQD_DECISION_PER_PACKET);
	nfqd_policy_free(p);

	p = new_policy();
	add(p, "drop proto udp not dport 6666");
	add(p, "drop src 192.0.2.1");
	assert_int_equal(nfqd_policy_set_on_unreadable(p, NFQD_ON_UNREADABLE_EVALUATE), 0);
	nfqd_policy_eval(p, &no_ports, NULL, &d);
	/* `not dport` of unknown ports does not match; the address rule does */
	assert_int_equal(d.rule, 1);
	assert_int_equal(d.verdict, NF_DROP);
	nfqd_policy_free(p);
}

static void test_on_unreadable_words_and_bad_values(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_policy_error err;
	enum nfqd_on_unreadable mode = NFQD_ON_UNREADABLE_MAX;

	(void)state;
	assert_int_equal(nfqd_policy_parse_on_unreadable("evaluate", &mode, &err), 0);
	assert_int_equal(mode, NFQD_ON_UNREADABLE_EVALUATE);
	assert_int_equal(nfqd_policy_parse_on_unreadable("Drop", &mode, &err), -EINVAL);
	assert_string_equal(err.msg, "'Drop' is not drop, accept or evaluate");
	assert_int_equal(mode, NFQD_ON_UNREADABLE_EVALUATE);
	assert_int_equal(nfqd_policy_set_on_unreadable(p, NFQD_ON_UNREADABLE_MAX), -EINVAL);
	assert_int_equal(nfqd_policy_on_unreadable(p), NFQD_ON_UNREADABLE_DROP);
	assert_string_equal(nfqd_policy_on_unreadable_name(NFQD_ON_UNREADABLE_MAX), "?");
	nfqd_policy_free(p);
}

static void test_on_set_error_defaults_to_drop_and_is_settable(void **state)
{
	struct nfqd_policy *p = new_policy();

	(void)state;
	assert_int_equal(nfqd_policy_on_set_error(p), NF_DROP);
	assert_int_equal(nfqd_policy_set_on_set_error(p, NF_ACCEPT), 0);
	assert_int_equal(nfqd_policy_on_set_error(p), NF_ACCEPT);
	assert_int_equal(nfqd_policy_set_on_set_error(p, 0x12345678), -EINVAL);
	assert_int_equal(nfqd_policy_on_set_error(p), NF_ACCEPT);
	assert_int_equal(nfqd_policy_set_on_set_error(p, NF_DROP), 0);
	assert_int_equal(nfqd_policy_on_set_error(p), NF_DROP);
	/* the default verdict is a separate setting */
	assert_int_equal(nfqd_policy_default(p), NF_ACCEPT);
	nfqd_policy_free(p);
}

static void check_lookup(const struct nfqd_policy *p, unsigned int i, const char *set, uint8_t side,
			 uint8_t ndirs, const uint8_t *dirs, const char *text)
{
	const struct nfqd_set_lookup *l = nfqd_policy_lookup(p, i);

	assert_non_null(l);
	assert_string_equal(l->set, set);
	assert_int_equal(l->side, side);
	assert_int_equal(l->ndirs, ndirs);
	for (unsigned int j = 0; j < ndirs; j++)
		assert_int_equal(l->dirs[j], dirs[j]);
	assert_string_equal(l->text, text);
}

static void test_set_lookups_are_distinct_by_name_and_sides_in_order_of_first_use(void **state)
{
	static const char *const rules[] = {
		"drop src @blocklist",		      /* 0: lookup 0 */
		"accept dst @allow proto tcp",	      /* 1: lookup 1 */
		"drop not src @blocklist proto udp",  /* 2: lookup 0 again */
		"drop set @svc src,dst",	      /* 3: lookup 2 */
		"accept set @svc src,dst dst @allow", /* 4: lookups 2 and 1 */
		"drop set @svc dst,src",	      /* 5: lookup 3 */
		"drop set @blocklist src",	      /* 6: lookup 4, apart from src @blocklist */
		"drop dst @blocklist not src @blocklist", /* 7: lookups 5 and 0 */
		"drop set @svc src,dst,dst",		  /* 8: lookup 6 */
		"accept proto tcp",			  /* 9: none */
		"drop set @Blocklist src",		  /* 10: names are case-sensitive */
		NULL,
	};
	static const uint8_t sd[] = { NFQD_DIR_SRC, NFQD_DIR_DST };
	static const uint8_t ds[] = { NFQD_DIR_DST, NFQD_DIR_SRC };
	static const uint8_t s[] = { NFQD_DIR_SRC };
	static const uint8_t sdd[] = { NFQD_DIR_SRC, NFQD_DIR_DST, NFQD_DIR_DST };
	static const uint32_t rule_lookups[] = { 0x1,  0x2,  0x1,  0x4, 0x6, 0x8,
						 0x10, 0x21, 0x40, 0x0, 0x80 };
	struct nfqd_policy *p = policy_of(rules);
	const struct nfqd_set_lookup *l;

	(void)state;
	assert_int_equal(nfqd_policy_lookup_count(p), 8);
	check_lookup(p, 0, "blocklist", NFQD_DIR_SRC, 0, NULL, "src @blocklist");
	check_lookup(p, 1, "allow", NFQD_DIR_DST, 0, NULL, "dst @allow");
	check_lookup(p, 2, "svc", 0, 2, sd, "set @svc src,dst");
	check_lookup(p, 3, "svc", 0, 2, ds, "set @svc dst,src");
	check_lookup(p, 4, "blocklist", 0, 1, s, "set @blocklist src");
	check_lookup(p, 5, "blocklist", NFQD_DIR_DST, 0, NULL, "dst @blocklist");
	check_lookup(p, 6, "svc", 0, 3, sdd, "set @svc src,dst,dst");
	check_lookup(p, 7, "Blocklist", 0, 1, s, "set @Blocklist src");
	assert_null(nfqd_policy_lookup(p, 8));
	assert_null(nfqd_policy_lookup(p, 0xffffffffu));

	/* a side lookup gives its side for every dimension, for a caller that reads dirs only */
	l = nfqd_policy_lookup(p, 5);
	assert_int_equal(l->dirs[0], NFQD_DIR_DST);
	assert_int_equal(l->dirs[2], NFQD_DIR_DST);

	for (unsigned int i = 0; i < sizeof(rule_lookups) / sizeof(rule_lookups[0]); i++)
		if (nfqd_policy_rule_lookups(p, i) != rule_lookups[i])
			fail_msg("rule %u reads lookups %#x, want %#x", i,
				 nfqd_policy_rule_lookups(p, i), rule_lookups[i]);
	assert_int_equal(nfqd_policy_rule_lookups(p, 11), 0);
	assert_int_equal(nfqd_policy_rule_lookups(p, 0xffffffffu), 0);
	nfqd_policy_free(p);

	p = new_policy();
	assert_int_equal(nfqd_policy_lookup_count(p), 0);
	assert_null(nfqd_policy_lookup(p, 0));
	nfqd_policy_free(p);
}

static void test_set_term_hit_miss_negation_and_unknown_answers(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	uint32_t read = 0;

	(void)state;
	assert_match_with("src @x", &pkt, answers(1, 1, 0), true);
	assert_match_with("src @x", &pkt, answers(1, 0, 0), false);
	assert_match_with("not src @x", &pkt, answers(1, 1, 0), false);
	assert_match_with("not src @x", &pkt, answers(1, 0, 0), true);
	assert_match_with("dst @x", &pkt, answers(1, 1, 0), true);
	assert_match_with("set @x src,dst", &pkt, answers(1, 1, 0), true);
	assert_match_with("not set @x src,dst", &pkt, answers(1, 1, 0), false);

	/* unanswered: neither plain nor negated, even if a member bit is set without known */
	assert_match_with("src @x", &pkt, answers(0, 0, 0), false);
	assert_match_with("not src @x", &pkt, answers(0, 0, 0), false);
	assert_match_with("src @x", &pkt, answers(0, 1, 0), false);
	assert_match_with("not src @x", &pkt, answers(0, 1, 0), false);
	/* another lookup's answer says nothing of this one */
	assert_match_with("not src @x", &pkt, answers(2, 2, 0), false);
	assert_match_with("src @x", &pkt, answers(~1u, ~0u, 0), false);

	/* no answers at all: unknown, but the lookup was read */
	assert_false(matches_with("src @x", &pkt, NULL, &read));
	assert_int_equal(read, 1);
	assert_false(matches_with("not dst @x", &pkt, NULL, &read));
	assert_int_equal(read, 1);

	/* the other terms of the rule still count */
	assert_match_with("src @x proto tcp dport 80", &pkt, answers(1, 1, 0), true);
	assert_match_with("src @x proto tcp dport 81", &pkt, answers(1, 1, 0), false);
	assert_match_with("src @x not dst @y", &pkt, answers(3, 1, 0), true);
	assert_match_with("src @x not dst @y", &pkt, answers(3, 3, 0), false);
	assert_match_with("src @x not dst @y", &pkt, answers(1, 1, 0), false);
}

static void test_set_terms_need_no_packet_facts_and_carry_no_family(void **state)
{
	struct nfqd_packet none, v6 = udp("2001:db8::1", "2001:db8::2", 1, 2);

	(void)state;
	memset(&none, 0, sizeof(none));
	none.flags = NFQD_PKT_HAS_ID | NFQD_PKT_BAD_L3;
	/* the caller answers for a packet a set cannot hold; the policy takes the answer */
	assert_match_with("src @x", &none, answers(1, 1, 0), true);
	assert_match_with("not set @x src,dst", &none, answers(1, 0, 0), true);

	assert_match_with("proto icmp src @x", &v6, answers(1, 1, 0), false);
	assert_match_with("proto udp src @x", &v6, answers(1, 1, 0), true);
	assert_match_with("src 2001:db8::/32 dst @v4only", &v6, answers(1, 0, 0), false);
	assert_canonical("drop proto icmp src @x", "drop proto icmp src @x");
	assert_canonical("drop proto icmpv6 not dst @x src 2001:db8::/32",
			 "drop proto icmpv6 not dst @x src 2001:db8::/32");
}

static void test_failed_lookup_ends_evaluation_with_on_set_error_when_reached(void **state)
{
	static const char *const rules[] = {
		"accept proto udp src @a", /* 0: lookup 0, not reached by a tcp packet */
		"accept dst @b dport 22",  /* 1: lookup 1 */
		"drop src @c",		   /* 2: lookup 2 */
		"accept not src @d",	   /* 3: lookup 3 */
		NULL,
	};
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_set_answers a;
	struct nfqd_decision d;

	(void)state;
	/* a failure in a rule whose earlier term does not match is never reported */
	a = answers(0xe, 0, 0x1);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, 3, 0, 0xe);

	/* reached: the evaluation stops there, with what it read so far */
	a = answers(0x1, 0, 0x2);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_DROP, 1, NFQD_DECISION_SET_FAILED, 0x2);
	assert_int_equal(d.failed_lookup, 1);
	assert_int_equal(d.mark, 0);
	assert_int_equal(d.mark_mask, 0);

	a = answers(0x3, 0, 0x4);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_DROP, 2, NFQD_DECISION_SET_FAILED, 0x6);
	assert_int_equal(d.failed_lookup, 2);

	/* negated, it fails all the same; and the verdict is the on-set-error one */
	assert_int_equal(nfqd_policy_set_on_set_error(p, NF_ACCEPT), 0);
	a = answers(0x7, 0, 0x8);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, 3, NFQD_DECISION_SET_FAILED, 0xe);
	assert_int_equal(d.failed_lookup, 3);

	/* failed wins over a known bit set for the same lookup */
	a = answers(0xf, 0xf, 0x4);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, 2, NFQD_DECISION_SET_FAILED, 0x6);
	assert_int_equal(d.failed_lookup, 2);

	/* an earlier rule that matches decides before a failed lookup is reached */
	pkt.dport = 22;
	a = answers(0x2, 0x2, 0xc);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, 1, 0, 0x2);
	nfqd_policy_free(p);
}

static void test_failed_lookup_after_a_missing_term_of_the_same_rule_is_not_reached(void **state)
{
	static const char *const rules[] = {
		"drop dport 22 src @a", /* a term before the set term misses */
		"drop src @b dport 22", /* the set term comes first: reached */
		NULL,
	};
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_packet frag = make_pkt(L3P | NFQD_PKT_FRAGMENT | NFQD_PKT_FRAG_LATER,
					   "192.0.2.1", "192.0.2.2", IPPROTO_TCP, 0, 0);
	struct nfqd_set_answers a = answers(0, 0, 0x3);
	struct nfqd_decision d;

	(void)state;
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_DROP, 1, NFQD_DECISION_SET_FAILED, 0x2);
	assert_int_equal(d.failed_lookup, 1);

	/* a rule that needs a fact the packet lacks is not evaluated at all */
	eval(p, &frag, &a, &d);
	assert_decision(&d, NF_ACCEPT, -1, 0, 0);
	nfqd_policy_free(p);
}

static void test_lookups_read_covers_every_rule_evaluated(void **state)
{
	static const char *const rules[] = {
		"drop src @a dport 22",	  /* 0: lookup 0 */
		"drop proto udp dst @d",  /* 1: lookup 1, not reached by tcp */
		"drop dst @b not src @a", /* 2: lookups 2, 0 */
		"accept set @c src,dst",  /* 3: lookup 3 */
		NULL,
	};
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_set_answers a;
	struct nfqd_decision d;

	(void)state;
	a = answers(0xf, 0, 0);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, -1, 0, 0xd);

	/* rule 0 reads a and misses on dport; rule 2 reads b, misses: c decides */
	a = answers(0xf, 0x9, 0);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, 3, 0, 0xd);

	/* rule 2: b is a member, a is not: it matches before c is read */
	a = answers(0xf, 0x4, 0);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_DROP, 2, 0, 0x5);

	/* a rule's second set term is not read when its first misses */
	a = answers(0xf, 0x0, 0);
	pkt.dport = 22;
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, -1, 0, 0xd);
	a = answers(0xf, 0x1, 0);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_DROP, 0, 0, 0x1);

	/* nothing answered: every set term reached is read, none matches */
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, -1, 0, 0xd);
	nfqd_policy_free(p);
}

static void test_32_lookups_pass_and_the_33rd_is_e2big_leaving_the_policy_unchanged(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_set_answers a = answers(~0u, 1u << 31, 0);
	struct nfqd_policy_error err;
	struct nfqd_decision d;
	char text[128];

	(void)state;
	for (unsigned int i = 0; i < 16; i++) {
		snprintf(text, sizeof(text), "drop src @s%u not dst @s%u", i, i);
		add(p, text);
		snprintf(text, sizeof(text), "drop dst @s%u", i);
		add(p, text);
	}
	assert_int_equal(nfqd_policy_lookup_count(p), 32);
	assert_string_equal(nfqd_policy_lookup(p, 31)->text, "dst @s15");

	/* the 33rd distinct lookup is refused with its word; a known one is still fine */
	assert_int_equal(nfqd_policy_add_rule(p, "drop proto tcp src @s0 set @s0 src", &err),
			 -E2BIG);
	assert_string_equal(err.msg, "too many set lookups at '@s0': at most 32 per policy");
	assert_int_equal(err.word, 7);
	assert_int_equal(nfqd_policy_add_rule(p, "drop not src @new", &err), -E2BIG);
	assert_string_equal(err.msg, "too many set lookups at '@new': at most 32 per policy");
	assert_int_equal(err.word, 4);
	assert_int_equal(nfqd_policy_rule_count(p), 32);
	assert_int_equal(nfqd_policy_lookup_count(p), 32);
	add(p, "accept src @s3 dst @s15");
	assert_int_equal(nfqd_policy_rule_lookups(p, 32), (1u << 6) | (1u << 31));

	/* lookup 31 is bit 31 */
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_DROP, 31, 0, 0xffffffffu);
	nfqd_policy_free(p);
}

static void test_refused_rule_removes_the_lookups_and_interfaces_it_added(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_set_answers a = answers(0x3, 0x2, 0);
	struct nfqd_decision d;

	(void)state;
	add(p, "drop src @a iif eth0");
	assert_int_equal(nfqd_policy_add_rule(p, "drop src @new dst @a iif new0 dport 99999", NULL),
			 -EINVAL);
	assert_int_equal(nfqd_policy_add_rule(p, "drop oif new1 set @n2 src,dst set-mark 1", NULL),
			 -EINVAL);
	assert_int_equal(nfqd_policy_lookup_count(p), 1);
	assert_null(nfqd_policy_lookup(p, 1));
	assert_int_equal(nfqd_policy_iface_count(p), 1);
	assert_null(nfqd_policy_iface_name(p, 1));

	/* the next rule's rows take the places the refused one had */
	add(p, "accept dst @b oif eth1");
	assert_int_equal(nfqd_policy_lookup_count(p), 2);
	assert_string_equal(nfqd_policy_lookup(p, 1)->text, "dst @b");
	assert_string_equal(nfqd_policy_iface_name(p, 1), "eth1");
	nfqd_policy_iface_set_index(p, 1, 7);
	pkt.outdev = 7;
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, 1, 0, 0x2);
	nfqd_policy_free(p);
}

static void test_bad_set_names_and_sides_are_refused(void **state)
{
	static const char *const bad[] = { "src,foo", "SRC",	"src,",	   ",src", "src,,dst",
					   "s",	      "srcdst", "src;dst", "," };
	char name31[40], name32[40], text[128], msg[256];

	(void)state;
	assert_rule_error("drop src @", -EINVAL, 3,
			  "bad set '@' after 'src': missing the name after '@'");
	assert_rule_error("drop proto tcp not dst @", -EINVAL, 6,
			  "bad set '@' after 'dst': missing the name after '@'");
	assert_rule_error("drop set @ src", -EINVAL, 3,
			  "bad set '@' after 'set': missing the name after '@'");
	assert_rule_error("drop dst @a/b", -EINVAL, 3,
			  "bad set '@a/b' after 'dst': '/' is not allowed in a set name (only "
			  "letters, digits, '_', '.' and '-')");
	assert_rule_error("drop src @@x", -EINVAL, 3,
			  "bad set '@@x' after 'src': '@' is not allowed in a set name (only "
			  "letters, digits, '_', '.' and '-')");
	assert_rule_error("drop src @a,b", -EINVAL, 3,
			  "bad set '@a,b' after 'src': ',' is not allowed in a set name (only "
			  "letters, digits, '_', '.' and '-')");
	assert_rule_error("drop set blocklist src", -EINVAL, 3,
			  "bad set 'blocklist' after 'set': expected @NAME");

	memset(name31, 'n', 31);
	name31[31] = '\0';
	memset(name32, 'n', 32);
	name32[32] = '\0';
	snprintf(text, sizeof(text), "drop src @%s", name32);
	snprintf(msg, sizeof(msg),
		 "bad set '@%s' after 'src': the name is longer than 31 characters", name32);
	assert_rule_error(text, -EINVAL, 3, msg);
	snprintf(text, sizeof(text), "drop set @%s dst,dst,dst", name31);
	assert_canonical(text, text);
	assert_canonical("drop src @A-Z_a.z-09", "drop src @A-Z_a.z-09");

	assert_rule_error("drop set", -EINVAL, 2, "set: missing @NAME after 'set'");
	assert_rule_error("drop set @x", -EINVAL, 3, "set: missing sides after '@x'");
	assert_rule_error("drop not set @x \t", -EINVAL, 4, "set: missing sides after '@x'");
	assert_rule_error("drop set @x src,src,dst,dst", -EINVAL, 4,
			  "bad sides 'src,src,dst,dst' after '@x': at most 3 (a set has at most "
			  "3 dimensions)");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "drop set @x %s", bad[i]);
		snprintf(msg, sizeof(msg),
			 "bad sides '%s' after '@x': expected src or dst for each dimension, "
			 "comma-separated (src,dst)",
			 bad[i]);
		assert_rule_error(text, -EINVAL, 4, msg);
	}
	/* a blank ends the sides: what follows is the next match */
	assert_rule_error("drop set @x src dst", -EINVAL, 5, "dst: missing address after 'dst'");
}

static void test_meta_mark_compares_the_masked_packet_mark(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_set_answers none = answers(0, 0, 0);

	(void)state;
	pkt.mark = 0x1234;
	pkt.flags |= NFQD_PKT_HAS_MARK;
	assert_match_with("meta mark 0x1234", &pkt, none, true);
	assert_match_with("meta mark 4660", &pkt, none, true);
	assert_match_with("meta mark 0x1235", &pkt, none, false);
	assert_match_with("meta mark 0x34/0xff", &pkt, none, true);
	assert_match_with("meta mark 0x35/0xff", &pkt, none, false);
	assert_match_with("not meta mark 0x35/0xff", &pkt, none, true);
	assert_match_with("not meta mark 0x34/0xff", &pkt, none, false);
	assert_match_with("meta mark 0x1000/0xf000", &pkt, none, true);
	assert_match_with("meta mark 0/0", &pkt, none, true);
	assert_match_with("meta mark 0x0/0x8000", &pkt, none, true);

	/* the kernel leaves a zero mark out: it is 0, and known */
	pkt.mark = 0;
	pkt.flags &= ~(uint32_t)NFQD_PKT_HAS_MARK;
	assert_match_with("meta mark 0", &pkt, none, true);
	assert_match_with("not meta mark 0x1/0x1", &pkt, none, true);
	assert_match_with("meta mark 0x1/0x1", &pkt, none, false);

	pkt.mark = 0xffffffff;
	assert_match_with("meta mark 0xffffffff", &pkt, none, true);
	assert_match_with("meta mark 4294967295", &pkt, none, true);
	assert_match_with("meta mark 0x80000000/0x80000000", &pkt, none, true);
}

static void test_ct_mark_compares_the_connmark_and_is_unknown_without_one(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_set_answers none = answers(0, 0, 0);

	(void)state;
	/* no connmark: neither matches, whatever the value */
	assert_match_with("ct mark 0", &pkt, none, false);
	assert_match_with("not ct mark 0", &pkt, none, false);
	assert_match_with("not ct mark 0x10/0xf0", &pkt, none, false);
	assert_match_with("ct mark 0/0", &pkt, none, false);

	pkt.flags |= NFQD_PKT_HAS_CTMARK;
	pkt.ct_mark = 0x10;
	assert_match_with("ct mark 0x10/0xf0", &pkt, none, true);
	assert_match_with("ct mark 16", &pkt, none, true);
	assert_match_with("ct mark 0x20/0xf0", &pkt, none, false);
	assert_match_with("not ct mark 0x20/0xf0", &pkt, none, true);
	assert_match_with("ct mark 0", &pkt, none, false);
	pkt.ct_mark = 0;
	assert_match_with("ct mark 0", &pkt, none, true);
	assert_match_with("not ct mark 0x10/0xf0", &pkt, none, true);

	/* the packet mark and the connmark are different things */
	pkt.mark = 0x10;
	assert_match_with("ct mark 0x10", &pkt, none, false);
	assert_match_with("meta mark 0x10 ct mark 0", &pkt, none, true);
}

static void test_reading_a_mark_makes_the_decision_per_packet(void **state)
{
	static const char *const rules[] = {
		"drop proto udp meta mark 0x1", /* 0: reached only by udp */
		"drop ct mark 0x2",		/* 1: reached only with a connmark */
		"accept dport 22",		/* 2 */
		"drop not meta mark 0x4/0x4",	/* 3 */
		NULL,
	};
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 22);
	struct nfqd_decision d;

	(void)state;
	/* decided before any mark is read */
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 2, 0, 0);

	/* a connmark rule read and missed: the decision of a later rule depends on it */
	pkt.flags |= NFQD_PKT_HAS_CTMARK;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 2, NFQD_DECISION_PER_PACKET, 0);
	pkt.ct_mark = 2;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 1, NFQD_DECISION_PER_PACKET, 0);

	/* the default after a mark was read */
	pkt.flags &= ~(uint32_t)NFQD_PKT_HAS_CTMARK;
	pkt.dport = 80;
	pkt.mark = 4;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, -1, NFQD_DECISION_PER_PACKET, 0);
	pkt.mark = 0;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 3, NFQD_DECISION_PER_PACKET, 0);

	/* udp reaches the meta mark of rule 0 */
	pkt = udp("192.0.2.1", "192.0.2.2", 1000, 22);
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 2, NFQD_DECISION_PER_PACKET, 0);
	nfqd_policy_free(p);
}

static void test_bad_marks_are_refused_with_the_word_quoted(void **state)
{
	static const char *const junk[] = { "x",    "0x",  "0x/1",  "1/",  "/1",  "-1",
					    "+1",   "0xg", "1/2/3", "1.5", "0b1", "0x1/",
					    "1/0x", "1e3", "0x-1",  "/" };
	char text[128], msg[256];

	(void)state;
	assert_rule_error("drop ct mark 0x11/0x10", -EINVAL, 4,
			  "ct mark '0x11/0x10': value 0x11 has bits outside mask 0x10");
	assert_rule_error("drop not meta mark 3/1", -EINVAL, 5,
			  "meta mark '3/1': value 0x3 has bits outside mask 0x1");
	assert_rule_error("drop meta mark 1/0", -EINVAL, 4,
			  "meta mark '1/0': value 0x1 has bits outside mask 0x0");
	assert_rule_error("drop meta mark 0x100000000", -EINVAL, 4,
			  "bad mark '0x100000000' after 'meta mark': must be at most 0xffffffff");
	assert_rule_error("drop ct mark 4294967296", -EINVAL, 4,
			  "bad mark '4294967296' after 'ct mark': must be at most 0xffffffff");
	assert_rule_error("drop ct mark 1/0x1ffffffff", -EINVAL, 4,
			  "bad mark '1/0x1ffffffff' after 'ct mark': must be at most 0xffffffff");
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(text, sizeof(text), "drop proto tcp meta mark %s", junk[i]);
		snprintf(msg, sizeof(msg),
			 "bad mark '%s' after 'meta mark': expected VALUE[/MASK], in hex (0x...) "
			 "or decimal",
			 junk[i]);
		assert_rule_error(text, -EINVAL, 6, msg);
	}

	assert_rule_error("drop ct", -EINVAL, 2, "ct: missing 'mark' after 'ct'");
	assert_rule_error("drop not meta", -EINVAL, 3, "meta: missing 'mark' after 'meta'");
	assert_rule_error("drop ct state new", -EINVAL, 3,
			  "unknown match 'ct state': expected ct mark");
	assert_rule_error("drop meta 0x1", -EINVAL, 3,
			  "unknown match 'meta 0x1': expected meta mark");
	assert_rule_error("drop ct mark", -EINVAL, 3, "ct mark: missing value after 'mark'");
	assert_rule_error("drop not meta mark", -EINVAL, 4,
			  "meta mark: missing value after 'mark'");
	assert_rule_error("drop mark 1", -EINVAL, 2, "unknown match 'mark'");
}

static void test_marks_are_printed_in_hex_with_a_full_mask_left_out(void **state)
{
	(void)state;
	assert_canonical("accept ct mark 16/240", "accept ct mark 0x10/0xf0");
	assert_canonical("accept ct mark 0x10/0xf0", "accept ct mark 0x10/0xf0");
	assert_canonical("accept meta mark 0X1F/0XFF", "accept meta mark 0x1f/0xff");
	assert_canonical("accept meta mark 0x0000001f", "accept meta mark 0x1f");
	assert_canonical("accept meta mark 0xffffffff/0xffffffff", "accept meta mark 0xffffffff");
	assert_canonical("accept meta mark 4294967295", "accept meta mark 0xffffffff");
	assert_canonical("accept meta mark 0", "accept meta mark 0x0");
	assert_canonical("accept meta mark 0/0", "accept meta mark 0x0/0x0");
	assert_canonical("accept not ct mark 007", "accept not ct mark 0x7");
	assert_canonical("accept set-mark 256/0x100", "accept set-mark 0x100/0x100");
	assert_canonical("accept set-mark 1/0xFFFFFFFF", "accept set-mark 0x1");
}

static void test_policy_marks_are_the_union_of_the_masks_and_the_first_rules(void **state)
{
	static const char *const rules[] = {
		"accept proto tcp",			     /* 0 */
		"drop meta mark 0x1/0xf",		     /* 1 */
		"drop ct mark 0x100/0x100",		     /* 2 */
		"drop not meta mark 0x10/0xf0",		     /* 3 */
		"accept set-mark 0x1000/0xf000",	     /* 4 */
		"accept ct mark 0/0x20000 set-mark 0x1/0x1", /* 5 */
		NULL,
	};
	struct nfqd_policy *p = new_policy();
	struct nfqd_policy_marks m;

	(void)state;
	memset(&m, 0x55, sizeof(m));
	nfqd_policy_marks(p, &m);
	assert_int_equal(m.meta_mask, 0);
	assert_int_equal(m.ct_mask, 0);
	assert_int_equal(m.set_mask, 0);
	assert_int_equal(m.meta_rule, -1);
	assert_int_equal(m.ct_rule, -1);
	assert_int_equal(m.set_rule, -1);
	nfqd_policy_free(p);

	p = policy_of(rules);
	/* refused rules change nothing */
	assert_int_equal(nfqd_policy_add_rule(p, "accept meta mark 0x1/0x1000000 dport x", NULL),
			 -EINVAL);
	assert_int_equal(nfqd_policy_add_rule(p, "drop set-mark 0x1", NULL), -EINVAL);
	nfqd_policy_marks(p, &m);
	assert_int_equal(m.meta_mask, 0xff);
	assert_int_equal(m.meta_rule, 1);
	assert_int_equal(m.ct_mask, 0x20100);
	assert_int_equal(m.ct_rule, 2);
	assert_int_equal(m.set_mask, 0xf001);
	assert_int_equal(m.set_rule, 4);

	add(p, "accept set-mark 0x2");
	nfqd_policy_marks(p, &m);
	assert_int_equal(m.set_mask, 0xffffffff);
	assert_int_equal(m.set_rule, 4);
	nfqd_policy_free(p);

	/* a zero mask still says which rule reads the mark first */
	p = new_policy();
	add(p, "accept meta mark 0/0");
	nfqd_policy_marks(p, &m);
	assert_int_equal(m.meta_mask, 0);
	assert_int_equal(m.meta_rule, 0);
	assert_int_equal(m.ct_rule, -1);
	nfqd_policy_free(p);
}

static void test_set_mark_is_applied_with_accept_and_makes_the_decision_per_packet(void **state)
{
	static const char *const rules[] = {
		"accept not src @blocklist set-mark 0x100/0x100",
		"accept set-mark 7 dport 22",
		"drop",
		NULL,
	};
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 22);
	struct nfqd_set_answers a = answers(1, 0, 0);
	struct nfqd_decision d;

	(void)state;
	assert_string_equal(nfqd_policy_rule_text(p, 0),
			    "accept not src @blocklist set-mark 0x100/0x100");
	assert_string_equal(nfqd_policy_rule_text(p, 1), "accept dport 22 set-mark 0x7");

	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, 0, NFQD_DECISION_SET_MARK | NFQD_DECISION_PER_PACKET, 1);
	assert_int_equal(d.mark, 0x100);
	assert_int_equal(d.mark_mask, 0x100);

	a = answers(1, 1, 0);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_ACCEPT, 1, NFQD_DECISION_SET_MARK | NFQD_DECISION_PER_PACKET, 1);
	assert_int_equal(d.mark, 7);
	assert_int_equal(d.mark_mask, 0xffffffff);

	/* a rule that does not match sets no mark */
	pkt.dport = 80;
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_DROP, 2, 0, 1);
	nfqd_policy_free(p);

	/* set-mark goes after the matches, wherever it was written */
	assert_canonical("accept set-mark 0x1 proto tcp not dport 22",
			 "accept proto tcp not dport 22 set-mark 0x1");
	assert_canonical("accept set-mark 0x1", "accept set-mark 0x1");
}

static void test_set_mark_is_refused_other_than_once_with_accept(void **state)
{
	(void)state;
	assert_rule_error("drop set-mark 0x1", -EINVAL, 2,
			  "unexpected 'set-mark' in a drop rule: set-mark is allowed only with "
			  "accept");
	assert_rule_error("queue 3 proto tcp set-mark 0x1", -EINVAL, 5,
			  "unexpected 'set-mark' in a queue 3 rule: set-mark is allowed only with "
			  "accept");
	assert_rule_error("accept set-mark 1 proto tcp set-mark 2", -EINVAL, 6,
			  "unexpected second 'set-mark': at most one per rule");
	assert_rule_error("accept set-mark 1 set-mark 1", -EINVAL, 4,
			  "unexpected second 'set-mark': at most one per rule");
	assert_rule_error("accept set-mark", -EINVAL, 2,
			  "set-mark: missing value after 'set-mark'");
	assert_rule_error("accept proto udp set-mark \t", -EINVAL, 4,
			  "set-mark: missing value after 'set-mark'");
	assert_rule_error("accept set-mark 0x3/0x1", -EINVAL, 3,
			  "set-mark '0x3/0x1': value 0x3 has bits outside mask 0x1");
	assert_rule_error("accept set-mark x", -EINVAL, 3,
			  "bad mark 'x' after 'set-mark': expected VALUE[/MASK], in hex (0x...) or "
			  "decimal");
	assert_rule_error("accept set-mark 0x100000000", -EINVAL, 3,
			  "bad mark '0x100000000' after 'set-mark': must be at most 0xffffffff");
	assert_rule_error("accept not set-mark 1", -EINVAL, 3,
			  "unexpected 'set-mark' after 'not': an action cannot be negated");
	assert_rule_error("accept set-mark 1 not", -EINVAL, 4, "missing match after 'not'");
}

static void test_set_mark_does_not_count_against_the_terms_of_a_rule(void **state)
{
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1, 80);
	struct nfqd_policy *p = new_policy();
	struct nfqd_decision d;
	char text[1024];
	size_t len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), "accept");
	for (int i = 0; i < 16; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, " not dport %d", 1000 + i);
	snprintf(text + len, sizeof(text) - len, " set-mark 0xffffffff/0xffffffff");
	add(p, text);
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 0, NFQD_DECISION_SET_MARK | NFQD_DECISION_PER_PACKET, 0);
	assert_int_equal(d.mark, 0xffffffff);
	assert_int_equal(d.mark_mask, 0xffffffff);
	nfqd_policy_free(p);
}

static void test_interfaces_are_named_once_and_matched_by_their_current_index(void **state)
{
	static const char *const rules[] = {
		"drop iif eth0 proto udp", /* 0 */
		"drop oif eth1",	   /* 1 */
		"accept iif eth1",	   /* 2 */
		"drop not oif eth0",	   /* 3 */
		NULL,
	};
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet pkt = udp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_decision d;

	(void)state;
	assert_int_equal(nfqd_policy_iface_count(p), 2);
	assert_string_equal(nfqd_policy_iface_name(p, 0), "eth0");
	assert_string_equal(nfqd_policy_iface_name(p, 1), "eth1");
	assert_null(nfqd_policy_iface_name(p, 2));
	assert_null(nfqd_policy_iface_name(p, 0xffffffffu));

	/* no interface exists yet: nothing matches by name; `not oif` matches a known outdev */
	pkt.indev = 2;
	pkt.outdev = 3;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 3, 0, 0);

	nfqd_policy_iface_set_index(p, 0, 2);
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 0, 0, 0);

	/* the index moves (the interface was recreated): the next evaluation follows it */
	nfqd_policy_iface_set_index(p, 0, 3);
	nfqd_policy_iface_set_index(p, 1, 2);
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 2, 0, 0);
	pkt.outdev = 2;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 1, 0, 0);

	/* gone again */
	nfqd_policy_iface_set_index(p, 0, 0);
	nfqd_policy_iface_set_index(p, 1, 0);
	pkt.outdev = 3;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 3, 0, 0);

	/* out of range is ignored */
	nfqd_policy_iface_set_index(p, 2, 3);
	nfqd_policy_iface_set_index(p, 0xffffffffu, 3);
	nfqd_policy_free(p);
}

static void test_unknown_interfaces_of_a_packet_match_neither_plain_nor_negated(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_decision d;

	(void)state;
	add(p, "drop oif lo");
	add(p, "queue 1 not oif lo");
	add(p, "drop iif lo");
	add(p, "accept not iif lo");
	nfqd_policy_iface_set_index(p, 0, 1);

	/* no outdev (input path), no indev (locally generated): both unknown */
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, -1, 0, 0);
	assert_int_equal(nfqd_policy_set_default(p, NF_DROP), 0);
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, -1, 0, 0);

	pkt.indev = 1;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 2, 0, 0);
	pkt.indev = 5;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 3, 0, 0);
	pkt.indev = 0;
	pkt.outdev = 5;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, QUEUE_NR(1), 1, NFQD_DECISION_PER_PACKET, 0);
	pkt.outdev = 1;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 0, 0, 0);

	/* index 0: the interface does not exist now; `not` matches a known interface only */
	nfqd_policy_iface_set_index(p, 0, 0);
	pkt.indev = 1;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, QUEUE_NR(1), 1, NFQD_DECISION_PER_PACKET, 0);
	pkt.outdev = 0;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 3, 0, 0);
	nfqd_policy_free(p);
}

static void test_64_interfaces_pass_and_the_65th_is_e2big(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 80);
	struct nfqd_policy_error err;
	struct nfqd_decision d;
	char text[64];

	(void)state;
	for (unsigned int i = 0; i < 64; i++) {
		snprintf(text, sizeof(text), "drop %s if%u", i % 2 ? "oif" : "iif", i);
		add(p, text);
	}
	assert_int_equal(nfqd_policy_iface_count(p), 64);
	assert_string_equal(nfqd_policy_iface_name(p, 63), "if63");
	assert_int_equal(nfqd_policy_add_rule(p, "drop proto tcp not iif if64", &err), -E2BIG);
	assert_string_equal(err.msg, "too many interfaces at 'if64': at most 64 per policy");
	assert_int_equal(err.word, 6);
	assert_int_equal(nfqd_policy_iface_count(p), 64);
	assert_int_equal(nfqd_policy_rule_count(p), 64);
	add(p, "accept iif if63 oif if0");

	nfqd_policy_iface_set_index(p, 63, 9);
	nfqd_policy_iface_set_index(p, 0, 8);
	pkt.indev = 9;
	pkt.outdev = 8;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 64, 0, 0);
	pkt.outdev = 9;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_DROP, 63, 0, 0);
	nfqd_policy_free(p);
}

static void test_bad_interface_names_are_refused(void **state)
{
	(void)state;
	assert_rule_error("drop iif", -EINVAL, 2, "iif: missing interface after 'iif'");
	assert_rule_error("drop not oif ", -EINVAL, 3, "oif: missing interface after 'oif'");
	assert_rule_error("drop iif abcdefghijklmnop", -EINVAL, 3,
			  "bad interface 'abcdefghijklmnop' after 'iif': longer than 15 "
			  "characters");
	assert_canonical("drop iif abcdefghijklmno", "drop iif abcdefghijklmno");
	assert_rule_error("drop oif a/b", -EINVAL, 3,
			  "bad interface 'a/b' after 'oif': '/' is not allowed in an interface "
			  "name");
	assert_rule_error("drop iif eth0:1", -EINVAL, 3,
			  "bad interface 'eth0:1' after 'iif': ':' is not allowed in an interface "
			  "name");
	assert_rule_error("drop iif eth\n0", -EINVAL, 3,
			  "bad interface 'eth\n0' after 'iif': control characters and blanks are "
			  "not allowed in an interface name");
	assert_rule_error("drop iif .", -EINVAL, 3,
			  "bad interface '.' after 'iif': not an interface name");
	assert_rule_error("drop oif ..", -EINVAL, 3,
			  "bad interface '..' after 'oif': not an interface name");
	assert_rule_error("drop iif eth+", -EINVAL, 3,
			  "bad interface 'eth+' after 'iif': wildcards are not supported, name one "
			  "interface");
	assert_canonical("drop iif br-lan.10", "drop iif br-lan.10");
	assert_canonical("drop oif ...", "drop oif ...");
	assert_canonical("drop oif a+b", "drop oif a+b");
}

static void test_every_decision_field_is_written_on_every_path(void **state)
{
	static const char *const rules[] = { "accept dport 22", "drop src @a", NULL };
	struct nfqd_policy *p = policy_of(rules);
	struct nfqd_packet pkt = tcp("192.0.2.1", "192.0.2.2", 1000, 22);
	struct nfqd_set_answers a = answers(0, 0, 1);
	struct nfqd_decision d;

	(void)state;
	/* eval() fills d with 0x55 first: assert_decision checks mark, mask and failed_lookup */
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, 0, 0, 0);
	pkt.dport = 80;
	eval(p, &pkt, NULL, &d);
	assert_decision(&d, NF_ACCEPT, -1, 0, 1);
	eval(p, &pkt, &a, &d);
	assert_decision(&d, NF_DROP, 1, NFQD_DECISION_SET_FAILED, 1);
	assert_int_equal(d.failed_lookup, 0);
	assert_int_equal(d.mark, 0);
	assert_int_equal(d.mark_mask, 0);
	nfqd_policy_free(p);
}

static void test_new_items_in_canonical_text_parse_back_to_themselves(void **state)
{
	static const char *const rules[] = {
		"accept not src @blocklist set-mark 0x100/0x100",
		"queue 3 proto udp dport 53",
		"accept ct mark 0x10/0xf0",
		"drop  set @svc   src,dst,dst\tproto tcp",
		"queue 65535 not dst @x iif eth0 not oif wg0",
		"accept meta mark 0/0 ct mark 4294967295 set-mark 1/1",
		"accept set-mark 0x8000/0xc000 src 10.0.0.0/8 not ct mark 0x1/0x1",
		"drop proto icmp src @x dst @y set @z dst",
		"queue 0",
	};
	static const char *const expect[] = {
		"accept not src @blocklist set-mark 0x100/0x100",
		"queue 3 proto udp dport 53",
		"accept ct mark 0x10/0xf0",
		"drop set @svc src,dst,dst proto tcp",
		"queue 65535 not dst @x iif eth0 not oif wg0",
		"accept meta mark 0x0/0x0 ct mark 0xffffffff set-mark 0x1/0x1",
		"accept src 10.0.0.0/8 not ct mark 0x1/0x1 set-mark 0x8000/0xc000",
		"drop proto icmp src @x dst @y set @z dst",
		"queue 0",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char *once = canonical(rules[i]);
		char *twice = canonical(once);

		assert_string_equal(once, expect[i]);
		assert_string_equal(twice, once);
		free(once);
		free(twice);
	}
}

/*
 * Lint: compile the rules (a NULL-terminated list) and return the findings as text, one line
 * per finding: "RULE never: MSG" or "RULE shadowed by BY: MSG" (1-based rule numbers).
 */
static const char *lint_of(const char *const *rules)
{
	static char buf[4096];
	struct nfqd_policy_lint found[16];
	struct nfqd_policy_error err;
	struct nfqd_policy *p;
	size_t off = 0;
	int n;

	assert_int_equal(nfqd_policy_new(&p), 0);
	for (unsigned int i = 0; rules[i]; i++)
		if (nfqd_policy_add_rule(p, rules[i], &err) < 0)
			fail_msg("rule '%s' refused: %s", rules[i], err.msg);
	n = nfqd_policy_lint(p, found, 16);
	assert_true(n >= 0 && n <= 16);
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (found[i].kind == NFQD_LINT_NEVER_MATCHES) {
			assert_int_equal(found[i].by, -1);
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%u never: %s\n",
						found[i].rule + 1, found[i].msg);
		} else {
			assert_int_equal(found[i].kind, NFQD_LINT_SHADOWED);
			assert_true(found[i].by >= 0 && (unsigned int)found[i].by < found[i].rule);
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						"%u shadowed by %d: %s\n", found[i].rule + 1,
						found[i].by + 1, found[i].msg);
		}
	}
	nfqd_policy_free(p);
	return buf;
}

#define LINT(...) lint_of((const char *const[]){ __VA_ARGS__, NULL })

static void test_lint_finds_terms_that_cannot_both_hold(void **state)
{
	(void)state;
	assert_string_equal(LINT("drop dport 5 dport 6"),
			    "1 never: can never match: no packet matches both 'dport 5' and "
			    "'dport 6'\n");
	assert_string_equal(LINT("accept proto tcp", "drop src 10.0.0.0/8 src 11.0.0.0/8"),
			    "2 never: can never match: no packet matches both 'src 10.0.0.0/8' "
			    "and 'src 11.0.0.0/8'\n");
	assert_string_equal(LINT("drop sport 1-10 sport 11-20"),
			    "1 never: can never match: no packet matches both 'sport 1-10' and "
			    "'sport 11-20'\n");
	assert_string_equal(LINT("drop proto tcp not proto tcp"),
			    "1 never: can never match: every packet that matches 'proto tcp' "
			    "fails 'not proto tcp'\n");
	/* the negated term first: the order of the terms does not matter */
	assert_string_equal(LINT("drop not src 10.0.0.0/8 src 10.1.0.0/16"),
			    "1 never: can never match: every packet that matches 'src "
			    "10.1.0.0/16' fails 'not src 10.0.0.0/8'\n");
	assert_string_equal(LINT("drop sport 1-5 not sport 0-10"),
			    "1 never: can never match: every packet that matches 'sport 1-5' "
			    "fails 'not sport 0-10'\n");
	assert_string_equal(LINT("drop meta mark 0x1/0x1 meta mark 0x0/0x3"),
			    "1 never: can never match: no packet matches both 'meta mark "
			    "0x1/0x1' and 'meta mark 0x0/0x3'\n");
	assert_string_equal(LINT("drop ct mark 0x12/0xff not ct mark 0x10/0xf0"),
			    "1 never: can never match: every packet that matches 'ct mark "
			    "0x12/0xff' fails 'not ct mark 0x10/0xf0'\n");
	assert_string_equal(LINT("drop iif eth0 iif eth1"),
			    "1 never: can never match: no packet matches both 'iif eth0' and "
			    "'iif eth1'\n");
	assert_string_equal(LINT("drop src @a proto tcp not src @a"),
			    "1 never: can never match: every packet that matches 'src @a' fails "
			    "'not src @a'\n");
	/* the negation of what always holds */
	assert_string_equal(LINT("drop proto tcp not dport 0-65535"),
			    "1 never: can never match: no packet matches 'not dport 0-65535'\n");
	assert_string_equal(LINT("drop not src ::/0"),
			    "1 never: can never match: no packet matches 'not src ::/0'\n");
	assert_string_equal(LINT("drop not meta mark 0x0/0x0"),
			    "1 never: can never match: no packet matches 'not meta mark "
			    "0x0/0x0'\n");
	assert_string_equal(LINT("drop dst 2001:db8::/32 dst 2001:db9::/32"),
			    "1 never: can never match: no packet matches both 'dst 2001:db8::/32' "
			    "and 'dst 2001:db9::/32'\n");
}

static void test_lint_passes_over_terms_that_may_both_hold(void **state)
{
	(void)state;
	assert_string_equal(
		LINT("drop src 10.0.0.0/8 src 10.1.0.0/16", "drop dport 5 sport 6",
		     "drop dport 1-10 dport 10-20", "drop iif eth0 oif eth1",
		     "drop not dport 5 not dport 6", "drop not src 10.1.0.0/16 src 10.0.0.0/8",
		     "drop meta mark 0x1/0x1 meta mark 0x2/0x2", "drop src @a not src @b",
		     "drop src @a not dst @a", "drop ct mark 0x10/0xf0 not ct mark 0x12/0xff"),
		"");
}

static void test_lint_finds_rules_an_earlier_rule_shadows(void **state)
{
	(void)state;
	/* a catch-all shadows everything after it */
	assert_string_equal(LINT("accept", "drop proto tcp", "drop"),
			    "2 shadowed by 1: is never reached: rule 1 'accept' before it matches "
			    "every packet it matches\n"
			    "3 shadowed by 1: is never reached: rule 1 'accept' before it matches "
			    "every packet it matches\n");
	assert_string_equal(LINT("drop src 10.0.0.0/8", "accept src 10.1.0.0/16 proto tcp"),
			    "2 shadowed by 1: is never reached: rule 1 'drop src 10.0.0.0/8' "
			    "before it matches every packet it matches\n");
	/* the first earlier rule that covers it is named */
	assert_string_equal(LINT("drop proto udp", "drop dport 1-1023", "drop dport 80",
				 "accept proto tcp dport 80 src 192.0.2.0/24"),
			    "3 shadowed by 2: is never reached: rule 2 'drop dport 1-1023' before "
			    "it matches every packet it matches\n"
			    "4 shadowed by 2: is never reached: rule 2 'drop dport 1-1023' before "
			    "it matches every packet it matches\n");
	/* not dport 22 holds for every packet with dport 80 */
	assert_string_equal(LINT("drop not dport 22", "accept proto tcp dport 80"),
			    "2 shadowed by 1: is never reached: rule 1 'drop not dport 22' before "
			    "it matches every packet it matches\n");
	/* a packet outside 1-1023 is outside 1-100 */
	assert_string_equal(LINT("drop not dport 1-100", "accept not dport 1-1023"),
			    "2 shadowed by 1: is never reached: rule 1 'drop not dport 1-100' "
			    "before it matches every packet it matches\n");
	/* a failed lookup stops at the earlier rule too */
	assert_string_equal(LINT("drop src @a", "accept proto tcp src @a"),
			    "2 shadowed by 1: is never reached: rule 1 'drop src @a' before it "
			    "matches every packet it matches\n");
	assert_string_equal(LINT("drop meta mark 0x10/0xf0", "accept meta mark 0x12/0xff"),
			    "2 shadowed by 1: is never reached: rule 1 'drop meta mark 0x10/0xf0' "
			    "before it matches every packet it matches\n");
	assert_string_equal(LINT("queue 3 proto udp", "queue 3 proto udp dport 53"),
			    "2 shadowed by 1: is never reached: rule 1 'queue 3 proto udp' before "
			    "it matches every packet it matches\n");
	/* a rule that can never match is reported as such, not as shadowed */
	assert_string_equal(LINT("accept", "drop dport 5 dport 6"),
			    "2 never: can never match: no packet matches both 'dport 5' and "
			    "'dport 6'\n");
}

static void test_lint_passes_over_rules_an_earlier_rule_does_not_cover(void **state)
{
	(void)state;
	assert_string_equal(LINT("drop src 10.1.0.0/16", "accept src 10.0.0.0/8"), "");
	assert_string_equal(LINT("drop not dport 22", "accept proto tcp"), "");
	assert_string_equal(LINT("drop not dport 1-1023", "accept not dport 1-100"), "");
	/* an IPv4 packet leaves 'not src IPv6-prefix' unknown: no match */
	assert_string_equal(LINT("drop not src 2001:db8::/32", "accept src 10.0.0.0/8"), "");
	/* queue 3 passes over packets read from queue 3 */
	assert_string_equal(LINT("queue 3", "accept proto tcp"), "");
	assert_string_equal(LINT("drop src @a", "accept src @b"), "");
	assert_string_equal(LINT("drop iif eth0", "accept iif eth1"), "");
	assert_string_equal(LINT("drop meta mark 0x12/0xff", "accept meta mark 0x10/0xf0"), "");
	assert_string_equal(LINT("drop proto tcp dport 80", "accept dport 80"), "");
}

/* Evaluate a sweep of packets (TCP and UDP, every port of a spread, three sources): none is
 * decided by a rule marked dead. */
static void assert_dead_rules_decide_nothing(const struct nfqd_policy *p, const bool *dead)
{
	static const char *const srcs[] = { "10.1.2.3", "10.2.0.1", "192.0.2.1" };

	for (unsigned int port = 0; port < 65536; port += 1 + port / 64) {
		for (unsigned int s = 0; s < 3; s++) {
			struct nfqd_packet pk[2] = {
				tcp(srcs[s], "192.0.2.9", 1000, (uint16_t)port),
				udp(srcs[s], "192.0.2.9", 1000, (uint16_t)port)
			};

			for (int k = 0; k < 2; k++) {
				struct nfqd_decision d;

				nfqd_policy_eval(p, &pk[k], NULL, &d);
				if (d.rule >= 0 && dead[d.rule])
					fail_msg("rule %d decided port %u from %s", d.rule + 1,
						 port, srcs[s]);
			}
		}
	}
}

/* The findings hold against evaluation: the rules reported never decide a packet. */
static void test_lint_findings_agree_with_evaluation(void **state)
{
	static const char *const rules[] = { "drop not dport 22",
					     "accept proto tcp dport 80",
					     "drop src 10.0.0.0/8",
					     "accept src 10.1.0.0/16",
					     "drop dport 5 dport 6",
					     "drop not dport 0-65535",
					     "drop proto udp not dport 1-100 dport 50-60",
					     NULL };
	struct nfqd_policy_lint found[8];
	struct nfqd_policy *p;
	bool dead[8] = { false };
	int n;

	(void)state;
	assert_int_equal(nfqd_policy_new(&p), 0);
	for (unsigned int i = 0; rules[i]; i++)
		assert_int_equal(nfqd_policy_add_rule(p, rules[i], NULL), 0);
	n = nfqd_policy_lint(p, found, 8);
	assert_int_equal(n, 5); /* rules 2, 4, 5, 6, 7 */
	for (int i = 0; i < n; i++)
		dead[found[i].rule] = true;
	assert_true(dead[1] && dead[3] && dead[4] && dead[5] && dead[6]);
	assert_dead_rules_decide_nothing(p, dead);
	/* with room for one finding, the count is still all of them */
	assert_int_equal(nfqd_policy_lint(p, found, 1), 5);
	assert_int_equal(found[0].rule, 1);
	assert_int_equal(nfqd_policy_lint(p, NULL, 0), 5);
	nfqd_policy_free(p);

	/* each rule that can never match, alone: no earlier rule takes the packets from it */
	for (unsigned int i = 4; rules[i]; i++) {
		bool alone[1] = { true };

		assert_int_equal(nfqd_policy_new(&p), 0);
		assert_int_equal(nfqd_policy_add_rule(p, rules[i], NULL), 0);
		assert_int_equal(nfqd_policy_lint(p, found, 8), 1);
		assert_int_equal(found[0].kind, NFQD_LINT_NEVER_MATCHES);
		assert_dead_rules_decide_nothing(p, alone);
		nfqd_policy_free(p);
	}
}

/* The compiled rule i of p. */
static const struct nfqd_rule *compiled_rule(const struct nfqd_policy *p, unsigned int i)
{
	unsigned int n;
	const struct nfqd_rule *rules = nfqd_policy_rules(p, &n);

	assert_true(i < n);
	return &rules[i];
}

/* Rule i's guard makes the checks and leaves the terms rest[0..nrest) to be evaluated. */
static void assert_guard(const struct nfqd_policy *p, unsigned int i, uint8_t checks,
			 unsigned int nrest, const uint8_t *rest)
{
	const struct nfqd_rule *r = compiled_rule(p, i);

	if (r->guard.checks != checks || r->nrest != nrest)
		fail_msg("rule '%s': guard checks 0x%x, %u terms left; expected 0x%x, %u",
			 nfqd_policy_rule_text(p, i), r->guard.checks, r->nrest, checks, nrest);
	for (unsigned int j = 0; j < nrest; j++)
		if (r->rest[j] != rest[j])
			fail_msg("rule '%s': term left %u is %u, expected %u",
				 nfqd_policy_rule_text(p, i), j, r->rest[j], rest[j]);
}

/*
 * A rule's positive proto, port and prefix terms before its first set or mark term are compared
 * by its guard, not evaluated one by one; negated terms, interfaces, a second term of a kind and
 * every term after a set or mark term are left in their order.
 */
static void test_guard_takes_the_leading_pure_terms_and_leaves_the_rest_in_order(void **state)
{
	static const uint8_t none[1] = { 0 };
	static const uint8_t all3[] = { 0, 1, 2 };
	static const uint8_t after_ct[] = { 1, 2 };
	static const uint8_t mixed[] = { 0, 2, 3 };
	static const uint8_t second_src[] = { 1 };
	struct nfqd_policy *p = new_policy();

	(void)state;
	add(p, "accept proto udp src 10.199.0.0/24 dport 5000-5099 sport 1024-65535");
	add(p, "drop src @x proto udp dport 53");
	add(p, "accept proto tcp ct mark 0x10/0x10 dport 22");
	add(p, "drop not proto tcp dport 5 dport 1-10 iif eth0");
	add(p, "accept meta mark 0x1/0x1 dst 2001:db8::/32");
	assert_guard(p, 0, NFQD_GUARD_PROTO | NFQD_GUARD_SRC | NFQD_GUARD_DPORT | NFQD_GUARD_SPORT,
		     0, none);
	assert_guard(p, 1, 0, 3, all3);
	assert_guard(p, 2, NFQD_GUARD_PROTO, 2, after_ct);
	assert_guard(p, 3, NFQD_GUARD_DPORT, 3, mixed);
	assert_guard(p, 4, 0, 2, all3);
	nfqd_policy_free(p);

	/* a second src prefix, necessarily of the same family (others are refused) */
	p = new_policy();
	add(p, "drop src 10.0.0.0/8 src 10.1.0.0/16");
	assert_guard(p, 0, NFQD_GUARD_SRC, 1, second_src);
	nfqd_policy_free(p);
}

/* The rule index's candidates for pkt, given a connmark and an input interface, under p. */
static uint64_t candidates(const struct nfqd_policy *p, struct nfqd_packet pkt)
{
	const struct nfqd_rule_index *ix = nfqd_policy_rule_index(p);

	pkt.flags |= NFQD_PKT_HAS_CTMARK;
	pkt.indev = 5;
	return nfqd_rule_index_candidates(ix, &pkt, nfqd_packet_facts(&pkt));
}

/*
 * Of a realistic 20-rule policy, the index leaves to term evaluation only the rules a packet
 * meets the need and guard of: the two set rules and the ct mark rule (no guard) and the one
 * accept rule whose protocol, ports and prefixes it has; the prefix, port, protocol and
 * other-family rules are left out without a term of theirs evaluated.
 */
static void test_index_leaves_out_the_rules_a_packet_cannot_meet(void **state)
{
	static const char *const rules[] = {
		"drop src @blocklist",
		"drop dst @blocklist",
		"drop src 0.0.0.0/8",
		"drop src 127.0.0.0/8 not iif lo",
		"drop src 169.254.0.0/16",
		"drop src 192.0.2.0/24",
		"drop src 198.18.0.0/15",
		"drop src 2001:db8::/32",
		"drop dst 2001:db8::/32",
		"drop proto udp dport 0",
		"drop proto udp dport 137-139",
		"drop proto udp sport 0-19",
		"accept ct mark 0x10/0x10",
		"accept proto tcp dport 22 src 10.0.0.0/8",
		"accept proto tcp dport 80",
		"accept proto udp dport 53 src 10.199.0.0/24",
		"accept proto udp dport 514 iif veth0",
		"accept proto udp src 10.199.0.96/27 dport 5000-5099",
		"accept proto udp src fd00:199::/64 dport 5000-5099",
		"accept proto udp src 10.199.0.0/24 dport 5000-5099 sport 1024-65535",
	};
	const uint64_t always = 1u << 0 | 1u << 1 | 1u << 12;
	struct nfqd_policy *p = new_policy();

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		add(p, rules[i]);
	assert_int_equal(candidates(p, udp("10.199.0.130", "10.199.0.2", 40000, 5000)),
			 always | 1u << 19);
	assert_int_equal(candidates(p, udp("10.199.0.110", "10.199.0.2", 40000, 5000)),
			 always | 1u << 17 | 1u << 19);
	assert_int_equal(candidates(p, udp("10.199.0.110", "10.199.0.2", 40000, 514)),
			 always | 1u << 16);
	assert_int_equal(candidates(p, udp("fd00:199::1", "fd00:199::2", 40000, 5000)),
			 always | 1u << 18);
	assert_int_equal(candidates(p, tcp("10.1.2.3", "10.199.0.2", 40000, 22)),
			 always | 1u << 13);
	assert_int_equal(candidates(p, udp("192.0.2.1", "10.199.0.2", 7, 137)),
			 always | 1u << 5 | 1u << 10 | 1u << 11);
	/* without the connmark nor an input interface, the ct mark rule is left out too */
	{
		struct nfqd_packet pkt = udp("10.199.0.130", "10.199.0.2", 40000, 5000);

		assert_int_equal(nfqd_rule_index_candidates(nfqd_policy_rule_index(p), &pkt,
							    nfqd_packet_facts(&pkt)),
				 1u << 0 | 1u << 1 | 1u << 19);
	}
	nfqd_policy_free(p);
}

/* A small deterministic generator (xorshift32), so that a failure can be replayed. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A packet of random facts, addresses, ports, marks and interfaces from small pools. */
static struct nfqd_packet random_pkt(uint32_t *s)
{
	static const char *const v4[] = { "10.0.0.1", "10.1.2.3", "10.199.0.100", "192.0.2.9" };
	static const char *const v6[] = { "2001:db8::1", "fd00:199::1", "::1", "2001:db9::7" };
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 };
	static const uint16_t ports[] = { 0, 22, 53, 80, 1023, 1024, 5000, 5099, 5100, 65535 };
	bool six = rnd(s) & 1;
	const char *const *pool = six ? v6 : v4;
	uint32_t flags = L3;
	struct nfqd_packet pkt;

	if (rnd(s) % 8)
		flags |= NFQD_PKT_HAS_PROTO;
	if ((flags & NFQD_PKT_HAS_PROTO) && rnd(s) % 4)
		flags |= NFQD_PKT_HAS_PORTS;
	if (rnd(s) % 2)
		flags |= NFQD_PKT_HAS_CTMARK;
	if (rnd(s) % 16 == 0)
		flags |= NFQD_PKT_UNREADABLE;
	pkt = make_pkt(flags, pool[rnd(s) % 4], pool[rnd(s) % 4], protos[rnd(s) % 4],
		       ports[rnd(s) % 10], ports[rnd(s) % 10]);
	if (rnd(s) % 8 == 0)
		pkt.flags &= ~(uint32_t)NFQD_PKT_HAS_L3;
	pkt.mark = rnd(s) & 0x3;
	pkt.ct_mark = (flags & NFQD_PKT_HAS_CTMARK) ? rnd(s) & 0x3 : 0;
	pkt.indev = rnd(s) % 3;
	pkt.outdev = rnd(s) % 3;
	pkt.queue = (uint16_t)(rnd(s) % 3);
	return pkt;
}

static const char *const random_terms[] = {
	"proto udp",
	"proto tcp",
	"not proto tcp",
	"proto icmp",
	"src 10.0.0.0/8",
	"src 10.1.2.0/24",
	"not src 10.0.0.0/8",
	"dst 10.0.0.1",
	"src 2001:db8::/32",
	"dst fd00:199::/64",
	"not dst ::1",
	"dport 53",
	"dport 5000-5099",
	"not dport 22",
	"sport 1024-65535",
	"sport 0-1023",
	"src @a",
	"dst @b",
	"not src @a",
	"set @c src,dst",
	"ct mark 0x1/0x1",
	"not ct mark 0x2/0x2",
	"meta mark 0x1/0x3",
	"iif eth0",
	"not oif eth1",
	"dport 80",
};

/*
 * A random policy of every kind of term, negated or not, evaluating unreadable packets; every
 * tenth (round) longer than the rule index holds. Interface i is ifindex i + 1, or gone (0).
 */
static struct nfqd_policy *random_policy(uint32_t *seed, int round)
{
	static const char *const verdicts[] = { "accept", "drop", "queue 1", "accept" };
	struct nfqd_policy *p = new_policy();
	unsigned int nrules = round % 10 == 9 ? 100 + rnd(seed) % 60 : 1 + rnd(seed) % 12;

	assert_int_equal(nfqd_policy_set_on_unreadable(p, NFQD_ON_UNREADABLE_EVALUATE), 0);
	for (unsigned int i = 0; i < nrules; i++) {
		char text[512];
		size_t len = (size_t)snprintf(text, sizeof(text), "%s", verdicts[rnd(seed) % 4]);
		unsigned int nterms = 1 + rnd(seed) % 5;

		for (unsigned int t = 0; t < nterms; t++)
			len += (size_t)snprintf(
				text + len, sizeof(text) - len, " %s",
				random_terms[rnd(seed) %
					     (sizeof(random_terms) / sizeof(random_terms[0]))]);
		if (rnd(seed) % 4 == 0)
			snprintf(text + len, sizeof(text) - len, " set-mark 0x4/0x4");
		/* contradictions are refused; the rest make the policy */
		(void)nfqd_policy_add_rule(p, text, NULL);
	}
	for (unsigned int i = 0; i < nfqd_policy_iface_count(p); i++)
		nfqd_policy_iface_set_index(p, i, rnd(seed) % 3 ? i + 1 : 0);
	return p;
}

/* Random answers to the three lookups a random policy may have. */
static void random_answers(uint32_t *seed, struct nfqd_set_answers *ans)
{
	ans->failed = rnd(seed) % 8 == 0 ? rnd(seed) & 0x7 : 0;
	ans->known = rnd(seed) & 0x7 & ~ans->failed;
	ans->member = rnd(seed) & ans->known;
}

/* Fail, printing both, unless two decisions are equal field by field. */
static void assert_same_decision(const char *what, int round, int k,
				 const struct nfqd_decision *got, const struct nfqd_decision *want)
{
	if (got->verdict != want->verdict || got->rule != want->rule || got->flags != want->flags ||
	    got->mark != want->mark || got->mark_mask != want->mark_mask ||
	    got->lookups_read != want->lookups_read || got->failed_lookup != want->failed_lookup)
		fail_msg("round %d packet %d: %s: rule %d verdict 0x%x flags 0x%x lookups 0x%x "
			 "failed %d; term by term: rule %d verdict 0x%x flags 0x%x lookups 0x%x "
			 "failed %d",
			 round, k, what, got->rule, got->verdict, got->flags, got->lookups_read,
			 got->failed_lookup, want->rule, want->verdict, want->flags,
			 want->lookups_read, want->failed_lookup);
}

/*
 * The evaluation through the rule guards and the rule index decides exactly as the terms
 * evaluated in their order, rule after rule, would: verdict, rule, flags (per packet, set
 * failed), set lookups read and the failed one, for random policies of every kind of term,
 * negated or not, shorter and longer than the index holds, and random packets and set answers.
 */
static void test_indexed_guarded_evaluation_agrees_with_term_by_term_evaluation(void **state)
{
	uint32_t seed = 0x5eed1234;
	unsigned long compared = 0;
	unsigned int long_policies = 0;

	(void)state;
	for (int round = 0; round < 200; round++) {
		struct nfqd_policy *p = random_policy(&seed, round);

		if (nfqd_policy_rule_count(p) > NFQD_INDEX_RULES)
			long_policies++;
		for (int k = 0; k < 500; k++) {
			struct nfqd_packet pkt = random_pkt(&seed);
			struct nfqd_set_answers ans;
			struct nfqd_decision want, got;

			random_answers(&seed, &ans);
			nfqd_policy_eval_terms(p, &pkt, &ans, &want);
			memset(&got, 0xa5, sizeof(got));
			nfqd_policy_eval(p, &pkt, &ans, &got);
			assert_same_decision("indexed", round, k, &got, &want);
			compared++;
		}
		nfqd_policy_free(p);
	}
	assert_int_equal(compared, 200 * 500);
	assert_int_equal(long_policies, 20);
}

/*
 * nfqd_policy_explain() decides exactly as nfqd_policy_eval() (every field of the decision),
 * and its trace tells the same story: the deciding rule is a hit (or a failed lookup), every
 * rule before it ended on a term that did not match, was unknown, or a loop (with the term's
 * index inside the rule), and no rule after it was reached. Random policies, packets, answers.
 */
static void test_explain_decides_as_eval_and_traces_every_rule(void **state)
{
	uint32_t seed = 0xe7a1a1e;
	unsigned long compared = 0, misses = 0;

	(void)state;
	for (int round = 0; round < 100; round++) {
		struct nfqd_policy *p = random_policy(&seed, round);
		unsigned int n = nfqd_policy_rule_count(p);
		struct nfqd_explain_rule trace[160];

		for (int k = 0; k < 300; k++) {
			struct nfqd_packet pkt = random_pkt(&seed);
			struct nfqd_set_answers ans;
			struct nfqd_decision want, got;
			unsigned int end;

			random_answers(&seed, &ans);
			nfqd_policy_eval(p, &pkt, &ans, &want);
			memset(&got, 0xa5, sizeof(got));
			nfqd_policy_explain(p, &pkt, &ans, &got, trace);
			assert_same_decision("explain", round, k, &got, &want);
			if (want.rule < 0 && (want.flags & NFQD_DECISION_UNREADABLE) &&
			    trace[0].why == NFQD_EXPLAIN_SKIPPED)
				continue;
			end = want.rule < 0 ? n : (unsigned int)want.rule;
			for (unsigned int i = 0; i < end; i++) {
				if (trace[i].why != NFQD_EXPLAIN_MISS &&
				    trace[i].why != NFQD_EXPLAIN_UNKNOWN &&
				    trace[i].why != NFQD_EXPLAIN_LOOP)
					fail_msg("round %d packet %d: rule %u before the deciding "
						 "rule %d ended '%s'",
						 round, k, i, want.rule,
						 nfqd_explain_why_name(trace[i].why));
				assert_true(trace[i].term < nfqd_policy_term_count(p, i));
				misses += trace[i].why == NFQD_EXPLAIN_MISS;
			}
			if (want.rule >= 0)
				assert_int_equal(trace[end].why,
						 (want.flags & NFQD_DECISION_SET_FAILED)
							 ? NFQD_EXPLAIN_FAILED
							 : NFQD_EXPLAIN_HIT);
			for (unsigned int i = end + 1; i < n; i++)
				assert_int_equal(trace[i].why, NFQD_EXPLAIN_NOT_REACHED);
			compared++;
		}
		nfqd_policy_free(p);
	}
	fprintf(stderr, "explain: %lu packets compared, %lu rules passed over on a miss\n",
		compared, misses);
	assert_true(compared > 100 * 250);
	assert_true(misses > 1000);
}

/*
 * What explain shows of one rule: each term's kind, negation and argument, the set lookup it
 * reads, and the packet's value for it in the term's own form.
 */
static void test_explain_term_info_and_packet_values(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("10.1.2.3", "10.0.0.1", 1234, 443);
	struct nfqd_set_answers ans = { .known = 1, .member = 1 };
	struct nfqd_term_info ti;
	char v[64];

	(void)state;
	assert_int_equal(nfqd_policy_add_rule(
				 p, "drop proto tcp not dport 22 src @bl ct mark 0x1/0x1", NULL),
			 0);
	assert_int_equal(nfqd_policy_term_count(p, 0), 4);
	assert_int_equal(nfqd_policy_term_info(p, 0, 1, &ti), 0);
	assert_string_equal(ti.kind, "dport");
	assert_true(ti.negated);
	assert_string_equal(ti.arg, "22");
	assert_int_equal(ti.lookup, -1);
	assert_int_equal(nfqd_policy_term_info(p, 0, 2, &ti), 0);
	assert_string_equal(ti.arg, "@bl");
	assert_int_equal(ti.lookup, 0);
	assert_int_equal(nfqd_policy_term_info(p, 0, 4, &ti), -ENOENT);
	nfqd_policy_term_value(p, 0, 0, &pkt, &ans, v, sizeof(v));
	assert_string_equal(v, "tcp");
	nfqd_policy_term_value(p, 0, 1, &pkt, &ans, v, sizeof(v));
	assert_string_equal(v, "443");
	nfqd_policy_term_value(p, 0, 2, &pkt, &ans, v, sizeof(v));
	assert_string_equal(v, "member");
	ans.member = 0;
	nfqd_policy_term_value(p, 0, 2, &pkt, &ans, v, sizeof(v));
	assert_string_equal(v, "not a member");
	/* no connmark known: the term cannot match, and says why */
	nfqd_policy_term_value(p, 0, 3, &pkt, &ans, v, sizeof(v));
	assert_string_equal(v, "none");
	nfqd_policy_free(p);
}

/* Issue 9: the log action and log-prefix. */
static void test_log_action_flags_the_decision_and_keeps_the_verdict(void **state)
{
	struct nfqd_policy *p = new_policy();
	struct nfqd_packet pkt = tcp("192.0.2.1", "198.51.100.1", 1234, 22);
	struct nfqd_decision d;

	(void)state;
	add(p, "drop log dport 22");
	add(p, "accept dport 23 log-prefix \"ssh? \"");
	add(p, "accept dport 24");
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, 0);
	assert_int_equal(d.verdict, NF_DROP);
	assert_true(d.flags & NFQD_DECISION_LOG);
	assert_true(d.flags & NFQD_DECISION_PER_PACKET);
	assert_null(nfqd_policy_rule_log_prefix(p, 0));
	pkt.dport = 23;
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, 1);
	assert_int_equal(d.verdict, NF_ACCEPT);
	assert_true(d.flags & NFQD_DECISION_LOG);
	assert_string_equal(nfqd_policy_rule_log_prefix(p, 1), "ssh? ");
	pkt.dport = 24;
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, 2);
	assert_false(d.flags & (NFQD_DECISION_LOG | NFQD_DECISION_PER_PACKET));
	assert_null(nfqd_policy_rule_log_prefix(p, 2));
	assert_null(nfqd_policy_rule_log_prefix(p, 3));
	assert_int_equal(nfqd_policy_log_rules(p), 2);
	pkt.dport = 25; /* the default verdict is never logged */
	nfqd_policy_eval(p, &pkt, NULL, &d);
	assert_int_equal(d.rule, -1);
	assert_false(d.flags & NFQD_DECISION_LOG);
	nfqd_policy_free(p);
}

static void test_log_actions_have_a_canonical_text_that_reads_back_the_same(void **state)
{
	static const char *const cases[][2] = {
		{ "drop log src @bl", "drop src @bl log" },
		{ "drop  log-prefix   \"BL\"  src @bl", "drop src @bl log log-prefix \"BL\"" },
		{ "drop log log-prefix \"a b: \" src @bl",
		  "drop src @bl log log-prefix \"a b: \"" },
		{ "accept log-prefix \"x\" set-mark 1 log",
		  "accept set-mark 0x1 log log-prefix \"x\"" },
		{ "queue 3 log", "queue 3 log" },
		{ "drop log-prefix \"0123456789abcdef0123456789abcdef\"",
		  "drop log log-prefix \"0123456789abcdef0123456789abcdef\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_canonical(cases[i][0], cases[i][1]);
		assert_canonical(cases[i][1], cases[i][1]);
	}
}

static void test_log_errors_name_the_word(void **state)
{
	(void)state;
	assert_rule_error("drop log log", -EINVAL, 3,
			  "unexpected second 'log': at most one per rule");
	assert_rule_error("drop log-prefix", -EINVAL, 2,
			  "log-prefix: missing \"TEXT\" after 'log-prefix'");
	assert_rule_error("drop src @s log-prefix BL dport 1", -EINVAL, 5,
			  "log-prefix: 'BL' is not in double quotes: write log-prefix \"TEXT\"");
	assert_rule_error("drop log-prefix \"BL dport 1", -EINVAL, 3,
			  "log-prefix: \"BL dport 1 has no closing '\"'");
	assert_rule_error("drop log-prefix \"\"", -EINVAL, 3, "log-prefix: \"\" is empty");
	assert_rule_error("drop log-prefix \"a\"b", -EINVAL, 3,
			  "log-prefix: a blank must follow the closing '\"' of \"a\"");
	assert_rule_error("drop log-prefix \"0123456789abcdef0123456789abcdefg\"", -EINVAL, 3,
			  "log-prefix: \"0123456789abcdef0123456789abcdefg\" is longer than 32 "
			  "characters");
	assert_rule_error(
		"drop log-prefix \"a\\b\"", -EINVAL, 3,
		"log-prefix: character 0x5c at 2 is not allowed: printable ASCII only, no "
		"'\\'");
	assert_rule_error(
		"drop log-prefix \"a\tb\"", -EINVAL, 3,
		"log-prefix: character 0x09 at 2 is not allowed: printable ASCII only, no "
		"'\\'");
	assert_rule_error("drop log-prefix \"a\" log-prefix \"b\"", -EINVAL, 4,
			  "unexpected second 'log-prefix': at most one per rule");
	assert_rule_error("drop not log", -EINVAL, 3,
			  "unexpected 'log' after 'not': an action cannot be negated");
	/* the words after a quoted prefix with blanks are counted as the policy reads them */
	assert_rule_error("drop log-prefix \"a b c\" dport x", -EINVAL, 5,
			  "bad port 'x' after 'dport': expected a port 0-65535 or a range LO-HI");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_policy_is_empty_and_accepts_by_default),
		cmocka_unit_test(test_default_verdict_is_settable_and_used_when_no_rule_matches),
		cmocka_unit_test(test_parse_verdict_knows_accept_and_drop_only),
		cmocka_unit_test(test_proto_matches_each_name_and_number_and_misses_others),
		cmocka_unit_test(test_proto_is_printed_by_name_when_it_has_one),
		cmocka_unit_test(test_src_and_dst_ipv4_hit_and_miss),
		cmocka_unit_test(test_src_and_dst_ipv6_hit_and_miss),
		cmocka_unit_test(test_address_matches_its_own_family_only_even_negated),
		cmocka_unit_test(test_ipv4_prefixes_0_1_7_24_32_cover_exactly_their_range),
		cmocka_unit_test(test_ipv6_prefixes_0_1_7_64_127_128_cover_exactly_their_range),
		cmocka_unit_test(test_port_ranges_are_inclusive_at_both_ends),
		cmocka_unit_test(test_ports_match_on_every_protocol_that_has_them),
		cmocka_unit_test(test_not_negates_the_next_match_only),
		cmocka_unit_test(test_all_terms_of_a_rule_must_match),
		cmocka_unit_test(test_rule_without_terms_matches_every_packet),
		cmocka_unit_test(test_first_matching_rule_wins),
		cmocka_unit_test(
			test_unknown_ports_of_a_later_fragment_match_neither_plain_nor_negated),
		cmocka_unit_test(test_unknown_l3_and_proto_match_neither_plain_nor_negated),
		cmocka_unit_test(test_canonical_text_normalises_blanks_addresses_and_ranges),
		cmocka_unit_test(test_canonical_text_parses_back_to_itself),
		cmocka_unit_test(test_rule_text_out_of_range_is_null),
		cmocka_unit_test(test_empty_rule_is_refused),
		cmocka_unit_test(test_unknown_verdict_is_refused_at_word_1),
		cmocka_unit_test(test_unknown_match_is_refused_with_its_position),
		cmocka_unit_test(test_missing_argument_is_refused_at_the_match_word),
		cmocka_unit_test(test_not_twice_or_at_the_end_is_refused),
		cmocka_unit_test(test_bad_port_is_refused_with_the_word_quoted),
		cmocka_unit_test(test_bad_protocol_is_refused_with_the_word_quoted),
		cmocka_unit_test(test_bad_address_or_prefix_length_is_refused),
		cmocka_unit_test(test_host_bits_beyond_the_prefix_are_refused_with_a_suggestion),
		cmocka_unit_test(test_src_and_dst_of_different_families_are_refused),
		cmocka_unit_test(
			test_icmp_with_ipv6_and_icmpv6_with_ipv4_are_refused_suggesting_the_other),
		cmocka_unit_test(test_negated_icmp_with_either_family_is_accepted),
		cmocka_unit_test(test_ports_with_a_protocol_without_ports_are_refused),
		cmocka_unit_test(test_two_different_positive_protocols_are_refused),
		cmocka_unit_test(test_sixteen_terms_pass_and_the_seventeenth_is_e2big),
		cmocka_unit_test(
			test_4096_rules_pass_and_the_4097th_is_e2big_leaving_the_policy_unchanged),
		cmocka_unit_test(test_failed_add_leaves_rules_texts_and_decisions_unchanged),
		cmocka_unit_test(test_successful_add_clears_the_error),
		cmocka_unit_test(test_queue_verdict_is_nf_queue_nr_and_per_packet),
		cmocka_unit_test(test_queue_rule_never_matches_a_packet_from_its_own_queue),
		cmocka_unit_test(test_queue_is_a_rule_verdict_only),
		cmocka_unit_test(test_bad_queue_number_is_refused),
		cmocka_unit_test(test_on_set_error_defaults_to_drop_and_is_settable),
		cmocka_unit_test(test_unreadable_packet_gets_on_unreadable_verdict_before_any_rule),
		cmocka_unit_test(test_on_unreadable_evaluate_uses_what_is_known),
		cmocka_unit_test(test_on_unreadable_words_and_bad_values),
		cmocka_unit_test(
			test_set_lookups_are_distinct_by_name_and_sides_in_order_of_first_use),
		cmocka_unit_test(test_set_term_hit_miss_negation_and_unknown_answers),
		cmocka_unit_test(test_set_terms_need_no_packet_facts_and_carry_no_family),
		cmocka_unit_test(test_failed_lookup_ends_evaluation_with_on_set_error_when_reached),
		cmocka_unit_test(
			test_failed_lookup_after_a_missing_term_of_the_same_rule_is_not_reached),
		cmocka_unit_test(test_lookups_read_covers_every_rule_evaluated),
		cmocka_unit_test(
			test_32_lookups_pass_and_the_33rd_is_e2big_leaving_the_policy_unchanged),
		cmocka_unit_test(test_refused_rule_removes_the_lookups_and_interfaces_it_added),
		cmocka_unit_test(test_bad_set_names_and_sides_are_refused),
		cmocka_unit_test(test_meta_mark_compares_the_masked_packet_mark),
		cmocka_unit_test(test_ct_mark_compares_the_connmark_and_is_unknown_without_one),
		cmocka_unit_test(test_reading_a_mark_makes_the_decision_per_packet),
		cmocka_unit_test(test_bad_marks_are_refused_with_the_word_quoted),
		cmocka_unit_test(test_marks_are_printed_in_hex_with_a_full_mask_left_out),
		cmocka_unit_test(test_policy_marks_are_the_union_of_the_masks_and_the_first_rules),
		cmocka_unit_test(
			test_set_mark_is_applied_with_accept_and_makes_the_decision_per_packet),
		cmocka_unit_test(test_set_mark_is_refused_other_than_once_with_accept),
		cmocka_unit_test(test_set_mark_does_not_count_against_the_terms_of_a_rule),
		cmocka_unit_test(test_interfaces_are_named_once_and_matched_by_their_current_index),
		cmocka_unit_test(
			test_unknown_interfaces_of_a_packet_match_neither_plain_nor_negated),
		cmocka_unit_test(test_64_interfaces_pass_and_the_65th_is_e2big),
		cmocka_unit_test(test_bad_interface_names_are_refused),
		cmocka_unit_test(test_every_decision_field_is_written_on_every_path),
		cmocka_unit_test(test_new_items_in_canonical_text_parse_back_to_themselves),
		cmocka_unit_test(test_lint_finds_terms_that_cannot_both_hold),
		cmocka_unit_test(test_lint_passes_over_terms_that_may_both_hold),
		cmocka_unit_test(test_lint_finds_rules_an_earlier_rule_shadows),
		cmocka_unit_test(test_lint_passes_over_rules_an_earlier_rule_does_not_cover),
		cmocka_unit_test(test_lint_findings_agree_with_evaluation),
		cmocka_unit_test(
			test_guard_takes_the_leading_pure_terms_and_leaves_the_rest_in_order),
		cmocka_unit_test(test_index_leaves_out_the_rules_a_packet_cannot_meet),
		cmocka_unit_test(
			test_indexed_guarded_evaluation_agrees_with_term_by_term_evaluation),
		cmocka_unit_test(test_explain_decides_as_eval_and_traces_every_rule),
		cmocka_unit_test(test_explain_term_info_and_packet_values),
		cmocka_unit_test(test_log_action_flags_the_decision_and_keeps_the_verdict),
		cmocka_unit_test(test_log_actions_have_a_canonical_text_that_reads_back_the_same),
		cmocka_unit_test(test_log_errors_name_the_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
