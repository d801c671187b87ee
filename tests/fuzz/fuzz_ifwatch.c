/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rtnetlink link messages as ifwatch reads them (ifwatch_parse()): any bytes, no read outside
 * them, and every interface name handed on is NUL-terminated inside them.
 */
#include <string.h>
#include <linux/netlink.h>

#include "ifwatch.h"

#include "fuzz.h"

struct seen {
	const uint8_t *buf;
	size_t len;
	unsigned int calls;
};

static void on_link(const struct ifwatch_link *l, void *data)
{
	struct seen *s = data;

	s->calls++;
	if (!l->name)
		return;
	if ((const uint8_t *)l->name < s->buf || (const uint8_t *)l->name >= s->buf + s->len)
		FUZZ_FAIL("name outside the message");
	if (!memchr(l->name, '\0', (size_t)(s->buf + s->len - (const uint8_t *)l->name)))
		FUZZ_FAIL("name not NUL-terminated inside the message");
	if (l->name[0] == '\0')
		FUZZ_FAIL("empty name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Netlink messages are 4-byte aligned in the receive buffer: copy to an exact-size block
	 * so that a read past the end is one past the allocation. */
	uint8_t *buf = malloc(size ? size : 1);
	struct seen s = { .buf = buf, .len = size };
	unsigned int n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	n = ifwatch_parse(buf, size, on_link, &s);
	if (n != s.calls)
		FUZZ_FAIL("returned %u after %u calls", n, s.calls);
	if (n > size / NLMSG_HDRLEN)
		FUZZ_FAIL("%u messages in %zu bytes", n, size);
	free(buf);
	return 0;
}
