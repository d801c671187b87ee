/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A strict JSON (RFC 8259) validator, for nfqctl to check what nfqd answers before it prints
 * it, and for the tests and the fuzzer to check what nfqd renders; and a reader of validated
 * texts for nfqctl's views (top, rules, explain). Nothing is built: a value is a span of the
 * text, and the reader walks the text again on each question, which is cheap for the answers
 * of nfqd (a few kilobytes) and allocates nothing.
 */
#ifndef NFQD_DAEMON_JSON_H
#define NFQD_DAEMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting of arrays and objects deeper than this is refused. */
#define JSON_MAX_DEPTH 64

/*
 * Check that the len bytes at s are one JSON value with optional blanks around it: objects,
 * arrays, strings (valid UTF-8, the escapes of RFC 8259), numbers, true, false, null.
 * Returns 0, or -EINVAL with *at (if not NULL) set to the offset of the first wrong byte and
 * *why (if not NULL) to a static description.
 */
int json_validate(const char *s, size_t len, size_t *at, const char **why);

/* One value of a validated text: the bytes from its first to its last. */
struct json_val {
	const char *s;
	size_t len;
};

/*
 * Validate the len bytes at s as json_validate() does, and give the value they hold (blanks
 * around it left out). Returns 0, or -EINVAL with *why (if not NULL) saying what is wrong.
 * The readers below take only values obtained from here, or from each other.
 */
int json_parse(const char *s, size_t len, struct json_val *out, const char **why);

/* The kind of v: '{', '[', '"', 'n' (number), 't', 'f' or 'z' (null). */
char json_kind(const struct json_val *v);

/*
 * The next member of object (or element of array) v after *pos (start with *pos = 0): returns
 * true with *elem and, for an object, *key (if not NULL) set, and *pos advanced; false after
 * the last or when v is neither.
 */
bool json_next(const struct json_val *v, size_t *pos, struct json_val *key, struct json_val *elem);

/* The member key of object v: 0 and *out, or -ENOENT (no such member, or v no object). */
int json_member(const struct json_val *v, const char *key, struct json_val *out);

/* v as an unsigned integer (a number without sign, fraction or exponent that fits in 64 bits):
 * 0 and *out, or -EINVAL. */
int json_u64(const struct json_val *v, uint64_t *out);

/* v as a signed integer: 0 and *out, or -EINVAL. */
int json_i64(const struct json_val *v, int64_t *out);

/* Member key of object v as an unsigned integer, or dflt when absent or not one. */
uint64_t json_member_u64(const struct json_val *v, const char *key, uint64_t dflt);

/*
 * String v decoded (escapes resolved, \u to UTF-8) into buf of size bytes, NUL-terminated and
 * cut to fit. Returns the decoded length (which may be size or more: it was cut), or -EINVAL
 * when v is no string.
 */
long json_string(const struct json_val *v, char *buf, size_t size);

/* Member key of object v decoded into buf as json_string() does; "" when absent or no string. */
const char *json_member_str(const struct json_val *v, const char *key, char *buf, size_t size);

#endif /* NFQD_DAEMON_JSON_H */
