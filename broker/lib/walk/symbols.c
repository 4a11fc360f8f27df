// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The guest kernel's symbols as /proc/kallsyms lists the kernel's own
 * (kh_kallsyms): what attaching decoded from the guest's kallsyms tables,
 * at this boot's addresses (KASLR applied), in address order, one per
 * name as the profile keeps them (kh_symtab_finish()). Nothing is
 * read from the guest here: the table is the profile's, checked when it
 * was decoded. A filter keeps the names that contain a string, so that a
 * client asking for a few symbols does not get all of them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kallsyms.h"
#include "kernel/memory.h"
#include "kernel/profile.h"
#include "vm.h"
#include "walk/toolkit.h"

static int by_addr_name(const void *a, const void *b)
{
	const struct kh_symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

int kh_kallsyms(struct kh_vm *vm, const char *match,
		struct kh_symbol_list **listp, struct kh_err *err)
{
	struct kh_symbol_list *list;
	const struct kh_symtab *st;
	unsigned int nr, i, n = 0;
	size_t names = 0, at = 0;
	struct kh_sym sym;

	/* The agent technique attaches without finding the kernel. */
	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	st = vm->profile->symtab;
	nr = kh_symtab_count(st);

	for (i = 0; i < nr; i++)
		if (!kh_symtab_get(st, i, &sym) &&
		    (!match || strstr(sym.name, match))) {
			names += strlen(sym.name) + 1;
			n++;
		}
	list = calloc(1, sizeof(*list));
	if (list) {
		list->symbols = calloc(n ? n : 1, sizeof(*list->symbols));
		list->names = malloc(names ? names : 1);
	}
	if (!list || !list->symbols || !list->names) {
		kh_symbol_list_free(list);
		return kh_err_set(err, ENOMEM, "out of memory for %u symbols", n);
	}
	for (i = 0; i < nr && list->nr < n; i++) {
		struct kh_symbol *s = &list->symbols[list->nr];
		size_t len;

		if (kh_symtab_get(st, i, &sym) ||
		    (match && !strstr(sym.name, match)))
			continue;
		len = strlen(sym.name) + 1;
		memcpy(list->names + at, sym.name, len);
		s->name = list->names + at;
		at += len;
		s->type = sym.type;
		s->addr = sym.absolute ? (uint64_t)sym.value :
			  vm->kernel.text_va + (uint64_t)sym.value;
		list->nr++;
	}
	qsort(list->symbols, list->nr, sizeof(*list->symbols), by_addr_name);
	*listp = list;
	return 0;
}

void kh_symbol_list_free(struct kh_symbol_list *list)
{
	if (!list)
		return;
	free(list->symbols);
	free(list->names);
	free(list);
}

/*
 * The relative symbols by value, for "which symbol is this address in":
 * built once per profile (values are offsets from _text, the same for
 * every VM of the kernel, whatever its KASLR slide), as a memo sized by
 * the table. Absolute symbols (per-CPU offsets) are not code and are
 * left out.
 */
struct sym_by_value {
	int64_t value;
	uint32_t index;		/* into the symtab, in name order */
	uint32_t pad;
};

static const char by_value_key[] = "symbols by value";

static int by_value(const void *a, const void *b)
{
	const struct sym_by_value *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

static int build_by_value(struct kh_profile *profile, const void *key,
			  void *data, size_t size, struct kh_err *err)
{
	struct sym_by_value *ents = data;
	unsigned int nr = size / sizeof(*ents), i, n = 0;
	struct kh_sym sym;

	for (i = 0; i < nr; i++) {
		if (kh_symtab_get(profile->symtab, i, &sym) || sym.absolute)
			continue;
		ents[n++] = (struct sym_by_value){ .value = sym.value,
						   .index = i };
	}
	qsort(ents, n, sizeof(*ents), by_value);
	/* The unused tail (absolute symbols) sorts last, never found. */
	for (i = n; i < nr; i++)
		ents[i] = (struct sym_by_value){ .value = INT64_MAX,
						 .index = UINT32_MAX };
	return 0;
}

static int sym_index(struct kh_vm *vm, const struct sym_by_value **entsp,
		     unsigned int *nrp)
{
	unsigned int nr = kh_symtab_count(vm->profile->symtab);
	const void *data;

	if (!nr || kh_profile_memo(vm->profile, by_value_key,
				   (size_t)nr * sizeof(struct sym_by_value),
				   build_by_value, &data, NULL))
		return -ENOENT;
	*entsp = data;
	*nrp = nr;
	return 0;
}

/* The index in ents of the first symbol of the last value <= va's. */
static int near_index(struct kh_vm *vm, uint64_t va,
		      const struct sym_by_value **entsp, unsigned int *nrp,
		      unsigned int *at)
{
	const struct sym_by_value *ents;
	int64_t value = (int64_t)(va - vm->kernel.text_va);
	unsigned int nr, lo, hi;

	if (kh_vm_need_memory(vm, NULL) || sym_index(vm, &ents, &nr) ||
	    va < vm->kernel.text_va ||
	    va - vm->kernel.text_va >= vm->kernel.image_size)
		return -ENOENT;
	lo = 0;
	hi = nr;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (ents[mid].value <= value)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || ents[lo - 1].index == UINT32_MAX)
		return -ENOENT;
	lo--;
	while (lo && ents[lo - 1].value == ents[lo].value)
		lo--;
	*entsp = ents;
	*nrp = nr;
	*at = lo;
	return 0;
}

int kh_symbol_near(struct kh_vm *vm, uint64_t va, struct kh_sym_near *near)
{
	const struct sym_by_value *ents;
	unsigned int nr, at, i, pick;
	struct kh_sym sym;

	memset(near, 0, sizeof(*near));
	if (near_index(vm, va, &ents, &nr, &at))
		return -ENOENT;
	/* Of the names at one address, a global function's, else the first. */
	pick = at;
	for (i = at; i < nr && ents[i].value == ents[at].value; i++)
		if (!kh_symtab_get(vm->profile->symtab, ents[i].index, &sym) &&
		    sym.type == 'T') {
			pick = i;
			break;
		}
	if (kh_symtab_get(vm->profile->symtab, ents[pick].index, &sym))
		return -ENOENT;
	near->name = sym.name;
	near->type = sym.type;
	near->addr = vm->kernel.text_va + (uint64_t)sym.value;
	near->offset = va - near->addr;
	/* The next symbol with a greater value bounds this one's size. */
	for (; i < nr && ents[i].index != UINT32_MAX; i++)
		if (ents[i].value > sym.value) {
			near->next = vm->kernel.text_va +
				     (uint64_t)ents[i].value;
			break;
		}
	return 0;
}

int kh_symbol_is(struct kh_vm *vm, uint64_t va,
		 int (*match)(const char *name))
{
	const struct sym_by_value *ents;
	unsigned int nr, at, i;
	struct kh_sym sym;

	if (near_index(vm, va, &ents, &nr, &at) ||
	    ents[at].value != (int64_t)(va - vm->kernel.text_va))
		return 0;
	for (i = at; i < nr && ents[i].value == ents[at].value; i++)
		if (!kh_symtab_get(vm->profile->symtab, ents[i].index, &sym) &&
		    match(sym.name))
			return 1;
	return 0;
}
