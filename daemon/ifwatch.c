/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
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

static void on_link(struct ifwatch *iw, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const char *name = NULL;
	unsigned int n = nfqd_policy_iface_count(iw->policy);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return;
	mnl_attr_for_each (a, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			name = mnl_attr_get_str(a);
	}
	for (unsigned int i = 0; i < n; i++) {
		const char *want = nfqd_policy_iface_name(iw->policy, i);
		uint32_t idx = (uint32_t)ifi->ifi_index;

		if (nlh->nlmsg_type == RTM_DELLINK) {
			if (iw->index[i] == idx)
				set_index(iw, i, 0);
		} else if (name && strcmp(name, want) == 0) {
			set_index(iw, i, idx);
		} else if (iw->index[i] == idx) {
			/* renamed away from the name the rule speaks of */
			set_index(iw, i, 0);
		}
	}
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
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len = (int)n;

	while (mnl_nlmsg_ok(nlh, len)) {
		if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK)
			on_link(iw, nlh);
		nlh = mnl_nlmsg_next(nlh, &len);
	}
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
