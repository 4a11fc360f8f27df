// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ELF objects mapped in each process (kh_elfs), as Volatility's
 * linux.elfs lists them: each file mapping at offset 0 whose first bytes,
 * read through the process's page tables, are an ELF header. An object's
 * range runs over the mappings of the same file that follow it in the
 * map (its segments, and the gaps between them that the loader left
 * mapped), as /proc/PID/maps shows them one after the other. The one
 * mapped from mm->exe_file, the struct file exec opened, is the
 * process's executable; the others are its libraries and the dynamic
 * loader (libs: Volatility's library_list, here from the map rather
 * than from the loader's own link_map, which a process can rewrite).
 *
 * A header page that is not present (never touched since the mapping,
 * or swapped out) cannot be read without faulting it in, which keyhole
 * never does: such a mapping is listed, not resident, with no type.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "walk/toolkit.h"

#define PF_KTHREAD_	0x00200000
/* The ELF header's fields read: e_ident, e_type (at 16). */
#define EHDR_BYTES	18

enum { MM_EXE_FILE, NR_ELF_FIELDS };

static const struct kh_field elf_fields[NR_ELF_FIELDS] = {
	[MM_EXE_FILE] = { "mm_struct", "exe_file" },
};

static int by_pid(const void *a, const void *b)
{
	const struct kh_task *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int same_file(const struct kh_vma *a, const struct kh_vma *b)
{
	return a->inode == b->inode && !strcmp(a->path, b->path);
}

static void decode(const uint8_t *ehdr, struct kh_elf *e)
{
	e->bits = ehdr[4] == 1 ? 32 : ehdr[4] == 2 ? 64 : 0;
	/* e_type in the object's byte order (EI_DATA: 1 little, 2 big). */
	e->type = ehdr[5] == 2 ? ehdr[16] << 8 | ehdr[17] :
				 ehdr[17] << 8 | ehdr[16];
}

/* The objects of one process's map, appended to list. */
static int add_objects(struct kh_elf_list *list, const struct kh_task *t,
		       const struct kh_vma_list *maps, uint64_t exe_file,
		       const unsigned int *which, unsigned int n,
		       const uint8_t *ehdrs, const uint8_t *present, int libs)
{
	struct kh_elf *more;
	unsigned int i, j;

	more = realloc(list->elfs, (list->nr + n + 1) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	list->elfs = more;
	for (i = 0; i < n; i++) {
		const struct kh_vma *v = &maps->vmas[which[i]];
		const uint8_t *ehdr = ehdrs + (size_t)i * EHDR_BYTES;
		struct kh_elf *e = &list->elfs[list->nr];

		if (present[i] && memcmp(ehdr, "\177ELF", 4))
			continue;
		if (libs && exe_file && v->file == exe_file)
			continue;
		*e = (struct kh_elf){ .pid = t->pid, .start = v->start,
				      .end = v->end, .inode = v->inode,
				      .resident = present[i],
				      .exe = exe_file && v->file == exe_file };
		memcpy(e->comm, t->comm, sizeof(e->comm));
		memcpy(e->path, v->path, sizeof(e->path));
		for (j = which[i] + 1; j < maps->nr &&
		     same_file(&maps->vmas[j], v); j++)
			e->end = maps->vmas[j].end;
		if (present[i])
			decode(ehdr, e);
		list->nr++;
	}
	return 0;
}

/*
 * One process: its map, its exe_file, and the first bytes of each file
 * mapping at offset 0, in one batch. Failures that are the process's,
 * not the VM's, mark the list and return 0.
 */
static int one_process(struct kh_vm *vm, const struct kh_task *t,
		       const uint32_t *off, int libs,
		       struct kh_elf_list *list, struct kh_err *err)
{
	struct kh_vma_list *maps = NULL;
	struct kh_err one = { 0 };
	unsigned int *which = NULL, i, n = 0, failed = 0;
	uint8_t *ehdrs = NULL, *present = NULL;
	uint64_t *va = NULL, exe_file = 0;
	int ret;

	ret = kh_maps_mm(vm, t->tgid, t->mm, &maps, &one);
	if (!ret) {
		if (maps->result.flags)
			kh_mark(&list->result, maps->result.flags,
				"the map of process %d: %s", t->pid,
				maps->result.problem);
		which = calloc(maps->nr + 1, sizeof(*which));
		va = calloc(maps->nr + 1, sizeof(*va));
		ehdrs = calloc(maps->nr + 1, EHDR_BYTES);
		present = calloc(maps->nr + 1, 1);
		if (!which || !va || !ehdrs || !present)
			ret = kh_err_set(&one, ENOMEM, "out of memory for the map of process %d",
					 t->pid);
	}
	for (i = 0; !ret && i < maps->nr; i++) {
		const struct kh_vma *v = &maps->vmas[i];

		/* A new object starts where its file is mapped from 0. */
		if (!v->file || v->offset ||
		    (i && same_file(&maps->vmas[i - 1], v)))
			continue;
		which[n] = i;
		va[n++] = v->start;
	}
	if (!ret && kh_kva_u64(vm, t->mm + off[MM_EXE_FILE], &exe_file))
		exe_file = 0;	/* no executable known: none marked */
	if (!ret)
		ret = kh_task_peek(vm, t, va, n, EHDR_BYTES, ehdrs, present,
				   &failed, &one);
	if (!ret && failed)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%u ELF headers of process %d could not be read",
			failed, t->pid);
	if (!ret && add_objects(list, t, maps, exe_file, which, n, ehdrs,
				present, libs))
		ret = kh_err_set(&one, ENOMEM, "out of memory for the objects of process %d",
				 t->pid);
	kh_vma_list_free(maps);
	free(which);
	free(va);
	free(ehdrs);
	free(present);
	if (ret == -ESRCH || ret == -ENOMEM || ret == -EOPNOTSUPP) {
		*err = one;
		return ret;
	}
	if (ret == -ENOENT)
		return kh_mark(&list->result, KH_RESULT_INCONSISTENT,
			       "process %d exited while its map was read: %s",
			       t->pid, one.msg);
	if (ret)
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "the objects of process %d: %s", t->pid,
			       one.msg);
	return 0;
}

int kh_elfs(struct kh_vm *vm, int32_t pid, int libs,
	    struct kh_elf_list **listp, struct kh_err *err)
{
	struct kh_task_list *tasks = NULL;
	struct kh_elf_list *list;
	const uint32_t *off;
	unsigned int i, found = 0;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_offsets(vm, elf_fields, NR_ELF_FIELDS, &off, err);
	if (ret)
		return ret;
	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for ELF objects");
	ret = kh_tasks(vm, 0, &tasks, err);
	if (ret)
		goto out;
	list->result = tasks->result;
	qsort(tasks->tasks, tasks->nr, sizeof(*tasks->tasks), by_pid);
	for (i = 0; i < tasks->nr && !ret; i++) {
		const struct kh_task *t = &tasks->tasks[i];

		if (pid && t->pid != pid)
			continue;
		found = 1;
		if (t->pid != t->tgid || !t->mm || (t->flags & PF_KTHREAD_))
			continue;
		ret = one_process(vm, t, off, libs, list, err);
	}
	if (!ret && pid && !found)
		ret = kh_err_set(err, ENOENT, "no process %d in the guest", pid);
	if (!ret)
		ret = kh_vm_verify(vm, err);
out:
	kh_task_list_free(tasks);
	if (ret) {
		kh_elf_list_free(list);
		return ret;
	}
	*listp = list;
	return 0;
}

void kh_elf_list_free(struct kh_elf_list *list)
{
	if (!list)
		return;
	free(list->elfs);
	free(list);
}
