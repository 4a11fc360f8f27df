// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every module the guest has, from the two places the kernel keeps them:
 * the `modules` list (/proc/modules, lsmod) and sysfs, where each loaded
 * module's kobject (struct module's mkobj) is on module_kset's list
 * (/sys/module). A module is added to the list before its kobject and
 * leaves the list after it (load_module(), free_module()), so a module
 * in sysfs but not on the list is one that took itself off the list.
 * Built-in modules with parameters have kobjects there too, with no
 * struct module (mkobj.mod NULL): they are skipped.
 *
 * Each module's memory (core and init layouts up to 6.3, mem[] from 6.4)
 * is what names the owner of a hook. Last, the module loader's memory
 * that none of these holds (module_areas.c) gives the modules hidden
 * from both: with the struct module found there, or as an area alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "kernel/memory.h"
#include "kernel/page_cache.h"

/* A module layout's size larger than this is not a module. */
#define MAX_MOD_BYTES (1ull << 30)
#define MAX_MEM_TYPES KH_CHECK_MOD_RANGES

enum {
	KSET_LIST, KOBJ_ENTRY, KOBJ_NAME, MKOBJ_MOD, MOD_MKOBJ, MOD_NAME,
	MOD_LIST,
	MOD_CORE_BASE, MOD_CORE_SIZE, MOD_INIT_BASE, MOD_INIT_SIZE,
	MOD_MEM, MODMEM_BASE, MODMEM_SIZE, MODMEM_SIZEOF,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[KSET_LIST] = { "kset", "list" },
	[KOBJ_ENTRY] = { "kobject", "entry" },
	[KOBJ_NAME] = { "kobject", "name" },
	[MKOBJ_MOD] = { "module_kobject", "mod" },
	[MOD_MKOBJ] = { "module", "mkobj" },
	[MOD_NAME] = { "module", "name" },
	[MOD_LIST] = { "module", "list" },
	/* Up to 6.3. */
	[MOD_CORE_BASE] = { "module", "core_layout.base", .optional = 1 },
	[MOD_CORE_SIZE] = { "module", "core_layout.size", .optional = 1 },
	[MOD_INIT_BASE] = { "module", "init_layout.base", .optional = 1 },
	[MOD_INIT_SIZE] = { "module", "init_layout.size", .optional = 1 },
	/* 6.4 and later. */
	[MOD_MEM] = { "module", "mem", .optional = 1 },
	[MODMEM_BASE] = { "module_memory", "base", .optional = 1 },
	[MODMEM_SIZE] = { "module_memory", "size", .optional = 1 },
	[MODMEM_SIZEOF] = { "module_memory", NULL, .optional = 1 },
};

/* The module at addr, added if new; NULL when out of memory or room. */
static struct kh_check_module *add_module(struct kh_check_ctx *cx,
					  uint64_t addr, unsigned int *cap)
{
	int i = kh_addr_set_find(&cx->mod_set, addr);

	if (i >= 0)
		return &cx->mods[i];
	if (cx->nr_mods == KH_CHECK_MAX_MODULES) {
		kh_mark(&cx->report->result, KH_RESULT_INCOMPLETE,
			"more than %d modules: the rest were not read",
			KH_CHECK_MAX_MODULES);
		return NULL;
	}
	if (kh_addr_set_put(&cx->mod_set, addr, cx->nr_mods) < 0)
		return NULL;
	if (cx->nr_mods == *cap) {
		unsigned int n = *cap ? *cap * 2 : 32;
		struct kh_check_module *m = realloc(cx->mods, n * sizeof(*m));

		if (!m)
			return NULL;
		cx->mods = m;
		*cap = n;
	}
	memset(&cx->mods[cx->nr_mods], 0, sizeof(*cx->mods));
	cx->mods[cx->nr_mods].addr = addr;
	return &cx->mods[cx->nr_mods++];
}

/*
 * One range; a size over MAX_MOD_BYTES or a base not in the kernel's
 * half is garbage and left out.
 */
static void add_range(struct kh_check_ctx *cx, struct kh_check_module *m,
		      uint64_t base, uint32_t size)
{
	if (!size || size > MAX_MOD_BYTES || !kh_kernel_ptr(cx->vm, base) ||
	    base + size < base || m->nr_ranges == KH_CHECK_MOD_RANGES)
		return;
	m->ranges[m->nr_ranges].start = base;
	m->ranges[m->nr_ranges].end = base + size;
	m->nr_ranges++;
}

/* A module's fields as read_layouts() reads them. */
struct mod_raw {
	char name[56];
	uint64_t base[MAX_MEM_TYPES];
	uint32_t size[MAX_MEM_TYPES];
};

/*
 * Each module's memory ranges (and the name of one only sysfs knows),
 * every field of every module in one batch.
 */
static int read_layouts(struct kh_check_ctx *cx, const uint32_t *off,
			unsigned int first)
{
	unsigned int i, t, n = 0, nr_ranges = 0, per;
	struct kh_read *reads = NULL;
	struct mod_raw *raw = NULL;
	int64_t nr_mem = 0;
	uint32_t base_off[MAX_MEM_TYPES], size_off[MAX_MEM_TYPES];
	int ret = 0;

	if (off[MOD_MEM] != KH_FIELD_ABSENT &&
	    off[MODMEM_BASE] != KH_FIELD_ABSENT &&
	    off[MODMEM_SIZE] != KH_FIELD_ABSENT &&
	    off[MODMEM_SIZEOF] != KH_FIELD_ABSENT &&
	    !kh_enum_value(cx->vm, "MOD_MEM_NUM_TYPES", &nr_mem, NULL) &&
	    nr_mem >= 1 && nr_mem <= MAX_MEM_TYPES) {
		for (t = 0; t < nr_mem; t++) {
			base_off[t] = off[MOD_MEM] + t * off[MODMEM_SIZEOF] +
				      off[MODMEM_BASE];
			size_off[t] = off[MOD_MEM] + t * off[MODMEM_SIZEOF] +
				      off[MODMEM_SIZE];
		}
		nr_ranges = nr_mem;
	} else if (off[MOD_CORE_BASE] != KH_FIELD_ABSENT &&
		   off[MOD_CORE_SIZE] != KH_FIELD_ABSENT) {
		base_off[0] = off[MOD_CORE_BASE];
		size_off[0] = off[MOD_CORE_SIZE];
		nr_ranges = 1;
		if (off[MOD_INIT_BASE] != KH_FIELD_ABSENT &&
		    off[MOD_INIT_SIZE] != KH_FIELD_ABSENT) {
			base_off[1] = off[MOD_INIT_BASE];
			size_off[1] = off[MOD_INIT_SIZE];
			nr_ranges = 2;
		}
	}
	if (first >= cx->nr_mods)
		return 0;
	per = 1 + 2 * nr_ranges;
	reads = calloc((size_t)(cx->nr_mods - first) * per, sizeof(*reads));
	raw = calloc(cx->nr_mods - first, sizeof(*raw));
	if (!reads || !raw) {
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for modules");
		goto out;
	}
	for (i = first; i < cx->nr_mods; i++) {
		uint64_t mod = cx->mods[i].addr;
		struct mod_raw *w = &raw[i - first];

		reads[n++] = (struct kh_read){ .addr = mod + off[MOD_NAME],
					       .buf = w->name,
					       .len = sizeof(w->name) };
		for (t = 0; t < nr_ranges; t++) {
			reads[n++] = (struct kh_read){
				.addr = mod + base_off[t],
				.buf = &w->base[t], .len = 8 };
			reads[n++] = (struct kh_read){
				.addr = mod + size_off[t],
				.buf = &w->size[t], .len = 4 };
		}
	}
	ret = kh_kva_fetch(cx->vm, reads, n, cx->err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = first; i < cx->nr_mods; i++) {
		struct kh_check_module *m = &cx->mods[i];
		const struct kh_read *r = &reads[(i - first) * per];
		const struct mod_raw *w = &raw[i - first];

		if (!m->name[0] && !r[0].result)
			memcpy(m->name, w->name, sizeof(m->name) - 1);
		for (t = 0; t < nr_ranges; t++)
			if (!r[1 + 2 * t].result && !r[2 + 2 * t].result)
				add_range(cx, m, w->base[t], w->size[t]);
		if (!m->nr_ranges)
			kh_mark(&cx->report->result, KH_RESULT_INCOMPLETE,
				"module %.55s at 0x%" PRIx64 ": its memory cannot be read",
				m->name[0] ? m->name : "?", m->addr);
	}
out:
	free(reads);
	free(raw);
	return ret;
}

static int by_start(const void *a, const void *b)
{
	const struct kh_check_range *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* Every range of every module, by start, for kh_check_owner(). */
static int index_ranges(struct kh_check_ctx *cx)
{
	unsigned int i, r, n = 0;

	free(cx->ranges);
	cx->ranges = calloc((size_t)cx->nr_mods * KH_CHECK_MOD_RANGES + 1,
			    sizeof(*cx->ranges));
	if (!cx->ranges)
		return kh_err_set(cx->err, ENOMEM, "out of memory for modules");
	for (i = 0; i < cx->nr_mods; i++)
		for (r = 0; r < cx->mods[i].nr_ranges; r++)
			cx->ranges[n++] = (struct kh_check_range){
				.start = cx->mods[i].ranges[r].start,
				.end = cx->mods[i].ranges[r].end, .mod = i };
	qsort(cx->ranges, n, sizeof(*cx->ranges), by_start);
	cx->nr_ranges = n;
	return 0;
}

/* The module kobjects of sysfs; built-in ones (no struct module) skipped. */
static int read_kset(struct kh_check_ctx *cx, const uint32_t *off,
		     unsigned int *cap)
{
	struct kh_result walk = { 0 };
	struct kh_addr_list kobjs = { 0 };
	struct kh_read *reads = NULL;
	uint64_t kset, *mods = NULL;
	unsigned int i;
	int ret;

	ret = kh_sym_va(cx->vm, "module_kset", &kset, NULL);
	if (ret)
		return kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 0,
					"no module_kset in this kernel");
	ret = kh_kva_u64(cx->vm, kset, &kset);
	if (ret == -ESRCH)
		return ret;
	if (ret || !kh_kernel_ptr_aligned(cx->vm, kset, 8))
		return kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 0,
					"module_kset does not point at a kset");
	ret = kh_list_walk(cx->vm, kset + off[KSET_LIST], off[KOBJ_ENTRY],
			   KH_CHECK_MAX_MODULES * 4, kh_list_collect,
			   &kobjs, &walk, cx->err);
	if (ret)
		goto out;
	if (walk.flags)
		kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
				 "module_kset's list: %s", walk.problem);
	mods = calloc(kobjs.nr + 1, sizeof(*mods));
	reads = calloc(kobjs.nr + 1, sizeof(*reads));
	if (!mods || !reads) {
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for modules");
		goto out;
	}
	/* module_kobject begins with its kobject: mod is at a fixed offset. */
	for (i = 0; i < kobjs.nr; i++)
		reads[i] = (struct kh_read){
			.addr = kobjs.addrs[i] + off[MKOBJ_MOD],
			.buf = &mods[i], .len = 8 };
	ret = kobjs.nr ? kh_kva_fetch(cx->vm, reads, kobjs.nr, cx->err) : 0;
	if (ret < 0)
		goto out;
	if (ret)
		kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
				 "%d module kobjects could not be read", ret);
	ret = 0;
	for (i = 0; i < kobjs.nr; i++) {
		struct kh_check_module *m;
		uint64_t mod = mods[i];

		if (reads[i].result || !mod)
			continue;
		if (!kh_kernel_ptr_aligned(cx->vm, mod, 8) ||
		    mod + off[MOD_MKOBJ] != kobjs.addrs[i]) {
			kh_mark(&cx->report->result, KH_RESULT_INCONSISTENT,
				"sysfs module kobject 0x%" PRIx64 " names module 0x%" PRIx64 ", which does not hold it",
				kobjs.addrs[i], mod);
			continue;
		}
		m = add_module(cx, mod, cap);
		if (!m && cx->nr_mods == KH_CHECK_MAX_MODULES)
			break;
		if (!m) {
			ret = kh_err_set(cx->err, ENOMEM, "out of memory for modules");
			goto out;
		}
		m->in_sysfs = 1;
	}
out:
	free(kobjs.addrs);
	free(mods);
	free(reads);
	return ret;
}

#define MODULE_STATE_UNFORMED_ 3

/*
 * The modules on the list that kh_modules() leaves out, as /proc/modules
 * does: those still unformed (being loaded, or unloaded). They are on the
 * list, and their memory is theirs: the loader's areas they hold are no
 * one else's.
 */
static int unformed(struct kh_check_ctx *cx, const uint32_t *off,
		    unsigned int *cap)
{
	struct kh_addr_list all = { 0 };
	struct kh_result walk = { 0 };
	struct kh_check_module *m;
	uint64_t head;
	unsigned int i;
	int ret;

	if (kh_sym_va(cx->vm, "modules", &head, NULL))
		return 0;
	ret = kh_list_walk(cx->vm, head, off[MOD_LIST], KH_CHECK_MAX_MODULES,
			   kh_list_collect, &all, &walk, cx->err);
	for (i = 0; !ret && i < all.nr; i++) {
		if (kh_addr_set_find(&cx->mod_set, all.addrs[i]) >= 0)
			continue;
		m = add_module(cx, all.addrs[i], cap);
		if (!m) {
			ret = cx->nr_mods == KH_CHECK_MAX_MODULES ? 0 :
			      kh_err_set(cx->err, ENOMEM, "out of memory for modules");
			break;
		}
		m->listed = m->unformed = 1;
	}
	free(all.addrs);
	return ret;
}

/*
 * The modules only the loader's memory shows: each struct module found
 * there, with its layouts (which may hold the loader's other areas, as
 * 6.4's text and data do), then each area still held by none, alone.
 */
static int add_areas(struct kh_check_ctx *cx, const uint32_t *off,
		     unsigned int *cap)
{
	struct kh_check_module *m;
	struct kh_check_area *areas;
	unsigned int nr, i, first = cx->nr_mods;
	int64_t unformed = MODULE_STATE_UNFORMED_;
	uint64_t start;
	int ret;

	ret = kh_check_module_areas(cx, &areas, &nr);
	if (ret || !nr) {
		free(areas);
		return ret;
	}
	kh_enum_value(cx->vm, "MODULE_STATE_UNFORMED", &unformed, NULL);
	for (i = 0; i < nr && !ret; i++) {
		if (!areas[i].module)
			continue;
		m = add_module(cx, areas[i].module, cap);
		if (!m) {
			ret = cx->nr_mods == KH_CHECK_MAX_MODULES ? 0 : -ENOMEM;
			break;
		}
		m->in_area = 1;
		m->unformed = areas[i].state == (uint64_t)unformed;
		m->area_start = areas[i].start;
		m->area_end = areas[i].end;
		if (!m->name[0])
			memcpy(m->name, areas[i].name, sizeof(m->name));
		add_range(cx, m, areas[i].start, areas[i].end - areas[i].start);
	}
	if (!ret)
		ret = read_layouts(cx, off, first);
	if (!ret)
		ret = index_ranges(cx);
	for (i = 0; i < nr && !ret; i++) {
		if (areas[i].module || kh_check_owner(cx, areas[i].start, &start))
			continue;
		m = add_module(cx, areas[i].start, cap);
		if (!m) {
			ret = cx->nr_mods == KH_CHECK_MAX_MODULES ? 0 : -ENOMEM;
			break;
		}
		m->in_area = m->no_struct = 1;
		m->area_start = areas[i].start;
		m->area_end = areas[i].end;
		snprintf(m->name, sizeof(m->name), "(no struct module)");
		add_range(cx, m, areas[i].start, areas[i].end - areas[i].start);
	}
	if (!ret)
		ret = index_ranges(cx);
	free(areas);
	return ret == -ENOMEM ?
	       kh_err_set(cx->err, ENOMEM, "out of memory for modules") : ret;
}

/*
 * The modules on the list: those a crawl of this operation listed (not
 * when gathering again: a module was loaded since), else walked now.
 */
static int listed(struct kh_check_ctx *cx, unsigned int *cap)
{
	const struct kh_module_list *list = NULL;
	struct kh_module_list *own = NULL;
	unsigned int i;
	int ret = 0;

	if (cx->crawl && cx->crawl->modules && !cx->mods_again)
		list = cx->crawl->modules;
	else
		ret = kh_modules(cx->vm, &own, cx->err);
	if (kh_check_fatal(ret))
		return ret;
	if (ret) {
		kh_mark(&cx->report->result, KH_RESULT_INCOMPLETE,
			"the modules list: %s", cx->err->msg);
		memset(cx->err, 0, sizeof(*cx->err));
		return 0;
	}
	if (own)
		list = own;
	if (list->result.flags)
		kh_mark(&cx->report->result, list->result.flags,
			"the modules list: %s", list->result.problem);
	for (i = 0; i < list->nr; i++) {
		struct kh_check_module *m = add_module(cx,
						       list->modules[i].addr,
						       cap);

		if (!m && cx->nr_mods == KH_CHECK_MAX_MODULES)
			break;
		if (!m) {
			ret = kh_err_set(cx->err, ENOMEM,
					 "out of memory for modules");
			break;
		}
		m->listed = 1;
		memcpy(m->name, list->modules[i].name, sizeof(m->name));
	}
	kh_module_list_free(own);
	return ret;
}

int kh_check_modules_once(struct kh_check_ctx *cx)
{
	const uint32_t *off;
	unsigned int cap = 0;
	int ret;

	if (cx->have_mods)
		return 0;
	cx->have_mods = 1;
	ret = kh_offsets(cx->vm, fields, NR_FIELDS, &off, NULL);
	if (ret) {
		/* Said here too: hidden_modules may not be among the checks. */
		if (!(cx->mask & (1u << KH_CHECK_HIDDEN_MODULES)))
			kh_mark(&cx->report->result, KH_RESULT_INCOMPLETE,
				"this kernel's BTF has no module kobjects: code in modules cannot be told from code in none");
		return kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 0,
					"this kernel's BTF has no module kobjects");
	}
	ret = listed(cx, &cap);
	if (!ret)
		ret = unformed(cx, off, &cap);
	if (!ret)
		ret = read_kset(cx, off, &cap);
	if (!ret)
		ret = read_layouts(cx, off, 0);
	if (!ret)
		ret = index_ranges(cx);
	if (!ret)
		ret = add_areas(cx, off, &cap);
	return ret;
}

void kh_check_modules_free(struct kh_check_ctx *cx)
{
	kh_addr_set_free(&cx->mod_set);
	free(cx->ranges);
	free(cx->mods);
	cx->ranges = NULL;
	cx->mods = NULL;
	cx->nr_ranges = 0;
	cx->nr_mods = 0;
	cx->have_mods = 0;
}

int kh_check_modules_again(struct kh_check_ctx *cx)
{
	kh_check_modules_free(cx);
	cx->mods_again = 1;
	kh_vm_fresh(cx->vm);
	return kh_check_modules_once(cx);
}
