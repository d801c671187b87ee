/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keeps the policy's interface names resolved to their current indexes: rtnetlink link events
 * (created, renamed, deleted) update the table the workers read, so `iif eth1` follows eth1 even
 * when it is recreated with another index.
 */
#ifndef NFQD_DAEMON_IFWATCH_H
#define NFQD_DAEMON_IFWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct nfqd_policy;
struct ifwatch;

/* Subscribe to link events, then resolve every name of the policy. Returns 0 and *out (NULL
 * when the policy names no interface), or -errno with err saying what failed. */
int ifwatch_open(struct ifwatch **out, sd_event *ev, const struct nfqd_policy *p, char *err,
		 size_t errlen);

void ifwatch_close(struct ifwatch *iw);

/* One link event, as an RTM_NEWLINK or RTM_DELLINK message tells it. */
struct ifwatch_link {
	uint32_t index;	  /* ifi_index */
	bool gone;	  /* RTM_DELLINK */
	const char *name; /* IFLA_IFNAME, NUL-terminated inside the message; NULL when absent */
};

/*
 * Parse the messages of one rtnetlink read (len bytes at buf) and call fn for each link message
 * whose header is whole, in order. Messages of other types, and a trailing message cut short,
 * are skipped; an IFLA_IFNAME that is empty or not NUL-terminated counts as absent. Every read
 * stays within buf and the name points into it. Returns the number of calls. Pure.
 */
unsigned int ifwatch_parse(const void *buf, size_t len,
			   void (*fn)(const struct ifwatch_link *l, void *data), void *data);

#endif /* NFQD_DAEMON_IFWATCH_H */
