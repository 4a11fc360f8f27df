// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel's dispatch tables a rootkit rewrites (Volatility's
 * check_syscall and check_idt):
 *
 * - sys_call_table: every entry must be the start of a system call's
 *   entry point in the kernel's text, a symbol named __x64_sys_* (the
 *   pt_regs wrappers SYSCALL_DEFINE makes, sys_ni_syscall's for the
 *   numbers that have none). Its length is the distance to the next
 *   symbol. Since 6.9 (and the stable kernels that took the BHI fix)
 *   system calls are dispatched by x64_sys_call()'s switch, not through
 *   the table, but the table is still there, still read by tracing and
 *   still what rootkits written for older kernels patch.
 * - idt_table: every present gate must lead into the kernel's text.
 *   One exception is the kernel's own: the exception vectors it never
 *   sets up after boot (20 to 31, reserved) keep the early handler
 *   idt_setup_early_handler() gave them, in early_idt_handler_array,
 *   init text the kernel freed (a gate there is never taken: the CPU
 *   raises none of them). The CPUs do not load idt_table's address but
 *   a read-only alias of its page in the CPU entry area
 *   (CPU_ENTRY_AREA_RO_IDT, fixed at the entry area's base): the gates
 *   are read there, through the kernel's page tables, and an alias that
 *   shows other bytes than idt_table (its page table entry pointed at a
 *   table of a rootkit's) is a finding of its own. A rootkit that loads
 *   an IDT elsewhere (lidt) is not seen here, only in the vCPUs' IDTR.
 *
 * Each bad entry is a finding naming the code it leads to and the module
 * that holds it, if any.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "kernel/kallsyms.h"
#include "kernel/profile.h"

/* More entries than this is not a syscall table (x86-64 has ~460). */
#define MAX_SYSCALLS 1024
#define IDT_ENTRIES 256
#define GATE_BYTES 16
#define GATE_PRESENT 0x8000
#define NR_EXCEPTIONS 32
/* CPU_ENTRY_AREA_RO_IDT: the entry area's base, with 4 or 5 levels. */
#define CEA_RO_IDT 0xfffffe0000000000ULL
/*
 * The kernel's EARLY_IDT_HANDLER_SIZE is 9 bytes per stub, and 13 when
 * each stub starts with an ENDBR instruction (CONFIG_X86_KERNEL_IBT).
 * The array's own size (32 stubs) tells which of the two this kernel has.
 */
#define EARLY_IDT_STUB 9
#define EARLY_IDT_STUB_IBT 13

/*
 * The stride of early_idt_handler_array's stubs: 9 or 13 bytes, or 0 when
 * the array's size is neither (then no gate is excused as an early stub).
 */
static uint64_t early_stride(struct kh_vm *vm, uint64_t *va)
{
	struct kh_sym_near near;

	if (kh_sym_va(vm, "early_idt_handler_array", va, NULL) ||
	    kh_symbol_near(vm, *va, &near) || near.offset || !near.next)
		return 0;
	if (near.next - *va == NR_EXCEPTIONS * EARLY_IDT_STUB_IBT)
		return EARLY_IDT_STUB_IBT;
	return near.next - *va == NR_EXCEPTIONS * EARLY_IDT_STUB ?
	       EARLY_IDT_STUB : 0;
}

static int syscall_name(const char *name)
{
	return !strncmp(name, "__x64_sys_", 10) ||
	       !strcmp(name, "sys_ni_syscall");
}

/*
 * The system calls' entry points as offsets from _text, sorted: found by
 * name once per kernel build (a few ms over every symbol), so that each
 * check judges sys_call_table's ~450 entries by a search of ~450 values,
 * not of every symbol and its names (7% of a whole check).
 */
#define SYSCALL_ENTRIES_MAX 2048

struct syscall_entries {
	unsigned int nr;
	int by_name;		/* too many: each entry is judged by its name */
	int64_t value[SYSCALL_ENTRIES_MAX];
};

static const char syscall_entries_key[] = "system call entry points";

static int by_value(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

static int build_syscall_entries(struct kh_profile *profile, const void *key,
				 void *data, size_t size, struct kh_err *err)
{
	struct syscall_entries *se = data;
	unsigned int nr = kh_symtab_count(profile->symtab), i;
	struct kh_sym sym;

	for (i = 0; i < nr; i++) {
		if (kh_symtab_get(profile->symtab, i, &sym) || sym.absolute ||
		    !syscall_name(sym.name))
			continue;
		if (se->nr == SYSCALL_ENTRIES_MAX) {
			se->by_name = 1;
			return 0;
		}
		se->value[se->nr++] = sym.value;
	}
	qsort(se->value, se->nr, sizeof(se->value[0]), by_value);
	return 0;
}

/* Whether va is a system call's entry point, by the memo or by name. */
static int syscall_entry(struct kh_vm *vm, const struct syscall_entries *se,
			 uint64_t va)
{
	int64_t value = (int64_t)(va - vm->kernel.text_va);

	if (!se || se->by_name)
		return kh_symbol_is(vm, va, syscall_name);
	return bsearch(&value, se->value, se->nr, sizeof(se->value[0]),
		       by_value) != NULL;
}

int kh_check_syscalls(struct kh_check_ctx *cx)
{
	struct kh_check_status *st = &cx->report->checks[KH_CHECK_SYSCALLS];
	const struct syscall_entries *se = NULL;
	uint64_t table[MAX_SYSCALLS];
	struct kh_sym_near near;
	const void *memo;
	uint64_t sct, nr, i;
	int ret;

	if (!cx->have_text)
		return kh_check_problem(cx, KH_CHECK_SYSCALLS, 0,
					"the kernel's text bounds are unknown");
	if (kh_sym_va(cx->vm, "sys_call_table", &sct, NULL) ||
	    kh_symbol_near(cx->vm, sct, &near) || near.offset || !near.next)
		return kh_check_problem(cx, KH_CHECK_SYSCALLS, 0,
					"no sys_call_table in this kernel's symbols");
	nr = (near.next - sct) / 8;
	if (!nr || nr > MAX_SYSCALLS)
		return kh_check_problem(cx, KH_CHECK_SYSCALLS, 0,
					"sys_call_table would have %" PRIu64 " entries",
					nr);
	ret = kh_kva_fetch_one(cx->vm, sct, table, nr * 8, cx->err);
	if (ret == -ESRCH)
		return ret;
	if (ret)
		return kh_check_problem(cx, KH_CHECK_SYSCALLS, 0,
					"sys_call_table cannot be read: %s",
					cx->err->msg);
	/* The table is followed by padding up to the next symbol. */
	while (nr > 1 && !table[nr - 1])
		nr--;
	/* Without the memo (out of memory), each by its name. */
	if (!kh_profile_memo(cx->vm->profile, syscall_entries_key,
			     sizeof(*se), build_syscall_entries, &memo, NULL))
		se = memo;
	for (i = 0; i < nr; i++) {
		struct kh_finding f;

		st->examined++;
		if (kh_check_in_text(cx, table[i]) &&
		    syscall_entry(cx->vm, se, table[i]))
			continue;
		f = (struct kh_finding){ .addr = sct + i * 8 };
		ret = kh_check_describe(cx, table[i], &f);
		if (ret)
			return ret;
		snprintf(f.what, sizeof(f.what),
			 "system call %" PRIu64 " leads to %s", i,
			 f.owner[0] ? f.owner :
			 kh_check_in_text(cx, table[i]) ?
			 "kernel code that is no system call" :
			 "memory outside the kernel's text");
		snprintf(f.expected, sizeof(f.expected),
			 "a __x64_sys_* entry point in the kernel's text");
		ret = kh_check_found(cx, KH_CHECK_SYSCALLS, &f);
		if (ret)
			return ret;
	}
	return 0;
}

int kh_check_idt(struct kh_check_ctx *cx)
{
	struct kh_check_status *st = &cx->report->checks[KH_CHECK_IDT];
	uint8_t idt[IDT_ENTRIES * GATE_BYTES], used[sizeof(idt)];
	uint64_t va, early_va = 0, stride, base;
	unsigned int i;
	int ret;

	if (!cx->have_text)
		return kh_check_problem(cx, KH_CHECK_IDT, 0,
					"the kernel's text bounds are unknown");
	if (kh_sym_va(cx->vm, "idt_table", &va, NULL))
		return kh_check_problem(cx, KH_CHECK_IDT, 0,
					"no idt_table in this kernel's symbols");
	stride = early_stride(cx->vm, &early_va);
	ret = kh_kva_fetch_one(cx->vm, va, idt, sizeof(idt), cx->err);
	if (ret == -ESRCH)
		return ret;
	if (ret)
		return kh_check_problem(cx, KH_CHECK_IDT, 0,
					"idt_table cannot be read: %s",
					cx->err->msg);
	/* The alias the CPUs load: its gates are the ones taken. */
	ret = kh_kva_fetch_one(cx->vm, CEA_RO_IDT, used, sizeof(used), NULL);
	if (kh_check_fatal(ret))
		return kh_check_fatal_err(cx, ret);
	if (ret) {
		kh_check_problem(cx, KH_CHECK_IDT, 1,
				 "the IDT the CPUs load (the CPU entry area's alias at 0x%llx) cannot be read: idt_table's gates are judged",
				 CEA_RO_IDT);
		memcpy(used, idt, sizeof(used));
	}
	/* A gate's slot: idt_table's, unless the CPUs' table is another. */
	base = memcmp(used, idt, sizeof(idt)) ? CEA_RO_IDT : va;
	if (base != va) {
		struct kh_finding f = { .addr = CEA_RO_IDT, .target = va };

		snprintf(f.what, sizeof(f.what),
			 "the IDT the CPUs load (CPU entry area 0x%llx) is not idt_table: its page maps another table",
			 CEA_RO_IDT);
		snprintf(f.expected, sizeof(f.expected),
			 "a read-only alias of idt_table (0x%" PRIx64 ")", va);
		ret = kh_check_found(cx, KH_CHECK_IDT, &f);
		if (ret)
			return ret;
	}
	for (i = 0; i < IDT_ENTRIES; i++) {
		const uint8_t *g = used + i * GATE_BYTES;
		struct kh_finding f;
		uint16_t bits, lo, mid;
		uint64_t target;

		memcpy(&lo, g, 2);
		memcpy(&bits, g + 4, 2);
		memcpy(&mid, g + 6, 2);
		if (!(bits & GATE_PRESENT))
			continue;
		st->examined++;
		target = lo | (uint64_t)mid << 16 |
			 (uint64_t)kh_load_u32(g, 8) << 32;
		if (kh_check_in_text(cx, target) ||
		    (i < NR_EXCEPTIONS && stride &&
		     target == early_va + i * stride))
			continue;
		f = (struct kh_finding){ .addr = base + i * GATE_BYTES };
		ret = kh_check_describe(cx, target, &f);
		if (ret)
			return ret;
		snprintf(f.what, sizeof(f.what),
			 "interrupt vector %u leads to %s", i,
			 f.owner[0] ? f.owner :
			 "memory outside the kernel's text");
		snprintf(f.expected, sizeof(f.expected),
			 "an entry point in the kernel's text");
		ret = kh_check_found(cx, KH_CHECK_IDT, &f);
		if (ret)
			return ret;
	}
	return 0;
}
