/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The capture stream of the control socket: what `capture ARGS` asks for, which packets it
 * selects, and the framed binary records nfqd streams after its JSON header line. Pure code,
 * shared by nfqd (encode, filter, request) and nfqctl (decode), and driven by the unit tests.
 *
 * A record is a fixed header of CAPWIRE_HDR_LEN bytes, all fields big-endian, then caplen bytes:
 *
 *   0  u8  type      CAPWIRE_PACKET or CAPWIRE_END
 *   1  u8  verdict   PACKET: the decided netfilter verdict without its high bits: NF_DROP (0),
 *                    NF_ACCEPT (1), NF_QUEUE (3), ... up to NF_MAX_VERDICT;
 *                    END: why the capture ended (enum capwire_end)
 *   2  u8  l3        PACKET: 4 or 6, 0 when the IP version was not readable; END: 0
 *   3  u8  flags     PACKET: CAPWIRE_F_CUT when caplen < orig_len; END: 0
 *   4  u16 queue     PACKET: the queue number; END: 0
 *   6  u16 reserved  0
 *   8  u32 rule      PACKET: the rule that decided (1-based), 0 for the default verdict
 *  12  u32 orig_len  PACKET: the packet's length; END: 0
 *  16  u32 caplen    bytes after the header: PACKET: the packet from its IP header, at most
 *                    orig_len and CAPWIRE_SNAP_MAX; END: 16 (u64 captured, u64 dropped)
 *  20  u64 time_ns   PACKET: when the verdict was decided, ns since the epoch (CLOCK_REALTIME)
 */
#ifndef NFQD_DAEMON_CAPWIRE_H
#define NFQD_DAEMON_CAPWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPWIRE_HDR_LEN 28
#define CAPWIRE_END_LEN 16
/* Largest packet a record carries: the largest copy range, and a GSO packet's 64 KiB. */
#define CAPWIRE_SNAP_MAX 65535u
/* The name of the format in the JSON header line, for a client to check. */
#define CAPWIRE_FORMAT "nfqd-capture-1"

enum capwire_type {
	CAPWIRE_PACKET = 1,
	CAPWIRE_END = 2,
};

/* Why nfqd ended a capture (an END record's verdict byte). */
enum capwire_end {
	CAPWIRE_END_COUNT,  /* the COUNT packets asked for were sent */
	CAPWIRE_END_CLIENT, /* the client closed its side (nfqctl on Ctrl-C) */
	CAPWIRE_END_STOP,   /* nfqd stops */
	CAPWIRE_END_MAX,
};

#define CAPWIRE_F_CUT 0x01u

/* One record, as decoded (data points into the decoded buffer). */
struct capwire_rec {
	uint8_t type;
	uint8_t verdict;
	uint8_t l3;
	uint8_t flags;
	uint16_t queue;
	uint32_t rule;
	uint32_t orig_len;
	uint32_t caplen;
	uint64_t time_ns;
	const uint8_t *data;
	/* END only */
	uint64_t captured, dropped;
};

/*
 * Write the header of a PACKET record for caplen bytes of a packet of orig_len into out
 * (CAPWIRE_HDR_LEN bytes). caplen must be at most orig_len and CAPWIRE_SNAP_MAX (the caller
 * cuts it). The caller puts the caplen bytes right after.
 */
void capwire_packet_header(uint8_t *out, uint8_t verdict, uint8_t l3, uint16_t queue, uint32_t rule,
			   uint32_t orig_len, uint32_t caplen, uint64_t time_ns);

/* Write a whole END record (CAPWIRE_HDR_LEN + CAPWIRE_END_LEN bytes) into out. */
void capwire_end_record(uint8_t *out, enum capwire_end why, uint64_t captured, uint64_t dropped);

/*
 * Decode the record at the start of buf (len bytes received so far). Returns the record's length
 * (> 0) with *rec filled; 0 when buf holds only part of a record (read more); -EBADMSG with err
 * saying which field is wrong and its value when the bytes are no valid record.
 */
int capwire_decode(const uint8_t *buf, size_t len, struct capwire_rec *rec, char *err,
		   size_t errlen);

/* Which packets a capture takes; -1 in a field: any. */
struct capwire_filter {
	int32_t queue;	 /* queue number */
	int32_t verdict; /* NF_DROP, NF_ACCEPT or NF_QUEUE */
	int64_t rule;	 /* 1-based rule number; 0: the default verdict */
};

/* What `capture ARGS` asks for. */
struct capwire_request {
	struct capwire_filter filter;
	uint64_t count; /* packets to send, then end; 0: until the client or nfqd ends it */
};

/*
 * Does a packet of queue, decided with verdict (a full netfilter verdict: NF_QUEUE carries its
 * queue number in the high bits) by rule (1-based, 0 for the default) pass f?
 */
bool capwire_match(const struct capwire_filter *f, uint16_t queue, uint32_t verdict, uint32_t rule);

/*
 * Parse the arguments of a capture request: blank-separated `queue=N`, `verdict=WORD`,
 * `rule=N`, `count=N`, each at most once, in any order; WORD is accept, drop or queue; rule N is
 * 1-based or `default`. Returns 0 with *req filled, or -EINVAL with err naming the argument
 * and its value.
 */
int capwire_parse_request(const char *args, struct capwire_request *req, char *err, size_t errlen);

/* Parse a verdict word (accept, drop, queue) into NF_*; -EINVAL when it is none of them. */
int capwire_verdict_parse(const char *word);

/* The word of an NF_* verdict (accept, drop, queue, repeat), "?" for another value. */
const char *capwire_verdict_name(uint32_t verdict);

#endif /* NFQD_DAEMON_CAPWIRE_H */
