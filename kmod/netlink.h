/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The "keyhole" generic netlink family: events for VM exited, layout
 * changed and pause ended, and a dump of sessions with their stats.
 */
#ifndef _KEYHOLE_NETLINK_H
#define _KEYHOLE_NETLINK_H

#include <keyhole.h>

struct keyhole_vm;

int keyhole_netlink_init(void);
void keyhole_netlink_exit(void);

/* Events; callable from any sleepable context, never fail the caller. */
void keyhole_netlink_vm_exited(struct keyhole_vm *vm);
void keyhole_netlink_layout_changed(struct keyhole_vm *vm);
void keyhole_netlink_pause_ended(struct keyhole_vm *vm,
				 enum keyhole_pause_end why, u64 paused_ns);

#endif /* _KEYHOLE_NETLINK_H */
