/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness of `explain PACKET` without a kernel: arbitrary text goes through the
 * packet description parser (inspect.c), which builds headers as bytes and parses them with the
 * packet parser; a description it takes is explained against a policy of every kind of term,
 * with set answers taken from the input. The explanation must be one valid JSON document and
 * decide as nfqd_policy_eval() decides: the harness aborts otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfqd/ipset.h"
#include "nfqd/policy-explain.h"
#include "command.h"
#include "config.h"
#include "inspect.h"
#include "fuzz_daemon.h"
#include "json.h"

static const char config_text[] =
	FUZZ_DAEMON_CONFIG_HEAD "rule = accept not src @block set-mark 0x100/0x100 iif eth0\n"
				"rule = queue 1 proto udp sport 53 ct mark 0x1/0x1\n"
				"rule = drop dst 2001:db8::/32 not oif eth1 meta mark 0x2/0x2\n"
				"rule = accept proto icmpv6\n";

static struct config *cfg;
static struct nfqd_ipset_info infos[2];
static struct stats_queue queue;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_daemon_config(config_text, &cfg, infos);
	/* eth0 and eth1 exist as 2 and 3 */
	nfqd_policy_iface_set_index(cfg->policy, 0, 2);
	nfqd_policy_iface_set_index(cfg->policy, 1, 3);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct stats_snapshot snap = {
		.cfg = cfg, .infos = infos, .queues = &queue, .n_queues = 1
	};
	struct nfqd_set_answers ans = { 0 };
	struct nfqd_decision d1, d2;
	struct inspect_packet pk;
	char text[600], err[300];
	const int errs[2] = { -2, 0 };
	const char *why;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1, at;
	char *json;

	/* the first byte chooses the set answers, the rest is the description */
	if (n > 0) {
		ans.known = data[0] & 3;
		ans.member = (data[0] >> 2) & ans.known;
		ans.failed = (data[0] >> 4) & 3 & ~ans.known;
		memcpy(text, data + 1, n - 1);
		text[n - 1] = '\0';
	} else {
		text[0] = '\0';
	}
	if (inspect_parse_packet(text, &pk, err, sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	pk.pkt.indev = pk.iif[0] ? (uint32_t)(2 + (pk.iif[0] & 1)) : 0;
	pk.pkt.outdev = pk.oif[0] ? (uint32_t)(2 + (pk.oif[0] & 1)) : 0;
	json = inspect_explain_json(&snap, &pk, &ans, errs);
	if (!json || json_validate(json, strlen(json), &at, &why) != 0) {
		fprintf(stderr, "explain '%s': not JSON (%s at %zu): %s\n", text,
			json ? why : "none", json ? at : 0, json ? json : "");
		abort();
	}
	free(json);
	nfqd_policy_eval(cfg->policy, &pk.pkt, &ans, &d1);
	nfqd_policy_explain(cfg->policy, &pk.pkt, &ans, &d2, (struct nfqd_explain_rule[8]){ 0 });
	if (d1.verdict != d2.verdict || d1.rule != d2.rule || d1.flags != d2.flags ||
	    d1.lookups_read != d2.lookups_read) {
		fprintf(stderr, "explain '%s': rule %d verdict 0x%x, eval: rule %d verdict 0x%x\n",
			text, d2.rule, d2.verdict, d1.rule, d1.verdict);
		abort();
	}
	return 0;
}
