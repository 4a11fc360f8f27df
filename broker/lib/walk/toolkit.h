/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * walk/: the walkers of the guest kernel's structures, one per artefact
 * (tasks.c, task_mm.c, os_info.c, meminfo.c, modules.c, net_devices.c,
 * open_files.c with dentry_path.c, sockets.c, vmas.c with maple_tree.c),
 * and this toolkit they all build on: struct layouts resolved once per
 * profile, symbol addresses for this boot, bounded reads of kernel
 * memory, a bounded list walker that detects cycles, an address set,
 * and result marking. Guest memory is untrusted: nothing here trusts a
 * pointer, length or count it reads. Walkers may call kernel/ (memory,
 * profiles) and the handle; crawl/ and the public API call them.
 */
#ifndef KH_TOOLKIT_H
#define KH_TOOLKIT_H

#include <stdint.h>
#include <string.h>

#include "vm.h"

/*
 * One member offset (or struct size) an extractor needs. Extractors keep
 * a static const array of these and index the resolved offsets by an enum
 * of their own.
 */
struct kh_field {
	const char *type;	/* "module", "struct net_device", typedef */
	const char *path;	/* "list", "core_layout.size"; NULL: sizeof */
	const char *alt;	/* the member's name on other kernels, or NULL */
	unsigned int optional;	/* missing gives KH_FIELD_ABSENT, not an error */
};

#define KH_FIELD_ABSENT UINT32_MAX

/*
 * Resolves fields[0..nr) from the profile's BTF, once per profile: later
 * calls with the same array return the same offsets without touching BTF.
 */
int kh_offsets(struct kh_vm *vm, const struct kh_field *fields,
	       unsigned int nr, const uint32_t **offsets, struct kh_err *err);

/*
 * The function pointers of an operations table (struct file_operations,
 * tty_ldisc_ops ...) from the profile's BTF, once per profile and type
 * (type is the memo's key: pass a string constant).
 */
#define KH_OPS_MAX 96
struct kh_ops_layout {
	uint32_t size;		/* sizeof the struct */
	unsigned int nr;
	struct kh_fn_member fn[KH_OPS_MAX];
};
int kh_ops_layout(struct kh_vm *vm, const char *type,
		  const struct kh_ops_layout **layout, struct kh_err *err);

/* The value of an enumerator (e.g. NR_FREE_PAGES) from the profile's BTF. */
int kh_enum_value(struct kh_vm *vm, const char *name, int64_t *value,
		  struct kh_err *err);

/* This boot's address of a kernel symbol. */
int kh_sym_va(struct kh_vm *vm, const char *name, uint64_t *va,
	      struct kh_err *err);
/*
 * A per-CPU variable's offset (kallsyms lists them as absolute symbols
 * on x86-64, from 0): per_cpu_ptr() of CPU i is it plus that CPU's
 * __per_cpu_offset (walk/percpu.h). -ENOENT when name is not one.
 */
int kh_sym_percpu(struct kh_vm *vm, const char *name, uint64_t *off,
		  struct kh_err *err);

/*
 * The kernel symbol at or below va (the profile keeps one per name) and
 * what bounds it: "which kernel code or table is this address in".
 * -ENOENT when va is outside the kernel image or below every symbol.
 */
struct kh_sym_near {
	const char *name;	/* the profile's: valid while the VM is */
	char type;		/* nm's letter */
	uint64_t addr;		/* the symbol's address */
	uint64_t offset;	/* va - addr */
	uint64_t next;		/* the next symbol's address, 0 if none */
};
int kh_symbol_near(struct kh_vm *vm, uint64_t va, struct kh_sym_near *near);
/* 1 when a symbol starts exactly at va whose name match() accepts. */
int kh_symbol_is(struct kh_vm *vm, uint64_t va,
		 int (*match)(const char *name));

/* A canonical kernel address (guest memory cannot make us follow less). */
int kh_kernel_ptr(const struct kh_vm *vm, uint64_t va);
/* The same, of an object aligned to align (a power of two) bytes. */
static inline int kh_kernel_ptr_aligned(const struct kh_vm *vm, uint64_t va,
					uint64_t align)
{
	return kh_kernel_ptr(vm, va) && !(va & (align - 1));
}

/* A little-endian field of a buffer read from the guest, at any alignment. */
static inline uint64_t kh_load_u64(const void *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)buf + off, sizeof(v));
	return v;
}

static inline uint32_t kh_load_u32(const void *buf, size_t off)
{
	uint32_t v;

	memcpy(&v, (const uint8_t *)buf + off, sizeof(v));
	return v;
}

/* Small typed reads; 0 or -errno (no message: callers mark results). */
int kh_kva_u64(struct kh_vm *vm, uint64_t va, uint64_t *val);
int kh_kva_u32(struct kh_vm *vm, uint64_t va, uint32_t *val);

/*
 * Reads a NUL-terminated string of at most size - 1 bytes at va, page by
 * page, never past a page it cannot read; buf is always terminated.
 */
int kh_kva_str(struct kh_vm *vm, uint64_t va, char *buf, size_t size);

/* Marks result (first problem wins, except that "incomplete" beats
 * "inconsistent") and returns 0 so callers can `return kh_mark(...)`. */
int kh_mark(struct kh_result *result, unsigned int flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Walks a circular list_head list: head is the address of the list_head
 * that anchors it, member the offset of the list_head inside an entry. fn
 * gets each entry's address and returns 0 to go on, 1 to stop early or
 * -errno to fail the walk. At most max entries; a revisited entry is a
 * cycle. Stops with result marked incomplete on a bad pointer, cycle or
 * bound; returns 0 then too, -errno only for fatal errors (VM gone).
 */
typedef int (*kh_list_fn)(struct kh_vm *vm, uint64_t entry, void *opaque);
int kh_list_walk(struct kh_vm *vm, uint64_t head, uint32_t member,
		 unsigned int max, kh_list_fn fn, void *opaque,
		 struct kh_result *result, struct kh_err *err);

/* The entries of a list, in order: what kh_list_collect() gathers. */
struct kh_addr_list {
	uint64_t *addrs;	/* free() it */
	unsigned int nr, cap;
};
/* A kh_list_fn that appends each entry to the kh_addr_list opaque. */
int kh_list_collect(struct kh_vm *vm, uint64_t entry, void *opaque);

/*
 * Addresses of guest objects seen by a walk, each with an index of the
 * walker's (where it keeps what it read there): cycle detection in walks
 * of any shape, and finding an object seen before. Address 0 is never in.
 */
struct kh_addr_set {
	uint64_t *slots;
	unsigned int *index;
	unsigned int cap, nr;
	/*
	 * Set (as KH_ADDR_SET_SCRATCH does) for a set inside one walk: its
	 * memory then comes from the thread's scratch (walk/scratch.h) and
	 * goes with the walk's release, not with kh_addr_set_free.
	 */
	int scratch;
};
#define KH_ADDR_SET_SCRATCH	{ .scratch = 1 }
/* 1 if addr was new (and is now in, with index), 0 if present, -ENOMEM. */
int kh_addr_set_put(struct kh_addr_set *set, uint64_t addr,
		    unsigned int index);
/* kh_addr_set_put() with index 0, for sets that only detect cycles. */
int kh_addr_set_add(struct kh_addr_set *set, uint64_t addr);
/* The index addr was put with, or -1 when it is not in the set. */
int kh_addr_set_find(const struct kh_addr_set *set, uint64_t addr);
/* Points addr, already in, at a new index: its object was replaced. */
void kh_addr_set_move(struct kh_addr_set *set, uint64_t addr,
		      unsigned int index);
/* Empty again, keeping the memory. */
void kh_addr_set_clear(struct kh_addr_set *set);
void kh_addr_set_free(struct kh_addr_set *set);

/* The most entries any guest list may have: what its RAM could hold. */
unsigned int kh_max_objects(const struct kh_vm *vm, uint32_t object_size);

/*
 * The path of an open file (struct file at file_va) as
 * readlink(/proc/PID/fd/N) shows it: mounts crossed up to the root,
 * "pipe:[ino]", "socket:[ino]", "anon_inode:[eventfd]" for pseudo files.
 * Also its inode number and mode (S_IFMT bits) when wanted.
 */
int kh_file_path(struct kh_vm *vm, uint64_t file_va, char *buf, size_t size,
		 uint64_t *ino, uint32_t *mode);

/*
 * Where a mount (struct mount at mount) is mounted, as /proc/PID/mounts
 * shows it: its root's path, across the mounts above it up to the
 * namespace's root. 0, or -errno (-EFAULT, -ELOOP for a hostile chain).
 */
int kh_mount_path(struct kh_vm *vm, uint64_t mount, char *buf, size_t size);

/*
 * kh_maps() for a task already in hand (its tgid and mm from kh_tasks),
 * sparing the task-list walk that finding a pid costs.
 */
int kh_maps_mm(struct kh_vm *vm, int32_t pid, uint64_t mm,
	       struct kh_vma_list **listp, struct kh_err *err);
/*
 * The same, with KH_MAPS_EXEC_PATHS: only executable mappings get their
 * file's path (and inode); the others keep their file pointer and an
 * empty path. Resolving every library's path was most of malfind's map.
 */
#define KH_MAPS_EXEC_PATHS	1u
int kh_maps_mm_flags(struct kh_vm *vm, int32_t pid, uint64_t mm,
		     unsigned int flags, struct kh_vma_list **listp,
		     struct kh_err *err);

/*
 * kh_files() for a task list already in hand (with or without threads),
 * sparing the task-list walk.
 */
int kh_files_of(struct kh_vm *vm, const struct kh_task_list *tasks,
		int32_t pid, struct kh_file_list **listp, struct kh_err *err);

/*
 * Brings into the operation's page cache what kh_task_cmdline() will read
 * for each of tasks[0..nr): their mm_structs, their page tables level by
 * level and the pages at both ends of argv, each step one batch for all
 * of them, where one process at a time would make a read per level.
 * Only a hint, and nothing without a page cache: what fails here is left
 * for kh_task_cmdline to find and report. 0, or -errno when the VM is gone.
 */
int kh_cmdline_prefetch(struct kh_vm *vm, const struct kh_task *const *tasks,
			unsigned int nr);

/*
 * Fetches again, all in one read, the pages holding tasks[0..nr)'s mm
 * pointers, so that each reader of a process's memory checks that its
 * task still has the mm it was listed with (task_mm) against the guest
 * of now, not the task walk's page (an operation's page cache keeps
 * those). Nothing without a page cache; 0, or -errno for the batch.
 */
int kh_task_mms_refresh(struct kh_vm *vm, const struct kh_task *const *tasks,
			unsigned int nr);
/* The same for every task of list that has an mm. */
int kh_task_list_refresh_mms(struct kh_vm *vm,
			     const struct kh_task_list *list);

/*
 * A process's heap (mm->start_brk..brk) as the process sees it, for
 * walkers that look for user-space structures in it (bash's history).
 * Pages that are not present read as zeros and are counted in missing:
 * never touched (a zero entry, as the top of a heap mostly is) or, with
 * an entry, swapped out (counted in swapped too); pages whose entries or
 * bytes could not be read are zeros too, counted in failed.
 */
#define KH_HEAP_MAX	(32u << 20)
struct kh_heap {
	uint64_t start;		/* start_brk */
	uint64_t brk;		/* its end as the mm has it */
	size_t len;		/* bytes in buf: brk - start, at most KH_HEAP_MAX */
	uint8_t *buf;
	unsigned int missing;	/* pages not present */
	unsigned int swapped;	/* of those, with a page-table entry (swap) */
	unsigned int failed;	/* of those, whose reads failed */
	size_t tried;		/* bytes it set out to read, even on error */
};

/*
 * Reads it through the task's page tables, a batch per level for every
 * page, then every present page in one batch. -ENOENT for a task that
 * exited or exec'd (before or while it was read), -EFAULT for an mm or page tables that cannot be
 * read, -ESRCH when the VM is gone. heap->buf is the caller's to free.
 */
int kh_task_heap(struct kh_vm *vm, const struct kh_task *task,
		 struct kh_heap *heap, struct kh_err *err);

/*
 * each bytes (within a page) at each of va[0..nr) of the task's memory
 * into bufs + i * each, in the batches kh_task_heap() reads in;
 * present[i] 0 where the page is not present or its read failed (its
 * bytes zero), *failed counting the latter. Errors as kh_task_heap().
 */
int kh_task_peek(struct kh_vm *vm, const struct kh_task *task,
		 const uint64_t *va, unsigned int nr, size_t each,
		 uint8_t *bufs, uint8_t *present, unsigned int *failed,
		 struct kh_err *err);

#endif /* KH_TOOLKIT_H */
