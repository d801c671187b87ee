/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness of the control socket's request handling: arbitrary bytes, as a client
 * would send them, go through the real request parsing and validation (control.c) and, when
 * taken, through the real command table (command.c), whose stats command renders a daemon of
 * two queues and a few rules with set lookups, built from a config text without a kernel.
 * Every answer must be one valid JSON document: the harness aborts otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfqd/ipset.h"
#include "command.h"
#include "config.h"
#include "control.h"
#include "fuzz_daemon.h"
#include "json.h"

static const char config_text[] =
	FUZZ_DAEMON_CONFIG_HEAD "rule = accept not src @block set-mark 0x100/0x100\n"
				"rule = drop proto udp\n";

static struct config *cfg;
static struct nfqd_ipset_info infos[2];

static int snapshot(void *user, struct stats_snapshot *out, struct stats_queue *queues,
		    unsigned int n_max)
{
	(void)user;
	out->version = "fuzz";
	out->cfg = cfg;
	out->infos = infos;
	out->queues = queues;
	out->n_queues = n_max < 2 ? n_max : 2;
	for (unsigned int i = 0; i < out->n_queues; i++) {
		queues[i].num = i;
		queues[i].counters.v[NFQD_CTR_RECEIVED] = UINT64_MAX - i;
		queues[i].transport = "mmsg";
		queues[i].cpu = (int)i - 1;
		queues[i].kstats_ok = i;
	}
	out->lookups[1].by_mark = 1;
	return 0;
}

static struct command_daemon daemon_side = { .snapshot = snapshot, .n_queues = 2, .self_uid = 0 };

static void check_json(const char *json, const char *what)
{
	const char *why;
	size_t at;

	if (!json) {
		fprintf(stderr, "%s: no answer\n", what);
		abort();
	}
	if (json_validate(json, strlen(json), &at, &why) != 0) {
		fprintf(stderr, "%s: answer is not JSON (%s at %zu): %s\n", what, why, at, json);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_daemon_config(config_text, &cfg, infos);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct command_peer peers[] = { { .pid = 1, .uid = 0 },
					      { .pid = 2, .uid = 65534, .gid = 65534 } };
	size_t len = size < CONTROL_REQUEST_MAX ? size : CONTROL_REQUEST_MAX;
	char cmd[CONTROL_REQUEST_MAX], err[128];
	enum control_request st;
	char *json;

	/* As the daemon reads: the bytes so far, then (no newline yet) the client's EOF. */
	st = control_request_parse((const char *)data, len, false, cmd, sizeof(cmd), err,
				   sizeof(err));
	if (st == CONTROL_REQUEST_INCOMPLETE)
		st = control_request_parse((const char *)data, len, true, cmd, sizeof(cmd), err,
					   sizeof(err));
	if (st == CONTROL_REQUEST_INCOMPLETE)
		abort(); /* EOF always settles a request */
	if (st == CONTROL_REQUEST_BAD) {
		json = control_error_json(err, false);
		check_json(json, "refused request");
		free(json);
		return 0;
	}
	if (strlen(cmd) >= CONTROL_REQUEST_MAX || memchr(cmd, '\n', strlen(cmd)))
		abort();
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		json = command_answer(&daemon_side, cmd, &peers[i]);
		check_json(json, cmd);
		free(json);
	}
	return 0;
}
