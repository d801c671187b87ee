/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness: every parser of the kernel's ipset answers (protocol versions, header,
 * list:set dump, acknowledgements and headers of a batch) over arbitrary bytes. The portid and
 * sequence number come from the input's first message, so that the parsers read it as an answer to
 * us. Seeds: tests/fuzz/corpus/ipset_reply/, real answers captured by capture_replies.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>

#include "nfqd/ipset.h"

static void take(uint32_t seq, int result, const struct nfqd_ipset_info *info, void *data)
{
	unsigned int *n = data;

	/* read what the parser handed over, as a caller would */
	if (info && strlen(info->type) < sizeof(info->type) && info->kind <= NFQD_IPSET_KIND_MAX)
		(*n)++;
	*n += seq & 1;
	*n += result < 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char names[4][NFQD_IPSET_NAME_MAX];
	struct nfqd_ipset_members m = { .names = names, .max = 4 };
	struct nfqd_ipset_info info;
	uint32_t portid = 0, seq = 0;
	uint8_t kmin = 0, kmax = 0;
	unsigned int n = 0;
	void *buf;

	/* the parsers get what recv() gives them: an aligned buffer of exactly size bytes */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = buf;

		portid = nlh->nlmsg_pid;
		seq = nlh->nlmsg_seq;
	}
	if (nfqd_ipset_parse_header(buf, size, portid, seq, &info) > 0 &&
	    strlen(info.type) >= sizeof(info.type))
		abort();
	(void)nfqd_ipset_parse_list(buf, size, portid, seq, &m);
	for (unsigned int i = 0; i < m.count && i < m.max; i++)
		if (strlen(names[i]) >= NFQD_IPSET_NAME_MAX)
			abort();
	(void)nfqd_ipset_parse_answers(buf, size, portid, take, &n);
	/* versions are handed over only as a range the kernel could speak */
	if (nfqd_ipset_parse_protocol(buf, size, portid, seq, &kmin, &kmax) > 0 && kmin > kmax)
		abort();
	/* and every refusal, whatever its code, is named */
	if (strstr(nfqd_ipset_strerror((int)seq), "Unknown error"))
		abort();
	free(buf);
	return 0;
}
