/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef NFQD_DAEMON_STRBUF_H
#define NFQD_DAEMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* A growing string. An allocation failure is remembered (oom) and makes later appends no-ops. */
struct strbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s as a JSON string literal, quotes included, escaped as RFC 8259 requires. */
void strbuf_json_string(struct strbuf *b, const char *s);

/* Hand the string over (the caller frees it); NULL after an allocation failure. The buffer is
 * left empty. */
char *strbuf_steal(struct strbuf *b);

void strbuf_free(struct strbuf *b);

#endif /* NFQD_DAEMON_STRBUF_H */
