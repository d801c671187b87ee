/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The logger under systemd: with stderr the journal stream, every line carries its priority as
 * "<N>", also when the first lines are logged by several threads at once (the moment the
 * logger decides whether stderr is the journal). The build with ThreadSanitizer (unit.log_tsan)
 * runs the same test and fails on any data race in that decision.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
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

#include "log.h"

#define THREADS 8
#define LINES	200

static pthread_barrier_t start;

static void *logger(void *arg)
{
	int t = (int)(intptr_t)arg;

	/* all threads log their first line together */
	pthread_barrier_wait(&start);
	for (int i = 0; i < LINES; i++) {
		if (i % 2)
			log_warning("thread %d line %d", t, i);
		else
			log_error("thread %d line %d", t, i);
	}
	return NULL;
}

static void test_first_lines_of_many_threads_all_carry_journal_priorities(void **state)
{
	char path[] = "/tmp/nfqd-log-XXXXXX", env[64], line[256];
	int counts[THREADS][2] = { { 0 } };
	pthread_t th[THREADS];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), n = 0, bad = 0;
	struct stat st;
	FILE *f;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_int_equal(setenv("JOURNAL_STREAM", env, 1), 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);

	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, logger, (void *)(intptr_t)t), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	dup2(saved, STDERR_FILENO);
	close(saved);

	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		int prio, t, i;

		n++;
		if (sscanf(line, "<%d>thread %d line %d\n", &prio, &t, &i) != 3 || t < 0 ||
		    t >= THREADS || prio != (i % 2 ? 4 : 3)) {
			if (bad++ < 5)
				print_message("unexpected line: %s", line);
			continue;
		}
		counts[t][i % 2]++;
	}
	fclose(f);
	unlink(path);
	assert_int_equal(bad, 0);
	assert_int_equal(n, THREADS * LINES);
	for (int t = 0; t < THREADS; t++) {
		assert_int_equal(counts[t][0], LINES / 2);
		assert_int_equal(counts[t][1], LINES / 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_lines_of_many_threads_all_carry_journal_priorities),
	};

	return cmocka_run_group_tests_name("logging", tests, NULL, NULL);
}
