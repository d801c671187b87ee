/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A daemon's rules without a kernel, for the harnesses of the control commands: a config text
 * loaded, and the headers of its first two sets as a load would have read them.
 */
#ifndef NFQD_FUZZ_DAEMON_H
#define NFQD_FUZZ_DAEMON_H

#include "nfqd/ipset.h"
#include "config.h"
#include "fuzz.h"

/* The head of the harnesses' configs: two queues, a default, the two sets' first rules. */
#define FUZZ_DAEMON_CONFIG_HEAD                                                                    \
	"[queue]\n"                                                                                \
	"queues = 0-1\n"                                                                           \
	"[policy]\n"                                                                               \
	"default = drop\n"                                                                         \
	"rule = drop src @block\n"                                                                 \
	"rule = accept proto tcp dport 22 set @svc src,dst\n"

/* Load text into *cfg and set infos[0] to a hash:ip, infos[1] to a hash:ip,port,ip; abort when
 * the text is refused. */
static inline void fuzz_daemon_config(const char *text, struct config **cfg,
				      struct nfqd_ipset_info infos[2])
{
	char err[512];

	if (config_load_string(cfg, "fuzz.conf", text, err, sizeof(err)) != 0)
		FUZZ_FAIL("the harness's config is refused: %s", err);
	snprintf(infos[0].type, sizeof(infos[0].type), "hash:ip");
	snprintf(infos[1].type, sizeof(infos[1].type), "hash:ip,port,ip");
}

#endif /* NFQD_FUZZ_DAEMON_H */
