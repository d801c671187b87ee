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

int json_parse(const char *s, size_t len, struct json_val *out, const char **why)
{
	struct cursor c = { .s = (const unsigned char *)s, .len = len };
	size_t start;
	int r = json_validate(s, len, NULL, why);

	if (r < 0)
		return r;
	skip_blanks(&c);
	start = c.pos;
	value(&c, 0);
	out->s = s + start;
	out->len = c.pos - start;
	return 0;
}

char json_kind(const struct json_val *v)
{
	char b = v->len ? v->s[0] : 0;

	if (b == '-' || (b >= '0' && b <= '9'))
		return 'n';
	return b == 'n' ? 'z' : b;
}

bool json_next(const struct json_val *v, size_t *pos, struct json_val *key, struct json_val *elem)
{
	struct cursor c = { .s = (const unsigned char *)v->s, .len = v->len, .pos = *pos };
	char kind = json_kind(v);
	size_t start;

	if (kind != '{' && kind != '[')
		return false;
	/* pos 0: at the opening bracket; else just after the last value read */
	c.pos = c.pos ? c.pos : 1;
	skip_blanks(&c);
	if (c.s[c.pos] == ',')
		c.pos++;
	skip_blanks(&c);
	if (c.pos >= c.len - 1)
		return false;
	if (kind == '{') {
		start = c.pos;
		string(&c);
		if (key)
			*key = (struct json_val){ v->s + start, c.pos - start };
		skip_blanks(&c);
		c.pos++; /* ':' */
		skip_blanks(&c);
	}
	start = c.pos;
	/* the text was validated: only the end of the value is wanted */
	value(&c, 0);
	*elem = (struct json_val){ v->s + start, c.pos - start };
	*pos = c.pos;
	return true;
}

/* Whether string value k (quotes included) is exactly key, with no escape in it. */
static bool key_is(const struct json_val *k, const char *key)
{
	size_t n = strlen(key);

	return k->len == n + 2 && memcmp(k->s + 1, key, n) == 0;
}

int json_member(const struct json_val *v, const char *key, struct json_val *out)
{
	struct json_val k, e;
	size_t pos = 0;

	if (json_kind(v) != '{')
		return -ENOENT;
	while (json_next(v, &pos, &k, &e)) {
		if (key_is(&k, key)) {
			*out = e;
			return 0;
		}
	}
	return -ENOENT;
}

int json_u64(const struct json_val *v, uint64_t *out)
{
	uint64_t n = 0;

	if (v->len == 0)
		return -EINVAL;
	for (size_t i = 0; i < v->len; i++) {
		unsigned int d = (unsigned char)v->s[i] - '0';

		if (d > 9 || n > (UINT64_MAX - d) / 10)
			return -EINVAL;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

int json_i64(const struct json_val *v, int64_t *out)
{
	struct json_val abs = *v;
	bool neg = v->len && v->s[0] == '-';
	uint64_t n;

	if (neg)
		abs.s++, abs.len--;
	if (json_u64(&abs, &n) < 0 || n > (uint64_t)INT64_MAX + neg)
		return -EINVAL;
	*out = neg ? (int64_t)(0 - n) : (int64_t)n;
	return 0;
}

uint64_t json_member_u64(const struct json_val *v, const char *key, uint64_t dflt)
{
	struct json_val m;
	uint64_t n;

	if (json_member(v, key, &m) < 0 || json_u64(&m, &n) < 0)
		return dflt;
	return n;
}

static unsigned int hex4(const char *p)
{
	unsigned int n = 0;

	for (int i = 0; i < 4; i++) {
		char h = p[i];

		n = n << 4 | (unsigned int)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
	}
	return n;
}

/* Append code point cp as UTF-8 at out[*n], as far as size allows (the count goes on). */
static void put_utf8(char *out, size_t size, size_t *n, unsigned int cp)
{
	unsigned char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp, k = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6, b[1] = 0x80 | (cp & 0x3f), k = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12, b[1] = 0x80 | (cp >> 6 & 0x3f), b[2] = 0x80 | (cp & 0x3f);
		k = 3;
	} else {
		b[0] = 0xf0 | cp >> 18, b[1] = 0x80 | (cp >> 12 & 0x3f);
		b[2] = 0x80 | (cp >> 6 & 0x3f), b[3] = 0x80 | (cp & 0x3f), k = 4;
	}
	for (size_t i = 0; i < k; i++, (*n)++)
		if (*n + 1 < size)
			out[*n] = (char)b[i];
}

long json_string(const struct json_val *v, char *buf, size_t size)
{
	static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	size_t n = 0;

	if (json_kind(v) != '"')
		return -EINVAL;
	for (size_t i = 1; i + 1 < v->len; i++) {
		unsigned int cp;

		if (v->s[i] != '\\') {
			/* UTF-8 was validated: its bytes are copied as they are */
			if (n + 1 < size)
				buf[n] = v->s[i];
			n++;
			continue;
		}
		i++;
		if (v->s[i] != 'u') {
			const char *e = strchr(esc, v->s[i]);

			/* the even entries are the escape letters, each followed by its byte */
			put_utf8(buf, size, &n, (unsigned char)e[1]);
			continue;
		}
		cp = hex4(v->s + i + 1);
		i += 4;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < v->len && v->s[i + 1] == '\\' &&
		    v->s[i + 2] == 'u') {
			unsigned int lo = hex4(v->s + i + 3);

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
		}
		put_utf8(buf, size, &n, cp);
	}
	if (size)
		buf[n < size ? n : size - 1] = '\0';
	return (long)n;
}

const char *json_member_str(const struct json_val *v, const char *key, char *buf, size_t size)
{
	struct json_val m;

	if (size)
		buf[0] = '\0';
	if (json_member(v, key, &m) == 0 && json_string(&m, buf, size) < 0 && size)
		buf[0] = '\0';
	return buf;
}
