/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A strict JSON (RFC 8259) validator, for nfqctl to check what nfqd answers before it prints
 * it, and for the tests and the fuzzer to check what nfqd renders. It builds nothing: it only
 * says whether a text is exactly one JSON value, and where it is not.
 */
#ifndef NFQD_DAEMON_JSON_H
#define NFQD_DAEMON_JSON_H

#include <stddef.h>

/* Nesting of arrays and objects deeper than this is refused. */
#define JSON_MAX_DEPTH 64

/*
 * Check that the len bytes at s are one JSON value with optional blanks around it: objects,
 * arrays, strings (valid UTF-8, the escapes of RFC 8259), numbers, true, false, null.
 * Returns 0, or -EINVAL with *at (if not NULL) set to the offset of the first wrong byte and
 * *why (if not NULL) to a static description.
 */
int json_validate(const char *s, size_t len, size_t *at, const char **why);

#endif /* NFQD_DAEMON_JSON_H */
