/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's pure parts: request parsing and validation (control.c), the command
 * table's dispatch with peer credentials and the stats document (command.c), the JSON
 * validator nfqctl checks answers with (json.c), and the [daemon] control-group and
 * control-mode keys.
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

#include "nfqd/ipset.h"
#include "command.h"
#include "config.h"
#include "control.h"
#include "json.h"

static enum control_request parse(const char *buf, size_t len, bool eof, char *cmd, char *err)
{
	return control_request_parse(buf, len, eof, cmd, CONTROL_REQUEST_MAX, err, 128);
}

static void test_request_line_is_trimmed_and_taken(void **state)
{
	char cmd[CONTROL_REQUEST_MAX], err[128];

	(void)state;
	assert_int_equal(parse("stats\n", 6, false, cmd, err), CONTROL_REQUEST_OK);
	assert_string_equal(cmd, "stats");
	assert_int_equal(parse(" \tstats \r\nrest", 14, false, cmd, err), CONTROL_REQUEST_OK);
	assert_string_equal(cmd, "stats");
	/* The client closed its side without a newline: what came is the request. */
	assert_int_equal(parse("stats", 5, true, cmd, err), CONTROL_REQUEST_OK);
	assert_string_equal(cmd, "stats");
	assert_int_equal(parse("", 0, true, cmd, err), CONTROL_REQUEST_OK);
	assert_string_equal(cmd, "");
}

static void test_request_without_newline_waits_for_more(void **state)
{
	char cmd[CONTROL_REQUEST_MAX], err[128];

	(void)state;
	assert_int_equal(parse("sta", 3, false, cmd, err), CONTROL_REQUEST_INCOMPLETE);
	assert_int_equal(parse("", 0, false, cmd, err), CONTROL_REQUEST_INCOMPLETE);
}

static void test_nul_byte_in_request_is_refused_not_cut(void **state)
{
	char cmd[CONTROL_REQUEST_MAX] = "", err[128] = "";

	(void)state;
	assert_int_equal(parse("st\0ats\n", 7, false, cmd, err), CONTROL_REQUEST_BAD);
	assert_string_equal(err, "request holds a NUL byte (at byte 2)");
	assert_int_equal(parse("stats\0\n", 7, false, cmd, err), CONTROL_REQUEST_BAD);
	assert_int_equal(parse("\0", 1, true, cmd, err), CONTROL_REQUEST_BAD);
}

static void test_control_and_non_ascii_bytes_are_refused(void **state)
{
	char cmd[CONTROL_REQUEST_MAX], err[128];

	(void)state;
	assert_int_equal(parse("st\x1b[0mats\n", 10, false, cmd, err), CONTROL_REQUEST_BAD);
	assert_string_equal(err, "request holds control characters");
	assert_int_equal(parse("st\xc3\xa4ts\n", 7, false, cmd, err), CONTROL_REQUEST_BAD);
	assert_string_equal(err, "request holds byte 0xc3 (at byte 2), which is not printable "
				 "ASCII");
	assert_int_equal(parse("sta\x7fts\n", 7, false, cmd, err), CONTROL_REQUEST_BAD);
}

static void test_overlong_request_is_refused(void **state)
{
	char big[CONTROL_REQUEST_MAX + 8], cmd[CONTROL_REQUEST_MAX], err[128];

	(void)state;
	memset(big, 'a', sizeof(big));
	/* 256 bytes and still no newline: refused without waiting for more. */
	assert_int_equal(parse(big, CONTROL_REQUEST_MAX, false, cmd, err), CONTROL_REQUEST_BAD);
	assert_string_equal(err, "request longer than 256 bytes");
	/* 255 bytes and the newline: the longest request taken. */
	big[CONTROL_REQUEST_MAX - 1] = '\n';
	assert_int_equal(parse(big, CONTROL_REQUEST_MAX, false, cmd, err), CONTROL_REQUEST_OK);
	assert_int_equal(strlen(cmd), CONTROL_REQUEST_MAX - 1);
	big[CONTROL_REQUEST_MAX - 1] = 'a';
	big[CONTROL_REQUEST_MAX] = '\n';
	assert_int_equal(parse(big, CONTROL_REQUEST_MAX + 1, false, cmd, err), CONTROL_REQUEST_BAD);
}

/* A table with a command that changes state, as reload and upgrade will. */
static char *run_show(void *user, const char *args)
{
	(void)user;
	(void)args;
	return strdup("{\"shown\":true}");
}

static char *run_poke(void *user, const char *args)
{
	int *pokes = user;
	char *s;

	(*pokes)++;
	if (asprintf(&s, "{\"poked\":\"%s\"}", args) < 0)
		return NULL;
	return s;
}

static const struct command table[] = {
	{ .name = "show", .changes_state = false, .takes_args = false, .run = run_show },
	{ .name = "poke", .changes_state = true, .takes_args = true, .run = run_poke },
};

#define SELF_UID 996

static char *dispatch(int *pokes, const char *line, const struct command_peer *peer)
{
	char *json = command_dispatch(table, 2, pokes, line, peer, SELF_UID);

	assert_non_null(json);
	assert_int_equal(json_validate(json, strlen(json), NULL, NULL), 0);
	return json;
}

static void test_state_changing_command_needs_root_or_own_uid(void **state)
{
	const struct command_peer root = { .pid = 10, .uid = 0, .gid = 0 };
	const struct command_peer self = { .pid = 11, .uid = SELF_UID, .gid = 5 };
	const struct command_peer other = { .pid = 12, .uid = 1000, .gid = 1000 };
	int pokes = 0;
	char *json;

	(void)state;
	json = dispatch(&pokes, "poke now", &root);
	assert_string_equal(json, "{\"poked\":\"now\"}");
	free(json);
	json = dispatch(&pokes, "poke", &self);
	assert_string_equal(json, "{\"poked\":\"\"}");
	free(json);
	assert_int_equal(pokes, 2);

	json = dispatch(&pokes, "poke now", &other);
	assert_string_equal(json, "{\"error\":\"permission denied: 'poke' changes nfqd's state "
				  "and is allowed to root and to uid 996 only, not to uid "
				  "1000\"}");
	free(json);
	json = dispatch(&pokes, "poke", NULL);
	assert_non_null(strstr(json, "permission denied"));
	free(json);
	assert_int_equal(pokes, 2);

	/* Reading is for everybody the socket's mode lets in. */
	json = dispatch(&pokes, "show", &other);
	assert_string_equal(json, "{\"shown\":true}");
	free(json);
}

static void test_dispatch_names_the_problem_and_the_commands(void **state)
{
	const struct command_peer root = { 0 };
	int pokes = 0;
	char *json;

	(void)state;
	json = dispatch(&pokes, "frob", &root);
	assert_string_equal(json, "{\"error\":\"unknown command 'frob'; commands: show, poke\"}");
	free(json);
	json = dispatch(&pokes, "", &root);
	assert_string_equal(json, "{\"error\":\"empty request; commands: show, poke\"}");
	free(json);
	json = dispatch(&pokes, "show me", &root);
	assert_string_equal(json, "{\"error\":\"'show' takes no argument\"}");
	free(json);
	/* A prefix of a name is not the name. */
	json = dispatch(&pokes, "sho", &root);
	assert_non_null(strstr(json, "unknown command 'sho'"));
	free(json);
	json = dispatch(&pokes, "say \"\\hi\"", &root);
	assert_non_null(strstr(json, "unknown command 'say \\\"\\\\hi\\\"'"));
	free(json);
	assert_int_equal(pokes, 0);
}

/* A daemon without a kernel: a config's rules and lookups, and two queues' counters. */
struct fake {
	struct config *cfg;
	struct nfqd_ipset_info infos[2];
	int fail;
};

static int fake_snapshot(void *user, struct stats_snapshot *out, struct stats_queue *queues,
			 unsigned int n_max)
{
	struct fake *f = user;

	if (f->fail)
		return f->fail;
	assert_int_equal(n_max, 2);
	out->version = "9.9";
	out->cfg = f->cfg;
	out->infos = f->infos;
	out->queues = queues;
	out->n_queues = 2;
	for (unsigned int i = 0; i < 2; i++) {
		queues[i].num = 4 + i;
		queues[i].counters.v[NFQD_CTR_RECEIVED] = 100 * (i + 1);
		queues[i].counters.v[NFQD_CTR_ACCEPTED] = 60 * (i + 1);
		queues[i].counters.v[NFQD_CTR_DROPPED] = 40 * (i + 1);
		queues[i].transport = "mmsg";
		queues[i].cpu = (int)i;
		queues[i].rcvbuf = 4096;
		queues[i].kstats_ok = i == 0;
		queues[i].kstats.last_id = 100;
	}
	out->lookups[0].by_test = 7;
	out->lookups[0].member = 3;
	out->lookups[1].by_mark = 5;
	queues[0].counters.batch[0] = 9;
	queues[1].counters.batch[NFQD_BATCH_BUCKETS - 1] = 2;
	/* rule r of queue q: 10 * (q + 1) + r packets of 100 bytes; the default (r = 3) too */
	out->rule_counts = calloc(2 * 4, sizeof(*out->rule_counts));
	assert_non_null(out->rule_counts);
	for (unsigned int q = 0; q < 2; q++) {
		for (unsigned int r = 0; r < 4; r++) {
			out->rule_counts[q * 4 + r].packets = 10 * (q + 1) + r;
			out->rule_counts[q * 4 + r].bytes = 100 * (10 * (q + 1) + r);
		}
	}
	return 0;
}

static void test_stats_renders_a_snapshot_as_valid_json(void **state)
{
	const struct command_peer peer = { .uid = 1000 };
	struct fake f = { 0 };
	struct command_daemon d = {
		.snapshot = fake_snapshot, .user = &f, .n_queues = 2, .self_uid = 0
	};
	char err[256];
	char *json;

	(void)state;
	assert_int_equal(config_load_string(&f.cfg, "t.conf",
					    "[queue]\nqueues = 4-5\n[policy]\n"
					    "rule = drop src @block\n"
					    "rule = accept proto tcp dport 22 dst @svc\n"
					    "rule = drop proto udp\n",
					    err, sizeof(err)),
			 0);
	snprintf(f.infos[0].type, sizeof(f.infos[0].type), "hash:ip");
	snprintf(f.infos[1].type, sizeof(f.infos[1].type), "hash:net");

	json = command_answer(&d, "stats", &peer);
	assert_non_null(json);
	assert_int_equal(json_validate(json, strlen(json), NULL, NULL), 0);
	assert_non_null(strstr(json, "{\"version\":\"9.9\",\"queues\":[{\"queue\":4,"
				     "\"received\":100,\"accepted\":60,\"dropped\":40,"));
	assert_non_null(strstr(json, "{\"queue\":5,\"received\":200,"));
	assert_non_null(strstr(json, "\"kernel\":{\"queued\":0,\"full_dropped\":0,"
				     "\"user_dropped\":0,\"last_id\":100}"));
	assert_non_null(strstr(json, "\"set\":\"block\",\"type\":\"hash:ip\""));
	assert_non_null(strstr(json, "\"by_mark\":0,\"by_test\":7,\"members\":3"));
	/* rule 3 (line 6): 12 packets on queue 4, 22 on queue 5 */
	assert_non_null(strstr(json, "\"rules\":[{\"rule\":1,\"line\":4,\"text\":\"drop src "
				     "@block\",\"verdict\":\"drop\",\"packets\":30,"));
	assert_non_null(strstr(json, "{\"rule\":3,\"line\":6,\"text\":\"drop proto udp\","
				     "\"verdict\":\"drop\",\"packets\":34,\"bytes\":3400,"
				     "\"queues\":[{\"queue\":4,\"packets\":12,\"bytes\":1200},"
				     "{\"queue\":5,\"packets\":22,\"bytes\":2200}],"
				     "\"set_lookup\":\"none\"}"));
	assert_non_null(strstr(json, "\"default\":{\"verdict\":\"accept\",\"packets\":36,"
				     "\"bytes\":3600,\"queues\":[{\"queue\":4,\"packets\":13,"));
	assert_non_null(strstr(json, "\"batch_sizes\":{\"1\":9,\"2\":0,\"4\":0,\"8\":0,"
				     "\"16\":0,\"32\":0,\"64\":0,\"128\":0,\"256\":0,"
				     "\"+Inf\":0}"));
	assert_non_null(strstr(json, "\"256\":0,\"+Inf\":2}"));
	assert_non_null(strstr(json, "\"total\":{\"received\":300,\"accepted\":180,"
				     "\"dropped\":120,"));
	free(json);

	json = command_answer(&d, "stats now", &peer);
	assert_string_equal(json, "{\"error\":\"'stats' takes no argument\"}");
	free(json);
	f.fail = -EIO;
	json = command_answer(&d, "stats", &peer);
	assert_string_equal(json, "{\"error\":\"cannot take the counters: Input/output error\"}");
	free(json);
	config_free(f.cfg);
}

/* A reload hook as the daemon's: generation 7 or the error of a file. */
static int64_t fake_reload(void *user, char *msg, size_t len)
{
	struct fake *f = user;

	if (f->fail) {
		snprintf(msg, len, "t.conf:3: rule 'dorp': unknown verdict 'dorp'");
		return f->fail;
	}
	snprintf(msg, len, "generation 7 from t.conf");
	return 7;
}

static char *fake_status(void *user)
{
	(void)user;
	return strdup("{\"generation\":7}");
}

static void test_reload_is_for_root_and_answers_generation_or_error(void **state)
{
	const struct command_peer root = { .uid = 0 }, other = { .uid = 1000 };
	struct fake f = { 0 };
	struct command_daemon d = {
		.reload = fake_reload, .status = fake_status, .user = &f, .self_uid = 0
	};
	char *json;

	(void)state;
	json = command_answer(&d, "reload", &other);
	assert_non_null(strstr(json, "{\"error\":\"permission denied: 'reload' changes"));
	free(json);
	json = command_answer(&d, "reload", &root);
	assert_string_equal(json, "{\"reload\":\"ok\",\"generation\":7,"
				  "\"message\":\"generation 7 from t.conf\"}");
	free(json);
	f.fail = -EINVAL;
	json = command_answer(&d, "reload", &root);
	assert_string_equal(json, "{\"error\":\"t.conf:3: rule 'dorp': unknown verdict 'dorp'\"}");
	free(json);
	/* status is read-only: anybody the socket lets in */
	json = command_answer(&d, "status", &other);
	assert_string_equal(json, "{\"generation\":7}");
	free(json);
	/* a daemon without the hooks says so */
	d.reload = NULL;
	d.status = NULL;
	json = command_answer(&d, "reload", &root);
	assert_string_equal(json, "{\"error\":\"this nfqd cannot reload\"}");
	free(json);
	json = command_answer(&d, "status", &root);
	assert_string_equal(json, "{\"error\":\"this nfqd has no status\"}");
	free(json);
}

/* The counters of queues a reload removed stay in the totals. */
static void test_stats_totals_keep_removed_queues(void **state)
{
	uint64_t retired[NFQD_CTR_MAX] = { 0 };
	struct stats_queue q;
	struct stats_snapshot snap = { .queues = &q, .n_queues = 1, .retired = retired };
	char err[256];
	char *json;

	(void)state;
	memset(&q, 0, sizeof(q));
	q.counters.v[NFQD_CTR_RECEIVED] = 10;
	retired[NFQD_CTR_RECEIVED] = 5;
	assert_int_equal(
		config_load_string((struct config **)&snap.cfg, "t.conf", "", err, sizeof(err)), 0);
	json = command_stats_json(&snap);
	assert_non_null(strstr(json, "{\"queue\":0,\"received\":10,"));
	assert_non_null(strstr(json, "\"total\":{\"received\":15,"));
	free(json);
	config_free((struct config *)snap.cfg);
}

static void test_busy_answer_is_json_with_busy_true(void **state)
{
	char *json = control_error_json("busy: \"40\" clients", true);

	(void)state;
	assert_string_equal(json, "{\"error\":\"busy: \\\"40\\\" clients\",\"busy\":true}");
	assert_int_equal(json_validate(json, strlen(json), NULL, NULL), 0);
	free(json);
}

static void expect_valid(const char *s)
{
	const char *why = NULL;
	size_t at = 0;

	if (json_validate(s, strlen(s), &at, &why) != 0)
		fail_msg("'%s' refused: %s at %zu", s, why, at);
}

static void expect_invalid(const char *s, size_t len, const char *why_want, size_t at_want)
{
	const char *why = NULL;
	size_t at = 0;

	assert_int_equal(json_validate(s, len, &at, &why), -EINVAL);
	assert_non_null(why);
	if (strcmp(why, why_want) != 0 || at != at_want)
		fail_msg("'%.*s': got '%s' at %zu, want '%s' at %zu", (int)len, s, why, at,
			 why_want, at_want);
}

#define INVALID(s, why, at) expect_invalid(s, sizeof(s) - 1, why, at)

static void test_json_validator_takes_rfc8259_values(void **state)
{
	(void)state;
	expect_valid("{}");
	expect_valid(" [ ] ");
	expect_valid("{\"a\":[1,-2.5e+3,0,0.1,true,false,null,\"x\\u00e4\\n\\\"\"],\"b\":{}}");
	expect_valid("\"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\"");
	expect_valid("-0");
	expect_valid("1E9");
}

static void test_json_validator_refuses_what_is_not_json(void **state)
{
	char deep[JSON_MAX_DEPTH * 2 + 2];

	(void)state;
	INVALID("", "value expected", 0);
	INVALID("{\"a\":1", "object not closed", 6);
	INVALID("{\"a\":1}x", "text after the value", 7);
	INVALID("{\"a\":1}{}", "text after the value", 7);
	INVALID("{a:1}", "object key expected", 1);
	INVALID("[1,]", "value expected", 3);
	INVALID("[01]", "',' or ']' expected", 2);
	INVALID("[1.]", "digit expected in number", 3);
	INVALID("[tru]", "unknown literal (expected true, false or null)", 1);
	INVALID("\"abc", "string not closed", 4);
	INVALID("\"a\tb\"", "control character in string", 2);
	INVALID("\"\\x\"", "unknown escape in string", 2);
	INVALID("\"\\u12g4\"", "\\u needs four hex digits", 2);
	INVALID("\"\xc0\xaf\"", "invalid UTF-8 in string", 1);
	INVALID("\"\xed\xa0\x80\"", "invalid UTF-8 in string", 1);
	INVALID("\"\xe2\x82\"", "invalid UTF-8 in string", 1);
	INVALID("\"\xe2\x82", "UTF-8 sequence cut short", 1);
	INVALID("[\"a\0b\"]", "control character in string", 3);
	memset(deep, '[', sizeof(deep));
	expect_invalid(deep, sizeof(deep), "nested too deep", JSON_MAX_DEPTH);
}

static struct config *load_daemon(const char *daemon_keys, char *err, size_t errlen)
{
	char text[512];
	struct config *c = NULL;

	snprintf(text, sizeof(text), "[queue]\nqueues = 0\n[daemon]\n%s", daemon_keys);
	if (config_load_string(&c, "t.conf", text, err, errlen) != 0)
		return NULL;
	return c;
}

static void test_control_group_and_mode_keys(void **state)
{
	char err[512];
	struct config *c;

	(void)state;
	c = load_daemon("", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->control_gid, (gid_t)-1);
	assert_int_equal(c->control_mode, 0660);
	config_free(c);

	c = load_daemon("control-group = root\ncontrol-mode = 0600\n", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->control_gid, 0);
	assert_int_equal(c->control_mode, 0600);
	config_free(c);
	c = load_daemon("control-group = 4242\ncontrol-mode = 666\n", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->control_gid, 4242);
	assert_int_equal(c->control_mode, 0666);
	config_free(c);

	assert_null(load_daemon("control-group = no-such-group-nfqd\n", err, sizeof(err)));
	assert_string_equal(err, "t.conf:4: control-group: 'no-such-group-nfqd' is not a group "
				 "of this system");
	assert_null(load_daemon("control-mode = 0668\n", err, sizeof(err)));
	assert_string_equal(err, "t.conf:4: control-mode: '0668' is not an octal permission "
				 "mode (e.g. 0660)");
	assert_null(load_daemon("control-mode = 01660\n", err, sizeof(err)));
	assert_non_null(strstr(err, "not an octal permission mode"));
	assert_null(load_daemon("control-mode = 0060\n", err, sizeof(err)));
	assert_string_equal(err, "t.conf:4: control-mode: '0060' denies the owner read and "
				 "write (0600 at least)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_line_is_trimmed_and_taken),
		cmocka_unit_test(test_request_without_newline_waits_for_more),
		cmocka_unit_test(test_nul_byte_in_request_is_refused_not_cut),
		cmocka_unit_test(test_control_and_non_ascii_bytes_are_refused),
		cmocka_unit_test(test_overlong_request_is_refused),
		cmocka_unit_test(test_state_changing_command_needs_root_or_own_uid),
		cmocka_unit_test(test_dispatch_names_the_problem_and_the_commands),
		cmocka_unit_test(test_stats_renders_a_snapshot_as_valid_json),
		cmocka_unit_test(test_reload_is_for_root_and_answers_generation_or_error),
		cmocka_unit_test(test_stats_totals_keep_removed_queues),
		cmocka_unit_test(test_busy_answer_is_json_with_busy_true),
		cmocka_unit_test(test_json_validator_takes_rfc8259_values),
		cmocka_unit_test(test_json_validator_refuses_what_is_not_json),
		cmocka_unit_test(test_control_group_and_mode_keys),
	};

	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
