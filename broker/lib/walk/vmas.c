// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A process's memory map, as /proc/PID/maps shows it: since 6.1 an mm
 * keeps its VMAs in a maple tree (mm->mm_mt, no vm_next list), so the map
 * is a walk of that tree (maple_tree.c, a pure function over a node
 * reader, tested on synthetic trees) and one batch of VMA reads.
 *
 * Per VMA the columns are computed the way fs/proc/task_mmu.c does:
 * 's' for VM_MAYSHARE (not VM_SHARED: a read-only shared file mapping has
 * only the former), the offset only for file mappings, the file's path as
 * d_path() prints it. Mappings without a file are named by their special
 * mapping (vm_ops == special_mapping_vmops: vm_private_data is a struct
 * vm_special_mapping whose name is "[vdso]", "[vvar]", "[uprobes]"...),
 * else [heap] (overlaps start_brk..brk) or [stack] (holds start_stack).
 * Not done: "[anon:NAME]" (prctl PR_SET_VMA_ANON_NAME) and the device
 * column (struct kh_vma has no field for it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/page_cache.h"
#include "kernel/read_log.h"
#include "walk/toolkit.h"
#include "walk/maple_tree.h"
#include "walk/path_ahead.h"
#include "walk/scratch.h"

#define WALK_ATTEMPTS	3
#define PAGE_SHIFT	12

/* include/linux/mm.h, unchanged for decades. */
#define VM_READ		0x01
#define VM_WRITE	0x02
#define VM_EXEC		0x04
#define VM_MAYSHARE	0x80

enum {
	MM_MT, MT_ROOT, MM_START_BRK, MM_BRK, MM_START_STACK, MM_MAP_COUNT,
	VMA_START, VMA_END, VMA_FLAGS, VMA_PGOFF, VMA_FILE, VMA_OPS,
	VMA_PRIVATE, VMA_MM, VMA_SIZE, SPECIAL_NAME,
	NODE_SIZE, NODE_PARENT, R64_OFF, R64_SIZE, R64_PIVOT, R64_SLOT,
	R64_META, A64_PIVOT, A64_SLOT, A64_GAP, A64_META,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[MM_MT] = { "mm_struct", "mm_mt" },
	[MT_ROOT] = { "maple_tree", "ma_root" },
	[MM_START_BRK] = { "mm_struct", "start_brk" },
	[MM_BRK] = { "mm_struct", "brk" },
	[MM_START_STACK] = { "mm_struct", "start_stack" },
	[MM_MAP_COUNT] = { "mm_struct", "map_count", .optional = 1 },
	[VMA_START] = { "vm_area_struct", "vm_start" },
	[VMA_END] = { "vm_area_struct", "vm_end" },
	[VMA_FLAGS] = { "vm_area_struct", "vm_flags" },
	[VMA_PGOFF] = { "vm_area_struct", "vm_pgoff" },
	[VMA_FILE] = { "vm_area_struct", "vm_file" },
	[VMA_OPS] = { "vm_area_struct", "vm_ops" },
	[VMA_PRIVATE] = { "vm_area_struct", "vm_private_data" },
	[VMA_MM] = { "vm_area_struct", "vm_mm" },
	[VMA_SIZE] = { "vm_area_struct", NULL },
	[SPECIAL_NAME] = { "vm_special_mapping", "name" },
	[NODE_SIZE] = { "maple_node", NULL },
	[NODE_PARENT] = { "maple_node", "parent" },
	[R64_OFF] = { "maple_node", "mr64" },
	[R64_SIZE] = { "maple_range_64", NULL },
	[R64_PIVOT] = { "maple_range_64", "pivot" },
	[R64_SLOT] = { "maple_range_64", "slot" },
	[R64_META] = { "maple_range_64", "meta", NULL, 1 },
	[A64_PIVOT] = { "maple_node", "ma64.pivot" },
	[A64_SLOT] = { "maple_node", "ma64.slot" },
	[A64_GAP] = { "maple_node", "ma64.gap" },
	[A64_META] = { "maple_node", "ma64.meta" },
};

/* Node layout from BTF; slot counts follow from where the arrays end. */
static int maple_layout(const uint32_t *off, struct kh_maple_layout *l,
			struct kh_err *err)
{
	l->node_size = off[NODE_SIZE];
	l->parent = off[NODE_PARENT];
	l->r64_pivot = off[R64_OFF] + off[R64_PIVOT];
	l->r64_slot = off[R64_OFF] + off[R64_SLOT];
	l->r64_slots = (off[R64_SIZE] - off[R64_SLOT]) / 8;
	l->r64_meta = off[R64_META] != KH_FIELD_ABSENT ?
		      off[R64_OFF] + off[R64_META] :
		      l->r64_slot + (l->r64_slots - 1) * 8;
	l->a64_pivot = off[A64_PIVOT];
	l->a64_slot = off[A64_SLOT];
	l->a64_meta = off[A64_META];
	l->a64_slots = off[A64_GAP] > off[A64_SLOT] ?
		       (off[A64_GAP] - off[A64_SLOT]) / 8 : 0;
	if (off[R64_SLOT] <= off[R64_PIVOT] || off[R64_SIZE] <= off[R64_SLOT] ||
	    l->r64_slots < 2 || l->a64_slots < 2 ||
	    (off[R64_SLOT] - off[R64_PIVOT]) / 8 != l->r64_slots - 1 ||
	    (l->a64_slot - l->a64_pivot) / 8 != l->a64_slots - 1 ||
	    off[R64_OFF] + off[R64_SIZE] > l->node_size ||
	    l->a64_meta >= l->node_size || l->r64_meta >= l->node_size ||
	    l->node_size > 4096 ||
	    /* Every field the walk reads lies inside the node it read. */
	    (uint64_t)l->parent + 8 > l->node_size ||
	    l->a64_slot <= l->a64_pivot ||
	    (uint64_t)l->a64_slot + 8ULL * l->a64_slots > l->node_size ||
	    (uint64_t)l->r64_slot + 8ULL * l->r64_slots > l->node_size ||
	    (uint64_t)l->r64_meta + 2 > l->node_size ||
	    (uint64_t)l->a64_meta + 2 > l->node_size)
		return kh_err_set(err, EPROTO,
				  "guest kernel layout: struct maple_node is not the maple tree keyhole knows");
	return 0;
}

struct maps_walk {
	struct kh_vm *vm;
	struct kh_vma_list *list;
	unsigned int cap, max;
	unsigned int flags;	/* KH_MAPS_* */
};

/*
 * Room for cap VMAs. The first walk of a map asks for mm->map_count of
 * them at once (at most RESERVE_MAX: the count is the guest's word),
 * since growing the array VMA by VMA was 3% of a crawl.
 */
#define RESERVE_MAX	4096u

static unsigned int min3(unsigned int a, unsigned int b, unsigned int c)
{
	unsigned int m = a < b ? a : b;

	return m < c ? m : c;
}

static int reserve(struct maps_walk *mw, unsigned int cap)
{
	struct kh_vma *vmas;

	if (cap <= mw->cap)
		return 0;
	vmas = realloc(mw->list->vmas, sizeof(*vmas) * cap);
	if (!vmas)
		return -ENOMEM;
	mw->list->vmas = vmas;
	mw->cap = cap;
	return 0;
}

/*
 * A guest that claims thousands of VMAs and has few must not keep the
 * room: the crawl's memory budget counts the VMAs, not the capacity.
 */
static void trim(struct maps_walk *mw)
{
	unsigned int cap = mw->list->nr ? mw->list->nr : 1;
	struct kh_vma *vmas;

	if (mw->cap <= 2 * cap)
		return;
	vmas = realloc(mw->list->vmas, sizeof(*vmas) * cap);
	if (vmas) {
		mw->list->vmas = vmas;
		mw->cap = cap;
	}
}

static int maps_read_nodes(void *opaque, struct kh_read *reads,
			   unsigned int nr, struct kh_err *err)
{
	struct maps_walk *mw = opaque;

	return kh_kva_fetch(mw->vm, reads, nr, err);
}

static int maps_entry(void *opaque, uint64_t entry, uint64_t first,
		      uint64_t last)
{
	struct maps_walk *mw = opaque;
	struct kh_vma *vma;

	if (!kh_kernel_ptr(mw->vm, entry)) {
		kh_mark(&mw->list->result, KH_RESULT_INCOMPLETE,
			"maple tree entry 0x%" PRIx64 " for 0x%" PRIx64
			" is not a kernel address", entry, first);
		return 0;
	}
	if (mw->list->nr >= mw->max) {
		kh_mark(&mw->list->result, KH_RESULT_INCOMPLETE,
			"more than %u VMAs", mw->max);
		return 1;
	}
	if (mw->list->nr == mw->cap &&
	    reserve(mw, mw->cap ? mw->cap * 2 : 16))
		return -ENOMEM;
	vma = &mw->list->vmas[mw->list->nr++];
	/*
	 * The tree's range, and in offset the VMA's address, until the VMA
	 * itself is read; fill_vmas sets the rest (zeroing 296 bytes per
	 * VMA here was 5% of a crawl).
	 */
	vma->start = first;
	vma->end = last + 1;
	vma->offset = entry;
	return 0;
}

/*
 * The mm_struct fields the map needs, in one batch. map_count is only a
 * hint for the array's size: when it alone cannot be read it is 0.
 */
struct mm_view {
	uint64_t root, start_brk, brk, start_stack;
	int32_t map_count;
};

static int read_mm(struct kh_vm *vm, const uint32_t *off, uint64_t mm,
		   struct mm_view *view, struct kh_err *err)
{
	struct kh_read reads[] = {
		{ .addr = mm + off[MM_MT] + off[MT_ROOT], .buf = &view->root,
		  .len = 8 },
		{ .addr = mm + off[MM_START_BRK], .buf = &view->start_brk,
		  .len = 8 },
		{ .addr = mm + off[MM_BRK], .buf = &view->brk, .len = 8 },
		{ .addr = mm + off[MM_START_STACK], .buf = &view->start_stack,
		  .len = 8 },
		{ .addr = mm + off[MM_MAP_COUNT], .buf = &view->map_count,
		  .len = 4 },
	};
	unsigned int nr = sizeof(reads) / sizeof(reads[0]);
	int ret;

	view->map_count = 0;
	if (off[MM_MAP_COUNT] == KH_FIELD_ABSENT)
		nr--;
	ret = kh_kva_fetch(vm, reads, nr, err);
	if (ret > 0 && nr == sizeof(reads) / sizeof(reads[0])) {
		view->map_count = 0;
		ret = kh_kva_fetch(vm, reads, nr - 1, err);
	}
	return ret;
}

/* Span of vm_area_struct that holds every field read per VMA. */
static void vma_span(const uint32_t *off, uint32_t *start, uint32_t *len)
{
	static const int members[] = { VMA_START, VMA_END, VMA_FLAGS,
				       VMA_PGOFF, VMA_FILE, VMA_OPS,
				       VMA_PRIVATE, VMA_MM };
	uint32_t lo = UINT32_MAX, hi = 0;
	unsigned int i;

	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		if (off[members[i]] < lo)
			lo = off[members[i]];
		if (off[members[i]] + 8 > hi)
			hi = off[members[i]] + 8;
	}
	*start = lo;
	*len = hi - lo;
}

struct file_name {
	uint64_t file;
	uint64_t inode;
	char path[256];
	int ok;
};

/*
 * Paths of the mapped files, each distinct struct file resolved once and
 * found again through a small open-addressing index. At most
 * MAPS_FILES_MAX distinct files are resolved per map: each costs a path
 * walk, and a hostile tree may point every VMA at a different "file".
 */
#define MAPS_FILES_MAX	2048u

struct file_cache {
	struct file_name *names;	/* grown on demand: most maps have few */
	unsigned int nr, cap;
	/*
	 * 1 + position in names; twice as many slots as the map can have
	 * distinct files (a power of two), so that a crawl does not zero
	 * an index for 2048 files per process.
	 */
	uint32_t *index;
	unsigned int slots;
};

static int file_cache_init(struct file_cache *cache, unsigned int nr_vmas)
{
	unsigned int files = nr_vmas < MAPS_FILES_MAX ? nr_vmas :
			     MAPS_FILES_MAX;

	memset(cache, 0, sizeof(*cache));
	cache->slots = 2;
	while (cache->slots < 2 * files)
		cache->slots *= 2;
	cache->index = kh_scratch_zalloc(sizeof(*cache->index) * cache->slots);
	return cache->index ? 0 : -ENOMEM;
}

static const struct file_name *file_path(struct kh_vm *vm,
					 struct file_cache *cache,
					 uint64_t file)
{
	unsigned int slot = (unsigned int)((file >> 3) *
					   0x9e3779b97f4a7c15ULL >> 40) &
			    (cache->slots - 1);
	struct file_name *f;

	for (; cache->index[slot]; slot = (slot + 1) & (cache->slots - 1))
		if (cache->names[cache->index[slot] - 1].file == file)
			return &cache->names[cache->index[slot] - 1];
	if (cache->nr == MAPS_FILES_MAX || cache->nr == cache->slots / 2)
		return NULL;
	if (cache->nr == cache->cap) {
		unsigned int cap = cache->cap ? cache->cap * 2 : 16;
		struct file_name *names = kh_scratch_grow(cache->names,
							  sizeof(*names) * cache->cap,
							  sizeof(*names) * cap);

		if (!names)
			return NULL;
		cache->names = names;
		cache->cap = cap;
	}
	f = &cache->names[cache->nr++];
	cache->index[slot] = cache->nr;
	f->file = file;
	f->ok = kh_kernel_ptr(vm, file) &&
		!kh_file_path(vm, file, f->path, sizeof(f->path), &f->inode,
			      NULL);
	return f;
}

/*
 * The names of special mappings seen in this operation, by their struct
 * vm_special_mapping: every process has [vdso] and [vvar], and reading
 * the same two names again for each was 3% of a crawl. Kept as the path
 * memo is (walk/dentry_path.c): for the operation's page-cache scope,
 * and not while a part's reads are logged.
 */
#define SPECIAL_MEMO	8
#define SPECIAL_NAME_MAX 32

struct special_memo {
	uint64_t epoch, mapping;
	char name[SPECIAL_NAME_MAX];
};

static __thread struct special_memo special_memo[SPECIAL_MEMO];

static struct special_memo *special_slot(uint64_t mapping)
{
	return &special_memo[(mapping >> 3) & (SPECIAL_MEMO - 1)];
}

static void name_special(struct kh_vm *vm, const uint32_t *off,
			 uint64_t special_vmops, uint64_t ops,
			 uint64_t private, struct kh_vma *vma)
{
	uint64_t epoch = kh_logging ? 0 : kh_page_cache_epoch(vm);
	struct special_memo *memo = special_slot(private);
	uint64_t name;

	if (!special_vmops || ops != special_vmops ||
	    !kh_kernel_ptr(vm, private))
		return;
	if (epoch && memo->epoch == epoch && memo->mapping == private) {
		strcpy(vma->path, memo->name);
		return;
	}
	if (kh_kva_u64(vm, private + off[SPECIAL_NAME], &name) ||
	    !kh_kernel_ptr(vm, name) ||
	    kh_kva_str(vm, name, vma->path, sizeof(vma->path)))
		return;
	if (epoch && strlen(vma->path) < SPECIAL_NAME_MAX) {
		memo->epoch = epoch;
		memo->mapping = private;
		strcpy(memo->name, vma->path);
	}
}

/* The paths of the files the VMAs read map, fetched ahead. */
static void read_ahead(struct kh_vm *vm, const uint32_t *off,
		       const struct kh_read *reads, const uint8_t *spans,
		       uint32_t start, uint32_t len, unsigned int nr)
{
	struct kh_scratch_mark mark = kh_scratch_mark();
	uint64_t *files = kh_scratch_alloc(sizeof(*files) * nr), file;
	unsigned int i, n = 0;

	if (files) {
		for (i = 0; i < nr; i++) {
			file = kh_load_u64(spans + (size_t)i * len,
					   off[VMA_FILE] - start);
			if (!reads[i].result && file &&
			    (!n || files[n - 1] != file))
				files[n++] = file;
		}
		kh_file_paths_read_ahead(vm, files, n);
	}
	kh_scratch_release(mark);
}

/* Reads every VMA the tree named and fills in the /proc columns. */
static int fill_vmas(struct kh_vm *vm, const uint32_t *off, uint64_t mm,
		     const struct mm_view *view, struct maps_walk *mw,
		     struct kh_err *err)
{
	struct kh_vma_list *list = mw->list;
	struct kh_scratch_mark mark = kh_scratch_mark();
	struct file_cache files[1] = { 0 };
	unsigned int i;
	uint64_t special_vmops = 0;
	struct kh_read *reads;
	uint32_t start, len;
	uint8_t *spans;
	int ret;

	if (!list->nr)
		return 0;
	vma_span(off, &start, &len);
	reads = kh_scratch_alloc(sizeof(*reads) * list->nr);
	spans = kh_scratch_alloc((size_t)list->nr * len);
	if (!reads || !spans || file_cache_init(files, list->nr)) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u VMAs",
				 list->nr);
		goto out;
	}
	for (i = 0; i < list->nr; i++)
		reads[i] = (struct kh_read){ .addr = list->vmas[i].offset +
						     start,
					     .buf = spans + (size_t)i * len,
					     .len = len };
	ret = kh_kva_fetch(vm, reads, list->nr, err);
	if (ret < 0)
		goto out;
	read_ahead(vm, off, reads, spans, start, len, list->nr);
	/* A static symbol: without it special mappings stay unnamed. */
	if (kh_sym_va(vm, "special_mapping_vmops", &special_vmops, NULL))
		special_vmops = 0;
	for (i = 0, ret = 0; i < list->nr; i++) {
		const uint8_t *s = spans + (size_t)i * len;
		struct kh_vma *vma = &list->vmas[i];
		uint64_t vstart = kh_load_u64(s, off[VMA_START] - start);
		uint64_t vend = kh_load_u64(s, off[VMA_END] - start);
		uint64_t flags = kh_load_u64(s, off[VMA_FLAGS] - start);
		uint64_t file = kh_load_u64(s, off[VMA_FILE] - start);
		const struct file_name *fn;

		vma->offset = 0;
		vma->inode = 0;
		vma->path[0] = '\0';
		vma->file = 0;
		if (reads[i].result) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"VMA 0x%" PRIx64 " cannot be read",
				reads[i].addr - start);
			strcpy(vma->perms, "----");
			continue;
		}
		if (vstart != vma->start || vend != vma->end ||
		    kh_load_u64(s, off[VMA_MM] - start) != mm)
			kh_mark(&list->result, KH_RESULT_INCONSISTENT,
				"VMA 0x%" PRIx64 " (0x%" PRIx64 "-0x%" PRIx64
				") is not where the tree has it; the map changed during the walk",
				reads[i].addr - start, vstart, vend);
		vma->start = vstart;
		vma->end = vend;
		vma->perms[0] = flags & VM_READ ? 'r' : '-';
		vma->perms[1] = flags & VM_WRITE ? 'w' : '-';
		vma->perms[2] = flags & VM_EXEC ? 'x' : '-';
		vma->perms[3] = flags & VM_MAYSHARE ? 's' : 'p';
		vma->perms[4] = '\0';
		if (file) {
			vma->file = file;
			vma->offset = kh_load_u64(s, off[VMA_PGOFF] - start) <<
				      PAGE_SHIFT;
			if ((mw->flags & KH_MAPS_EXEC_PATHS) &&
			    !(flags & VM_EXEC))
				continue;
			fn = file_path(vm, files, file);
			if (!fn) {
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"VMA 0x%" PRIx64 " left unnamed: more than %u mapped files, or out of memory",
					vstart, MAPS_FILES_MAX);
			} else if (fn->ok) {
				vma->inode = fn->inode;
				strcpy(vma->path, fn->path);
			} else {
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"file 0x%" PRIx64 " of VMA 0x%" PRIx64
					" cannot be resolved", file, vstart);
			}
			continue;
		}
		name_special(vm, off, special_vmops,
			     kh_load_u64(s, off[VMA_OPS] - start),
			     kh_load_u64(s, off[VMA_PRIVATE] - start), vma);
		if (vma->path[0])
			continue;
		if (vstart <= view->brk && vend >= view->start_brk)
			strcpy(vma->path, "[heap]");
		else if (vstart <= view->start_stack &&
			 vend >= view->start_stack)
			strcpy(vma->path, "[stack]");
	}
out:
	kh_scratch_release(mark);
	return ret < 0 ? ret : 0;
}

static int by_start(const void *a, const void *b)
{
	const struct kh_vma *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* A sound tree's leaves come in order: sorting them again cost 2% of a crawl. */
static int in_order(const struct kh_vma_list *list)
{
	unsigned int i;

	for (i = 1; i < list->nr; i++)
		if (list->vmas[i - 1].start > list->vmas[i].start)
			return 0;
	return 1;
}

static int find_mm(struct kh_vm *vm, int32_t pid, uint64_t *mm,
		   struct kh_err *err)
{
	struct kh_task_list *tasks;
	unsigned int i;
	int ret;

	/* A thread's id names its process's map, as /proc/TID/maps does. */
	ret = kh_tasks(vm, KH_TASKS_THREADS, &tasks, err);
	if (ret)
		return ret;
	ret = kh_err_set(err, ENOENT, "no process with pid %d in the guest",
			 (int)pid);
	for (i = 0; i < tasks->nr; i++) {
		if (tasks->tasks[i].pid != pid)
			continue;
		*mm = tasks->tasks[i].mm;
		ret = 0;
		break;
	}
	kh_task_list_free(tasks);
	return ret;
}

static void list_reset(struct kh_vma_list *list)
{
	list->nr = 0;
	memset(&list->result, 0, sizeof(list->result));
}

int kh_maps_mm_flags(struct kh_vm *vm, int32_t pid, uint64_t mm,
		     unsigned int flags, struct kh_vma_list **listp,
		     struct kh_err *err)
{
	struct kh_maple_layout layout;
	struct maps_walk mw = { .vm = vm, .flags = flags };
	struct kh_maple_walk walk = {
		.layout = &layout, .read = maps_read_nodes,
		.entry = maps_entry, .opaque = &mw,
		.max_depth = KH_MAPLE_HEIGHT_MAX,
		/* The lowest kernel address, as kh_kernel_ptr() has it. */
		.min_addr = vm->kernel.levels == 5 ? 0xff00000000000000ULL :
						     0xffff800000000000ULL,
	};
	struct mm_view view;
	const uint32_t *off;
	int attempt, ret;

	ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (!ret)
		ret = maple_layout(off, &layout, err);
	if (ret)
		return ret;
	mw.list = calloc(1, sizeof(*mw.list));
	if (!mw.list)
		return kh_err_set(err, ENOMEM, "out of memory for a map");
	/* A kernel thread or a zombie: /proc/PID/maps is empty too. */
	if (!mm)
		goto verify;
	if (!kh_kernel_ptr(vm, mm)) {
		kh_mark(&mw.list->result, KH_RESULT_INCOMPLETE,
			"mm_struct pointer 0x%" PRIx64 " of pid %d is not a kernel address",
			mm, (int)pid);
		goto verify;
	}
	walk.tree = mm + off[MM_MT];
	walk.max_nodes = kh_max_objects(vm, layout.node_size);
	mw.max = kh_max_objects(vm, off[VMA_SIZE]);
	for (attempt = 0; attempt < WALK_ATTEMPTS; attempt++) {
		list_reset(mw.list);
		if (attempt)
			kh_vm_fresh(vm);
		ret = read_mm(vm, off, mm, &view, err);
		if (ret < 0)
			goto out;
		if (ret) {
			kh_mark(&mw.list->result, KH_RESULT_INCOMPLETE,
				"mm_struct 0x%" PRIx64 " of pid %d cannot be read",
				mm, (int)pid);
			break;
		}
		/* Only a hint: without the room, the walk grows the array. */
		if (view.map_count > 0)
			reserve(&mw, min3(view.map_count, RESERVE_MAX, mw.max));
		walk.root = view.root;
		ret = kh_maple_walk(&walk, &mw.list->result, err);
		if (!ret)
			ret = fill_vmas(vm, off, mm, &view, &mw, err);
		if (ret)
			goto out;
		if (!mw.list->result.flags)
			break;
	}
	if (!in_order(mw.list))
		qsort(mw.list->vmas, mw.list->nr, sizeof(*mw.list->vmas),
		      by_start);
	trim(&mw);
verify:
	ret = kh_vm_verify(vm, err);
out:
	if (ret) {
		kh_vma_list_free(mw.list);
		return ret;
	}
	*listp = mw.list;
	return 0;
}

int kh_maps_mm(struct kh_vm *vm, int32_t pid, uint64_t mm,
	       struct kh_vma_list **listp, struct kh_err *err)
{
	return kh_maps_mm_flags(vm, pid, mm, 0, listp, err);
}

void kh_vma_list_free(struct kh_vma_list *list)
{
	if (!list)
		return;
	free(list->vmas);
	free(list);
}

int kh_maps(struct kh_vm *vm, int32_t pid, struct kh_vma_list **listp,
	    struct kh_err *err)
{
	uint64_t mm = 0;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	ret = find_mm(vm, pid, &mm, err);
	return ret ? ret : kh_maps_mm(vm, pid, mm, listp, err);
}
