/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keeps the policy's interface names resolved to their current indexes: rtnetlink link events
 * (created, renamed, deleted) update the table the workers read, so `iif eth1` follows eth1 even
 * when it is recreated with another index.
 */
#ifndef NFQD_DAEMON_IFWATCH_H
#define NFQD_DAEMON_IFWATCH_H

#include <stddef.h>
#include <systemd/sd-event.h>

struct nfqd_policy;
struct ifwatch;

/* Subscribe to link events, then resolve every name of the policy. Returns 0 and *out (NULL
 * when the policy names no interface), or -errno with err saying what failed. */
int ifwatch_open(struct ifwatch **out, sd_event *ev, const struct nfqd_policy *p, char *err,
		 size_t errlen);

void ifwatch_close(struct ifwatch *iw);

#endif /* NFQD_DAEMON_IFWATCH_H */
