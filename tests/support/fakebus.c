/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "fakebus.h"

#define UNIT_PATH "/org/freedesktop/systemd1/unit/nfqd_2eservice"
#define JOB_PATH  "/org/freedesktop/systemd1/job/7"

static int hello(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	(void)userdata;
	(void)e;
	return sd_bus_reply_method_return(m, "s", ":1.1");
}

static int get_unit_by_pid(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct fakebus *b = userdata;

	(void)e;
	atomic_fetch_add(&b->asked, 1);
	return sd_bus_reply_method_return(m, "o", UNIT_PATH);
}

/* The unit's Job, (id, path) or (0, "/") for none, and the job's JobType. */
static int get_prop(sd_bus *bus, const char *path, const char *interface, const char *property,
		    sd_bus_message *reply, void *userdata, sd_bus_error *e)
{
	struct fakebus *b = userdata;
	bool job = b->job_type[0] != '\0';

	(void)bus;
	(void)path;
	(void)interface;
	(void)e;
	if (strcmp(property, "JobType") == 0)
		return sd_bus_message_append(reply, "s", b->job_type);
	return sd_bus_message_append(reply, "(uo)", job ? 7u : 0u, job ? JOB_PATH : "/");
}

static const sd_bus_vtable dbus_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Hello", "", "s", hello, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("GetUnitByPID", "u", "o", get_unit_by_pid, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable unit_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Job", "(uo)", get_prop, 0, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable job_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("JobType", "s", get_prop, 0, 0),
	SD_BUS_VTABLE_END,
};

/* Serve one client until it goes away or the bus is stopped. */
static void serve(struct fakebus *b, int fd)
{
	sd_bus *bus = NULL;
	sd_id128_t id;

	if (sd_id128_randomize(&id) < 0 || sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fd, fd) < 0 ||
	    sd_bus_set_server(bus, 1, id) < 0 ||
	    sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
				     dbus_vtable, b) < 0 ||
	    sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/systemd1",
				     "org.freedesktop.systemd1.Manager", manager_vtable, b) < 0 ||
	    sd_bus_add_object_vtable(bus, NULL, UNIT_PATH, "org.freedesktop.systemd1.Unit",
				     unit_vtable, b) < 0 ||
	    sd_bus_add_object_vtable(bus, NULL, JOB_PATH, "org.freedesktop.systemd1.Job",
				     job_vtable, b) < 0 ||
	    sd_bus_start(bus) < 0) {
		if (bus)
			sd_bus_close_unref(bus);
		else
			close(fd);
		return;
	}
	while (!atomic_load(&b->stop)) {
		int r = sd_bus_process(bus, NULL);

		if (r < 0)
			break;
		if (r > 0)
			continue;
		if (sd_bus_wait(bus, 100 * 1000) < 0)
			break;
	}
	sd_bus_flush_close_unref(bus);
}

static void *fakebus_main(void *arg)
{
	struct fakebus *b = arg;

	while (!atomic_load(&b->stop)) {
		struct pollfd pfd = { .fd = b->listen_fd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve(b, fd);
	}
	return NULL;
}

int fakebus_start(struct fakebus *b, const char *path, const char *job_type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(b, 0, sizeof(*b));
	snprintf(b->job_type, sizeof(b->job_type), "%s", job_type);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(b->address, sizeof(b->address), "unix:path=%s", path);
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0)
		return -1;
	unlink(path);
	if (bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(b->listen_fd, 8) < 0 || pthread_create(&b->thread, NULL, fakebus_main, b)) {
		close(b->listen_fd);
		b->listen_fd = -1;
		return -1;
	}
	b->running = 1;
	return 0;
}

void fakebus_stop(struct fakebus *b)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (!b->running)
		return;
	atomic_store(&b->stop, 1);
	pthread_join(b->thread, NULL);
	if (getsockname(b->listen_fd, (struct sockaddr *)&sa, &len) == 0)
		unlink(sa.sun_path);
	close(b->listen_fd);
	b->running = 0;
}
