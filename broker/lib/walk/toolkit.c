// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The extractors' toolkit (see walk/toolkit.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/scratch.h"
#include "walk/toolkit.h"

#define PAGE_SIZE 4096ULL

static int build_offsets(struct kh_profile *profile, const void *key,
			 void *data, size_t size, struct kh_err *err)
{
	const struct kh_field *fields = key;
	unsigned int i, nr = size / sizeof(uint32_t);
	uint32_t *offsets = data;
	const struct kh_btf *btf;
	struct kh_err saved = { 0 };
	int ret;

	if (err)
		saved = *err;
	ret = kh_profile_btf(profile, &btf, err);
	if (ret)
		return ret;
	for (i = 0; i < nr; i++) {
		const struct kh_field *f = &fields[i];
		struct kh_member member = { 0 };

		if (!f->path) {
			ret = kh_btf_sizeof(btf, f->type, &offsets[i], err);
		} else {
			ret = kh_btf_member(btf, f->type, f->path, &member,
					    err);
			if (ret == -ENOENT && f->alt)
				ret = kh_btf_member(btf, f->type, f->alt,
						    &member, err);
			offsets[i] = member.offset;
		}
		if (ret && f->optional) {
			offsets[i] = KH_FIELD_ABSENT;
			ret = 0;
			/*
			 * Not an error: leave none behind, or a later failure
			 * that sets no message of its own would show this one
			 * (a crawl of a QEMU that died said "no struct
			 * module_memory").
			 */
			if (err)
				*err = saved;
		}
		if (ret)
			return kh_err_prefix(err, "guest kernel layout");
	}
	return 0;
}

int kh_offsets(struct kh_vm *vm, const struct kh_field *fields,
	       unsigned int nr, const uint32_t **offsets, struct kh_err *err)
{
	const void *data;
	int ret;

	ret = kh_profile_memo(vm->profile, fields, nr * sizeof(uint32_t),
			      build_offsets, &data, err);
	if (!ret)
		*offsets = data;
	return ret;
}

static int build_ops(struct kh_profile *profile, const void *key,
		     void *data, size_t size, struct kh_err *err)
{
	struct kh_ops_layout *l = data;
	const struct kh_btf *btf;
	int ret;

	ret = kh_profile_btf(profile, &btf, err);
	if (!ret)
		ret = kh_btf_fn_members(btf, key, l->fn, KH_OPS_MAX, &l->nr,
					&l->size, err);
	return ret;
}

int kh_ops_layout(struct kh_vm *vm, const char *type,
		  const struct kh_ops_layout **layout, struct kh_err *err)
{
	const void *data;
	int ret;

	ret = kh_profile_memo(vm->profile, type, sizeof(**layout), build_ops,
			      &data, err);
	if (!ret)
		*layout = data;
	return ret;
}

static int build_enum(struct kh_profile *profile, const void *key,
		      void *data, size_t size, struct kh_err *err)
{
	const struct kh_btf *btf;
	int ret;

	ret = kh_profile_btf(profile, &btf, err);
	if (!ret)
		ret = kh_btf_enum_value(btf, key, data, err);
	return ret;
}

int kh_enum_value(struct kh_vm *vm, const char *name, int64_t *value,
		  struct kh_err *err)
{
	const void *data;
	int ret;

	ret = kh_profile_memo(vm->profile, name, sizeof(int64_t), build_enum,
			      &data, err);
	if (!ret)
		*value = *(const int64_t *)data;
	return ret;
}

/*
 * A symbol's offset, memoized by the address of its name: walkers ask
 * per process (special_mapping_vmops for every map), and the search of
 * the symbol table by name was 2% of a crawl. The name is kept too, so
 * that a name at an address that once held another is still looked up.
 */
struct sym_memo {
	int64_t off;
	int found;
	char name[64];
};

static int build_sym(struct kh_profile *profile, const void *key,
		     void *data, size_t size, struct kh_err *err)
{
	struct sym_memo *memo = data;

	strcpy(memo->name, key);
	memo->found = !kh_profile_sym(profile, key, &memo->off, NULL);
	return 0;
}

int kh_sym_va(struct kh_vm *vm, const char *name, uint64_t *va,
	      struct kh_err *err)
{
	const struct sym_memo *memo;
	const void *data;
	int64_t off;
	int ret;

	if (strlen(name) < sizeof(memo->name) &&
	    !kh_profile_memo(vm->profile, name, sizeof(*memo), build_sym,
			     &data, NULL) &&
	    !strcmp(((const struct sym_memo *)data)->name, name)) {
		memo = data;
		if (!memo->found)
			return kh_err_set(err, ENOENT,
					  "kernel symbol %s not found in kallsyms",
					  name);
		*va = vm->kernel.text_va + memo->off;
		return 0;
	}
	ret = kh_profile_sym(vm->profile, name, &off, err);
	if (!ret)
		*va = vm->kernel.text_va + off;
	return ret;
}

int kh_sym_percpu(struct kh_vm *vm, const char *name, uint64_t *off,
		  struct kh_err *err)
{
	struct kh_sym sym;

	if (kh_symtab_lookup(vm->profile->symtab, name, &sym) ||
	    !sym.absolute || sym.value < 0)
		return kh_err_set(err, ENOENT,
				  "no per-CPU variable %s in kallsyms", name);
	*off = (uint64_t)sym.value;
	return 0;
}

int kh_kernel_ptr(const struct kh_vm *vm, uint64_t va)
{
	uint64_t lowest = vm->kernel.levels == 5 ? 0xff00000000000000ULL :
						   0xffff800000000000ULL;

	return va >= lowest;
}

int kh_kva_u64(struct kh_vm *vm, uint64_t va, uint64_t *val)
{
	return kh_kva_fetch_one(vm, va, val, sizeof(*val), NULL);
}

int kh_kva_u32(struct kh_vm *vm, uint64_t va, uint32_t *val)
{
	return kh_kva_fetch_one(vm, va, val, sizeof(*val), NULL);
}

int kh_kva_str(struct kh_vm *vm, uint64_t va, char *buf, size_t size)
{
	size_t done = 0;
	int ret = 0;

	if (!size)
		return -EINVAL;
	while (done < size - 1) {
		size_t chunk = PAGE_SIZE - ((va + done) & (PAGE_SIZE - 1));
		char *nul;

		if (chunk > size - 1 - done)
			chunk = size - 1 - done;
		ret = kh_kva_fetch_one(vm, va + done, buf + done, chunk, NULL);
		if (ret)
			break;
		nul = memchr(buf + done, '\0', chunk);
		done += chunk;
		if (nul) {
			done = nul - buf;
			break;
		}
	}
	buf[done] = '\0';
	return done || !ret ? 0 : ret;
}

int kh_mark(struct kh_result *result, unsigned int flag, const char *fmt, ...)
{
	int replace = !result->problem[0] ||
		      (flag & KH_RESULT_INCOMPLETE &&
		       !(result->flags & KH_RESULT_INCOMPLETE));
	va_list ap;

	result->flags |= flag;
	if (replace) {
		va_start(ap, fmt);
		vsnprintf(result->problem, sizeof(result->problem), fmt, ap);
		va_end(ap);
	}
	return 0;
}

/*
 * The product's high half: its low bits depend only on the address's low
 * bits, which slab alignment makes zero (maple nodes are 256-aligned), and
 * linear probing then ran through long clusters.
 */
static uint64_t hash_addr(uint64_t addr)
{
	return (addr * 0x9e3779b97f4a7c15ULL) >> 32;
}

int kh_addr_set_put(struct kh_addr_set *set, uint64_t addr,
		    unsigned int index)
{
	unsigned int mask, i;

	if (!addr)
		return 0;
	/* open addressing, never more than half full */
	if ((set->nr + 1) * 2 > set->cap) {
		struct kh_addr_set grown = { .cap = set->cap ? set->cap * 2 : 64,
					     .scratch = set->scratch };

		if (set->scratch) {
			grown.slots = kh_scratch_zalloc(sizeof(*grown.slots) *
							grown.cap);
			grown.index = kh_scratch_alloc(sizeof(*grown.index) *
						       grown.cap);
		} else {
			grown.slots = calloc(grown.cap, sizeof(*grown.slots));
			grown.index = calloc(grown.cap, sizeof(*grown.index));
		}
		if (!grown.slots || !grown.index) {
			kh_addr_set_free(&grown);
			return -ENOMEM;
		}
		for (i = 0; i < set->cap; i++)
			if (set->slots[i])
				kh_addr_set_put(&grown, set->slots[i],
						set->index[i]);
		kh_addr_set_free(set);
		*set = grown;
	}
	mask = set->cap - 1;
	for (i = hash_addr(addr) & mask; set->slots[i]; i = (i + 1) & mask)
		if (set->slots[i] == addr)
			return 0;
	set->slots[i] = addr;
	set->index[i] = index;
	set->nr++;
	return 1;
}

int kh_addr_set_add(struct kh_addr_set *set, uint64_t addr)
{
	return kh_addr_set_put(set, addr, 0);
}

int kh_addr_set_find(const struct kh_addr_set *set, uint64_t addr)
{
	unsigned int mask, i;

	if (!addr || !set->cap)
		return -1;
	mask = set->cap - 1;
	for (i = hash_addr(addr) & mask; set->slots[i]; i = (i + 1) & mask)
		if (set->slots[i] == addr)
			return (int)set->index[i];
	return -1;
}

void kh_addr_set_move(struct kh_addr_set *set, uint64_t addr,
		      unsigned int index)
{
	unsigned int mask, i;

	if (!addr || !set->cap)
		return;
	mask = set->cap - 1;
	for (i = hash_addr(addr) & mask; set->slots[i]; i = (i + 1) & mask)
		if (set->slots[i] == addr) {
			set->index[i] = index;
			return;
		}
}

void kh_addr_set_clear(struct kh_addr_set *set)
{
	if (set->cap)
		memset(set->slots, 0, sizeof(*set->slots) * set->cap);
	set->nr = 0;
}

void kh_addr_set_free(struct kh_addr_set *set)
{
	int scratch = set->scratch;

	if (!scratch) {
		free(set->slots);
		free(set->index);
	}
	memset(set, 0, sizeof(*set));
	set->scratch = scratch;
}

unsigned int kh_max_objects(const struct kh_vm *vm, uint32_t object_size)
{
	uint64_t max = kh_layout_ram_size(&vm->layout) /
		       (object_size ? object_size : 1);

	return max > (1u << 24) ? 1u << 24 : (unsigned int)max;
}

int kh_list_collect(struct kh_vm *vm, uint64_t entry, void *opaque)
{
	struct kh_addr_list *l = opaque;

	(void)vm;
	if (l->nr == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 64;
		uint64_t *addrs = realloc(l->addrs, sizeof(*addrs) * cap);

		if (!addrs)
			return -ENOMEM;
		l->addrs = addrs;
		l->cap = cap;
	}
	l->addrs[l->nr++] = entry;
	return 0;
}

int kh_list_walk(struct kh_vm *vm, uint64_t head, uint32_t member,
		 unsigned int max, kh_list_fn fn, void *opaque,
		 struct kh_result *result, struct kh_err *err)
{
	struct kh_addr_set seen = { 0 };
	uint64_t node, prev = head;
	unsigned int n = 0;
	int ret;

	ret = kh_kva_fetch_one(vm, head, &node, sizeof(node), err);
	if (ret) {
		if (ret == -ESRCH)
			return ret;
		return kh_mark(result, KH_RESULT_INCOMPLETE,
			       "list head at 0x%llx cannot be read",
			       (unsigned long long)head);
	}
	while (node != head) {
		uint64_t links[2];	/* next, prev */

		if (!kh_kernel_ptr(vm, node) || node < member) {
			kh_mark(result, KH_RESULT_INCOMPLETE,
				"list pointer 0x%llx is not a kernel address",
				(unsigned long long)node);
			break;
		}
		if (++n > max) {
			kh_mark(result, KH_RESULT_INCOMPLETE,
				"list at 0x%llx has more than %u entries",
				(unsigned long long)head, max);
			break;
		}
		ret = kh_addr_set_add(&seen, node);
		if (ret < 0)
			break;
		if (!ret) {
			kh_mark(result, KH_RESULT_INCOMPLETE,
				"list cycle at 0x%llx",
				(unsigned long long)node);
			break;
		}
		ret = kh_kva_fetch_one(vm, node, links, sizeof(links), err);
		if (ret == -ESRCH)
			break;
		if (ret) {
			ret = 0;
			kh_mark(result, KH_RESULT_INCOMPLETE,
				"list node at 0x%llx cannot be read",
				(unsigned long long)node);
			break;
		}
		if (links[1] != prev)
			kh_mark(result, KH_RESULT_INCONSISTENT,
				"list node 0x%llx: prev does not point back",
				(unsigned long long)node);
		ret = fn(vm, node - member, opaque);
		if (ret)
			break;
		prev = node;
		node = links[0];
	}
	kh_addr_set_free(&seen);
	if (ret == -ENOMEM)
		return kh_err_set(err, ENOMEM, "out of memory walking a list");
	return ret < 0 ? ret : 0;
}
