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
 * Bounded: so many areas at most, and so many bytes read in all for the
 * search (only areas no known module holds are searched: none on a
 * clean guest).
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

/*
 * The loader's areas among the entries: two batches (bounds and vm of
 * every area in the module region, then their callers).
 */
static int loader_areas(struct kh_check_ctx *cx, const uint32_t *off,
			const struct kh_addr_list *entries,
			struct kh_check_area **areasp, unsigned int *nr,
			int *bad)
{
	unsigned int i, n = 0, k = 0;
	struct kh_read *reads = calloc((size_t)entries->nr * 3 + 1,
				       sizeof(*reads));
	uint64_t *vals = calloc((size_t)entries->nr * 3 + 1, sizeof(*vals));
	uint64_t *caller = calloc(entries->nr + 1, sizeof(*caller));
	struct kh_check_area *areas = calloc(entries->nr + 1, sizeof(*areas));
	int ret;

	if (!reads || !vals || !caller || !areas) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < entries->nr; i++) {
		reads[3 * i] = (struct kh_read){
			.addr = entries->addrs[i] + off[VA_START],
			.buf = &vals[3 * i], .len = 8 };
		reads[3 * i + 1] = (struct kh_read){
			.addr = entries->addrs[i] + off[VA_END],
			.buf = &vals[3 * i + 1], .len = 8 };
		reads[3 * i + 2] = (struct kh_read){
			.addr = entries->addrs[i] + off[VA_VM],
			.buf = &vals[3 * i + 2], .len = 8 };
	}
	ret = kh_kva_fetch(cx->vm, reads, entries->nr * 3, NULL);
	if (ret < 0)
		goto out;
	*bad |= ret > 0;
	for (i = 0; i < entries->nr; i++) {
		uint64_t start = vals[3 * i], end = vals[3 * i + 1];
		uint64_t vm = vals[3 * i + 2];

		if (reads[3 * i].result || reads[3 * i + 1].result ||
		    reads[3 * i + 2].result || start < MODULES_START ||
		    end > MODULES_END)
			continue;
		/* A busy area always has its vm_struct. */
		if (!vm) {
			*bad = 1;
			continue;
		}
		if (end <= start || end - start > MAX_AREA_BYTES ||
		    start % PAGE || !kh_kernel_ptr_aligned(cx->vm, vm, 8)) {
			*bad = 1;
			continue;
		}
		areas[n] = (struct kh_check_area){ .start = start, .end = end };
		reads[n] = (struct kh_read){ .addr = vm + off[VM_CALLER],
					     .buf = &caller[n], .len = 8 };
		n++;
	}
	ret = n ? kh_kva_fetch(cx->vm, reads, n, NULL) : 0;
	if (ret < 0)
		goto out;
	*bad |= ret > 0;
	ret = 0;
	for (i = 0; i < n; i++) {
		struct kh_sym_near near;

		*bad |= !!reads[i].result;
		if (!reads[i].result && kh_check_in_text(cx, caller[i]) &&
		    !kh_symbol_near(cx->vm, caller[i], &near) &&
		    not_a_module(near.name))
			continue;
		areas[k++] = areas[i];
	}
	*areasp = areas;
	*nr = k;
	areas = NULL;
out:
	free(reads);
	free(vals);
	free(caller);
	free(areas);
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
	struct kh_addr_list entries = { 0 };
	struct kh_result walk = { 0 };
	struct kh_check_area *areas = NULL;
	uint64_t head, budget = MAX_SEARCH_BYTES, start;
	const uint32_t *off;
	unsigned int i, n = 0, k = 0;
	int ret, bad = 0;

	*areasp = NULL;
	*nr = 0;
	if (kh_offsets(cx->vm, fields, NR_FIELDS, &off, NULL) ||
	    kh_sym_va(cx->vm, "vmap_area_list", &head, NULL))
		return kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
					"this kernel's vmalloc areas are unknown (vmap_area_list): a module hidden from sysfs too is not seen");
	ret = kh_list_walk(cx->vm, head, off[VA_LIST], MAX_AREAS,
			   kh_list_collect, &entries, &walk, cx->err);
	if (!ret)
		ret = loader_areas(cx, off, &entries, &areas, &n, &bad);
	/* Only the areas no module known so far holds are searched. */
	for (i = 0; !ret && i < n; i++) {
		if (kh_check_owner(cx, areas[i].start, &start))
			continue;
		areas[k] = areas[i];
		ret = find_module(cx, off, &areas[k], &budget, &bad);
		k++;
	}
	if (walk.flags)
		bad = 1;
	if (!ret && bad)
		kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
				 "parts of the module loader's memory could not be read or made no sense");
	free(entries.addrs);
	if (ret) {
		free(areas);
		return kh_check_fatal_err(cx, ret);
	}
	if (!k) {
		free(areas);
		areas = NULL;
	}
	*areasp = areas;
	*nr = k;
	return 0;
}
