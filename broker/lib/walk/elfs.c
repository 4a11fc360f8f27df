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
 * never does: such an object is listed, not resident, with no type, if
 * it has an executable mapping (it may be code); any other is left out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "walk/toolkit.h"

#define PF_KTHREAD_	0x00200000
/* The ELF header's fields read: e_ident, e_type (at 16). */
#define EHDR_BYTES	18
/* Objects per process (max_map_count's default), and in all. */
#define PROCESS_OBJECTS_MAX	65536
#define OBJECTS_MAX		(1u << 20)

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
	return a->file && b->file && a->inode == b->inode &&
	       !strcmp(a->path, b->path);
}

static void decode(const uint8_t *ehdr, struct kh_elf *e)
{
	e->bits = ehdr[4] == 1 ? 32 : ehdr[4] == 2 ? 64 : 0;
	/* e_type in the object's byte order (EI_DATA: 1 little, 2 big). */
	e->type = ehdr[5] == 2 ? ehdr[16] << 8 | ehdr[17] :
				 ehdr[17] << 8 | ehdr[16];
}

/* A mapping of the object that starts at map[i] may be run. */
static int executable(const struct kh_vma_list *maps, unsigned int i)
{
	unsigned int j;

	for (j = i; j < maps->nr && (j == i ||
				     same_file(&maps->vmas[j], &maps->vmas[i]));
	     j++)
		if (maps->vmas[j].perms[2] == 'x')
			return 1;
	return 0;
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
		/* Unread, it may be any file: only code is listed so. */
		if (!present[i] && !executable(maps, which[i]))
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
 * mapping at offset 0, in one batch. 1 when it was read; failures that
 * are the process's, not the VM's, mark the list and return 0.
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
		if (n == PROCESS_OBJECTS_MAX) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"process %d maps more than %u files from their start: the rest are not looked at",
				t->pid, PROCESS_OBJECTS_MAX);
			break;
		}
		which[n] = i;
		va[n++] = v->start;
	}
	if (!ret && kh_kva_u64(vm, t->mm + off[MM_EXE_FILE], &exe_file)) {
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"the executable of process %d cannot be read: none of its objects is marked as it",
			t->pid);
		exe_file = 0;
	}
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
	return 1;
}

/*
 * A process on an mm already read (CLONE_VM without a thread group)
 * maps what the first did: its objects again, under this pid.
 */
static int copy_objects(struct kh_elf_list *list, const struct kh_task *t,
			unsigned int first, unsigned int nr)
{
	struct kh_elf *more;
	unsigned int i;

	more = realloc(list->elfs, (list->nr + nr + 1) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	list->elfs = more;
	for (i = 0; i < nr; i++) {
		struct kh_elf *e = &list->elfs[list->nr++];

		*e = list->elfs[first + i];
		e->pid = t->pid;
		memcpy(e->comm, t->comm, sizeof(e->comm));
	}
	return 0;
}

/* Where an mm's objects are in the list, once it was read. */
struct span {
	unsigned int first, nr;
};

static int remember(struct kh_addr_set *mms, struct span **spans,
		    unsigned int *nr_spans, uint64_t mm, unsigned int first,
		    unsigned int nr)
{
	struct span *more = realloc(*spans, (*nr_spans + 1) * sizeof(*more));

	if (!more)
		return -ENOMEM;
	*spans = more;
	if (kh_addr_set_put(mms, mm, *nr_spans) < 0)
		return -ENOMEM;
	more[(*nr_spans)++] = (struct span){ first, nr };
	return 0;
}

int kh_elfs(struct kh_vm *vm, int32_t pid, int libs,
	    struct kh_elf_list **listp, struct kh_err *err)
{
	struct kh_task_list *tasks = NULL;
	struct kh_addr_set mms = { 0 };
	struct span *spans = NULL;
	struct kh_elf_list *list;
	const uint32_t *off;
	unsigned int i, found = 0, first, nr_spans = 0;
	int ret, seen;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_offsets(vm, elf_fields, NR_ELF_FIELDS, &off, err);
	if (ret)
		return ret;
	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for ELF objects");
	/* One process asked for may be asked for by a thread's id. */
	ret = kh_tasks(vm, pid ? KH_TASKS_THREADS : 0, &tasks, err);
	/* Whether each still has its mm is asked of the guest of now. */
	if (!ret && kh_task_list_refresh_mms(vm, tasks) == -ESRCH)
		ret = kh_err_set(err, ESRCH, "the VM exited");
	if (ret)
		goto out;
	list->result = tasks->result;
	qsort(tasks->tasks, tasks->nr, sizeof(*tasks->tasks), by_pid);
	for (i = 0; i < tasks->nr && !ret; i++) {
		const struct kh_task *t = &tasks->tasks[i];

		if (pid && t->pid != pid)
			continue;
		found = 1;
		/* A thread asked for by its id maps what its process does. */
		if ((!pid && t->pid != t->tgid) || !t->mm ||
		    (t->flags & PF_KTHREAD_))
			continue;
		if (list->nr >= OBJECTS_MAX) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"more than %u objects in all: process %d and those after it were not read",
				OBJECTS_MAX, t->pid);
			break;
		}
		seen = kh_addr_set_find(&mms, t->mm);
		if (seen >= 0) {
			if (copy_objects(list, t, spans[seen].first,
					 spans[seen].nr))
				ret = kh_err_set(err, ENOMEM, "out of memory for ELF objects");
			continue;
		}
		first = list->nr;
		ret = one_process(vm, t, off, libs, list, err);
		/*
		 * Only a map that was read stands for its mm: one that failed
		 * (its process exiting) may have left that mm_struct's memory
		 * to a new process further on the list.
		 */
		if (ret > 0 && remember(&mms, &spans, &nr_spans, t->mm, first,
					list->nr - first))
			ret = kh_err_set(err, ENOMEM, "out of memory for ELF objects");
		ret = ret > 0 ? 0 : ret;
	}
	if (!ret && pid && !found)
		ret = kh_err_set(err, ENOENT, "no process %d in the guest", pid);
	if (!ret)
		ret = kh_vm_verify(vm, err);
out:
	kh_task_list_free(tasks);
	kh_addr_set_free(&mms);
	free(spans);
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
