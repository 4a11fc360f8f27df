/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Task bits of the guest kernel's include/linux/sched.h that keyhole
 * interprets itself, defined once: they are the guest's ABI, and two
 * private copies drifted apart once (access/agent_proc.c had EXIT_ZOMBIE and
 * EXIT_DEAD swapped against the kernel and crawl/crawl.c).
 */
#ifndef KH_GUEST_SCHED_H
#define KH_GUEST_SCHED_H

/* task_struct.exit_state */
#define EXIT_DEAD	0x00000010
#define EXIT_ZOMBIE	0x00000020

#endif
