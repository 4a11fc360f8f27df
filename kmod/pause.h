/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Atomic stop/resume of a VM's vCPU threads: each thread is made to park
 * in the kernel on its way back to user mode, so it is out of guest mode
 * and QEMU sees nothing.
 */
#ifndef _KEYHOLE_PAUSE_H
#define _KEYHOLE_PAUSE_H

#include <linux/fs.h>

#include <keyhole.h>

struct keyhole_vm;

int keyhole_pause_create(struct keyhole_vm *vm);
/* After keyhole_pause_release(); frees vm->pause. */
void keyhole_pause_destroy(struct keyhole_vm *vm);
/* *seq identifies the pause state it left, for keyhole_pause_undo(). */
int keyhole_pause_ioctl(struct keyhole_vm *vm, struct keyhole_pause *arg,
			u64 *seq);
int keyhole_resume_ioctl(struct keyhole_vm *vm, struct keyhole_resume *arg);
/* The per-VM fd is being closed, or QEMU exited: end every pause now. */
void keyhole_pause_release(struct keyhole_vm *vm, enum keyhole_pause_end why);
/*
 * The PAUSE that just succeeded (seq) never reached its caller: one level
 * off, unless anything happened to the pause since.
 */
void keyhole_pause_undo(struct keyhole_vm *vm, u64 seq);
/* A process closes an fd of the session: ends the pause if it took it. */
void keyhole_pause_flush(struct keyhole_vm *vm, fl_owner_t id);
/* For VM_INFO and netlink. */
u32 keyhole_pause_depth(struct keyhole_vm *vm);
u32 keyhole_pause_nr_vcpus(struct keyhole_vm *vm);

#endif /* _KEYHOLE_PAUSE_H */
