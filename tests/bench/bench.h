/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the benchmarks. */
#ifndef NFQD_BENCH_H
#define NFQD_BENCH_H

#include <stdlib.h>
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

#endif /* NFQD_BENCH_H */
