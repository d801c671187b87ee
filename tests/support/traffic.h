/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test and benchmark traffic on the real kernel: UDP senders and counting sinks, a flood thread,
 * and a verified TCP transfer. Sockets are created inside a namespace (setns on the calling
 * thread) and keep working from any thread afterwards.
 */
#ifndef NFQD_TEST_TRAFFIC_H
#define NFQD_TEST_TRAFFIC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A UDP socket bound in ns to addr:port (addr "0.0.0.0" or "::" for any), with a large receive
 * buffer, non-blocking. Returns the fd or -1. */
int udp_sink_open(const char *ns, const char *addr, uint16_t port);

/* Count datagrams on a sink until none arrived for idle_ms (or max_ms in all). */
uint64_t udp_sink_count(int fd, int idle_ms, int max_ms);

/*
 * Count datagrams on a sink until `want` arrived or max_ms passed, plus those already queued
 * then. Returns the count: short of want only at the deadline. For a test that knows how many
 * must arrive (a busy machine makes any idle timeout too short).
 */
uint64_t udp_sink_wait(int fd, uint64_t want, int max_ms);

/*
 * Send `count` datagrams of `payload` bytes from ns to dst:port, spread over `flows` source
 * sockets (distinct source ports), `burst` at a time with sendmmsg, pausing pause_us between
 * bursts. If src is not NULL it is a comma-separated list of source addresses, and socket i
 * binds to address i modulo their number. Returns the number sent, or -1.
 */
long long udp_send(const char *ns, const char *src, const char *dst, uint16_t port,
		   unsigned long count, size_t payload, unsigned int flows, unsigned int burst,
		   unsigned int pause_us);

/*
 * Send the IP packet pkt (len bytes from its IPv4 or IPv6 header on, as built by pktbuild.h)
 * count times from ns through a raw socket, headers as given (the kernel only fills in an IPv4
 * total length, id and header checksum), pausing pause_us after every 32. Returns the number
 * sent, or -errno.
 */
long long raw_ip_send(const char *ns, const void *pkt, size_t len, unsigned long count,
		      unsigned int pause_us);

/* One UDP flow (a connected socket, so one 5-tuple) from ns, optionally bound to src. */
int udp_flow_open(const char *ns, const char *src, const char *dst, uint16_t port);

/* The same from source port sport (with SO_REUSEADDR), so that successive sockets carry the
 * same 5-tuple: one flow for conntrack across program runs. */
int udp_flow_open_from(const char *ns, const char *src, uint16_t sport, const char *dst,
		       uint16_t port);

/*
 * Send count datagrams on a flow, each carrying a 64-bit sequence number (host order) from
 * *seq upwards, burst at a time with pause_us between bursts. Returns the number sent or -1.
 */
long long udp_flow_send(int fd, unsigned long count, uint64_t *seq, unsigned int burst,
			unsigned int pause_us);

/*
 * Count datagrams on a sink until none arrived for idle_ms, and report the highest sequence
 * number among them in *max_seq (0 when none came).
 */
uint64_t udp_sink_count_seq(int fd, int idle_ms, int max_ms, uint64_t *max_seq);

/* The same until `want` arrived or max_ms passed (udp_sink_wait()). */
uint64_t udp_sink_wait_seq(int fd, uint64_t want, int max_ms, uint64_t *max_seq);

/* A thread counting datagrams on a sink while traffic flows. */
struct sink_thread {
	pthread_t thread;
	int fd;
	atomic_int stop;
	atomic_ullong count;
	int running;
};

/* Count on fd (a udp_sink_open() socket) in a thread until sink_thread_stop(). */
int sink_thread_start(struct sink_thread *s, int fd);

/* Read until nothing arrived for idle_ms, stop, and return the count. An idle time is a guess
 * that a busy machine defeats: prefer sink_thread_stop_at(). */
unsigned long long sink_thread_stop(struct sink_thread *s, int idle_ms);

/* Stop, then read until the count reaches want (or max_ms passed), and return the count
 * (short of want only at the deadline). */
unsigned long long sink_thread_stop_at(struct sink_thread *s, unsigned long long want, int max_ms);

/* UDP RcvbufErrors of namespace ns (/proc/net/snmp): datagrams a full socket dropped. */
unsigned long long udp_rcvbuf_errors(const char *ns);

/*
 * Send count IPv4 datagrams from ns to dst:port, each from the next address of the
 * comma-separated list srcs in turn (IP_PKTINFO per datagram), burst at a time: a batch the
 * receiver reads then holds as many sources as the list has. Returns the number sent, or -1.
 */
long long udp_send_spread(const char *ns, const char *srcs, const char *dst, uint16_t port,
			  unsigned long count, size_t payload, unsigned int burst);

/* A thread sending datagrams as fast as it can until stopped. */
struct flood {
	pthread_t thread;
	int fds[16];
	unsigned int n_fds;
	size_t payload;
	atomic_int stop;
	atomic_ullong sent;
	int running;
};

/* Start a flood from ns to dst:port over `flows` sockets, bound to the addresses of the
 * comma-separated list src if it is not NULL (as udp_send()). Returns 0 or -1. */
int flood_start(struct flood *f, const char *ns, const char *src, const char *dst, uint16_t port,
		unsigned int flows, size_t payload);

/* Stop the flood; returns the number of datagrams sent. */
unsigned long long flood_stop(struct flood *f);

/*
 * Send `bytes` of a known pattern over TCP from ns_cli to a listener in ns_srv at addr:port and
 * verify every byte on arrival. Returns 0 when all arrived intact; -1 otherwise, with a reason
 * in why.
 */
int tcp_transfer(const char *ns_cli, const char *ns_srv, const char *addr, uint16_t port,
		 size_t bytes, char *why, size_t whylen);

#endif /* NFQD_TEST_TRAFFIC_H */
