/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel symbols decoded from the guest kernel's own kallsyms tables.
 *
 * A symbol table is independent of KASLR: every symbol is stored either as
 * an offset from _text or, for the per-CPU symbols that kallsyms keeps
 * absolute, as that absolute value. So one table serves every VM that runs
 * the same kernel, whatever each VM's slide.
 */
#ifndef KH_KALLSYMS_H
#define KH_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct kh_symtab;

struct kh_sym {
	const char *name;
	char type;		/* nm-style letter: T t D d B b R r A ... */
	int absolute;		/* value is absolute, not relative to _text */
	int64_t value;		/* offset from _text, or the absolute value */
};

/*
 * Finds kallsyms (kallsyms_token_table by its layout, then token_index,
 * markers, names, num_syms, offsets and relative_base around it) inside img,
 * a copy of guest memory starting at the kernel's _text, and decodes every
 * symbol. img is untrusted: every index and length is bounds-checked and
 * the tables are cross-validated (markers agree with names, addresses
 * sorted, _text present). *text_va gets the runtime address of _text.
 */
int kh_kallsyms_decode(const uint8_t *img, size_t len,
		       struct kh_symtab **symtabp, uint64_t *text_va,
		       struct kh_err *err);

/* Building a table (for the profile cache and tests). */
struct kh_symtab *kh_symtab_new(void);
int kh_symtab_add(struct kh_symtab *st, const char *name, char type,
		  int absolute, int64_t value);
/* Sorts and indexes; call once after the last add, before lookups. */
int kh_symtab_finish(struct kh_symtab *st);
void kh_symtab_free(struct kh_symtab *st);

unsigned int kh_symtab_count(const struct kh_symtab *st);
/* The i-th symbol in name order. */
int kh_symtab_get(const struct kh_symtab *st, unsigned int i,
		  struct kh_sym *sym);
/*
 * The table in its in-memory form, for the profile cache: entries in name
 * order and their name arena. Import validates everything (names inside
 * the arena and NUL-terminated, strictly increasing order), so a damaged
 * cache file can never make a lookup misbehave. With borrow the table uses
 * the blob's memory in place (8-byte aligned ents), which must outlive it.
 */
struct kh_symtab_blob {
	const void *ents;
	size_t ents_len;
	const void *arena;
	size_t arena_len;
};
int kh_symtab_export(const struct kh_symtab *st, struct kh_symtab_blob *blob);
int kh_symtab_import(const struct kh_symtab_blob *blob, int borrow,
		     struct kh_symtab **symtabp);

/* Exact-name lookup; -ENOENT when absent. */
int kh_symtab_lookup(const struct kh_symtab *st, const char *name,
		     struct kh_sym *sym);

#endif
