/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "nfqd/queue.h"

#include "contender.h"

#define SURICATA "/usr/bin/suricata"

bool suricata_available(const char **why)
{
	if (access(SURICATA, X_OK) == 0)
		return true;
	*why = SURICATA " is not installed (scripts/setup installs it from bookworm-backports)";
	return false;
}

/* The environment nfqd finds under systemd: its invocation and the bus that says its job. */
static void under_manager(const struct contender_run *r, bool on)
{
	if (!on) {
		unsetenv("INVOCATION_ID");
		unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
		return;
	}
	setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", r->bus.address, 1);
}

static int start_nfqd(struct contender_run *r, const char *ns, unsigned int first,
		      unsigned int last, const char *verdict)
{
	bool managed = r->c->kind == CONTENDER_NFQD_HANDOVER;
	char conf[512], batch[32] = "";
	int st = 0, ret;

	if (r->c->batch)
		snprintf(batch, sizeof(batch), "batch = %u\n", r->c->batch);
	snprintf(conf, sizeof(conf),
		 "[queue]\nqueues = %u-%u\nmax-len = 65536\ntransport = %s\n%s"
		 "[policy]\ndefault = %s\n",
		 first, last, r->c->transport, batch, verdict);
	r->is_nfqd = true;
	if (managed) {
		char path[96];

		snprintf(path, sizeof(path), "/tmp/nfqd-bench-bus-%d.sock", (int)getpid());
		if (fakebus_start(&r->bus, path, "restart") < 0)
			return -1;
		r->bus_up = true;
		under_manager(r, true);
	}
	ret = nfqd_start_stored(&r->d, ns, conf, managed ? &r->store : NULL, TEST_DEADLINE_MS, &st);
	under_manager(r, false);
	if (ret == 1) {
		char *log = nfqd_log(&r->d);

		fprintf(stderr, "bench: nfqd with transport = %s refused to start: %s",
			r->c->transport, log);
		free(log);
	}
	return ret;
}

static int start_reader(struct contender_run *r, const char *ns, unsigned int first,
			unsigned int last, const char *verdict)
{
	char queues[32], batch[16];
	char *argv[] = { (char *)bench_reader_bin(),
			 "--mode",
			 r->c->kind == CONTENDER_FLOOR ? "floor" : "single",
			 "--queues",
			 queues,
			 "--verdict",
			 (char *)verdict,
			 "--batch",
			 batch,
			 NULL };

	snprintf(queues, sizeof(queues), "%u:%u", first, last);
	snprintf(batch, sizeof(batch), "%u", r->c->batch ? r->c->batch : 64);
	if (bgproc_init(&r->b) < 0)
		return -1;
	return bgproc_start(&r->b, ns, argv, "ready\n", TEST_DEADLINE_MS, NULL) == 0 ? 0 : -1;
}

/*
 * A minimal Suricata: no rule but the one giving the verdict, no eve or other logging, the
 * engine's files in the private directory. max-pending-packets sets the kernel queue's
 * max-len (four times it) and the socket buffer, so a pre-filled queue of 50,000 fits as it
 * does for the other readers.
 */
static int write_suricata_files(const struct bgproc *b, const char *verdict, bool workers)
{
	static const char *const empty[] = { "classification.config", "reference.config",
					     "threshold.config" };
	char path[128];
	FILE *f;

	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", b->dir, empty[i]);
		f = fopen(path, "we");
		if (!f || fclose(f) != 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/bench.rules", b->dir);
	f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "%s ip any any -> any any (msg:\"bench\"; sid:1; rev:1;)\n",
		strcmp(verdict, "drop") ? "pass" : "drop");
	if (fclose(f) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/suricata.yaml", b->dir);
	f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f,
		"%%YAML 1.1\n---\n"
		"vars:\n  address-groups:\n    HOME_NET: any\n    EXTERNAL_NET: any\n"
		"  port-groups: {}\n"
		"default-log-dir: %s\n"
		"default-rule-path: %s\n"
		"rule-files: [bench.rules]\n"
		"classification-file: %s/classification.config\n"
		"reference-config-file: %s/reference.config\n"
		"threshold-file: %s/threshold.config\n"
		"max-pending-packets: 16384\n"
		"outputs: []\n"
		"logging:\n  default-log-level: notice\n  outputs:\n"
		"    - console:\n        enabled: yes\n"
		"unix-command:\n  enabled: no\n"
		"stats:\n  enabled: no\n"
		"nfq:\n  mode: accept\n  fail-open: no\n%s",
		b->dir, b->dir, b->dir, b->dir, b->dir, workers ? "  batchcount: 64\n" : "");
	return fclose(f) == 0 ? 0 : -1;
}

static int start_suricata(struct contender_run *r, const char *ns, unsigned int first,
			  unsigned int last, const char *verdict)
{
	bool workers = r->c->kind == CONTENDER_SURICATA_WORKERS;
	char conf[96], pid[96], q0[16], q1[16];
	char *argv[16] = { SURICATA, "-c", conf, "--pidfile", pid, "-l", r->b.dir, "-q", q0 };
	int n = 9, st = 0;

	if (bgproc_init(&r->b) < 0 || write_suricata_files(&r->b, verdict, workers) < 0)
		return -1;
	argv[6] = r->b.dir;
	snprintf(conf, sizeof(conf), "%s/suricata.yaml", r->b.dir);
	snprintf(pid, sizeof(pid), "%s/suricata.pid", r->b.dir);
	snprintf(q0, sizeof(q0), "%u", first);
	if (last != first) {
		snprintf(q1, sizeof(q1), "%u:%u", first + 1, last);
		argv[n++] = "-q";
		argv[n++] = q1;
	}
	if (workers) {
		argv[n++] = "--runmode";
		argv[n++] = "workers";
	}
	argv[n] = NULL;
	if (bgproc_start(&r->b, ns, argv, "Engine started", TEST_DEADLINE_MS, &st) != 0)
		return -1;
	/* the engine starts its threads before they have bound every queue */
	for (long long t0 = test_now_ms(); test_now_ms() - t0 < TEST_DEADLINE_MS;) {
		struct nfqd_queue_kstats ks;
		unsigned int q = first;

		while (q <= last && kernel_queue_kstats(ns, q, &ks) == 0)
			q++;
		if (q > last)
			return 0;
		usleep(10000);
	}
	fprintf(stderr, "bench: Suricata did not bind queues %u-%u\n", first, last);
	return -1;
}

int contender_start(struct contender_run *r, const struct contender *c, const char *ns,
		    unsigned int first, unsigned int last, const char *verdict)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->ns = ns;
	r->first = first;
	r->last = last;
	r->verdict = verdict;
	r->d.pid = -1;
	r->d.notify_fd = -1;
	r->b.pid = -1;
	r->b.out_fd = -1;
	switch (c->kind) {
	case CONTENDER_NFQD:
	case CONTENDER_NFQD_HANDOVER:
		return start_nfqd(r, ns, first, last, verdict);
	case CONTENDER_FLOOR:
	case CONTENDER_SINGLE:
		return start_reader(r, ns, first, last, verdict);
	default:
		return start_suricata(r, ns, first, last, verdict);
	}
}

pid_t contender_pid(const struct contender_run *r)
{
	return r->is_nfqd ? r->d.pid : r->b.pid;
}

int contender_stop(struct contender_run *r)
{
	char *log;
	int st = -1, ret;

	if (r->is_nfqd) {
		kill(r->d.pid, SIGCONT);
		ret = nfqd_stop(&r->d, SIGTERM, TEST_DEADLINE_MS, &st, NULL);
		log = nfqd_log(&r->d);
	} else {
		ret = bgproc_stop(&r->b, SIGTERM, TEST_DEADLINE_MS, &st);
		log = bgproc_log(&r->b);
	}
	if (ret == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		free(log);
		return 0;
	}
	fprintf(stderr, "bench: %s did not exit 0 (status 0x%x):\n%s\n", r->c->name, st, log);
	free(log);
	return -1;
}

int contender_restart(struct contender_run *r)
{
	struct contender_run next;
	int st = 0, ret;

	if (r->c->kind != CONTENDER_NFQD_HANDOVER) {
		if (contender_stop(r) < 0)
			return -1;
		contender_cleanup(r);
		ret = contender_start(&next, r->c, r->ns, r->first, r->last, r->verdict);
		*r = next;
		return ret;
	}
	if (contender_stop(r) < 0)
		return -1;
	under_manager(r, true);
	ret = nfqd_respawn(&r->d, r->ns, TEST_DEADLINE_MS, &st);
	under_manager(r, false);
	return ret;
}

void contender_cleanup(struct contender_run *r)
{
	if (r->is_nfqd)
		nfqd_cleanup(&r->d);
	else
		bgproc_cleanup(&r->b);
	fdstore_clear(&r->store);
	if (r->bus_up) {
		fakebus_stop(&r->bus);
		r->bus_up = false;
	}
}
