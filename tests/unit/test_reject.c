/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reject verdict's pure parts: the rule syntax and its errors, the kinds and their iptables
 * and ip6tables spellings, the mark plan's reject codes, the verdict handed back for them, the
 * generated REJECT rules, and the load-time check against the loaded chain.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <libmnl/libmnl.h>

#include "nfqd/markplan.h"
#include "nfqd/packet.h"
#include "nfqd/policy.h"
#include "nfqd/queuerule.h"
#include "nfqd/reject.h"
#include "config.h"
#include "nftmsg.h"
#include "confload.h"
#include "policy-internal.h"
#include "reject.h"
#include "rules.h"
#include "ruleset.h"

/* ---- the rule syntax ---- */

/* Add text as the only rule of a new policy; its canonical text in *canon. */
static struct nfqd_policy *one_rule(const char *text, const char **canon)
{
	struct nfqd_policy *p = NULL;
	struct nfqd_policy_error err;

	assert_int_equal(nfqd_policy_new(&p), 0);
	if (nfqd_policy_add_rule(p, text, &err) != 0)
		fail_msg("'%s' refused: %s", text, err.msg);
	*canon = nfqd_policy_rule_text(p, 0);
	return p;
}

static void test_reject_with_and_without_a_kind_in_canonical_form(void **state)
{
	static const struct {
		const char *text, *canon;
		int kind;
	} cases[] = {
		{ "reject", "reject", NFQD_REJECT_DEFAULT },
		{ "reject  dport 82", "reject dport 82", NFQD_REJECT_DEFAULT },
		{ "reject with tcp-reset proto tcp", "reject with tcp-reset proto tcp",
		  NFQD_REJECT_TCP_RESET },
		{ "reject with admin-prohibited dport 83", "reject with admin-prohibited dport 83",
		  NFQD_REJECT_ADMIN_PROHIBITED },
		/* the spelling, and iptables' and ip6tables' own words */
		{ "reject with icmp admin-prohibited", "reject with admin-prohibited",
		  NFQD_REJECT_ADMIN_PROHIBITED },
		{ "reject with icmp-admin-prohibited", "reject with admin-prohibited",
		  NFQD_REJECT_ADMIN_PROHIBITED },
		{ "reject with icmpv6 icmp6-adm-prohibited", "reject with admin-prohibited",
		  NFQD_REJECT_ADMIN_PROHIBITED },
		{ "reject with icmp-host-prohibited", "reject with host-prohibited",
		  NFQD_REJECT_HOST_PROHIBITED },
		{ "reject with no-route", "reject with net-unreachable",
		  NFQD_REJECT_NET_UNREACHABLE },
		{ "reject with icmp6-addr-unreachable", "reject with host-unreachable",
		  NFQD_REJECT_HOST_UNREACHABLE },
		{ "reject with icmpx port-unreachable src 192.0.2.1",
		  "reject with port-unreachable src 192.0.2.1", NFQD_REJECT_PORT_UNREACHABLE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *canon;
		struct nfqd_policy *p = one_rule(cases[i].text, &canon);
		struct nfqd_policy *again;

		assert_string_equal(canon, cases[i].canon);
		assert_int_equal(nfqd_policy_rule_reject(p, 0), cases[i].kind);
		/* the canonical text compiles to itself */
		again = one_rule(canon, &canon);
		assert_string_equal(canon, cases[i].canon);
		nfqd_policy_free(again);
		nfqd_policy_free(p);
	}
}

static void test_a_reject_rule_decides_drop_with_its_kind(void **state)
{
	struct nfqd_packet pkt = { 0 };
	struct nfqd_decision d;
	struct nfqd_policy *p = NULL;

	(void)state;
	assert_int_equal(nfqd_policy_new(&p), 0);
	assert_int_equal(nfqd_policy_add_rule(p, "reject with admin-prohibited dport 83", NULL), 0);
	assert_int_equal(nfqd_policy_add_rule(p, "reject dport 82", NULL), 0);
	assert_int_equal(nfqd_policy_add_rule(p, "accept dport 81", NULL), 0);
	pkt.flags = NFQD_PKT_HAS_ID | NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS;
	pkt.l3 = 4;
	pkt.l4_proto = IPPROTO_UDP;
	for (uint16_t port = 81; port <= 84; port++) {
		static const int kind[] = { NFQD_REJECT_NONE, NFQD_REJECT_DEFAULT,
					    NFQD_REJECT_ADMIN_PROHIBITED, NFQD_REJECT_NONE };
		struct nfqd_decision spec;

		pkt.dport = port;
		nfqd_policy_eval(p, &pkt, NULL, &d);
		nfqd_policy_eval_terms(p, &pkt, NULL, &spec);
		assert_int_equal(d.reject, kind[port - 81]);
		assert_int_equal(d.verdict, port == 82 || port == 83 ? NF_DROP : NF_ACCEPT);
		/* the indexed evaluator decides as the specification */
		assert_int_equal(spec.reject, d.reject);
		assert_int_equal(spec.verdict, d.verdict);
	}
	assert_int_equal(nfqd_policy_reject_answers(p), 1u << NFQD_REJECT_TCP_RESET |
								1u << NFQD_REJECT_PORT_UNREACHABLE |
								1u << NFQD_REJECT_ADMIN_PROHIBITED);
	nfqd_policy_free(p);
}

static void test_reject_errors_name_the_word(void **state)
{
	static const struct {
		const char *text;
		unsigned int word;
		const char *msg;
	} cases[] = {
		{ "reject with", 2, "reject: missing kind after 'with': expected tcp-reset, " },
		{ "reject with icmp", 3,
		  "reject: missing kind after 'icmp': expected tcp-reset, " },
		{ "reject with bogus dport 1", 3,
		  "unknown reject kind 'bogus': expected tcp-reset, port-unreachable, " },
		{ "reject with with", 3, "unknown reject kind 'with'" },
		{ "reject withx", 2, "unknown match 'withx'" },
		{ "reject set-mark 1", 2,
		  "unexpected 'set-mark' in a reject rule: set-mark is allowed only with accept" },
		{ "reject with port-unreachable set-mark 1", 4,
		  "unexpected 'set-mark' in a reject with port-unreachable rule" },
		{ "", 0, "empty rule: expected a verdict (accept, drop, reject, queue N)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nfqd_policy *p = NULL;
		struct nfqd_policy_error err;

		assert_int_equal(nfqd_policy_new(&p), 0);
		assert_int_equal(nfqd_policy_add_rule(p, cases[i].text, &err), -EINVAL);
		if (!strstr(err.msg, cases[i].msg) || err.word != cases[i].word)
			fail_msg("'%s': word %u '%s', expected word %u '%s'", cases[i].text,
				 err.word, err.msg, cases[i].word, cases[i].msg);
		assert_int_equal(nfqd_policy_rule_count(p), 0);
		nfqd_policy_free(p);
	}
}

/* ---- the kinds ---- */

static void test_each_kind_maps_to_both_families_spellings(void **state)
{
	static const struct {
		int kind;
		const char *v4, *v6;
	} cases[] = {
		{ NFQD_REJECT_TCP_RESET, "tcp-reset", "tcp-reset" },
		{ NFQD_REJECT_PORT_UNREACHABLE, "icmp-port-unreachable", "icmp6-port-unreachable" },
		{ NFQD_REJECT_HOST_UNREACHABLE, "icmp-host-unreachable", "icmp6-addr-unreachable" },
		{ NFQD_REJECT_NET_UNREACHABLE, "icmp-net-unreachable", "icmp6-no-route" },
		{ NFQD_REJECT_PROTO_UNREACHABLE, "icmp-proto-unreachable",
		  "icmp6-port-unreachable" },
		{ NFQD_REJECT_NET_PROHIBITED, "icmp-net-prohibited", "icmp6-adm-prohibited" },
		{ NFQD_REJECT_HOST_PROHIBITED, "icmp-host-prohibited", "icmp6-adm-prohibited" },
		{ NFQD_REJECT_ADMIN_PROHIBITED, "icmp-admin-prohibited", "icmp6-adm-prohibited" },
	};

	(void)state;
	assert_int_equal(sizeof(cases) / sizeof(cases[0]), NFQD_REJECT_MAX - 2);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(nfqd_reject_with(cases[i].kind, false), cases[i].v4);
		assert_string_equal(nfqd_reject_with(cases[i].kind, true), cases[i].v6);
		/* every word parses back to its kind; an IPv4 spelling too */
		assert_int_equal(nfqd_reject_parse(nfqd_reject_name(cases[i].kind)), cases[i].kind);
		assert_int_equal(nfqd_reject_parse(cases[i].v4), cases[i].kind);
	}
	assert_null(nfqd_reject_with(NFQD_REJECT_DEFAULT, false));
	assert_null(nfqd_reject_with(NFQD_REJECT_NONE, true));
	assert_int_equal(nfqd_reject_parse("reject"), -EINVAL);
	assert_int_equal(nfqd_reject_parse("icmp-bogus"), -EINVAL);
}

static void test_a_reset_answers_tcp_only_and_port_unreachable_the_rest(void **state)
{
	(void)state;
	for (int k = NFQD_REJECT_DEFAULT; k <= NFQD_REJECT_TCP_RESET; k++) {
		assert_int_equal(nfqd_reject_answer(k, true), NFQD_REJECT_TCP_RESET);
		assert_int_equal(nfqd_reject_answer(k, false), NFQD_REJECT_PORT_UNREACHABLE);
		assert_int_equal(nfqd_reject_answers_of(k),
				 1u << NFQD_REJECT_TCP_RESET | 1u << NFQD_REJECT_PORT_UNREACHABLE);
	}
	/* an ICMP kind answers a TCP packet with that ICMP error, as iptables' REJECT does */
	assert_int_equal(nfqd_reject_answer(NFQD_REJECT_ADMIN_PROHIBITED, true),
			 NFQD_REJECT_ADMIN_PROHIBITED);
	assert_int_equal(nfqd_reject_answers_of(NFQD_REJECT_HOST_UNREACHABLE),
			 1u << NFQD_REJECT_HOST_UNREACHABLE);
	assert_int_equal(nfqd_reject_answer(NFQD_REJECT_NONE, true), NFQD_REJECT_NONE);
	assert_int_equal(nfqd_reject_answers_of(NFQD_REJECT_NONE), 0);
}

/* ---- the mark plan ---- */

#define ANSWERS_DEFAULT (1u << NFQD_REJECT_TCP_RESET | 1u << NFQD_REJECT_PORT_UNREACHABLE)

static void test_reject_codes_come_after_the_other_bits_without_overlap(void **state)
{
	struct nfqd_markplan p;
	uint32_t others;
	char why[256];

	(void)state;
	assert_int_equal(nfqd_markplan_make(&p, 0xff000000, true, true, 2, why, sizeof(why)), 0);
	others = p.all;
	assert_int_equal(nfqd_markplan_add_rejects(&p, ANSWERS_DEFAULT, why, sizeof(why)), 0);
	/* two answers: a field of two bits above marker, flow, stale and two set bits */
	assert_int_equal(p.reject, 0xc0000000);
	assert_int_equal(p.reject & others, 0);
	assert_int_equal(p.all, others | p.reject);
	assert_int_equal(p.reject_code[NFQD_REJECT_TCP_RESET], 0x40000000);
	assert_int_equal(p.reject_code[NFQD_REJECT_PORT_UNREACHABLE], 0x80000000);
	for (int a = 0; a < NFQD_REJECT_MAX; a++)
		if (a != NFQD_REJECT_TCP_RESET && a != NFQD_REJECT_PORT_UNREACHABLE)
			assert_int_equal(p.reject_code[a], 0);
}

static void test_codes_are_distinct_and_fill_scattered_bits(void **state)
{
	uint32_t all = 0;
	struct nfqd_markplan p;
	char why[256];

	(void)state;
	/* every answer: 8 codes need 4 bits, taken from scattered mark-bits */
	assert_int_equal(nfqd_markplan_make(&p, 0x80402011, false, false, 0, why, sizeof(why)), 0);
	assert_int_equal(nfqd_markplan_add_rejects(&p, ~0u, why, sizeof(why)), 0);
	assert_int_equal(p.marker, 0x1);
	assert_int_equal(p.reject, 0x80402010);
	for (int a = NFQD_REJECT_TCP_RESET; a < NFQD_REJECT_MAX; a++) {
		uint32_t code = p.reject_code[a];

		assert_int_not_equal(code, 0);
		assert_int_equal(code & ~p.reject, 0);
		for (int b = NFQD_REJECT_TCP_RESET; b < a; b++)
			assert_int_not_equal(p.reject_code[b], code);
		all |= code;
	}
	assert_int_equal(all, p.reject);
	/* NONE and DEFAULT are no answers: they get no code */
	assert_int_equal(p.reject_code[NFQD_REJECT_NONE], 0);
	assert_int_equal(p.reject_code[NFQD_REJECT_DEFAULT], 0);
}

static void test_no_reject_takes_no_bit_and_too_few_bits_is_enospc(void **state)
{
	struct nfqd_markplan p;
	char why[256];

	(void)state;
	assert_int_equal(nfqd_markplan_make(&p, 0xff, false, false, 0, why, sizeof(why)), 0);
	assert_int_equal(nfqd_markplan_add_rejects(&p, 0, why, sizeof(why)), 0);
	assert_int_equal(p.reject, 0);
	assert_int_equal(p.all, 0x1);

	assert_int_equal(nfqd_markplan_make(&p, 0x3, false, false, 0, why, sizeof(why)), 0);
	assert_int_equal(nfqd_markplan_add_rejects(&p, ANSWERS_DEFAULT, why, sizeof(why)), -ENOSPC);
	assert_string_equal(why, "mark-bits 0x00000003 has 2 bits; this configuration needs 3: 1 "
				 "for nfqd's other bits and 2 for the codes of 2 reject answers");
}

/* ---- the generated rules ---- */

/* The rule lines (-A) of the script for c, joined by newlines (malloc'd). */
static char *rule_lines(const struct config *c, bool ipv6)
{
	char *text = NULL, *lines, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(rules_generate(c, NULL, ipv6, f, err, sizeof(err)), 0);
	fclose(f);
	lines = calloc(1, len + 1);
	assert_non_null(lines);
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
		if (strncmp(l, "-A ", 3) != 0)
			continue;
		/* the plan tag's hash is tested in test_rules */
		if (strstr(l, "--comment"))
			l = "-A NFQD <tagged marker>";
		strcat(lines, l);
		strcat(lines, "\n");
	}
	free(text);
	return lines;
}

#define REJECT_CONF                                                                                \
	"[policy]\nrule = reject proto tcp dport 81\nrule = reject dport 82\n"                     \
	"rule = reject with icmp admin-prohibited dport 83\n"

static void test_the_chain_rejects_first_in_each_familys_spelling(void **state)
{
	struct config *c = load(REJECT_CONF);
	char *v4 = rule_lines(c, false), *v6 = rule_lines(c, true);

	(void)state;
	assert_string_equal(
		v4, "-A NFQD -p tcp -m mark --mark 0x02000000/0x06000000 -j REJECT --reject-with "
		    "tcp-reset\n"
		    "-A NFQD -m mark --mark 0x04000000/0x06000000 -j REJECT --reject-with "
		    "icmp-port-unreachable\n"
		    "-A NFQD -m mark --mark 0x06000000/0x06000000 -j REJECT --reject-with "
		    "icmp-admin-prohibited\n"
		    "-A NFQD <tagged marker>\n"
		    "-A NFQD -j NFQUEUE --queue-num 0\n");
	assert_string_equal(
		v6, "-A NFQD -p tcp -m mark --mark 0x02000000/0x06000000 -j REJECT --reject-with "
		    "tcp-reset\n"
		    "-A NFQD -m mark --mark 0x04000000/0x06000000 -j REJECT --reject-with "
		    "icmp6-port-unreachable\n"
		    "-A NFQD -m mark --mark 0x06000000/0x06000000 -j REJECT --reject-with "
		    "icmp6-adm-prohibited\n"
		    "-A NFQD <tagged marker>\n"
		    "-A NFQD -j NFQUEUE --queue-num 0\n");
	free(v4);
	free(v6);
	config_free(c);
}

static void test_only_the_answers_the_rules_give_are_in_the_chain(void **state)
{
	struct config *c = load("[policy]\nflow-cache = connmark\nrule = reject with "
				"host-unreachable\nrule = drop dport 1\n");
	char *v4 = rule_lines(c, false);

	(void)state;
	/* one answer, one code bit, above the marker and the flow bits; no tcp-reset */
	assert_int_equal(c->plan.reject, 0x08000000);
	if (!strstr(v4, "-A NFQD -m mark --mark 0x08000000/0x08000000 -j REJECT --reject-with "
			"icmp-host-unreachable\n") ||
	    strstr(v4, "tcp-reset") || strstr(v4, "port-unreachable"))
		fail_msg("rules: %s", v4);
	/* before the flow cache's save, so that a reject never reaches it */
	assert_true(strstr(v4, "REJECT") < strstr(v4, "CONNMARK --save-mark"));
	free(v4);
	config_free(c);

	c = load("[policy]\nrule = drop dport 1\n");
	v4 = rule_lines(c, false);
	assert_null(strstr(v4, "REJECT"));
	assert_int_equal(c->plan.reject, 0);
	free(v4);
	config_free(c);
}

static void test_reject_codes_that_do_not_fit_name_the_line(void **state)
{
	struct config *c = NULL;
	char err[512];

	(void)state;
	/* mark-bits given: its line */
	assert_int_equal(config_load_string(&c, "t.conf",
					    "[policy]\nmark-bits = 0x3\nrule = reject\n", err,
					    sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.conf:2: mark-bits 0x00000003 has 2 bits; this configuration "
				 "needs 3: 1 for nfqd's other bits and 2 for the codes of 2 reject "
				 "answers");
	/* the default mark-bits, full with the flow cache and four set lookups: the first
	 * reject rule's line */
	assert_int_equal(config_load_string(&c, "t.conf",
					    "[policy]\nflow-cache = connmark\nrule = drop src @a\n"
					    "rule = drop src @b\nrule = drop src @c\n"
					    "rule = drop src @d\nrule = reject dport 82\n",
					    err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "t.conf:7: mark-bits 0xff000000 has 8 bits; this configuration "
			    "needs 10: 8 for nfqd's other bits and 2 for the codes of 2 reject "
			    "answers");
	/* what fits is taken */
	assert_int_equal(config_load_string(&c, "t.conf",
					    "[policy]\nmark-bits = 0xf\nrule = reject\n"
					    "rule = reject with host-unreachable\n",
					    err, sizeof(err)),
			 0);
	/* three answers (tcp-reset, port- and host-unreachable): two bits above the marker */
	assert_int_equal(c->plan.reject, 0x6);
	config_free(c);
}

/* ---- the load-time check ---- */

static void test_reject_rules_need_the_loaded_chain_to_hold_the_plan(void **state)
{
	struct config *c = load("[policy]\nrule = drop dport 84\nrule = reject dport 82\n");
	struct config *plain = load("[policy]\nrule = drop dport 84\n");
	struct ruleset_loaded l = { .err = { 0, -ENOENT } };
	char msg[2048], err[256];

	(void)state;
	assert_int_equal(reject_first_rule(c), 1);
	assert_int_equal(reject_first_rule(plain), -1);
	assert_int_equal(rules_plan_hash(c, NULL, false, &l.tag[0], err, sizeof(err)), 0);
	/* the chain holds this configuration's rules (IPv4; no IPv6 chain) */
	assert_int_equal(reject_check_loaded(c, NULL, &l, NULL, msg, sizeof(msg)), 0);
	/* the rules of another configuration: refused, FILE:LINE, why and what to do */
	l.tag[0] ^= 1;
	assert_int_equal(reject_check_loaded(c, NULL, &l, NULL, msg, sizeof(msg)), -EBADR);
	if (strncmp(msg,
		    "t.conf:3: rule 'reject dport 82': a reject is answered by the REJECT rules "
		    "of nfqd's generated chain NFQD, and the loaded chain NFQD does not hold",
		    140) != 0 ||
	    !strstr(msg, "nfqd rules -c t.conf | iptables-restore --noflush") ||
	    !strstr(msg, "Behind a plain NFQUEUE rule that nfqd did not generate nothing answers "
			 "it") ||
	    !strstr(msg, "write drop instead of reject"))
		fail_msg("message: %s", msg);
	/* the right chain, but a plain queue rule elsewhere sends to the queue */
	l.tag[0] ^= 1;
	{
		struct reject_plain pl = { .err = { -ENOENT, 0 },
					   .rule[1] = { "filter", "INPUT", 0, 3 } };

		assert_int_equal(reject_check_loaded(c, NULL, &l, &pl, msg, sizeof(msg)), -EBADR);
		assert_string_equal(
			msg,
			"t.conf:3: rule 'reject dport 82': chain INPUT of table filter (IPv6) "
			"sends packets to queues 0-3 with a plain queue rule that nfqd did not "
			"generate: a reject of those packets would not be answered (only the "
			"REJECT rules of chain NFQD answer one). Send that traffic through "
			"chain NFQD instead (-j NFQD), or write drop instead of reject");
		/* none found, or the ruleset unreadable: left to the workers' check */
		pl.err[1] = -EPERM;
		assert_int_equal(reject_check_loaded(c, NULL, &l, &pl, msg, sizeof(msg)), 0);
	}
	/* no chain NFQD at all (a plain queue rule), or nothing known of it */
	l.err[0] = -ENOENT;
	assert_int_equal(reject_check_loaded(c, NULL, &l, NULL, msg, sizeof(msg)), -EBADR);
	assert_non_null(strstr(msg, "nfqd sees no chain NFQD"));
	assert_int_equal(reject_check_loaded(c, NULL, NULL, NULL, msg, sizeof(msg)), -EBADR);
	/* without reject rules, nothing is asked of the chain */
	assert_int_equal(reject_check_loaded(plain, NULL, NULL, NULL, msg, sizeof(msg)), 0);
	config_free(c);
	config_free(plain);
}

/* ---- queue rules in the kernel's ruleset ---- */

/* An xt target expression: name, revision (big endian, as the kernel sends it), info. */
static void put_target(struct nlmsghdr *nlh, const char *name, uint32_t rev, const void *info,
		       size_t len)
{
	struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM), *data;

	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "target");
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_strz(nlh, NFTA_TARGET_NAME, name);
	mnl_attr_put_u32(nlh, NFTA_TARGET_REV, htonl(rev));
	mnl_attr_put(nlh, NFTA_TARGET_INFO, len, info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
}

/* A rule of chain with one xt target expression (put_target()). */
static struct nlmsghdr *target_rule(char *buf, const char *chain, const char *name, uint32_t rev,
				    const void *info, size_t len)
{
	struct nlmsghdr *nlh = rule_msg(buf, chain);
	struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);

	put_target(nlh, name, rev, info, len);
	mnl_attr_nest_end(nlh, list);
	return nlh;
}

static void test_queue_rules_are_read_with_their_queues(void **state)
{
	char buf[1024] __attribute__((aligned(4)));
	const struct xt_NFQ_info_v3 v3 = { .queuenum = 2, .queues_total = 3 };
	const struct xt_NFQ_info v0 = { .queuenum = 7 };
	const uint32_t mark = 1;
	struct nfqd_queue_rule q;
	struct nlmsghdr *nlh;
	struct nlattr *list, *elem, *data;

	(void)state;
	/* iptables -A INPUT -j NFQUEUE --queue-balance 2:4, as iptables-nft loads it, behind
	 * another target */
	nlh = rule_msg(buf, "INPUT");
	list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	put_target(nlh, "MARK", 2, &mark, sizeof(mark));
	put_target(nlh, "NFQUEUE", 3, &v3, sizeof(v3));
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(nfqd_queue_rule_parse(nlh, &q), 0);
	assert_string_equal(q.table, "filter");
	assert_string_equal(q.chain, "INPUT");
	assert_int_equal(q.first, 2);
	assert_int_equal(q.last, 4);

	/* revision 0: one queue */
	nlh = target_rule(buf, "FORWARD", "NFQUEUE", 0, &v0, sizeof(v0));
	assert_int_equal(nfqd_queue_rule_parse(nlh, &q), 0);
	assert_string_equal(q.chain, "FORWARD");
	assert_int_equal(q.first, 7);
	assert_int_equal(q.last, 7);

	/* nftables' queue expression: num 5 total 2 */
	nlh = rule_msg(buf, "in");
	list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "queue");
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_u16(nlh, NFTA_QUEUE_NUM, htons(5));
	mnl_attr_put_u16(nlh, NFTA_QUEUE_TOTAL, htons(2));
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(nfqd_queue_rule_parse(nlh, &q), 0);
	assert_int_equal(q.first, 5);
	assert_int_equal(q.last, 6);

	/* no queue: a MARK target alone */
	nlh = target_rule(buf, "INPUT", "MARK", 2, &mark, sizeof(mark));
	assert_int_equal(nfqd_queue_rule_parse(nlh, &q), -ENODATA);

	/* an NFQUEUE info shorter than its revision's: malformed */
	nlh = target_rule(buf, "INPUT", "NFQUEUE", 1, &v0, sizeof(v0));
	assert_int_equal(nfqd_queue_rule_parse(nlh, &q), -EBADMSG);
	/* a length that is no multiple of 4 */
	nlh->nlmsg_len -= 2;
	assert_int_equal(nfqd_queue_rule_parse(nlh, &q), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reject_with_and_without_a_kind_in_canonical_form),
		cmocka_unit_test(test_a_reject_rule_decides_drop_with_its_kind),
		cmocka_unit_test(test_reject_errors_name_the_word),
		cmocka_unit_test(test_each_kind_maps_to_both_families_spellings),
		cmocka_unit_test(test_a_reset_answers_tcp_only_and_port_unreachable_the_rest),
		cmocka_unit_test(test_reject_codes_come_after_the_other_bits_without_overlap),
		cmocka_unit_test(test_codes_are_distinct_and_fill_scattered_bits),
		cmocka_unit_test(test_no_reject_takes_no_bit_and_too_few_bits_is_enospc),
		cmocka_unit_test(test_the_chain_rejects_first_in_each_familys_spelling),
		cmocka_unit_test(test_only_the_answers_the_rules_give_are_in_the_chain),
		cmocka_unit_test(test_reject_codes_that_do_not_fit_name_the_line),
		cmocka_unit_test(test_reject_rules_need_the_loaded_chain_to_hold_the_plan),
		cmocka_unit_test(test_queue_rules_are_read_with_their_queues),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
