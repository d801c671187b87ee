/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lines of /proc/net/netfilter/nfnetlink_queue as nfqd_queue_kstats() reads them: the input is
 * cut into lines as fgets() with its 256-byte buffer would cut it, and each is parsed with
 * nfqd_queue_kstats_parse(). A line that parses, printed back as the kernel prints it, parses
 * to the same numbers; a line that does not leaves the outputs untouched.
 */
#include <errno.h>
#include <string.h>

#include "nfqd/queue.h"

#include "fuzz.h"

static void check_line(const char *line)
{
	struct nfqd_queue_kstats ks, again;
	uint32_t num = 0x5a5a5a5a, num2;
	char text[256];
	int r;

	memset(&ks, 0x5a, sizeof(ks));
	memcpy(&again, &ks, sizeof(ks));
	r = nfqd_queue_kstats_parse(line, &num, &ks);
	if (r == -EINVAL) {
		if (num != 0x5a5a5a5a || memcmp(&ks, &again, sizeof(ks)) != 0)
			FUZZ_FAIL("'%s' refused but the outputs changed", line);
		return;
	}
	if (r != 0)
		FUZZ_FAIL("'%s': returned %d", line, r);
	/* The kernel's format (nfnetlink_queue.c seq_show). */
	snprintf(text, sizeof(text), "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n", num, ks.portid,
		 ks.queued, ks.copy_mode, ks.copy_range, ks.full_dropped, ks.user_dropped,
		 ks.last_id, 1);
	if (nfqd_queue_kstats_parse(text, &num2, &again) != 0 || num2 != num ||
	    memcmp(&ks, &again, sizeof(ks)) != 0)
		FUZZ_FAIL("'%s' printed back as '%s' reads differently", line, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[256];
	size_t i = 0;

	while (i < size) {
		size_t n = 0;

		/* fgets(): up to 255 bytes, through the newline; a NUL ends what sscanf sees. */
		while (i < size && n < sizeof(line) - 1) {
			line[n++] = (char)data[i++];
			if (line[n - 1] == '\n')
				break;
		}
		line[n] = '\0';
		check_line(line);
	}
	return 0;
}
