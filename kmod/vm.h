/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A session: one attachment of one caller to one QEMU process, behind a
 * per-VM file descriptor. vm.c owns its life; map.c, read.c, pause.c and
 * netlink.c hang their state off it.
 */
#ifndef _KEYHOLE_VM_H
#define _KEYHOLE_VM_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include <keyhole.h>

struct keyhole_map;
struct keyhole_pause_state;

struct keyhole_vm {
	struct list_head node;		/* in keyhole_vms, keyhole_vms_lock */
	struct kref ref;
	u64 session_id;
	struct pid *pid;		/* QEMU's thread group */
	struct mm_struct *mm;		/* mmgrab()ed: QEMU's address space */
	bool exited;			/* QEMU's mm was torn down */
	struct keyhole_map *map;	/* map.c: ranges and the mirror */
	struct keyhole_pause_state *pause;	/* pause.c */
	atomic64_t bytes_read;
	atomic64_t faults;
	atomic64_t invalidations;
	atomic64_t pauses;

	/* vm.c only: how QEMU's exit is noticed and reported. */
	struct mmu_notifier exit_notifier;
	struct work_struct exit_work;
	bool closing;			/* the per-VM fd is being released */
};

/*
 * Every live session, for netlink's dump. The generation changes on any
 * add or remove, so a resumed dump can tell it missed something.
 */
extern struct list_head keyhole_vms;
extern struct mutex keyhole_vms_lock;
extern u32 keyhole_vms_generation;

/*
 * KEYHOLE_ATTACH in two steps, so that an fd appears in the caller's
 * table only once the caller has been told its number.
 */
struct keyhole_attach_cmd {
	struct keyhole_attach arg;	/* first: the ioctl copies this */
	struct file *file;		/* the per-VM file, fd not installed */
};

int keyhole_vm_attach(struct keyhole_attach_cmd *cmd);
void keyhole_vm_attach_finish(struct keyhole_attach_cmd *cmd, bool copied);

void keyhole_vm_get(struct keyhole_vm *vm);
void keyhole_vm_put(struct keyhole_vm *vm);

/* True once QEMU's address space is gone: every call but close fails. */
static inline bool keyhole_vm_exited(struct keyhole_vm *vm)
{
	return READ_ONCE(vm->exited);
}

#endif /* _KEYHOLE_VM_H */
