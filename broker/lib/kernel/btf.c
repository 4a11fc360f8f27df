// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Struct layouts from the guest kernel's BTF, through libbpf.
 *
 * libbpf checks the BTF's header and that every type record fits its
 * section; what it does not promise (every type id in range, names inside
 * the string section) is checked here on every step, since the bytes come
 * from guest memory.
 */
#include <bpf/btf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel/btf.h"

/* Deeper than any real typedef/const chain or anonymous nesting; bounds
 * the walks over a BTF made to loop. */
#define MAX_DEPTH	32
#define MAX_PATH	256
/* Members one lookup may visit: anonymous members that nest the same
 * type many times over would otherwise cost exponential time. */
#define MAX_VISITS	(1UL << 20)

struct kh_btf {
	struct btf *btf;
};

/*
 * What a libbpf parser gave: b, or NULL with errno (libbpf 1.x sets it),
 * taken as it returned; what names the bytes for the error.
 */
static int adopt(struct btf *b, int parse_errno, struct kh_btf **btfp,
		 const char *what, struct kh_err *err)
{
	int why = parse_errno > 0 ? parse_errno : EINVAL;
	struct kh_btf *kb;

	if (!b)
		return kh_err_set(err, why, "%s does not parse: %s", what,
				  strerror(why));
	kb = calloc(1, sizeof(*kb));
	if (!kb) {
		btf__free(b);
		return kh_err_set(err, ENOMEM, "out of memory loading BTF");
	}
	kb->btf = b;
	*btfp = kb;
	return 0;
}

int kh_btf_load(const void *data, size_t len, struct kh_btf **btfp,
		struct kh_err *err)
{
	char what[64];
	struct btf *b;
	int saved;

	if (!data || !btfp)
		return kh_err_set(err, EINVAL, "kh_btf_load: bad arguments");
	if (len < sizeof(struct btf_header) || len > UINT32_MAX)
		return kh_err_set(err, EINVAL,
				  "%zu bytes cannot be BTF", len);
	/* btf__new keeps its own copy of the bytes. */
	errno = 0;
	b = btf__new(data, (__u32)len);
	saved = errno;
	snprintf(what, sizeof(what), "the kernel's BTF (%zu bytes)", len);
	return adopt(b, saved, btfp, what, err);
}

int kh_btf_load_split(const void *data, size_t len,
		      const struct kh_btf *base, struct kh_btf **btfp,
		      struct kh_err *err)
{
	char path[64], what[64];
	struct btf *b;
	int fd, ret;

	if (!data || !base || !btfp)
		return kh_err_set(err, EINVAL, "kh_btf_load_split: bad arguments");
	if (len < sizeof(struct btf_header) || len > UINT32_MAX)
		return kh_err_set(err, EINVAL,
				  "%zu bytes cannot be BTF", len);
	/*
	 * libbpf 1.1 (Debian 12) parses split BTF only from a file:
	 * btf__new_split() came in 1.3. A memfd is that file, never on disk.
	 */
	fd = memfd_create("keyhole-btf", MFD_CLOEXEC);
	if (fd < 0)
		return kh_err_set(err, errno, "memfd for module BTF: %s",
				  strerror(errno));
	errno = 0;
	if (write(fd, data, len) != (ssize_t)len) {
		ret = errno ? errno : EIO;
		close(fd);
		return kh_err_set(err, ret, "memfd for module BTF: %s",
				  strerror(ret));
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	errno = 0;
	b = btf__parse_raw_split(path, base->btf);
	ret = errno;
	close(fd);
	snprintf(what, sizeof(what), "module BTF (%zu bytes)", len);
	return adopt(b, ret, btfp, what, err);
}

int kh_btf_load_elf(const char *path, struct kh_btf **btfp,
		    struct kh_err *err)
{
	char what[PATH_MAX + 16];
	struct btf *b;
	int saved;

	if (!path || !btfp)
		return kh_err_set(err, EINVAL, "kh_btf_load_elf: bad arguments");
	errno = 0;
	b = btf__parse_elf(path, NULL);
	saved = errno;
	snprintf(what, sizeof(what), "the BTF in %s", path);
	return adopt(b, saved, btfp, what, err);
}

void kh_btf_free(struct kh_btf *btf)
{
	if (!btf)
		return;
	btf__free(btf->btf);
	free(btf);
}

const void *kh_btf_raw(const struct kh_btf *btf, size_t *len)
{
	const void *raw;
	__u32 sz = 0;

	if (!btf) {
		if (len)
			*len = 0;
		return NULL;
	}
	raw = btf__raw_data(btf->btf, &sz);
	if (len)
		*len = raw ? sz : 0;
	return raw;
}

static int is_composite(const struct btf_type *t)
{
	return t && (btf_is_struct(t) || btf_is_union(t));
}

/* The type under typedefs and qualifiers, or NULL. */
static const struct btf_type *skip_mods(const struct btf *b, __u32 id,
					__u32 *idp)
{
	int i;

	for (i = 0; i < MAX_DEPTH; i++) {
		const struct btf_type *t = btf__type_by_id(b, id);

		if (!t)
			return NULL;
		if (!btf_is_typedef(t) && !btf_is_mod(t)) {
			if (idp)
				*idp = id;
			return t;
		}
		id = t->type;
	}
	return NULL;
}

static const char *name_of(const struct btf *b, __u32 off)
{
	const char *n = btf__name_by_offset(b, off);

	return n ? n : "";
}

/*
 * Finds name among t's members, looking inside anonymous struct and union
 * members as C does. *bits gets the member's bit offset within t.
 */
static int find_member(const struct btf *b, const struct btf_type *t,
		       const char *name, int depth, unsigned long *visits,
		       uint64_t *bits, __u32 *type, __u32 *bitfield)
{
	const struct btf_member *m = btf_members(t);
	__u16 i, vlen = btf_vlen(t);

	if (depth > MAX_DEPTH)
		return -ENOENT;
	for (i = 0; i < vlen; i++) {
		const char *mname = name_of(b, m[i].name_off);

		if (!*visits)
			return -ENOENT;
		(*visits)--;
		if (*mname) {
			if (strcmp(mname, name))
				continue;
			*bits = btf_member_bit_offset(t, i);
			*type = m[i].type;
			*bitfield = btf_member_bitfield_size(t, i);
			return 0;
		}
		/* Anonymous: a struct/union to look into, or padding. */
		{
			const struct btf_type *mt = skip_mods(b, m[i].type, NULL);
			uint64_t inner;

			if (!is_composite(mt) ||
			    find_member(b, mt, name, depth + 1, visits, &inner,
					type, bitfield))
				continue;
			*bits = btf_member_bit_offset(t, i) + inner;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * A type of a module's split BTF by name and kind, among its own types
 * only: the types looked up there are the module's, and a scan of
 * vmlinux's (100K types, a few ms each lookup) would find them last.
 * -ENOENT when b has no base, or none of its own has that name.
 */
static __s32 find_own(const struct btf *b, const char *name, __u32 kind)
{
	const struct btf *base = btf__base_btf(b);
	__u32 id, nr = btf__type_cnt(b);

	if (!base)
		return -ENOENT;
	for (id = btf__type_cnt(base); id < nr; id++) {
		const struct btf_type *t = btf__type_by_id(b, id);
		const char *tn;

		if (!t || btf_kind(t) != kind)
			continue;
		tn = btf__name_by_offset(b, t->name_off);
		if (tn && !strcmp(tn, name))
			return (__s32)id;
	}
	return -ENOENT;
}

/* A struct or union by name ("task_struct", "struct task_struct", or a
 * typedef of one). */
static const struct btf_type *find_composite(const struct btf *b,
					     const char *name)
{
	static const __u32 kinds[] = { BTF_KIND_STRUCT, BTF_KIND_UNION,
				       BTF_KIND_TYPEDEF };
	unsigned int i;
	__s32 id;

	if (!strncmp(name, "struct ", 7))
		name += 7;
	else if (!strncmp(name, "union ", 6))
		name += 6;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct btf_type *t;

		id = find_own(b, name, kinds[i]);
		if (id <= 0)
			id = btf__find_by_name_kind(b, name, kinds[i]);
		if (id <= 0)
			continue;
		t = skip_mods(b, (__u32)id, NULL);
		if (is_composite(t))
			return t;
	}
	return NULL;
}

/* t's member type id is a pointer to a function. */
static int is_fn_ptr(const struct btf *b, __u32 type)
{
	const struct btf_type *t = skip_mods(b, type, NULL);

	if (!t || !btf_is_ptr(t))
		return 0;
	t = skip_mods(b, t->type, NULL);
	return t && btf_is_func_proto(t);
}

struct fn_walk {
	const struct btf *b;
	struct kh_fn_member *out;
	unsigned int max, nr;
	uint64_t size;		/* the outer struct's, in bytes */
	unsigned long visits;
};

static int fn_members(struct fn_walk *w, const struct btf_type *t,
		      uint64_t base_bits, int depth)
{
	const struct btf_member *m = btf_members(t);
	__u16 i, vlen = btf_vlen(t);

	if (depth > MAX_DEPTH)
		return -EINVAL;
	for (i = 0; i < vlen; i++) {
		uint64_t bits = base_bits + btf_member_bit_offset(t, i);
		const char *mname = name_of(w->b, m[i].name_off);
		const struct btf_type *mt;
		int ret;

		if (!w->visits--)
			return -EINVAL;
		if (!*mname) {
			mt = skip_mods(w->b, m[i].type, NULL);
			if (is_composite(mt)) {
				ret = fn_members(w, mt, bits, depth + 1);
				if (ret)
					return ret;
			}
			continue;
		}
		if (btf_member_bitfield_size(t, i) || !is_fn_ptr(w->b, m[i].type))
			continue;
		/* From guest RAM: a pointer must lie inside its struct. */
		if (bits % 64 || bits / 8 + 8 > w->size)
			return -EINVAL;
		if (w->nr == w->max)
			return -E2BIG;
		w->out[w->nr].offset = (uint32_t)(bits / 8);
		snprintf(w->out[w->nr].name, sizeof(w->out[w->nr].name), "%s",
			 mname);
		w->nr++;
	}
	return 0;
}

int kh_btf_fn_members(const struct kh_btf *btf, const char *type_name,
		      struct kh_fn_member *out, unsigned int max,
		      unsigned int *nr, uint32_t *size, struct kh_err *err)
{
	const struct btf_type *t;
	struct fn_walk w = { .out = out, .max = max, .visits = MAX_VISITS };
	int ret;

	if (!btf || !type_name || !out || !nr || !size)
		return kh_err_set(err, EINVAL, "kh_btf_fn_members: bad arguments");
	w.b = btf->btf;
	t = find_composite(btf->btf, type_name);
	if (!t)
		return kh_err_set(err, ENOENT,
				  "the kernel's BTF has no struct %s", type_name);
	if (t->size > KH_BTF_STRUCT_MAX)
		return kh_err_set(err, EINVAL, "struct %s is too large",
				  type_name);
	w.size = t->size;
	ret = fn_members(&w, t, 0, 0);
	if (ret == -E2BIG)
		return kh_err_set(err, E2BIG,
				  "struct %s has more than %u function pointers",
				  type_name, max);
	if (ret)
		return kh_err_set(err, EINVAL,
				  "struct %s: a member lies outside it", type_name);
	*nr = w.nr;
	*size = t->size;
	return 0;
}

int kh_btf_member(const struct kh_btf *btf, const char *type_name,
		  const char *member_path, struct kh_member *member,
		  struct kh_err *err)
{
	char path[MAX_PATH], *comp, *save = NULL;
	const struct btf_type *t;
	const char *in = type_name;
	uint64_t total = 0, outer_size;
	__u32 type = 0, bitfield = 0;
	__s64 size;

	if (!btf || !type_name || !member_path || !member)
		return kh_err_set(err, EINVAL, "kh_btf_member: bad arguments");
	/* strtok_r would read "a..b", ".a" or "a." as some other path. */
	if (strlen(member_path) >= sizeof(path) || !member_path[0] ||
	    strstr(member_path, "..") || member_path[0] == '.' ||
	    member_path[strlen(member_path) - 1] == '.')
		return kh_err_set(err, EINVAL, "bad member path '%s'",
				  member_path);
	t = find_composite(btf->btf, type_name);
	if (!t)
		return kh_err_set(err, ENOENT,
				  "the kernel's BTF has no struct or union %s",
				  type_name);
	outer_size = t->size;
	strcpy(path, member_path);
	for (comp = strtok_r(path, ".", &save); comp;
	     comp = strtok_r(NULL, ".", &save)) {
		unsigned long visits = MAX_VISITS;
		uint64_t bits;

		if (!is_composite(t))
			return kh_err_set(err, ENOENT,
					  "%s.%s: %s is not a struct or union, so has no member %s",
					  type_name, member_path, in, comp);
		if (find_member(btf->btf, t, comp, 0, &visits, &bits, &type,
				&bitfield))
			return kh_err_set(err, ENOENT,
					  "%s has no member %s (looking up %s.%s)",
					  in, comp, type_name, member_path);
		total += bits;
		in = comp;
		t = skip_mods(btf->btf, type, NULL);
		if (!t)
			return kh_err_set(err, EINVAL,
					  "%s.%s: member %s has a broken type",
					  type_name, member_path, comp);
	}
	size = btf__resolve_size(btf->btf, type);
	/*
	 * BTF comes from guest RAM: a member must lie inside its struct, and
	 * no kernel struct is near KH_BTF_STRUCT_MAX. Every offset callers
	 * get is then small enough that offset + size cannot wrap.
	 */
	if (size < 0 || outer_size > KH_BTF_STRUCT_MAX ||
	    total / 8 + (bitfield ? 0 : (uint64_t)size) > outer_size)
		return kh_err_set(err, EINVAL,
				  "%s.%s: the member's size or offset is not valid",
				  type_name, member_path);
	member->offset = (uint32_t)(total / 8);
	member->bit_offset = bitfield ? (uint32_t)(total % 8) : 0;
	member->bit_size = bitfield;
	member->size = (uint32_t)size;
	if (!bitfield && total % 8)
		return kh_err_set(err, EINVAL,
				  "%s.%s is not byte-aligned but not a bitfield",
				  type_name, member_path);
	return 0;
}

int kh_btf_sizeof(const struct kh_btf *btf, const char *type_name,
		  uint32_t *size, struct kh_err *err)
{
	const struct btf_type *t;
	__s64 sz;

	if (!btf || !type_name || !size)
		return kh_err_set(err, EINVAL, "kh_btf_sizeof: bad arguments");
	t = find_composite(btf->btf, type_name);
	if (!t)
		return kh_err_set(err, ENOENT,
				  "the kernel's BTF has no struct or union %s",
				  type_name);
	sz = t->size;
	if (sz > KH_BTF_STRUCT_MAX)
		return kh_err_set(err, EINVAL, "%s has an invalid size",
				  type_name);
	*size = (uint32_t)sz;
	return 0;
}

int kh_btf_enum_value(const struct kh_btf *btf, const char *name,
		      int64_t *value, struct kh_err *err)
{
	__u32 id, n = btf__type_cnt(btf->btf);

	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf->btf, id);
		unsigned int i, vlen;

		if (!t)
			break;
		vlen = btf_vlen(t);
		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (i = 0; i < vlen; i++)
				if (!strcmp(btf__name_by_offset(btf->btf,
								e[i].name_off) ?: "",
					    name)) {
					*value = e[i].val;
					return 0;
				}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (i = 0; i < vlen; i++)
				if (!strcmp(btf__name_by_offset(btf->btf,
								e[i].name_off) ?: "",
					    name)) {
					*value = (int64_t)btf_enum64_value(&e[i]);
					return 0;
				}
		}
	}
	return kh_err_set(err, ENOENT, "enumerator %s not found in kernel BTF",
			  name);
}
