/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `nfqctl explain` and `nfqctl rules` against a live nfqd in a namespace, with a real ipset:
 * the rule a packet would hit and the reason, set memberships asked of the kernel (member and
 * non-member, and a set removed while nfqd runs), an interface rule and a port rule.
 */
#include "itest.h"

#define CONFIG                                                                                     \
	"[queue]\nqueues = 0\n"                                                                    \
	"[policy]\n"                                                                               \
	"default = accept\n"                                                                       \
	"rule = drop src @blk\n"                                                                   \
	"rule = accept iif veth0 dport 443\n"                                                      \
	"rule = drop proto udp dport 5000\n"

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "insp") < 0)
		return -1;
	it = *state;
	if (ns_sh(it->t.fw, "ipset create blk hash:ip && ipset add blk 192.0.2.1") != 0)
		return -1;
	itest_nfqd(it, CONFIG);
	return 0;
}

/* Run nfqctl with args against the test's nfqd; its stdout and stderr in *out. */
static int nfqctl(struct itest *it, char **out, const char *args)
{
	int r = ns_sh_out(it->t.fw, out, "%s -s %s %s 2>&1", nfqctl_bin(), it->d.control, args);

	fprintf(stderr, "$ nfqctl %s (exit %d)\n%s", args, r, *out ? *out : "");
	return r;
}

static void expect(const char *out, const char *want)
{
	if (!strstr(out, want))
		fail_msg("the output lacks '%s'", want);
}

/* A member of the set: the first rule hits, on the kernel's answer. */
static void test_explain_member_of_a_real_set_hits_the_set_rule(void **state)
{
	struct itest *it = *state;
	char *out = NULL;

	assert_int_equal(
		nfqctl(it, &out, "explain tcp 192.0.2.1:1234 '>' 10.199.0.2:443 iif veth0"), 0);
	expect(out, "packet: tcp 192.0.2.1:1234 > 10.199.0.2:443 iif veth0 (queue 0)");
	expect(out, "src @blk                       member\n");
	expect(out, "rule 1 (line 5): drop src @blk\n    hit: every term matched\n");
	expect(out, "      src @blk                         packet: member\n");
	expect(out, "verdict: drop by rule 1 (line 5)");
	free(out);
}

/* Not a member: the set rule misses with the reason; the interface and port rule hits. */
static void test_explain_non_member_passes_the_set_rule_and_hits_the_iif_rule(void **state)
{
	struct itest *it = *state;
	char *out = NULL;

	assert_int_equal(nfqctl(it, &out, "explain tcp 192.0.2.2:1234 to 10.199.0.2:443 iif veth0"),
			 0);
	expect(out, "src @blk                       not a member\n");
	expect(out, "rule 1 (line 5): drop src @blk\n"
		    "    miss: 'src @blk': the packet is not a member of @blk\n");
	expect(out, "rule 2 (line 6): accept iif veth0 dport 443\n    hit: every term matched\n");
	expect(out, "      iif veth0                        packet: veth0\n");
	expect(out, "      dport 443                        packet: 443\n");
	expect(out, "verdict: accept by rule 2 (line 6)");
	free(out);

	/* another interface: the interface term misses, naming both; the port rule is udp */
	assert_int_equal(nfqctl(it, &out, "explain tcp 192.0.2.2:1234 to 10.199.0.2:443 iif lo"),
			 0);
	expect(out, "    miss: 'iif veth0': the packet's iif is lo, not veth0\n");
	expect(out, "    miss: 'proto udp': the packet's proto is tcp, not udp\n");
	expect(out, "verdict: accept by the default verdict");
	free(out);

	/* the port rule */
	assert_int_equal(nfqctl(it, &out, "explain udp 192.0.2.2:9 to 10.199.0.2:5000"), 0);
	expect(out, "    unknown: 'iif veth0': the packet's iif is none: a term on an unknown fact "
		    "matches neither way\n");
	expect(out, "rule 3 (line 7): drop proto udp dport 5000\n    hit: every term matched\n");
	expect(out, "verdict: drop by rule 3 (line 7)");
	free(out);
}

/* Wrong descriptions are refused naming the word; the set's removal is seen at once. */
static void test_explain_refuses_bad_packets_and_sees_a_removed_set(void **state)
{
	struct itest *it = *state;
	char *out = NULL;

	assert_int_equal(nfqctl(it, &out, "explain tpc 192.0.2.2:1 to 10.199.0.2:2"), 1);
	expect(out, "bad packet: 'tpc' is not a protocol");
	free(out);
	/* an interface no rule names is no interface a rule matches */
	assert_int_equal(nfqctl(it, &out, "explain tcp 192.0.2.2:1 to 10.199.0.2:443 iif nosuch0"),
			 0);
	expect(out, "    miss: 'iif veth0': the packet's iif is nosuch0, not veth0\n");
	free(out);
	assert_int_equal(nfqctl(it, &out, "explain"), 2);
	expect(out, "nfqctl: explain: missing PACKET");
	free(out);

	assert_int_equal(nfqctl(it, &out, "rules"), 0);
	expect(out, "   1     5            0              0  drop src @blk\n");
	expect(out, "src @blk: set 'blk' (hash:ip, exists now)\n");
	expect(out, "IPSET_CMD_TEST");
	expect(out, "   3     7            0              0  drop proto udp dport 5000\n");
	expect(out, "default accept");
	free(out);

	assert_int_equal(ns_sh(it->t.fw, "ipset destroy blk"), 0);
	assert_int_equal(nfqctl(it, &out, "rules"), 0);
	expect(out, "src @blk: set 'blk' (hash:ip, MISSING now)\n");
	free(out);
	assert_int_equal(nfqctl(it, &out, "explain tcp 192.0.2.1:1234 to 10.199.0.2:443"), 0);
	expect(out, "src @blk                       lookup failed (no such set)\n");
	expect(out, "    set lookup failed: 'src @blk': the set could not be tested");
	expect(out, "verdict: drop by rule 1 (line 5)");
	free(out);
	/* the raw document, read by jq */
	assert_int_equal(nfqctl(it, &out, "rules --json | jq -e '.rules[0].terms[0].set.exists'"),
			 1);
	assert_string_equal(out, "false\n");
	free(out);
}

/* After the inspection requests nfqd stops cleanly: nothing left behind (under the sanitizers,
 * a leak of a request would make the exit fail). */
static void test_nfqd_exits_cleanly_after_inspection(void **state)
{
	struct itest *it = *state;

	free(itest_stop(it, 0, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain_member_of_a_real_set_hits_the_set_rule),
		cmocka_unit_test(test_explain_non_member_passes_the_set_rule_and_hits_the_iif_rule),
		cmocka_unit_test(test_explain_refuses_bad_packets_and_sees_a_removed_set),
		cmocka_unit_test(test_nfqd_exits_cleanly_after_inspection),
	};

	return cmocka_run_group_tests_name("inspect", tests, setup, itest_teardown);
}
