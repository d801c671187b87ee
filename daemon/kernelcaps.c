/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdbool.h>

#include "kernelcaps.h"
#include "log.h"

enum kernelcap {
	KERNELCAP_CAP_ACK,
	KERNELCAP_MEMINFO,
	KERNELCAP_QUEUE_RCVBUF,
	KERNELCAP_MAX,
};

static bool said[KERNELCAP_MAX];

/* Whether this is the first time cap is missing (the caller then says so). */
static bool first_time(enum kernelcap cap)
{
	return !__atomic_exchange_n(&said[cap], true, __ATOMIC_RELAXED);
}

void kernelcaps_note_queue(const struct nfqd_queue *q)
{
	uint64_t want = nfqd_queue_rcvbuf_want(nfqd_queue_config(q));
	uint32_t got = nfqd_queue_rcvbuf(q);

	if (!nfqd_queue_has_cap_ack(q) && first_time(KERNELCAP_CAP_ACK))
		log_notice("kernel: no NETLINK_CAP_ACK (Linux 4.3+): the kernel's error answers "
			   "echo the whole request they refuse; nfqd reads them as they come");
	if (!nfqd_queue_has_meminfo(q) && first_time(KERNELCAP_MEMINFO))
		log_notice("kernel: no SO_MEMINFO (Linux 4.12+): enobufs counts the kernel's "
			   "user_dropped column of /proc/net/netfilter/nfnetlink_queue instead "
			   "(packets dropped with the socket full)");
	/* Only SO_RCVBUFFORCE can go past net.core.rmem_max; the kernel doubles the value. */
	if (got < want && first_time(KERNELCAP_QUEUE_RCVBUF))
		log_warning(
			"queue %u: socket receive buffer %u bytes, not the %llu nfqd wants: "
			"SO_RCVBUFFORCE was refused (it needs CAP_NET_ADMIN in the initial user "
			"namespace) and net.core.rmem_max caps the buffer; a burst beyond it is "
			"not delivered (counted as enobufs): raise net.core.rmem_max to %llu",
			nfqd_queue_num(q), got, (unsigned long long)want,
			(unsigned long long)(want + 1) / 2);
}
