/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"

/*
 * Both are read by every thread that logs. Atomics make each read and write whole and free of
 * data races; nothing else is ordered by them, so relaxed accesses suffice.
 */
static atomic_int max_prio = LOG_INFO;
static atomic_int journal = -1; /* -1: not decided yet, else whether stderr is the journal */

void log_set_level(int prio)
{
	atomic_store_explicit(&max_prio, prio, memory_order_relaxed);
}

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected to stderr. */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(void)
{
	atomic_store_explicit(&journal, stderr_is_journal(), memory_order_relaxed);
}

/*
 * Whether stderr is the journal. Decided by log_init() at start; a line logged before it (or
 * without it) decides for itself, and threads racing there all compute the same answer and
 * store it whole.
 */
static int to_journal(void)
{
	int j = atomic_load_explicit(&journal, memory_order_relaxed);

	if (j < 0) {
		j = stderr_is_journal();
		atomic_store_explicit(&journal, j, memory_order_relaxed);
	}
	return j;
}

size_t log_prefix(int prio, char *buf, size_t len)
{
	int r;

	if (to_journal())
		r = snprintf(buf, len, "<%d>", prio);
	else if (prio <= LOG_ERR)
		r = snprintf(buf, len, "nfqd: error: ");
	else if (prio == LOG_WARNING)
		r = snprintf(buf, len, "nfqd: warning: ");
	else
		r = snprintf(buf, len, "nfqd: ");
	if (r < 0)
		return 0;
	return (size_t)r < len ? (size_t)r : len - 1;
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	size_t n;
	int r;
	va_list ap;

	if (prio > atomic_load_explicit(&max_prio, memory_order_relaxed))
		return;
	n = log_prefix(prio, line, sizeof(line));

	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	line[n++] = '\n';

	/* One write per line so that lines of several threads never interleave. */
	if (write(STDERR_FILENO, line, n) == -1)
		return;
}

int ratelimit_ok(struct ratelimit *rl, unsigned long *suppressed)
{
	time_t now = time(NULL);

	if (now == rl->last) {
		rl->suppressed++;
		return 0;
	}
	rl->last = now;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}
