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
