/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the benchmarks. */
#ifndef NFQD_BENCH_H
#define NFQD_BENCH_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"

/* Monotonic seconds. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n values (sorts them). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), bench_cmp_double);
	return v[n / 2];
}

/*
 * Wait until queue 0 of namespace ns holds no more packets than it did a moment ago (packets
 * may still be on their way through a veth); returns its length, 0 when it cannot be read.
 */
static inline unsigned int bench_settle(const char *ns)
{
	unsigned int q = 0, last = 0, prev = ~0u;

	for (int i = 0; i < 500; i++) {
		if (kernel_queue_line(ns, 0, &q, &last) < 0)
			return 0;
		if (q == prev)
			break;
		prev = q;
		usleep(10000);
	}
	return q;
}

/*
 * CPU time the threads of process pid have run, in nanoseconds (the first field of each
 * /proc/PID/task/TID/schedstat). A drain's work, the kernel's included (receive, verdict,
 * re-injection), runs in nfqd's worker thread, so this measures it with the other load of the
 * machine left out, at a resolution far finer than /proc/stat's ticks.
 */
static inline int proc_runtime_ns(pid_t pid, unsigned long long *ns)
{
	char path[64];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	*ns = 0;
	while ((de = readdir(dir))) {
		unsigned long long run = 0;
		char file[300];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(file, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &run) == 1)
			*ns += run;
		fclose(f);
	}
	closedir(dir);
	return 0;
}

#endif /* NFQD_BENCH_H */
