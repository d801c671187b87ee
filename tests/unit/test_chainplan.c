/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plan tag: its hash, its text, and where it is found in a rule as the kernel dumps it (an
 * xt comment match, as iptables-nft 1.8.9 loads it, or the rule's user data).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <libmnl/libmnl.h>

#include "nfqd/chainplan.h"
#include "nftmsg.h"

/* The published FNV-1a 64 test vectors (Fowler, Noll, Vo). */
static void test_hash_is_fnv1a_64(void **state)
{
	(void)state;
	assert_true(nfqd_chainplan_hash("", 0) == 0xcbf29ce484222325ull);
	assert_true(nfqd_chainplan_hash("a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(nfqd_chainplan_hash("foobar", 6) == 0x85944171f73967e8ull);
}

static void test_tag_text_round_trips_and_nothing_else_parses(void **state)
{
	char tag[NFQD_CHAINPLAN_TAG_SIZE];
	uint64_t h = 0;

	(void)state;
	nfqd_chainplan_tag(0x00a1b2c3d4e5f607ull, tag);
	assert_string_equal(tag, "nfqd plan 00a1b2c3d4e5f607");
	assert_int_equal(nfqd_chainplan_tag_parse(tag, strlen(tag), &h), 0);
	assert_true(h == 0x00a1b2c3d4e5f607ull);
	/* with its NUL, as a NUL-terminated comment record holds it */
	h = 0;
	assert_int_equal(nfqd_chainplan_tag_parse(tag, sizeof(tag), &h), 0);
	assert_true(h == 0x00a1b2c3d4e5f607ull);
	assert_int_equal(nfqd_chainplan_tag_parse("nfqd plan 00A1B2C3D4E5F607", 26, &h), -EINVAL);
	assert_int_equal(nfqd_chainplan_tag_parse("nfqd plan 00a1b2c3d4e5f60", 25, &h), -EINVAL);
	assert_int_equal(nfqd_chainplan_tag_parse("nfqd plan 00a1b2c3d4e5f6070", 27, &h), -EINVAL);
	assert_int_equal(nfqd_chainplan_tag_parse("nfqd plon 00a1b2c3d4e5f607", 26, &h), -EINVAL);
	assert_int_equal(nfqd_chainplan_tag_parse("nfqd plan 00a1b2c3 4e5f607", 26, &h), -EINVAL);
	assert_int_equal(nfqd_chainplan_tag_parse("my own comment", 14, &h), -EINVAL);
}

/* An xt match expression name with info (NUL-padded to 256 bytes, as struct xt_comment_info). */
static void put_match(struct nlmsghdr *nlh, const char *name, const char *info)
{
	char padded[256] = "";
	struct nlattr *elem, *data;

	snprintf(padded, sizeof(padded), "%s", info);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "match");
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_strz(nlh, NFTA_MATCH_NAME, name);
	mnl_attr_put_u32(nlh, NFTA_MATCH_REV, 0);
	mnl_attr_put(nlh, NFTA_MATCH_INFO, sizeof(padded), padded);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
}

/* iptables-nft 1.8.9: `-m comment --comment "nfqd plan ..."` arrives as an xt match. */
static void test_tag_in_an_xt_comment_match(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = rule_msg(buf, "NFQD");
	struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	uint64_t h = 0;

	(void)state;
	/* another match first, and a comment that is no tag: both passed over */
	put_match(nlh, "mark", "nfqd plan 1111111111111111");
	put_match(nlh, "comment", "blocklist");
	put_match(nlh, "comment", "nfqd plan 0123456789abcdef");
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(nfqd_chainplan_rule_tag(nlh, &h), 0);
	assert_true(h == 0x0123456789abcdefull);
}

/* nft and later iptables-nft: the comment is a user data record { 0, length, text NUL }. */
static void test_tag_in_the_user_data(void **state)
{
	static const char tag[] = "nfqd plan fedcba9876543210";
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = rule_msg(buf, "NFQD");
	uint8_t udata[64];
	uint64_t h = 0;

	(void)state;
	/* a record of another type (1, the ebtables policy) first */
	udata[0] = 1;
	udata[1] = 4;
	memset(udata + 2, 0, 4);
	udata[6] = 0;
	udata[7] = sizeof(tag);
	memcpy(udata + 8, tag, sizeof(tag));
	mnl_attr_put(nlh, NFTA_RULE_USERDATA, 8 + sizeof(tag), udata);
	assert_int_equal(nfqd_chainplan_rule_tag(nlh, &h), 0);
	assert_true(h == 0xfedcba9876543210ull);
}

static void test_no_tag_and_malformed_user_data(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = rule_msg(buf, "NFQD");
	struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	uint8_t udata[8] = { 0, 30, 'n', 'f', 'q', 'd', ' ', 'p' };
	uint64_t h = 0x42;

	(void)state;
	put_match(nlh, "comment", "not a tag");
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(nfqd_chainplan_rule_tag(nlh, &h), -ENODATA);
	/* a record longer than the user data holding it */
	mnl_attr_put(nlh, NFTA_RULE_USERDATA, sizeof(udata), udata);
	assert_int_equal(nfqd_chainplan_rule_tag(nlh, &h), -EBADMSG);
	assert_true(h == 0x42);
	/* a length that is no multiple of 4: libmnl would walk attributes past it */
	nlh = rule_msg(buf, "NFQD");
	mnl_attr_put(nlh, NFTA_RULE_USERDATA, 2, (const uint8_t[]){ 1, 0 });
	nlh->nlmsg_len -= 2;
	assert_int_equal(nfqd_chainplan_rule_tag(nlh, &h), -EBADMSG);
	/* a message too short for its nfgenmsg */
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
	assert_int_equal(nfqd_chainplan_rule_tag(nlh, &h), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_is_fnv1a_64),
		cmocka_unit_test(test_tag_text_round_trips_and_nothing_else_parses),
		cmocka_unit_test(test_tag_in_an_xt_comment_match),
		cmocka_unit_test(test_tag_in_the_user_data),
		cmocka_unit_test(test_no_tag_and_malformed_user_data),
	};

	return cmocka_run_group_tests_name("chain plan tag", tests, NULL, NULL);
}
