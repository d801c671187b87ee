/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nfqctl-metrics.h"

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Append code point cp as UTF-8. */
static size_t put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The \u escape at s (after the backslash and 'u'), a surrogate pair taken whole. Returns the
 * bytes of s read, or -EINVAL. */
static int unicode_escape(const char *s, uint32_t *cp)
{
	uint32_t lo;

	if (hex4(s, cp) < 0)
		return -EINVAL;
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 4;
	if (s[4] != '\\' || s[5] != 'u' || hex4(s + 6, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
		return -EINVAL;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 10;
}

int nfqctl_print_metrics(const char *reply, FILE *out)
{
	static const char head[] = "{\"metrics\":\"";
	const char *s = reply + sizeof(head) - 1;
	char *text, *d;
	int r = 0;

	if (strncmp(reply, head, sizeof(head) - 1) != 0)
		return -EINVAL;
	/* decoded, a string is never longer than its JSON form */
	text = malloc(strlen(s) + 1);
	if (!text)
		return -ENOMEM;
	for (d = text; *s && *s != '"'; s++) {
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *e;
		uint32_t cp;
		int n;

		if (*s != '\\') {
			*d++ = *s;
			continue;
		}
		s++;
		if (*s == 'u') {
			n = unicode_escape(s + 1, &cp);
			if (n < 0)
				break;
			d += put_utf8(d, cp);
			s += n;
			continue;
		}
		e = *s ? strchr(from, *s) : NULL;
		if (!e)
			break;
		*d++ = to[e - from];
	}
	/* the reply's final newline may still be there */
	if (*s != '"' || (strcmp(s, "\"}") != 0 && strcmp(s, "\"}\n") != 0))
		r = -EINVAL;
	else if (fwrite(text, 1, (size_t)(d - text), out) != (size_t)(d - text))
		r = -EIO;
	free(text);
	return r;
}
