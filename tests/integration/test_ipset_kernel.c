/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipset membership against the real kernel.
 *
 * Each test gets a fresh network namespace (nfqd-t-ipset-<pid>-<n>): the test process enters
 * it, creates its sets there with the ipset tool, and asks from inside it. The elements tested
 * are built from packet views with nfqd_ipset_elem_from_packet(), so every "member" answer also
 * proves that the element built for a packet is the one `ipset add` stored. The namespace, and
 * with it every set, is deleted after each test whatever its outcome. A set type this kernel
 * was built without is skipped, and said so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "nfqd/deadline.h"
#include "nfqd/ipset.h"
#include "ipset_util.h"

#define SRC NFQD_DIR_SRC
#define DST NFQD_DIR_DST

struct fx {
	char ns[64];
	int home; /* the namespace the test process came from */
	bool in_ns;
	struct nfqd_ipset *s;
	struct nfqd_ipset_batch *b;
};

static unsigned int ns_counter;

/* ---- running commands ---- */

static int run_sh(bool quiet, const char *cmd)
{
	pid_t pid = fork();
	int st;

	if (pid == -1)
		return -1;
	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd != -1) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run a shell command in the test's namespace (the test process is inside it); 0 on success. */
static int __attribute__((format(printf, 2, 3))) vsh(bool quiet, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = run_sh(quiet, cmd);
	if (r != 0 && !quiet)
		fprintf(stderr, "command failed (%d): %s\n", r, cmd);
	free(cmd);
	return r;
}

#define sh(...) assert_int_equal(vsh(false, __VA_ARGS__), 0)
/* `ipset restore` reading what the test writes, in the test's namespace. */
#define restore_open()	 popen("ipset restore", "w")
#define restore_close(p) assert_int_equal(pclose(p), 0)
#define sh_quiet(...)	 vsh(true, __VA_ARGS__)

/* Skip the test when the kernel cannot create a set of this type. */
#define NEED_TYPE(type, opts)                                                                      \
	do {                                                                                       \
		if (sh_quiet("ipset create nfqd-probe %s %s && ipset destroy nfqd-probe", type,    \
			     opts) != 0) {                                                         \
			fprintf(stderr, "skipped: this kernel has no ipset type %s\n", type);      \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* ---- fixture: a namespace per test ---- */

static int enter(const char *ns)
{
	char path[128];
	int fd, r;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	r = setns(fd, CLONE_NEWNET);
	close(fd);
	return r;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	nfqd_ipset_batch_free(f->b);
	nfqd_ipset_close(f->s);
	if (f->in_ns && setns(f->home, CLONE_NEWNET) == -1)
		fprintf(stderr, "cannot return to the test's namespace: %s\n", strerror(errno));
	vsh(false, "ip netns del %s", f->ns);
	close(f->home);
	free(f);
	*state = NULL;
	return 0;
}

static int setup(void **state)
{
	struct fx *f;

	if (geteuid() != 0) {
		fprintf(stderr, "ipset kernel tests need root (network namespaces, ipset)\n");
		return -1;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->ns, sizeof(f->ns), "nfqd-t-ipset-%d-%u", (int)getpid(), ++ns_counter);
	f->home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (f->home == -1) {
		free(f);
		return -1;
	}
	if (vsh(false, "ip netns add %s", f->ns) != 0) {
		close(f->home);
		free(f);
		return -1;
	}
	*state = f;
	if (enter(f->ns) == -1) {
		fprintf(stderr, "cannot enter %s: %s\n", f->ns, strerror(errno));
		goto fail;
	}
	f->in_ns = true;
	if (nfqd_ipset_open(&f->s) < 0 || nfqd_ipset_batch_new(&f->b, NFQD_IPSET_BATCH_MAX) < 0)
		goto fail;
	return 0;

fail:
	teardown(state);
	return -1;
}

/* ---- probes: a packet, the sides of a rule, the answer the set must give ---- */

struct probe {
	const char *what;
	const char *set;
	struct nfqd_packet pkt;
	uint8_t dirs[NFQD_IPSET_DIMS_MAX];
	int expect;
};

#define PROBE_MAX 64

static void info_ok(struct fx *f, const char *set, struct nfqd_ipset_info *info)
{
	int r = nfqd_ipset_info(f->s, set, info);

	if (r != 0)
		fail_msg("nfqd_ipset_info(%s) = %d", set, r);
}

/* Build each probe's element, test them all in one batch, and compare every answer. */
static void check_probes(struct fx *f, const struct probe *p, size_t n)
{
	int idx[PROBE_MAX];
	unsigned int bad = 0;
	size_t i;

	assert_true(n <= PROBE_MAX);
	nfqd_ipset_batch_reset(f->b);
	for (i = 0; i < n; i++) {
		struct nfqd_ipset_info info;
		struct nfqd_ipset_elem e;
		int r;

		info_ok(f, p[i].set, &info);
		r = nfqd_ipset_elem_from_packet(&info, p[i].dirs, &p[i].pkt, &e);
		if (r != 1)
			fail_msg("%s: no element built (%d)", p[i].what, r);
		idx[i] = nfqd_ipset_batch_add(f->b, p[i].set, &e);
		assert_true(idx[i] >= 0);
	}
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	for (i = 0; i < n; i++) {
		int got = nfqd_ipset_batch_result(f->b, (unsigned int)idx[i]);

		if (got != p[i].expect) {
			fprintf(stderr, "%s (set %s): expected %d, got %d\n", p[i].what, p[i].set,
				p[i].expect, got);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

#define CHECK(f, probes) check_probes(f, probes, sizeof(probes) / sizeof(probes[0]))

/* ---- set headers ---- */

static void expect_info(struct fx *f, const char *set, const char *type, uint8_t family,
			uint8_t dims, enum nfqd_ipset_kind kind)
{
	struct nfqd_ipset_info info;

	info_ok(f, set, &info);
	assert_string_equal(info.name, set);
	assert_string_equal(info.type, type);
	assert_int_equal(info.family, family);
	assert_int_equal(info.dims, dims);
	assert_int_equal(info.kind, kind);
	assert_true(info.revision > 0);
}

static void test_info_names_type_family_dims_and_kind_of_every_available_type(void **state)
{
	static const struct {
		const char *type, *opts;
		uint8_t dims;
		enum nfqd_ipset_kind kind;
		bool v6;
	} t[] = {
		{ "hash:ip", "", 1, NFQD_IPSET_IP, true },
		{ "hash:net", "", 1, NFQD_IPSET_NET, true },
		{ "hash:ip,port", "", 2, NFQD_IPSET_IP_PORT, true },
		{ "hash:net,port", "", 2, NFQD_IPSET_NET_PORT, true },
		{ "hash:ip,port,ip", "", 3, NFQD_IPSET_IP_PORT_IP, true },
		{ "hash:ip,port,net", "", 3, NFQD_IPSET_IP_PORT_NET, true },
		{ "hash:net,net", "", 2, NFQD_IPSET_NET_NET, true },
		{ "hash:net,port,net", "", 3, NFQD_IPSET_NET_PORT_NET, true },
		{ "hash:ip,mark", "", 2, NFQD_IPSET_IP_MARK, true },
		{ "hash:mac", "", 1, NFQD_IPSET_MAC, false },
		{ "hash:ip,mac", "", 2, NFQD_IPSET_IP_MAC, true },
		{ "bitmap:ip", "range 10.1.0.0/24", 1, NFQD_IPSET_IP, false },
		{ "bitmap:ip,mac", "range 10.1.0.0/24", 2, NFQD_IPSET_IP_MAC, false },
		{ "bitmap:port", "range 1-1024", 1, NFQD_IPSET_PORT, false },
		{ "list:set", "", 1, NFQD_IPSET_LIST, false },
	};
	struct fx *f = *state;
	char name[16], name6[16];
	unsigned int i, checked = 0;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* Types without a family of their own report NFPROTO_UNSPEC. */
		bool unspec = !strcmp(t[i].type, "hash:mac") || !strcmp(t[i].type, "bitmap:port") ||
			      !strcmp(t[i].type, "list:set");

		if (sh_quiet("ipset create s%u %s %s", i, t[i].type, t[i].opts) != 0) {
			fprintf(stderr, "skipped: this kernel has no ipset type %s\n", t[i].type);
			continue;
		}
		snprintf(name, sizeof(name), "s%u", i);
		expect_info(f, name, t[i].type, unspec ? NFPROTO_UNSPEC : NFPROTO_IPV4, t[i].dims,
			    t[i].kind);
		checked++;
		if (!t[i].v6)
			continue;
		sh("ipset create s%u-6 %s family inet6", i, t[i].type);
		snprintf(name6, sizeof(name6), "s%u-6", i);
		expect_info(f, name6, t[i].type, NFPROTO_IPV6, t[i].dims, t[i].kind);
	}
	/* This kernel has at least the types nfqd's documentation names. */
	assert_true(checked >= 10);
}

static void test_info_of_a_missing_set_is_enoent(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_info info;

	assert_int_equal(nfqd_ipset_info(f->s, "no-such-set", &info), -ENOENT);
	/* The socket is fine afterwards. */
	sh("ipset create there hash:ip");
	assert_int_equal(nfqd_ipset_info(f->s, "there", &info), 0);
}

static void test_info_of_hash_net_iface_is_eprotonosupport_with_the_info_filled(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_info info;

	NEED_TYPE("hash:net,iface", "");
	sh("ipset create byif hash:net,iface family inet6");
	assert_int_equal(nfqd_ipset_info(f->s, "byif", &info), -EPROTONOSUPPORT);
	assert_string_equal(info.name, "byif");
	assert_string_equal(info.type, "hash:net,iface");
	assert_int_equal(info.family, NFPROTO_IPV6);
	assert_int_equal(info.kind, NFQD_IPSET_KIND_MAX);
	assert_int_equal(info.dims, 0);
}

/* ---- every type: members and non-members, IPv4 and IPv6 ---- */

static void test_hash_ip_members_and_non_members_v4_v6(void **state)
{
	struct fx *f = *state;

	sh("ipset create h4 hash:ip && ipset add h4 10.1.0.1");
	sh("ipset create h6 hash:ip family inet6 && ipset add h6 fd00:1::1");
	sh("ipset create hm hash:ip netmask 24 && ipset add hm 10.2.0.0");
	const struct probe p[] = {
		{ "v4 source",
		  "h4",
		  view_ports("10.1.0.1", "10.1.0.9", IPPROTO_TCP, 1, 2),
		  { SRC },
		  1 },
		{ "v4 destination",
		  "h4",
		  view_ip("10.1.0.9", "10.1.0.1", IPPROTO_GRE),
		  { DST },
		  1 },
		{ "v4 other source",
		  "h4",
		  view_ip("10.1.0.2", "10.1.0.1", IPPROTO_UDP),
		  { SRC },
		  0 },
		{ "v4 other destination", "h4", view_ip("10.1.0.1", "10.1.0.9", 0), { DST }, 0 },
		{ "v6 source", "h6", view_icmp("fd00:1::1", "fd00:1::9", 128, 0), { SRC }, 1 },
		{ "v6 destination",
		  "h6",
		  view_ip("fd00:1::9", "fd00:1::1", IPPROTO_TCP),
		  { DST },
		  1 },
		{ "v6 other source",
		  "h6",
		  view_ip("fd00:1::2", "fd00:1::1", IPPROTO_TCP),
		  { SRC },
		  0 },
		{ "v4 in a netmask 24 set", "hm", view_ip("10.2.0.77", "10.1.0.1", 1), { SRC }, 1 },
		{ "v4 outside a netmask 24 set",
		  "hm",
		  view_ip("10.2.1.77", "10.1.0.1", 1),
		  { SRC },
		  0 },
	};

	CHECK(f, p);
}

static void test_bitmap_ip_members_non_members_and_out_of_range(void **state)
{
	struct fx *f = *state;

	sh("ipset create b bitmap:ip range 10.1.0.0/24 && ipset add b 10.1.0.5");
	const struct probe p[] = {
		{ "member", "b", view_ip("10.1.0.5", "10.9.0.1", IPPROTO_TCP), { SRC }, 1 },
		{ "in range, not member", "b", view_ip("10.1.0.6", "10.9.0.1", 6), { SRC }, 0 },
		{ "out of range", "b", view_ip("10.9.0.1", "10.1.0.5", 6), { SRC }, 0 },
		{ "member as destination", "b", view_ip("10.9.0.1", "10.1.0.5", 6), { DST }, 1 },
	};

	CHECK(f, p);
}

static void test_hash_net_matches_addresses_inside_stored_prefixes_v4_v6(void **state)
{
	struct fx *f = *state;

	sh("ipset create n4 hash:net && ipset add n4 10.0.0.0/8 && ipset add n4 10.1.2.0/24 "
	   "nomatch "
	   "&& ipset add n4 192.168.1.1");
	sh("ipset create n6 hash:net family inet6 && ipset add n6 fd00::/16 && "
	   "ipset add n6 fd00:1:2::/48 nomatch");
	const struct probe p[] = {
		{ "inside /8", "n4", view_ip("10.9.9.9", "1.1.1.1", 6), { SRC }, 1 },
		{ "inside a nomatch /24", "n4", view_ip("10.1.2.3", "1.1.1.1", 6), { SRC }, 0 },
		{ "next to the nomatch /24", "n4", view_ip("10.1.3.3", "1.1.1.1", 6), { SRC }, 1 },
		{ "a stored host", "n4", view_ip("1.1.1.1", "192.168.1.1", 17), { DST }, 1 },
		{ "next to the host", "n4", view_ip("1.1.1.1", "192.168.1.2", 17), { DST }, 0 },
		{ "outside", "n4", view_ip("11.0.0.1", "10.0.0.1", 17), { SRC }, 0 },
		{ "v6 inside /16", "n6", view_ip("fd00:7::1", "2001:db8::1", 6), { SRC }, 1 },
		{ "v6 inside nomatch /48",
		  "n6",
		  view_ip("fd00:1:2::5", "2001:db8::1", 6),
		  { SRC },
		  0 },
		{ "v6 outside", "n6", view_ip("fd01::1", "fd00::1", 6), { SRC }, 0 },
	};

	CHECK(f, p);
}

static void test_hash_ip_port_by_protocol_port_icmp_and_portless_protocols_v4_v6(void **state)
{
	struct fx *f = *state;
	struct nfqd_packet gre_later = view_ip("10.1.0.9", "10.1.0.1", IPPROTO_GRE);

	gre_later.flags |= NFQD_PKT_FRAGMENT | NFQD_PKT_FRAG_LATER;
	sh("ipset create ip4 hash:ip,port && ipset add ip4 10.1.0.1,tcp:80 && "
	   "ipset add ip4 10.1.0.1,udp:53 && ipset add ip4 10.1.0.1,sctp:9 && "
	   "ipset add ip4 10.1.0.1,udplite:7 && ipset add ip4 10.1.0.1,icmp:echo-request && "
	   "ipset add ip4 10.1.0.1,gre:0");
	sh("ipset create ip6 hash:ip,port family inet6 && ipset add ip6 fd00:1::1,tcp:443 && "
	   "ipset add ip6 fd00:1::1,icmpv6:echo-request && ipset add ip6 fd00:1::1,udp:53");
	const struct probe p[] = {
		{ "tcp to port 80",
		  "ip4",
		  view_ports("10.1.0.9", "10.1.0.1", 6, 4000, 80),
		  { DST, DST },
		  1 },
		{ "tcp from port 80 (src,src)",
		  "ip4",
		  view_ports("10.1.0.1", "10.1.0.9", 6, 80, 4000),
		  { SRC, SRC },
		  1 },
		{ "tcp to port 81",
		  "ip4",
		  view_ports("10.1.0.9", "10.1.0.1", 6, 4000, 81),
		  { DST, DST },
		  0 },
		{ "udp to port 80",
		  "ip4",
		  view_ports("10.1.0.9", "10.1.0.1", 17, 4000, 80),
		  { DST, DST },
		  0 },
		{ "udp to port 53",
		  "ip4",
		  view_ports("10.1.0.9", "10.1.0.1", 17, 4000, 53),
		  { DST, DST },
		  1 },
		{ "sctp to port 9",
		  "ip4",
		  view_ports("10.1.0.9", "10.1.0.1", 132, 4000, 9),
		  { DST, DST },
		  1 },
		{ "udplite to port 7",
		  "ip4",
		  view_ports("10.1.0.9", "10.1.0.1", IPPROTO_UDPLITE, 4000, 7),
		  { DST, DST },
		  1 },
		{ "udp source port 53 with dst address",
		  "ip4",
		  view_ports("10.1.0.9", "10.1.0.1", 17, 53, 4000),
		  { DST, SRC },
		  1 },
		{ "icmp echo request",
		  "ip4",
		  view_icmp("10.1.0.9", "10.1.0.1", 8, 0),
		  { DST, DST },
		  1 },
		{ "icmp echo reply",
		  "ip4",
		  view_icmp("10.1.0.9", "10.1.0.1", 0, 0),
		  { DST, DST },
		  0 },
		{ "gre (port 0)",
		  "ip4",
		  view_ip("10.1.0.9", "10.1.0.1", IPPROTO_GRE),
		  { DST, DST },
		  1 },
		{ "gre, later fragment", "ip4", gre_later, { DST, DST }, 1 },
		{ "gre to another address",
		  "ip4",
		  view_ip("10.1.0.9", "10.1.0.2", IPPROTO_GRE),
		  { DST, DST },
		  0 },
		{ "v6 tcp to 443",
		  "ip6",
		  view_ports("fd00:1::9", "fd00:1::1", 6, 5000, 443),
		  { DST, DST },
		  1 },
		{ "v6 tcp to 80",
		  "ip6",
		  view_ports("fd00:1::9", "fd00:1::1", 6, 5000, 80),
		  { DST, DST },
		  0 },
		{ "v6 icmpv6 echo request",
		  "ip6",
		  view_icmp("fd00:1::9", "fd00:1::1", 128, 0),
		  { DST, DST },
		  1 },
		{ "v6 icmpv6 echo reply",
		  "ip6",
		  view_icmp("fd00:1::9", "fd00:1::1", 129, 0),
		  { DST, DST },
		  0 },
		{ "v6 udp to 53",
		  "ip6",
		  view_ports("fd00:1::9", "fd00:1::1", 17, 5000, 53),
		  { DST, DST },
		  1 },
	};

	CHECK(f, p);
}

static void test_hash_net_port_v4_v6(void **state)
{
	struct fx *f = *state;

	sh("ipset create np4 hash:net,port && ipset add np4 10.0.0.0/8,tcp:443 && "
	   "ipset add np4 10.1.0.0/16,udp:53 nomatch && ipset add np4 10.0.0.0/8,udp:53");
	sh("ipset create np6 hash:net,port family inet6 && ipset add np6 fd00::/16,tcp:443");
	const struct probe p[] = {
		{ "inside, tcp 443",
		  "np4",
		  view_ports("10.5.5.5", "1.1.1.1", 6, 443, 1),
		  { SRC, SRC },
		  1 },
		{ "inside, tcp 444",
		  "np4",
		  view_ports("10.5.5.5", "1.1.1.1", 6, 444, 1),
		  { SRC, SRC },
		  0 },
		{ "outside, tcp 443",
		  "np4",
		  view_ports("11.5.5.5", "1.1.1.1", 6, 443, 1),
		  { SRC, SRC },
		  0 },
		{ "udp 53 in the nomatch /16",
		  "np4",
		  view_ports("10.1.5.5", "1.1.1.1", 17, 53, 1),
		  { SRC, SRC },
		  0 },
		{ "udp 53 in the /8",
		  "np4",
		  view_ports("10.2.5.5", "1.1.1.1", 17, 53, 1),
		  { SRC, SRC },
		  1 },
		{ "v6 inside, tcp 443",
		  "np6",
		  view_ports("2001:db8::1", "fd00:3::3", 6, 1, 443),
		  { DST, DST },
		  1 },
		{ "v6 outside, tcp 443",
		  "np6",
		  view_ports("2001:db8::1", "fd01::3", 6, 1, 443),
		  { DST, DST },
		  0 },
	};

	CHECK(f, p);
}

static void test_hash_ip_port_ip_v4_v6(void **state)
{
	struct fx *f = *state;

	sh("ipset create ipi4 hash:ip,port,ip && ipset add ipi4 10.1.0.1,tcp:80,10.1.0.9");
	sh("ipset create ipi6 hash:ip,port,ip family inet6 && "
	   "ipset add ipi6 fd00:1::1,udp:53,fd00:1::9");
	const struct probe p[] = {
		{ "dst,dst,src",
		  "ipi4",
		  view_ports("10.1.0.9", "10.1.0.1", 6, 3000, 80),
		  { DST, DST, SRC },
		  1 },
		{ "other client",
		  "ipi4",
		  view_ports("10.1.0.8", "10.1.0.1", 6, 3000, 80),
		  { DST, DST, SRC },
		  0 },
		{ "sides swapped",
		  "ipi4",
		  view_ports("10.1.0.1", "10.1.0.9", 6, 80, 3000),
		  { SRC, SRC, DST },
		  1 },
		{ "v6 dst,dst,src",
		  "ipi6",
		  view_ports("fd00:1::9", "fd00:1::1", 17, 3000, 53),
		  { DST, DST, SRC },
		  1 },
		{ "v6 other server",
		  "ipi6",
		  view_ports("fd00:1::9", "fd00:1::2", 17, 3000, 53),
		  { DST, DST, SRC },
		  0 },
	};

	CHECK(f, p);
}

static void test_hash_ip_port_net_v4_v6(void **state)
{
	struct fx *f = *state;

	sh("ipset create ipn4 hash:ip,port,net && ipset add ipn4 10.1.0.1,tcp:80,10.9.0.0/16");
	sh("ipset create ipn6 hash:ip,port,net family inet6 && "
	   "ipset add ipn6 fd00:1::1,tcp:80,fd00:9::/32");
	const struct probe p[] = {
		{ "client inside the net",
		  "ipn4",
		  view_ports("10.9.3.4", "10.1.0.1", 6, 3000, 80),
		  { DST, DST, SRC },
		  1 },
		{ "client outside the net",
		  "ipn4",
		  view_ports("10.8.3.4", "10.1.0.1", 6, 3000, 80),
		  { DST, DST, SRC },
		  0 },
		{ "v6 client inside",
		  "ipn6",
		  view_ports("fd00:9:1::4", "fd00:1::1", 6, 3000, 80),
		  { DST, DST, SRC },
		  1 },
		{ "v6 client outside",
		  "ipn6",
		  view_ports("fd00:8::4", "fd00:1::1", 6, 3000, 80),
		  { DST, DST, SRC },
		  0 },
	};

	CHECK(f, p);
}

static void test_hash_net_net_v4_v6(void **state)
{
	struct fx *f = *state;

	NEED_TYPE("hash:net,net", "");
	sh("ipset create nn4 hash:net,net && ipset add nn4 10.1.0.0/16,10.2.0.0/24");
	sh("ipset create nn6 hash:net,net family inet6 && ipset add nn6 fd00:1::/32,fd00:2::/48");
	const struct probe p[] = {
		{ "both inside", "nn4", view_ip("10.1.7.7", "10.2.0.7", 6), { SRC, DST }, 1 },
		{ "second outside", "nn4", view_ip("10.1.7.7", "10.2.1.7", 6), { SRC, DST }, 0 },
		{ "v6 both inside",
		  "nn6",
		  view_ip("fd00:1:5::1", "fd00:2::7", 6),
		  { SRC, DST },
		  1 },
		{ "v6 first outside",
		  "nn6",
		  view_ip("fd00:3::1", "fd00:2::7", 6),
		  { SRC, DST },
		  0 },
	};

	CHECK(f, p);
}

static void test_hash_net_port_net_v4_v6(void **state)
{
	struct fx *f = *state;

	NEED_TYPE("hash:net,port,net", "");
	sh("ipset create npn4 hash:net,port,net && ipset add npn4 10.1.0.0/16,tcp:22,10.2.0.0/24");
	sh("ipset create npn6 hash:net,port,net family inet6 && "
	   "ipset add npn6 fd00:1::/32,tcp:22,fd00:2::/48");
	const struct probe p[] = {
		{ "inside, port 22",
		  "npn4",
		  view_ports("10.1.7.7", "10.2.0.7", 6, 5000, 22),
		  { SRC, DST, DST },
		  1 },
		{ "inside, port 23",
		  "npn4",
		  view_ports("10.1.7.7", "10.2.0.7", 6, 5000, 23),
		  { SRC, DST, DST },
		  0 },
		{ "v6 inside, port 22",
		  "npn6",
		  view_ports("fd00:1::1", "fd00:2::7", 6, 5000, 22),
		  { SRC, DST, DST },
		  1 },
		{ "v6 outside, port 22",
		  "npn6",
		  view_ports("fd00:1::1", "fd00:3::7", 6, 5000, 22),
		  { SRC, DST, DST },
		  0 },
	};

	CHECK(f, p);
}

static void test_hash_ip_mark_applies_the_set_markmask_v4_v6(void **state)
{
	struct fx *f = *state;
	struct nfqd_packet m105 = view_ip("10.1.0.1", "10.1.0.9", 6);
	struct nfqd_packet m6 = view_ip("10.1.0.1", "10.1.0.9", 6);
	struct nfqd_packet v6m5 = view_ip("fd00:1::1", "fd00:1::9", 6);
	struct nfqd_packet v6m0 = view_ip("fd00:1::1", "fd00:1::9", 6);

	NEED_TYPE("hash:ip,mark", "");
	view_set_mark(&m105, 0x105);
	view_set_mark(&m6, 0x6);
	view_set_mark(&v6m5, 0x5);
	sh("ipset create im4 hash:ip,mark markmask 0xff && ipset add im4 10.1.0.1,0x5");
	sh("ipset create im6 hash:ip,mark family inet6 && ipset add im6 fd00:1::1,0x5");
	const struct probe p[] = {
		{ "mark 0x105 under mask 0xff", "im4", m105, { SRC, SRC }, 1 },
		{ "mark 0x6", "im4", m6, { SRC, DST }, 0 },
		{ "v6 mark 5", "im6", v6m5, { SRC, SRC }, 1 },
		{ "v6 no mark", "im6", v6m0, { SRC, SRC }, 0 },
	};

	CHECK(f, p);
}

static void test_hash_mac_matches_the_source_mac(void **state)
{
	struct fx *f = *state;
	struct nfqd_packet in = view_ip("10.1.0.1", "10.1.0.9", 6);
	struct nfqd_packet other = view_ip("fd00::1", "fd00::9", 6);

	NEED_TYPE("hash:mac", "");
	view_set_mac(&in, "02:00:00:00:00:01");
	view_set_mac(&other, "02:00:00:00:00:02");
	sh("ipset create m hash:mac && ipset add m 02:00:00:00:00:01");
	const struct probe p[] = {
		{ "stored source MAC", "m", in, { SRC }, 1 },
		{ "other source MAC (IPv6 packet)", "m", other, { SRC }, 0 },
	};

	CHECK(f, p);
}

static void test_hash_ip_mac_v4_v6(void **state)
{
	struct fx *f = *state;
	struct nfqd_packet a = view_ip("10.1.0.1", "10.1.0.9", 6);
	struct nfqd_packet b = view_ip("10.1.0.1", "10.1.0.9", 6);
	struct nfqd_packet c = view_ip("fd00:1::1", "fd00:1::9", 6);

	NEED_TYPE("hash:ip,mac", "");
	view_set_mac(&a, "02:00:00:00:00:01");
	view_set_mac(&b, "02:00:00:00:00:02");
	view_set_mac(&c, "02:00:00:00:00:01");
	sh("ipset create im hash:ip,mac && ipset add im 10.1.0.1,02:00:00:00:00:01");
	sh("ipset create im6 hash:ip,mac family inet6 && ipset add im6 "
	   "fd00:1::1,02:00:00:00:00:01");
	const struct probe p[] = {
		{ "address with its MAC", "im", a, { SRC, SRC }, 1 },
		{ "address with another MAC", "im", b, { SRC, SRC }, 0 },
		{ "v6 address with its MAC", "im6", c, { SRC, SRC }, 1 },
	};

	CHECK(f, p);
}

static void test_bitmap_ip_mac_by_address_and_source_mac(void **state)
{
	struct fx *f = *state;
	struct nfqd_packet a = view_ip("10.1.0.1", "10.9.0.1", 6);
	struct nfqd_packet b = view_ip("10.1.0.1", "10.9.0.1", 6);
	struct nfqd_packet c = view_ip("10.1.0.2", "10.9.0.1", 6);
	struct nfqd_packet d = view_ip("10.1.0.3", "10.9.0.1", 6);

	view_set_mac(&a, "02:00:00:00:00:01");
	view_set_mac(&b, "02:00:00:00:00:02");
	view_set_mac(&c, "02:00:00:00:00:07");
	view_set_mac(&d, "02:00:00:00:00:01");
	sh("ipset create bm bitmap:ip,mac range 10.1.0.0/24 && "
	   "ipset add bm 10.1.0.1,02:00:00:00:00:01 && ipset add bm 10.1.0.2");
	const struct probe p[] = {
		{ "address with its MAC", "bm", a, { SRC, SRC }, 1 },
		{ "address with another MAC", "bm", b, { SRC, SRC }, 0 },
		/* The kernel's match takes the first MAC seen for an address stored without one;
		 * its test answers such an address as a member with any MAC. */
		{ "address stored without MAC", "bm", c, { SRC, SRC }, 1 },
		{ "address not stored", "bm", d, { SRC, SRC }, 0 },
	};

	CHECK(f, p);
}

static void test_bitmap_port_takes_tcp_and_udp_ports_of_either_family(void **state)
{
	struct fx *f = *state;

	sh("ipset create bp bitmap:port range 1-1024 && ipset add bp 80 && ipset add bp 53");
	const struct probe p[] = {
		{ "tcp to 80", "bp", view_ports("10.1.0.9", "10.1.0.1", 6, 4000, 80), { DST }, 1 },
		{ "udp to 80", "bp", view_ports("10.1.0.9", "10.1.0.1", 17, 4000, 80), { DST }, 1 },
		{ "tcp to 81", "bp", view_ports("10.1.0.9", "10.1.0.1", 6, 4000, 81), { DST }, 0 },
		{ "udp from 53",
		  "bp",
		  view_ports("10.1.0.1", "10.1.0.9", 17, 53, 4000),
		  { SRC },
		  1 },
		{ "v6 tcp to 80", "bp", view_ports("fd00::9", "fd00::1", 6, 4000, 80), { DST }, 1 },
		{ "out of range",
		  "bp",
		  view_ports("10.1.0.9", "10.1.0.1", 6, 80, 4000),
		  { DST },
		  0 },
	};

	CHECK(f, p);
}

/* ---- list:set ---- */

static void test_list_set_members_come_in_order(void **state)
{
	struct fx *f = *state;
	char names[4][NFQD_IPSET_NAME_MAX];
	char two[2][NFQD_IPSET_NAME_MAX];
	struct nfqd_ipset_info info;
	struct nfqd_ipset_elem e;
	const uint8_t dirs[] = { SRC };
	struct nfqd_packet pkt = view_ip("10.1.0.1", "10.1.0.2", 6);

	sh("ipset create a hash:ip && ipset create b hash:net && ipset create c hash:ip,port");
	sh("ipset create L list:set && ipset add L a && ipset add L c && ipset add L b before c");
	expect_info(f, "L", "list:set", NFPROTO_UNSPEC, 1, NFQD_IPSET_LIST);
	assert_int_equal(nfqd_ipset_list_members(f->s, "L", names, 4), 3);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	assert_string_equal(names[2], "c");
	/* With room for two, the count is still three and the first two are written. */
	assert_int_equal(nfqd_ipset_list_members(f->s, "L", two, 2), 3);
	assert_string_equal(two[0], "a");
	assert_string_equal(two[1], "b");
	/* A list:set has no element of its own. */
	info_ok(f, "L", &info);
	assert_int_equal(nfqd_ipset_elem_from_packet(&info, dirs, &pkt, &e), -EINVAL);

	/* Edits are seen by the next call. */
	sh("ipset del L a && ipset create d hash:ip && ipset add L d");
	assert_int_equal(nfqd_ipset_list_members(f->s, "L", names, 4), 3);
	assert_string_equal(names[0], "b");
	assert_string_equal(names[1], "c");
	assert_string_equal(names[2], "d");
	sh("ipset flush L");
	assert_int_equal(nfqd_ipset_list_members(f->s, "L", names, 4), 0);
}

static void test_list_set_of_many_members_is_read_whole(void **state)
{
	struct fx *f = *state;
	static char names[300][NFQD_IPSET_NAME_MAX];
	char expect[NFQD_IPSET_NAME_MAX];
	FILE *script;
	unsigned int i;

	/* Enough members (with long names) that the kernel splits the dump into several
	 * messages. */
	script = restore_open();
	assert_non_null(script);
	fprintf(script, "create L list:set size 300\n");
	for (i = 0; i < 300; i++)
		fprintf(script, "create member-set-with-long-name-%03u hash:ip\n", i);
	for (i = 0; i < 300; i++)
		fprintf(script, "add L member-set-with-long-name-%03u\n", i);
	restore_close(script);
	assert_int_equal(nfqd_ipset_list_members(f->s, "L", names, 300), 300);
	for (i = 0; i < 300; i++) {
		snprintf(expect, sizeof(expect), "member-set-with-long-name-%03u", i % 1000);
		assert_string_equal(names[i], expect);
	}
}

static void test_list_members_of_a_missing_set_is_enoent_and_of_a_hash_set_einval(void **state)
{
	struct fx *f = *state;
	char names[4][NFQD_IPSET_NAME_MAX];
	struct nfqd_ipset_info info;

	sh("ipset create h hash:ip && ipset add h 10.1.0.1");
	assert_int_equal(nfqd_ipset_list_members(f->s, "nope", names, 4), -ENOENT);
	assert_int_equal(nfqd_ipset_list_members(f->s, "h", names, 4), -EINVAL);
	/* Nothing of either answer is left on the socket. */
	assert_int_equal(nfqd_ipset_info(f->s, "h", &info), 0);
	assert_string_equal(info.type, "hash:ip");
}

/* ---- batches ---- */

static void test_batch_of_hundreds_with_duplicates_tests_each_once_correctly(void **state)
{
	struct fx *f = *state;
	static const char *big = "big", *big6 = "big6";
	static int idx[3][512];
	struct nfqd_ipset_elem e;
	FILE *script;
	int round, i;

	/* Members: 10.3.0.<even> and fd00:3::<even>, for i in 0..255. */
	script = restore_open();
	assert_non_null(script);
	fprintf(script, "create big hash:ip\ncreate big6 hash:ip family inet6\n");
	for (i = 0; i < 256; i += 2)
		fprintf(script, "add big 10.3.0.%d\nadd big6 fd00:3::%x\n", i, i);
	restore_close(script);

	/* 512 distinct tests (256 IPv4, 256 IPv6), each added three times, interleaved. */
	nfqd_ipset_batch_reset(f->b);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 512; i++) {
			int j = (i * 7 + round * 13) % 512; /* a different order each round */
			int a = j % 256;

			memset(&e, 0, sizeof(e));
			e.flags = NFQD_ELEM_IP;
			if (j < 256) {
				e.family = 4;
				e.ip.w[0] = htonl(0x0a030000u | (uint32_t)a);
			} else {
				e.family = 6;
				inet_pton(AF_INET6, "fd00:3::", &e.ip);
				e.ip.b[15] = (uint8_t)a;
			}
			idx[round][j] = nfqd_ipset_batch_add(f->b, j < 256 ? big : big6, &e);
			assert_true(idx[round][j] >= 0);
		}
	}
	assert_int_equal(nfqd_ipset_batch_count(f->b), 512);
	for (i = 0; i < 512; i++) {
		assert_int_equal(idx[1][i], idx[0][i]);
		assert_int_equal(idx[2][i], idx[0][i]);
	}
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	for (i = 0; i < 512; i++)
		assert_int_equal(nfqd_ipset_batch_result(f->b, (unsigned int)idx[0][i]),
				 (i % 256) % 2 == 0 ? 1 : 0);
}

static void test_batch_at_full_capacity_gets_every_answer_in_one_run(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_elem e = { .family = 4, .flags = NFQD_ELEM_IP };
	unsigned int i;

	/* Members: every address of 10.4.0.0/16 whose low 12 bits are a multiple of 3. */
	sh("ipset create cap hash:ip && for i in $(seq 0 3 4095); do "
	   "echo add cap 10.4.$((i / 256)).$((i %% 256)); done | ipset restore");
	nfqd_ipset_batch_reset(f->b);
	for (i = 0; i < NFQD_IPSET_BATCH_MAX; i++) {
		e.ip.w[0] = htonl(0x0a040000u | i);
		assert_int_equal(nfqd_ipset_batch_add(f->b, "cap", &e), (int)i);
	}
	e.ip.w[0] = htonl(0x0a050000u);
	assert_int_equal(nfqd_ipset_batch_add(f->b, "cap", &e), -ENOSPC);
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	for (i = 0; i < NFQD_IPSET_BATCH_MAX; i++)
		assert_int_equal(nfqd_ipset_batch_result(f->b, i), i % 3 == 0 ? 1 : 0);
	/* And again on the same socket: no answer of the first run is left over. */
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	for (i = 0; i < NFQD_IPSET_BATCH_MAX; i++)
		assert_int_equal(nfqd_ipset_batch_result(f->b, i), i % 3 == 0 ? 1 : 0);
}

static void test_a_set_destroyed_after_lookup_answers_enoent(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_info info;
	struct nfqd_ipset_elem e;
	const uint8_t dirs[] = { SRC };
	struct nfqd_packet pkt = view_ip("10.1.0.1", "10.1.0.2", 6);
	int gone, kept;

	sh("ipset create gone hash:ip && ipset add gone 10.1.0.1");
	sh("ipset create kept hash:ip && ipset add kept 10.1.0.1");
	info_ok(f, "gone", &info);
	assert_int_equal(nfqd_ipset_elem_from_packet(&info, dirs, &pkt, &e), 1);
	nfqd_ipset_batch_reset(f->b);
	gone = nfqd_ipset_batch_add(f->b, "gone", &e);
	kept = nfqd_ipset_batch_add(f->b, "kept", &e);
	sh("ipset destroy gone");
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	assert_int_equal(nfqd_ipset_batch_result(f->b, (unsigned int)gone), -ENOENT);
	assert_int_equal(nfqd_ipset_batch_result(f->b, (unsigned int)kept), 1);
	assert_int_equal(nfqd_ipset_info(f->s, "gone", &info), -ENOENT);
}

static void expect_results(struct fx *f, int r0, int r1)
{
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	assert_int_equal(nfqd_ipset_batch_result(f->b, 0), r0);
	assert_int_equal(nfqd_ipset_batch_result(f->b, 1), r1);
}

static void test_add_del_swap_and_flush_between_runs_are_seen_by_the_next_run(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_elem e = { .family = 4, .flags = NFQD_ELEM_IP };

	sh("ipset create live hash:ip && ipset create other hash:ip && ipset add other 10.1.0.1");
	nfqd_ipset_batch_reset(f->b);
	e.ip.w[0] = htonl(0x0a010001u);
	assert_int_equal(nfqd_ipset_batch_add(f->b, "live", &e), 0);
	e.ip.w[0] = htonl(0x0a010002u);
	assert_int_equal(nfqd_ipset_batch_add(f->b, "live", &e), 1);

	expect_results(f, 0, 0);
	sh("ipset add live 10.1.0.1");
	expect_results(f, 1, 0);
	sh("ipset del live 10.1.0.1 && ipset add live 10.1.0.2");
	expect_results(f, 0, 1);
	sh("ipset swap live other");
	expect_results(f, 1, 0);
	sh("ipset flush live");
	expect_results(f, 0, 0);
	sh("ipset add live 10.1.0.2");
	expect_results(f, 0, 1);
}

static void test_a_batch_mixing_sets_types_and_families_maps_each_answer_to_its_test(void **state)
{
	struct fx *f = *state;
	static const char *sets[] = { "m4", "m6", "mp", "mb" };
	struct nfqd_ipset_elem e;
	int expect[64], idx[64];
	unsigned int n = 0, i;

	sh("ipset create m4 hash:ip && ipset create m6 hash:ip family inet6 && "
	   "ipset create mp hash:ip,port && ipset create mb bitmap:port range 0-1023");
	/* One member in each: the tests of i = 4, 5, 6 and 7. */
	sh("ipset add m4 10.1.0.4 && ipset add m6 fd00::5 && ipset add mp 10.1.0.3,tcp:6 && "
	   "ipset add mb 7");
	nfqd_ipset_batch_reset(f->b);
	for (i = 0; i < 16; i++) {
		unsigned int s = i % 4;

		memset(&e, 0, sizeof(e));
		switch (s) {
		case 0:
			e.family = 4;
			e.flags = NFQD_ELEM_IP;
			e.ip.w[0] = htonl(0x0a010000u | i);
			break;
		case 1:
			e.family = 6;
			e.flags = NFQD_ELEM_IP;
			inet_pton(AF_INET6, "fd00::", &e.ip);
			e.ip.b[15] = (uint8_t)i;
			break;
		case 2:
			e.family = 4;
			e.flags = NFQD_ELEM_IP | NFQD_ELEM_PORT;
			e.ip.w[0] = htonl(0x0a010003u);
			e.proto = IPPROTO_TCP;
			e.port = (uint16_t)i;
			break;
		default:
			e.flags = NFQD_ELEM_PORT;
			e.port = (uint16_t)i;
			break;
		}
		idx[n] = nfqd_ipset_batch_add(f->b, sets[s], &e);
		assert_true(idx[n] >= 0);
		expect[n++] = i >= 4 && i <= 7 ? 1 : 0;
	}
	/* A test of a missing set among them. */
	e.family = 4;
	e.flags = NFQD_ELEM_IP;
	e.ip.w[0] = htonl(0x0a010003u);
	idx[n] = nfqd_ipset_batch_add(f->b, "missing", &e);
	expect[n++] = -ENOENT;
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(nfqd_ipset_batch_result(f->b, (unsigned int)idx[i]), expect[i]);
}

static void test_a_batch_of_no_tests_runs_without_asking(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_info info;

	nfqd_ipset_batch_reset(f->b);
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	assert_int_equal(nfqd_ipset_info(f->s, "none", &info), -ENOENT);
}

/*
 * Header checks ride in the same exchange as the tests and see a set recreated with another
 * type and family; a second round asks only the tests added since, with their own check.
 */
static void test_header_checks_after_the_tests_see_a_recreated_set(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_info info;
	struct nfqd_ipset_elem e = { .family = 4, .flags = NFQD_ELEM_IP };
	int t0, t1, h, g;

	memcpy(e.ip.b, "\x0a\x01\x00\x01", 4);
	sh("ipset create hc hash:ip family inet6");
	nfqd_ipset_batch_reset(f->b);
	t0 = nfqd_ipset_batch_add(f->b, "hc", &e);
	h = nfqd_ipset_batch_add_header(f->b, "hc");
	g = nfqd_ipset_batch_add_header(f->b, "nosuch");
	assert_true(t0 >= 0 && h >= 0 && g >= 0);
	assert_int_equal(nfqd_ipset_batch_add_header(f->b, "hc"), h);
	assert_int_equal(nfqd_ipset_batch_header(f->b, (unsigned int)h, &info), -EAGAIN);
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	/* the kernel answers "not a member" for the other family: only the header tells */
	assert_int_equal(nfqd_ipset_batch_result(f->b, (unsigned int)t0), 0);
	assert_int_equal(nfqd_ipset_batch_header(f->b, (unsigned int)h, &info), 0);
	assert_string_equal(info.name, "hc");
	assert_string_equal(info.type, "hash:ip");
	assert_int_equal(info.family, NFPROTO_IPV6);
	assert_int_equal(nfqd_ipset_batch_header(f->b, (unsigned int)g, &info), -ENOENT);

	sh("ipset destroy hc && ipset create hc hash:ip,port && ipset add hc 10.1.0.1,udp:53");
	e.flags |= NFQD_ELEM_PORT;
	e.proto = IPPROTO_UDP;
	e.port = 53;
	t1 = nfqd_ipset_batch_add(f->b, "hc", &e);
	assert_int_equal(t1, t0 + 1);
	assert_int_equal(nfqd_ipset_batch_add_header(f->b, "hc"), h);
	assert_int_equal(nfqd_ipset_batch_run_new(f->s, f->b), 0);
	/* the first test keeps its answer of the first round */
	assert_int_equal(nfqd_ipset_batch_result(f->b, (unsigned int)t0), 0);
	assert_int_equal(nfqd_ipset_batch_result(f->b, (unsigned int)t1), 1);
	assert_int_equal(nfqd_ipset_batch_header(f->b, (unsigned int)h, &info), 0);
	assert_string_equal(info.type, "hash:ip,port");
	assert_int_equal(info.family, NFPROTO_IPV4);
	assert_int_equal(info.kind, NFQD_IPSET_IP_PORT);
	/* the header not asked again keeps its answer */
	assert_int_equal(nfqd_ipset_batch_header(f->b, (unsigned int)g, &info), -ENOENT);
}

/* ---- bounded waits ---- */

/*
 * The kernel answers inside send(): an exchange whose deadline has already passed (a worker
 * that was off the CPU) still reads every answer queued, a dump the kernel continues at each
 * read included, and fails nothing. Only a missing answer is a timeout.
 */
static void test_a_deadline_already_past_still_reads_every_answer_queued(void **state)
{
	struct fx *f = *state;
	static char names[300][NFQD_IPSET_NAME_MAX];
	struct nfqd_ipset_elem e = { .family = 4, .flags = NFQD_ELEM_IP };
	struct nfqd_ipset_info info;
	FILE *script;
	unsigned int i;

	script = restore_open();
	assert_non_null(script);
	fprintf(script, "create cap hash:ip\ncreate L list:set size 300\n");
	for (i = 0; i < NFQD_IPSET_BATCH_MAX; i += 3)
		fprintf(script, "add cap 10.4.%u.%u\n", i / 256, i % 256);
	for (i = 0; i < 300; i++)
		fprintf(script,
			"create member-set-with-long-name-%03u hash:ip\n"
			"add L member-set-with-long-name-%03u\n",
			i, i);
	restore_close(script);

	nfqd_ipset_set_deadline(f->s, nfqd_now_ns() - 1000 * NFQD_NS_PER_MS);
	nfqd_ipset_batch_reset(f->b);
	for (i = 0; i < NFQD_IPSET_BATCH_MAX; i++) {
		e.ip.w[0] = htonl(0x0a040000u | i);
		assert_int_equal(nfqd_ipset_batch_add(f->b, "cap", &e), (int)i);
	}
	assert_int_equal(nfqd_ipset_batch_add_header(f->b, "cap"), 0);
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	for (i = 0; i < NFQD_IPSET_BATCH_MAX; i++)
		assert_int_equal(nfqd_ipset_batch_result(f->b, i), i % 3 == 0 ? 1 : 0);
	assert_int_equal(nfqd_ipset_batch_header(f->b, 0, &info), 0);
	assert_string_equal(info.type, "hash:ip");
	assert_int_equal(nfqd_ipset_list_members(f->s, "L", names, 300), 300);
	assert_string_equal(names[299], "member-set-with-long-name-299");
	assert_int_equal(nfqd_ipset_info(f->s, "L", &info), 0);
	assert_string_equal(info.type, "list:set");
	/* a refusal is an answer too */
	assert_int_equal(nfqd_ipset_info(f->s, "nope", &info), -ENOENT);
}

/* ---- protocol versions ---- */

/*
 * This kernel speaks ipset protocols 6 and 7: a socket asks it at its first exchange and speaks
 * 7, the kernel echoes that version in its header answers, and set lookups (a batch of tests
 * and header checks, as the workers run them for set rules) answer right in it.
 */
static void test_this_kernel_is_spoken_to_in_version_7_and_set_lookups_work_in_it(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_info info;
	const struct probe p[] = {
		{ "member", "bl", view_ip("10.1.0.1", "10.1.0.9", IPPROTO_UDP), { SRC }, 1 },
		{ "not a member", "bl", view_ip("10.1.0.2", "10.1.0.9", IPPROTO_UDP), { SRC }, 0 },
		{ "member by destination",
		  "bl",
		  view_ip("10.1.0.9", "10.1.0.1", IPPROTO_TCP),
		  { DST },
		  1 },
	};
	int v;

	sh("ipset create bl hash:ip && ipset add bl 10.1.0.1");
	/* the first exchange of a new socket asks the version itself */
	info_ok(f, "bl", &info);
	assert_int_equal(info.protocol, NFQD_IPSET_PROTOCOL_MAX);
	v = nfqd_ipset_protocol(f->s);
	fprintf(stderr, "negotiated ipset protocol %d\n", v);
	assert_int_equal(v, 7);
	CHECK(f, p);
	nfqd_ipset_batch_reset(f->b);
	assert_int_equal(nfqd_ipset_batch_add_header(f->b, "bl"), 0);
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	assert_int_equal(nfqd_ipset_batch_header(f->b, 0, &info), 0);
	assert_int_equal(info.protocol, 7);
}

/*
 * Every request nfqd sends works in version 6, which this kernel still speaks (a 4.4 kernel
 * speaks nothing else): the kernel echoes 6 in its header answers, so the header requests, alone
 * and in a batch, went out in 6; tests, a list:set dump (laid out without IPSET_ATTR_INDEX in 6)
 * and refusals answer as in 7.
 */
static void test_every_request_works_in_version_6_which_this_kernel_speaks_too(void **state)
{
	struct fx *f = *state;
	struct nfqd_ipset_info info;
	char names[4][NFQD_IPSET_NAME_MAX];
	const struct probe p[] = {
		{ "member", "bl", view_ip("10.1.0.1", "10.1.0.9", IPPROTO_UDP), { SRC }, 1 },
		{ "not a member", "bl", view_ip("10.1.0.2", "10.1.0.9", IPPROTO_UDP), { SRC }, 0 },
		{ "port member",
		  "bp",
		  view_ports("2001:db8::1", "2001:db8::9", IPPROTO_TCP, 4000, 443),
		  { SRC, DST },
		  1 },
		{ "port not a member",
		  "bp",
		  view_ports("2001:db8::1", "2001:db8::9", IPPROTO_TCP, 4000, 80),
		  { SRC, DST },
		  0 },
	};

	assert_int_equal(nfqd_ipset_limit_protocol(f->s, 5), -EINVAL);
	assert_int_equal(nfqd_ipset_limit_protocol(f->s, 8), -EINVAL);
	assert_int_equal(nfqd_ipset_limit_protocol(f->s, 6), 0);
	assert_int_equal(nfqd_ipset_protocol(f->s), 6);
	sh("ipset create bl hash:ip && ipset add bl 10.1.0.1");
	sh("ipset create bp hash:ip,port family inet6 && ipset add bp 2001:db8::1,tcp:443");
	sh("ipset create L list:set && ipset add L bl && ipset add L bp");

	info_ok(f, "bl", &info);
	assert_int_equal(info.protocol, 6);
	assert_string_equal(info.type, "hash:ip");
	CHECK(f, p);
	nfqd_ipset_batch_reset(f->b);
	assert_int_equal(nfqd_ipset_batch_add_header(f->b, "bp"), 0);
	assert_int_equal(nfqd_ipset_batch_add_header(f->b, "gone"), 1);
	assert_int_equal(nfqd_ipset_batch_run(f->s, f->b), 0);
	assert_int_equal(nfqd_ipset_batch_header(f->b, 0, &info), 0);
	assert_int_equal(info.protocol, 6);
	assert_int_equal(info.kind, NFQD_IPSET_IP_PORT);
	assert_int_equal(nfqd_ipset_batch_header(f->b, 1, &info), -ENOENT);
	assert_int_equal(nfqd_ipset_list_members(f->s, "L", names, 4), 2);
	assert_string_equal(names[0], "bl");
	assert_string_equal(names[1], "bp");
	assert_int_equal(nfqd_ipset_list_members(f->s, "nope", names, 4), -ENOENT);
	assert_int_equal(nfqd_ipset_info(f->s, "nope", &info), -ENOENT);

	/* and back to the highest: the kernel is asked again */
	assert_int_equal(nfqd_ipset_limit_protocol(f->s, NFQD_IPSET_PROTOCOL_MAX), 0);
	info_ok(f, "bl", &info);
	assert_int_equal(info.protocol, 7);
	assert_int_equal(nfqd_ipset_protocol(f->s), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_info_names_type_family_dims_and_kind_of_every_available_type),
		T(test_info_of_a_missing_set_is_enoent),
		T(test_header_checks_after_the_tests_see_a_recreated_set),
		T(test_info_of_hash_net_iface_is_eprotonosupport_with_the_info_filled),
		T(test_hash_ip_members_and_non_members_v4_v6),
		T(test_bitmap_ip_members_non_members_and_out_of_range),
		T(test_hash_net_matches_addresses_inside_stored_prefixes_v4_v6),
		T(test_hash_ip_port_by_protocol_port_icmp_and_portless_protocols_v4_v6),
		T(test_hash_net_port_v4_v6),
		T(test_hash_ip_port_ip_v4_v6),
		T(test_hash_ip_port_net_v4_v6),
		T(test_hash_net_net_v4_v6),
		T(test_hash_net_port_net_v4_v6),
		T(test_hash_ip_mark_applies_the_set_markmask_v4_v6),
		T(test_hash_mac_matches_the_source_mac),
		T(test_hash_ip_mac_v4_v6),
		T(test_bitmap_ip_mac_by_address_and_source_mac),
		T(test_bitmap_port_takes_tcp_and_udp_ports_of_either_family),
		T(test_list_set_members_come_in_order),
		T(test_list_set_of_many_members_is_read_whole),
		T(test_list_members_of_a_missing_set_is_enoent_and_of_a_hash_set_einval),
		T(test_batch_of_hundreds_with_duplicates_tests_each_once_correctly),
		T(test_batch_at_full_capacity_gets_every_answer_in_one_run),
		T(test_a_set_destroyed_after_lookup_answers_enoent),
		T(test_add_del_swap_and_flush_between_runs_are_seen_by_the_next_run),
		T(test_a_batch_mixing_sets_types_and_families_maps_each_answer_to_its_test),
		T(test_a_batch_of_no_tests_runs_without_asking),
		T(test_a_deadline_already_past_still_reads_every_answer_queued),
		T(test_this_kernel_is_spoken_to_in_version_7_and_set_lookups_work_in_it),
		T(test_every_request_works_in_version_6_which_this_kernel_speaks_too),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
