/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-rule counters across a reload: each rule's counts go to where the new policy has the same
 * rule (its canonical text, and which occurrence of that text it is), whatever its position; a
 * new rule starts at 0 and a removed rule's counts are gone; the default's counts always follow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "nfqd/policy.h"

#include "rulecount.h"

/* A policy of the given rules (NULL-terminated). */
static struct nfqd_policy *policy_of(const char *const *rules)
{
	struct nfqd_policy_error err;
	struct nfqd_policy *p;

	assert_int_equal(nfqd_policy_new(&p), 0);
	for (unsigned int i = 0; rules[i]; i++)
		assert_int_equal(nfqd_policy_add_rule(p, rules[i], &err), 0);
	return p;
}

/* Counts of a policy's rules: rule i matched 100 * (i + 1) packets of 10 bytes; default 7. */
static struct rule_counts *counted(const struct nfqd_policy *p)
{
	unsigned int n = nfqd_policy_rule_count(p);
	struct rule_counts *rc = rule_counts_new(n);

	assert_non_null(rc);
	assert_int_equal(rc->n_rules, n);
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int k = 0; k < 100 * (i + 1); k++)
			rule_count_add(&rc->c[i], 10);
	for (unsigned int k = 0; k < 7; k++)
		rule_count_add(&rc->c[n], 60);
	return rc;
}

static void assert_count(const struct rule_counts *rc, unsigned int i, uint64_t packets)
{
	if (rc->c[i].packets != packets || rc->c[i].bytes != packets * 10)
		fail_msg("entry %u: %llu packets, %llu bytes; expected %llu packets, %llu bytes", i,
			 (unsigned long long)rc->c[i].packets, (unsigned long long)rc->c[i].bytes,
			 (unsigned long long)packets, (unsigned long long)packets * 10);
}

static void assert_default_followed(const struct rule_counts *rc)
{
	assert_int_equal(rc->c[rc->n_rules].packets, 7);
	assert_int_equal(rc->c[rc->n_rules].bytes, 420);
}

static void test_unchanged_rules_keep_their_counts(void **state)
{
	const char *const rules[] = { "drop proto udp dport 53", "accept src 192.0.2.0/24", NULL };
	struct nfqd_policy *from = policy_of(rules), *to = policy_of(rules);
	struct rule_counts *in = counted(from), *out = rule_counts_follow(from, to, in);

	(void)state;
	assert_non_null(out);
	assert_int_equal(out->n_rules, 2);
	assert_count(out, 0, 100);
	assert_count(out, 1, 200);
	assert_default_followed(out);
	free(in);
	free(out);
	nfqd_policy_free(from);
	nfqd_policy_free(to);
}

/* A rule inserted in front renumbers the others: they keep their counts, the new one has 0.
 * The texts are compared in canonical form: extra blanks make no other
 * rule. */
static void test_moved_rules_keep_their_counts_and_a_new_rule_starts_at_zero(void **state)
{
	const char *const old[] = { "drop proto udp dport 53", "accept src 192.0.2.0/24", NULL };
	const char *const new[] = { "drop proto tcp", "accept  src  192.0.2.0/24",
				    "drop proto udp dport 53", NULL };
	struct nfqd_policy *from = policy_of(old), *to = policy_of(new);
	struct rule_counts *in = counted(from), *out = rule_counts_follow(from, to, in);

	(void)state;
	assert_non_null(out);
	assert_int_equal(out->n_rules, 3);
	assert_count(out, 0, 0);
	assert_count(out, 1, 200);
	assert_count(out, 2, 100);
	assert_default_followed(out);
	free(in);
	free(out);
	nfqd_policy_free(from);
	nfqd_policy_free(to);
}

static void test_a_removed_rules_counts_vanish(void **state)
{
	const char *const old[] = { "drop proto udp", "drop proto tcp", "accept proto icmp", NULL };
	const char *const new[] = { "drop proto udp", "accept proto icmp", NULL };
	const char *const back[] = { "drop proto udp", "drop proto tcp", "accept proto icmp",
				     NULL };
	struct nfqd_policy *from = policy_of(old), *to = policy_of(new), *again = policy_of(back);
	struct rule_counts *in = counted(from), *out = rule_counts_follow(from, to, in);
	struct rule_counts *readded = NULL;

	(void)state;
	assert_non_null(out);
	assert_count(out, 0, 100);
	assert_count(out, 1, 300);
	/* put back by a later reload, the removed rule starts again at 0 */
	readded = rule_counts_follow(to, again, out);
	assert_non_null(readded);
	assert_count(readded, 0, 100);
	assert_count(readded, 1, 0);
	assert_count(readded, 2, 300);
	assert_default_followed(readded);
	free(in);
	free(out);
	free(readded);
	nfqd_policy_free(from);
	nfqd_policy_free(to);
	nfqd_policy_free(again);
}

/*
 * Identical texts are told apart by their occurrence: the first "drop proto udp" of the new
 * policy is the first of the old one, the second the second, and a third one is new.
 */
static void test_duplicated_rules_follow_by_occurrence(void **state)
{
	const char *const old[] = { "drop proto udp", "accept proto tcp", "drop proto udp", NULL };
	const char *const new[] = { "drop proto udp", "drop proto udp", "accept proto tcp",
				    "drop proto udp", NULL };
	struct nfqd_policy *from = policy_of(old), *to = policy_of(new);
	struct rule_counts *in = counted(from), *out = rule_counts_follow(from, to, in);
	int map[4];

	(void)state;
	assert_int_equal(rule_counts_map(from, to, map), 0);
	assert_int_equal(map[0], 0);
	assert_int_equal(map[1], 2);
	assert_int_equal(map[2], 1);
	assert_int_equal(map[3], -1);
	assert_non_null(out);
	assert_count(out, 0, 100);
	assert_count(out, 1, 300);
	assert_count(out, 2, 200);
	assert_count(out, 3, 0);
	free(in);
	free(out);
	nfqd_policy_free(from);
	nfqd_policy_free(to);
}

/* The first generation a worker takes, and a policy without rules: zeros, the default alone. */
static void test_first_generation_and_empty_policy(void **state)
{
	const char *const some[] = { "drop proto udp", NULL };
	const char *const none[] = { NULL };
	struct nfqd_policy *p = policy_of(some), *empty = policy_of(none);
	struct rule_counts *first = rule_counts_follow(NULL, p, NULL);
	struct rule_counts *in = counted(p), *out = rule_counts_follow(p, empty, in);
	int map[1] = { 5 };

	(void)state;
	assert_non_null(first);
	assert_int_equal(first->n_rules, 1);
	assert_count(first, 0, 0);
	assert_int_equal(first->c[1].packets, 0);
	assert_int_equal(rule_counts_map(NULL, p, map), 0);
	assert_int_equal(map[0], -1);
	assert_non_null(out);
	assert_int_equal(out->n_rules, 0);
	assert_default_followed(out);
	free(first);
	free(in);
	free(out);
	nfqd_policy_free(p);
	nfqd_policy_free(empty);
}

/* The largest policy: 4096 rules reversed, each finds its counts at its new place. */
static void test_many_rules_reversed(void **state)
{
	enum {
		N = 4096
	};
	struct nfqd_policy_error err;
	struct nfqd_policy *from, *to;
	struct rule_counts *in, *out;
	char text[64];

	(void)state;
	assert_int_equal(nfqd_policy_new(&from), 0);
	assert_int_equal(nfqd_policy_new(&to), 0);
	for (unsigned int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "drop proto udp dport %u", i);
		assert_int_equal(nfqd_policy_add_rule(from, text, &err), 0);
		snprintf(text, sizeof(text), "drop proto udp dport %u", N - 1 - i);
		assert_int_equal(nfqd_policy_add_rule(to, text, &err), 0);
	}
	in = rule_counts_new(N);
	assert_non_null(in);
	for (unsigned int i = 0; i < N; i++)
		rule_count_add(&in->c[i], i);
	out = rule_counts_follow(from, to, in);
	assert_non_null(out);
	for (unsigned int i = 0; i < N; i++)
		if (out->c[i].packets != 1 || out->c[i].bytes != N - 1 - i)
			fail_msg("rule %u: %llu packets, %llu bytes; expected 1 and %u", i,
				 (unsigned long long)out->c[i].packets,
				 (unsigned long long)out->c[i].bytes, N - 1 - i);
	free(in);
	free(out);
	nfqd_policy_free(from);
	nfqd_policy_free(to);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged_rules_keep_their_counts),
		cmocka_unit_test(test_moved_rules_keep_their_counts_and_a_new_rule_starts_at_zero),
		cmocka_unit_test(test_a_removed_rules_counts_vanish),
		cmocka_unit_test(test_duplicated_rules_follow_by_occurrence),
		cmocka_unit_test(test_first_generation_and_empty_policy),
		cmocka_unit_test(test_many_rules_reversed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
