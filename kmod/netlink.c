// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "keyhole" generic netlink family: a dump of the attached sessions
 * with their stats, and multicast events (VM exited, layout changed, pause
 * ended by the module) so a daemon learns of them without polling.
 *
 * Only the initial network namespace has the family: sessions are not
 * per-namespace, and pids are reported in the initial pid namespace.
 */

#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "map.h"
#include "netlink.h"
#include "pause.h"
#include "vm.h"

/*
 * The whole attribute space, for strict validation of requests. No
 * request carries attributes today; any attribute sent is checked
 * against its type here and otherwise ignored.
 */
static const struct nla_policy keyhole_genl_policy[KEYHOLE_GENL_A_MAX + 1] = {
	[KEYHOLE_GENL_A_SESSION_ID]	= { .type = NLA_U64 },
	[KEYHOLE_GENL_A_PID]		= { .type = NLA_U32 },
	[KEYHOLE_GENL_A_COMM]		= { .type = NLA_NUL_STRING,
					    .len = TASK_COMM_LEN - 1 },
	[KEYHOLE_GENL_A_NR_RANGES]	= { .type = NLA_U32 },
	[KEYHOLE_GENL_A_RAM_BYTES]	= { .type = NLA_U64 },
	[KEYHOLE_GENL_A_BYTES_READ]	= { .type = NLA_U64 },
	[KEYHOLE_GENL_A_FAULTS]		= { .type = NLA_U64 },
	[KEYHOLE_GENL_A_INVALIDATIONS]	= { .type = NLA_U64 },
	[KEYHOLE_GENL_A_PAUSES]		= { .type = NLA_U64 },
	[KEYHOLE_GENL_A_PAUSE_DEPTH]	= { .type = NLA_U32 },
	[KEYHOLE_GENL_A_PAUSE_END]	= { .type = NLA_U32 },
	[KEYHOLE_GENL_A_PAUSED_NS]	= { .type = NLA_U64 },
	[KEYHOLE_GENL_A_PAD]		= { .type = NLA_REJECT },
};

static int keyhole_genl_dump_sessions(struct sk_buff *skb,
				      struct netlink_callback *cb);

static const struct genl_small_ops keyhole_genl_ops[] = {
	{
		.cmd = KEYHOLE_GENL_CMD_GET_SESSIONS,
		.dumpit = keyhole_genl_dump_sessions,
		.flags = GENL_ADMIN_PERM,
	},
};

/* Events name QEMU processes and their sessions: admins only, as dumps. */
static const struct genl_multicast_group keyhole_genl_mcgrps[] = {
	{ .name = KEYHOLE_GENL_MCGRP, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family keyhole_genl_family __ro_after_init = {
	.name = KEYHOLE_GENL_NAME,
	.version = KEYHOLE_GENL_VERSION,
	.maxattr = KEYHOLE_GENL_A_MAX,
	.policy = keyhole_genl_policy,
	/*
	 * resv_start_op stays 0, as for every new family: each command gets
	 * its header's reserved byte checked and strict attribute validation.
	 */
	.small_ops = keyhole_genl_ops,
	.n_small_ops = ARRAY_SIZE(keyhole_genl_ops),
	.mcgrps = keyhole_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(keyhole_genl_mcgrps),
	.module = THIS_MODULE,
};

/* Events before init or after a failed init are dropped, not crashed on. */
static bool keyhole_genl_registered;

/* 0 once QEMU is gone: its number may already belong to another process. */
static u32 keyhole_genl_pid(struct keyhole_vm *vm)
{
	return READ_ONCE(vm->exited) ? 0 : pid_nr(vm->pid);
}

static int keyhole_genl_put_session(struct sk_buff *skb,
				    struct keyhole_vm *vm)
{
	char comm[TASK_COMM_LEN] = "";
	struct task_struct *task;
	u64 ram_bytes;
	u32 nr_ranges;

	task = get_pid_task(vm->pid, PIDTYPE_TGID);
	if (task) {
		get_task_comm(comm, task);
		put_task_struct(task);
	}
	keyhole_map_info(vm, &nr_ranges, &ram_bytes);
	if (nla_put_u64_64bit(skb, KEYHOLE_GENL_A_SESSION_ID, vm->session_id,
			      KEYHOLE_GENL_A_PAD) ||
	    nla_put_u32(skb, KEYHOLE_GENL_A_PID, keyhole_genl_pid(vm)) ||
	    nla_put_string(skb, KEYHOLE_GENL_A_COMM, comm) ||
	    nla_put_u32(skb, KEYHOLE_GENL_A_NR_RANGES, nr_ranges) ||
	    nla_put_u64_64bit(skb, KEYHOLE_GENL_A_RAM_BYTES, ram_bytes,
			      KEYHOLE_GENL_A_PAD) ||
	    nla_put_u64_64bit(skb, KEYHOLE_GENL_A_BYTES_READ,
			      atomic64_read(&vm->bytes_read),
			      KEYHOLE_GENL_A_PAD) ||
	    nla_put_u64_64bit(skb, KEYHOLE_GENL_A_FAULTS,
			      atomic64_read(&vm->faults), KEYHOLE_GENL_A_PAD) ||
	    nla_put_u64_64bit(skb, KEYHOLE_GENL_A_INVALIDATIONS,
			      atomic64_read(&vm->invalidations),
			      KEYHOLE_GENL_A_PAD) ||
	    nla_put_u64_64bit(skb, KEYHOLE_GENL_A_PAUSES,
			      atomic64_read(&vm->pauses), KEYHOLE_GENL_A_PAD) ||
	    nla_put_u32(skb, KEYHOLE_GENL_A_PAUSE_DEPTH,
			keyhole_pause_depth(vm)))
		return -EMSGSIZE;
	return 0;
}

/*
 * One message per session. cb->args[0] is how many sessions earlier
 * parts of the dump sent; cb->seq carries the list's generation so a
 * dump that spans a change is flagged NLM_F_DUMP_INTR.
 */
static int keyhole_genl_dump_sessions(struct sk_buff *skb,
				      struct netlink_callback *cb)
{
	unsigned long done = cb->args[0], idx = 0;
	struct keyhole_vm *vm;
	void *hdr;

	mutex_lock(&keyhole_vms_lock);
	/* prev_seq == 0 disables the check: keep the seq non-zero. */
	cb->seq = keyhole_vms_generation + 1 ?: 1;
	list_for_each_entry(vm, &keyhole_vms, node) {
		if (idx < done) {
			idx++;
			continue;
		}
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &keyhole_genl_family,
				  NLM_F_MULTI, KEYHOLE_GENL_CMD_GET_SESSIONS);
		if (!hdr)
			break;
		nl_dump_check_consistent(cb, genlmsg_nlhdr(hdr));
		if (keyhole_genl_put_session(skb, vm)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		idx++;
	}
	mutex_unlock(&keyhole_vms_lock);
	cb->args[0] = idx;
	return skb->len;
}

static void keyhole_genl_event(struct keyhole_vm *vm, u8 cmd,
			       enum keyhole_pause_end why, u64 paused_ns)
{
	struct sk_buff *skb;
	void *hdr;

	if (!READ_ONCE(keyhole_genl_registered) ||
	    !genl_has_listeners(&keyhole_genl_family, &init_net, 0))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		goto err;
	hdr = genlmsg_put(skb, 0, 0, &keyhole_genl_family, 0, cmd);
	if (!hdr)
		goto err_free;
	/* The pid as it was: for VM_EXITED the process is already gone. */
	if (nla_put_u64_64bit(skb, KEYHOLE_GENL_A_SESSION_ID, vm->session_id,
			      KEYHOLE_GENL_A_PAD) ||
	    nla_put_u32(skb, KEYHOLE_GENL_A_PID, pid_nr(vm->pid)))
		goto err_free;
	if (cmd == KEYHOLE_GENL_CMD_PAUSE_ENDED &&
	    (nla_put_u32(skb, KEYHOLE_GENL_A_PAUSE_END, why) ||
	     nla_put_u64_64bit(skb, KEYHOLE_GENL_A_PAUSED_NS, paused_ns,
			       KEYHOLE_GENL_A_PAD)))
		goto err_free;
	genlmsg_end(skb, hdr);
	/* -ESRCH only means the last listener left meanwhile. */
	genlmsg_multicast(&keyhole_genl_family, skb, 0, 0, GFP_KERNEL);
	return;

err_free:
	nlmsg_free(skb);
err:
	pr_warn_ratelimited("session %llu: event %u lost\n",
			    vm->session_id, cmd);
}

void keyhole_netlink_vm_exited(struct keyhole_vm *vm)
{
	keyhole_genl_event(vm, KEYHOLE_GENL_CMD_VM_EXITED, 0, 0);
}

void keyhole_netlink_layout_changed(struct keyhole_vm *vm)
{
	keyhole_genl_event(vm, KEYHOLE_GENL_CMD_LAYOUT_CHANGED, 0, 0);
}

void keyhole_netlink_pause_ended(struct keyhole_vm *vm,
				 enum keyhole_pause_end why, u64 paused_ns)
{
	keyhole_genl_event(vm, KEYHOLE_GENL_CMD_PAUSE_ENDED, why, paused_ns);
}

int keyhole_netlink_init(void)
{
	int ret;

	ret = genl_register_family(&keyhole_genl_family);
	if (ret)
		return ret;
	WRITE_ONCE(keyhole_genl_registered, true);
	return 0;
}

void keyhole_netlink_exit(void)
{
	WRITE_ONCE(keyhole_genl_registered, false);
	genl_unregister_family(&keyhole_genl_family);
}
