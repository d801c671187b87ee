/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deadlines of waits for the kernel: absolute CLOCK_MONOTONIC times in nanoseconds, so that
 * several waits of one exchange share one bound measured from the exchange's start, however
 * often a wait is woken early (EINTR, a datagram that is not the answer).
 */
#ifndef NFQD_DEADLINE_H
#define NFQD_DEADLINE_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

#define NFQD_NS_PER_MS 1000000ll

/* Now, on the clock deadlines are measured by. */
static inline int64_t nfqd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* The deadline timeout_ms after now. Pure. */
static inline int64_t nfqd_deadline_after(int64_t now, unsigned int timeout_ms)
{
	return now + (int64_t)timeout_ms * NFQD_NS_PER_MS;
}

/*
 * How long a poll() started at `now` may wait for the deadline: the time left, rounded up to
 * whole milliseconds (rounded down, a wait would end just before the deadline and a caller
 * would spin on zero-length polls until it passes), capped at INT_MAX. 0 when the deadline has
 * passed: the caller stops waiting. Pure.
 */
static inline int nfqd_deadline_wait_ms(int64_t deadline, int64_t now)
{
	int64_t left = deadline - now;

	if (left <= 0)
		return 0;
	left = (left + NFQD_NS_PER_MS - 1) / NFQD_NS_PER_MS;
	return left > INT_MAX ? INT_MAX : (int)left;
}

#endif /* NFQD_DEADLINE_H */
