/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rig of "two queues against one", shared by bench_scaling and bench_contenders so that
 * both measure the same thing: an even fill of queues 0 and 1 behind --queue-balance 0:1, and
 * which threads of the reader did the work of a drain.
 */
#ifndef NFQD_BENCH_FILL_H
#define NFQD_BENCH_FILL_H

#include <sys/types.h>

#include "netns.h"

/* The sum of the kernel's last ids of queues 0 and 1 in t->fw (the packets they took, each
 * counted from its bind), with each in last[]; or -1 when one is not listed. */
long bench_queues_taken(const struct topo *t, unsigned int last[2]);

/*
 * Fill queues 0 and 1 of t->fw, behind an NFQUEUE --queue-balance 0:1 rule for UDP to ports
 * port and port + 1, with n/2 packets each, while their reader is bound but paused. The balance
 * hashes the addresses, and the hash of 16 addresses splits a load unevenly (31,216 / 18,784
 * seen): the fuller queue alone then sets the drain's time. So each source address of the
 * comma-separated srcs is first sent one packet to port, to learn its queue, and then queue q's
 * share comes from its addresses to port + q: one receiving socket per queue's share, so that
 * the two queues' reinjections do not contend for one socket's lock. Returns 0, or -1 when a
 * packet could not be sent, a probe did not reach a queue in TEST_DEADLINE_MS, or every
 * address hashed to the same queue.
 */
int bench_fill_balanced(const struct topo *t, const char *srcs, uint16_t port, unsigned long n);

/*
 * The kernel's queue list of namespace t->fw, opened once for bench_drain_time(): read every
 * millisecond, a pread() costs the measured readers less than entering the namespace and
 * opening the file each time. Returns the descriptor or -1.
 */
int bench_kq_open(const struct topo *t);

/* Packets queued now on queues 0..queues-1 from the file bench_kq_open() opened; -1 when one
 * of them is not listed. */
long bench_kq_queued(int fd, unsigned int queues);

/*
 * Continue the stopped reader pid (SIGCONT) and return the seconds until the kernel lists
 * queues 0..queues-1 empty (polling fd of bench_kq_open() every millisecond), or -1 when a
 * queue is not listed or they are not empty within 120 s. The caller polls from SCHED_IDLE
 * meanwhile: a poller of normal priority that wakes every millisecond preempts a reader's
 * thread each time when the readers need every CPU, while an idle-class one runs when a CPU
 * has nothing else to do, which is at once when a thread has emptied its queue.
 */
double bench_drain_time(int fd, unsigned int queues, pid_t pid);

#define BENCH_THREADS_MAX 128

/* The threads of a process and the nanoseconds each has been on a CPU. */
struct bench_threads {
	unsigned int n;
	pid_t tid[BENCH_THREADS_MAX];
	unsigned long long ns[BENCH_THREADS_MAX];
};

/* Read process pid's threads (/proc/PID/task/TID/schedstat). Returns their number or -errno. */
int bench_threads_read(pid_t pid, struct bench_threads *t);

/*
 * Between two readings of one process: the number of threads that ran at least a tenth as long
 * as the busiest one (the threads that did the work), and in *cpu_ns the CPU time of all.
 * A drain served in parallel shows as many working threads as queues, and CPU time above the
 * wall time.
 */
unsigned int bench_threads_working(const struct bench_threads *before,
				   const struct bench_threads *after, unsigned long long *cpu_ns);

#endif /* NFQD_BENCH_FILL_H */
