// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest RAM from a file instead of a live QEMU: an ELF core as QEMU's
 * dump-guest-memory writes it (one PT_LOAD per RAM range, p_paddr = GPA),
 * or a raw image of RAM from GPA 0. The same walkers then serve forensics
 * on dumps. The file is mapped privately: reads are memcpy, and a caller
 * that owns the VM (the fuzzer) may patch the private copy.
 *
 * The file is untrusted like guest memory: every program header is
 * checked against the file's size, ranges must not overlap.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access_image.h"

struct image {
	uint8_t *base;
	size_t size;
};

static int add_range(struct kh_layout *layout, uint64_t gpa, uint64_t size,
		     uint64_t offset)
{
	unsigned int i;

	if (!size)
		return 0;
	if (layout->nr == KH_LAYOUT_MAX_RANGES || gpa + size < gpa)
		return -E2BIG;
	for (i = 0; i < layout->nr; i++)
		if (gpa < layout->range[i].gpa + layout->range[i].size &&
		    layout->range[i].gpa < gpa + size)
			return -EINVAL;
	/* For an image, "hva" is the offset of the range in the file. */
	layout->range[layout->nr++] = (struct kh_ram_range){
		.gpa = gpa, .size = size, .hva = offset };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct kh_ram_range *x = a, *y = b;

	return (x->gpa > y->gpa) - (x->gpa < y->gpa);
}

static int parse_elf(const uint8_t *base, size_t size,
		     struct kh_layout *layout, struct kh_err *err)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	unsigned int i;
	int ret;

	if (size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return kh_err_set(err, EINVAL, "not a 64-bit ELF core with valid program headers");
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff) + i;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
			return kh_err_set(err, EINVAL, "ELF segment %u lies outside the file", i);
		ret = add_range(layout, ph->p_paddr, ph->p_filesz,
				ph->p_offset);
		if (ret)
			return kh_err_set(err, -ret, "ELF segment %u: overlapping or too many RAM ranges", i);
	}
	if (!layout->nr)
		return kh_err_set(err, EINVAL, "the ELF file has no PT_LOAD segments with guest RAM");
	qsort(layout->range, layout->nr, sizeof(layout->range[0]), cmp_range);
	return 0;
}

int kh_image_open(const char *path, struct kh_layout *layout,
		  struct kh_access *acc, struct kh_err *err)
{
	struct image *img;
	struct stat st;
	void *base;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kh_err_set(err, errno, "cannot open %s: %s", path,
				  strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 4096) {
		close(fd);
		return kh_err_set(err, EINVAL, "%s is not a memory image", path);
	}
	/* Private and writable: the file never changes, a patcher may. */
	base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		    0);
	close(fd);
	if (base == MAP_FAILED)
		return kh_err_set(err, errno, "cannot map %s: %s", path,
				  strerror(errno));
	memset(layout, 0, sizeof(*layout));
	if (!memcmp(base, ELFMAG, SELFMAG)) {
		ret = parse_elf(base, st.st_size, layout, err);
		layout->source = "elf";
	} else {
		ret = add_range(layout, 0, st.st_size & ~4095ULL, 0);
		layout->source = "raw";
	}
	img = ret ? NULL : malloc(sizeof(*img));
	if (!img) {
		munmap(base, st.st_size);
		return ret ? kh_err_prefix(err, "%s", path) :
			     kh_err_set(err, ENOMEM, "out of memory");
	}
	img->base = base;
	img->size = st.st_size;
	acc->ops = &kh_access_image;
	acc->layout = layout;
	acc->priv = img;
	acc->pid = 0;
	acc->pidfd = -1;
	acc->pagemap_fd = -1;
	return 0;
}

uint8_t *kh_image_ptr(struct kh_access *acc, uint64_t gpa, uint64_t len)
{
	const struct kh_ram_range *r = kh_layout_find(acc->layout, gpa);
	struct image *img = acc->priv;

	if (!r || len > r->gpa + r->size - gpa)
		return NULL;
	return img->base + r->hva + (gpa - r->gpa);
}

static int image_open(struct kh_access *acc, struct kh_err *err)
{
	return acc->priv ? 0 : kh_err_set(err, EINVAL, "no image");
}

static int image_read(struct kh_access *acc, struct kh_read *reads,
		      unsigned int nr)
{
	uint64_t bytes = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		const uint8_t *src = kh_image_ptr(acc, reads[i].addr,
						  reads[i].len);

		reads[i].result = src ? 0 : -EFAULT;
		if (src) {
			memcpy(reads[i].buf, src, reads[i].len);
			bytes += reads[i].len;
		}
	}
	atomic_fetch_add_explicit(&acc->elems, nr, memory_order_relaxed);
	atomic_fetch_add_explicit(&acc->bytes, bytes, memory_order_relaxed);
	return 0;
}

static void image_close(struct kh_access *acc)
{
	struct image *img = acc->priv;

	if (img) {
		munmap(img->base, img->size);
		free(img);
	}
	acc->priv = NULL;
}

const struct kh_access_ops kh_access_image = {
	.name = "image",
	.klass = "II",
	.props = KH_TECHNIQUE_SNAPSHOT | KH_TECHNIQUE_MAPPED,
	.description = "a RAM image file: ELF core (dump-guest-memory) or raw",
	.open = image_open,
	.read = image_read,
	.close = image_close,
};
