/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet capture for `nfqctl capture`: the workers' side (a tap on the hot path) and the main
 * thread's (one capture session streaming to its control client).
 *
 * A worker that decided a packet's verdict looks at the tap with one relaxed load; while a
 * capture runs and the packet passes its filter, the worker copies the packet (as far as the
 * copy range brought it, at most the capture's snaplen) with a record header into its slot's
 * single-producer ring. A full ring drops the record and counts it: capturing never blocks a
 * worker. The main thread drains the rings on a short timer into the session's output buffer
 * and writes it to the client as the socket takes it; a client that does not read fills the
 * buffer, then the rings, and records are dropped, counted per session and in the worker's
 * capture_dropped counter.
 *
 * One capture at a time. The stream is a JSON header line, then records (capwire.h) until COUNT
 * packets were sent, the client shuts its side (nfqctl on Ctrl-C) or nfqd stops; each of these
 * ends with an END record carrying the session's captured and dropped counts.
 */
#ifndef NFQD_DAEMON_CAPTURE_H
#define NFQD_DAEMON_CAPTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "nfqd/packet.h"

#include "command.h"
#include "config.h"

struct nfqd_spsc;

/* One worker slot's side of the tap. */
struct capture_slot {
	/* the slot's ring: created by the main thread before a session that may use it, then
	 * kept until capture_free() (after the workers ended) */
	_Atomic(struct nfqd_spsc *) ring;
	uint64_t dropped; /* records the ring had no room for; single writer: the slot's worker */
};

/* What the workers read. The filter fields belong to the session number read before them. */
struct capture_tap {
	atomic_uint session; /* 0: no capture; else the running capture's number */
	atomic_int queue, verdict;
	atomic_llong rule;
	atomic_uint snaplen;
	struct capture_slot slot[CONFIG_MAX_QUEUES];
};

/* Is a capture running? One relaxed load: the whole cost of the tap when none does. */
static inline bool capture_on(struct capture_tap *t)
{
	return atomic_load_explicit(&t->session, memory_order_relaxed) != 0;
}

/*
 * Worker side, for the worker of slot: hand pkt, decided with verdict (a netfilter verdict) by
 * rule (1-based, 0: the default verdict), to the running capture if it passes the filter.
 * Returns 1 when the record was dropped for want of room in the ring (the caller counts it in
 * capture_dropped), else 0. Wait-free.
 */
int capture_packet(struct capture_tap *t, unsigned int slot, const struct nfqd_packet *pkt,
		   uint32_t verdict, uint32_t rule);

struct capture;

/*
 * The main thread's side, serving tap in ev. n_slots points to the number of worker slots in
 * use (it changes with reloads): each gets a ring when a capture needs it. Returns 0 or -errno.
 */
int capture_new(struct capture **out, sd_event *ev, struct capture_tap *tap,
		const unsigned int *n_slots);

/*
 * Start a capture for the request `capture ARGS` of peer (whose connection it takes over, see
 * control_take()), with the packets cut at copy_range bytes. Returns NULL once the connection
 * is the capture's (the header line and the records follow on it), or a malloc'd {"error":...}
 * for control.c to send: bad arguments, busy (a capture runs), out of memory.
 */
char *capture_start(struct capture *c, const char *args, const struct command_peer *peer,
		    unsigned int copy_range);

/*
 * End a running capture (END record "nfqd stops", written as far as the socket takes it now,
 * after the last records the rings hold) and free everything. Call it after the workers ended:
 * the rings go too. NULL is accepted.
 */
void capture_free(struct capture *c);

#endif /* NFQD_DAEMON_CAPTURE_H */
