// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kernel/: the guest kernel, known from guest RAM alone: where it is
 * (this file), its symbols (kallsyms.c) and types (btf.c), the profile
 * they make and its disk cache (profile.c, profile_cache.c), x86-64 page
 * tables (pgtable.c), and the engine's reads of guest memory by physical
 * or kernel-virtual address (memory.c). It calls access/ for bytes and
 * qemu/ for the layout; walk/ builds on it.
 *
 * This file: finding a Linux kernel in guest RAM with no prior knowledge
 * of it.
 *
 * 1. The kernel image is loaded at a 2 MiB-aligned physical address (KASLR
 *    randomises it, in 2 MiB steps). Its first bytes are startup_64, which
 *    on every x86-64 kernel computes its own load address with
 *    `lea _text(%rip), %rdi` within its first instructions: an instruction
 *    whose target is the candidate address itself. Checking 64 bytes per
 *    2 MiB of resident RAM finds the candidates cheaply.
 * 2. A profile cached (in this context or on disk) for a kernel whose
 *    linux_banner and BTF header sit at the same offsets with the same
 *    bytes is reused: that is the warm path.
 * 3. Otherwise (cold) the image is copied out and kallsyms and BTF are
 *    decoded from it, and the new profile is cached.
 * 4. Per boot: the virtual base comes from init_task.real_parent (init_task
 *    is its own parent), and is cross-checked by walking the kernel's own
 *    page tables (init_top_pgt), which must map _text back to the physical
 *    base. Only then are page_offset_base and friends trusted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/pgtable.h"
#include "vm.h"

#define KH_2M (2ULL << 20)
#define KH_PAGE 4096ULL
#define PROBE_LEN 64
#define IMAGE_WINDOW (64ULL << 20)	/* covers .text, .rodata and .BTF */
#define MAX_CANDIDATES 65536

/* Link-time defaults when the kernel lacks CONFIG_RANDOMIZE_MEMORY. */
#define PAGE_OFFSET_L4 0xffff888000000000ULL
#define PAGE_OFFSET_L5 0xff11000000000000ULL

static int is_startup_64(const uint8_t *code)
{
	unsigned int i;

	for (i = 0; i + 7 <= PROBE_LEN; i++) {
		int32_t disp;

		/* lea disp32(%rip), %rdi */
		if (code[i] != 0x48 || code[i + 1] != 0x8d ||
		    code[i + 2] != 0x3d)
			continue;
		memcpy(&disp, code + i + 3, 4);
		if (disp == -(int32_t)(i + 7))
			return 1;
	}
	return 0;
}

/* Resident 2 MiB-aligned GPAs whose first bytes look like startup_64. */
static int find_candidates(struct kh_vm *vm, struct kh_residency *res,
			   uint64_t **candp, unsigned int *nrp,
			   struct kh_err *err)
{
	unsigned int nr = 0, nr_probe = 0, i, r;
	struct kh_read *probes = NULL;
	uint64_t *cand = NULL;
	uint8_t *code = NULL;
	int ret = 0;

	probes = calloc(MAX_CANDIDATES, sizeof(*probes));
	code = malloc((size_t)MAX_CANDIDATES * PROBE_LEN);
	cand = calloc(MAX_CANDIDATES, sizeof(*cand));
	if (!probes || !code || !cand) {
		ret = kh_err_set(err, ENOMEM, "out of memory scanning for the kernel");
		goto out;
	}
	for (r = 0; r < vm->layout.nr; r++) {
		const struct kh_ram_range *range = &vm->layout.range[r];
		uint64_t gpa = (range->gpa + KH_2M - 1) & ~(KH_2M - 1);

		for (; gpa + KH_PAGE <= range->gpa + range->size &&
		     nr_probe < MAX_CANDIDATES; gpa += KH_2M) {
			uint8_t resident = 0;

			if (kh_residency_get(res, gpa, KH_PAGE, &resident,
					     NULL) || !resident)
				continue;
			probes[nr_probe].addr = gpa;
			probes[nr_probe].buf = code + nr_probe * PROBE_LEN;
			probes[nr_probe].len = PROBE_LEN;
			nr_probe++;
		}
	}
	ret = kh_gpa_scan(vm, probes, nr_probe, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < nr_probe; i++)
		if (!probes[i].result &&
		    is_startup_64(code + (size_t)i * PROBE_LEN))
			cand[nr++] = probes[i].addr;
	if (!nr)
		ret = kh_err_set(err, ENOEXEC,
				 "no Linux kernel found in guest RAM (%u resident 2 MiB boundaries checked for x86-64 startup_64): the guest is not running Linux, has not booted yet, or is not x86-64",
				 nr_probe);
out:
	free(probes);
	free(code);
	if (ret)
		free(cand);
	else
		*candp = cand, *nrp = nr;
	return ret;
}

struct identity_probe {
	struct kh_vm *vm;
	uint64_t phys;
};

/* Does the kernel at probe->phys carry this banner and BTF header? */
static int identity_matches(const char *banner, int64_t banner_off,
			    const uint8_t *btf_header, int64_t btf_off,
			    void *opaque)
{
	struct identity_probe *probe = opaque;
	size_t len = strlen(banner) + 1;
	char seen_banner[KH_BANNER_MAX];
	uint8_t seen_btf[24];
	struct kh_read reads[2] = {
		{ .addr = probe->phys + banner_off, .buf = seen_banner,
		  .len = len },
		{ .addr = probe->phys + btf_off, .buf = seen_btf, .len = 24 },
	};

	if (banner_off < 0 || btf_off < 0 || banner_off > (int64_t)IMAGE_WINDOW ||
	    btf_off > (int64_t)IMAGE_WINDOW || len > sizeof(seen_banner))
		return 0;
	if (kh_gpa_fetch(probe->vm, reads, 2, NULL) != 0)
		return 0;
	return !memcmp(seen_banner, banner, len) &&
	       !memcmp(seen_btf, btf_header, 24);
}

static int profile_matches(const struct kh_profile *profile, void *opaque)
{
	return identity_matches(profile->banner, profile->banner_off,
				profile->btf_header, profile->btf_off, opaque);
}

/* Copies [phys, phys + len) leaving pages the guest never touched zero. */
static int copy_image(struct kh_vm *vm, struct kh_residency *res,
		      uint64_t phys, uint8_t *img, uint64_t len,
		      struct kh_err *err)
{
	uint64_t pages = len / KH_PAGE, i, run;
	struct kh_read *reads;
	unsigned int nr = 0;
	uint8_t *resident;
	int ret;

	resident = calloc(pages, 1);
	reads = calloc(pages, sizeof(*reads));
	if (!resident || !reads) {
		ret = kh_err_set(err, ENOMEM, "out of memory copying the kernel image");
		goto out;
	}
	ret = kh_residency_get(res, phys, len, resident, err);
	if (ret)
		goto out;
	for (i = 0; i < pages; i = run) {
		for (run = i; run < pages && resident[run] == resident[i]; run++)
			;
		if (!resident[i])
			continue;
		reads[nr].addr = phys + i * KH_PAGE;
		reads[nr].buf = img + i * KH_PAGE;
		reads[nr].len = (run - i) * KH_PAGE;
		nr++;
	}
	ret = kh_gpa_fetch(vm, reads, nr, err);
	if (ret > 0)
		ret = kh_err_set(err, EIO, "%d parts of the kernel image could not be read", ret);
out:
	free(resident);
	free(reads);
	return ret < 0 ? ret : 0;
}

static int btf_from_image(const uint8_t *img, uint64_t len,
			  const struct kh_symtab *symtab, struct kh_btf **btfp,
			  uint8_t *btf_header, struct kh_err *err)
{
	struct kh_sym start, stop;

	if (kh_symtab_lookup(symtab, "__start_BTF", &start) ||
	    kh_symtab_lookup(symtab, "__stop_BTF", &stop) || start.absolute ||
	    stop.absolute)
		return kh_err_set(err, ENOENT,
				  "the guest kernel has no BTF (__start_BTF/__stop_BTF not in kallsyms): it needs CONFIG_DEBUG_INFO_BTF=y, or pass --vmlinux FILE");
	if (start.value < 0 || stop.value <= start.value + 24 ||
	    (uint64_t)stop.value > len)
		return kh_err_set(err, EPROTO,
				  "the guest kernel's BTF lies outside the first %llu MiB of its image",
				  (unsigned long long)(len >> 20));
	memcpy(btf_header, img + start.value, 24);
	return kh_btf_load(img + start.value, stop.value - start.value, btfp,
			   err);
}

static int build_profile(struct kh_vm *vm, struct kh_residency *res,
			 uint64_t phys, struct kh_profile **profilep,
			 struct kh_err *err)
{
	const struct kh_ram_range *range = kh_layout_find(&vm->layout, phys);
	struct kh_symtab *symtab = NULL;
	struct kh_btf *btf = NULL;
	char banner[KH_BANNER_MAX];
	uint8_t btf_header[24];
	uint64_t len, text_va;
	struct kh_sym sym;
	uint8_t *img;
	int ret;

	len = range->gpa + range->size - phys;
	if (len > IMAGE_WINDOW)
		len = IMAGE_WINDOW;
	len &= ~(KH_PAGE - 1);
	img = calloc(1, len);
	if (!img)
		return kh_err_set(err, ENOMEM, "out of memory for the kernel image");
	ret = copy_image(vm, res, phys, img, len, err);
	if (!ret)
		ret = kh_kallsyms_decode(img, len, &symtab, &text_va, err);
	if (!ret)
		ret = btf_from_image(img, len, symtab, &btf, btf_header, err);
	if (ret)
		goto out;
	if (kh_symtab_lookup(symtab, "linux_banner", &sym) || sym.absolute ||
	    sym.value < 0 || (uint64_t)sym.value >= len) {
		ret = kh_err_set(err, ENOENT, "linux_banner not found in the guest kernel");
		goto out;
	}
	snprintf(banner, sizeof(banner), "%.*s", (int)sizeof(banner) - 1,
		 (const char *)img + sym.value);
	if (strncmp(banner, "Linux version ", 14)) {
		ret = kh_err_set(err, EPROTO, "linux_banner does not start with \"Linux version\"");
		goto out;
	}
	{
		struct kh_profile_parts parts = {
			.banner = banner, .btf_header = btf_header,
			.symtab = symtab, .btf = btf,
		};

		ret = kh_profile_new(&parts, profilep, err);
	}
	symtab = NULL;
	btf = NULL;
out:
	kh_symtab_free(symtab);
	kh_btf_free(btf);
	free(img);
	return ret;
}

static int read_sym_u64(struct kh_vm *vm, const char *name, uint64_t *val,
			struct kh_err *err)
{
	int64_t off;
	int ret;

	ret = kh_profile_sym(vm->profile, name, &off, err);
	if (ret)
		return ret;
	return kh_gpa_fetch_one(vm, vm->kernel.phys + off, val, 8, err);
}

/* Per-boot facts, each cross-checked before it is believed. */
static int place_kernel(struct kh_vm *vm, uint64_t phys, struct kh_err *err)
{
	struct kh_kernel *k = &vm->kernel;
	const struct kh_task_layout *tl = &vm->profile->task;
	int64_t init_task, pgt, l5_off;
	struct kh_xlate xlate;
	uint64_t parent;
	uint32_t l5 = 0;
	int ret;

	k->phys = phys;
	k->image_size = vm->profile->image_size;
	ret = kh_profile_sym(vm->profile, "init_task", &init_task, err);
	if (!ret)
		ret = kh_profile_sym(vm->profile, "init_top_pgt", &pgt, err);
	if (!ret)
		ret = kh_gpa_fetch_one(vm, phys + init_task + tl->real_parent,
				       &parent, 8, err);
	if (ret)
		return ret;
	k->text_va = parent - init_task;
	if (k->text_va < 0xffffffff80000000ULL || k->text_va & (KH_2M - 1))
		return kh_err_set(err, EPROTO,
				  "init_task.real_parent (0x%llx) does not point at init_task: guest kernel memory is inconsistent",
				  (unsigned long long)parent);
	k->pgd = phys + pgt;
	if (!kh_profile_sym(vm->profile, "__pgtable_l5_enabled", &l5_off, NULL))
		kh_gpa_fetch_one(vm, phys + l5_off, &l5, 4, NULL);
	k->levels = l5 ? 5 : 4;
	ret = kh_pgtable_walk(kh_gpa_pte, vm, k->pgd, k->levels, k->text_va,
			      &xlate);
	if (ret || xlate.gpa != phys)
		return kh_err_set(err, EPROTO,
				  "the guest kernel's page tables do not map _text (0x%llx) to its physical base 0x%llx",
				  (unsigned long long)k->text_va,
				  (unsigned long long)phys);

	if (read_sym_u64(vm, "page_offset_base", &k->page_offset_base, NULL))
		k->page_offset_base = k->levels == 5 ? PAGE_OFFSET_L5 :
						       PAGE_OFFSET_L4;
	read_sym_u64(vm, "vmalloc_base", &k->vmalloc_base, NULL);
	read_sym_u64(vm, "vmemmap_base", &k->vmemmap_base, NULL);
	if (k->page_offset_base < (k->levels == 5 ? 0xff00000000000000ULL :
						    0xffff800000000000ULL))
		return kh_err_set(err, EPROTO,
				  "page_offset_base 0x%llx is not a kernel address",
				  (unsigned long long)k->page_offset_base);
	/* The direct map must agree with the page tables too. */
	ret = kh_pgtable_walk(kh_gpa_pte, vm, k->pgd, k->levels,
			      k->page_offset_base + phys, &xlate);
	if (ret || xlate.gpa != phys)
		return kh_err_set(err, EPROTO,
				  "the guest's direct map at page_offset_base 0x%llx disagrees with its page tables",
				  (unsigned long long)k->page_offset_base);
	k->direct_map_size = vm->layout.range[vm->layout.nr - 1].gpa +
			     vm->layout.range[vm->layout.nr - 1].size;
	return 0;
}

int kh_kernel_locate(struct kh_vm *vm, struct kh_err *err)
{
	struct kh_profile *profile = NULL;
	struct identity_probe probe = { .vm = vm };
	struct kh_err first = { 0 };
	struct kh_residency *res;
	unsigned int nr, i;
	uint64_t *cand;
	int ret;

	ret = kh_residency_new(&vm->acc, &res, err);
	if (ret)
		return ret;
	ret = find_candidates(vm, res, &cand, &nr, err);
	if (ret) {
		kh_residency_free(res);
		return ret;
	}
	ret = -ENOENT;
	for (i = 0; i < nr && ret; i++) {
		probe.phys = cand[i];
		profile = kh_ctx_find_profile(vm->ctx, profile_matches, &probe);
		if (!profile &&
		    !kh_profile_cache_find(vm->ctx->cache_dir, identity_matches,
					   &probe, &profile, NULL))
			profile = kh_ctx_add_profile(vm->ctx, profile);
		if (!profile) {
			ret = build_profile(vm, res, cand[i], &profile,
					    first.code ? NULL : &first);
			if (ret)
				continue;
			/* A cache we cannot write only costs speed. */
			kh_profile_cache_save(profile, vm->ctx->cache_dir,
					      NULL);
			profile = kh_ctx_add_profile(vm->ctx, profile);
		}
		vm->profile = profile;
		ret = place_kernel(vm, cand[i], first.code ? NULL : &first);
		if (ret) {
			kh_profile_put(vm->profile);
			vm->profile = NULL;
		}
	}
	free(cand);
	kh_residency_free(res);
	if (ret) {
		*err = first;
		return kh_err_prefix(err, "guest kernel not usable");
	}
	return 0;
}
