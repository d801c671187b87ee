/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Prometheus rendering of a stats snapshot: every family has its HELP and TYPE before its
 * samples, and every sample belongs to a declared family; every counter of enum nfqd_counter is
 * there; counters end in _total and gauges do not; a rule text with quotes and backslashes is
 * escaped in its labels; the batch histogram is cumulative and ends in +Inf, equal to _count.
 * The `metrics` command carries the text as one JSON string; the textfile is replaced whole.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "nfqd/ipset.h"

#include "bgproc.h"
#include "command.h"
#include "config.h"
#include "json.h"
#include "metrics.h"

#define CONF                                                                                       \
	"[queue]\nqueues = 3-4\n[policy]\nset-lookup = test\nrule = drop src @block\n"             \
	"rule = accept iif a\"b\\c\nrule = drop proto udp\nrule = drop proto udp\n"

struct fixture {
	struct config *cfg;
	struct stats_queue queues[2];
	struct stats_snapshot snap;
};

/* Two queues, 4 rules and the default; rule r of queue q counted 10 * (q + 1) + r packets. */
static int setup(void **state)
{
	struct fixture *f = aligned_alloc(64, sizeof(*f));
	char err[256];

	assert_non_null(f);
	memset(f, 0, sizeof(*f));
	if (config_load_string(&f->cfg, "t.conf", CONF, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	for (unsigned int q = 0; q < 2; q++) {
		struct stats_queue *sq = &f->queues[q];

		sq->num = 3 + q;
		sq->transport = "mmsg";
		sq->rcvbuf = 4096;
		sq->kstats_ok = true;
		sq->kstats.queued = 2;
		sq->kstats.user_dropped = 6;
		for (int c = 0; c < NFQD_CTR_MAX; c++)
			sq->counters.v[c] = 1000 * (q + 1) + (uint64_t)c;
		/* 5 calls of 1, 3 of 3 or 4, 2 of more than 256 */
		sq->counters.batch[0] = 5;
		sq->counters.batch[2] = 3;
		sq->counters.batch[NFQD_BATCH_BUCKETS - 1] = 2;
		sq->counters.batch_sum = 5 + 10 + 600;
	}
	f->snap.version = "9.9";
	f->snap.generation = 4;
	f->snap.cfg = f->cfg;
	f->snap.queues = f->queues;
	f->snap.n_queues = 2;
	f->snap.lookups[0].by_test = 7;
	f->snap.lookups[0].member = 3;
	f->snap.rule_counts = calloc(2 * 5, sizeof(*f->snap.rule_counts));
	assert_non_null(f->snap.rule_counts);
	for (unsigned int q = 0; q < 2; q++)
		for (unsigned int r = 0; r < 5; r++) {
			f->snap.rule_counts[q * 5 + r].packets = 10 * (q + 1) + r;
			f->snap.rule_counts[q * 5 + r].bytes = 100 * (10 * (q + 1) + r);
		}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->snap.rule_counts);
	config_free(f->cfg);
	free(f);
	return 0;
}

/* The family a sample line belongs to: its name, less _bucket/_sum/_count for a histogram. */
static bool sample_in(const char *line, const char *family, const char *type)
{
	size_t n = strlen(family);
	const char *rest = line + n;

	if (strncmp(line, family, n) != 0)
		return false;
	if (strcmp(type, "histogram") == 0 &&
	    (strncmp(rest, "_bucket", 7) == 0 || strncmp(rest, "_count", 6) == 0 ||
	     strncmp(rest, "_sum", 4) == 0))
		rest += rest[1] == 'b' ? 7 : rest[1] == 'c' ? 6 : 4;
	return *rest == '{' || *rest == ' ';
}

/*
 * Walk the exposition: each "# HELP name" is followed by "# TYPE name type", then the samples
 * of that family only; a family comes once. Returns the number of families.
 */
static unsigned int check_structure(const char *text)
{
	char family[128] = "", type[16] = "", seen[8192] = " ";
	unsigned int families = 0, samples = 0;
	char *copy = strdup(text), *save = NULL;

	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], t[16], key[140];

		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s", name), 1);
			snprintf(key, sizeof(key), " %s ", name);
			if (strstr(seen, key))
				fail_msg("family %s comes twice", name);
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			snprintf(family, sizeof(family), "%s", name);
			type[0] = '\0';
			families++;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s %15s", name, t), 2);
			if (strcmp(name, family) != 0)
				fail_msg("TYPE of %s after the HELP of %s", name, family);
			snprintf(type, sizeof(type), "%s", t);
			if (strcmp(t, "counter") == 0 &&
			    strcmp(name + strlen(name) - 6, "_total") != 0)
				fail_msg("counter %s does not end in _total", name);
			if (strcmp(t, "counter") != 0 && strstr(name, "_total"))
				fail_msg("%s %s ends in _total", t, name);
			continue;
		}
		if (line[0] == '#')
			fail_msg("unexpected comment: %s", line);
		if (!type[0] || !sample_in(line, family, type))
			fail_msg("sample outside its family (%s %s): %s", family, type, line);
		samples++;
	}
	free(copy);
	assert_true(samples > families);
	return families;
}

/* The value of the sample line "prefix VALUE" (prefix: name and labels); fails if absent. */
static uint64_t value_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *at = strstr(text, prefix); at; at = strstr(at + 1, prefix))
		if ((at == text || at[-1] == '\n') && at[n] == ' ')
			return strtoull(at + n + 1, NULL, 10);
	fail_msg("no sample %s in:\n%s", prefix, text);
	return 0;
}

static void test_every_family_has_help_and_type_and_every_counter_is_there(void **state)
{
	struct fixture *f = *state;
	char *text = metrics_render(&f->snap);
	char want[160];

	assert_non_null(text);
	assert_true(check_structure(text) >= 20);
	assert_int_equal(value_of(text, "nfqd_build_info{version=\"9.9\"}"), 1);
	assert_int_equal(value_of(text, "nfqd_ruleset_generation"), 4);
	assert_int_equal(value_of(text, "nfqd_rules"), 4);
	assert_int_equal(value_of(text, "nfqd_received_total{queue=\"4\"}"),
			 2000 + NFQD_CTR_RECEIVED);
	assert_int_equal(value_of(text, "nfqd_packets_total{queue=\"3\",verdict=\"accept\"}"),
			 1000 + NFQD_CTR_ACCEPTED);
	assert_int_equal(value_of(text, "nfqd_packets_total{queue=\"3\",verdict=\"drop\"}"),
			 1000 + NFQD_CTR_DROPPED);
	assert_int_equal(value_of(text, "nfqd_packets_total{queue=\"4\",verdict=\"queue\"}"),
			 2000 + NFQD_CTR_QUEUED);
	assert_int_equal(value_of(text, "nfqd_kernel_dropped_total{queue=\"3\",reason=\"full\"}"),
			 1000 + NFQD_CTR_QUEUE_FULL);
	assert_int_equal(value_of(text, "nfqd_kernel_dropped_total{queue=\"3\",reason=\"user\"}"),
			 6);
	assert_int_equal(value_of(text, "nfqd_kernel_dropped_total{queue=\"4\",reason=\"rcvbuf\"}"),
			 2000 + NFQD_CTR_ENOBUFS);
	assert_int_equal(value_of(text, "nfqd_kernel_queued{queue=\"4\"}"), 2);
	/* every other counter as nfqd_NAME_total, per queue */
	for (int c = 0; c < NFQD_CTR_MAX; c++) {
		if (c == NFQD_CTR_RECEIVED || c == NFQD_CTR_ACCEPTED || c == NFQD_CTR_DROPPED ||
		    c == NFQD_CTR_QUEUED || c == NFQD_CTR_BATCHES || c == NFQD_CTR_ENOBUFS ||
		    c == NFQD_CTR_QUEUE_FULL)
			continue;
		snprintf(want, sizeof(want), "# TYPE nfqd_%s_total counter\n",
			 nfqd_counter_name(c));
		if (!strstr(text, want))
			fail_msg("no family for counter %s", nfqd_counter_name(c));
		snprintf(want, sizeof(want), "nfqd_%s_total{queue=\"4\"}", nfqd_counter_name(c));
		assert_int_equal(value_of(text, want), 2000 + (uint64_t)c);
	}
	/* the lookups, and the default */
	assert_int_equal(
		value_of(text, "nfqd_set_lookup_answers_total{lookup=\"src @block\",set=\"block\","
			       "by=\"test\"}"),
		7);
	assert_int_equal(
		value_of(text,
			 "nfqd_set_lookup_members_total{lookup=\"src @block\",set=\"block\"}"),
		3);
	assert_int_equal(
		value_of(text, "nfqd_default_matches_total{queue=\"4\",verdict=\"accept\"}"), 24);
	assert_int_equal(value_of(text, "nfqd_default_bytes_total{queue=\"3\",verdict=\"accept\"}"),
			 1400);
	free(text);
}

/*
 * Rules by text and occurrence: the two identical rules are occurrences 1 and 2; the text with a
 * quote and a backslash is escaped; nfqd_rule_info gives positions and lines.
 */
static void test_rule_series_are_labelled_by_escaped_text_and_occurrence(void **state)
{
	struct fixture *f = *state;
	char *text = metrics_render(&f->snap);

	assert_non_null(text);
	assert_int_equal(value_of(text, "nfqd_rule_matches_total{queue=\"3\",text=\"accept iif "
					"a\\\"b\\\\c\",occurrence=\"1\",verdict=\"accept\"}"),
			 11);
	assert_int_equal(value_of(text, "nfqd_rule_bytes_total{queue=\"4\",text=\"drop src "
					"@block\",occurrence=\"1\",verdict=\"drop\"}"),
			 2000);
	assert_int_equal(value_of(text, "nfqd_rule_matches_total{queue=\"4\",text=\"drop proto "
					"udp\",occurrence=\"1\",verdict=\"drop\"}"),
			 22);
	assert_int_equal(value_of(text, "nfqd_rule_matches_total{queue=\"4\",text=\"drop proto "
					"udp\",occurrence=\"2\",verdict=\"drop\"}"),
			 23);
	assert_int_equal(value_of(text, "nfqd_rule_info{rule=\"2\",line=\"6\",text=\"accept iif "
					"a\\\"b\\\\c\",occurrence=\"1\",verdict=\"accept\"}"),
			 1);
	assert_int_equal(value_of(text, "nfqd_rule_info{rule=\"4\",line=\"8\",text=\"drop proto "
					"udp\",occurrence=\"2\",verdict=\"drop\"}"),
			 1);
	free(text);
}

static void test_batch_histogram_is_cumulative_and_ends_in_inf(void **state)
{
	static const uint64_t cumulative[NFQD_BATCH_BUCKETS] = { 5, 5, 8, 8, 8, 8, 8, 8, 8, 10 };
	struct fixture *f = *state;
	char *text = metrics_render(&f->snap);
	char want[96];

	assert_non_null(text);
	assert_non_null(strstr(text, "# TYPE nfqd_batch_size histogram\n"));
	for (unsigned int k = 0; k < NFQD_BATCH_BUCKETS; k++) {
		snprintf(want, sizeof(want), "nfqd_batch_size_bucket{queue=\"3\",le=\"%s\"}",
			 nfqd_batch_bucket_name(k));
		assert_int_equal(value_of(text, want), cumulative[k]);
	}
	assert_non_null(strstr(text, "le=\"256\"} 8\nnfqd_batch_size_bucket{queue=\"3\","
				     "le=\"+Inf\"} 10\n"));
	assert_int_equal(value_of(text, "nfqd_batch_size_count{queue=\"3\"}"), 10);
	assert_int_equal(value_of(text, "nfqd_batch_size_sum{queue=\"3\"}"), 615);
	free(text);
}

static int fake_snapshot(void *user, struct stats_snapshot *out, struct stats_queue *queues,
			 unsigned int n_max)
{
	struct fixture *f = user;

	assert_int_equal(n_max, 2);
	*out = f->snap;
	memcpy(queues, f->queues, sizeof(f->queues));
	out->queues = queues;
	/* the command frees what the snapshot allocated */
	out->rule_counts = malloc(2 * 5 * sizeof(*out->rule_counts));
	assert_non_null(out->rule_counts);
	memcpy(out->rule_counts, f->snap.rule_counts, 2 * 5 * sizeof(*out->rule_counts));
	return 0;
}

/* `metrics` over the control protocol: one JSON string holding the text, open to anybody. */
static void test_metrics_command_answers_the_text_as_a_json_string(void **state)
{
	struct fixture *f = *state;
	const struct command_peer peer = { .uid = 4321 };
	struct command_daemon d = {
		.snapshot = fake_snapshot, .user = f, .n_queues = 2, .self_uid = 0
	};
	char *json = command_answer(&d, "metrics", &peer);

	assert_non_null(json);
	assert_int_equal(json_validate(json, strlen(json), NULL, NULL), 0);
	assert_non_null(strstr(json, "{\"metrics\":\"# HELP nfqd_build_info "));
	assert_non_null(strstr(json, "nfqd_build_info{version=\\\"9.9\\\"} 1\\n"));
	/* the label's escapes, escaped again for JSON */
	assert_non_null(strstr(json, "text=\\\"accept iif a\\\\\\\"b\\\\\\\\c\\\""));
	free(json);
	json = command_answer(&d, "metrics now", &peer);
	assert_string_equal(json, "{\"error\":\"'metrics' takes no argument\"}");
	free(json);
}

/* The textfile is replaced whole, readable to others whatever the umask, no temporary left. */
static void test_textfile_is_replaced_whole_and_readable(void **state)
{
	char dir[] = "/tmp/nfqd-metrics-XXXXXX", path[64], tmp[72];
	const char *step = NULL;
	struct stat st;
	mode_t old = umask(077);
	char *back;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nfqd.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(metrics_write_file(path, "first 1\n", &step), 0);
	assert_int_equal(metrics_write_file(path, "second 2\n", &step), 0);
	umask(old);
	back = file_read_all(path);
	assert_non_null(back);
	assert_string_equal(back, "second 2\n");
	free(back);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(access(tmp, F_OK), -1);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	/* a directory that is not there: the step and the error */
	snprintf(path, sizeof(path), "%s/nfqd.prom", dir);
	assert_int_equal(metrics_write_file(path, "x 1\n", &step), -ENOENT);
	assert_string_equal(step, "create");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_every_family_has_help_and_type_and_every_counter_is_there, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_rule_series_are_labelled_by_escaped_text_and_occurrence, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_batch_histogram_is_cumulative_and_ends_in_inf,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_metrics_command_answers_the_text_as_a_json_string, setup, teardown),
		cmocka_unit_test(test_textfile_is_replaced_whole_and_readable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
