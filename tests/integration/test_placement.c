/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where nfqd's workers run (cpu-affinity), read back from the kernel: each worker thread's
 * allowed CPUs, and nfqd's own report of them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>

#include "itest.h"

static cpu_set_t saved;

static int setup(void **state)
{
	struct itest *it;

	if (sched_getaffinity(0, sizeof(saved), &saved) == -1 || itest_setup(state, "pl") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-balance 0:1");
}

/* The test may have narrowed its own CPUs for nfqd to inherit: widen them again. */
static int teardown(void **state)
{
	sched_setaffinity(0, sizeof(saved), &saved);
	return itest_teardown(state);
}

/* The lowest and highest CPU the test may use; skips the test on a machine of one CPU. */
static void two_cpus(int *lo, int *hi)
{
	*lo = -1;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &saved))
			continue;
		if (*lo < 0)
			*lo = c;
		*hi = c;
	}
	if (CPU_COUNT(&saved) < 2)
		skip();
}

/* The allowed CPUs of every thread of pid but the main one, at most max; returns how many. */
static int worker_sets(pid_t pid, cpu_set_t *sets, int max)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)) && n < max) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0 || tid == pid)
			continue;
		if (sched_getaffinity(tid, sizeof(sets[n]), &sets[n]) == 0)
			n++;
	}
	closedir(dir);
	return n;
}

static void test_by_default_workers_are_not_pinned(void **state)
{
	struct itest *it = *state;
	cpu_set_t sets[4];
	int lo, hi, n, unpinned = 0;
	char *json;

	two_cpus(&lo, &hi);
	itest_nfqd(it, "[queue]\nqueues = 0-1\n");
	n = worker_sets(it->d.pid, sets, 4);
	json = itest_stats(it);
	/* a worker the scheduler places is reported as on no CPU of its own */
	for (const char *at = json; (at = strstr(at, "\"cpu\":-1,")); at++)
		unpinned++;
	free(json);
	/* the main thread and nothing else than the two workers: more threads would be missed */
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		if (!CPU_EQUAL(&sets[i], &saved))
			fail_msg("worker %d may run on %d CPUs, nfqd on %d: it was pinned", i,
				 CPU_COUNT(&sets[i]), CPU_COUNT(&saved));
	}
	assert_int_equal(unpinned, 2);
	free(itest_stop(it, 2000, NULL));
}

static void test_a_list_pins_worker_i_on_the_ith_cpu(void **state)
{
	struct itest *it = *state;
	char conf[128];
	cpu_set_t sets[4];
	int lo, hi, n;
	uint64_t cpu0, cpu1;
	char *json;

	two_cpus(&lo, &hi);
	/* backwards, so that a round-robin over the allowed set cannot pass */
	snprintf(conf, sizeof(conf), "[queue]\nqueues = 0-1\ncpu-affinity = %d,%d\n", hi, lo);
	itest_nfqd(it, conf);
	n = worker_sets(it->d.pid, sets, 4);
	json = itest_stats(it);
	cpu0 = stats_get(json, 0, "cpu");
	cpu1 = stats_get(json, 1, "cpu");
	free(json);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		if (CPU_COUNT(&sets[i]) != 1 ||
		    (!CPU_ISSET(lo, &sets[i]) && !CPU_ISSET(hi, &sets[i])))
			fail_msg("worker %d may run on %d CPUs, not on CPU %d or %d alone", i,
				 CPU_COUNT(&sets[i]), lo, hi);
	}
	assert_false(CPU_EQUAL(&sets[0], &sets[1]));
	assert_int_equal(cpu0, hi);
	assert_int_equal(cpu1, lo);
	free(itest_stop(it, 2000, NULL));
}

static void test_none_pins_nothing(void **state)
{
	struct itest *it = *state;
	cpu_set_t sets[2];
	int lo, hi;

	two_cpus(&lo, &hi);
	itest_nfqd(it, "[queue]\ncpu-affinity = none\n");
	assert_int_equal(worker_sets(it->d.pid, sets, 2), 1);
	assert_true(CPU_EQUAL(&sets[0], &saved));
	free(itest_stop(it, 2000, NULL));
}

static void test_a_cpu_nfqd_may_not_use_is_refused_at_its_line(void **state)
{
	struct itest *it = *state;
	char conf[128], want[160];
	cpu_set_t only;
	int lo, hi, st = 0, r;
	char *log;

	two_cpus(&lo, &hi);
	/* nfqd inherits the narrowed set, as from taskset or a unit's CPUAffinity= */
	CPU_ZERO(&only);
	CPU_SET(lo, &only);
	assert_int_equal(sched_setaffinity(0, sizeof(only), &only), 0);
	snprintf(conf, sizeof(conf), "[queue]\n\ncpu-affinity = %d\n", hi);
	r = nfqd_start(&it->d, it->t.fw, conf, ITEST_DEADLINE_MS, &st);
	it->have_d = true;
	sched_setaffinity(0, sizeof(saved), &saved);
	log = nfqd_log(&it->d);
	snprintf(want, sizeof(want),
		 "%s:3: cpu-affinity: '%d' names CPU %d, which nfqd may not run on (allowed: %d)",
		 it->d.conf, hi, hi, lo);
	if (r != 1 || !WIFEXITED(st) || WEXITSTATUS(st) != 1 || !strstr(log, want)) {
		fprintf(stderr, "---- nfqd log ----\n%s------------------\nwanted: %s\n", log,
			want);
		free(log);
		fail_msg("nfqd did not refuse CPU %d (r=%d status=0x%x)", hi, r, st);
	}
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_by_default_workers_are_not_pinned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_list_pins_worker_i_on_the_ith_cpu, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_none_pins_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_cpu_nfqd_may_not_use_is_refused_at_its_line,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("integration: worker placement", tests, NULL, NULL);
}
