/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Overload in plain sight: every few seconds the main thread reads what the kernel counted for
 * each queue (packets dropped as queue-full, messages lost to a full socket buffer) and, under
 * fail-open, the packets that passed without nfqd's verdict (the NFQD-PASS chain of `nfqd
 * rules`), and logs what changed, one line per queue and kind per period. Never per packet.
 */
#ifndef NFQD_DAEMON_OVERLOAD_H
#define NFQD_DAEMON_OVERLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct config;
struct worker;

/* How often the kernel's counters are read and their changes logged. */
#define OVERLOAD_PERIOD_S 5

struct overload;

/*
 * Set up the watch of the queues in the worker slots below *n on ev (a timer every
 * OVERLOAD_PERIOD_S). With fail-open, open the socket that reads the NFQD-PASS chain now, while the
 * process may, and say once when the chain is not loaded. The workers must outlive the watch.
 * Returns 0 and *out, or -errno with err naming what failed.
 */
int overload_open(struct overload **out, sd_event *ev, const struct config *c,
		  const struct worker *workers, const unsigned int *n, char *err, size_t errlen);

/* Stop the timer and free; NULL is accepted. */
void overload_close(struct overload *o);

/*
 * The packets that passed the queues without nfqd's verdict under fail-open, read from the
 * kernel now. Returns 0 and *passed, or -ENOENT when they are not counted (fail-open off, the
 * chain not loaded), or -errno.
 */
int overload_fail_open_passed(struct overload *o, uint64_t *passed);

#endif /* NFQD_DAEMON_OVERLOAD_H */
