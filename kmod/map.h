/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest RAM ranges of a session and their coherent read-only mirror: the
 * per-VM fd's mmap, and the GPA -> QEMU address lookup KEYHOLE_READ uses.
 */
#ifndef _KEYHOLE_MAP_H
#define _KEYHOLE_MAP_H

#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/types.h>

#include <keyhole.h>

struct keyhole_vm;

/* The pseudo filesystem that gives each session its own address_space. */
int keyhole_map_init(void);
void keyhole_map_exit(void);

int keyhole_map_create(struct keyhole_vm *vm);
/* A file on the session's own inode, so its mappings can be zapped. */
struct file *keyhole_map_file(struct keyhole_vm *vm,
			      const struct file_operations *fops);
/* The per-VM fd is closed: stop mirroring (no mapping can exist now). */
void keyhole_map_release(struct keyhole_vm *vm);
/* Last reference: free what keyhole_map_create() made. */
void keyhole_map_destroy(struct keyhole_vm *vm);

/* QEMU exited: every mapping goes, later faults get SIGBUS. */
void keyhole_map_zap_all(struct keyhole_vm *vm);

int keyhole_map_mmap(struct keyhole_vm *vm, struct vm_area_struct *vma);
int keyhole_map_set_ranges(struct keyhole_vm *vm,
			   struct keyhole_set_ranges *arg);
void keyhole_map_info(struct keyhole_vm *vm, u32 *nr_ranges, u64 *ram_bytes);
/*
 * QEMU's address of [gpa, gpa + len), which must lie in one range:
 * -ENXIO otherwise. The answer may be stale as soon as it is returned:
 * QEMU's memory is only ever read through it.
 */
int keyhole_map_gpa_to_hva(struct keyhole_vm *vm, u64 gpa, u64 len,
			   unsigned long *hva);

#endif /* _KEYHOLE_MAP_H */
