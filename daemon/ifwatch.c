/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <systemd/sd-event.h>

#include "nfqd/policy.h"

#include "ifwatch.h"
#include "log.h"

struct ifwatch {
	const struct nfqd_policy *policy;
	struct mnl_socket *nl;
	sd_event_source *src;
	uint32_t *index; /* what was last set for each name */
};

static void set_index(struct ifwatch *iw, unsigned int i, uint32_t ifindex)
{
	if (iw->index[i] == ifindex)
		return;
	log_info("interface %s: %s", nfqd_policy_iface_name(iw->policy, i),
		 ifindex ? "present" : "gone; rules on it do not match until it is back");
	iw->index[i] = ifindex;
	nfqd_policy_iface_set_index(iw->policy, i, ifindex);
}

static void on_link(const struct ifwatch_link *l, void *data)
{
	struct ifwatch *iw = data;
	unsigned int n = nfqd_policy_iface_count(iw->policy);

	for (unsigned int i = 0; i < n; i++) {
		const char *want = nfqd_policy_iface_name(iw->policy, i);

		if (l->gone) {
			if (iw->index[i] == l->index)
				set_index(iw, i, 0);
		} else if (l->name && strcmp(l->name, want) == 0) {
			set_index(iw, i, l->index);
		} else if (iw->index[i] == l->index) {
			/* renamed away from the name the rule speaks of */
			set_index(iw, i, 0);
		}
	}
}

unsigned int ifwatch_parse(const void *buf, size_t len,
			   void (*fn)(const struct ifwatch_link *l, void *data), void *data)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > INT_MAX ? INT_MAX : (int)len;
	unsigned int calls = 0;

	/* mnl_nlmsg_ok() compares nlmsg_len as an int: a length of 2^31 or more passes it. */
	for (; mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_len <= (uint32_t)left;
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
		struct ifwatch_link l = { .gone = nlh->nlmsg_type == RTM_DELLINK };
		const struct nlattr *attr; /* the name mnl_attr_for_each_payload() uses */
		const struct nlattr *attrs;
		size_t attrs_len;

		if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
			continue;
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
			continue;
		l.index = (uint32_t)ifi->ifi_index;
		/*
		 * Bounded by nlmsg_len itself: mnl_attr_for_each() ends at the length rounded up
		 * to 4, past the buffer when the last message's length is not a multiple of 4.
		 */
		attrs = (const struct nlattr *)((const char *)ifi + MNL_ALIGN(sizeof(*ifi)));
		attrs_len = nlh->nlmsg_len - mnl_nlmsg_size(MNL_ALIGN(sizeof(*ifi)));
		mnl_attr_for_each_payload (attrs, attrs_len) {
			/* MNL_TYPE_STRING would accept a name without its NUL. */
			if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
			    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				l.name = *mnl_attr_get_str(attr) ? mnl_attr_get_str(attr) : NULL;
		}
		fn(&l, data);
		calls++;
	}
	return calls;
}

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ifwatch *iw = userdata;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	(void)s;
	(void)fd;
	(void)revents;
	n = mnl_socket_recvfrom(iw->nl, buf, sizeof(buf));
	if (n == -1) {
		if (errno == ENOBUFS) {
			/* Events were lost: resolve every name afresh. */
			for (unsigned int i = 0; i < nfqd_policy_iface_count(iw->policy); i++)
				set_index(iw, i,
					  if_nametoindex(nfqd_policy_iface_name(iw->policy, i)));
		}
		return 0;
	}
	ifwatch_parse(buf, (size_t)n, on_link, iw);
	return 0;
}

int ifwatch_open(struct ifwatch **out, sd_event *ev, const struct nfqd_policy *p, char *err,
		 size_t errlen)
{
	unsigned int n = nfqd_policy_iface_count(p);
	struct ifwatch *iw;
	int r;

	*out = NULL;
	if (n == 0)
		return 0;
	iw = calloc(1, sizeof(*iw));
	if (!iw || !(iw->index = calloc(n, sizeof(*iw->index)))) {
		free(iw);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	iw->policy = p;
	iw->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!iw->nl || mnl_socket_bind(iw->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) == -1) {
		r = -errno;
		snprintf(err, errlen, "cannot watch network interfaces: %s", strerror(-r));
		goto fail;
	}
	r = sd_event_add_io(ev, &iw->src, mnl_socket_get_fd(iw->nl), EPOLLIN, on_event, iw);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch network interfaces: %s", strerror(-r));
		goto fail;
	}
	/* Subscribed first, resolved second: no change can fall between the two. */
	for (unsigned int i = 0; i < n; i++) {
		uint32_t idx = if_nametoindex(nfqd_policy_iface_name(p, i));

		iw->index[i] = idx;
		nfqd_policy_iface_set_index(p, i, idx);
		if (!idx)
			log_warning("interface %s does not exist (yet): rules on it do not match "
				    "until it appears",
				    nfqd_policy_iface_name(p, i));
	}
	*out = iw;
	return 0;
fail:
	ifwatch_close(iw);
	return r;
}

void ifwatch_close(struct ifwatch *iw)
{
	if (!iw)
		return;
	sd_event_source_disable_unref(iw->src);
	if (iw->nl)
		mnl_socket_close(iw->nl);
	free(iw->index);
	free(iw);
}
