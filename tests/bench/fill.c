/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nfqd/queue.h"

#include "bench.h"
#include "bgproc.h"
#include "fill.h"
#include "traffic.h"

long bench_queues_taken(const struct topo *t, unsigned int last[2])
{
	for (unsigned int q = 0; q < 2; q++) {
		unsigned int queued;

		if (kernel_queue_line(t->fw, q, &queued, &last[q]) < 0)
			return -1;
	}
	return (long)last[0] + last[1];
}

int bench_fill_balanced(const struct topo *t, const char *srcs, uint16_t port, unsigned long n)
{
	char list[2][512] = { "", "" }, all[512];
	unsigned int last[2], before[2];
	unsigned long probes[2] = { 0, 0 };
	long sum;

	snprintf(all, sizeof(all), "%s", srcs);
	for (char *save = NULL, *a = strtok_r(all, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		long long t0 = test_now_ms();
		int q;

		if ((sum = bench_queues_taken(t, before)) < 0 ||
		    udp_send(t->cli, a, t->fw4, port, 1, 18, 1, 1, 0) != 1)
			return -1;
		while (bench_queues_taken(t, last) == sum && test_now_ms() - t0 < TEST_DEADLINE_MS)
			usleep(1000);
		if (bench_queues_taken(t, last) != sum + 1)
			return -1;
		q = last[1] != before[1];
		probes[q]++;
		snprintf(list[q] + strlen(list[q]), sizeof(list[q]) - strlen(list[q]), "%s%s",
			 list[q][0] ? "," : "", a);
	}
	for (int q = 0; q < 2; q++)
		if (!list[q][0] ||
		    (n / 2 > probes[q] && udp_send(t->cli, list[q], t->fw4, port + q,
						   n / 2 - probes[q], 18, 16, 32, 0) < 0))
			return -1;
	return 0;
}

int bench_kq_open(const struct topo *t)
{
	int h = ns_enter(t->fw), fd;

	if (h < 0)
		return -1;
	fd = open("/proc/thread-self/net/netfilter/nfnetlink_queue", O_RDONLY | O_CLOEXEC);
	ns_leave(h);
	return fd;
}

long bench_kq_queued(int fd, unsigned int queues)
{
	char buf[8192], *save = NULL;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	unsigned int found = 0;
	long sum = 0;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct nfqd_queue_kstats ks;
		uint32_t num;

		if (nfqd_queue_kstats_parse(l, &num, &ks) == 0 && num < queues) {
			sum += ks.queued;
			found++;
		}
	}
	return found == queues ? sum : -1;
}

double bench_drain_time(int fd, unsigned int queues, pid_t pid)
{
	const struct sched_param param = { .sched_priority = 0 };
	double t0, wall = -1;

	sched_setscheduler(0, SCHED_IDLE, &param);
	t0 = bench_now();
	kill(pid, SIGCONT);
	for (;;) {
		long q = bench_kq_queued(fd, queues);

		if (q < 0 || bench_now() - t0 > 120)
			break;
		if (q == 0) {
			wall = bench_now() - t0;
			break;
		}
		usleep(1000);
	}
	sched_setscheduler(0, SCHED_OTHER, &param);
	return wall;
}

int bench_threads_read(pid_t pid, struct bench_threads *t)
{
	char path[320];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	t->n = 0;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && t->n < BENCH_THREADS_MAX) {
		unsigned long long ns;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue; /* the thread has just ended */
		if (fscanf(f, "%llu", &ns) == 1) {
			t->tid[t->n] = (pid_t)atoi(de->d_name);
			t->ns[t->n++] = ns;
		}
		fclose(f);
	}
	closedir(d);
	return (int)t->n;
}

unsigned int bench_threads_working(const struct bench_threads *before,
				   const struct bench_threads *after, unsigned long long *cpu_ns)
{
	unsigned long long delta[BENCH_THREADS_MAX], busiest = 0;
	unsigned int working = 0;

	*cpu_ns = 0;
	for (unsigned int i = 0; i < after->n; i++) {
		delta[i] = after->ns[i];
		/* a thread born since the first reading ran all its time in between */
		for (unsigned int j = 0; j < before->n; j++)
			if (before->tid[j] == after->tid[i])
				delta[i] -= before->ns[j];
		*cpu_ns += delta[i];
		if (delta[i] > busiest)
			busiest = delta[i];
	}
	for (unsigned int i = 0; i < after->n; i++)
		if (busiest && delta[i] * 10 >= busiest)
			working++;
	return working;
}
