// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Loaded kernel modules, as the guest's /proc/modules lists them: the
 * `modules` list in list order, skipping MODULE_STATE_UNFORMED entries
 * (a module still being set up, which m_show() hides too).
 *
 * The size column is module_total_size(): up to 6.3 the sum of the core
 * and init layouts (plus data_layout where the architecture keeps data in
 * vmalloc), from 6.4 the sum over mod->mem[]. Whichever members the
 * guest's BTF has decide which sum is taken, so no kernel version is
 * named here.
 *
 * The modules using each one are its source_list of struct module_use,
 * each naming the user (source), as /proc/modules prints them.
 *
 * Cost: the list walk reads one list_head per module, then one batch
 * reads every module's fields (one span of struct module each, which
 * covers source_list's first pointer: an empty list costs nothing more);
 * a module that others use costs a walk of its uses and one batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "walk/toolkit.h"

/* A struct module span larger than this is not a layout but garbage. */
#define MAX_SPAN (64 * 1024)
/* MOD_MEM_NUM_TYPES is 7 in 6.4; a BTF claiming many more is broken. */
#define MAX_MEM_TYPES 32
/* kh_module.name, which is also MODULE_NAME_LEN on 64-bit kernels. */
#define NAME_LEN sizeof(((struct kh_module *)0)->name)
/* module_refcount(): refcnt is biased by MODULE_REF_BASE while loaded. */
#define MODULE_REF_BASE 1
/* Users walked at most, of one module and of all: more is corruption. */
#define MAX_USERS 1024
#define MAX_ALL_USERS 16384

enum {
	MOD_STATE, MOD_LIST, MOD_NAME, MOD_REFCNT,
	MOD_CORE_SIZE, MOD_INIT_SIZE, MOD_DATA_SIZE,
	MOD_MEM, MODMEM_SIZE, MODMEM_SIZEOF, MOD_SIZEOF,
	MOD_SOURCE_LIST, USE_SOURCE_LIST, USE_SOURCE,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[MOD_STATE] = { "module", "state" },
	[MOD_LIST] = { "module", "list" },
	[MOD_NAME] = { "module", "name" },
	/* Only with CONFIG_MODULE_UNLOAD; /proc/modules then prints "-". */
	[MOD_REFCNT] = { "module", "refcnt.counter", .optional = 1 },
	/* Up to 6.3. */
	[MOD_CORE_SIZE] = { "module", "core_layout.size", .optional = 1 },
	[MOD_INIT_SIZE] = { "module", "init_layout.size", .optional = 1 },
	/* CONFIG_ARCH_WANTS_MODULES_DATA_IN_VMALLOC (not x86) up to 6.3. */
	[MOD_DATA_SIZE] = { "module", "data_layout.size", .optional = 1 },
	/* 6.4 and later: struct module_memory mem[MOD_MEM_NUM_TYPES]. */
	[MOD_MEM] = { "module", "mem", .optional = 1 },
	[MODMEM_SIZE] = { "module_memory", "size", .optional = 1 },
	[MODMEM_SIZEOF] = { "module_memory", NULL, .optional = 1 },
	[MOD_SIZEOF] = { "module", NULL },
	/* Only with CONFIG_MODULE_UNLOAD, as refcnt. */
	[MOD_SOURCE_LIST] = { "module", "source_list", .optional = 1 },
	[USE_SOURCE_LIST] = { "module_use", "source_list", .optional = 1 },
	[USE_SOURCE] = { "module_use", "source", .optional = 1 },
};

/* What one walk needs besides the offsets. */
struct mod_layout {
	const uint32_t *off;
	uint32_t span_start, span_len;
	uint32_t nr_mem;		/* mod->mem[] entries, 0 before 6.4 */
	int uses;			/* source_list and module_use known */
	int64_t live, coming, going, unformed;
};

static void span_cover(struct mod_layout *ml, uint32_t off, uint32_t len,
		       uint32_t *end)
{
	if (off == KH_FIELD_ABSENT)
		return;
	if (off < ml->span_start)
		ml->span_start = off;
	if (off + len > *end)
		*end = off + len;
}

static int resolve(struct kh_vm *vm, struct mod_layout *ml,
		   struct kh_err *err)
{
	const uint32_t *off;
	int64_t nr_mem = 0;
	uint32_t end = 0;
	int ret;

	ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (ret)
		return ret;
	ml->off = off;
	if (off[MOD_MEM] != KH_FIELD_ABSENT) {
		if (off[MODMEM_SIZE] == KH_FIELD_ABSENT ||
		    off[MODMEM_SIZEOF] == KH_FIELD_ABSENT ||
		    kh_enum_value(vm, "MOD_MEM_NUM_TYPES", &nr_mem, NULL))
			return kh_err_set(err, ENOENT,
					  "guest kernel layout: struct module has mem[] but no usable struct module_memory");
		if (nr_mem < 1 || nr_mem > MAX_MEM_TYPES)
			return kh_err_set(err, EINVAL,
					  "guest kernel layout: MOD_MEM_NUM_TYPES is %" PRId64,
					  nr_mem);
	} else if (off[MOD_CORE_SIZE] == KH_FIELD_ABSENT ||
		   off[MOD_INIT_SIZE] == KH_FIELD_ABSENT) {
		return kh_err_set(err, ENOENT,
				  "guest kernel layout: struct module has neither mem[] nor core_layout/init_layout");
	}
	ml->nr_mem = nr_mem;
	ret = kh_enum_value(vm, "MODULE_STATE_LIVE", &ml->live, err);
	if (!ret)
		ret = kh_enum_value(vm, "MODULE_STATE_COMING", &ml->coming,
				    err);
	if (!ret)
		ret = kh_enum_value(vm, "MODULE_STATE_GOING", &ml->going, err);
	if (!ret)
		ret = kh_enum_value(vm, "MODULE_STATE_UNFORMED",
				    &ml->unformed, err);
	if (ret)
		return kh_err_prefix(err, "guest kernel layout");

	ml->span_start = UINT32_MAX;
	ml->uses = off[MOD_SOURCE_LIST] != KH_FIELD_ABSENT;
	span_cover(ml, off[MOD_STATE], 4, &end);
	span_cover(ml, off[MOD_NAME], NAME_LEN, &end);
	span_cover(ml, off[MOD_REFCNT], 4, &end);
	if (off[USE_SOURCE_LIST] != KH_FIELD_ABSENT &&
	    off[USE_SOURCE] != KH_FIELD_ABSENT)
		span_cover(ml, off[MOD_SOURCE_LIST], 8, &end);
	else
		ml->uses = 0;
	if (ml->nr_mem) {
		span_cover(ml, off[MOD_MEM] + off[MODMEM_SIZE], 4, &end);
		span_cover(ml, off[MOD_MEM] + off[MODMEM_SIZE] +
			   (ml->nr_mem - 1) * off[MODMEM_SIZEOF], 4, &end);
	} else {
		span_cover(ml, off[MOD_CORE_SIZE], 4, &end);
		span_cover(ml, off[MOD_INIT_SIZE], 4, &end);
		span_cover(ml, off[MOD_DATA_SIZE], 4, &end);
	}
	if (end - ml->span_start > MAX_SPAN ||
	    (ml->nr_mem && off[MODMEM_SIZEOF] > MAX_SPAN))
		return kh_err_set(err, EINVAL,
				  "guest kernel layout: struct module fields span %u bytes",
				  end - ml->span_start);
	ml->span_len = end - ml->span_start;
	return 0;
}

static uint32_t span_u32(const struct mod_layout *ml, const uint8_t *span,
			 uint32_t off)
{
	uint32_t val;

	memcpy(&val, span + off - ml->span_start, sizeof(val));
	return val;
}

static uint64_t module_size(const struct mod_layout *ml, const uint8_t *span)
{
	const uint32_t *off = ml->off;
	uint64_t size = 0;
	uint32_t i;

	if (ml->nr_mem) {
		for (i = 0; i < ml->nr_mem; i++)
			size += span_u32(ml, span, off[MOD_MEM] +
					 i * off[MODMEM_SIZEOF] +
					 off[MODMEM_SIZE]);
		return size;
	}
	size = (uint64_t)span_u32(ml, span, off[MOD_CORE_SIZE]) +
	       span_u32(ml, span, off[MOD_INIT_SIZE]);
	if (off[MOD_DATA_SIZE] != KH_FIELD_ABSENT)
		size += span_u32(ml, span, off[MOD_DATA_SIZE]);
	return size;
}

/*
 * Fills *mod from a span; 0 if the module is to be listed, 1 if it is to
 * be skipped as /proc/modules skips it.
 */
static int decode(const struct mod_layout *ml, uint64_t addr,
		  const uint8_t *span, struct kh_module *mod, bool *has_users,
		  struct kh_result *result)
{
	const uint32_t *off = ml->off;
	int32_t state = span_u32(ml, span, off[MOD_STATE]);

	if (state == ml->unformed)
		return 1;
	memset(mod, 0, sizeof(*mod));
	mod->addr = addr;
	memcpy(mod->name, span + off[MOD_NAME] - ml->span_start,
	       NAME_LEN - 1);
	mod->size = module_size(ml, span);
	/* Without CONFIG_MODULE_UNLOAD there is no count: -1 stands for "-". */
	mod->refcount = off[MOD_REFCNT] == KH_FIELD_ABSENT ? -1 :
			(int32_t)span_u32(ml, span, off[MOD_REFCNT]) -
			MODULE_REF_BASE;
	/* An empty source_list points at itself: no walk for its users. */
	*has_users = ml->uses &&
		     kh_load_u64(span, off[MOD_SOURCE_LIST] - ml->span_start) !=
		     addr + off[MOD_SOURCE_LIST];
	/* m_show()'s own choice: anything not coming or going is "Live". */
	if (state == ml->going) {
		strcpy(mod->state, "Unloading");
	} else if (state == ml->coming) {
		strcpy(mod->state, "Loading");
	} else {
		strcpy(mod->state, "Live");
		if (state != ml->live)
			kh_mark(result, KH_RESULT_INCONSISTENT,
				"module at 0x%" PRIx64 " has state %d",
				addr, state);
	}
	return 0;
}

/*
 * Every struct module the walk read, listed or not (a module still being
 * formed can already use others, and /proc/modules names it), by
 * address: users are looked up here, not by a scan per user.
 */
struct mod_name {
	uint64_t addr;
	char name[NAME_LEN];
};

static int by_addr(const void *a, const void *b)
{
	const struct mod_name *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const char *name_at(const struct mod_name *names, unsigned int nr,
			   uint64_t addr)
{
	struct mod_name key = { .addr = addr };
	const struct mod_name *found = bsearch(&key, names, nr,
					       sizeof(*names), by_addr);

	return found ? found->name : NULL;
}

/*
 * A name as used_by holds it: its commas (which separate users) and an
 * empty name (which would vanish) become "?".
 */
static void user_name(const char *name, char *out, size_t size)
{
	char *c;

	snprintf(out, size, "%s", name && name[0] ? name : "?");
	for (c = out; *c; c++)
		if (*c == ',')
			*c = '?';
}

/*
 * mod->used_by: the source of each struct module_use on its source_list,
 * named from names. A user that is not a module the walk read is named
 * "?" and the list marked inconsistent (loaded or unloaded during the
 * walk, or a corrupt list); one that cannot be read makes it incomplete.
 * A list too long for used_by ends in "..."; budget bounds the users
 * walked over all modules.
 */
static int read_users(struct kh_vm *vm, const struct mod_layout *ml,
		      const struct mod_name *names, unsigned int nr_names,
		      struct kh_module_list *list, struct kh_module *mod,
		      unsigned int *budget, struct kh_err *err)
{
	const uint32_t *off = ml->off;
	struct kh_addr_list uses = { 0 };
	struct kh_read *reads = NULL;
	uint64_t *sources = NULL;
	size_t n = 0;
	unsigned int i;
	int ret;

	if (!*budget) {
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"module %s: users not read, over %u users in all",
			mod->name, MAX_ALL_USERS);
		return 0;
	}
	ret = kh_list_walk(vm, mod->addr + off[MOD_SOURCE_LIST],
			   off[USE_SOURCE_LIST],
			   *budget < MAX_USERS ? *budget : MAX_USERS,
			   kh_list_collect, &uses, &list->result, err);
	*budget -= uses.nr < *budget ? uses.nr : *budget;
	if (ret || !uses.nr)
		goto out;
	reads = calloc(uses.nr, sizeof(*reads));
	sources = calloc(uses.nr, sizeof(*sources));
	if (!reads || !sources) {
		ret = kh_err_set(err, ENOMEM, "out of memory for module users");
		goto out;
	}
	for (i = 0; i < uses.nr; i++)
		reads[i] = (struct kh_read){ .addr = uses.addrs[i] +
						     off[USE_SOURCE],
					     .buf = &sources[i], .len = 8 };
	ret = kh_kva_fetch(vm, reads, uses.nr, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < uses.nr; i++) {
		const char *found = reads[i].result ? NULL :
				    name_at(names, nr_names, sources[i]);
		char name[NAME_LEN];
		size_t len;

		user_name(found, name, sizeof(name));
		len = strlen(name) + (n ? 1 : 0);
		if (reads[i].result)
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"module %s: a user cannot be read", mod->name);
		else if (!found)
			kh_mark(&list->result, KH_RESULT_INCONSISTENT,
				"module %s: user 0x%" PRIx64 " is not a module on the list",
				mod->name, sources[i]);
		/* Room kept for ",...": n + 5 fits whenever len did not. */
		if (n + len + 5 > sizeof(mod->used_by)) {
			strcpy(mod->used_by + n, n ? ",..." : "...");
			break;
		}
		n += snprintf(mod->used_by + n, sizeof(mod->used_by) - n,
			      "%s%s", n ? "," : "", name);
	}
out:
	free(uses.addrs);
	free(reads);
	free(sources);
	return ret;
}

int kh_modules(struct kh_vm *vm, struct kh_module_list **listp,
	       struct kh_err *err)
{
	struct kh_module_list *list;
	struct kh_addr_list c = { 0 };
	struct kh_read *reads = NULL;
	struct mod_layout ml;
	uint8_t *spans = NULL;
	unsigned int *users = NULL, nr_users = 0;
	struct mod_name *names = NULL;
	uint64_t head;
	unsigned int i;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	ret = resolve(vm, &ml, err);
	if (!ret)
		ret = kh_sym_va(vm, "modules", &head, err);
	if (ret)
		return ret;
	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for modules");
	ret = kh_list_walk(vm, head, ml.off[MOD_LIST],
			   kh_max_objects(vm, ml.off[MOD_SIZEOF]),
			   kh_list_collect, &c, &list->result, err);
	if (ret)
		goto out;
	if (c.nr) {
		reads = calloc(c.nr, sizeof(*reads));
		spans = calloc(c.nr, ml.span_len);
		users = calloc(c.nr, sizeof(*users));
		list->modules = calloc(c.nr, sizeof(*list->modules));
		if (!reads || !spans || !users || !list->modules) {
			ret = kh_err_set(err, ENOMEM,
					 "out of memory for %u modules", c.nr);
			goto out;
		}
	}
	for (i = 0; i < c.nr; i++)
		reads[i] = (struct kh_read){
			.addr = c.addrs[i] + ml.span_start,
			.buf = spans + (size_t)i * ml.span_len,
			.len = ml.span_len };
	ret = c.nr ? kh_kva_fetch(vm, reads, c.nr, err) : 0;
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < c.nr && !ret; i++) {
		bool has_users = false;

		if (reads[i].result) {
			/* Unloaded (and vfree'd) since the walk saw it. */
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"struct module at 0x%" PRIx64 " cannot be read",
				c.addrs[i]);
			continue;
		}
		if (decode(&ml, c.addrs[i], spans + (size_t)i * ml.span_len,
			   &list->modules[list->nr], &has_users, &list->result))
			continue;
		if (has_users)
			users[nr_users++] = list->nr;
		list->nr++;
	}
	if (nr_users) {
		unsigned int nr_names = 0, budget = MAX_ALL_USERS;

		names = calloc(c.nr, sizeof(*names));
		if (!names) {
			ret = kh_err_set(err, ENOMEM,
					 "out of memory for module names");
			goto out;
		}
		for (i = 0; i < c.nr; i++) {
			if (reads[i].result)
				continue;
			names[nr_names].addr = c.addrs[i];
			memcpy(names[nr_names++].name, spans +
			       (size_t)i * ml.span_len + ml.off[MOD_NAME] -
			       ml.span_start, NAME_LEN - 1);
		}
		qsort(names, nr_names, sizeof(*names), by_addr);
		for (i = 0; i < nr_users && !ret; i++)
			ret = read_users(vm, &ml, names, nr_names, list,
					 &list->modules[users[i]], &budget,
					 err);
	}
	if (!ret)
		ret = kh_vm_verify(vm, err);
out:
	free(c.addrs);
	free(reads);
	free(spans);
	free(users);
	free(names);
	if (ret) {
		kh_module_list_free(list);
		return ret;
	}
	*listp = list;
	return 0;
}

void kh_module_list_free(struct kh_module_list *list)
{
	if (!list)
		return;
	free(list->modules);
	free(list);
}
