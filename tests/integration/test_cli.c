/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command lines of nfqd and nfqctl: exit statuses and messages an operator reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "netns.h"

/* Run a shell command, capture stdout and stderr together; return the exit status. */
static int run(char *out, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char tmpconf[64];

/* Write len bytes of text (it may hold a NUL) to a new temporary file. */
static const char *write_conf_len(const char *text, size_t len)
{
	int fd;

	snprintf(tmpconf, sizeof(tmpconf), "/tmp/nfqd-cli-XXXXXX");
	fd = mkstemp(tmpconf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return tmpconf;
}

static const char *write_conf(const char *text)
{
	return write_conf_len(text, strlen(text));
}

/* The whole content of a small file (malloc'd). */
static char *read_text(const char *path)
{
	char *text = calloc(1, 8192);
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(text);
	assert_non_null(f);
	n = fread(text, 1, 8191, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void test_check_of_a_valid_config_exits_0_and_summarises_it(void **state)
{
	char out[4096];
	const char *f = write_conf("[queue]\nqueues = 0-3\n[policy]\ndefault = drop\n"
				   "rule = accept proto tcp dport 22\n");

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s --check -c %s", nfqd_bin(), f), 0);
	assert_non_null(strstr(out, "configuration ok: queues 0-3, 1 rule, default drop"));
	unlink(f);
}

static void test_check_of_a_bad_config_exits_1_with_file_line_and_word(void **state)
{
	char out[4096], want[256];
	const char *f = write_conf("[queue]\nqueues = 0\n[policy]\nrule = dorp src 192.0.2.1\n");

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s --check -c %s", nfqd_bin(), f), 1);
	snprintf(want, sizeof(want),
		 "nfqd: error: %s:4: rule 'dorp src 192.0.2.1': unknown verdict 'dorp'\n", f);
	assert_string_equal(out, want);
	unlink(f);
}

static void test_nfqd_refuses_to_start_on_a_bad_config(void **state)
{
	char out[4096];
	const char *f = write_conf("[queue]\ncopy-range = 10\n");

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s -c %s", nfqd_bin(), f), 1);
	assert_non_null(strstr(out, ":2: copy-range: '10' is out of range (64..65531)"));
	unlink(f);
}

static void test_missing_config_file_is_named(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s --check -c /nonexistent.conf", nfqd_bin()), 1);
	assert_string_equal(
		out, "nfqd: error: /nonexistent.conf: cannot open: No such file or directory\n");
}

static void test_bad_command_lines_are_refused_with_a_reason(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s --bogus", nfqd_bin()), 1);
	assert_non_null(strstr(out, "nfqd: error: unknown option '--bogus'"));
	assert_int_equal(run(out, sizeof(out), "%s -c", nfqd_bin()), 1);
	assert_non_null(strstr(out, "nfqd: error: option '-c' needs an argument"));
	assert_int_equal(run(out, sizeof(out), "%s extra", nfqd_bin()), 1);
	assert_non_null(strstr(out, "nfqd: error: unexpected argument 'extra'"));
}

static void test_help_and_version(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s --help", nfqd_bin()), 0);
	assert_non_null(strstr(out, "--check"));
	assert_int_equal(run(out, sizeof(out), "%s --version", nfqd_bin()), 0);
	assert_true(strncmp(out, "nfqd ", 5) == 0);
	assert_int_equal(run(out, sizeof(out), "%s --help", nfqctl_bin()), 0);
	assert_non_null(strstr(out, "stats"));
}

static void test_shipped_config_passes_check(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s --check -c " NFQD_SOURCE_DIR "/conf/nfqd.conf",
			     nfqd_bin()),
			 0);
}

static void test_nfqctl_usage_errors(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s", nfqctl_bin()), 2);
	assert_non_null(strstr(out, "nfqctl: missing command"));
	assert_int_equal(run(out, sizeof(out), "%s frobnicate", nfqctl_bin()), 2);
	assert_non_null(strstr(out, "nfqctl: unknown command 'frobnicate' (commands: stats)"));
	assert_int_equal(run(out, sizeof(out), "%s stats stats", nfqctl_bin()), 2);
	assert_non_null(strstr(out, "one command at a time"));
}

static void test_nfqctl_without_a_daemon_says_so(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(run(out, sizeof(out), "%s -s /tmp/nfqd-no-such.sock stats", nfqctl_bin()),
			 1);
	assert_string_equal(out, "nfqctl: cannot connect to /tmp/nfqd-no-such.sock: No such file "
				 "or directory (is nfqd running?)\n");
}

static void test_config_errors_carry_the_error_priority_in_the_journal(void **state)
{
	char conf[64], log[64], out[4096], want[256];
	struct stat st;
	char *text;

	(void)state;
	snprintf(conf, sizeof(conf), "%s",
		 write_conf("[policy]\nrule = accept\nrule = dorp src 192.0.2.1\n"));
	snprintf(log, sizeof(log), "%s", write_conf(""));
	assert_int_equal(stat(log, &st), 0);
	/*
	 * systemd names the stream it gives as stderr by device and inode in JOURNAL_STREAM. The
	 * subshell keeps nfqd's stderr in the log file whatever run() does with its own.
	 */
	assert_int_equal(run(out, sizeof(out), "(JOURNAL_STREAM=%llu:%llu %s -c %s 2>>%s)",
			     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			     nfqd_bin(), conf, log),
			 1);
	text = read_text(log);
	snprintf(want, sizeof(want), "<3>%s:3: rule 'dorp src 192.0.2.1': unknown verdict 'dorp'\n",
		 conf);
	assert_string_equal(text, want);
	free(text);

	/* the same for a command line error of a hand-run nfqd whose stderr is the journal */
	assert_int_equal(truncate(log, 0), 0);
	assert_int_equal(run(out, sizeof(out), "(JOURNAL_STREAM=%llu:%llu %s --bogus 2>>%s)",
			     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			     nfqd_bin(), log),
			 1);
	text = read_text(log);
	assert_string_equal(text, "<3>unknown option '--bogus' (try 'nfqd --help')\n");
	free(text);
	unlink(conf);
	unlink(log);
}

static void test_check_refuses_a_directory_and_a_nul_byte(void **state)
{
	static const char nul[] = "[policy]\nrule = accept src 10.0.0.0/8\0 proto tcp dport 22\n";
	char dir[] = "/tmp/nfqd-cli-XXXXXX", out[4096], want[256];
	const char *f;

	(void)state;
	/* a directory read as an empty file: no rules, default accept, "configuration ok" */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(run(out, sizeof(out), "%s --check -c %s", nfqd_bin(), dir), 1);
	snprintf(want, sizeof(want), "nfqd: error: %s: is a directory, not a configuration file\n",
		 dir);
	assert_string_equal(out, want);
	assert_int_equal(run(out, sizeof(out), "%s -c %s", nfqd_bin(), dir), 1);
	assert_string_equal(out, want);
	rmdir(dir);

	f = write_conf_len(nul, sizeof(nul) - 1);
	assert_int_equal(run(out, sizeof(out), "%s --check -c %s", nfqd_bin(), f), 1);
	snprintf(want, sizeof(want),
		 "nfqd: error: %s:2: NUL byte in the line (at column 29): the file is not text\n",
		 f);
	assert_string_equal(out, want);
	unlink(f);
}

static void test_check_warns_about_dead_rules_at_their_line(void **state)
{
	char out[4096], want[1024];
	const char *f = write_conf("[policy]\n"
				   "rule = drop src 10.0.0.0/8\n"
				   "rule = accept src 10.1.0.0/16 \\\n"
				   "       proto tcp\n"
				   "rule = drop proto tcp dport 5 dport 6\n"
				   "rule = accept proto udp\n");

	(void)state;
	/* warnings only: the file is valid */
	assert_int_equal(run(out, sizeof(out), "(%s --check -c %s >/dev/null)", nfqd_bin(), f), 0);
	snprintf(want, sizeof(want),
		 "nfqd: warning: %s:3: rule 'accept src 10.1.0.0/16 proto tcp' is never reached: "
		 "rule 'drop src 10.0.0.0/8' on line 2 before it matches every packet it matches\n"
		 "nfqd: warning: %s:5: rule 'drop proto tcp dport 5 dport 6' can never match: no "
		 "packet matches both 'dport 5' and 'dport 6'\n",
		 f, f);
	assert_string_equal(out, want);
	unlink(f);
}

/* A namespace of the test's own for its sets, removed whatever the outcome. */
static int topo_setup(void **state)
{
	struct topo *t = calloc(1, sizeof(*t));

	if (!t || topo_create(t, "check") < 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int topo_teardown(void **state)
{
	topo_destroy(*state);
	free(*state);
	return 0;
}

/*
 * Run `nfqd --check -c conf` in namespace ns (through prefix, a command that runs the rest);
 * expect the exit status and the output, a format whose %s are all the config's path.
 */
static void check_in(const char *ns, const char *prefix, const char *conf, int status,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void check_in(const char *ns, const char *prefix, const char *conf, int status,
		     const char *fmt, ...)
{
	char out[4096], want[1024];
	va_list ap;

	assert_int_equal(run(out, sizeof(out), "ip netns exec %s %s%s --check -c %s", ns, prefix,
			     nfqd_bin(), conf),
			 status);
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_string_equal(out, want);
}

static void test_check_looks_up_the_sets_in_the_kernel(void **state)
{
	struct topo t = *(struct topo *)*state;
	char conf[64];

	snprintf(conf, sizeof(conf), "%s",
		 write_conf("[policy]\nrule = accept proto tcp\nrule = drop src @blk\n"
			    "rule = drop set @svc dst\n"));

	/* no such set */
	assert_int_equal(ns_sh(t.fw, "ipset create svc hash:ip"), 0);
	check_in(t.fw, "", conf, 1,
		 "nfqd: error: %s:3: rule 'drop src @blk': set 'blk' does not exist (create it "
		 "first, e.g. ipset create blk hash:ip)\n",
		 conf);

	/* both sets there, of types that fit */
	assert_int_equal(ns_sh(t.fw, "ipset create blk hash:net"), 0);
	check_in(t.fw, "", conf, 0,
		 "%s: configuration ok: queues 0, 3 rules, default accept; 2 set lookups checked "
		 "in the kernel\n",
		 conf);

	/* a type whose elements cannot be built from a packet */
	assert_int_equal(ns_sh(t.fw, "ipset destroy blk && ipset create blk hash:net,iface"), 0);
	check_in(t.fw, "", conf, 1,
		 "nfqd: error: %s:3: rule 'drop src @blk': set 'blk' is of type hash:net,iface, "
		 "whose elements cannot be built from a packet\n",
		 conf);

	/* more dimensions than the rule gives sides */
	assert_int_equal(ns_sh(t.fw, "ipset destroy blk && ipset create blk hash:ip && "
				     "ipset destroy svc && ipset create svc hash:ip,port"),
			 0);
	check_in(t.fw, "", conf, 1,
		 "nfqd: error: %s:4: rule 'drop set @svc dst': set 'svc' (hash:ip,port) has 2 "
		 "dimensions but the rule gives 1 sides\n",
		 conf);

	/* without CAP_NET_ADMIN the kernel does not answer: one line says so, the file is ok */
	check_in(t.fw, "setpriv --bounding-set -net_admin ", conf, 0,
		 "nfqd: cannot reach the kernel's ipset (Operation not permitted): the sets the "
		 "rules name were not checked, only the file\n"
		 "%s: configuration ok: queues 0, 3 rules, default accept; sets not checked\n",
		 conf);
	unlink(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_of_a_valid_config_exits_0_and_summarises_it),
		cmocka_unit_test(test_check_of_a_bad_config_exits_1_with_file_line_and_word),
		cmocka_unit_test(test_nfqd_refuses_to_start_on_a_bad_config),
		cmocka_unit_test(test_missing_config_file_is_named),
		cmocka_unit_test(test_bad_command_lines_are_refused_with_a_reason),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_shipped_config_passes_check),
		cmocka_unit_test(test_nfqctl_usage_errors),
		cmocka_unit_test(test_nfqctl_without_a_daemon_says_so),
		cmocka_unit_test(test_config_errors_carry_the_error_priority_in_the_journal),
		cmocka_unit_test(test_check_refuses_a_directory_and_a_nul_byte),
		cmocka_unit_test(test_check_warns_about_dead_rules_at_their_line),
		cmocka_unit_test_setup_teardown(test_check_looks_up_the_sets_in_the_kernel,
						topo_setup, topo_teardown),
	};

	return cmocka_run_group_tests_name("command lines", tests, NULL, NULL);
}
