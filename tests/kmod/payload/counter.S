/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The L2 test payload: a multiboot (v1) kernel in which every CPU
 * increments its own 64-bit counter forever, at the addresses counter.h
 * fixes, so a test that reads this guest's RAM from the host knows what it
 * must see and can watch it change. Optionally ("fill" on the command
 * line) it first writes a known pattern over RAM from 2 MiB up.
 *
 * It stays in 32-bit protected mode without paging (GPA = linear address):
 * nothing here needs more, and a u64 store is still one atomic 8-byte
 * write with cmpxchg8b. The boot CPU starts every other CPU with
 * INIT-SIPI-SIPI through its local APIC; a SIPI starts a CPU in real mode
 * at a page below 1 MiB, so a small trampoline is copied to 0x8000 first.
 * How many CPUs there are comes from QEMU's fw_cfg (FW_CFG_NB_CPUS).
 */
#include "counter.h"

#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000002	/* memory information, please */
#define MB_INFO_MEM	(1 << 0)
#define MB_INFO_CMDLINE	(1 << 2)

#define TRAMPOLINE	0x8000		/* SIPI vector 0x08 */
#define APIC		0xfee00000
#define APIC_ID		0x20
#define APIC_SVR	0xf0
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310
#define ICR_INIT_OTHERS	0x000c4500	/* all but self, assert, INIT */
#define ICR_SIPI_OTHERS	0x000c4600	/* all but self, assert, start-up */

#define FW_CFG_SEL	0x510
#define FW_CFG_DATA	0x511
#define FW_CFG_NB_CPUS	0x05

#define SEL_CODE	0x08
#define SEL_DATA	0x10

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	/* the GDT multiboot leaves behind must not be relied on */
	lgdt gdtr
	ljmp $SEL_CODE, $1f
1:	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov %ebx, %esi			/* multiboot information */

	/* "fill" as a word of the command line? (at most 4 KiB scanned) */
	testl $MB_INFO_CMDLINE, (%esi)
	jz no_fill
	testl $MB_INFO_MEM, (%esi)
	jz no_fill
	mov 16(%esi), %edi
	lea 4096(%edi), %ebp
	mov $' ', %dl			/* the character before (%edi) */
scan:
	cmp %ebp, %edi
	jae no_fill
	mov (%edi), %al
	test %al, %al
	jz no_fill
	cmp $' ', %dl
	jne scan_next
	cmpl $0x6c6c6966, (%edi)	/* "fill" */
	jne scan_next
	mov 4(%edi), %al
	test %al, %al
	jz fill
	cmp $' ', %al
	je fill
scan_next:
	mov (%edi), %dl
	inc %edi
	jmp scan

fill:
	/* mem_upper: KiB of RAM from 1 MiB up, below 4 GiB */
	mov 8(%esi), %ebp
	shl $10, %ebp
	add $0x100000, %ebp
	and $~3, %ebp
	mov $KT_CNT_FILL_FROM, %edi
fill_word:
	cmp %ebp, %edi
	jae fill_done
	mov %edi, %eax
	xor $KT_CNT_FILL_XOR, %eax
	mov %eax, (%edi)
	add $4, %edi
	jmp fill_word
fill_done:
	movl $KT_CNT_FILL_FROM, KT_CNT_FILL_START
	movl $0, KT_CNT_FILL_START + 4
	mov %ebp, KT_CNT_FILL_END
	movl $0, KT_CNT_FILL_END + 4

no_fill:
	/* CPUs to wait for: FW_CFG_NB_CPUS, a little-endian u16 */
	mov $FW_CFG_NB_CPUS, %ax
	mov $FW_CFG_SEL, %dx
	outw %ax, %dx
	mov $FW_CFG_DATA, %dx
	inb %dx, %al
	mov %al, %cl
	inb %dx, %al
	mov %al, %ch
	movzwl %cx, %ecx
	cmp $KT_CNT_MAX_CPUS, %ecx
	jbe 1f
	mov $KT_CNT_MAX_CPUS, %ecx
1:	mov %ecx, %ebp

	lock incl KT_CNT_NCPUS		/* this CPU */
	cmp $1, %ebp
	jbe publish

	/* the trampoline, to where a SIPI can start a CPU */
	mov $trampoline, %esi
	mov $TRAMPOLINE, %edi
	mov $(trampoline_end - trampoline), %ecx
	cld
	rep movsb

	/* software-enable the local APIC, then INIT, SIPI, SIPI */
	orl $0x100, APIC + APIC_SVR
	movl $0, APIC + APIC_ICR_HI
	movl $ICR_INIT_OTHERS, APIC + APIC_ICR_LO
	mov $200000, %ecx
1:	dec %ecx
	jnz 1b
	movl $(ICR_SIPI_OTHERS | (TRAMPOLINE >> 12)), APIC + APIC_ICR_LO
	mov $20000, %ecx
1:	dec %ecx
	jnz 1b
	movl $(ICR_SIPI_OTHERS | (TRAMPOLINE >> 12)), APIC + APIC_ICR_LO

	/* wait, bounded, until every CPU has counted itself in */
	mov $0x40000000, %ecx
1:	cmp %ebp, KT_CNT_NCPUS
	jae publish
	pause
	dec %ecx
	jnz 1b

publish:
	/* high half first: a reader that sees the whole magic sees it all */
	movl $KT_CNT_MAGIC_HI, KT_CNT_BASE + 4
	movl $KT_CNT_MAGIC_LO, KT_CNT_BASE
	jmp count

/* Where each AP lands once the trampoline is in protected mode. */
ap_entry32:
	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	lock incl KT_CNT_NCPUS

/* Count forever in this CPU's slot, picked by its APIC id. */
count:
	mov APIC + APIC_ID, %eax
	shr $24, %eax
	cmp $KT_CNT_MAX_CPUS, %eax
	jae halt
	shl $6, %eax
	lea (KT_CNT_BASE + KT_CNT_SLOT)(%eax), %esi
	mov (%esi), %eax
	mov 4(%esi), %edx
count_next:
	mov %eax, %ebx
	mov %edx, %ecx
	add $1, %ebx
	adc $0, %ecx
	/* edx:eax is what the slot holds: ecx:ebx lands in one store */
	lock cmpxchg8b (%esi)
	jnz count_next			/* (cannot happen: nobody else writes) */
	mov %ebx, %eax
	mov %ecx, %edx
	jmp count_next

halt:
	cli
	hlt
	jmp halt

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* SEL_CODE: 4 GiB flat, 32-bit code */
	.quad 0x00cf92000000ffff	/* SEL_DATA: 4 GiB flat, data */
gdt_end:
gdtr:
	.word gdt_end - gdt - 1
	.long gdt

/*
 * Copied to TRAMPOLINE and run there in real mode by each AP (CS =
 * TRAMPOLINE >> 4, IP = 0): only what it takes to reach ap_entry32.
 */
	.code16
trampoline:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl trampoline_gdtr - trampoline
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $SEL_CODE, $ap_entry32
	.balign 4
trampoline_gdtr:
	.word gdt_end - gdt - 1
	.long gdt
trampoline_end:
