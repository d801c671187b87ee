/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fanout = cpu on the real kernel: the generated rule (--queue-cpu-fanout) queues what arrives
 * on CPU N on queue N, and the worker of queue N runs on CPU N.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>

#include "bgproc.h"
#include "itest.h"

#define N	6000
#define CONFIG	"[queue]\nqueues = 0-1\nfanout = cpu\n"
#define MAX_TID 64

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "fan") < 0)
		return -1;
	it = *state;
	if (nfqd_rules_load(it->t.fw, CONFIG, false) != 0 ||
	    ns_sh(it->t.fw, "iptables -A INPUT -p udp --dport 5000 -j NFQD") != 0)
		return -1;
	return 0;
}

/* Pin the calling thread to cpu alone; 0 or -1. */
static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Field 39 of /proc/PID/task/TID/stat: the CPU the thread last ran on, or -1. */
static int last_cpu(pid_t pid, pid_t tid)
{
	char path[64], cpu[16];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return proc_stat_field(path, 39, cpu, sizeof(cpu)) == 0 ? atoi(cpu) : -1;
}

/*
 * The threads of nfqd pinned to one CPU alone: for each CPU c, pinned[c] counts them, and
 * ran_elsewhere those whose last run was on another CPU than their pin.
 */
static void pinned_threads(pid_t pid, unsigned int pinned[2], unsigned int *ran_elsewhere)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	pinned[0] = pinned[1] = 0;
	*ran_elsewhere = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
		cpu_set_t set;

		if (tid <= 0 || sched_getaffinity(tid, sizeof(set), &set) == -1 ||
		    CPU_COUNT(&set) != 1)
			continue;
		for (int c = 0; c < 2; c++)
			if (CPU_ISSET(c, &set)) {
				pinned[c]++;
				if (last_cpu(pid, tid) != c)
					(*ran_elsewhere)++;
			}
	}
	closedir(d);
}

/* Skip unless this process may run on CPUs 0 and 1: the test pins a sender to each. */
static bool two_cpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_ISSET(0, &set) &&
	       CPU_ISSET(1, &set);
}

/*
 * With nfqd serving queues 0-1 under fanout = cpu, none of which took a packet yet: what a
 * sender pinned to CPU c sends is queued on queue c, and the worker of queue c runs on CPU c.
 */
static void check_cpu_n_on_queue_n(struct itest *it)
{
	unsigned int queued[2], last_id[2], pinned[2], elsewhere;
	cpu_set_t saved;
	uint64_t got, cpu0, cpu1;
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);

	assert_true(sink >= 0);
	assert_int_equal(sched_getaffinity(0, sizeof(saved), &saved), 0);
	/*
	 * veth hands a sent packet to the receive backlog of the sending CPU, and the netfilter
	 * hooks of the peer run in that CPU's softirq: a sender pinned to CPU c queues on queue c.
	 */
	for (int c = 0; c < 2; c++) {
		assert_int_equal(pin(c), 0);
		got = (uint64_t)udp_send(it->t.cli, NULL, it->t.fw4, 5000, N, 64, 8, 32, 200);
		assert_int_equal(sched_setaffinity(0, sizeof(saved), &saved), 0);
		assert_int_equal(got, N);
		got = udp_sink_wait(sink, N, ITEST_DEADLINE_MS);
		assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued[0], &last_id[0]), 0);
		assert_int_equal(kernel_queue_line(it->t.fw, 1, &queued[1], &last_id[1]), 0);
		fprintf(stderr,
			"sent %d from cpu %d: sink %llu, queue 0 took %u, queue 1 took %u (kernel "
			"last ids)\n",
			N, c, (unsigned long long)got, last_id[0], last_id[1]);
		assert_int_equal(got, N);
		assert_int_equal(last_id[0], N);
		assert_int_equal(last_id[1], c == 0 ? 0 : N);
	}
	close(sink);
	assert_int_equal(itest_wait_stat(it, 0, "received", N), N);
	assert_int_equal(itest_wait_stat(it, 1, "received", N), N);

	/* nfqd says queue N's worker is on CPU N, and the kernel agrees: one thread is pinned to
	 * each CPU alone, and ran there */
	cpu0 = itest_stat(it, 0, "cpu");
	cpu1 = itest_stat(it, 1, "cpu");
	pinned_threads(it->d.pid, pinned, &elsewhere);
	fprintf(stderr,
		"queue 0 on cpu %llu, queue 1 on cpu %llu; threads pinned to cpu 0: %u, to cpu 1: "
		"%u, last run elsewhere: %u\n",
		(unsigned long long)cpu0, (unsigned long long)cpu1, pinned[0], pinned[1],
		elsewhere);
	assert_int_equal(cpu0, 0);
	assert_int_equal(cpu1, 1);
	assert_int_equal(pinned[0], 1);
	assert_int_equal(pinned[1], 1);
	assert_int_equal(elsewhere, 0);
}

static void test_packets_of_cpu_n_reach_queue_n_served_on_cpu_n(void **state)
{
	struct itest *it = *state;

	if (!two_cpus())
		skip();
	itest_nfqd(it, CONFIG);
	check_cpu_n_on_queue_n(it);
	free(itest_stop(it, 2000, NULL));
}

/*
 * A reload that moves the range moves the workers it keeps: queue 1, first of 1-2 on CPU 0,
 * takes CPU 1's packets once the range is 0-1, and its worker goes there.
 */
static void test_a_reload_of_the_range_moves_the_kept_workers(void **state)
{
	struct itest *it = *state;
	char *log;

	if (!two_cpus())
		skip();
	itest_nfqd(it, "[queue]\nqueues = 1-2\nfanout = cpu\n");
	assert_int_equal(itest_stat(it, 1, "cpu"), 0);
	itest_reload_ok(it, CONFIG, 2);
	check_cpu_n_on_queue_n(it);
	log = itest_stop(it, 2000, NULL);
	if (!strstr(log, "queue 1: worker moved from cpu 0 to cpu 1"))
		fail_msg("no log of the move:\n%s", log);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_packets_of_cpu_n_reach_queue_n_served_on_cpu_n,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_a_reload_of_the_range_moves_the_kept_workers,
						setup, itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: fanout = cpu", tests, NULL, NULL);
}
