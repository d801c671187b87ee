/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The watchdog: its core decides from heartbeats and times alone whether to ping; the armed
 * watchdog, on a real sd-event loop and a real notify socket of the test, sends WATCHDOG=1 at
 * every check while every worker moves, none while one stands still, and again once it moves.
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
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "watchdog.h"

#define SEC 1000000ull

static void test_first_check_pings(void **state)
{
	struct watchdog_core c;
	unsigned int q[2] = { 0, 1 };
	uint64_t b[2] = { 7, 9 };

	(void)state;
	watchdog_core_init(&c, 5 * SEC);
	/* Nothing is known yet, even long after time zero: every worker counts as just moved. */
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 100 * SEC), 0);
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 104 * SEC), 0);
	watchdog_core_done(&c);
}

static void test_moving_workers_ping_at_every_check(void **state)
{
	struct watchdog_core c;
	unsigned int q[3] = { 0, 1, 2 };
	uint64_t b[3] = { 0, 0, 0 };

	(void)state;
	watchdog_core_init(&c, 5 * SEC);
	for (uint64_t t = 0; t < 100; t++) {
		assert_int_equal(watchdog_core_check(&c, q, b, 3, t * 5 * SEC), 0);
		for (int i = 0; i < 3; i++)
			b[i] += 1 + (uint64_t)i;
	}
	watchdog_core_done(&c);
}

static void test_a_still_worker_stops_the_pings_after_the_limit(void **state)
{
	struct watchdog_core c;
	unsigned int q[2] = { 0, 1 };
	uint64_t b[2] = { 1, 1 };
	uint64_t d = 0;

	(void)state;
	watchdog_core_init(&c, 5 * SEC);
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 10 * SEC), 0);
	/* queue 1 stands still from here; queue 0 keeps moving */
	b[0]++;
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 14 * SEC), 0);
	assert_false(watchdog_core_stalled(&c, 1, 14 * SEC, &d));
	assert_int_equal(d, 4 * SEC);
	b[0]++;
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 15 * SEC), 1);
	assert_true(watchdog_core_stalled(&c, 1, 15 * SEC, &d));
	assert_int_equal(d, 5 * SEC);
	assert_false(watchdog_core_stalled(&c, 0, 15 * SEC, NULL));
	b[0]++;
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 60 * SEC), 1);
	assert_true(watchdog_core_stalled(&c, 1, 60 * SEC, &d));
	assert_int_equal(d, 50 * SEC);
	/* both still */
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 70 * SEC), 2);
	/* queue 1 moves again: only queue 0 is stalled now */
	b[1]++;
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 71 * SEC), 1);
	assert_false(watchdog_core_stalled(&c, 1, 71 * SEC, NULL));
	assert_true(watchdog_core_stalled(&c, 0, 71 * SEC, NULL));
	b[0]++;
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 72 * SEC), 0);
	watchdog_core_done(&c);
}

static void test_a_changed_set_of_queues_starts_afresh(void **state)
{
	struct watchdog_core c;
	unsigned int q[3] = { 0, 1, 2 };
	uint64_t b[3] = { 5, 5, 5 };

	(void)state;
	watchdog_core_init(&c, 5 * SEC);
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 0), 0);
	/* queue 1 replaced by queue 2 (a reload) with an equal beat: not taken as still */
	q[1] = 2;
	b[0]++;
	assert_int_equal(watchdog_core_check(&c, q, b, 2, 6 * SEC), 0);
	/* a third worker added */
	q[2] = 7;
	b[0]++;
	b[1]++;
	assert_int_equal(watchdog_core_check(&c, q, b, 3, 12 * SEC), 0);
	/* fewer workers: the ones left keep their history */
	assert_int_equal(watchdog_core_check(&c, q, b, 1, 17 * SEC), 1);
	watchdog_core_done(&c);
}

/* The armed watchdog on a real event loop. */
struct fake {
	unsigned int ticks;
	int still; /* index of the worker that does not move, -1 for none */
	uint64_t beats[2];
};

/* The workers' turns between two checks: every worker but the still one moves. */
static unsigned int fake_read(void *user, unsigned int *queues, uint64_t *beats, unsigned int max)
{
	struct fake *f = user;

	assert_int_equal(max, 2);
	f->ticks++;
	for (unsigned int i = 0; i < 2; i++) {
		if ((int)i != f->still)
			f->beats[i] += 3;
		queues[i] = 10 + i;
		beats[i] = f->beats[i];
	}
	return 2;
}

/* WATCHDOG=1 datagrams waiting on the notify socket. */
static unsigned int pings(int fd)
{
	char buf[256];
	unsigned int n = 0;
	ssize_t len;

	while ((len = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[len] = '\0';
		assert_string_equal(buf, "WATCHDOG=1");
		n++;
	}
	return n;
}

/* Run the loop until `ticks` more checks happened; returns the pings they sent. */
static unsigned int run_checks(sd_event *ev, struct fake *f, int fd, unsigned int ticks)
{
	unsigned int until = f->ticks + ticks;

	while (f->ticks < until)
		assert_true(sd_event_run(ev, UINT64_MAX) >= 0);
	return pings(fd);
}

static void test_armed_watchdog_pings_only_while_all_move(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fake f = { .still = -1 };
	struct watchdog *wd = NULL;
	sd_event *ev = NULL;
	char pid[32];
	int fd;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/nfqd-test-watchdog-%d", (int)getpid());
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	setenv("WATCHDOG_PID", pid, 1);
	/* 100 ms: a check every 50 ms */
	setenv("WATCHDOG_USEC", "100000", 1);

	assert_int_equal(sd_event_new(&ev), 0);
	assert_int_equal(watchdog_open(&wd, ev, &(struct watchdog_source){ fake_read, &f, 2 }), 0);
	assert_non_null(wd);
	assert_int_equal(watchdog_usec(wd), 100000);

	assert_int_equal(run_checks(ev, &f, fd, 10), 10);
	/* worker 1 stands still: the first check that sees it unmoved withholds the ping */
	f.still = 1;
	assert_int_equal(run_checks(ev, &f, fd, 10), 0);
	f.still = -1;
	assert_int_equal(run_checks(ev, &f, fd, 5), 5);

	watchdog_close(wd);
	sd_event_unref(ev);
	close(fd);
	unlink(sa.sun_path);
	unsetenv("WATCHDOG_USEC");
}

static void test_no_watchdog_asked_for(void **state)
{
	struct fake f = { .still = -1 };
	struct watchdog *wd = (struct watchdog *)&f;
	sd_event *ev = NULL;

	(void)state;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(sd_event_new(&ev), 0);
	assert_int_equal(watchdog_open(&wd, ev, &(struct watchdog_source){ fake_read, &f, 2 }), 0);
	assert_null(wd);
	assert_int_equal(watchdog_usec(wd), 0);
	watchdog_close(wd);
	sd_event_unref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_check_pings),
		cmocka_unit_test(test_moving_workers_ping_at_every_check),
		cmocka_unit_test(test_a_still_worker_stops_the_pings_after_the_limit),
		cmocka_unit_test(test_a_changed_set_of_queues_starts_afresh),
		cmocka_unit_test(test_armed_watchdog_pings_only_while_all_move),
		cmocka_unit_test(test_no_watchdog_asked_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
