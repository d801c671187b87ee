/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where a queue's worker runs. Under fanout = cpu the generated rule sends the packets that
 * arrive on CPU N to queue A + (N % count) of the range A..A+count-1 (`--queue-cpu-fanout`), so
 * the worker of queue A+k runs on CPU k (or k + count, ...): a packet is then classified on the
 * CPU where the kernel received and queued it, with no cross-CPU wake-up. Under fanout =
 * balance workers are placed round-robin over the CPUs nfqd may run on.
 */
#ifndef NFQD_DAEMON_FANOUT_H
#define NFQD_DAEMON_FANOUT_H

struct config;

/*
 * The first CPU among cpus[0..n) (the CPUs nfqd may run on, ascending) whose packets the kernel
 * queues on queue under fanout = cpu in configuration c. Returns that CPU, -ENOENT when none
 * of them is allowed, or -EINVAL when c's fanout is not cpu or queue is outside its range.
 */
int fanout_cpu_of_queue(const struct config *c, unsigned int queue, const int *cpus, int n);

/*
 * The CPU to pin the worker of queue, in worker slot slot, to: fanout_cpu_of_queue() under
 * fanout = cpu, else (or when that CPU is not allowed, which is logged, with the CPU wanted)
 * cpus[slot % n]. Returns -1 (not pinned) when n is 0.
 */
int fanout_worker_cpu(const struct config *c, unsigned int queue, unsigned int slot,
		      const int *cpus, int n);

#endif /* NFQD_DAEMON_FANOUT_H */
