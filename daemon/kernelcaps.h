/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the kernel lacks that nfqd would use, said once per process: kernels of 3.10-4.x lack
 * some socket options nfqd takes on newer ones, and nfqd works on without each.
 */
#ifndef NFQD_DAEMON_KERNELCAPS_H
#define NFQD_DAEMON_KERNELCAPS_H

#include "nfqd/queue.h"

/*
 * Look at a queue just opened or adopted: for each feature its socket lacks (NETLINK_CAP_ACK,
 * SO_MEMINFO, a receive buffer as large as wanted) log one line saying what is missing, since
 * which kernel it exists and what nfqd does instead - the first time only, whichever queue
 * meets it: every queue meets the same kernel. Thread-safe.
 */
void kernelcaps_note_queue(const struct nfqd_queue *q);

#endif /* NFQD_DAEMON_KERNELCAPS_H */
