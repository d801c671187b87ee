/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The machine's CPU time, for CPU per packet: non-idle time over an interval / packets. */
#ifndef NFQD_BENCH_CPUSTAT_H
#define NFQD_BENCH_CPUSTAT_H

#include <stdio.h>

/* Non-idle CPU time of the whole machine in clock ticks (/proc/stat, first line): user, nice,
 * system, irq, softirq, steal; idle and iowait are not work, guest time is already in user.
 * Returns 0 or -1. */
static inline int bench_machine_busy(unsigned long long *busy)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 5)
		return -1;
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return 0;
}

#endif /* NFQD_BENCH_CPUSTAT_H */
