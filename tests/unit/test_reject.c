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
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/markplan.h"
#include "nfqd/packet.h"
#include "nfqd/policy.h"
#include "nfqd/reject.h"
#include "config.h"
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
	assert_int_equal(reject_check_loaded(c, NULL, &l, msg, sizeof(msg)), 0);
	/* the rules of another configuration: refused, FILE:LINE, why and what to do */
	l.tag[0] ^= 1;
	assert_int_equal(reject_check_loaded(c, NULL, &l, msg, sizeof(msg)), -EBADR);
	if (strncmp(msg,
		    "t.conf:3: rule 'reject dport 82': a reject is answered by the REJECT rules "
		    "of nfqd's generated chain NFQD, and the loaded chain NFQD does not hold",
		    140) != 0 ||
	    !strstr(msg, "nfqd rules -c t.conf | iptables-restore --noflush") ||
	    !strstr(msg, "Behind a plain NFQUEUE rule that nfqd did not generate nothing answers "
			 "it") ||
	    !strstr(msg, "write drop instead of reject"))
		fail_msg("message: %s", msg);
	/* no chain NFQD at all (a plain queue rule), or nothing known of it */
	l.err[0] = -ENOENT;
	assert_int_equal(reject_check_loaded(c, NULL, &l, msg, sizeof(msg)), -EBADR);
	assert_non_null(strstr(msg, "nfqd sees no chain NFQD"));
	assert_int_equal(reject_check_loaded(c, NULL, NULL, msg, sizeof(msg)), -EBADR);
	/* without reject rules, nothing is asked of the chain */
	assert_int_equal(reject_check_loaded(plain, NULL, NULL, msg, sizeof(msg)), 0);
	config_free(c);
	config_free(plain);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
