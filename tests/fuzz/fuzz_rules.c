/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rule parser: any text either parses, or is refused with a message and the policy left
 * unchanged. A rule that parses has a canonical text that parses again, into a rule with the
 * same canonical text (the text nfqd logs, counts by and shows is a rule it accepts).
 */
#include <errno.h>
#include <string.h>

#include "nfqd/policy.h"

#include "fuzz.h"

/* err as the parser left it: a NUL-terminated message, and a word within the rule. */
static void check_error(const char *text, int r, const struct nfqd_policy_error *err)
{
	if (r != -EINVAL && r != -E2BIG && r != -ENOMEM)
		FUZZ_FAIL("'%s': returned %d", text, r);
	if (!memchr(err->msg, '\0', sizeof(err->msg)))
		FUZZ_FAIL("'%s': message not NUL-terminated", text);
	if (r == -EINVAL && err->msg[0] == '\0')
		FUZZ_FAIL("'%s': refused without a message", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfqd_policy *p = NULL, *again = NULL;
	struct nfqd_policy_error err;
	char *text;
	int r;

	text = fuzz_text(data, size);
	if (!text)
		return 0;
	if (nfqd_policy_new(&p) < 0 || nfqd_policy_new(&again) < 0)
		FUZZ_FAIL("out of memory");

	memset(&err, 0x55, sizeof(err));
	r = nfqd_policy_add_rule(p, text, &err);
	if (r < 0) {
		check_error(text, r, &err);
		if (nfqd_policy_rule_count(p) != 0 || nfqd_policy_lookup_count(p) != 0 ||
		    nfqd_policy_iface_count(p) != 0)
			FUZZ_FAIL("'%s': refused but the policy changed", text);
		goto out;
	}
	if (r != 0 || nfqd_policy_rule_count(p) != 1)
		FUZZ_FAIL("'%s': returned %d with %u rules", text, r, nfqd_policy_rule_count(p));

	const char *canon = nfqd_policy_rule_text(p, 0);

	if (!canon)
		FUZZ_FAIL("'%s': no canonical text", text);
	r = nfqd_policy_add_rule(again, canon, &err);
	if (r < 0)
		FUZZ_FAIL("'%s': canonical text '%s' refused: %s", text, canon, err.msg);
	if (strcmp(nfqd_policy_rule_text(again, 0), canon) != 0)
		FUZZ_FAIL("'%s': canonical '%s' parses to '%s'", text, canon,
			  nfqd_policy_rule_text(again, 0));
	if (nfqd_policy_rule_lookups(again, 0) != nfqd_policy_rule_lookups(p, 0) ||
	    nfqd_policy_lookup_count(again) != nfqd_policy_lookup_count(p) ||
	    nfqd_policy_iface_count(again) != nfqd_policy_iface_count(p))
		FUZZ_FAIL("'%s': canonical '%s' needs other lookups or interfaces", text, canon);
out:
	nfqd_policy_free(again);
	nfqd_policy_free(p);
	free(text);
	return 0;
}
