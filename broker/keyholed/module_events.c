// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole.ko's events: when the module is loaded, keyholed joins the
 * "events" group of its generic netlink family (uapi/keyhole.h) through
 * libnl, on the loop thread, and acts on what the module tells every
 * listener about the QEMUs it has sessions on:
 * - VM_EXITED: the VM is dropped at once (once its pidfd agrees, so a pid
 *   reused meanwhile is never dropped by mistake);
 * - LAYOUT_CHANGED from an attachment not ours: someone gave the module
 *   other RAM ranges for that QEMU, so the layout keyholed read may be
 *   stale; its worker reads it again before the VM's next use;
 * - PAUSE_ENDED by the watchdog, of our attachment: a pause hold of that
 *   VM is over whatever keyholed thinks; its worker ends the hold and
 *   tells the client the guest ran.
 * The module may be loaded after keyholed starts (each rescan looks) and
 * unloaded under it (the group goes quiet; the next load is joined
 * again). A reload between two rescans leaves /sys/module/keyhole in
 * place, but the new family and group have new ids, and a socket in the
 * old group hears nothing: each rescan asks the ids again. Without the module, or without CAP_NET_ADMIN, nothing here
 * runs and pidfds and renewals do the same work, later.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <systemd/sd-event.h>

#include <keyhole.h>

#include "keyholed.h"
#include "metrics.h"

#define MODULE_SYSFS "/sys/module/keyhole"

static struct nl_sock *sock;
static sd_event_source *source;
static int family, group;
static bool said_why;

static struct nla_policy policy[KEYHOLE_GENL_A_MAX + 1] = {
	[KEYHOLE_GENL_A_SESSION_ID] = { .type = NLA_U64 },
	[KEYHOLE_GENL_A_PID] = { .type = NLA_U32 },
	[KEYHOLE_GENL_A_PAUSE_END] = { .type = NLA_U32 },
	[KEYHOLE_GENL_A_PAUSED_NS] = { .type = NLA_U64 },
};

static bool pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return pidfd < 0 || poll(&p, 1, 0) == 1;
}

/*
 * One slot for the worker to read: a second session's event before it
 * does makes it "many", which the worker takes as another's, rather than
 * lose an event of another's under one of its own.
 */
static void layout_event(struct vm_entry *e, uint64_t session)
{
	uint64_t was = atomic_load(&e->layout_event), now;

	do
		now = !was || was == session ? session : LAYOUT_EVENTS_MANY;
	while (!atomic_compare_exchange_weak(&e->layout_event, &was, now));
}

static void on_event(uint8_t cmd, pid_t pid, uint64_t session,
		     uint32_t pause_end)
{
	struct vm_entry *e = registry_get_pid(pid);

	switch (cmd) {
	case KEYHOLE_GENL_CMD_VM_EXITED:
		metrics_module_event(METRICS_MODULE_VM_EXITED);
		if (e && pidfd_exited(e->pidfd))
			registry_drop(pid);
		break;
	case KEYHOLE_GENL_CMD_LAYOUT_CHANGED:
		metrics_module_event(METRICS_MODULE_LAYOUT_CHANGED);
		/* The worker tells its own attach's event from another's. */
		if (e)
			layout_event(e, session);
		break;
	case KEYHOLE_GENL_CMD_PAUSE_ENDED:
		metrics_module_event(METRICS_MODULE_PAUSE_ENDED);
		if (e && pause_end == KEYHOLE_PAUSE_END_TIMEOUT &&
		    atomic_load(&e->kmod_session) == session)
			workers_check_holds(e);
		break;
	}
	if (e)
		vm_put(e);
}

static int on_message(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *tb[KEYHOLE_GENL_A_MAX + 1];

	/* Only the kernel (port 0) speaks for keyhole.ko. */
	if (nlmsg_get_src(msg)->nl_pid != 0 || nlh->nlmsg_type != family ||
	    genlmsg_parse(nlh, 0, tb, KEYHOLE_GENL_A_MAX, policy) < 0 ||
	    !tb[KEYHOLE_GENL_A_PID] || !tb[KEYHOLE_GENL_A_SESSION_ID])
		return NL_SKIP;
	on_event(gnlh->cmd, (pid_t)nla_get_u32(tb[KEYHOLE_GENL_A_PID]),
		 nla_get_u64(tb[KEYHOLE_GENL_A_SESSION_ID]),
		 tb[KEYHOLE_GENL_A_PAUSE_END] ?
		 nla_get_u32(tb[KEYHOLE_GENL_A_PAUSE_END]) : 0);
	return NL_OK;
}

static void disconnect(void)
{
	source = sd_event_source_disable_unref(source);
	if (sock)
		nl_socket_free(sock);
	sock = NULL;
	metrics_module_listening(false);
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents,
		       void *data)
{
	int ret = nl_recvmsgs_default(sock);

	/*
	 * -NLE_NOMEM: the socket overran and events were lost. The pidfds
	 * and the holds' renewals still see what they said, later.
	 */
	if (ret < 0 && ret != -NLE_AGAIN && ret != -NLE_NOMEM) {
		fprintf(stderr, "keyholed: keyhole.ko events: %s; listening again at the next rescan\n",
			nl_geterror(ret));
		disconnect();
	}
	return 0;
}

static int connect_module(sd_event *loop)
{
	int ret;

	sock = nl_socket_alloc();
	if (!sock)
		return -NLE_NOMEM;
	ret = genl_connect(sock);
	if (!ret)
		ret = family = genl_ctrl_resolve(sock, KEYHOLE_GENL_NAME);
	if (ret >= 0)
		ret = group = genl_ctrl_resolve_grp(sock, KEYHOLE_GENL_NAME,
						    KEYHOLE_GENL_MCGRP);
	if (ret >= 0)
		ret = nl_socket_add_membership(sock, group);
	if (ret >= 0) {
		nl_socket_disable_seq_check(sock);
		nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM,
				    on_message, NULL);
		ret = nl_socket_set_nonblocking(sock);
	}
	if (ret >= 0 &&
	    sd_event_add_io(loop, &source, nl_socket_get_fd(sock), EPOLLIN,
			    on_readable, NULL) < 0)
		ret = -NLE_FAILURE;
	if (ret < 0) {
		disconnect();
		return ret;
	}
	metrics_module_listening(true);
	return 0;
}

/*
 * The family and group the module has now are the ones joined, asked on
 * a socket of its own (the joined one may have events queued).
 */
static bool same_module(void)
{
	struct nl_sock *ask = nl_socket_alloc();
	bool same = false;

	if (ask && !genl_connect(ask))
		same = genl_ctrl_resolve(ask, KEYHOLE_GENL_NAME) == family &&
		       genl_ctrl_resolve_grp(ask, KEYHOLE_GENL_NAME,
					     KEYHOLE_GENL_MCGRP) == group;
	if (ask)
		nl_socket_free(ask);
	return same;
}

struct count_on {
	pid_t pid;
	int nr;
};

static int count_session(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[KEYHOLE_GENL_A_MAX + 1];
	struct count_on *count = arg;

	if (!genlmsg_parse(nlmsg_hdr(msg), 0, tb, KEYHOLE_GENL_A_MAX,
			   policy) &&
	    tb[KEYHOLE_GENL_A_PID] &&
	    (pid_t)nla_get_u32(tb[KEYHOLE_GENL_A_PID]) == count->pid)
		count->nr++;
	return NL_OK;
}

int module_sessions_on(pid_t pid)
{
	struct count_on count = { .pid = pid };
	struct nl_sock *ask = nl_socket_alloc();
	int id, ret;

	if (!ask)
		return -ENOMEM;
	ret = genl_connect(ask);
	id = ret ? ret : genl_ctrl_resolve(ask, KEYHOLE_GENL_NAME);
	if (id < 0) {
		nl_socket_free(ask);
		return -ENODEV;
	}
	ret = nl_socket_modify_cb(ask, NL_CB_VALID, NL_CB_CUSTOM,
				  count_session, &count);
	if (!ret)
		ret = genl_send_simple(ask, id, KEYHOLE_GENL_CMD_GET_SESSIONS,
				       KEYHOLE_GENL_VERSION, NLM_F_DUMP);
	if (ret >= 0)
		ret = nl_recvmsgs_default(ask);
	nl_socket_free(ask);
	return ret < 0 ? -EIO : count.nr;
}

void module_events_poll(sd_event *loop)
{
	bool loaded = !access(MODULE_SYSFS, F_OK);
	int ret;

	if (sock && (!loaded || !same_module()))
		disconnect();
	if (sock || !loaded)
		return;
	ret = connect_module(loop);
	/* Said once: a daemon without CAP_NET_ADMIN would say it each second. */
	if (ret < 0 && !said_why) {
		fprintf(stderr, "keyholed: cannot listen to keyhole.ko's events (%s); pidfds and pause renewals stand in\n",
			nl_geterror(ret));
		said_why = true;
	} else if (!ret) {
		said_why = false;
	}
}

void module_events_stop(void)
{
	disconnect();
}
