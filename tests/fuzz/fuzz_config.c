/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config parser (config_load_string()) on any text. A text that is refused gets one
 * NUL-terminated message naming the file and, where one applies, a line of the text. A text
 * that loads is written back as a config of its values (rules in canonical form), which must
 * load again to the same values. Leaks are found by LeakSanitizer.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/policy.h"

#include "config.h"
#include "fuzz.h"

#define NAME "fuzz.conf"

static const char *verdict(uint32_t v)
{
	return v == NF_DROP ? "drop" : "accept";
}

/* The config c as a text that says every value. */
static char *write_back(const struct config *c)
{
	unsigned int n = nfqd_policy_rule_count(c->policy);
	char queues[4096];
	size_t len = 1024 + strlen(c->control);
	char *text, *p;

	for (unsigned int i = 0; i < n; i++)
		len += strlen(nfqd_policy_rule_text(c->policy, i)) + 16;
	text = malloc(len);
	if (!text)
		FUZZ_FAIL("out of memory");
	config_format_queues(c, queues, sizeof(queues));
	p = text;
	p += sprintf(p,
		     "[queue]\nqueues = %s\ncopy-range = %u\nmax-len = %u\nfail-open = %s\n"
		     "transport = %s\nbatch = %u\n",
		     queues, c->copy_range, c->max_len, c->fail_open ? "yes" : "no", c->transport,
		     c->batch);
	if (c->recv_buffer)
		p += sprintf(p, "recv-buffer = %u\n", c->recv_buffer);
	else
		p += sprintf(p, "recv-buffer = auto\n");
	p += sprintf(p,
		     "[policy]\ndefault = %s\non-set-error = %s\nflow-cache = %s\n"
		     "set-lookup = %s\nmark-bits = 0x%08x\n",
		     verdict(nfqd_policy_default(c->policy)),
		     verdict(nfqd_policy_on_set_error(c->policy)),
		     c->flow_cache ? "connmark" : "off", config_set_lookup_name(c->set_lookup),
		     c->mark_bits);
	for (unsigned int i = 0; i < n; i++)
		p += sprintf(p, "rule = %s\n", nfqd_policy_rule_text(c->policy, i));
	sprintf(p, "[daemon]\ncontrol = %s\n", c->control);
	return text;
}

static void check_same(const struct config *a, const struct config *b, const char *text)
{
	unsigned int n = nfqd_policy_rule_count(a->policy);

	if (a->n_queues != b->n_queues ||
	    memcmp(a->queues, b->queues, a->n_queues * sizeof(a->queues[0])) != 0 ||
	    a->copy_range != b->copy_range || a->max_len != b->max_len ||
	    a->fail_open != b->fail_open || strcmp(a->transport, b->transport) != 0 ||
	    a->batch != b->batch || a->recv_buffer != b->recv_buffer ||
	    a->flow_cache != b->flow_cache || a->set_lookup != b->set_lookup ||
	    a->mark_bits != b->mark_bits || strcmp(a->control, b->control) != 0 ||
	    nfqd_policy_default(a->policy) != nfqd_policy_default(b->policy) ||
	    nfqd_policy_on_set_error(a->policy) != nfqd_policy_on_set_error(b->policy) ||
	    n != nfqd_policy_rule_count(b->policy))
		FUZZ_FAIL("written back as\n%s\nit loads to other values", text);
	for (unsigned int i = 0; i < n; i++)
		if (strcmp(nfqd_policy_rule_text(a->policy, i),
			   nfqd_policy_rule_text(b->policy, i)) != 0)
			FUZZ_FAIL("rule %u reads back as '%s'", i + 1,
				  nfqd_policy_rule_text(b->policy, i));
}

/* "fuzz.conf: ..." or "fuzz.conf:LINE: ..." with LINE a line of the text (or the one after its
 * last, where an unterminated section or key ends). */
static void check_error(const char *text, const char *err, size_t errlen)
{
	unsigned int lines = 1, line;
	const char *p;
	char *end;

	if (!memchr(err, '\0', errlen))
		FUZZ_FAIL("message not NUL-terminated");
	if (strncmp(err, NAME ":", strlen(NAME ":")) != 0)
		FUZZ_FAIL("message '%s' does not name the file", err);
	p = err + strlen(NAME ":");
	if (*p == ' ') {
		if (p[1] == '\0')
			FUZZ_FAIL("message '%s' says nothing", err);
		return;
	}
	line = (unsigned int)strtoul(p, &end, 10);
	for (const char *t = text; *t; t++)
		lines += *t == '\n';
	if (end == p || *end != ':' || line == 0 || line > lines)
		FUZZ_FAIL("message '%s' names no line of the %u", err, lines);
	if (end[1] != ' ' || end[2] == '\0')
		FUZZ_FAIL("message '%s' says nothing", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL, *again = NULL;
	char err[512], *text, *back;
	int r;

	text = fuzz_text(data, size);
	if (!text)
		return 0;
	memset(err, 0x55, sizeof(err));
	r = config_load_string(&c, NAME, text, err, sizeof(err));
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM && r != -EIO)
			FUZZ_FAIL("returned %d", r);
		check_error(text, err, sizeof(err));
		free(text);
		return 0;
	}
	if (r != 0 || !c)
		FUZZ_FAIL("returned %d without a config", r);
	back = write_back(c);
	r = config_load_string(&again, NAME, back, err, sizeof(err));
	if (r < 0)
		FUZZ_FAIL("written back as\n%s\nit is refused: %s", back, err);
	check_same(c, again, back);
	config_free(again);
	config_free(c);
	free(back);
	free(text);
	return 0;
}
