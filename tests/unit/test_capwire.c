/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The capture stream (capwire.c): records encoded and decoded back, partial and bad records
 * told apart with a message naming the field, the filter, the request's arguments; and the
 * capture command refused by the dispatch to peers other than root and nfqd's own uid.
 */
#define _GNU_SOURCE
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

#include "capwire.h"
#include "command.h"

static void test_packet_record_round_trips(void **state)
{
	uint8_t buf[CAPWIRE_HDR_LEN + 5 + 3];
	struct capwire_rec rec;
	char err[160] = "";

	(void)state;
	capwire_packet_header(buf, NF_DROP, 6, 513, 7, 1400, 5, 0x0102030405060708ULL);
	memcpy(buf + CAPWIRE_HDR_LEN, "\x60hello", 5);
	/* the next record's first bytes follow: they are not this one's */
	memcpy(buf + CAPWIRE_HDR_LEN + 5, "\x01\x00\x00", 3);
	assert_int_equal(capwire_decode(buf, sizeof(buf), &rec, err, sizeof(err)),
			 CAPWIRE_HDR_LEN + 5);
	assert_int_equal(rec.type, CAPWIRE_PACKET);
	assert_int_equal(rec.verdict, NF_DROP);
	assert_int_equal(rec.l3, 6);
	assert_int_equal(rec.queue, 513);
	assert_int_equal(rec.rule, 7);
	assert_int_equal(rec.orig_len, 1400);
	assert_int_equal(rec.caplen, 5);
	assert_int_equal(rec.flags, CAPWIRE_F_CUT);
	assert_true(rec.time_ns == 0x0102030405060708ULL);
	assert_ptr_equal(rec.data, buf + CAPWIRE_HDR_LEN);
	/* big-endian on the wire, whatever the host */
	assert_int_equal(buf[4], 0x02);
	assert_int_equal(buf[5], 0x01);
}

static void test_end_record_carries_the_counts(void **state)
{
	uint8_t buf[CAPWIRE_HDR_LEN + CAPWIRE_END_LEN];
	struct capwire_rec rec;
	char err[160] = "";

	(void)state;
	capwire_end_record(buf, CAPWIRE_END_CLIENT, 12345, 67);
	assert_int_equal(capwire_decode(buf, sizeof(buf), &rec, err, sizeof(err)), sizeof(buf));
	assert_int_equal(rec.type, CAPWIRE_END);
	assert_int_equal(rec.verdict, CAPWIRE_END_CLIENT);
	assert_true(rec.captured == 12345);
	assert_true(rec.dropped == 67);
}

static void test_partial_record_asks_for_more(void **state)
{
	uint8_t buf[CAPWIRE_HDR_LEN + 40];
	struct capwire_rec rec;
	char err[160] = "";

	(void)state;
	capwire_packet_header(buf, NF_ACCEPT, 4, 0, 0, 40, 40, 1);
	memset(buf + CAPWIRE_HDR_LEN, 0x45, 40);
	for (size_t len = 0; len < sizeof(buf); len++)
		assert_int_equal(capwire_decode(buf, len, &rec, err, sizeof(err)), 0);
	assert_int_equal(capwire_decode(buf, sizeof(buf), &rec, err, sizeof(err)), sizeof(buf));
	assert_int_equal(rec.flags, 0);
	assert_string_equal(err, "");
}

/* Decode buf after poking byte at with val: refused, err naming what. */
static void assert_refused(uint8_t *buf, size_t len, size_t at, uint8_t val, const char *what)
{
	struct capwire_rec rec;
	char err[160] = "";
	uint8_t old = buf[at];

	buf[at] = val;
	assert_int_equal(capwire_decode(buf, len, &rec, err, sizeof(err)), -EBADMSG);
	if (!strstr(err, what))
		fail_msg("byte %zu = %u: '%s' does not name '%s'", at, val, err, what);
	buf[at] = old;
}

static void test_bad_records_are_refused_with_the_field(void **state)
{
	uint8_t buf[CAPWIRE_HDR_LEN + 20], end[CAPWIRE_HDR_LEN + CAPWIRE_END_LEN];

	(void)state;
	capwire_packet_header(buf, NF_ACCEPT, 4, 1, 2, 20, 20, 3);
	assert_refused(buf, sizeof(buf), 0, 9, "bad capture record: type 9");
	assert_refused(buf, sizeof(buf), 1, 7, "verdict 7 (not a netfilter verdict)");
	{
		struct capwire_rec rec;
		char err[160] = "";

		/* another netfilter verdict (a reject's NF_REPEAT) is a record like any */
		buf[1] = NF_REPEAT;
		assert_int_equal(capwire_decode(buf, sizeof(buf), &rec, err, sizeof(err)),
				 sizeof(buf));
		assert_int_equal(rec.verdict, NF_REPEAT);
		buf[1] = NF_ACCEPT;
	}
	assert_refused(buf, sizeof(buf), 2, 5, "IP version 5");
	assert_refused(buf, sizeof(buf), 3, 0x80, "flags 128");
	/* the cut bit on a packet taken whole */
	assert_refused(buf, sizeof(buf), 3, CAPWIRE_F_CUT, "flags 1");
	assert_refused(buf, sizeof(buf), 7, 1, "reserved field 1");
	/* caplen 21 > orig_len 20 */
	assert_refused(buf, sizeof(buf), 19, 21, "caplen 21 (over the original length)");
	/* caplen 65536, with orig_len as large */
	buf[13] = 0x01;
	buf[14] = 0x00;
	buf[15] = 0x00;
	assert_refused(buf, sizeof(buf), 17, 0x01, "caplen 65556 (over 65535)");
	/* a header refused before its data came: no waiting for bytes that cannot help */
	assert_refused(buf, CAPWIRE_HDR_LEN, 0, 3, "type 3");

	capwire_end_record(end, CAPWIRE_END_COUNT, 1, 0);
	assert_refused(end, sizeof(end), 1, CAPWIRE_END_MAX, "end reason");
	assert_refused(end, sizeof(end), 19, 8, "end record length 8");
	assert_refused(end, sizeof(end), 5, 1, "end record field");
}

static void test_filter_selects_queue_verdict_and_rule(void **state)
{
	struct capwire_filter any = { -1, -1, -1 }, drop9 = { 3, NF_DROP, 9 }, dflt = { -1, -1, 0 },
			      queued = { -1, NF_QUEUE, -1 };

	(void)state;
	assert_true(capwire_match(&any, 0, NF_ACCEPT, 0));
	assert_true(capwire_match(&any, 65535, NF_DROP, 4));
	assert_true(capwire_match(&drop9, 3, NF_DROP, 9));
	assert_false(capwire_match(&drop9, 2, NF_DROP, 9));
	assert_false(capwire_match(&drop9, 3, NF_ACCEPT, 9));
	assert_false(capwire_match(&drop9, 3, NF_DROP, 8));
	/* rule 0 is the default verdict */
	assert_true(capwire_match(&dflt, 1, NF_ACCEPT, 0));
	assert_false(capwire_match(&dflt, 1, NF_ACCEPT, 1));
	/* a queue verdict carries its target in the high bits */
	assert_true(capwire_match(&queued, 0, NF_QUEUE | (7u << 16), 2));
	assert_false(capwire_match(&queued, 0, NF_ACCEPT, 2));
}

static void test_request_arguments_parse_and_errors_name_them(void **state)
{
	struct capwire_request rq;
	char err[200] = "";

	(void)state;
	assert_int_equal(capwire_parse_request("", &rq, err, sizeof(err)), 0);
	assert_int_equal(rq.filter.queue, -1);
	assert_int_equal(rq.filter.verdict, -1);
	assert_true(rq.filter.rule == -1);
	assert_true(rq.count == 0);
	assert_int_equal(
		capwire_parse_request("count=5 verdict=drop queue=2 rule=3", &rq, err, sizeof(err)),
		0);
	assert_int_equal(rq.filter.queue, 2);
	assert_int_equal(rq.filter.verdict, NF_DROP);
	assert_true(rq.filter.rule == 3);
	assert_true(rq.count == 5);
	assert_int_equal(capwire_parse_request("rule=default", &rq, err, sizeof(err)), 0);
	assert_true(rq.filter.rule == 0);

	assert_int_equal(capwire_parse_request("verdict=dorp", &rq, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capture: bad verdict 'dorp': want accept, drop or queue");
	assert_int_equal(capwire_parse_request("queue=65536", &rq, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capture: bad queue '65536': want a queue number, 0 to 65535");
	assert_int_equal(capwire_parse_request("rule=0", &rq, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capture: bad rule '0': want a rule number from 1, or default");
	assert_int_equal(capwire_parse_request("count=-1", &rq, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capture: bad count '-1': want a packet count from 1");
	assert_int_equal(capwire_parse_request("count=1 count=2", &rq, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capture: argument 'count' given twice");
	assert_int_equal(capwire_parse_request("snaplen=9", &rq, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown argument 'snaplen'"));
	assert_int_equal(capwire_parse_request("drop", &rq, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capture: argument 'drop' is not KEY=VALUE");
}

static int captures;

static char *spy_capture(void *user, const char *args, const struct command_peer *peer)
{
	(void)user;
	(void)peer;
	captures++;
	return strdup(*args ? "{\"capture\":{}}" : "{\"capture\":null}");
}

static void test_capture_is_refused_to_other_users(void **state)
{
	struct command_daemon d = { .capture = spy_capture, .self_uid = 996 };
	const struct command_peer other = { .pid = 5, .uid = 1000, .gid = 1000 };
	const struct command_peer self = { .pid = 6, .uid = 996, .gid = 996 };
	const struct command_peer root = { .pid = 7, .uid = 0, .gid = 0 };
	char *json;

	(void)state;
	d.user = &d;
	captures = 0;
	json = command_answer(&d, "capture count=1", &other);
	assert_string_equal(
		json, "{\"error\":\"permission denied: 'capture' shows the packets' "
		      "contents and is allowed to root and to uid 996 only, not to uid 1000\"}");
	free(json);
	assert_int_equal(captures, 0);
	json = command_answer(&d, "capture count=1", &self);
	assert_string_equal(json, "{\"capture\":{}}");
	free(json);
	json = command_answer(&d, "capture", &root);
	assert_string_equal(json, "{\"capture\":null}");
	free(json);
	assert_int_equal(captures, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_record_round_trips),
		cmocka_unit_test(test_end_record_carries_the_counts),
		cmocka_unit_test(test_partial_record_asks_for_more),
		cmocka_unit_test(test_bad_records_are_refused_with_the_field),
		cmocka_unit_test(test_filter_selects_queue_verdict_and_rule),
		cmocka_unit_test(test_request_arguments_parse_and_errors_name_them),
		cmocka_unit_test(test_capture_is_refused_to_other_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
