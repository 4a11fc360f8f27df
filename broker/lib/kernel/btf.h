/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Struct layouts of the guest kernel from its own BTF (read out of guest
 * RAM, or from a vmlinux file), parsed with libbpf.
 */
#ifndef KH_BTF_H
#define KH_BTF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct kh_btf;

/* Parses raw BTF bytes (untrusted; copied). */
int kh_btf_load(const void *data, size_t len, struct kh_btf **btfp,
		struct kh_err *err);
/*
 * Parses a module's split BTF (untrusted; copied), whose type ids follow
 * base's: base must outlive *btfp.
 */
int kh_btf_load_split(const void *data, size_t len,
		      const struct kh_btf *base, struct kh_btf **btfp,
		      struct kh_err *err);
/* Loads the .BTF section of an ELF vmlinux. */
int kh_btf_load_elf(const char *path, struct kh_btf **btfp,
		    struct kh_err *err);
void kh_btf_free(struct kh_btf *btf);

/* The raw bytes as loaded (for the profile cache). */
const void *kh_btf_raw(const struct kh_btf *btf, size_t *len);

/* No kernel struct comes near this; larger ones in guest BTF are lies. */
#define KH_BTF_STRUCT_MAX (16u << 20)

struct kh_member {
	uint32_t offset;	/* bytes from the start of the struct */
	uint32_t size;		/* bytes of the member's type */
	uint32_t bit_offset;	/* within offset, for bitfields */
	uint32_t bit_size;	/* 0 unless a bitfield */
};

/*
 * Finds member_path ("pid", "se.vruntime", "signal") in struct or union
 * type_name, looking through anonymous struct/union members the way C
 * does. -ENOENT names what was missing in err.
 */
int kh_btf_member(const struct kh_btf *btf, const char *type_name,
		  const char *member_path, struct kh_member *member,
		  struct kh_err *err);

/* The value of enumerator name in any enum of the BTF; -ENOENT if none. */
int kh_btf_enum_value(const struct kh_btf *btf, const char *name,
		      int64_t *value, struct kh_err *err);

/*
 * The members of struct type_name that are pointers to functions (an
 * operations table: file_operations, tty_ldisc_ops), looking through
 * anonymous struct/union members, in order: at most max of them in
 * out[], *nr how many, *size the struct's size. -E2BIG when it has more
 * than max, -ENOENT when there is no such struct.
 */
struct kh_fn_member {
	uint32_t offset;	/* bytes from the start of the struct */
	char name[24];		/* cut to fit */
};
int kh_btf_fn_members(const struct kh_btf *btf, const char *type_name,
		      struct kh_fn_member *out, unsigned int max,
		      unsigned int *nr, uint32_t *size, struct kh_err *err);

/* sizeof(struct type_name). */
int kh_btf_sizeof(const struct kh_btf *btf, const char *type_name,
		  uint32_t *size, struct kh_err *err);

#endif
