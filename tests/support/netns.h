/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Throwaway test topology on the real kernel: two network namespaces, "cli" and "fw", joined
 * by a veth pair, with IPv4 and IPv6 addresses. Names carry a tag and the test's pid, so that
 * parallel runs never collide; destroying the topology kills nothing but removes the
 * namespaces, and with them their rules, sets and links.
 */
#ifndef NFQD_TEST_NETNS_H
#define NFQD_TEST_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Deadline of every wait for a condition in the test support: generous, because the tests run
 * on loaded machines (sanitizer builds and other suites in parallel on two cores). */
#define TEST_DEADLINE_MS 60000

struct topo {
	char cli[48], fw[48];	/* namespace names */
	char cli4[16], fw4[16]; /* 10.199.0.1 and 10.199.0.2 */
	char cli6[48], fw6[48]; /* fd00:199::1 and fd00:199::2 */
	bool up;
};

/* Create the namespaces nfqd-t-<tag>-<pid>-{cli,fw}, the veth pair and addresses, and wait
 * until IPv6 duplicate address detection is done. Returns 0 or -1 (with a message on stderr). */
int topo_create(struct topo *t, const char *tag);

/* Add n more IPv4 addresses to the client, 10.199.0.100 upwards, and write them into list
 * (comma-separated, for udp_send). Returns 0 or -1. */
int topo_add_client_addrs(struct topo *t, unsigned int n, char *list, size_t len);

/* Delete both namespaces (and so everything in them). Safe to call twice. */
void topo_destroy(struct topo *t);

/* Run a shell command inside namespace ns; returns its exit status (or -1). The command is
 * echoed on stderr when it fails. */
int ns_sh(const char *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run a shell command inside ns and capture its stdout (malloc'd, NUL-terminated) in *out. */
int ns_sh_out(const char *ns, char **out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Switch the calling thread into ns. Returns a handle for ns_leave(), or -1. */
int ns_enter(const char *ns);

/* Return the calling thread to the namespace it was in before ns_enter(). */
void ns_leave(int handle);

struct fdstore;

/* A running nfqd under test. */
struct nfqd_proc {
	pid_t pid;
	char dir[32];	  /* private temporary directory */
	char conf[64];	  /* config file */
	char control[64]; /* control socket */
	char log[64];	  /* nfqd's stderr */
	int notify_fd;	  /* the NOTIFY_SOCKET nfqd reports READY=1 to */
	bool ready;
	struct fdstore *store; /* keeps what nfqd stores with FDSTORE=1; NULL: none */
};

/*
 * Write config (with "[daemon] control = <private path>" appended) and start nfqd inside ns,
 * with NOTIFY_SOCKET pointing at a socket of the test. Waits up to timeout_ms (at least
 * TEST_DEADLINE_MS) for READY=1. With $NFQD_TEST_TRANSPORT set, a config that names no
 * transport gets "[queue] transport = $NFQD_TEST_TRANSPORT".
 * Returns 0 when nfqd is ready; 1 when it exited first (status in *status if not NULL);
 * -1 on a test setup failure or timeout.
 */
int nfqd_start(struct nfqd_proc *p, const char *ns, const char *config, int timeout_ms,
	       int *status);

/*
 * nfqd_start() with a service fd store: what nfqd sends with FDSTORE=1 is kept in store, and
 * what store holds is passed to nfqd as LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID.
 */
int nfqd_start_stored(struct nfqd_proc *p, const char *ns, const char *config,
		      struct fdstore *store, int timeout_ms, int *status);

/*
 * Start nfqd again after it exited (reaped by nfqd_stop()), with the same config, control path,
 * notify socket, store, and its log appended to: a restart by a service manager. Returns as
 * nfqd_start().
 */
int nfqd_respawn(struct nfqd_proc *p, const char *ns, int timeout_ms, int *status);

/* Wait for a new READY=1 (after an upgrade, from the same pid). Returns 0, or -1 at the
 * deadline (timeout_ms, at least TEST_DEADLINE_MS). */
int nfqd_wait_ready(struct nfqd_proc *p, int timeout_ms);

/*
 * Send sig and wait up to timeout_ms (at least TEST_DEADLINE_MS: a test that bounds the time
 * checks *elapsed_ms) for exit. Returns 0 with *status (wait status) and *elapsed_ms, or -1 on
 * timeout (the process is then killed with SIGKILL).
 */
int nfqd_stop(struct nfqd_proc *p, int sig, int timeout_ms, int *status, long *elapsed_ms);

/* Stop nfqd with SIGSTOP and wait until every one of its threads is stopped (a signal takes
 * effect asynchronously). Returns 0, or -1 when it did not stop within TEST_DEADLINE_MS. */
int nfqd_pause(struct nfqd_proc *p);

/* A worker thread of process pid (a task that is not the main one: with one queue, its worker).
 * Returns its id, or -1 when there is none. */
pid_t nfqd_worker_tid(pid_t pid);

/* Kill (if running) and remove the private directory. Safe to call twice. */
void nfqd_cleanup(struct nfqd_proc *p);

/* nfqd's stderr so far (malloc'd). */
char *nfqd_log(const struct nfqd_proc *p);

/* Whether a STOPPING=1 notification arrived (reads what is pending on the notify socket). */
bool nfqd_saw_stopping(struct nfqd_proc *p);

/* Ask the control socket; returns the answer (malloc'd) or NULL. */
char *nfqd_control(const struct nfqd_proc *p, const char *request);

/*
 * Read a number from nfqd's stats JSON: queue >= 0 picks that queue's object, -1 the "total"
 * object. Returns the value, or UINT64_MAX when absent.
 */
uint64_t stats_get(const char *json, int queue, const char *key);

/* Find "key=NUMBER" in the "queue N: final:" log line of nfqd; UINT64_MAX when absent. */
uint64_t final_get(const char *log, unsigned int queue, const char *key);

struct nfqd_queue_kstats;

/* Every counter of the kernel's line for queue num in ns (/proc/net/netfilter/nfnetlink_queue).
 * Returns 0, or -1 when the queue is not listed. */
int kernel_queue_kstats(const char *ns, unsigned int num, struct nfqd_queue_kstats *ks);

/* The kernel's counters for queue num in ns, from /proc/net/netfilter/nfnetlink_queue. */
int kernel_queue_line(const char *ns, unsigned int num, unsigned int *queued,
		      unsigned int *last_id);

/*
 * Load the rules `nfqd rules` generates for config (ip6tables with ipv6) into namespace ns with
 * iptables-restore --noflush, as an operator would. Returns the pipeline's exit status.
 */
int nfqd_rules_load(const char *ns, const char *config, bool ipv6);

/* The packet counter of rule number `rule` (from 1) of chain in table of namespace ns
 * (iptables -L CHAIN RULE -v -x). Returns it, or UINT64_MAX when it cannot be read. */
uint64_t ipt_rule_packets(const char *ns, const char *table, const char *chain, unsigned int rule);

/* Paths of the binaries under test, from the build (nfqd: $NFQD_TEST_BIN when set, for a test
 * that runs a copy it can replace or move). */
const char *nfqd_bin(void);
const char *nfqctl_bin(void);

#endif /* NFQD_TEST_NETNS_H */
