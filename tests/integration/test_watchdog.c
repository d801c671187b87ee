/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The systemd watchdog of the real nfqd, with its system call filter on: given WATCHDOG_USEC as
 * systemd passes it, nfqd sends WATCHDOG=1 to the notify socket while its workers serve; when
 * one worker thread is stopped (ptrace, the rest of the process runs on), the pings stop and
 * the log names the queue; once the thread runs again, the pings resume.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sys/ptrace.h>
#include <sys/socket.h>

#include "itest.h"

/* WatchdogSec=400ms: a check every 200 ms. */
#define WATCHDOG_USEC "400000"

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* WATCHDOG=1 messages arriving within ms (all that are pending when ms is 0). */
static unsigned int pings_within(struct nfqd_proc *p, int ms)
{
	long long end = mono_ms() + ms;
	unsigned int n = 0;
	char buf[4096];

	do {
		struct pollfd pfd = { .fd = p->notify_fd, .events = POLLIN };
		ssize_t len;

		while ((len = recv(p->notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
			buf[len] = '\0';
			if (strstr(buf, "WATCHDOG=1"))
				n++;
		}
		poll(&pfd, 1, 20);
	} while (mono_ms() < end);
	return n;
}

/* Wait until want pings arrived; returns the count (short of want only at the deadline). */
static unsigned int wait_pings(struct nfqd_proc *p, unsigned int want)
{
	long long end = mono_ms() + ITEST_DEADLINE_MS;
	unsigned int n = 0;

	while (n < want && mono_ms() < end)
		n += pings_within(p, 100);
	return n;
}

/* Wait until nfqd's log holds text. */
static bool wait_log(struct nfqd_proc *p, const char *text)
{
	long long end = mono_ms() + ITEST_DEADLINE_MS;

	while (mono_ms() < end) {
		char *log = nfqd_log(p);
		bool found = log && strstr(log, text);

		free(log);
		if (found)
			return true;
		usleep(20000);
	}
	return false;
}

/* The one thread of pid that is not its main thread: the worker of a one-queue nfqd. */
static pid_t worker_tid(pid_t pid)
{
	char path[64];
	struct dirent *e;
	pid_t tid = -1;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		pid_t t = (pid_t)atoi(e->d_name);

		if (t > 0 && t != pid) {
			tid = t;
			n++;
		}
	}
	closedir(d);
	return n == 1 ? tid : -1;
}

static int setup(void **state)
{
	/* As systemd passes them; no WATCHDOG_PID, which would name this process. */
	setenv("WATCHDOG_USEC", WATCHDOG_USEC, 1);
	unsetenv("WATCHDOG_PID");
	return itest_setup(state, "wd");
}

static int teardown(void **state)
{
	unsetenv("WATCHDOG_USEC");
	return itest_teardown(state);
}

static void test_pings_while_every_worker_serves(void **state)
{
	struct itest *it = *state;
	unsigned int n;

	itest_nfqd(it, "[queue]\nqueues = 0-1\n");
	n = wait_pings(&it->d, 10);
	if (n < 10) {
		itest_print_log(it);
		fail_msg("%u WATCHDOG=1 within %d ms, expected 10", n, ITEST_DEADLINE_MS);
	}
	free(itest_stop(it, 5000, NULL));
}

static void test_a_stopped_worker_stops_the_pings(void **state)
{
	struct itest *it = *state;
	unsigned int n;
	pid_t tid;
	int st;

	itest_nfqd(it, "[queue]\nqueues = 3\n");
	assert_true(wait_pings(&it->d, 2) >= 2);
	tid = worker_tid(it->d.pid);
	assert_true(tid > 0);
	/* Stop the worker thread alone: the main thread, which pings, runs on. */
	assert_int_equal(ptrace(PTRACE_SEIZE, tid, NULL, NULL), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, tid, NULL, NULL), 0);
	assert_int_equal(waitpid(tid, &st, __WALL), tid);
	assert_true(WIFSTOPPED(st));

	if (!wait_log(&it->d, "error: queue 3: its worker has made no progress for at least")) {
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		itest_print_log(it);
		fail_msg("no error naming queue 3 within %d ms of its worker stopping",
			 ITEST_DEADLINE_MS);
	}
	/* Whatever was sent before the decision; from now on, none while the worker stands. */
	pings_within(&it->d, 0);
	n = pings_within(&it->d, 2000);
	ptrace(PTRACE_DETACH, tid, NULL, NULL);
	if (n) {
		itest_print_log(it);
		fail_msg("%u WATCHDOG=1 in 2 s (10 checks) while the worker of queue 3 was stopped",
			 n);
	}

	if (!wait_log(&it->d, "queue 3: its worker moves again; watchdog pings resume")) {
		itest_print_log(it);
		fail_msg("no notice of the worker moving again");
	}
	n = wait_pings(&it->d, 3);
	if (n < 3) {
		itest_print_log(it);
		fail_msg("%u WATCHDOG=1 after the worker moved again, expected 3", n);
	}
	free(itest_stop(it, 5000, NULL));
}

static void test_no_pings_without_watchdog_usec(void **state)
{
	struct itest *it = *state;
	unsigned int n;

	unsetenv("WATCHDOG_USEC");
	itest_nfqd(it, "[queue]\nqueues = 0\n");
	/* Ten checks' worth of time at the interval the other cases use. */
	n = pings_within(&it->d, 2000);
	free(itest_stop(it, 5000, NULL));
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pings_while_every_worker_serves, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_stopped_worker_stops_the_pings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_pings_without_watchdog_usec, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
