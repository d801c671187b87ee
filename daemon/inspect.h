/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inspection commands of the control socket: `rules` (the rules as compiled, each term and
 * how each set term is answered) and `explain PACKET` (which rule a packet would hit and why,
 * its set memberships asked of the kernel as a worker asks them). Read-only.
 *
 * The parts without the kernel are pure functions of a stats snapshot, for the unit tests:
 * inspect_parse_packet(), inspect_rules_json(), inspect_explain_json().
 */
#ifndef NFQD_DAEMON_INSPECT_H
#define NFQD_DAEMON_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfqd/packet.h"
#include "nfqd/policy.h"

#include "command.h"

#define INSPECT_PACKET_MAX 80 /* bytes of the headers explain builds */

/* The input or output index of a packet from an interface that no rule names, or that does not
 * exist now: no kernel index is this. */
#define INSPECT_IFINDEX_OTHER UINT32_MAX

/* A packet described on the command line of `nfqctl explain`, built as the kernel queues it. */
struct inspect_packet {
	uint8_t bytes[INSPECT_PACKET_MAX]; /* IPv4 or IPv6 header and the L4 header */
	size_t len;
	struct nfqd_packet pkt;	   /* parsed from bytes by nfqd_packet_parse_ip(), metadata added */
	char iif[16], oif[16];	   /* interface names given, "" when none */
	int queue;		   /* the queue given, -1 when none */
	bool has_mark, has_ctmark; /* mark, ctmark given (in pkt.mark, pkt.ct_mark) */
	char text[256];		   /* the description in canonical form */
};

/*
 * Parse a packet description:
 *	PROTO SRC > DST [iif NAME] [oif NAME] [mark V] [ctmark V] [queue N]
 * ('to' may stand for '>'). PROTO as `proto` takes it (a name or a number); SRC and DST are
 *ADDR:PORT for the protocols with ports (tcp, udp, udplite, sctp, dccp), ADDR otherwise, an IPv6
 *ADDR in brackets
 * ([2001:db8::1]:443; brackets optional without a port); both of one family. V is a number
 * (0x.. hex). The headers are written as bytes and parsed by the packet parser, so the view is
 * what a worker would see. Interfaces are kept by name (pkt.indev/outdev are left 0 for the
 * caller to resolve). Returns 0, or -EINVAL with err naming the wrong word and what was expected.
 */
int inspect_parse_packet(const char *text, struct inspect_packet *out, char *err, size_t errlen);

/*
 * The `rules` document of snapshot s: the policy's settings and, per rule, its position, config
 * line, canonical text, verdict, actions and terms, each set term's lookup and how it is
 * answered (mark bit of the generated chain, IPSET_CMD_TEST), with the set's type at load and,
 * when now[] is not NULL, whether it exists now (now[l] 1 yes, 0 no, -1 unknown). Malloc'd JSON;
 * NULL when out of memory.
 */
char *inspect_rules_json(const struct stats_snapshot *s, const int *now);

/*
 * The `explain` document for packet pk judged by snapshot s's policy with set answers ans
 * (asked with IPSET_CMD_TEST, err[l] each lookup's error or 0; err NULL: none): every rule up to
 * the deciding one with how it ended and why in words, the deciding rule's terms with the
 * packet's values, the verdict and marks nfqd_markplan_verdict() gives. Malloc'd JSON; NULL when
 * out of memory.
 */
char *inspect_explain_json(const struct stats_snapshot *s, const struct inspect_packet *pk,
			   const struct nfqd_set_answers *ans, const int *err);

/* The commands, for command.c's table: run(user = struct command_daemon *, args). */
char *inspect_cmd_rules(void *user, const char *args);
char *inspect_cmd_explain(void *user, const char *args);

#endif /* NFQD_DAEMON_INSPECT_H */
