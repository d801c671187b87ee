/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef NFQD_DAEMON_LOG_H
#define NFQD_DAEMON_LOG_H

#include <stddef.h>
#include <syslog.h>
#include <time.h>

/*
 * Log one line to stderr, atomically (one write). Under systemd (stderr is the journal stream)
 * the line carries a "<N>" priority prefix the journal understands; otherwise it reads
 * "nfqd: error: ..." for errors and warnings and "nfqd: ..." for the rest. Thread-safe.
 */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Decide once whether stderr is the journal (JOURNAL_STREAM names stderr's device and inode),
 * which selects the line format. main() calls it first thing; calling it again re-decides
 * (after stderr was redirected). Without it, the first line logged decides.
 */
void log_init(void);

/*
 * Write into buf (len > 0) the prefix log_msg() puts before a line of priority prio, and return
 * its length. For code that cannot call log_msg() (a signal handler) and formats its line
 * beforehand.
 */
size_t log_prefix(int prio, char *buf, size_t len);

/* Lines below this priority (numerically above) are not written; LOG_INFO by default. */
void log_set_level(int prio);

#define log_error(...)	 log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	 log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	 log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	 log_msg(LOG_DEBUG, __VA_ARGS__)

/* A limit of one message per interval for a recurring condition, for one thread's use. */
struct ratelimit {
	time_t last;
	unsigned long suppressed;
};

/*
 * Returns 1 when a message may be logged now (at most once a second), 0 when it is to be
 * suppressed. *suppressed receives the number of messages suppressed since the last one
 * allowed, to be reported with it.
 */
int ratelimit_ok(struct ratelimit *rl, unsigned long *suppressed);

#endif /* NFQD_DAEMON_LOG_H */
