/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `nfqd rules`: the chain NFQD generated for a configuration, text compared line by line; and
 * where the workers of its queues run under the fanout the rules use.
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

#include "nfqd/chainplan.h"
#include "nfqd/ipset.h"
#include "config.h"
#include "confload.h"
#include "fanout.h"
#include "rules.h"

static struct nfqd_ipset_info info(const char *name, const char *type, uint8_t family)
{
	struct nfqd_ipset_info i;

	memset(&i, 0, sizeof(i));
	snprintf(i.name, sizeof(i.name), "%s", name);
	snprintf(i.type, sizeof(i.type), "%s", type);
	i.family = family;
	int kind = nfqd_ipset_kind_of(type, &i.dims);

	assert_true(kind >= 0);
	i.kind = (uint8_t)kind;
	return i;
}

/* The tag of a generated script's marker rule, as "nfqd plan <hash>": each test proves what the
 * hash is elsewhere (test_the_tag_is_the_hash_of_the_plan_without_it). */
static void hide_hash(char *line)
{
	char *at = strstr(line, "--comment \"" NFQD_CHAINPLAN_PREFIX);
	char *hex = at ? at + strlen("--comment \"" NFQD_CHAINPLAN_PREFIX) : NULL;

	if (hex && strlen(hex) > 16 && hex[16] == '"') {
		memcpy(hex, "<hash>", 6);
		memmove(hex + 6, hex + 16, strlen(hex + 16) + 1);
	}
}

/* The table, chain and rule lines of the generated script, joined by newlines. */
static char *generate(const struct config *c, const struct nfqd_ipset_info *infos, bool ipv6,
		      int *ret, char *err, size_t errlen)
{
	char *text = NULL, *lines;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	*ret = rules_generate(c, infos, ipv6, f, err, errlen);
	fclose(f);
	lines = calloc(1, len + 1);
	assert_non_null(lines);
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
		if (strncmp(l, "-A ", 3) == 0 || strncmp(l, ":NFQD", 5) == 0 ||
		    strcmp(l, "*filter") == 0 || strcmp(l, "*security") == 0 ||
		    strcmp(l, "COMMIT") == 0) {
			hide_hash(l);
			strcat(lines, l);
			strcat(lines, "\n");
		}
	}
	free(text);
	return lines;
}

static void test_queue_rule_alone_without_sets_or_cache(void **state)
{
	struct config *c = load("[queue]\nqueues = 2\n");
	char err[256];
	int r;
	char *out = generate(c, NULL, false, &r, err, sizeof(err));

	(void)state;
	assert_int_equal(r, 0);
	assert_string_equal(
		out,
		"*filter\n"
		":NFQD - [0:0]\n"
		"-A NFQD -m comment --comment \"nfqd plan <hash>\" -j MARK --or-mark 0x01000000\n"
		"-A NFQD -j NFQUEUE --queue-num 2\n"
		"COMMIT\n");
	free(out);
	config_free(c);
}

static void test_flow_cache_with_sets_and_fail_open(void **state)
{
	struct config *c = load("[queue]\nqueues = 0-3\nfail-open = yes\n"
				"[policy]\nflow-cache = connmark\n"
				"rule = drop src @bl\nrule = accept set @svc dst,dst\n");
	struct nfqd_ipset_info infos[2] = { info("bl", "hash:ip", NFPROTO_IPV4),
					    info("svc", "hash:ip,port", NFPROTO_IPV4) };
	char err[256];
	int r;
	char *out = generate(c, infos, false, &r, err, sizeof(err));

	(void)state;
	assert_int_equal(r, 0);
	assert_string_equal(
		out,
		"*filter\n"
		":NFQD - [0:0]\n"
		"-A NFQD -m mark ! --mark 0x0/0x06000000 -j CONNMARK --save-mark --nfmask "
		"0x36000000 --ctmask 0x36000000\n"
		"-A NFQD -m set --match-set bl src -j MARK --or-mark 0x10000000\n"
		"-A NFQD -m set --match-set svc dst,dst -j MARK --or-mark 0x20000000\n"
		"-A NFQD -m conntrack --ctdir ORIGINAL -m mark --mark 0x0/0x10000000 -m connmark "
		"--mark 0x10000000/0x10000000 -j MARK --or-mark 0x08000000\n"
		"-A NFQD -m conntrack --ctdir ORIGINAL -m mark --mark 0x10000000/0x10000000 -m "
		"connmark --mark 0x0/0x10000000 -j MARK --or-mark 0x08000000\n"
		"-A NFQD -m conntrack --ctdir ORIGINAL -m mark --mark 0x0/0x20000000 -m connmark "
		"--mark 0x20000000/0x20000000 -j MARK --or-mark 0x08000000\n"
		"-A NFQD -m conntrack --ctdir ORIGINAL -m mark --mark 0x20000000/0x20000000 -m "
		"connmark --mark 0x0/0x20000000 -j MARK --or-mark 0x08000000\n"
		"-A NFQD -m mark --mark 0x0/0x08000000 -m connmark --mark 0x02000000/0x06000000 "
		"-j ACCEPT\n"
		"-A NFQD -m mark --mark 0x0/0x08000000 -m connmark --mark 0x04000000/0x06000000 "
		"-j DROP\n"
		"-A NFQD -m comment --comment \"nfqd plan <hash>\" -j MARK --or-mark 0x01000000\n"
		"-A NFQD -j NFQUEUE --queue-balance 0:3 --queue-bypass\n"
		"COMMIT\n"
		"*security\n"
		":NFQD-PASS - [0:0]\n"
		"-A NFQD-PASS -m mark --mark 0x01000000/0x01000000 -j MARK --and-mark 0xfeffffff\n"
		"COMMIT\n");
	free(out);
	config_free(c);
}

static void test_ipv6_leaves_out_sets_of_the_other_family_and_lists_take_three_sides(void **state)
{
	struct config *c = load("[policy]\nrule = drop src @v4\nrule = drop src @v6\n"
				"rule = drop dst @list\n");
	struct nfqd_ipset_info infos[3] = { info("v4", "hash:ip", NFPROTO_IPV4),
					    info("v6", "hash:net", NFPROTO_IPV6),
					    info("list", "list:set", NFPROTO_UNSPEC) };
	char err[256];
	int r;
	char *out = generate(c, infos, true, &r, err, sizeof(err));

	(void)state;
	assert_int_equal(r, 0);
	assert_string_equal(
		out,
		"*filter\n"
		":NFQD - [0:0]\n"
		"-A NFQD -m set --match-set v6 src -j MARK --or-mark 0x04000000\n"
		"-A NFQD -m set --match-set list dst,dst,dst -j MARK --or-mark "
		"0x08000000\n"
		"-A NFQD -m comment --comment \"nfqd plan <hash>\" -j MARK --or-mark 0x01000000\n"
		"-A NFQD -j NFQUEUE --queue-num 0\n"
		"COMMIT\n");
	free(out);
	config_free(c);
}

static void test_ct_mark_rules_get_the_connmark_restored(void **state)
{
	struct config *c = load("[policy]\nrule = accept ct mark 0x10/0xf0\n");
	char err[256];
	int r;
	char *out = generate(c, NULL, false, &r, err, sizeof(err));

	(void)state;
	assert_int_equal(r, 0);
	assert_non_null(strstr(out, "-A NFQD -j CONNMARK --restore-mark --nfmask 0x000000f0 "
				    "--ctmask 0x000000f0\n-A NFQD -m comment"));
	free(out);
	config_free(c);
}

static void test_a_queue_list_that_is_no_range_is_refused(void **state)
{
	struct config *c = load("[queue]\nqueues = 0,2\n");
	char err[256];
	int r;
	char *out = generate(c, NULL, false, &r, err, sizeof(err));

	(void)state;
	assert_true(r < 0);
	assert_string_equal(err,
			    "queues 0,2: --queue-balance needs a contiguous range such as 0-3");
	free(out);
	config_free(c);
}

/* The whole script for c, as `nfqd rules` prints it. */
static char *script(const struct config *c, const struct nfqd_ipset_info *infos, bool ipv6)
{
	char *text = NULL, err[256] = "";
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	if (rules_generate(c, infos, ipv6, f, err, sizeof(err)) != 0)
		fail_msg("rules_generate: %s", err);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* The hash of the one plan tag in a script; fails unless exactly one rule carries a tag. */
static uint64_t tag_of(const char *text)
{
	const char *at = strstr(text, "--comment \"");
	uint64_t h = 0;

	assert_non_null(at);
	at += strlen("--comment \"");
	assert_int_equal(nfqd_chainplan_tag_parse(at, strcspn(at, "\""), &h), 0);
	assert_null(strstr(at, "--comment \""));
	return h;
}

/*
 * The tag is the FNV-1a 64 hash of the script itself with the comment lines and the tag taken
 * out (one queue 0, set rules read: the plan is then the whole script).
 */
static void test_the_tag_is_the_hash_of_the_plan_without_it(void **state)
{
	struct config *c = load("[queue]\nqueues = 0\nfail-open = yes\n"
				"[policy]\nflow-cache = connmark\nrule = drop src @bl\n");
	struct nfqd_ipset_info infos[1] = { info("bl", "hash:ip", NFPROTO_IPV4) };
	char *text = script(c, infos, false);
	uint64_t tag = tag_of(text);
	char *plan = calloc(1, strlen(text) + 1), *comment;

	(void)state;
	assert_non_null(plan);
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
		if (l[0] == '#')
			continue;
		comment = strstr(l, "-m comment --comment \"");
		if (comment)
			memmove(comment, strchr(comment + 22, '"') + 2,
				strlen(strchr(comment + 22, '"') + 2) + 1);
		strcat(plan, l);
		strcat(plan, "\n");
	}
	assert_non_null(strstr(plan, "-A NFQD -j MARK --or-mark 0x01000000\n"));
	assert_non_null(strstr(plan, "--match-set bl src"));
	if (nfqd_chainplan_hash(plan, strlen(plan)) != tag)
		fail_msg("tag %016llx is not the hash %016llx of the plan:\n%s",
			 (unsigned long long)tag,
			 (unsigned long long)nfqd_chainplan_hash(plan, strlen(plan)), plan);
	free(plan);
	free(text);
	config_free(c);
}

/* What the tag hashes: the same for other queues (a reload may change them), another for other
 * mark bits, for the other family, and for set rules unless set-lookup = test leaves them
 * unread. */
static void test_the_tag_follows_the_plan_not_the_queues(void **state)
{
	const char *const texts[] = {
		"[queue]\nqueues = 0\n[policy]\nrule = drop src @bl\n",
		"[queue]\nqueues = 2-5\n[policy]\nrule = drop src @bl\n",
		"[queue]\nqueues = 0\n[policy]\nmark-bits = 0x00ff0000\nrule = drop src @bl\n",
		"[queue]\nqueues = 0\n[policy]\nrule = drop src @bl\nrule = drop dst @bl\n",
		"[policy]\nset-lookup = test\nrule = drop src @bl\n",
		"[policy]\nset-lookup = test\nrule = drop src @bl\nrule = drop dst @bl\n",
	};
	struct nfqd_ipset_info infos[2] = { info("bl", "hash:ip", NFPROTO_IPV4),
					    info("bl", "hash:ip", NFPROTO_IPV4) };
	uint64_t tag[6], tag6;

	(void)state;
	for (int i = 0; i < 6; i++) {
		struct config *c = load(texts[i]);
		char *text = script(c, infos, false);

		tag[i] = tag_of(text);
		free(text);
		if (i == 0) {
			text = script(c, infos, true);
			tag6 = tag_of(text);
			free(text);
		}
		config_free(c);
	}
	assert_true(tag[1] == tag[0]);
	assert_true(tag[2] != tag[0]);
	assert_true(tag[3] != tag[0]);
	assert_true(tag6 != tag[0]);
	assert_true(tag[5] == tag[4]);
}

/* fanout = cpu: the queue rule spreads by the CPU the packet arrived on (queue A + cpu % n),
 * still with --queue-bypass under fail-open; the default is the address hash. */
static void test_fanout_cpu_emits_queue_cpu_fanout(void **state)
{
	const char *const texts[] = {
		"[queue]\nqueues = 4-5\nfanout = cpu\n",
		"[queue]\nqueues = 0-1\nfanout = cpu\nfail-open = yes\n",
		"[queue]\nqueues = 0-1\n",
	};
	const char *const rules[] = {
		"-A NFQD -j NFQUEUE --queue-balance 4:5 --queue-cpu-fanout\n",
		"-A NFQD -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout --queue-bypass\n",
		"-A NFQD -j NFQUEUE --queue-balance 0:1\n",
	};

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct config *c = load(texts[i]);
		char err[256];
		int r;
		char *out = generate(c, NULL, false, &r, err, sizeof(err));
		const char *q = strstr(out, "-A NFQD -j NFQUEUE");

		assert_int_equal(r, 0);
		if (!q || strncmp(q, rules[i], strlen(rules[i])) != 0)
			fail_msg("config '%s': the queue rule is not '%s' in:\n%s", texts[i],
				 rules[i], out);
		free(out);
		config_free(c);
	}
}

/* An operator who changes fanout is told the loaded rules differ: the plan tag of fanout = cpu
 * is another than balance's over the same queues, and stays the same across queue ranges. */
static void test_the_tag_follows_the_fanout(void **state)
{
	const char *const texts[] = {
		"[queue]\nqueues = 0-1\n",
		"[queue]\nqueues = 0-1\nfanout = cpu\n",
		"[queue]\nqueues = 2-5\nfanout = cpu\n",
	};
	uint64_t tag[3];

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct config *c = load(texts[i]);
		char *text = script(c, NULL, false);

		tag[i] = tag_of(text);
		free(text);
		config_free(c);
	}
	assert_true(tag[1] != tag[0]);
	assert_true(tag[2] == tag[1]);
}

/* Queue A+k takes the packets of CPUs k, k+count, ... (xt_NFQUEUE): its worker goes to the
 * first of them nfqd may run on. */
static void test_cpu_fanout_puts_queue_a_plus_k_on_cpu_k(void **state)
{
	struct config *c = load("[queue]\nqueues = 4-5\nfanout = cpu\n");
	const int all[] = { 0, 1, 2, 3 }, odd[] = { 1, 3 }, three[] = { 2, 3 };

	(void)state;
	assert_int_equal(fanout_cpu_of_queue(c, 4, all, 4), 0);
	assert_int_equal(fanout_cpu_of_queue(c, 5, all, 4), 1);
	/* CPU 0 not allowed: queue 4 also takes CPU 2's packets */
	assert_int_equal(fanout_cpu_of_queue(c, 4, three, 2), 2);
	assert_int_equal(fanout_cpu_of_queue(c, 4, odd, 2), -ENOENT);
	assert_int_equal(fanout_cpu_of_queue(c, 3, all, 4), -EINVAL);
	assert_int_equal(fanout_cpu_of_queue(c, 6, all, 4), -EINVAL);
	/* the slot does not matter, the queue number does */
	assert_int_equal(fanout_worker_cpu(c, 5, 0, all, 4), 1);
	assert_int_equal(fanout_worker_cpu(c, 4, 1, all, 4), 0);
	config_free(c);
}

/* When no CPU of the queue's packets is allowed, and under balance, the workers go round-robin
 * by slot; with no CPU known they are not pinned. */
static void test_fallback_and_balance_go_round_robin(void **state)
{
	struct config *cpu = load("[queue]\nqueues = 0-1\nfanout = cpu\n");
	struct config *bal = load("[queue]\nqueues = 0-1\n");
	const int odd[] = { 1, 3 }, all[] = { 0, 1 };

	(void)state;
	assert_int_equal(fanout_worker_cpu(cpu, 0, 0, odd, 2), 1);
	assert_int_equal(fanout_worker_cpu(cpu, 0, 1, odd, 2), 3);
	assert_int_equal(fanout_cpu_of_queue(bal, 0, all, 2), -EINVAL);
	assert_int_equal(fanout_worker_cpu(bal, 0, 1, all, 2), 1);
	assert_int_equal(fanout_worker_cpu(bal, 1, 0, all, 2), 0);
	assert_int_equal(fanout_worker_cpu(cpu, 0, 0, all, 0), -1);
	config_free(cpu);
	config_free(bal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_rule_alone_without_sets_or_cache),
		cmocka_unit_test(test_flow_cache_with_sets_and_fail_open),
		cmocka_unit_test(
			test_ipv6_leaves_out_sets_of_the_other_family_and_lists_take_three_sides),
		cmocka_unit_test(test_ct_mark_rules_get_the_connmark_restored),
		cmocka_unit_test(test_a_queue_list_that_is_no_range_is_refused),
		cmocka_unit_test(test_the_tag_is_the_hash_of_the_plan_without_it),
		cmocka_unit_test(test_the_tag_follows_the_plan_not_the_queues),
		cmocka_unit_test(test_fanout_cpu_emits_queue_cpu_fanout),
		cmocka_unit_test(test_the_tag_follows_the_fanout),
		cmocka_unit_test(test_cpu_fanout_puts_queue_a_plus_k_on_cpu_k),
		cmocka_unit_test(test_fallback_and_balance_go_round_robin),
	};

	return cmocka_run_group_tests_name("generated rules", tests, NULL, NULL);
}
