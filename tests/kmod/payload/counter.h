/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The contract between the L2 test payload (counter.S, booted by QEMU as
 * a multiboot kernel) and the tests that introspect it: what it writes in
 * its RAM, at fixed guest physical addresses (GPA), so a test knows what
 * any correct read of that RAM must show.
 *
 *   GPA 0x10000          u64 KT_CNT_MAGIC, 0x21535254434e484b, written once
 *                        the payload has filled RAM (if asked) and started
 *                        every CPU it will
 *   GPA 0x10008          u64 number of CPUs that started (BSP included)
 *   GPA 0x10010          u64 first GPA filled with the pattern, 0 if none
 *   GPA 0x10018          u64 GPA just past the fill, 0 if none
 *   GPA 0x10000 + 64*(1+i)  u64 counter of the CPU with APIC id i (i < 64),
 *                        incremented forever by that CPU alone, each store
 *                        one atomic 8-byte write (never torn); each counter
 *                        has its own cache line
 *
 * With "fill" on the multiboot command line (QEMU -append fill), before
 * anything else the boot CPU writes every 4-byte word from 2 MiB to the
 * end of the RAM below 4 GiB that multiboot reports: the u32 at GPA a is
 * kt_cnt_fill_word(a). The payload itself lives below 2 MiB.
 */
#ifndef KT_PAYLOAD_COUNTER_H
#define KT_PAYLOAD_COUNTER_H

#define KT_CNT_BASE		0x10000
#define KT_CNT_MAGIC_LO		0x434e484b	/* bytes "KHNC" */
#define KT_CNT_MAGIC_HI		0x21535254	/* bytes "TRS!" */
#define KT_CNT_NCPUS		(KT_CNT_BASE + 0x08)
#define KT_CNT_FILL_START	(KT_CNT_BASE + 0x10)
#define KT_CNT_FILL_END		(KT_CNT_BASE + 0x18)
#define KT_CNT_SLOT		64
#define KT_CNT_MAX_CPUS		64
#define KT_CNT_FILL_FROM	0x200000
#define KT_CNT_FILL_XOR		0x4b484b48

#ifndef __ASSEMBLER__
#include <stdint.h>

/* 0x21535254434e484b: the bytes "KHNCTRS!" in memory */
#define KT_CNT_MAGIC	(((uint64_t)KT_CNT_MAGIC_HI << 32) | KT_CNT_MAGIC_LO)

static inline uint64_t kt_cnt_gpa(unsigned int apic_id)
{
	return KT_CNT_BASE + (uint64_t)KT_CNT_SLOT * (1 + apic_id);
}

/* the u32 the payload wrote at GPA gpa (4-byte aligned) when filling */
static inline uint32_t kt_cnt_fill_word(uint64_t gpa)
{
	return (uint32_t)gpa ^ KT_CNT_FILL_XOR;
}
#endif

#endif
