/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "nfqd/queue.h"

#include "handover.h"
#include "log.h"

#define QUEUE_PREFIX "queue-"

/* systemd's private bus, served by PID 1 itself to root: works without a D-Bus daemon. */
#define SYSTEMD_PRIVATE_BUS "unix:path=/run/systemd/private"

/* Longest wait for one answer of systemd's at SIGTERM (sd-bus's default is 25 s). */
#define DBUS_TIMEOUT_US (2 * 1000 * 1000)

int handover_queue_num(const char *name, uint16_t *num)
{
	const char *p = name;
	unsigned long v = 0;

	if (strncmp(p, QUEUE_PREFIX, strlen(QUEUE_PREFIX)) != 0)
		return -EINVAL;
	p += strlen(QUEUE_PREFIX);
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > UINT16_MAX)
			return -EINVAL;
	}
	*num = (uint16_t)v;
	return 0;
}

void handover_queue_name(uint16_t num, char *buf, size_t len)
{
	snprintf(buf, len, QUEUE_PREFIX "%u", num);
}

static void free_names(char **names)
{
	for (char **p = names; p && *p; p++)
		free(*p);
	free(names);
}

int handover_collect(struct handover *h, char *err, size_t errlen)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);

	h->fds = NULL;
	h->n = 0;
	if (n < 0) {
		snprintf(err, errlen, "cannot take the sockets passed in LISTEN_FDS: %s",
			 strerror(-n));
		return n;
	}
	if (n > 0)
		h->fds = calloc((size_t)n, sizeof(*h->fds));
	if (n > 0 && !h->fds) {
		snprintf(err, errlen, "out of memory");
		for (int i = 0; i < n; i++)
			close(SD_LISTEN_FDS_START + i);
		free_names(names);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		h->fds[i].fd = SD_LISTEN_FDS_START + i;
		/* systemd names an fd "unknown" when it was given no name */
		snprintf(h->fds[i].name, sizeof(h->fds[i].name), "%s",
			 names && names[i] ? names[i] : "unknown");
	}
	h->n = (unsigned int)n;
	free_names(names);
	return n;
}

int handover_take(struct handover *h, const char *name)
{
	for (unsigned int i = 0; h && i < h->n; i++) {
		if (!h->fds[i].taken && strcmp(h->fds[i].name, name) == 0) {
			h->fds[i].taken = true;
			return h->fds[i].fd;
		}
	}
	return -ENOENT;
}

void handover_release(struct handover *h)
{
	if (!h)
		return;
	for (unsigned int i = 0; i < h->n; i++) {
		struct handover_fd *f = &h->fds[i];
		uint16_t num;
		uint32_t portid;
		int r;

		if (f->taken)
			continue;
		if (handover_queue_num(f->name, &num) == 0 &&
		    nfqd_queue_check_fd(f->fd, &portid) == 0) {
			/* The kernel drops what the queue holds: nobody will serve it. */
			r = nfqd_queue_unbind_fd(f->fd, num);
			if (r < 0)
				log_error("queue %u is no longer configured, but its inherited "
					  "socket "
					  "cannot unbind it: %s; closing the socket unbinds it",
					  num, strerror(-r));
			else
				log_notice(
					"queue %u is no longer configured: unbound its inherited "
					"socket ('%s')",
					num, f->name);
			close(f->fd);
			handover_unstore(f->name);
			continue;
		}
		log_warning("closing the inherited socket '%s' (fd %d): nfqd has no use for it",
			    f->name, f->fd);
		close(f->fd);
		handover_unstore(f->name);
	}
	free(h->fds);
	h->fds = NULL;
	h->n = 0;
}

void handover_forget(struct handover *h)
{
	if (!h)
		return;
	free(h->fds);
	h->fds = NULL;
	h->n = 0;
}

/* Whether a service manager took a socket into its fd store (sd_notify sent it). */
static atomic_bool stored;

bool handover_stored(void)
{
	return atomic_load(&stored);
}

void handover_store(int fd, const char *name)
{
	char msg[64 + HANDOVER_NAME_MAX];
	int r;

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	if (r > 0)
		atomic_store(&stored, true);
	if (r < 0)
		log_warning("cannot put socket '%s' into the service manager's fd store: %s; a "
			    "restart will rebind it and lose what it holds",
			    name, strerror(-r));
}

void handover_unstore(const char *name)
{
	char msg[64 + HANDOVER_NAME_MAX];

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	(void)sd_notify(0, msg);
}

int handover_open_queue(struct handover *h, struct nfqd_queue **out,
			const struct nfqd_queue_config *qc, bool *adopted)
{
	char name[32];
	int fd, r;

	*adopted = false;
	handover_queue_name(qc->num, name, sizeof(name));
	fd = handover_take(h, name);
	if (fd >= 0) {
		r = nfqd_queue_adopt(out, fd, qc);
		if (r == 0) {
			*adopted = true;
			log_info("queue %u: adopted the socket a previous nfqd left bound (netlink "
				 "port %u): the queue was never unbound",
				 qc->num, nfqd_queue_portid(*out));
			goto store;
		}
		/* Anything else (no privilege, out of memory) is no proof that the socket is
		 * useless: it stays open and in the store, and the start fails. */
		if (r != -ENOENT && r != -EBUSY && r != -EPROTOTYPE && r != -ENOTSOCK)
			return r;
		log_warning("queue %u: cannot adopt the inherited socket '%s': %s; binding the "
			    "queue anew",
			    qc->num, name,
			    r == -ENOENT  ? "the queue is not bound to it (any more)"
			    : r == -EBUSY ? "another socket has the queue bound"
					  : strerror(-r));
		close(fd);
		handover_unstore(name);
	}
	r = nfqd_queue_open(out, qc);
	if (r < 0)
		return r;
store:
	handover_store(nfqd_queue_fd(*out), name);
	return 0;
}

/* Job types of systemd after which the unit runs again. */
static bool restarting(const char *type)
{
	static const char *const types[] = { "restart", "try-restart", "reload-or-restart",
					     "reload-or-try-restart" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

static int open_bus(sd_bus **bus)
{
	int r;

	/* As root, PID 1's own socket: no D-Bus daemon needed. An address given in the
	 * environment is the operator's choice, and is taken first. */
	if (!getenv("DBUS_SYSTEM_BUS_ADDRESS") && geteuid() == 0 &&
	    access("/run/systemd/private", F_OK) == 0) {
		r = sd_bus_new(bus);
		if (r < 0)
			return r;
		r = sd_bus_set_address(*bus, SYSTEMD_PRIVATE_BUS);
		if (r >= 0)
			r = sd_bus_start(*bus);
		if (r >= 0)
			return 0;
		*bus = sd_bus_unref(*bus);
	}
	return sd_bus_open_system(bus);
}

/* The type of the job pending on this process's unit into type ("" when there is none). */
static int job_type(sd_bus *bus, char *type, size_t len, sd_bus_error *e)
{
	sd_bus_message *reply = NULL;
	const char *unit, *job;
	char *unit_path = NULL, *t = NULL;
	uint32_t id;
	int r;

	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "GetUnitByPID", e, &reply, "u",
			       (uint32_t)getpid());
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &unit);
	if (r >= 0 && !(unit_path = strdup(unit)))
		r = -ENOMEM;
	reply = sd_bus_message_unref(reply);
	if (r < 0)
		return r;
	r = sd_bus_get_property(bus, "org.freedesktop.systemd1", unit_path,
				"org.freedesktop.systemd1.Unit", "Job", e, &reply, "(uo)");
	if (r >= 0)
		r = sd_bus_message_read(reply, "(uo)", &id, &job);
	if (r >= 0 && strcmp(job, "/") == 0) {
		type[0] = '\0';
	} else if (r >= 0) {
		r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", job,
					       "org.freedesktop.systemd1.Job", "JobType", e, &t);
		if (r >= 0)
			snprintf(type, len, "%s", t);
	}
	free(t);
	sd_bus_message_unref(reply);
	free(unit_path);
	return r < 0 ? r : 0;
}

bool handover_successor_follows(char *why, size_t whylen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL;
	char type[64];
	int r;

	/* systemd sets INVOCATION_ID for every service it runs. */
	if (!getenv("INVOCATION_ID")) {
		snprintf(why, whylen, "not started by systemd");
		return false;
	}
	r = open_bus(&bus);
	if (r < 0) {
		snprintf(why, whylen, "cannot ask systemd over D-Bus: %s", strerror(-r));
		return false;
	}
	/* A hung bus must not hold up the stop: systemd's own timeout is its stop timeout. */
	(void)sd_bus_set_method_call_timeout(bus, DBUS_TIMEOUT_US);
	r = job_type(bus, type, sizeof(type), &e);
	sd_bus_flush_close_unref(bus);
	if (r < 0) {
		snprintf(why, whylen, "cannot ask systemd over D-Bus for the unit's job: %s",
			 sd_bus_error_is_set(&e) ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		return false;
	}
	if (!type[0]) {
		snprintf(why, whylen, "systemd has no job for the unit: a stop");
		return false;
	}
	snprintf(why, whylen, "systemd's job for the unit is '%s'", type);
	return restarting(type);
}
