/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>

#include "config.h"
#include "fanout.h"
#include "log.h"

int fanout_cpu_of_queue(const struct config *c, unsigned int queue, const int *cpus, int n)
{
	unsigned int first = c->queues[0], count = c->n_queues;

	if (c->fanout != FANOUT_CPU || queue < first || queue - first >= count)
		return -EINVAL;
	/* xt_NFQUEUE: queue = first + smp_processor_id() % count */
	for (int i = 0; i < n; i++)
		if (cpus[i] >= 0 && (unsigned int)cpus[i] % count == queue - first)
			return cpus[i];
	return -ENOENT;
}

int fanout_worker_cpu(const struct config *c, unsigned int queue, unsigned int slot,
		      const int *cpus, int n)
{
	int cpu;

	if (n <= 0)
		return -1;
	if (c->fanout != FANOUT_CPU)
		return cpus[slot % (unsigned int)n];
	cpu = fanout_cpu_of_queue(c, queue, cpus, n);
	if (cpu >= 0)
		return cpu;
	cpu = cpus[slot % (unsigned int)n];
	log_warning("queue %u: fanout = cpu queues here the packets that arrive on cpu %u + k*%u, "
		    "and nfqd may run on none of those cpus: its worker runs on cpu %d instead, "
		    "away from its packets",
		    queue, queue - c->queues[0], c->n_queues, cpu);
	return cpu;
}
