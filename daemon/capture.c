/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/spsc.h"

#include "capture.h"
#include "capwire.h"
#include "control.h"
#include "log.h"
#include "strbuf.h"

/* Each slot's ring: about 10000 small packets, or 16 of 64 KiB, between two drains. */
#define RING_BYTES (1u << 20)
/* Records taken from the rings but not yet written to the client. */
#define OUT_BYTES (4u << 20)
/*
 * How often the rings are drained while a capture runs, and how late it may be: sd-event's
 * default accuracy (0: 250 ms) would let a ring fill at 30000 packets/s.
 */
#define DRAIN_USEC	    10000ULL
#define DRAIN_ACCURACY_USEC 1000ULL
/* How long the end of the stream waits for a client to read it. */
#define END_USEC (10 * 1000000ULL)
/* The session number and the record header in each ring entry. */
#define ENTRY_HDR (4 + CAPWIRE_HDR_LEN)

struct session {
	struct capture *c;
	int fd;
	unsigned int id;
	pid_t pid;
	uid_t uid;
	sd_event_source *io, *timer;
	uint8_t *out;
	size_t out_len, out_off;
	uint64_t count, sent, dropped_base;
	uint64_t lost; /* records left in the rings at the end, for want of room in out */
	bool eof;      /* the client shut its side */
	bool ending;   /* the END record is in out: close once it is written */
};

struct capture {
	sd_event *ev;
	struct capture_tap *tap;
	const unsigned int *n_slots;
	unsigned int last_id;
	struct session *s;
};

int capture_packet(struct capture_tap *t, unsigned int slot, const struct nfqd_packet *pkt,
		   uint32_t verdict, uint32_t rule)
{
	unsigned int id = atomic_load_explicit(&t->session, memory_order_acquire);
	struct capwire_filter f = {
		.queue = atomic_load_explicit(&t->queue, memory_order_relaxed),
		.verdict = atomic_load_explicit(&t->verdict, memory_order_relaxed),
		.rule = atomic_load_explicit(&t->rule, memory_order_relaxed),
	};
	struct capture_slot *cs = &t->slot[slot];
	struct nfqd_spsc *ring = atomic_load_explicit(&cs->ring, memory_order_acquire);
	uint32_t snap = atomic_load_explicit(&t->snaplen, memory_order_relaxed);
	uint32_t caplen = pkt->flags & NFQD_PKT_HAS_PAYLOAD ? pkt->payload_len : 0;
	uint32_t orig;
	struct timespec ts;
	uint8_t *p;

	if (!id || !capwire_match(&f, pkt->queue, verdict, rule))
		return 0;
	if (caplen > snap)
		caplen = snap;
	if (caplen > CAPWIRE_SNAP_MAX)
		caplen = CAPWIRE_SNAP_MAX;
	orig = pkt->packet_len > caplen ? pkt->packet_len : caplen;
	p = ring ? nfqd_spsc_reserve(ring, ENTRY_HDR + caplen) : NULL;
	if (!p) {
		__atomic_store_n(&cs->dropped, cs->dropped + 1, __ATOMIC_RELAXED);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	memcpy(p, &id, 4);
	capwire_packet_header(p + 4, (uint8_t)(verdict & NF_VERDICT_MASK), pkt->l3, pkt->queue,
			      rule, orig, caplen,
			      (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	if (caplen)
		memcpy(p + ENTRY_HDR, pkt->payload, caplen);
	nfqd_spsc_commit(ring);
	return 0;
}

int capture_new(struct capture **out, sd_event *ev, struct capture_tap *tap,
		const unsigned int *n_slots)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->ev = ev;
	c->tap = tap;
	c->n_slots = n_slots;
	*out = c;
	return 0;
}

/* Rings for the slots in use that have none yet. Returns 0 or -ENOMEM. */
static int make_rings(struct capture *c)
{
	for (unsigned int i = 0; i < *c->n_slots && i < CONFIG_MAX_QUEUES; i++) {
		struct nfqd_spsc *r;

		if (atomic_load_explicit(&c->tap->slot[i].ring, memory_order_relaxed))
			continue;
		r = nfqd_spsc_new(RING_BYTES);
		if (!r)
			return -ENOMEM;
		atomic_store_explicit(&c->tap->slot[i].ring, r, memory_order_release);
	}
	return 0;
}

static uint64_t dropped_now(const struct capture *c)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < CONFIG_MAX_QUEUES; i++)
		n += __atomic_load_n(&c->tap->slot[i].dropped, __ATOMIC_RELAXED);
	return n;
}

static void session_free(struct session *s)
{
	if (!s)
		return;
	atomic_store_explicit(&s->c->tap->session, 0, memory_order_release);
	sd_event_source_disable_unref(s->io);
	sd_event_source_disable_unref(s->timer);
	if (s->fd >= 0)
		close(s->fd);
	log_info("capture %u for pid %d uid %u ended: %llu packets sent, %llu dropped", s->id,
		 (int)s->pid, (unsigned int)s->uid, (unsigned long long)s->sent,
		 (unsigned long long)(dropped_now(s->c) - s->dropped_base + s->lost));
	s->c->s = NULL;
	free(s->out);
	free(s);
}

/* Room at the end of out for len bytes, moving what is left to write to the front. */
static bool out_room(struct session *s, size_t len)
{
	if (s->out_off) {
		memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
		s->out_len -= s->out_off;
		s->out_off = 0;
	}
	return OUT_BYTES - s->out_len >= len;
}

/*
 * Move the session's records from the rings into out while it has room; records of an earlier
 * session, or beyond COUNT, are let go. The last drain (last) empties the rings: what out has no
 * room for then is lost, and counted.
 */
static void drain(struct session *s, bool last)
{
	for (unsigned int i = 0; i < CONFIG_MAX_QUEUES; i++) {
		struct nfqd_spsc *ring =
			atomic_load_explicit(&s->c->tap->slot[i].ring, memory_order_acquire);
		const uint8_t *p;
		size_t len;

		while (ring && (p = nfqd_spsc_peek(ring, &len))) {
			unsigned int id;

			memcpy(&id, p, 4);
			if (id == s->id && len >= ENTRY_HDR && !s->ending &&
			    (!s->count || s->sent < s->count)) {
				if (!out_room(s, len - 4) && !last)
					break;
				if (!out_room(s, len - 4)) {
					s->lost++;
					nfqd_spsc_release(ring);
					continue;
				}
				memcpy(s->out + s->out_len, p + 4, len - 4);
				s->out_len += len - 4;
				s->sent++;
			}
			nfqd_spsc_release(ring);
		}
	}
}

/* The session's timer, due after usec from now. Returns 0 or -errno. */
static int arm_timer(struct session *s, uint64_t usec)
{
	uint64_t now;
	int r = sd_event_now(s->c->ev, CLOCK_MONOTONIC, &now);

	if (r >= 0)
		r = sd_event_source_set_time(s->timer, now + usec);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
	return r < 0 ? r : 0;
}

/*
 * Stop the workers' copies and queue the END record; the session closes once it is written, or
 * when the client has not read it within END_USEC. Returns 0 or -errno (the timer).
 */
static int finish(struct session *s, enum capwire_end why)
{
	atomic_store_explicit(&s->c->tap->session, 0, memory_order_release);
	(void)out_room(s, 0);
	/* out has room for it beyond OUT_BYTES */
	capwire_end_record(s->out + s->out_len, why, s->sent,
			   dropped_now(s->c) - s->dropped_base + s->lost);
	s->out_len += CAPWIRE_HDR_LEN + CAPWIRE_END_LEN;
	s->ending = true;
	return arm_timer(s, END_USEC);
}

/* Write what the socket takes. Returns 0 or 1, or -errno when the client is gone. */
static int flush(struct session *s)
{
	return control_send_some(s->fd, s->out, s->out_len, &s->out_off);
}

/* Write, and wait for EPOLLOUT while bytes are left, for EPOLLIN until the client's EOF. Frees
 * the session when it is over or the client gone. */
static void pump(struct session *s)
{
	uint32_t ev = 0;

	if (flush(s) < 0 || (s->ending && s->out_off == s->out_len)) {
		session_free(s);
		return;
	}
	if (!s->eof)
		ev |= EPOLLIN;
	if (s->out_off < s->out_len)
		ev |= EPOLLOUT;
	if (sd_event_source_set_io_events(s->io, ev) < 0 ||
	    sd_event_source_set_enabled(s->io, ev ? SD_EVENT_ON : SD_EVENT_OFF) < 0)
		session_free(s);
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct session *s = userdata;
	char scratch[256];

	(void)src;
	(void)fd;
	if (revents & EPOLLIN) {
		ssize_t n = recv(s->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n == 0) {
			/* the client is done: what the rings hold goes first, then the end */
			s->eof = true;
			if (!s->ending) {
				drain(s, true);
				if (finish(s, CAPWIRE_END_CLIENT) < 0) {
					session_free(s);
					return 0;
				}
			}
		} else if (n == -1 && errno != EAGAIN && errno != EINTR) {
			session_free(s);
			return 0;
		}
	}
	pump(s);
	return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct session *s = userdata;

	(void)src;
	(void)usec;
	if (s->ending) {
		log_info("capture %u: the client did not read the end of the stream within %llu s",
			 s->id, END_USEC / 1000000);
		session_free(s);
		return 0;
	}
	if (make_rings(s->c) < 0)
		log_warning("capture %u: out of memory for a new queue's ring: its packets are "
			    "dropped from the capture",
			    s->id);
	drain(s, false);
	if ((s->count && s->sent >= s->count ? finish(s, CAPWIRE_END_COUNT)
					     : arm_timer(s, DRAIN_USEC)) < 0) {
		session_free(s);
		return 0;
	}
	pump(s);
	return 0;
}

static char *header_json(const struct capwire_request *rq, unsigned int copy_range)
{
	const struct capwire_filter *f = &rq->filter;
	struct strbuf b = { 0 };

	strbuf_printf(&b, "{\"capture\":{\"format\":\"%s\",\"queue\":", CAPWIRE_FORMAT);
	if (f->queue >= 0)
		strbuf_printf(&b, "%d", f->queue);
	else
		strbuf_printf(&b, "null");
	if (f->verdict >= 0)
		strbuf_printf(&b, ",\"verdict\":\"%s\"",
			      capwire_verdict_name((uint32_t)f->verdict));
	else
		strbuf_printf(&b, ",\"verdict\":null");
	if (f->rule >= 0)
		strbuf_printf(&b, ",\"rule\":%lld", (long long)f->rule);
	else
		strbuf_printf(&b, ",\"rule\":null");
	if (rq->count)
		strbuf_printf(&b, ",\"count\":%llu", (unsigned long long)rq->count);
	else
		strbuf_printf(&b, ",\"count\":null");
	strbuf_printf(&b, ",\"copy_range\":%u}}\n", copy_range);
	return strbuf_steal(&b);
}

/* Take the client's connection and set the session up around it. Returns 0 or -errno. */
static int session_open(struct capture *c, struct session *s, const struct command_peer *peer,
			const char *header)
{
	uint64_t now;
	size_t hl = strlen(header);
	int r;

	s->out = malloc(OUT_BYTES + CAPWIRE_HDR_LEN + CAPWIRE_END_LEN);
	if (!s->out)
		return -ENOMEM;
	r = sd_event_now(c->ev, CLOCK_MONOTONIC, &now);
	if (r < 0)
		return r;
	s->fd = control_take(peer->conn);
	if (s->fd < 0)
		return s->fd;
	memcpy(s->out, header, hl);
	s->out_len = hl;
	r = sd_event_add_io(c->ev, &s->io, s->fd, EPOLLIN | EPOLLOUT, on_io, s);
	if (r >= 0)
		r = sd_event_add_time(c->ev, &s->timer, CLOCK_MONOTONIC, now + DRAIN_USEC,
				      DRAIN_ACCURACY_USEC, on_timer, s);
	return r < 0 ? r : 0;
}

char *capture_start(struct capture *c, const char *args, const struct command_peer *peer,
		    unsigned int copy_range)
{
	struct capwire_request rq;
	struct session *s;
	char err[200], *header;
	int r;

	if (capwire_parse_request(args, &rq, err, sizeof(err)) < 0)
		return command_error(err);
	if (!peer || !peer->conn)
		return command_error("capture: only over the control socket");
	if (c->s) {
		snprintf(err, sizeof(err),
			 "busy: a capture runs already (for pid %d uid %u); one at a time",
			 (int)c->s->pid, (unsigned int)c->s->uid);
		return control_error_json(err, true);
	}
	if (make_rings(c) < 0)
		return command_error("capture: out of memory for the rings");
	s = calloc(1, sizeof(*s));
	header = header_json(&rq, copy_range);
	if (!s || !header) {
		free(s);
		free(header);
		return NULL;
	}
	s->c = c;
	s->fd = -1;
	s->pid = peer->pid;
	s->uid = peer->uid;
	s->count = rq.count;
	c->s = s;
	r = session_open(c, s, peer, header);
	free(header);
	if (r < 0) {
		snprintf(err, sizeof(err), "capture: cannot start: %s", strerror(-r));
		if (s->fd < 0) {
			c->s = NULL;
			sd_event_source_disable_unref(s->io);
			sd_event_source_disable_unref(s->timer);
			free(s->out);
			free(s);
			return command_error(err);
		}
		log_error("capture for pid %d uid %u: %s", (int)peer->pid, (unsigned int)peer->uid,
			  err);
		session_free(s);
		return NULL;
	}
	if (++c->last_id == 0)
		c->last_id = 1;
	s->id = c->last_id;
	s->dropped_base = dropped_now(c);
	atomic_store_explicit(&c->tap->queue, rq.filter.queue, memory_order_relaxed);
	atomic_store_explicit(&c->tap->verdict, rq.filter.verdict, memory_order_relaxed);
	atomic_store_explicit(&c->tap->rule, rq.filter.rule, memory_order_relaxed);
	atomic_store_explicit(&c->tap->snaplen, copy_range, memory_order_relaxed);
	atomic_store_explicit(&c->tap->session, s->id, memory_order_release);
	log_info("capture %u started for pid %d uid %u: %s", s->id, (int)peer->pid,
		 (unsigned int)peer->uid, *args ? args : "every packet");
	return NULL;
}

void capture_free(struct capture *c)
{
	if (!c)
		return;
	if (c->s) {
		struct session *s = c->s;

		if (!s->ending) {
			drain(s, true);
			(void)finish(s, CAPWIRE_END_STOP);
		}
		(void)flush(s);
		session_free(s);
	}
	for (unsigned int i = 0; i < CONFIG_MAX_QUEUES; i++) {
		struct nfqd_spsc *r = atomic_load(&c->tap->slot[i].ring);

		nfqd_spsc_delete(r);
		atomic_store(&c->tap->slot[i].ring, NULL);
	}
	free(c);
}
