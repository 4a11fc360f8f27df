// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The module loader's memory, the third place a module is seen: every
 * module's code and data are vmalloc areas (vmap_area_list, in address
 * order, 6.1 to 6.8) in the module region that module_alloc() made for
 * the loader (their vm_struct's caller is in load_module(), or
 * module_memory_alloc() from 6.4). A module that took itself off the
 * modules list and out of sysfs still runs from such an area, one that
 * no module keyhole knows holds.
 *
 * For each area of the region that no module holds, and that is not of
 * the kernel's other users of module_alloc() (the BPF JIT, kprobes'
 * instruction slots, ftrace's trampolines: told by their caller), it
 * gives its bounds and the struct module found in it, if any: a struct
 * module lies in its module's own memory (.gnu.linkonce.this_module),
 * and its module kobject points back at it (mkobj.mod), which is how it
 * is recognised. A caller that is none of these (zeroed, or forged to
 * some other function) does not hide an area; one forged to a BPF or
 * kprobes allocator does. An area of the region without a vm_struct is
 * none the kernel makes, and is said.
 *
 * Only the region's areas are read: the list is walked from its end (the
 * highest addresses) down to the first area below the region. Bounded:
 * so many areas at most, and so many bytes read in all for the search
 * (only areas no known module holds are searched: none on a clean guest).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

/* x86-64's module area, with or without KASLR (MODULES_VADDR..END). */
#define MODULES_START 0xffffffffa0000000ULL
#define MODULES_END 0xffffffffff000000ULL
#define MAX_AREAS (1u << 20)
/* An area larger than this is no module's. */
#define MAX_AREA_BYTES (256ull << 20)
/* Bytes of unknown areas read at most per check. */
#define MAX_SEARCH_BYTES (256ull << 20)
#define PAGE 4096ull

enum {
	VA_LIST, VA_START, VA_END, VA_VM, VM_CALLER, MOD_MKOBJ, MKOBJ_MOD,
	MOD_STATE, MOD_NAME,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[VA_LIST] = { "vmap_area", "list" },
	[VA_START] = { "vmap_area", "va_start" },
	[VA_END] = { "vmap_area", "va_end" },
	[VA_VM] = { "vmap_area", "vm" },
	[VM_CALLER] = { "vm_struct", "caller" },
	[MOD_MKOBJ] = { "module", "mkobj" },
	[MKOBJ_MOD] = { "module_kobject", "mod" },
	[MOD_STATE] = { "module", "state" },
	[MOD_NAME] = { "module", "name" },
};

/*
 * The kernel's users of module_alloc() other than the loader, by the
 * caller their areas record (bpf_jit_alloc_exec, alloc_insn_page.isra.0
 * ...): the BPF JIT's packs, trampolines and dispatchers, kprobes'
 * instruction slots, ftrace's trampolines.
 */
static int not_a_module(const char *name)
{
	static const char *const others[] = {
		"bpf_jit_alloc_exec", "bpf_prog_pack_alloc", "alloc_new_pack",
		"bpf_jit_binary_alloc", "bpf_jit_binary_pack_alloc",
		"bpf_tramp_image_alloc", "bpf_trampoline_update",
		"bpf_struct_ops_map_alloc", "bpf_dispatcher_prepare",
		"alloc_insn_page", "arch_ftrace_update_trampoline",
		"create_trampoline", "alloc_tramp",
	};
	unsigned int i;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		size_t n = strlen(others[i]);

		if (!strncmp(name, others[i], n) &&
		    (!name[n] || name[n] == '.'))
			return 1;
	}
	return 0;
}

/* A growable array of the region's areas and their vm_structs. */
struct region {
	struct kh_check_area *areas;
	uint64_t *vms;
	unsigned int nr, cap;
};

static int region_add(struct region *r, uint64_t start, uint64_t end,
		      uint64_t vm)
{
	if (r->nr == r->cap) {
		unsigned int cap = r->cap ? r->cap * 2 : 64;
		struct kh_check_area *a = realloc(r->areas, cap * sizeof(*a));
		uint64_t *v = a ? realloc(r->vms, cap * sizeof(*v)) : NULL;

		if (a)
			r->areas = a;
		if (!v)
			return -ENOMEM;
		r->vms = v;
		r->cap = cap;
	}
	r->areas[r->nr] = (struct kh_check_area){ .start = start, .end = end };
	r->vms[r->nr++] = vm;
	return 0;
}

/*
 * The walks' state: one area read at a time, the region's kept in r,
 * each once (kept: the vmap_areas in r), whichever walk met it.
 */
struct area_walk {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	uint32_t span;			/* bytes read of each vmap_area */
	struct region *r;
	struct kh_addr_set kept;
	int *bad;
	uint64_t start, next, prev;	/* the last area read's */
};

/*
 * Reads the vmap_area at va and keeps it when it is of the module
 * region: 0, or -errno when it cannot be read (the technique's error) or
 * for want of memory.
 */
static int read_area(struct area_walk *aw, uint64_t va)
{
	const uint32_t *off = aw->off;
	uint64_t rec[16], end, vm;
	int ret;

	ret = kh_kva_fetch_one(aw->cx->vm, va, rec, aw->span, NULL);
	if (ret)
		return ret < 0 ? ret : -EFAULT;
	aw->start = kh_load_u64(rec, off[VA_START]);
	aw->next = kh_load_u64(rec, off[VA_LIST]);
	aw->prev = kh_load_u64(rec, off[VA_LIST] + 8);
	end = kh_load_u64(rec, off[VA_END]);
	vm = kh_load_u64(rec, off[VA_VM]);
	if (aw->start < MODULES_START)
		return 0;
	/* Above the region is no vmalloc space: an end there is forged. */
	if (end > MODULES_END) {
		*aw->bad = 1;
		return 0;
	}
	/* A busy area always has its vm_struct. */
	if (!vm || end <= aw->start || end - aw->start > MAX_AREA_BYTES ||
	    aw->start % PAGE || !kh_kernel_ptr_aligned(aw->cx->vm, vm, 8)) {
		*aw->bad = 1;
		return 0;
	}
	ret = kh_addr_set_add(&aw->kept, va);
	return ret > 0 ? region_add(aw->r, aw->start, end, vm) : ret;
}

/*
 * kh_list_walk's callback for the walk from the list's start: an area
 * that cannot be read is one left out (said), not the walk's end.
 */
static int forward_area(struct kh_vm *vm, uint64_t va, void *opaque)
{
	struct area_walk *aw = opaque;
	int ret = read_area(aw, va);

	if (ret && !kh_check_fatal(ret)) {
		*aw->bad = 1;
		ret = 0;
	}
	return ret;
}

/*
 * Whether the areas found hold every listed module's memory (its first
 * range): a list whose end was forged (its head's prev at an area below
 * the region, which points back at it) ends the walk back at once, in
 * order, with nothing found.
 */
static int holds_listed(const struct kh_check_ctx *cx, const struct region *r)
{
	unsigned int i, j;

	for (i = 0; i < cx->nr_mods; i++) {
		const struct kh_check_module *m = &cx->mods[i];
		uint64_t at = m->ranges[0].start;

		if (!m->listed || !m->nr_ranges)
			continue;
		for (j = 0; j < r->nr; j++)
			if (r->areas[j].start <= at && at < r->areas[j].end)
				break;
		if (j == r->nr)
			return 0;
	}
	return 1;
}

/*
 * The areas of the module region, walked from the list's end: the list
 * is in address order and the region is above the rest of vmalloc's
 * space, so the walk ends at the first area below it, having read the
 * region's areas (a few dozen) rather than every vmalloc area. Each area
 * is one read: its bounds, its links and its vm_struct. Each step must
 * keep the list's order and links (the area reached points forward at
 * the one left, and lies below it); a list that does not, as one whose
 * prev or next links skip an area, or one whose areas found leave out
 * a listed module, is walked whole from its start too, as the kernel's
 * own walkers do, and said: the areas either walk met are kept.
 */
static int region_areas(struct kh_check_ctx *cx, const uint32_t *off,
			uint64_t head, struct region *r, int *bad)
{
	struct area_walk aw = { .cx = cx, .off = off, .r = r, .bad = bad };
	uint64_t node = 0, from = head, below = UINT64_MAX;
	struct kh_addr_set seen = { 0 };
	struct kh_result walk = { 0 };
	unsigned int n = 0, f;
	int ret, broken = 0;

	for (f = VA_LIST; f <= VA_VM; f++)
		aw.span = off[f] + 8 > aw.span ? off[f] + 8 : aw.span;
	/* list_head's prev follows next. */
	aw.span = off[VA_LIST] + 16 > aw.span ? off[VA_LIST] + 16 : aw.span;
	if (aw.span > 16 * sizeof(uint64_t))
		return kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
					"struct vmap_area is larger than keyhole reads: a module hidden from sysfs too is not seen");
	ret = kh_kva_u64(cx->vm, head + 8, &node);
	while (!ret && node != head) {
		if (!kh_kernel_ptr_aligned(cx->vm, node, 8) ||
		    node < off[VA_LIST] || ++n > MAX_AREAS) {
			broken = 1;
			break;
		}
		ret = kh_addr_set_add(&seen, node);
		if (ret <= 0) {
			broken = !ret;	/* a cycle */
			break;
		}
		ret = read_area(&aw, node - off[VA_LIST]);
		if (ret)
			break;
		if (aw.next != from || aw.start >= below) {
			broken = 1;
			break;
		}
		if (aw.start < MODULES_START)
			break;
		from = node;
		below = aw.start;
		node = aw.prev;
	}
	kh_addr_set_free(&seen);
	if (!ret && !broken && !holds_listed(cx, r))
		broken = 1;
	if (!kh_check_fatal(ret) && (ret || broken)) {
		*bad = 1;
		ret = kh_list_walk(cx->vm, head, off[VA_LIST], MAX_AREAS,
				   forward_area, &aw, &walk, cx->err);
	}
	kh_addr_set_free(&aw.kept);
	return ret;
}

/*
 * The loader's areas of the region that no module known so far holds:
 * their callers, in one batch, leave out the kernel's other users of
 * module_alloc(). The areas kept move to the front of r.
 */
static int unowned_areas(struct kh_check_ctx *cx, const uint32_t *off,
			 struct region *r, int *bad)
{
	struct kh_read *reads = calloc(r->nr + 1, sizeof(*reads));
	uint64_t *caller = calloc(r->nr + 1, sizeof(*caller)), start;
	unsigned int i, n = 0, k = 0;
	int ret = -ENOMEM;

	if (!reads || !caller)
		goto out;
	for (i = 0; i < r->nr; i++) {
		if (kh_check_owner(cx, r->areas[i].start, &start))
			continue;
		r->areas[n] = r->areas[i];
		reads[n] = (struct kh_read){ .addr = r->vms[i] + off[VM_CALLER],
					     .buf = &caller[n], .len = 8 };
		n++;
	}
	ret = n ? kh_kva_fetch(cx->vm, reads, n, NULL) : 0;
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < n; i++) {
		struct kh_sym_near near;

		*bad |= !!reads[i].result;
		if (!reads[i].result && kh_check_in_text(cx, caller[i]) &&
		    !kh_symbol_near(cx->vm, caller[i], &near) &&
		    not_a_module(near.name))
			continue;
		r->areas[k++] = r->areas[i];
	}
	r->nr = k;
out:
	free(reads);
	free(caller);
	return ret;
}

/*
 * A struct module in the area: where mkobj.mod points back at it, with
 * a name that is a string. Reads the present pages only, page by page.
 */
static int find_module(struct kh_check_ctx *cx, const uint32_t *off,
		       struct kh_check_area *a, uint64_t *budget, int *bad)
{
	uint64_t len = a->end - a->start, o, back = off[MOD_MKOBJ] +
						      off[MKOBJ_MOD];
	unsigned int pages = len / PAGE, i;
	struct kh_read *reads;
	uint8_t *buf;
	int ret;

	if (len > *budget) {
		*bad = 1;
		return 0;
	}
	*budget -= len;
	buf = calloc(1, len);
	reads = calloc(pages + 1, sizeof(*reads));
	if (!buf || !reads) {
		free(buf);
		free(reads);
		return -ENOMEM;
	}
	for (i = 0; i < pages; i++)
		reads[i] = (struct kh_read){ .addr = a->start + i * PAGE,
					     .buf = buf + i * PAGE,
					     .len = PAGE };
	/* A page that cannot be read (the guard page) stays zero. */
	ret = kh_kva_fetch(cx->vm, reads, pages, NULL);
	if (ret > 0)
		ret = 0;
	for (o = 0; !ret && back + 8 <= len && o <= len - back - 8 &&
	     off[MOD_NAME] + 56 <= len - o && off[MOD_STATE] + 4 <= len - o;
	     o += 8) {
		const char *name = (const char *)buf + o + off[MOD_NAME];

		if (kh_load_u64(buf, o + back) != a->start + o ||
		    !memchr(name, 0, 56) || !name[0])
			continue;
		a->module = a->start + o;
		a->state = kh_load_u32(buf, o + off[MOD_STATE]);
		memcpy(a->name, name, sizeof(a->name) - 1);
		break;
	}
	free(buf);
	free(reads);
	return ret;
}

int kh_check_module_areas(struct kh_check_ctx *cx,
			  struct kh_check_area **areasp, unsigned int *nr)
{
	struct region r = { 0 };
	uint64_t head, budget = MAX_SEARCH_BYTES;
	const uint32_t *off;
	unsigned int i;
	int ret, bad = 0;

	*areasp = NULL;
	*nr = 0;
	if (kh_offsets(cx->vm, fields, NR_FIELDS, &off, NULL) ||
	    kh_sym_va(cx->vm, "vmap_area_list", &head, NULL))
		return kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
					"this kernel's vmalloc areas are unknown (vmap_area_list): a module hidden from sysfs too is not seen");
	ret = region_areas(cx, off, head, &r, &bad);
	/* Only the areas no module known so far holds are searched. */
	if (!ret)
		ret = unowned_areas(cx, off, &r, &bad);
	for (i = 0; !ret && i < r.nr; i++)
		ret = find_module(cx, off, &r.areas[i], &budget, &bad);
	if (!ret && bad)
		kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
				 "parts of the module loader's memory could not be read or made no sense");
	free(r.vms);
	if (ret || !r.nr) {
		free(r.areas);
		return ret ? kh_check_fatal_err(cx, ret) : 0;
	}
	*areasp = r.areas;
	*nr = r.nr;
	return 0;
}
