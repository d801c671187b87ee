/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"

static int max_prio = LOG_INFO;
static int journal = -1;

void log_set_level(int prio)
{
	max_prio = prio;
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

size_t log_prefix(int prio, char *buf, size_t len)
{
	int r;

	if (journal < 0)
		journal = stderr_is_journal();
	if (journal)
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

	if (prio > max_prio)
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
