/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Privileges of a running nfqd, read from the kernel (/proc/PID/status and every
 * /proc/PID/task/TID/status): cap_net_admin alone, no_new_privs, the seccomp filter, in every
 * thread; as root and as a `[daemon] user =`. The filter's deny path is driven through the
 * privilege helper, which installs the same filter through the same function.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

#include "itest.h"

#define CAP_NET_ADMIN_ONLY "0000000000001000"
#define NO_CAPS		   "0000000000000000"
#define N		   500

/* The value of "Key:" in a /proc status file, blanks trimmed; "" when absent. */
static void status_field(const char *path, const char *key, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[512];
	size_t klen = strlen(key);

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = line + klen + 1;
		size_t n;

		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		while (*v == ' ' || *v == '\t')
			v++;
		n = strlen(v);
		while (n && (v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
			v[--n] = '\0';
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}

/* What every status file of pid must say; want_ids is "UID\tUID\tUID\tUID" etc. or NULL. */
struct want {
	const char *uid, *gid, *seccomp;
};

static void check_status(const char *path, const struct want *w)
{
	static const struct {
		const char *key, *value;
	} caps[] = {
		{ "CapInh", NO_CAPS },
		{ "CapPrm", CAP_NET_ADMIN_ONLY },
		{ "CapEff", CAP_NET_ADMIN_ONLY },
		{ "CapBnd", CAP_NET_ADMIN_ONLY },
		{ "CapAmb", NO_CAPS },
		{ "NoNewPrivs", "1" },
	};
	char v[256];

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		status_field(path, caps[i].key, v, sizeof(v));
		if (strcmp(v, caps[i].value) != 0)
			fail_msg("%s: %s is '%s', expected '%s'", path, caps[i].key, v,
				 caps[i].value);
	}
	status_field(path, "Seccomp", v, sizeof(v));
	if (strcmp(v, w->seccomp) != 0)
		fail_msg("%s: Seccomp is '%s', expected '%s'", path, v, w->seccomp);
	if (w->uid) {
		status_field(path, "Uid", v, sizeof(v));
		if (strcmp(v, w->uid) != 0)
			fail_msg("%s: Uid is '%s', expected '%s'", path, v, w->uid);
		status_field(path, "Gid", v, sizeof(v));
		if (strcmp(v, w->gid) != 0)
			fail_msg("%s: Gid is '%s', expected '%s'", path, v, w->gid);
		status_field(path, "Groups", v, sizeof(v));
		if (v[0])
			fail_msg("%s: supplementary groups '%s' were not cleared", path, v);
	}
}

/* Check the process and each of its threads; returns the number of threads. */
static int check_all_threads(pid_t pid, const struct want *w)
{
	char path[400];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	check_status(path, w);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		check_status(path, w);
		n++;
	}
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "priv") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-balance 0:1");
}

/* A system user for the test, removed by its teardown. */
static char test_user[32];

/* Run a command on the host (user database); 0 when it succeeded. */
static int host_sh(const char *fmt, const char *arg)
{
	char cmd[256];
	int st;

	snprintf(cmd, sizeof(cmd), fmt, arg);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "test setup: '%s' failed (status 0x%x)\n", cmd, st);
	return st;
}

static int setup_user(void **state)
{
	snprintf(test_user, sizeof(test_user), "nfqd-t-%d", (int)getpid());
	if (host_sh("useradd --system --no-create-home --shell /usr/sbin/nologin %s", test_user) !=
	    0)
		return -1;
	/* a supplementary group, for the switch to clear */
	if (host_sh("usermod -a -G daemon %s", test_user) != 0) {
		host_sh("userdel %s", test_user);
		return -1;
	}
	if (setup(state) < 0) {
		host_sh("userdel %s", test_user);
		return -1;
	}
	return 0;
}

static int teardown_user(void **state)
{
	itest_teardown(state);
	return host_sh("userdel %s", test_user) == 0 ? 0 : -1;
}

/* Two queues: the main thread and two workers, each checked. */
static void test_every_thread_keeps_only_net_admin(void **state)
{
	struct itest *it = *state;
	struct want w = { .uid = "0\t0\t0\t0", .gid = "0\t0\t0\t0", .seccomp = "2" };
	char *log;
	int threads;

	itest_nfqd(it, "[queue]\nqueues = 0-1\n");
	threads = check_all_threads(it->d.pid, &w);
	if (threads < 3)
		fail_msg("nfqd has %d threads; expected the main thread and 2 workers", threads);
	log = itest_stop(it, 10000, NULL);
	assert_non_null(strstr(log, "privileges: cap_net_admin only, no_new_privs, system call "
				    "filter on"));
	free(log);
}

/* As the user: its ids, no supplementary group, the same caps, and verdicts still sent. */
static void test_user_switch_keeps_net_admin_and_verdicts(void **state)
{
	struct itest *it = *state;
	struct passwd *pw = getpwnam(test_user);
	char uid[64], gid[64], conf[256];
	struct want w = { .uid = uid, .gid = gid, .seccomp = "2" };
	int s5000, s5001, threads;
	char *json, *log;

	assert_non_null(pw);
	snprintf(uid, sizeof(uid), "%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid, pw->pw_uid,
		 pw->pw_uid);
	snprintf(gid, sizeof(gid), "%u\t%u\t%u\t%u", pw->pw_gid, pw->pw_gid, pw->pw_gid,
		 pw->pw_gid);
	snprintf(conf, sizeof(conf),
		 "[queue]\nqueues = 0-1\n[policy]\nrule = drop proto udp dport 5001\n"
		 "[daemon]\nuser = %s\n",
		 test_user);
	itest_nfqd(it, conf);
	threads = check_all_threads(it->d.pid, &w);
	if (threads < 3)
		fail_msg("nfqd has %d threads; expected the main thread and 2 workers", threads);

	s5000 = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	s5001 = udp_sink_open(it->t.fw, "0.0.0.0", 5001);
	assert_true(s5000 >= 0 && s5001 >= 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, N, 64, 4, 32, 200), N);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5001, N, 64, 4, 32, 200), N);
	assert_int_equal(udp_sink_wait(s5000, N, ITEST_DEADLINE_MS), N);
	/* nfqd publishes a batch's counters just after its verdicts */
	itest_wait_total(it, "accepted", N);
	itest_wait_total(it, "dropped", N);
	assert_int_equal(udp_sink_count(s5001, 300, 20000), 0);
	json = itest_stats(it);
	assert_int_equal(stats_get(json, -1, "accepted"), N);
	assert_int_equal(stats_get(json, -1, "dropped"), N);
	assert_int_equal(stats_get(json, -1, "errors"), 0);
	free(json);

	/* the drain (queue freeze, last verdicts) also runs as the user */
	log = itest_stop(it, 10000, NULL);
	assert_int_equal(final_get(log, 0, "kernel_queued"), 0);
	assert_int_equal(final_get(log, 1, "kernel_queued"), 0);
	assert_non_null(strstr(log, "privileges: running as user"));
	free(log);
	close(s5000);
	close(s5001);
}

static void test_unknown_user_is_a_config_error(void **state)
{
	struct itest *it = *state;
	struct nfqd_proc *p = &it->d;
	int st = 0;
	char *log;

	it->have_d = true;
	assert_int_equal(
		nfqd_start(p, it->t.fw, "[daemon]\nuser = nfqd-no-such-user\n", 10000, &st), 1);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	log = nfqd_log(p);
	/* line 2 of the file nfqd_start writes: the config given comes first */
	if (!strstr(log, "nfqd.conf:2: user 'nfqd-no-such-user' does not exist"))
		fail_msg("no FILE:LINE message about the user in:\n%s", log);
	free(log);
}

/* seccomp = no: the documented switch for debugging; everything else stays dropped. */
static void test_seccomp_no_leaves_the_filter_off(void **state)
{
	struct itest *it = *state;
	struct want w = { .seccomp = "0" };

	itest_nfqd(it, "[daemon]\nseccomp = no\n");
	check_all_threads(it->d.pid, &w);
	free(itest_stop(it, 10000, NULL));
}

/*
 * Run the helper with mode; returns its wait status, and its stderr in out. With journal,
 * JOURNAL_STREAM names the stderr file, as systemd does for a unit's stream.
 */
static int run_helper(const char *mode, bool journal, char *out, size_t outlen)
{
	char path[] = "/tmp/nfqd-priv-helper-XXXXXX";
	int fd = mkstemp(path);
	int st = -1;
	pid_t pid;
	struct stat sb;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char js[64];

		dup2(fd, STDERR_FILENO);
		snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)sb.st_dev,
			 (unsigned long long)sb.st_ino);
		if (journal)
			setenv("JOURNAL_STREAM", js, 1);
		else
			unsetenv("JOURNAL_STREAM");
		execl(PRIVILEGE_HELPER, "privilege_helper", mode, (char *)NULL);
		_exit(127);
	}
	/* A filter that kills a sanitizer's helper task leaves the process spinning: bounded. */
	for (int waited = 0; waitpid(pid, &st, WNOHANG) != pid; waited += 10) {
		if (waited > 60000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("%s: the helper did not end within 60 s", mode);
		}
		usleep(10000);
	}
	n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return st;
}

static void expect_killed(const char *mode, bool journal, const char *line)
{
	char err[4096];
	int st = run_helper(mode, journal, err, sizeof(err));

	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s: expected death by SIGSYS, got status 0x%x; stderr:\n%s", mode, st,
			 err);
	if (!strstr(err, line))
		fail_msg("%s: no line '%s' in stderr:\n%s", mode, line, err);
}

/* A call outside the table, and one whose argument the table refuses: a line, then death. */
static void test_denied_call_is_logged_and_fatal(void **state)
{
	(void)state;
	expect_killed("rmdir", false,
		      "nfqd: error: seccomp: system call rmdir (84) is not allowed; exiting\n");
	expect_killed("socket-inet", false,
		      "nfqd: error: seccomp: system call socket (41) is not allowed; exiting\n");
}

/* Under systemd the line carries the journal's err priority, like every log_error line. */
static void test_denied_call_line_has_err_priority_for_the_journal(void **state)
{
	(void)state;
	expect_killed("rmdir", true,
		      "<3>seccomp: system call rmdir (84) is not allowed; exiting\n");
}

/* The filter does not kill what nfqd does: allowed calls, and the exit (with LeakSanitizer's
 * stop-the-world in sanitizer builds) complete. */
static void test_allowed_calls_and_exit_pass_the_filter(void **state)
{
	char err[4096];
	int st = run_helper("allowed", false, err, sizeof(err));

	(void)state;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(err, "still running"))
		fail_msg("allowed: status 0x%x; stderr:\n%s", st, err);
}

/* In sanitizer builds, leak detection at exit still works under the filter. */
static void test_leak_detection_works_under_the_filter(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	char err[4096];
	int st = run_helper("leak", false, err, sizeof(err));

	(void)state;
	if (!strstr(err, "LeakSanitizer: detected memory leaks") || !strstr(err, "4242 byte"))
		fail_msg("leak: no LeakSanitizer report of the 4242-byte block (status 0x%x); "
			 "stderr:\n%s",
			 st, err);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
#else
	(void)state;
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_thread_keeps_only_net_admin, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_user_switch_keeps_net_admin_and_verdicts,
						setup_user, teardown_user),
		cmocka_unit_test_setup_teardown(test_unknown_user_is_a_config_error, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_seccomp_no_leaves_the_filter_off, setup,
						itest_teardown),
		cmocka_unit_test(test_denied_call_is_logged_and_fatal),
		cmocka_unit_test(test_denied_call_line_has_err_priority_for_the_journal),
		cmocka_unit_test(test_allowed_calls_and_exit_pass_the_filter),
		cmocka_unit_test(test_leak_detection_works_under_the_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
