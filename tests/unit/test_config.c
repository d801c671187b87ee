/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config file parsing: defaults, every key, comments, and every error with FILE:LINE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/policy.h"
#include "config.h"

static struct config *load_ok(const char *text)
{
	struct config *c = NULL;
	char err[1024] = "";
	int r = config_load_string(&c, "t.conf", text, err, sizeof(err));

	if (r != 0)
		fail_msg("expected success, got %d: %s", r, err);
	return c;
}

/* Load text expecting failure; assert the exact message. */
static void load_err(const char *text, const char *want)
{
	struct config *c = NULL;
	char err[1024] = "";
	int r = config_load_string(&c, "t.conf", text, err, sizeof(err));

	assert_true(r < 0);
	assert_null(c);
	assert_string_equal(err, want);
}

/* Every transport this build has is accepted by name. */
static void test_uring_and_mmsg_transports_are_accepted(void **state)
{
	static const char *const names[] = { "mmap", "uring", "mmsg", "auto" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char text[64];
		struct config *c;

		snprintf(text, sizeof(text), "[queue]\ntransport = %s\n", names[i]);
		c = load_ok(text);
		assert_string_equal(c->transport, names[i]);
		config_free(c);
	}
}

static void test_empty_file_gives_documented_defaults(void **state)
{
	struct config *c = load_ok("");

	(void)state;
	assert_int_equal(c->n_queues, 1);
	assert_int_equal(c->queues[0], 0);
	assert_int_equal(c->copy_range, 128);
	assert_int_equal(c->max_len, 8192);
	assert_false(c->fail_open);
	assert_string_equal(c->transport, "auto");
	assert_int_equal(c->batch, 64);
	assert_int_equal(c->recv_buffer, 0);
	assert_string_equal(c->control, "/run/nfqd/control.sock");
	assert_int_equal(nfqd_policy_rule_count(c->policy), 0);
	assert_int_equal(nfqd_policy_default(c->policy), NF_ACCEPT);
	config_free(c);
}

static void test_every_key_is_read(void **state)
{
	struct config *c = load_ok("[queue]\n"
				   "queues = 2-4\n"
				   "copy-range = 1500\n"
				   "max-len = 100\n"
				   "fail-open = yes\n"
				   "transport = mmsg\n"
				   "batch = 32\n"
				   "recv-buffer = 4096\n"
				   "[policy]\n"
				   "default = drop\n"
				   "rule = accept proto tcp dport 22\n"
				   "rule = drop src 192.0.2.0/24\n"
				   "[daemon]\n"
				   "control = /tmp/x.sock\n");

	(void)state;
	assert_int_equal(c->n_queues, 3);
	assert_int_equal(c->queues[0], 2);
	assert_int_equal(c->queues[2], 4);
	assert_int_equal(c->copy_range, 1500);
	assert_int_equal(c->max_len, 100);
	assert_true(c->fail_open);
	assert_string_equal(c->transport, "mmsg");
	assert_int_equal(c->batch, 32);
	assert_int_equal(c->recv_buffer, 4096);
	assert_int_equal(nfqd_policy_default(c->policy), NF_DROP);
	assert_int_equal(nfqd_policy_rule_count(c->policy), 2);
	/* rules keep the order of the file */
	assert_string_equal(nfqd_policy_rule_text(c->policy, 0), "accept proto tcp dport 22");
	assert_string_equal(nfqd_policy_rule_text(c->policy, 1), "drop src 192.0.2.0/24");
	assert_string_equal(c->control, "/tmp/x.sock");
	config_free(c);
}

static void test_comments_hash_and_semicolon_inline_and_full_line(void **state)
{
	struct config *c = load_ok("# a comment\n"
				   "; another\n"
				   "[queue]   # the queue section\n"
				   "queues = 0-3          # a number, a range, or a list\n"
				   "copy-range = 256 ; bytes\n"
				   "[policy]\n"
				   "rule = drop proto udp dport 5001   # no DNS over 5001\n");

	(void)state;
	assert_int_equal(c->n_queues, 4);
	assert_int_equal(c->copy_range, 256);
	assert_string_equal(nfqd_policy_rule_text(c->policy, 0), "drop proto udp dport 5001");
	config_free(c);
}

static void test_booleans_accept_usual_spellings(void **state)
{
	const char *yes[] = { "yes", "true", "on", "1", "YES" };
	const char *no[] = { "no", "false", "off", "0", "No" };
	char text[128];

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		struct config *c;

		snprintf(text, sizeof(text), "[queue]\nfail-open = %s\n", yes[i]);
		c = load_ok(text);
		assert_true(c->fail_open);
		config_free(c);
		snprintf(text, sizeof(text), "[queue]\nfail-open = %s\n", no[i]);
		c = load_ok(text);
		assert_false(c->fail_open);
		config_free(c);
	}
}

static void test_recv_buffer_auto(void **state)
{
	struct config *c = load_ok("[queue]\nrecv-buffer = auto\n");

	(void)state;
	assert_int_equal(c->recv_buffer, 0);
	config_free(c);
}

/* The cap on a queue socket's receive buffer: 64 MiB unless set, bounded, errors at the line. */
static void test_rcvbuf_max_default_value_and_range(void **state)
{
	struct config *c = load_ok("");

	(void)state;
	assert_int_equal(c->rcvbuf_max, 64u << 20);
	config_free(c);
	c = load_ok("[queue]\nrcvbuf-max = 1048576\n");
	assert_int_equal(c->rcvbuf_max, 1048576);
	config_free(c);
	load_err("[queue]\nrcvbuf-max = 1000\n",
		 "t.conf:2: rcvbuf-max: '1000' is out of range (262144..2147483647)");
	load_err("[queue]\nrcvbuf-max = 3000000000\n",
		 "t.conf:2: rcvbuf-max: '3000000000' is out of range (262144..2147483647)");
}

static void test_set_timeout_default_units_and_range(void **state)
{
	static const struct {
		const char *value;
		unsigned int ms;
	} ok[] = {
		{ "20ms", 20 }, { "1s", 1000 }, { "250", 250 }, { "1ms", 1 }, { "1000ms", 1000 }
	};
	struct config *c = load_ok("");
	char text[64];

	(void)state;
	/* the default waits far less than the drain and the watchdog allow */
	assert_int_equal(c->set_timeout_ms, 50);
	config_free(c);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[policy]\nset-timeout = %s\n", ok[i].value);
		c = load_ok(text);
		if (c->set_timeout_ms != ok[i].ms)
			fail_msg("set-timeout = %s read as %u ms", ok[i].value, c->set_timeout_ms);
		config_free(c);
	}
	load_err("[policy]\nset-timeout = 0ms\n",
		 "t.conf:2: set-timeout: '0ms' is out of range (1ms to 1000ms)");
	load_err("[policy]\n\nset-timeout = 2s\n",
		 "t.conf:3: set-timeout: '2s' is out of range (1ms to 1000ms)");
	load_err("[policy]\nset-timeout = 1001ms\n",
		 "t.conf:2: set-timeout: '1001ms' is out of range (1ms to 1000ms)");
	load_err("[policy]\nset-timeout = 99999999999999999999999ms\n",
		 "t.conf:2: set-timeout: '99999999999999999999999ms' is out of range (1ms to "
		 "1000ms)");
	load_err("[policy]\nset-timeout = 50 ms\n",
		 "t.conf:2: set-timeout: '50 ms' is not a duration in milliseconds (e.g. 50ms)");
	load_err("[policy]\nset-timeout = ms\n",
		 "t.conf:2: set-timeout: 'ms' is not a duration in milliseconds (e.g. 50ms)");
	load_err("[policy]\nset-timeout = 0.5s\n",
		 "t.conf:2: set-timeout: '0.5s' is not a duration in milliseconds (e.g. 50ms)");
	load_err("[policy]\nset-timeout = 50min\n",
		 "t.conf:2: set-timeout: '50min' is not a duration in milliseconds (e.g. 50ms)");
}

/*
 * The kernel holds at most 65536 packets in one queue (Linux 6.18's per-queue table of queued
 * packets): 65536 is taken, anything above it is refused with the limit and the reason, so
 * nfqd never logs a max-len that is not in force.
 */
static void test_max_len_above_what_the_kernel_holds_is_refused_with_the_reason(void **state)
{
	struct config *c = load_ok("[queue]\nmax-len = 65536\n");

	(void)state;
	assert_int_equal(c->max_len, 65536);
	config_free(c);
	load_err("[queue]\nmax-len = 65537\n",
		 "t.conf:2: max-len: '65537' is above 65536, the most packets the kernel holds in "
		 "one queue (its table of queued packets takes at most 65536 since Linux 6.18; the "
		 "rest would be dropped as queue-full whatever max-len says)");
	load_err("[queue]\nmax-len = 300000\n",
		 "t.conf:2: max-len: '300000' is above 65536, the most packets the kernel holds in "
		 "one queue (its table of queued packets takes at most 65536 since Linux 6.18; the "
		 "rest would be dropped as queue-full whatever max-len says)");
}

static void test_queue_lists(void **state)
{
	uint16_t q[CONFIG_MAX_QUEUES];
	unsigned int n = 0;
	const char *why = NULL;

	(void)state;
	assert_int_equal(config_parse_queues("7", q, &n, &why), 0);
	assert_int_equal(n, 1);
	assert_int_equal(q[0], 7);
	assert_int_equal(config_parse_queues("0,2,5", q, &n, &why), 0);
	assert_int_equal(n, 3);
	assert_int_equal(q[2], 5);
	/* sorted whatever the order written */
	assert_int_equal(config_parse_queues("9,0-2", q, &n, &why), 0);
	assert_int_equal(n, 4);
	assert_int_equal(q[0], 0);
	assert_int_equal(q[3], 9);
	assert_int_equal(config_parse_queues("65535", q, &n, &why), 0);
	assert_int_equal(q[0], 65535);
	assert_int_equal(config_parse_queues("0-255", q, &n, &why), 0);
	assert_int_equal(n, 256);
}

static void test_queue_list_errors(void **state)
{
	static const struct {
		const char *in;
		const char *why;
	} cases[] = {
		{ "", "is empty" },
		{ "a", "is not a queue number, range (0-3) or list (0,2,5)" },
		{ "0-", "is not a queue number, range (0-3) or list (0,2,5)" },
		{ "-1", "is not a queue number, range (0-3) or list (0,2,5)" },
		{ "1 2", "is not a queue number, range (0-3) or list (0,2,5)" },
		{ "3-1", "has a range whose start is above its end" },
		{ "1,1", "lists a queue twice" },
		{ "0-3,2", "lists a queue twice" },
		{ "70000", "names a queue above 65535" },
		{ "0,", "ends with a comma" },
		{ "0-256", "lists more than 256 queues" },
	};
	uint16_t q[CONFIG_MAX_QUEUES];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int n = 0;
		const char *why = NULL;

		assert_true(config_parse_queues(cases[i].in, q, &n, &why) < 0);
		assert_string_equal(why, cases[i].why);
	}
}

/* fanout: balance by default, cpu on a contiguous range of two or more queues; anything else
 * is refused at the line of the key with the queues named. */
static void test_fanout_values_and_what_cpu_needs(void **state)
{
	struct config *c = load_ok("");

	(void)state;
	assert_int_equal(c->fanout, FANOUT_BALANCE);
	config_free(c);
	c = load_ok("[queue]\nqueues = 2-3\nfanout = cpu\n");
	assert_int_equal(c->fanout, FANOUT_CPU);
	assert_string_equal(config_fanout_name(c->fanout), "cpu");
	config_free(c);
	c = load_ok("[queue]\nfanout = balance\nqueues = 0,2\n");
	assert_int_equal(c->fanout, FANOUT_BALANCE);
	config_free(c);
	load_err("[queue]\nfanout = cpus\n", "t.conf:2: fanout: 'cpus' is not balance or cpu");
	load_err(
		"[queue]\n\nfanout = cpu\n",
		"t.conf:3: fanout: cpu needs a range of two or more queues such as 0-1 (queues 0)");
	load_err("[queue]\nfanout = cpu\nqueues = 0,2-3\n",
		 "t.conf:2: fanout: cpu needs a range of two or more queues such as 0-1 (queues "
		 "0,2-3)");
}

static void test_format_queues_compacts_ranges(void **state)
{
	struct config *c = load_ok("[queue]\nqueues = 0-3,5,7-8\n");
	char buf[64];

	(void)state;
	config_format_queues(c, buf, sizeof(buf));
	assert_string_equal(buf, "0-3,5,7-8");
	config_free(c);
}

static void test_errors_name_file_line_and_word(void **state)
{
	(void)state;
	load_err("[queue]\ncopyrange = 5\n", "t.conf:2: unknown key 'copyrange' in [queue]");
	load_err("[queu]\nqueues = 1\n",
		 "t.conf:1: unknown section [queu] (known: [queue], [policy], [daemon], "
		 "[metrics], [log])");
	load_err("queues = 1\n",
		 "t.conf:1: 'queues' is outside any section; put it under [queue], [policy], "
		 "[daemon] or [metrics]");
	load_err("[queue]\nqueues 1\n",
		 "t.conf:2: syntax error: expected '[section]' or 'key = value'");
	load_err("[queue]\ncopy-range = 128\n\ncopy-range = 256\n",
		 "t.conf:4: copy-range: set again (first set on line 2)");
	load_err("[queue]\ncopy-range =\n", "t.conf:2: copy-range: missing value");
	load_err("[queue]\ncopy-range = # nothing\n", "t.conf:2: copy-range: missing value");
	load_err("[queue]\ncopy-range = 20\n",
		 "t.conf:2: copy-range: '20' is out of range (64..65531)");
	load_err("[queue]\ncopy-range = 65532\n",
		 "t.conf:2: copy-range: '65532' is out of range (64..65531)");
	load_err("[queue]\ncopy-range = 1k\n", "t.conf:2: copy-range: '1k' is not a number");
	load_err("[queue]\ncopy-range = -5\n", "t.conf:2: copy-range: '-5' is not a number");
	load_err("[queue]\nmax-len = 0\n", "t.conf:2: max-len: '0' is out of range (1..65536)");
	load_err("[queue]\nmax-len = 99999999999999999999999\n",
		 "t.conf:2: max-len: '99999999999999999999999' is out of range (1..65536)");
	load_err("[queue]\nfail-open = maybe\n", "t.conf:2: fail-open: 'maybe' is not yes or no");
	load_err("[queue]\ntransport = ring\n", "t.conf:2: transport: unknown transport 'ring' "
						"(this build has: auto, mmap, mmsg, uring)");
	load_err("[queue]\nbatch = 0\n", "t.conf:2: batch: '0' is out of range (1..1024)");
	load_err("[queue]\nbatch = 1025\n", "t.conf:2: batch: '1025' is out of range (1..1024)");
	load_err("[queue]\nrecv-buffer = big\n",
		 "t.conf:2: recv-buffer: 'big' is not 'auto' or a number of bytes");
	load_err("[queue]\nrecv-buffer = 100\n",
		 "t.conf:2: recv-buffer: '100' is out of range (256..1048576)");
	load_err("[queue]\nqueues = 3-1\n",
		 "t.conf:2: queues: '3-1' has a range whose start is above its end");
	load_err("[policy]\ndefault = acept\n", "t.conf:2: default: unknown verdict 'acept'");
	load_err("[policy]\nrule = accept proto tcp\nrule = dorp src 192.0.2.1\n",
		 "t.conf:3: rule 'dorp src 192.0.2.1': unknown verdict 'dorp'");
	load_err("[policy]\nrule = drop dprt 53\n",
		 "t.conf:2: rule 'drop dprt 53': unknown match 'dprt'");
	load_err("[daemon]\ncontrol = run/x.sock\n",
		 "t.conf:2: control: 'run/x.sock' is not an absolute path");
	load_err("[daemon]\nunknown = 1\n", "t.conf:2: unknown key 'unknown' in [daemon]");
}

static void test_first_error_wins(void **state)
{
	(void)state;
	load_err("[queue]\nbatch = 0\nmax-len = 0\n",
		 "t.conf:2: batch: '0' is out of range (1..1024)");
	/* a syntax error before a bad value is reported first */
	load_err("[queue]\nnonsense\nbatch = 0\n",
		 "t.conf:2: syntax error: expected '[section]' or 'key = value'");
}

static void test_overlong_line_is_an_error_not_a_cut(void **state)
{
	char text[CONFIG_LINE_MAX + 64];
	struct config *c;

	(void)state;
	/* 32 characters besides the blanks: the line is exactly CONFIG_LINE_MAX long, then one more
	 */
	snprintf(text, sizeof(text), "[policy]\nrule = drop proto udp%*s dport 5001\n",
		 CONFIG_LINE_MAX - 32, "");
	c = load_ok(text);
	assert_string_equal(nfqd_policy_rule_text(c->policy, 0), "drop proto udp dport 5001");
	config_free(c);
	snprintf(text, sizeof(text), "[policy]\nrule = drop proto udp%*s dport 5001\n",
		 CONFIG_LINE_MAX - 32 + 1, "");
	load_err(text, "t.conf:2: line is longer than 8192 bytes (8193)");
}

static void test_continued_lines_and_keys_have_limits_too(void **state)
{
	char *text = malloc(3 * CONFIG_LINE_MAX);
	size_t n = 0;

	(void)state;
	assert_non_null(text);
	/* three lines of a word of 8000 characters each: past CONFIG_VALUE_MAX on the third */
	n += (size_t)sprintf(text + n, "[policy]\nrule = drop \\\n");
	for (int i = 0; i < 3; i++) {
		memset(text + n, 'a', 8000);
		n += 8000;
		n += (size_t)sprintf(text + n, " \\\n");
	}
	load_err(text, "t.conf:5: line continued past 16384 bytes");
	/* a key longer than any known one is not handed to libinih, and named */
	sprintf(text, "[queue]\n%0100d = 1\n", 7);
	load_err(text, "t.conf:2: unknown key '0000000000000000000000000000000000000000000000000000"
		       "000000000000...'");
	free(text);
}

/* A rule of more than 4096 characters on one line, and comments on long lines, all read whole. */
static void test_long_rules_and_comments_are_read_whole(void **state)
{
	char rule[5000], text[8192];
	struct config *c;
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(rule + n, sizeof(rule) - n, "drop");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(rule + n, sizeof(rule) - n, "%*s%s", 260, "",
				      i % 2 ? "proto tcp" : "src 10.0.0.0/8");
	assert_true(n > 4096);
	snprintf(text, sizeof(text), "# %*s\n[policy] ; %*s\nrule = %s # %*s\n", 300, "x", 300, "y",
		 rule, 300, "z");
	c = load_ok(text);
	assert_int_equal(nfqd_policy_rule_count(c->policy), 1);
	assert_int_equal(strlen(nfqd_policy_rule_text(c->policy, 0)),
			 strlen("drop") + 8 * strlen(" src 10.0.0.0/8") + 8 * strlen(" proto tcp"));
	assert_int_equal(c->rule_lines[0], 3);
	config_free(c);
}

static void test_a_backslash_continues_a_line(void **state)
{
	struct config *c = load_ok("[policy]\n"
				   "rule = drop proto tcp \\\n"
				   "       dport 22 \\   # ssh\n"
				   "\tsrc 10.0.0.0/8\n"
				   "rule = accept \\\n"
				   "\n"
				   "[queue]\n"
				   "copy-range = 256 \\\n");

	(void)state;
	assert_int_equal(nfqd_policy_rule_count(c->policy), 2);
	assert_string_equal(nfqd_policy_rule_text(c->policy, 0),
			    "drop proto tcp dport 22 src 10.0.0.0/8");
	assert_int_equal(c->rule_lines[0], 2);
	assert_string_equal(nfqd_policy_rule_text(c->policy, 1), "accept");
	assert_int_equal(c->rule_lines[1], 5);
	assert_int_equal(c->copy_range, 256);
	config_free(c);
}

/* Two backslashes before a line end leave a literal backslash, then continue: a value ending
 * that way has no plain spelling (written back, its last backslash would continue the line). */
static void test_a_value_ending_in_a_backslash_is_refused(void **state)
{
	(void)state;
	load_err("[daemon]\ncontrol = /run/x\\\\\n\\\n",
		 "t.conf:3: the continued value ends with a backslash, which would continue it "
		 "further");
	load_err("[daemon]\ncontrol = /run/x\\\\\n",
		 "t.conf:2: the continued value ends with a backslash, which would continue it "
		 "further");
}

static void test_errors_in_continued_lines_name_the_line_of_the_word(void **state)
{
	(void)state;
	load_err("[policy]\nrule = drop proto tcp \\\n  dprt 22\n",
		 "t.conf:3: rule 'drop proto tcp dprt 22': unknown match 'dprt'");
	load_err("[policy]\nrule = drop \\\n proto tcp \\\n dport 22 \\\n src 10.0.0.300\n",
		 "t.conf:5: rule 'drop proto tcp dport 22 src 10.0.0.300': bad address "
		 "'10.0.0.300' after 'src': expected an IPv4 or IPv6 address[/LEN]");
	load_err("[policy]\nrule = dorp \\\n proto tcp\n",
		 "t.conf:2: rule 'dorp proto tcp': unknown verdict 'dorp'");
	/* the key's own line for what is not about one word */
	load_err("[queue]\nbatch = 1 \\\n 2 \\\n x\n", "t.conf:2: batch: '1 2 x' is not a number");
	load_err("[queue]\nbatch = 1\nbatch = \\\n 2\n",
		 "t.conf:3: batch: set again (first set on line 2)");
	/* a backslash inside a comment continues nothing; indentation continues nothing */
	load_err("[policy]\nrule = drop proto tcp # ssh \\\n  dport 22\n",
		 "t.conf:3: syntax error: expected '[section]' or 'key = value' (to continue the "
		 "value of the line before, end that line with '\\')");
	load_err("[policy]\nrule = drop proto tcp \\\n  dport 22\nnonsense\n",
		 "t.conf:4: syntax error: expected '[section]' or 'key = value'");
}

/* Write len bytes to a temporary file; its name goes to path[32]. */
static void write_file(char *path, const char *text, size_t len)
{
	int fd;

	snprintf(path, 32, "/tmp/nfqd-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void test_nul_and_control_characters_are_refused_at_their_line(void **state)
{
	static const char nul[] = "[policy]\nrule = accept src 10.0.0.0/8\0 proto tcp dport 22\n";
	char path[32], err[512], want[512];
	struct config *c = NULL;

	(void)state;
	/* the NUL would have cut the rule to "accept src 10.0.0.0/8": everything accepted */
	write_file(path, nul, sizeof(nul) - 1);
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want),
		 "%s:2: NUL byte in the line (at column 29): the file is not text", path);
	assert_string_equal(err, want);
	unlink(path);
	load_err("[policy]\nrule = accept\x01 src 10.0.0.1\n",
		 "t.conf:2: control character 0x01 in the line (at column 14)");
	/* line ends of either kind and a byte order mark are text */
	c = load_ok("\xef\xbb\xbf[queue]\r\nbatch = 8\r\n");
	assert_int_equal(c->batch, 8);
	config_free(c);
}

static void test_only_a_regular_file_is_a_configuration(void **state)
{
	char dir[] = "/tmp/nfqd-conf-XXXXXX", fifo[64], err[512], want[512];
	struct config *c = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(config_load(&c, dir, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want), "%s: is a directory, not a configuration file", dir);
	assert_string_equal(err, want);

	/* opening a FIFO for reading would wait for a writer */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(config_load(&c, fifo, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: is a FIFO, not a configuration file", fifo);
	assert_string_equal(err, want);
	unlink(fifo);
	rmdir(dir);

	assert_int_equal(config_load(&c, "/dev/null", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/dev/null: is a character device, not a configuration file");
	assert_null(c);
}

static void test_rules_may_repeat_but_other_keys_may_not(void **state)
{
	struct config *c = load_ok("[policy]\nrule = drop proto udp\nrule = drop proto udp\n");

	(void)state;
	assert_int_equal(nfqd_policy_rule_count(c->policy), 2);
	config_free(c);
	load_err("[policy]\ndefault = drop\ndefault = accept\n",
		 "t.conf:3: default: set again (first set on line 2)");
}

static void test_missing_file_is_named(void **state)
{
	struct config *c = NULL;
	char err[512];

	(void)state;
	assert_int_equal(config_load(&c, "/nonexistent/nfqd.conf", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/nfqd.conf: cannot open: No such file or directory");
}

static void test_policy_keys_of_sets_marks_and_flow_cache(void **state)
{
	struct config *c = load_ok("[policy]\n"
				   "flow-cache = connmark\n"
				   "on-set-error = accept\n"
				   "set-lookup = test\n"
				   "mark-bits = 0x00ff0000\n"
				   "rule = drop src @blocklist\n");

	(void)state;
	assert_true(c->flow_cache);
	assert_int_equal(nfqd_policy_on_set_error(c->policy), NF_ACCEPT);
	assert_int_equal(c->set_lookup, SET_LOOKUP_TEST);
	assert_int_equal(c->mark_bits, 0x00ff0000);
	/* set-lookup = test: no set bits; flow cache: marker and two verdict bits */
	assert_int_equal(c->plan.marker, 0x00010000);
	assert_int_equal(c->plan.flow, 0x00060000);
	assert_int_equal(c->plan.n_set_bits, 0);
	config_free(c);

	c = load_ok("[policy]\nrule = drop src @a\nrule = drop dst @b\n");
	/* defaults: auto lookups with a mark bit each, no flow cache, on-set-error drop */
	assert_false(c->flow_cache);
	assert_int_equal(c->set_lookup, SET_LOOKUP_AUTO);
	assert_int_equal(nfqd_policy_on_set_error(c->policy), NF_DROP);
	assert_int_equal(c->plan.marker, 0x01000000);
	assert_int_equal(c->plan.set_bit[0], 0x02000000);
	assert_int_equal(c->plan.set_bit[1], 0x04000000);
	assert_int_equal(c->rule_lines[1], 3);
	config_free(c);
}

/* on-unreadable: drop by default, and each of its three words. */
static void test_on_unreadable_defaults_to_drop_and_reads_each_word(void **state)
{
	static const struct {
		const char *word;
		enum nfqd_on_unreadable mode;
	} words[] = {
		{ "drop", NFQD_ON_UNREADABLE_DROP },
		{ "accept", NFQD_ON_UNREADABLE_ACCEPT },
		{ "evaluate", NFQD_ON_UNREADABLE_EVALUATE },
	};
	struct config *c = load_ok("[policy]\ndefault = accept\n");
	char text[64];

	(void)state;
	assert_int_equal(nfqd_policy_on_unreadable(c->policy), NFQD_ON_UNREADABLE_DROP);
	config_free(c);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		snprintf(text, sizeof(text), "[policy]\non-unreadable = %s\n", words[i].word);
		c = load_ok(text);
		assert_int_equal(nfqd_policy_on_unreadable(c->policy), words[i].mode);
		assert_string_equal(nfqd_policy_on_unreadable_name(words[i].mode), words[i].word);
		config_free(c);
	}
	load_err("[policy]\non-unreadable = ignore\n",
		 "t.conf:2: on-unreadable: 'ignore' is not drop, accept or evaluate");
	load_err("[queue]\non-unreadable = drop\n",
		 "t.conf:2: unknown key 'on-unreadable' in [queue]");
}

static void test_policy_key_errors(void **state)
{
	(void)state;
	load_err("[policy]\nflow-cache = yes\n",
		 "t.conf:2: flow-cache: 'yes' is not off or connmark");
	load_err("[policy]\non-set-error = ignore\n",
		 "t.conf:2: on-set-error: 'ignore' is not drop or accept");
	load_err("[policy]\nset-lookup = fast\n",
		 "t.conf:2: set-lookup: 'fast' is not auto, test or mark");
	load_err("[policy]\nmark-bits = high\n",
		 "t.conf:2: mark-bits: 'high' is not a 32-bit mask (e.g. 0xff000000)");
	load_err("[policy]\nmark-bits = 0x100000000\n",
		 "t.conf:2: mark-bits: '0x100000000' is not a 32-bit mask (e.g. 0xff000000)");
	load_err("[policy]\nmark-bits = 0\n", "t.conf:2: mark-bits: '0' leaves nfqd no bit");
}

static void test_mark_bits_too_narrow_is_an_error_at_mark_bits(void **state)
{
	(void)state;
	load_err("[policy]\nmark-bits = 0x3\nflow-cache = connmark\n",
		 "t.conf:2: mark-bits 0x00000003 has 2 bits; this configuration needs 3: 1 marker, "
		 "2 flow-cache verdicts");
	/* without a mark-bits line the file as a whole is at fault */
	load_err("[policy]\nflow-cache = connmark\n"
		 "rule = drop src @s1\nrule = drop src @s2\nrule = drop src @s3\n"
		 "rule = drop src @s4\nrule = drop src @s5\n",
		 "t.conf: mark-bits 0xff000000 has 8 bits; this configuration needs 9: 1 marker, "
		 "2 flow-cache verdicts, 5 set lookups, 1 stale flag");
}

static void test_rule_mark_bits_must_stay_clear_of_nfqds(void **state)
{
	(void)state;
	load_err("[policy]\nrule = accept dport 22\nrule = drop meta mark 0x1000000/0x1000000\n",
		 "t.conf:3: rule 'drop meta mark 0x1000000/0x1000000': its mark bits overlap "
		 "nfqd's own (0x01000000, inside mark-bits 0xff000000); move them or change "
		 "mark-bits");
	load_err("[policy]\nrule = accept set-mark 0x80000000/0x80000000\n"
		 "mark-bits = 0x80000000\n",
		 "t.conf:2: rule 'accept set-mark 0x80000000/0x80000000': its mark bits overlap "
		 "nfqd's own (0x80000000, inside mark-bits 0x80000000); move them or change "
		 "mark-bits");
	load_err(
		"[policy]\nrule = drop ct mark 0x10/0xf0\nrule = drop meta mark 0x4/0xc\n"
		"rule = accept meta mark 0x20/0x20\n",
		"t.conf:2: rule 'drop ct mark 0x10/0xf0': meta mark and ct mark rules use the same "
		"bits 0x00000020; the connmark is restored into those packet mark bits when the "
		"kernel gives no conntrack data");
	/* the meta mark rule that clashes is named, not the first meta mark rule */
	load_err("[policy]\nrule = drop meta mark 0x4/0xc\nrule = accept meta mark 0x20/0x20\n"
		 "rule = drop ct mark 0x10/0x30\n",
		 "t.conf:3: rule 'accept meta mark 0x20/0x20': meta mark and ct mark rules use the "
		 "same bits 0x00000020; the connmark is restored into those packet mark bits when "
		 "the kernel gives no conntrack data");
}

static void test_shipped_example_config_is_valid(void **state)
{
	struct config *c = NULL;
	char err[1024] = "";

	(void)state;
	if (config_load(&c, NFQD_SOURCE_DIR "/conf/nfqd.conf", err, sizeof(err)) != 0)
		fail_msg("conf/nfqd.conf: %s", err);
	/* the example documents the defaults: it must load to exactly them */
	assert_int_equal(c->n_queues, 1);
	assert_int_equal(c->copy_range, 128);
	assert_int_equal(c->max_len, 8192);
	assert_int_equal(c->rcvbuf_max, 64u << 20);
	assert_false(c->fail_open);
	assert_int_equal(c->batch, 64);
	config_free(c);
}

static void test_daemon_user_and_seccomp(void **state)
{
	struct config *c = load_ok("");

	(void)state;
	/* defaults: stay root, filter on */
	assert_null(c->user);
	assert_true(c->seccomp);
	config_free(c);

	c = load_ok("[daemon]\n# the service user\nuser = nfqd\nseccomp = no\n");
	assert_string_equal(c->user, "nfqd");
	assert_int_equal(c->user_line, 3);
	assert_false(c->seccomp);
	config_free(c);
}

static void test_daemon_user_and_seccomp_errors(void **state)
{
	(void)state;
	load_err("[daemon]\nuser = nfqd:x\n", "t.conf:2: user: 'nfqd:x' is not a user name");
	load_err("[daemon]\nuser = a-name-longer-than-thirty-two-chars\n",
		 "t.conf:2: user: 'a-name-longer-than-thirty-two-chars' is not a user name");
	load_err("[daemon]\nseccomp = maybe\n", "t.conf:2: seccomp: 'maybe' is not yes or no");
	load_err("[daemon]\nuser = a\nuser = b\n",
		 "t.conf:3: user: set again (first set on line 2)");
}

/* [metrics]: the textfile and its interval, default 15 s, bounds and forms named at FILE:LINE. */
static void test_metrics_keys_and_errors(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("");
	assert_null(c->metrics_textfile);
	assert_int_equal(c->metrics_interval, 15);
	config_free(c);
	c = load_ok("[metrics]\ntextfile = /var/lib/prometheus/node-exporter/nfqd.prom\n"
		    "interval = 3600\n");
	assert_string_equal(c->metrics_textfile, "/var/lib/prometheus/node-exporter/nfqd.prom");
	assert_int_equal(c->metrics_interval, 3600);
	config_free(c);
	load_err("[metrics]\ninterval = 0\n", "t.conf:2: interval: '0' is out of range (1..3600)");
	load_err("[metrics]\n\ninterval = 3601\n",
		 "t.conf:3: interval: '3601' is out of range (1..3600)");
	load_err("[metrics]\ninterval = 15s\n", "t.conf:2: interval: '15s' is not a number");
	load_err("[metrics]\ntextfile = nfqd.prom\n",
		 "t.conf:2: textfile: 'nfqd.prom' is not an absolute path");
	load_err("[metrics]\ntextfile = /var/lib/\n",
		 "t.conf:2: textfile: '/var/lib/' names a directory, not a file");
	load_err("[metrics]\nport = 9100\n", "t.conf:2: unknown key 'port' in [metrics]");
	load_err("[metrix]\n",
		 "t.conf:1: unknown section [metrix] (known: [queue], [policy], [daemon], "
		 "[metrics], [log])");
}

/* Issue 9: the [log] keys, and log-prefix errors at the line of the word. */
static void test_log_keys_are_read_with_their_defaults(void **state)
{
	struct config *c = load_ok("");

	(void)state;
	assert_int_equal(c->log_rate, CONFIG_LOG_RATE_DEFAULT);
	assert_int_equal(c->log_period_s, 1);
	assert_int_equal(c->log_burst, CONFIG_LOG_BURST_DEFAULT);
	config_free(c);
	c = load_ok("[log]\nrate = 3/m\nburst = 7\n");
	assert_int_equal(c->log_rate, 3);
	assert_int_equal(c->log_period_s, 60);
	assert_int_equal(c->log_burst, 7);
	config_free(c);
	c = load_ok("[log]\nrate = 1/h\n");
	assert_int_equal(c->log_period_s, 3600);
	config_free(c);
}

static void test_log_key_errors_name_the_value_and_the_line(void **state)
{
	(void)state;
	load_err("[log]\n\nrate = 10\n",
		 "t.conf:3: rate: '10' is not N/s, N/m or N/h (N: 1-1000000)");
	load_err("[log]\nrate = 10/d\n",
		 "t.conf:2: rate: '10/d' is not N/s, N/m or N/h (N: 1-1000000)");
	load_err("[log]\nrate = 0/s\n", "t.conf:2: rate: '0/s': '0' is out of range (1..1000000)");
	load_err("[log]\nrate = x/s\n", "t.conf:2: rate: 'x/s': 'x' is not a number (1..1000000)");
	load_err("[log]\nburst = 0\n", "t.conf:2: burst: '0' is out of range (1..1000000)");
	load_err("[log]\nburst = many\n", "t.conf:2: burst: 'many' is not a number");
	load_err(
		"[policy]\nrule = drop src 10.0.0.0/8 \\\n  log-prefix \"a b c d\" \\\n  dport x\n",
		"t.conf:4: rule 'drop src 10.0.0.0/8 log-prefix \"a b c d\" dport x': bad port 'x' "
		"after 'dport': expected a port 0-65535 or a range LO-HI");
	load_err("[policy]\nrule = drop src 10.0.0.0/8 \\\n  log-prefix BL\n",
		 "t.conf:3: rule 'drop src 10.0.0.0/8 log-prefix BL': log-prefix: 'BL' is not in "
		 "double quotes: write log-prefix \"TEXT\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file_gives_documented_defaults),
		cmocka_unit_test(test_metrics_keys_and_errors),
		cmocka_unit_test(test_log_keys_are_read_with_their_defaults),
		cmocka_unit_test(test_log_key_errors_name_the_value_and_the_line),
		cmocka_unit_test(test_uring_and_mmsg_transports_are_accepted),
		cmocka_unit_test(test_every_key_is_read),
		cmocka_unit_test(test_comments_hash_and_semicolon_inline_and_full_line),
		cmocka_unit_test(test_booleans_accept_usual_spellings),
		cmocka_unit_test(test_recv_buffer_auto),
		cmocka_unit_test(test_rcvbuf_max_default_value_and_range),
		cmocka_unit_test(test_set_timeout_default_units_and_range),
		cmocka_unit_test(
			test_max_len_above_what_the_kernel_holds_is_refused_with_the_reason),
		cmocka_unit_test(test_queue_lists),
		cmocka_unit_test(test_queue_list_errors),
		cmocka_unit_test(test_fanout_values_and_what_cpu_needs),
		cmocka_unit_test(test_format_queues_compacts_ranges),
		cmocka_unit_test(test_errors_name_file_line_and_word),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_overlong_line_is_an_error_not_a_cut),
		cmocka_unit_test(test_long_rules_and_comments_are_read_whole),
		cmocka_unit_test(test_continued_lines_and_keys_have_limits_too),
		cmocka_unit_test(test_a_backslash_continues_a_line),
		cmocka_unit_test(test_a_value_ending_in_a_backslash_is_refused),
		cmocka_unit_test(test_errors_in_continued_lines_name_the_line_of_the_word),
		cmocka_unit_test(test_nul_and_control_characters_are_refused_at_their_line),
		cmocka_unit_test(test_only_a_regular_file_is_a_configuration),
		cmocka_unit_test(test_rules_may_repeat_but_other_keys_may_not),
		cmocka_unit_test(test_missing_file_is_named),
		cmocka_unit_test(test_policy_keys_of_sets_marks_and_flow_cache),
		cmocka_unit_test(test_policy_key_errors),
		cmocka_unit_test(test_on_unreadable_defaults_to_drop_and_reads_each_word),
		cmocka_unit_test(test_mark_bits_too_narrow_is_an_error_at_mark_bits),
		cmocka_unit_test(test_rule_mark_bits_must_stay_clear_of_nfqds),
		cmocka_unit_test(test_shipped_example_config_is_valid),
		cmocka_unit_test(test_daemon_user_and_seccomp),
		cmocka_unit_test(test_daemon_user_and_seccomp_errors),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
