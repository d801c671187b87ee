/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inspection commands without a kernel (inspect.c): the packet description of `explain`,
 * the `rules` and `explain` documents rendered from a config text; and the JSON reader nfqctl
 * reads those documents with (json.c).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <linux/netfilter.h>

#include "nfqd/ipset.h"
#include "command.h"
#include "config.h"
#include "inspect.h"
#include "json.h"

static void parse_ok(const char *text, struct inspect_packet *pk)
{
	char err[300] = "";

	if (inspect_parse_packet(text, pk, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
}

static void parse_bad(const char *text, const char *want)
{
	struct inspect_packet pk;
	char err[300] = "";

	assert_int_equal(inspect_parse_packet(text, &pk, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("'%s': message '%s' lacks '%s'", text, err, want);
}

/* The packet parser sees what the description says: the headers are real bytes. */
static void test_packet_description_is_built_into_the_view_a_worker_would_see(void **state)
{
	struct inspect_packet pk;
	char a[INET6_ADDRSTRLEN];

	(void)state;
	parse_ok("tcp 192.0.2.1:1234 > 198.51.100.7:443 iif eth0", &pk);
	assert_true(pk.pkt.flags & NFQD_PKT_HAS_PORTS);
	assert_false(pk.pkt.flags & NFQD_PKT_UNREADABLE);
	assert_int_equal(pk.pkt.l3, 4);
	assert_int_equal(pk.pkt.l4_proto, IPPROTO_TCP);
	assert_int_equal(pk.pkt.sport, 1234);
	assert_int_equal(pk.pkt.dport, 443);
	assert_string_equal(inet_ntop(AF_INET, &pk.pkt.src, a, sizeof(a)), "192.0.2.1");
	assert_string_equal(inet_ntop(AF_INET, &pk.pkt.dst, a, sizeof(a)), "198.51.100.7");
	assert_string_equal(pk.iif, "eth0");
	assert_int_equal(pk.queue, -1);
	assert_string_equal(pk.text, "tcp 192.0.2.1:1234 > 198.51.100.7:443 iif eth0");

	parse_ok("udp [2001:db8::1]:53 > [2001:db8::2]:5353 mark 0x10 ctmark 7 queue 3", &pk);
	assert_int_equal(pk.pkt.l3, 6);
	assert_int_equal(pk.pkt.family, NFPROTO_IPV6);
	assert_int_equal(pk.pkt.dport, 5353);
	assert_int_equal(pk.pkt.mark, 0x10);
	assert_true(pk.pkt.flags & NFQD_PKT_HAS_MARK);
	assert_int_equal(pk.pkt.ct_mark, 7);
	assert_true(pk.pkt.flags & NFQD_PKT_HAS_CTMARK);
	assert_int_equal(pk.queue, 3);

	/* portless protocols: by name or number, IPv6 with or without brackets */
	parse_ok("icmpv6 2001:db8::1 > [2001:db8::2]", &pk);
	assert_int_equal(pk.pkt.l4_proto, IPPROTO_ICMPV6);
	assert_true(pk.pkt.flags & NFQD_PKT_HAS_ICMP);
	assert_false(pk.pkt.flags & NFQD_PKT_HAS_PORTS);
	parse_ok("47 10.0.0.1 > 10.0.0.2", &pk);
	assert_int_equal(pk.pkt.l4_proto, IPPROTO_GRE);
	assert_string_equal(pk.text, "gre 10.0.0.1 > 10.0.0.2");
	parse_ok("sctp 10.0.0.1:9 > 10.0.0.2:10", &pk);
	assert_int_equal(pk.pkt.dport, 10);
	parse_ok("dccp 10.0.0.1:9 > 10.0.0.2:11", &pk);
	assert_int_equal(pk.pkt.dport, 11);
	assert_false(pk.pkt.flags & NFQD_PKT_UNREADABLE);
}

/* Each wrong description is refused with a message naming the wrong word. */
static void test_bad_packet_descriptions_name_the_wrong_word(void **state)
{
	(void)state;
	parse_bad("", "no packet given");
	parse_bad("tcp 1.2.3.4:1 > 5.6.7.8:2 iif e\xff"
		  "0",
		  "byte 0xff at offset 31 is not printable ASCII");
	parse_bad("tcp 1.2.3.4:1 > 5.6.7.8:2 iif e\x18",
		  "byte 0x18 at offset 31 is not printable ASCII");
	parse_bad("tcp 1.2.3.4:1", "too few words");
	parse_bad("tpc 1.2.3.4:1 > 5.6.7.8:2", "'tpc' is not a protocol");
	parse_bad("tcp 1.2.3.4 > 5.6.7.8:2", "'1.2.3.4' has no port: tcp takes ADDR:PORT");
	parse_bad("gre 1.2.3.4:5 > 5.6.7.8", "'1.2.3.4:5' has a port, but gre has no ports");
	parse_bad("tcp 1.2.3.4:1 < 5.6.7.8:2",
		  "expected '>' (or 'to') between source and destination, "
		  "not '<'");
	parse_bad("tcp 1.2.3.4:1 > 5.6.7.999:2", "'5.6.7.999:2' is not an address");
	parse_bad("tcp 1.2.3.4:70000 > 5.6.7.8:2", "bad port '70000' in '1.2.3.4:70000'");
	parse_bad("tcp 1.2.3.4:1 > [::1]:2", "are not of one family");
	parse_bad("icmp ::1 > ::2", "'icmp' is IPv4's: IPv6 addresses take icmpv6");
	parse_bad("udp 1.2.3.4:1 > 5.6.7.8:2 iff eth0", "unknown word 'iff'");
	parse_bad("udp 1.2.3.4:1 > 5.6.7.8:2 iif", "'iif' needs an interface name");
	parse_bad("udp 1.2.3.4:1 > 5.6.7.8:2 mark x", "bad mark 'x'");
	parse_bad("udp 1.2.3.4:1 > 5.6.7.8:2 queue 65536", "bad queue '65536'");
	parse_bad("udp 1.2.3.4:1 > 5.6.7.8:2 oif averyveryverylongname",
		  "interface name 'averyveryverylongname' after 'oif' is longer than 15 bytes");
}

/* A snapshot of a config, with the set types read at load. */
struct fixture {
	struct config *cfg;
	struct nfqd_ipset_info infos[2];
	struct stats_queue q;
	struct stats_snapshot snap;
};

static void load(struct fixture *f, const char *rules)
{
	char text[1024], err[256];

	snprintf(text, sizeof(text), "[queue]\nqueues = 0\n[policy]\n%s", rules);
	if (config_load_string(&f->cfg, "t.conf", text, err, sizeof(err)) != 0)
		fail_msg("config refused: %s", err);
	snprintf(f->infos[0].type, sizeof(f->infos[0].type), "hash:ip");
	snprintf(f->infos[1].type, sizeof(f->infos[1].type), "hash:net");
	f->snap = (struct stats_snapshot){
		.cfg = f->cfg, .infos = f->infos, .queues = &f->q, .n_queues = 1
	};
}

/* A member of JSON object v (or a path "a.b"), as text for comparison. */
static const char *member_str(const struct json_val *v, const char *key, char *buf, size_t n)
{
	return json_member_str(v, key, buf, n);
}

static void parse_json(const char *json, struct json_val *v)
{
	const char *why;

	assert_non_null(json);
	if (json_parse(json, strlen(json), v, &why) < 0)
		fail_msg("not JSON (%s): %s", why, json);
}

/* Element i of array member key of v. */
static void element(const struct json_val *v, const char *key, unsigned int i, struct json_val *out)
{
	struct json_val arr;
	size_t pos = 0;

	assert_int_equal(json_member(v, key, &arr), 0);
	for (unsigned int k = 0; k <= i; k++)
		assert_true(json_next(&arr, &pos, NULL, out));
}

/* `rules`: position, line, verdict, actions, each term, and how a set term is answered. */
static void test_rules_document_shows_terms_lines_and_set_answering(void **state)
{
	struct fixture f = { 0 };
	struct json_val doc, rule, term, set;
	char buf[256];
	char *json;

	(void)state;
	load(&f, "default = drop\n"
		 "rule = accept proto udp dport 53\n"
		 "rule = accept not src @block dport 80 set-mark 0x4/0x4\n");
	json = inspect_rules_json(&f.snap, (const int[]){ 0 });
	parse_json(json, &doc);
	assert_string_equal(member_str(&doc, "default", buf, sizeof(buf)), "drop");
	assert_string_equal(member_str(&doc, "on_set_error", buf, sizeof(buf)), "drop");
	assert_string_equal(member_str(&doc, "set_lookup", buf, sizeof(buf)), "auto");
	element(&doc, "rules", 1, &rule);
	assert_int_equal(json_member_u64(&rule, "rule", 0), 2);
	assert_int_equal(json_member_u64(&rule, "line", 0), 6);
	assert_string_equal(member_str(&rule, "verdict", buf, sizeof(buf)), "accept");
	assert_string_equal(member_str(&rule, "actions", buf, sizeof(buf)), "set-mark 0x4/0x4");
	element(&rule, "terms", 0, &term);
	assert_string_equal(member_str(&term, "term", buf, sizeof(buf)), "not src @block");
	assert_int_equal(json_member(&term, "negated", &set), 0);
	assert_int_equal(json_kind(&set), 't');
	assert_int_equal(json_member(&term, "set", &set), 0);
	assert_string_equal(member_str(&set, "set", buf, sizeof(buf)), "block");
	assert_string_equal(member_str(&set, "type", buf, sizeof(buf)), "hash:ip");
	assert_non_null(strstr(member_str(&set, "answered_by", buf, sizeof(buf)),
			       "set by the generated chain for packets that went through it, "
			       "IPSET_CMD_TEST for the others"));
	assert_int_equal(json_member(&set, "exists", &term), 0);
	assert_int_equal(json_kind(&term), 'f');
	element(&doc, "rules", 0, &rule);
	assert_string_equal(member_str(&rule, "actions", buf, sizeof(buf)), "");
	element(&rule, "terms", 1, &term);
	assert_string_equal(member_str(&term, "kind", buf, sizeof(buf)), "dport");
	assert_string_equal(member_str(&term, "arg", buf, sizeof(buf)), "53");
	assert_int_equal(json_member(&term, "set", &set), -ENOENT);
	free(json);
	config_free(f.cfg);
}

/* `explain`: every rule before the hit with the term that missed and both values, the hit. */
static void test_explain_document_says_which_rule_and_why(void **state)
{
	struct fixture f = { 0 };
	struct inspect_packet pk;
	struct nfqd_set_answers ans = { .known = 1, .member = 0 };
	struct json_val doc, rule, term;
	char buf[512];
	char *json;

	(void)state;
	load(&f, "rule = drop src @block\n"
		 "rule = accept proto udp\n"
		 "rule = drop proto tcp dport 22\n"
		 "rule = accept proto tcp not dport 22 set-mark 0x4/0x4\n");
	parse_ok("tcp 192.0.2.1:1234 > 198.51.100.7:443", &pk);
	json = inspect_explain_json(&f.snap, &pk, &ans, NULL);
	parse_json(json, &doc);
	element(&doc, "lookups", 0, &rule);
	assert_string_equal(member_str(&rule, "answer", buf, sizeof(buf)), "not a member");
	element(&doc, "rules", 0, &rule);
	assert_string_equal(member_str(&rule, "result", buf, sizeof(buf)), "miss");
	assert_string_equal(member_str(&rule, "why", buf, sizeof(buf)),
			    "'src @block': the packet is not a member of @block");
	element(&doc, "rules", 1, &rule);
	assert_string_equal(member_str(&rule, "why", buf, sizeof(buf)),
			    "'proto udp': the packet's proto is tcp, not udp");
	element(&doc, "rules", 2, &rule);
	assert_string_equal(member_str(&rule, "why", buf, sizeof(buf)),
			    "'dport 22': the packet's dport is 443, not 22");
	element(&doc, "rules", 3, &rule);
	assert_string_equal(member_str(&rule, "result", buf, sizeof(buf)), "hit");
	element(&rule, "terms", 1, &term);
	assert_string_equal(member_str(&term, "term", buf, sizeof(buf)), "not dport 22");
	assert_string_equal(member_str(&term, "packet", buf, sizeof(buf)), "443");
	assert_int_equal(json_member(&doc, "decided_by", &rule), 0);
	assert_int_equal(json_member_u64(&rule, "rule", 0), 4);
	assert_int_equal(json_member_u64(&rule, "line", 0), 7);
	assert_string_equal(member_str(&doc, "verdict", buf, sizeof(buf)), "accept");
	assert_string_equal(member_str(&doc, "mark", buf, sizeof(buf)), "0x00000004");
	free(json);

	/* a member of the set: the first rule decides, and says so */
	ans.member = 1;
	json = inspect_explain_json(&f.snap, &pk, &ans, NULL);
	parse_json(json, &doc);
	assert_string_equal(member_str(&doc, "verdict", buf, sizeof(buf)), "drop");
	element(&doc, "rules", 0, &rule);
	element(&rule, "terms", 0, &term);
	assert_string_equal(member_str(&term, "packet", buf, sizeof(buf)), "member");
	free(json);

	/* a failed lookup: the on-set-error verdict, with the kernel's reason */
	ans = (struct nfqd_set_answers){ .failed = 1 };
	json = inspect_explain_json(&f.snap, &pk, &ans, (const int[]){ -ENOENT });
	parse_json(json, &doc);
	element(&doc, "lookups", 0, &rule);
	assert_string_equal(member_str(&rule, "error", buf, sizeof(buf)), "no such set");
	element(&doc, "rules", 0, &rule);
	assert_string_equal(member_str(&rule, "result", buf, sizeof(buf)), "set lookup failed");
	assert_non_null(strstr(member_str(&rule, "why", buf, sizeof(buf)), "on-set-error"));
	free(json);
	config_free(f.cfg);
}

/* The reader answers members, elements, numbers and strings of a validated text. */
static void test_json_reader_walks_members_numbers_and_strings(void **state)
{
	static const char text[] = " {\"a\":[1, 2 ,{\"b\":\"x\\\"y\\u00e9\\ud83d\\ude00\"}],"
				   "\"n\":-42,\"big\":18446744073709551615,\"e\":{}, \"z\":null} ";
	struct json_val doc, a, e, k;
	const char *why;
	uint64_t u;
	int64_t i;
	size_t pos = 0;
	char buf[32];
	int n = 0;

	(void)state;
	assert_int_equal(json_parse(text, strlen(text), &doc, &why), 0);
	assert_int_equal(json_kind(&doc), '{');
	assert_int_equal(json_member(&doc, "a", &a), 0);
	assert_int_equal(json_kind(&a), '[');
	while (json_next(&a, &pos, NULL, &e))
		n++;
	assert_int_equal(n, 3);
	pos = 0;
	assert_true(json_next(&a, &pos, NULL, &e));
	assert_int_equal(json_u64(&e, &u), 0);
	assert_int_equal(u, 1);
	assert_true(json_next(&a, &pos, NULL, &e));
	assert_true(json_next(&a, &pos, NULL, &e));
	assert_string_equal(json_member_str(&e, "b", buf, sizeof(buf)),
			    "x\"y\xc3\xa9\xf0\x9f\x98\x80");
	/* cut to fit, the whole length told */
	assert_int_equal(json_member(&e, "b", &k), 0);
	assert_int_equal(json_string(&k, buf, 3), 9);
	assert_string_equal(buf, "x\"");
	assert_int_equal(json_member(&doc, "n", &k), 0);
	assert_int_equal(json_u64(&k, &u), -EINVAL);
	assert_int_equal(json_i64(&k, &i), 0);
	assert_int_equal(i, -42);
	assert_int_equal(json_member_u64(&doc, "big", 0), UINT64_MAX);
	assert_int_equal(json_member(&doc, "e", &e), 0);
	pos = 0;
	assert_false(json_next(&e, &pos, &k, &a));
	assert_int_equal(json_member(&doc, "z", &e), 0);
	assert_int_equal(json_kind(&e), 'z');
	assert_int_equal(json_member(&doc, "missing", &e), -ENOENT);
	assert_int_equal(json_member_u64(&doc, "missing", 7), 7);
	assert_int_equal(json_parse("{\"a\":}", 6, &doc, &why), -EINVAL);
	assert_string_equal(why, "value expected");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_description_is_built_into_the_view_a_worker_would_see),
		cmocka_unit_test(test_bad_packet_descriptions_name_the_wrong_word),
		cmocka_unit_test(test_rules_document_shows_terms_lines_and_set_answering),
		cmocka_unit_test(test_explain_document_says_which_rule_and_why),
		cmocka_unit_test(test_json_reader_walks_members_numbers_and_strings),
	};

	return cmocka_run_group_tests_name("inspect", tests, NULL, NULL);
}
