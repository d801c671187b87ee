/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `nfqctl top` in a real terminal (a detached tmux of 120x40 on a socket of its own) over a
 * live nfqd with traffic at a known pace: the queue's rate and the busy rule's rate appear and
 * are plausible against the pace, a resize is followed, nfqd going away and coming back is
 * said, q quits and restores the terminal. And --once and --json for scripts.
 */
#include <math.h>
#include <signal.h>

#include "itest.h"

#define PORT	  5000
#define BURST	  50
#define PAUSE_US  100000
#define RULE_TEXT "accept proto udp dport 5000"
/* The pace: at most BURST packets every PAUSE_US, so at most this many per second. */
#define MAX_PPS (BURST * 1000000.0 / PAUSE_US)
/*
 * A queue's received count and its rules' counts are committed at different points of a
 * batch: a sample may hold a burst in one and not yet in the other, at each end of an interval
 * of one second: their rates may differ by two bursts a second.
 */
#define RATE_SLACK (2.0 * BURST + 1)

#define CONFIG                                                                                     \
	"[queue]\nqueues = 0\n"                                                                    \
	"[policy]\n"                                                                               \
	"rule = drop proto udp dport 5001\n"                                                       \
	"rule = " RULE_TEXT "\n"

struct top_test {
	struct itest *it;
	pid_t sender;
	char tmux[128]; /* tmux -L NAME */
};

static int setup(void **state)
{
	struct top_test *tt = calloc(1, sizeof(*tt));
	int fd;

	if (!tt || itest_setup((void **)&tt->it, "top") < 0)
		return -1;
	*state = tt;
	snprintf(tt->tmux, sizeof(tt->tmux), "tmux -L nfqd-top-%d -f /dev/null", (int)getpid());
	if (ns_sh(tt->it->t.fw,
		  "iptables -A INPUT -p udp --dport %d:%d -j NFQUEUE "
		  "--queue-num 0",
		  PORT, PORT + 1) != 0)
		return -1;
	itest_nfqd(tt->it, CONFIG);
	fd = udp_flow_open(tt->it->t.cli, tt->it->t.cli4, tt->it->t.fw4, PORT);
	if (fd < 0)
		return -1;
	/* the sender: BURST datagrams, a pause, until killed */
	tt->sender = fork();
	if (tt->sender == 0) {
		uint64_t seq = 0;

		for (;;)
			udp_flow_send(fd, BURST, &seq, BURST, PAUSE_US);
	}
	close(fd);
	return tt->sender > 0 ? 0 : -1;
}

/* Run a tmux command on the test's server; its output in *out (may be NULL). */
static int tmux(struct top_test *tt, char **out, const char *fmt, const char *arg)
{
	char cmd[1024], *o = NULL;
	size_t len;
	int r;

	snprintf(cmd, sizeof(cmd), "%s ", tt->tmux);
	len = strlen(cmd);
	/* a command cut short would run something else: refuse it */
	if ((size_t)snprintf(cmd + len, sizeof(cmd) - len, fmt, arg) >= sizeof(cmd) - len)
		fail_msg("tmux command too long: %s %s", fmt, arg);
	r = ns_sh_out(tt->it->t.fw, &o, "%s", cmd);
	if (out)
		*out = o;
	else
		free(o);
	return r;
}

static int teardown(void **state)
{
	struct top_test *tt = *state;

	if (!tt)
		return 0;
	if (tt->sender > 0) {
		kill(tt->sender, SIGKILL);
		waitpid(tt->sender, NULL, 0);
	}
	if (tmux(tt, NULL, "kill-server%s", "") != 0)
		fprintf(stderr, "no tmux server was left\n");
	itest_teardown((void **)&tt->it);
	free(tt);
	return 0;
}

/* The figures of a frame as the screen shows them: queue 0's rate, the rule's rate. */
struct shown {
	double q_pps, accept_pct, drop_pct, rule_pps;
	unsigned long long batches; /* receive calls of the interval, all sizes */
	unsigned int lines;
};

static bool parse_frame(const char *screen, struct shown *s)
{
	const char *q = strstr(screen, "\n     0 "), *r = strstr(screen, RULE_TEXT), *b;
	const char *h = strstr(screen, "\nQUEUE      1");
	unsigned long long n;

	memset(s, 0, sizeof(*s));
	for (const char *p = screen; *p; p++)
		s->lines += *p == '\n';
	if (!q || !r || !h)
		return false;
	if (sscanf(q, " %*u %lf %lf %lf", &s->q_pps, &s->accept_pct, &s->drop_pct) != 3)
		return false;
	/* the rule's line: "   2 (line    5)      500.0        12345  accept ..." */
	while (r > screen && r[-1] != '\n')
		r--;
	if (sscanf(r, " %*u (line %*u) %lf", &s->rule_pps) != 1)
		return false;
	b = strstr(h + 1, "\n    0");
	if (!b)
		return false;
	b += 6;
	for (int k = 0; k < 10; k++) {
		int used;

		if (sscanf(b, " %llu%n", &n, &used) != 1)
			return false;
		s->batches += n;
		b += used;
	}
	return true;
}

/* Wait until the pane shows what want() accepts; returns the screen (malloc'd). */
static char *wait_screen(struct top_test *tt, const char *what, bool (*want)(const char *))
{
	long waited = 0;
	char *screen = NULL;

	for (; waited < ITEST_DEADLINE_MS; waited += 200) {
		free(screen);
		screen = NULL;
		if (tmux(tt, &screen, "capture-pane -p -t %s", "top") == 0 && screen &&
		    want(screen))
			return screen;
		usleep(200 * 1000);
	}
	fprintf(stderr, "screen after %ld ms:\n%s\n", waited, screen ? screen : "(none)");
	free(screen);
	fail_msg("the pane never showed %s", what);
	return NULL;
}

static bool busy(const char *screen)
{
	struct shown s;

	return parse_frame(screen, &s) && s.q_pps > 0 && s.rule_pps > 0;
}

static bool busiest_only(const char *screen)
{
	return busy(screen) && !strstr(screen, "dport 5001") && strstr(screen, "\n   default ");
}

static bool gone(const char *screen)
{
	return strstr(screen, "nfqd is not answering: cannot connect to") != NULL;
}

static bool back(const char *screen)
{
	return strstr(screen, "nfqd is back") != NULL || busy(screen);
}

/* A pane's format, e.g. "#{pane_dead}". */
static char *pane_var(struct top_test *tt, const char *var)
{
	char *out = NULL;

	assert_int_equal(tmux(tt, &out, "display-message -p -t top '%s'", var), 0);
	return out;
}

/* The plausibility of one frame against the pace, with the numbers when it fails. */
static void check_frame(const char *screen)
{
	struct shown s;

	assert_true(parse_frame(screen, &s));
	fprintf(stderr,
		"shown: queue 0 %.1f packets/s (%.1f%% accepted, %.1f%% dropped), rule "
		"'%s' %.1f packets/s, %llu receive calls; pace at most %.0f/s; %u lines\n",
		s.q_pps, s.accept_pct, s.drop_pct, RULE_TEXT, s.rule_pps, s.batches, MAX_PPS,
		s.lines);
	/* every packet goes to the accept rule; a backlog drained late may pass the pace, but
	 * not three times over */
	if (s.q_pps <= 0 || s.q_pps > 3 * MAX_PPS || s.accept_pct != 100.0 || s.drop_pct != 0 ||
	    s.rule_pps <= 0 || fabs(s.rule_pps - s.q_pps) > RATE_SLACK || s.batches == 0)
		fail_msg("implausible frame:\n%s", screen);
}

static void test_top_in_a_terminal_shows_rates_follows_nfqd_and_quits_clean(void **state)
{
	struct top_test *tt = *state;
	char cmd[512], status[128], *screen, *v, *st = NULL;

	/* the exit status through a file: tmux does not always learn it of a pane that ends */
	snprintf(status, sizeof(status), "%s/top.status", tt->it->d.dir);
	snprintf(cmd, sizeof(cmd), "%s -s %s top; echo $? > %s", nfqctl_bin(), tt->it->d.control,
		 status);
	/* a shell first, so that remain-on-exit holds before top runs: its exit status stays */
	assert_int_equal(tmux(tt, NULL, "new-session -d -x 120 -y 40 -s top %s", "sh"), 0);
	assert_int_equal(tmux(tt, NULL, "set-option -t top remain-on-exit %s", "on"), 0);
	assert_int_equal(tmux(tt, NULL, "respawn-pane -k -t top '%s'", cmd), 0);

	screen = wait_screen(tt, "a rate for queue 0 and the rule", busy);
	fprintf(stderr, "%s", screen);
	check_frame(screen);
	assert_non_null(strstr(screen, "nfqctl top - nfqd "));
	assert_non_null(strstr(screen, "BATCH SIZES"));
	free(screen);

	/* a smaller terminal: the frame is drawn again in its bounds, with the busiest rule only */
	assert_int_equal(tmux(tt, NULL, "resize-window -t top -x 80 -y %s", "12"), 0);
	screen = wait_screen(tt, "a frame in 80x12", busiest_only);
	check_frame(screen);
	free(screen);

	/* nfqd stops: said; it starts again: rates again */
	free(itest_stop(tt->it, 0, NULL));
	screen = wait_screen(tt, "that nfqd is not answering", gone);
	free(screen);
	assert_int_equal(nfqd_respawn(&tt->it->d, tt->it->t.fw, ITEST_DEADLINE_MS, NULL), 0);
	screen = wait_screen(tt, "that nfqd is back", back);
	free(screen);
	screen = wait_screen(tt, "rates after nfqd came back", busy);
	check_frame(screen);
	free(screen);

	/* q: top exits 0, the shell's screen and cursor come back */
	assert_int_equal(tmux(tt, NULL, "send-keys -t top %s", "q"), 0);
	/* it exits 0 and the pane ends */
	for (long waited = 0;; waited += 200) {
		v = pane_var(tt, "#{pane_dead}");
		free(st);
		st = NULL;
		if (v[0] == '1' && ns_sh_out(tt->it->t.fw, &st, "cat %s", status) == 0 && st[0])
			break;
		if (waited > ITEST_DEADLINE_MS) {
			assert_int_equal(tmux(tt, &screen, "capture-pane -p -t %s", "top"), 0);
			fail_msg(
				"top did not exit within %ld ms of q: pane dead %.1s, status '%s'; "
				"screen:\n%s",
				waited, v, st ? st : "", screen);
		}
		free(v);
		usleep(200 * 1000);
	}
	free(v);
	assert_string_equal(st, "0\n");
	free(st);
	v = pane_var(tt, "#{alternate_on}");
	assert_string_equal(v, "0\n");
	free(v);
	assert_int_equal(tmux(tt, &screen, "capture-pane -p -t %s", "top"), 0);
	assert_null(strstr(screen, "BUSIEST RULES"));
	free(screen);
}

/* --once: one plain frame; --json --once: one object with the same figures. */
static void test_top_once_and_json_for_scripts(void **state)
{
	struct top_test *tt = *state;
	char *out = NULL;
	double pps = 0, rule = 0;

	assert_int_equal(ns_sh_out(tt->it->t.fw, &out, "%s -s %s top --once -d 1", nfqctl_bin(),
				   tt->it->d.control),
			 0);
	fprintf(stderr, "%s", out);
	assert_null(strchr(out, '\033'));
	check_frame(out);
	free(out);

	assert_int_equal(
		ns_sh_out(tt->it->t.fw, &out,
			  "%s -s %s top --json --once -d 1 | jq -r '[.queues[0].packets_per_s, "
			  "(.rules[] | select(.text == \"%s\") | .packets_per_s), "
			  "(.queues[0].batch_sizes | add)] | @tsv'",
			  nfqctl_bin(), tt->it->d.control, RULE_TEXT),
		0);
	fprintf(stderr, "json: %s", out);
	assert_int_equal(sscanf(out, "%lf %lf", &pps, &rule), 2);
	if (pps <= 0 || pps > 3 * MAX_PPS || fabs(rule - pps) > RATE_SLACK)
		fail_msg("implausible: %.1f packets/s, rule %.1f", pps, rule);
	free(out);
	/* one object, one line */
	assert_int_equal(ns_sh_out(tt->it->t.fw, &out, "%s -s %s top --json --once -d 0.5 | wc -l",
				   nfqctl_bin(), tt->it->d.control),
			 0);
	assert_string_equal(out, "1\n");
	free(out);
	assert_int_equal(ns_sh_out(tt->it->t.fw, &out, "%s -s %s top -d 0 2>&1", nfqctl_bin(),
				   tt->it->d.control),
			 2);
	assert_non_null(strstr(out, "nfqctl: top: bad interval '0' after -d"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_once_and_json_for_scripts),
		cmocka_unit_test(test_top_in_a_terminal_shows_rates_follows_nfqd_and_quits_clean),
	};

	return cmocka_run_group_tests_name("top", tests, setup, teardown);
}
