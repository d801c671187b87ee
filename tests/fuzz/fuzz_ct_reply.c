/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness: the parser of ctnetlink's answers to a flush of create requests, over
 * arbitrary bytes, with the portid of the input's first message. Seeds:
 * tests/fuzz/corpus/ct_reply/, real answers captured by capture_replies.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>

#include "nfqd/conntrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfqd_ct_replies r = { .portid = 0 };
	void *buf;

	/* the parser gets what recv() gives it: an aligned buffer of exactly size bytes */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size >= sizeof(struct nlmsghdr))
		r.portid = ((const struct nlmsghdr *)buf)->nlmsg_pid;
	(void)nfqd_ct_parse_replies(buf, size, &r);
	/* every refusal counted is an answer read */
	if (r.refused > r.answers)
		abort();
	free(buf);
	return 0;
}
