/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Set matches on the real kernel: every set type a packet can be tested against, IPv4 and
 * IPv6, hit and miss, each answered both ways - by IPSET_CMD_TEST behind a plain NFQUEUE rule
 * nfqd did not generate, and by the kernel's mark bits behind the rules `nfqd rules` generates.
 */
#include "itest.h"

#define N 20

/* Client and firewall addresses the sets list; the topology's own addresses stay unlisted. */
#define CLI_LISTED4 "10.199.0.100"
#define CLI_LISTED6 "fd00:199::100"
#define FW_LISTED4  "10.199.0.20"
#define FW_LISTED6  "fd00:199::20"

/* What tells a listed packet from an unlisted one. */
enum by {
	BY_SRC,	 /* sent from the listed client address */
	BY_DST,	 /* sent to the listed firewall address */
	BY_PORT, /* sent to port 5001 (listed) instead of 5000 */
};

struct set_case {
	const char *name;
	int family;
	const char *setup; /* ipset commands; the set the rule names is S */
	const char *rule;
	enum by by;
};

static const struct set_case cases[] = {
	{ "hash:ip", 4, "ipset create S hash:ip && ipset add S " CLI_LISTED4, "drop src @S",
	  BY_SRC },
	{ "hash:net", 4, "ipset create S hash:net && ipset add S 10.199.0.96/28", "drop src @S",
	  BY_SRC },
	{ "hash:ip,port", 4, "ipset create S hash:ip,port && ipset add S " FW_LISTED4 ",udp:5000",
	  "drop dst @S", BY_DST },
	{ "hash:net,port", 4, "ipset create S hash:net,port && ipset add S 10.199.0.16/28,udp:5000",
	  "drop dst @S", BY_DST },
	{ "hash:ip,port,ip", 4,
	  "ipset create S hash:ip,port,ip && ipset add S 10.199.0.2,udp:5000," CLI_LISTED4,
	  "drop set @S dst,dst,src", BY_SRC },
	{ "bitmap:ip", 4,
	  "ipset create S bitmap:ip range 10.199.0.0/24 && ipset add S " CLI_LISTED4, "drop src @S",
	  BY_SRC },
	{ "bitmap:port", 4, "ipset create S bitmap:port range 4000-6000 && ipset add S 5001",
	  "drop dst @S", BY_PORT },
	{ "list:set", 4,
	  "ipset create M hash:ip && ipset add M " CLI_LISTED4
	  " && ipset create S list:set && ipset add S M",
	  "drop src @S", BY_SRC },
	{ "hash:ip inet6", 6, "ipset create S hash:ip family inet6 && ipset add S " CLI_LISTED6,
	  "drop src @S", BY_SRC },
	{ "hash:net inet6", 6,
	  "ipset create S hash:net family inet6 && ipset add S fd00:199::20/124", "drop dst @S",
	  BY_DST },
	{ "hash:ip,port inet6", 6,
	  "ipset create S hash:ip,port family inet6 && ipset add S " FW_LISTED6 ",udp:5000",
	  "drop dst @S", BY_DST },
	{ "bitmap:port with IPv6", 6,
	  "ipset create S bitmap:port range 4000-6000 && ipset add S 5001", "drop dst @S",
	  BY_PORT },
};

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "sets") < 0)
		return -1;
	it = *state;
	if (ns_sh(it->t.cli, "ip addr add %s/24 dev veth0 && ip addr add %s/64 dev veth0 nodad",
		  CLI_LISTED4, CLI_LISTED6) != 0 ||
	    ns_sh(it->t.fw, "ip addr add %s/24 dev veth0 && ip addr add %s/64 dev veth0 nodad",
		  FW_LISTED4, FW_LISTED6) != 0)
		return -1;
	return 0;
}

/* Datagrams the sink got of n sent listed (hit) or unlisted, for case c. */
static uint64_t deliver(struct itest *it, const struct set_case *c, bool listed)
{
	bool v6 = c->family == 6;
	/* explicit: with two addresses in one IPv6 prefix the kernel may pick either */
	const char *src = v6 ? it->t.cli6 : it->t.cli4, *dst = v6 ? it->t.fw6 : it->t.fw4;
	uint16_t port = 5000;
	struct itest_count before;
	int sink;
	uint64_t got;

	if (listed && c->by == BY_SRC)
		src = v6 ? CLI_LISTED6 : CLI_LISTED4;
	if (listed && c->by == BY_DST)
		dst = v6 ? FW_LISTED6 : FW_LISTED4;
	if (listed && c->by == BY_PORT)
		port = 5001;
	sink = udp_sink_open(it->t.fw, v6 ? "::" : "0.0.0.0", port);
	assert_true(sink >= 0);
	before = itest_count(it);
	assert_int_equal(udp_send(it->t.cli, src, dst, port, N, 32, 1, 10, 200), N);
	/* counted once nfqd has given all N their verdict, not after an idle time */
	got = itest_delivered(it, &before, N, sink);
	close(sink);
	return got;
}

/* One case answered one way: listed packets dropped, the others delivered. */
static void run_case(struct itest *it, const struct set_case *c, bool generated)
{
	const char *ipt = c->family == 6 ? "ip6tables" : "iptables";
	char config[256];
	uint64_t dropped, accepted, marked, tests;
	bool auto_lookup, other_way, lookup_counts;
	char counts[128];
	char *json;

	snprintf(config, sizeof(config), "[policy]\nrule = %s\n", c->rule);
	if (generated) {
		assert_int_equal(nfqd_rules_load(it->t.fw, config, c->family == 6), 0);
		itest_fw(it, "%s -A INPUT -p udp -j NFQD", ipt);
	} else {
		itest_fw(it, "%s -A INPUT -p udp -j NFQUEUE --queue-num 0", ipt);
	}
	itest_nfqd(it, config);

	if (deliver(it, c, true) != 0 || deliver(it, c, false) != N) {
		itest_print_log(it);
		fail_msg("%s (%s): listed packets not dropped or unlisted not delivered", c->name,
			 generated ? "mark bits" : "IPSET_CMD_TEST");
	}
	/* nfqd publishes a batch's counters after its verdicts */
	itest_wait_stat(it, 0, "dropped", N);
	itest_wait_stat(it, 0, "accepted", N);
	if (generated)
		itest_wait_stat(it, 0, "marked", 2 * N);
	json = itest_stats(it);
	dropped = stats_get(json, 0, "dropped");
	accepted = stats_get(json, 0, "accepted");
	marked = stats_get(json, 0, "marked");
	tests = stats_get(json, 0, "set_tests");
	/* the stats say how the rule's set term is answered */
	auto_lookup = strstr(json, "\"set_lookup\":\"auto\"}") != NULL;
	other_way = strstr(json, generated ? "\"by_test\":0" : "\"by_mark\":0") != NULL;
	/* the lookup's own counters: each packet answered once, the listed ones members */
	if (generated)
		snprintf(counts, sizeof(counts), "\"by_mark\":%d,\"by_test\":0,\"members\":%d,",
			 2 * N, N);
	else
		snprintf(counts, sizeof(counts), "\"members\":%d,\"failed\":0}", N);
	lookup_counts = strstr(json, counts) != NULL;
	if (!lookup_counts)
		fprintf(stderr, "lookup counters not %s in %s\n", counts, json);
	fprintf(stderr, "dropped %llu accepted %llu marked %llu set_tests %llu\n",
		(unsigned long long)dropped, (unsigned long long)accepted,
		(unsigned long long)marked, (unsigned long long)tests);
	/* freed before any assertion, so that a failing case leaks nothing */
	free(json);
	assert_int_equal(dropped, N);
	assert_int_equal(accepted, N);
	assert_true(auto_lookup);
	assert_true(other_way);
	assert_true(lookup_counts);
	if (generated) {
		/* answered by the kernel: every packet carried the marker, no test was sent */
		assert_int_equal(marked, 2 * N);
		assert_int_equal(tests, 0);
	} else {
		assert_int_equal(marked, 0);
		assert_true(tests > 0);
	}
	free(itest_stop(it, 2000, NULL));
	nfqd_cleanup(&it->d);
	it->have_d = false;
	itest_fw(it, "%s -F INPUT && (%s -F NFQD 2>/dev/null; %s -X NFQD 2>/dev/null; true)", ipt,
		 ipt, ipt);
}

static void test_every_set_type_both_ways(void **state)
{
	struct itest *it = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct set_case *c = &cases[i];

		fprintf(stderr, "case %s\n", c->name);
		itest_fw(it, "%s", c->setup);
		run_case(it, c, false);
		run_case(it, c, true);
		itest_fw(it, "ipset destroy S; ipset destroy M 2>/dev/null; true");
	}
}

static void test_a_set_of_the_other_family_never_matches(void **state)
{
	struct itest *it = *state;
	static const struct set_case c6 = { "inet set, IPv6 packets", 6,
					    "ipset create S hash:net && ipset add S 0.0.0.0/1 && "
					    "ipset add S 128.0.0.0/1",
					    "drop src @S", BY_SRC };
	struct itest_count before;
	int sink;

	itest_fw(it, "%s", c6.setup);
	itest_fw(it, "ip6tables -A INPUT -p udp -j NFQUEUE --queue-num 0");
	itest_nfqd(it, "[policy]\nrule = drop src @S\n");
	sink = udp_sink_open(it->t.fw, "::", 5000);
	assert_true(sink >= 0);
	before = itest_count(it);
	assert_int_equal(udp_send(it->t.cli, CLI_LISTED6, it->t.fw6, 5000, N, 32, 1, 10, 200), N);
	assert_int_equal(itest_delivered(it, &before, N, sink), N);
	close(sink);
	free(itest_stop(it, 2000, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_set_type_both_ways, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_a_set_of_the_other_family_never_matches, setup,
						itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: set types", tests, NULL, NULL);
}
