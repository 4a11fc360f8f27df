// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Operations tables (structs of function pointers: file_operations,
 * seq_operations, tty_ldisc_ops ...) and the code they lead to, for the
 * checks of /proc's and the ttys' operations (Volatility's check_afinfo
 * and tty_check). A rootkit hides sockets or reads keystrokes by putting
 * its own function in such a table, or by pointing an object at a table
 * of its own. The rule a clean kernel keeps:
 *
 * - a table in the kernel's image (its static tables, const or not) leads
 *   only into the kernel's text: the kernel never points its own tables
 *   at a module;
 * - any other table (a module's, or one in allocated memory) leads into
 *   the kernel's text or into a module on the modules list.
 *
 * Each table is read whole once per check (many objects share one) and
 * its layout comes from the kernel's BTF, so only real function pointers
 * are judged.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"

/* No operations table comes near this (file_operations is ~300 bytes). */
#define OPS_MAX_BYTES 1024

static int in_image(const struct kh_check_ctx *cx, uint64_t va)
{
	const struct kh_vm *vm = cx->vm;

	return va - vm->kernel.text_va < vm->kernel.image_size;
}

const char *kh_check_where(struct kh_check_where *where)
{
	if (!where->text) {
		where->buf[0] = 0;
		where->name(where, where->buf, sizeof(where->buf));
		where->text = where->buf;
	}
	return where->text;
}

int kh_check_fn(struct kh_check_ctx *cx, enum kh_check_id id,
		const struct kh_check_fn_at *at, uint64_t slot,
		uint64_t target)
{
	const struct kh_check_module *m;
	struct kh_finding f;
	uint64_t start;
	int ret;

	/* Most pointers: the finding (~850 bytes) is not even zeroed. */
	if (!target || kh_check_in_text(cx, target))
		return 0;
	if (!at->kernels) {
		ret = kh_check_modules_once(cx);
		if (ret)
			return ret;
		m = kh_check_owner(cx, target, &start);
		if (m && m->listed)
			return 0;
	}
	f = (struct kh_finding){ .addr = slot, .netns = at->netns };
	ret = kh_check_describe(cx, target, &f);
	if (ret)
		return ret;
	/* A module loaded since (describe gathered them again) is listed. */
	m = kh_check_owner(cx, target, &start);
	if (!at->kernels && m && m->listed)
		return 0;
	snprintf(f.hooked, sizeof(f.hooked), "%s", kh_check_where(at->where));
	snprintf(f.role, sizeof(f.role), "%s", at->member);
	snprintf(f.what, sizeof(f.what), "%s: %s%s%s leads to %s", f.hooked,
		 at->table, at->table[0] ? "." : "", at->member,
		 f.owner[0] ? f.owner : "memory outside the kernel's text");
	snprintf(f.expected, sizeof(f.expected), "%s",
		 at->kernels ?
		 "the kernel's text (the table is the kernel's own)" :
		 "the kernel's text or a module on the list");
	return kh_check_found(cx, id, &f);
}

/* The BTF struct of each type, also its layout's memo key. */
static const char *const type_names[KH_OPS_NR] = {
	[KH_OPS_INODE] = "inode_operations",
	[KH_OPS_FILE] = "file_operations",
	[KH_OPS_PROC] = "proc_ops",
	[KH_OPS_DENTRY] = "dentry_operations",
	[KH_OPS_SEQ] = "seq_operations",
	[KH_OPS_TTY] = "tty_operations",
	[KH_OPS_LDISC] = "tty_ldisc_ops",
	[KH_OPS_PORT] = "tty_port_operations",
	[KH_OPS_PORT_CLIENT] = "tty_port_client_operations",
};

/*
 * A table is judged once as each type: the same address read as another
 * struct has other members (a table made to pass as a proc_ops and then
 * used as seq_operations). The type is folded into the key's low bits;
 * a kernel address loses only its top bits, all ones.
 */
static uint64_t table_key(uint64_t va, enum kh_ops_type type)
{
	_Static_assert(KH_OPS_NR < 16, "a type fits the key's low four bits");
	return va << 4 | (type + 1);
}

int kh_check_ops(struct kh_check_ctx *cx, enum kh_check_id id,
		 struct kh_addr_set *seen, uint64_t va, enum kh_ops_type type,
		 struct kh_check_where *where, uint32_t netns)
{
	const char *name = type_names[type];
	uint8_t buf[OPS_MAX_BYTES];
	const struct kh_ops_layout *l;
	struct kh_check_fn_at at = {
		.where = where, .table = name, .netns = netns,
		.kernels = in_image(cx, va),
	};
	unsigned int i;
	int ret;

	if (!va)
		return 0;
	if (!kh_kernel_ptr_aligned(cx->vm, va, 8)) {
		kh_check_problem(cx, id, 1, "%s: a %s at %#" PRIx64
				 " that is no kernel pointer", kh_check_where(where),
				 name, va);
		return 0;
	}
	ret = kh_addr_set_add(seen, table_key(va, type));
	if (ret <= 0)
		return ret;
	ret = kh_ops_layout(cx->vm, name, &l, NULL);
	if (ret == -ENOMEM)
		return kh_err_set(cx->err, ENOMEM, "out of memory for a layout");
	if (ret || l->size > sizeof(buf)) {
		kh_check_problem(cx, id, 1,
				 "struct %s: no layout keyhole can judge in this kernel's BTF",
				 name);
		return 0;
	}
	ret = kh_kva_fetch_one(cx->vm, va, buf, l->size, NULL);
	if (kh_check_fatal(ret))
		return kh_check_fatal_err(cx, ret);
	if (ret) {
		kh_check_problem(cx, id, 1, "%s: its %s at %#" PRIx64
				 " cannot be read", kh_check_where(where), name,
				 va);
		return 0;
	}
	for (i = 0; i < l->nr; i++) {
		at.member = l->fn[i].name;
		ret = kh_check_fn(cx, id, &at, va + l->fn[i].offset,
				  kh_load_u64(buf, l->fn[i].offset));
		if (ret)
			return ret;
	}
	return 0;
}
