/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

struct cursor {
	const unsigned char *s;
	size_t len, pos;
	const char *why;
};

static bool fail(struct cursor *c, const char *why)
{
	c->why = why;
	return false;
}

static bool more(const struct cursor *c)
{
	return c->pos < c->len;
}

static void skip_blanks(struct cursor *c)
{
	while (more(c) && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == '\n' ||
			   c->s[c->pos] == '\r'))
		c->pos++;
}

static bool literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if (c->len - c->pos < n || memcmp(c->s + c->pos, word, n) != 0)
		return fail(c, "unknown literal (expected true, false or null)");
	c->pos += n;
	return true;
}

static bool digits(struct cursor *c)
{
	size_t start = c->pos;

	while (more(c) && c->s[c->pos] >= '0' && c->s[c->pos] <= '9')
		c->pos++;
	return c->pos > start ? true : fail(c, "digit expected in number");
}

static bool number(struct cursor *c)
{
	if (c->s[c->pos] == '-')
		c->pos++;
	if (more(c) && c->s[c->pos] == '0')
		c->pos++;
	else if (!digits(c))
		return false;
	if (more(c) && c->s[c->pos] == '.') {
		c->pos++;
		if (!digits(c))
			return false;
	}
	if (more(c) && (c->s[c->pos] == 'e' || c->s[c->pos] == 'E')) {
		c->pos++;
		if (more(c) && (c->s[c->pos] == '+' || c->s[c->pos] == '-'))
			c->pos++;
		if (!digits(c))
			return false;
	}
	return true;
}

/* One UTF-8 sequence starting at c->pos (RFC 3629: shortest form, no surrogates). */
static bool utf8(struct cursor *c)
{
	unsigned char b = c->s[c->pos];
	unsigned int n, cp;

	if (b < 0x80) {
		c->pos++;
		return true;
	}
	if (b >= 0xc2 && b <= 0xdf)
		n = 1, cp = b & 0x1f;
	else if (b >= 0xe0 && b <= 0xef)
		n = 2, cp = b & 0x0f;
	else if (b >= 0xf0 && b <= 0xf4)
		n = 3, cp = b & 0x07;
	else
		return fail(c, "invalid UTF-8 in string");
	if (c->len - c->pos <= n)
		return fail(c, "UTF-8 sequence cut short");
	for (unsigned int i = 1; i <= n; i++) {
		unsigned char x = c->s[c->pos + i];

		if ((x & 0xc0) != 0x80)
			return fail(c, "invalid UTF-8 in string");
		cp = cp << 6 | (x & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return fail(c, "invalid UTF-8 in string");
	c->pos += n + 1;
	return true;
}

static bool string(struct cursor *c)
{
	c->pos++; /* the opening quote */
	while (more(c)) {
		unsigned char b = c->s[c->pos];

		if (b == '"') {
			c->pos++;
			return true;
		}
		if (b < 0x20)
			return fail(c, "control character in string");
		if (b != '\\') {
			if (!utf8(c))
				return false;
			continue;
		}
		c->pos++;
		if (!more(c))
			break;
		if (c->s[c->pos] == 'u') {
			for (int i = 1; i <= 4; i++) {
				if (c->pos + i >= c->len || !isxdigit(c->s[c->pos + i]))
					return fail(c, "\\u needs four hex digits");
			}
			c->pos += 5;
		} else if (c->s[c->pos] && strchr("\"\\/bfnrt", c->s[c->pos])) {
			c->pos++;
		} else {
			return fail(c, "unknown escape in string");
		}
	}
	return fail(c, "string not closed");
}

static bool value(struct cursor *c, unsigned int depth);

/* An array or an object: c->pos at its opening bracket. */
static bool container(struct cursor *c, unsigned int depth)
{
	bool object = c->s[c->pos] == '{';
	char close = object ? '}' : ']';

	if (depth >= JSON_MAX_DEPTH)
		return fail(c, "nested too deep");
	c->pos++;
	skip_blanks(c);
	if (more(c) && c->s[c->pos] == close) {
		c->pos++;
		return true;
	}
	for (;;) {
		if (object) {
			skip_blanks(c);
			if (!more(c) || c->s[c->pos] != '"')
				return fail(c, "object key expected");
			if (!string(c))
				return false;
			skip_blanks(c);
			if (!more(c) || c->s[c->pos] != ':')
				return fail(c, "':' expected after object key");
			c->pos++;
		}
		if (!value(c, depth + 1))
			return false;
		skip_blanks(c);
		if (!more(c))
			return fail(c, object ? "object not closed" : "array not closed");
		if (c->s[c->pos] == close) {
			c->pos++;
			return true;
		}
		if (c->s[c->pos] != ',')
			return fail(c, object ? "',' or '}' expected" : "',' or ']' expected");
		c->pos++;
	}
}

static bool value(struct cursor *c, unsigned int depth)
{
	skip_blanks(c);
	if (!more(c))
		return fail(c, "value expected");
	switch (c->s[c->pos]) {
	case '{':
	case '[':
		return container(c, depth);
	case '"':
		return string(c);
	case 't':
		return literal(c, "true");
	case 'f':
		return literal(c, "false");
	case 'n':
		return literal(c, "null");
	default:
		if (c->s[c->pos] == '-' || (c->s[c->pos] >= '0' && c->s[c->pos] <= '9'))
			return number(c);
		return fail(c, "value expected");
	}
}

int json_validate(const char *s, size_t len, size_t *at, const char **why)
{
	struct cursor c = { .s = (const unsigned char *)s, .len = len };
	bool ok = value(&c, 0);

	if (ok) {
		skip_blanks(&c);
		if (more(&c))
			ok = fail(&c, "text after the value");
	}
	if (at)
		*at = c.pos;
	if (why)
		*why = ok ? NULL : c.why;
	return ok ? 0 : -EINVAL;
}
