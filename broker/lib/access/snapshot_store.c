// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest RAM from a file instead of a live QEMU: an ELF core as QEMU's
 * dump-guest-memory writes it (one PT_LOAD per RAM range, p_paddr = GPA), a
 * QEMU migration stream (qemu/migration_stream.c), or a raw image of RAM from
 * GPA 0. The same walkers then serve forensics on dumps, and the snapshot
 * techniques read their copies through the same struct kh_snap. Files are
 * mapped privately: reads are memcpy, and a caller that owns the VM (the
 * fuzzer) may patch the private copy.
 *
 * The file is untrusted like guest memory: every program header is
 * checked against the file's size, ranges must not overlap.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/snapshot_store.h"
#include "vm.h"
#include "qemu/migration_stream.h"
#include "qemu/qmp.h"

int kh_snap_add_map(struct kh_snap *snap, void *base, size_t len)
{
	if (snap->nr_maps == KH_SNAP_MAX_MAPS)
		return -E2BIG;
	snap->map[snap->nr_maps].base = base;
	snap->map[snap->nr_maps++].len = len;
	return 0;
}

int kh_snap_add_range(struct kh_snap *snap, uint64_t gpa, uint64_t size,
		      uint8_t *ptr, uint64_t offset)
{
	unsigned int i;

	if (!size)
		return 0;
	if (snap->nr == KH_LAYOUT_MAX_RANGES || gpa + size < gpa)
		return -E2BIG;
	for (i = 0; i < snap->nr; i++)
		if (gpa < snap->range[i].gpa + snap->range[i].size &&
		    snap->range[i].gpa < gpa + size)
			return -EINVAL;
	/* Kept sorted: lookups stop at the first range past gpa. */
	for (i = snap->nr; i && snap->range[i - 1].gpa > gpa; i--)
		snap->range[i] = snap->range[i - 1];
	snap->range[i] = (struct kh_snap_range){ .gpa = gpa, .size = size,
						 .ptr = ptr,
						 .offset = offset };
	snap->nr++;
	return 0;
}

static int map_file(int fd, size_t len, void **base, const char *name,
		    struct kh_err *err)
{
	/* Private and writable: the file never changes, a patcher may. */
	*base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (*base == MAP_FAILED)
		return kh_err_set(err, errno, "cannot map %s: %s", name,
				  strerror(errno));
	return 0;
}

int kh_snap_add_file(struct kh_snap *snap, int fd, uint64_t gpa,
		     uint64_t size, const char *name, struct kh_err *err)
{
	struct stat st;
	void *base;
	int ret;

	if (fstat(fd, &st))
		return kh_err_set(err, errno, "cannot stat %s: %s", name,
				  strerror(errno));
	if ((uint64_t)st.st_size < size || !size)
		return kh_err_set(err, EIO,
				  "%s holds %lld bytes, not the %llu of guest RAM at 0x%llx",
				  name, (long long)st.st_size,
				  (unsigned long long)size,
				  (unsigned long long)gpa);
	ret = map_file(fd, size, &base, name, err);
	if (ret)
		return ret;
	ret = kh_snap_add_map(snap, base, size);
	if (!ret)
		ret = kh_snap_add_range(snap, gpa, size, base, 0);
	if (ret) {
		if (snap->nr_maps && snap->map[snap->nr_maps - 1].base == base)
			snap->nr_maps--;
		munmap(base, size);
		return kh_err_set(err, -ret,
				  "%s: overlapping or too many RAM ranges",
				  name);
	}
	return 0;
}

static int parse_elf(struct kh_snap *snap, uint8_t *base, size_t size,
		     struct kh_err *err)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	unsigned int i;
	int ret;

	if (size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return kh_err_set(err, EINVAL, "not a 64-bit ELF core with valid program headers");
	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr phdr, *ph = &phdr;

		/* Copied: e_phoff comes from the file and may be unaligned. */
		memcpy(&phdr, base + eh->e_phoff + i * sizeof(phdr),
		       sizeof(phdr));
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
			return kh_err_set(err, EINVAL, "ELF segment %u lies outside the file", i);
		ret = kh_snap_add_range(snap, ph->p_paddr, ph->p_filesz,
					base + ph->p_offset, ph->p_offset);
		if (ret)
			return kh_err_set(err, -ret, "ELF segment %u: overlapping or too many RAM ranges", i);
	}
	if (!snap->nr)
		return kh_err_set(err, EINVAL, "the ELF file has no PT_LOAD segments with guest RAM");
	return 0;
}

int kh_snap_load(struct kh_snap *snap, int fd, const char *name,
		 const struct kh_layout *live, struct kh_err *err)
{
	char magic[SELFMAG] = { 0 };
	struct stat st;
	void *base;
	int ret;

	memset(snap, 0, sizeof(*snap));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 4096)
		return kh_err_set(err, EINVAL, "%s is not a memory image (a regular file of at least 4 KiB)",
				  name);
	if (pread(fd, magic, sizeof(magic), 0) != sizeof(magic))
		return kh_err_set(err, EIO, "cannot read %s", name);
	if (!memcmp(magic, KH_MIGSTREAM_MAGIC, 4)) {
		ret = kh_migstream_load(snap, fd, name, live, err);
		goto out;
	}
	ret = map_file(fd, st.st_size, &base, name, err);
	if (ret)
		return ret;
	kh_snap_add_map(snap, base, st.st_size);
	if (!memcmp(magic, ELFMAG, SELFMAG)) {
		snap->format = "elf";
		ret = parse_elf(snap, base, st.st_size, err);
		if (ret)
			kh_err_prefix(err, "%s", name);
	} else {
		snap->format = "raw";
		ret = kh_snap_add_range(snap, 0, st.st_size & ~4095ULL, base,
					0);
	}
out:
	if (ret)
		kh_snap_free(snap);
	return ret;
}

uint8_t *kh_snap_ptr(const struct kh_snap *snap, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	/* No copy (a new snapshot failed): nothing can be read. */
	if (!snap)
		return NULL;
	for (i = 0; i < snap->nr && snap->range[i].gpa <= gpa; i++) {
		const struct kh_snap_range *r = &snap->range[i];

		if (gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->ptr + (gpa - r->gpa);
	}
	return NULL;
}

int kh_snap_access_read(struct kh_access *acc, struct kh_read *reads,
			unsigned int nr)
{
	return kh_snap_read(acc, acc->priv, reads, nr);
}

const void *kh_snap_access_map(struct kh_access *acc, uint64_t gpa,
			       uint64_t len)
{
	return kh_snap_ptr(acc->priv, gpa, len);
}

int kh_snap_take_end(struct kh_access *acc, struct kh_snap *snap,
		     uint64_t start, int ret, const char *what,
		     struct kh_err *err)
{
	if (ret) {
		if (kh_access_exited_after(acc, ret))
			ret = kh_err_set(err, ESRCH,
					 "QEMU pid %d exited during %s",
					 (int)acc->pid, what);
		kh_snap_free(snap);
		free(snap);
		return ret;
	}
	acc->priv = snap;
	atomic_fetch_add(&acc->snapshot_ns, kh_access_now_ns() - start);
	return 0;
}

int kh_snap_probe_space(struct kh_access *acc, const char *what,
			struct kh_err *err)
{
	const char *dir = kh_access_tmpdir(acc);
	uint64_t need = kh_layout_ram_size(acc->layout);
	struct kh_qmp *qmp;
	int ret;

	if (kh_access_tmp_free(dir) < need)
		return kh_err_set(err, ENOSPC,
				  "%s needs %" PRIu64 " MiB free in %s for a copy of guest RAM: set KEYHOLE_TMPDIR to a directory with room",
				  what, need >> 20, dir);
	ret = kh_access_qmp(acc, 3000, &qmp, err);
	kh_qmp_close(qmp);
	return ret;
}

int kh_snap_read(struct kh_access *acc, const struct kh_snap *snap,
		 struct kh_read *reads, unsigned int nr)
{
	uint64_t bytes = 0;
	unsigned int i, failed = 0;

	for (i = 0; i < nr; i++) {
		const uint8_t *src = kh_snap_ptr(snap, reads[i].addr,
						 reads[i].len);

		reads[i].result = src ? 0 : -EFAULT;
		if (src) {
			memcpy(reads[i].buf, src, reads[i].len);
			bytes += reads[i].len;
		} else {
			failed++;
		}
	}
	kh_access_count(&acc->elems, nr);
	kh_access_count(&acc->bytes, bytes);
	return failed;
}

void kh_snap_free(struct kh_snap *snap)
{
	unsigned int i;

	for (i = 0; i < snap->nr_maps; i++)
		munmap(snap->map[i].base, snap->map[i].len);
	snap->nr_maps = 0;
	snap->nr = 0;
}

/* ---- an image file given as the VM ---- */

int kh_image_open(const char *path, struct kh_layout *layout,
		  struct kh_access *acc, struct kh_err *err)
{
	struct kh_snap *snap;
	unsigned int i;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kh_err_set(err, errno, "cannot open %s: %s", path,
				  strerror(errno));
	snap = malloc(sizeof(*snap));
	if (!snap) {
		close(fd);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	ret = kh_snap_load(snap, fd, path, NULL, err);
	close(fd);
	if (ret) {
		free(snap);
		return ret;
	}
	memset(layout, 0, sizeof(*layout));
	layout->source = snap->format;
	for (i = 0; i < snap->nr; i++)
		/* For an image, "hva" is the offset of the range in the file. */
		layout->range[layout->nr++] = (struct kh_ram_range){
			.gpa = snap->range[i].gpa,
			.size = snap->range[i].size,
			.hva = snap->range[i].offset };
	acc->ops = &kh_access_image;
	acc->layout = layout;
	acc->priv = snap;
	acc->pid = 0;
	acc->pidfd = -1;
	acc->pagemap_fd = -1;
	return 0;
}

uint8_t *kh_image_ptr(struct kh_access *acc, uint64_t gpa, uint64_t len)
{
	return kh_snap_ptr(acc->priv, gpa, len);
}

static int image_open(struct kh_access *acc, struct kh_err *err)
{
	return acc->priv ? 0 : kh_err_set(err, EINVAL, "no image");
}

static int image_read(struct kh_access *acc, struct kh_read *reads,
		      unsigned int nr)
{
	return kh_snap_read(acc, acc->priv, reads, nr);
}

static const void *image_map(struct kh_access *acc, uint64_t gpa,
			     uint64_t len)
{
	return kh_snap_ptr(acc->priv, gpa, len);
}

static void image_close(struct kh_access *acc)
{
	struct kh_snap *snap = acc->priv;

	if (snap) {
		kh_snap_free(snap);
		free(snap);
	}
	acc->priv = NULL;
}

const struct kh_access_ops kh_access_image = {
	.name = "image",
	.klass = "II",
	.props = KH_TECHNIQUE_SNAPSHOT | KH_TECHNIQUE_MAPPED,
	.description = "a RAM image file: ELF core (dump-guest-memory), QEMU migration stream, or raw",
	.open = image_open,
	.read = image_read,
	.map = image_map,
	.close = image_close,
};

/* A fresh copy of guest RAM, for the copying techniques. */
int kh_vm_snapshot(struct kh_vm *vm, struct kh_err *err)
{
	const struct kh_access_ops *ops = vm->acc.ops;

	if (!ops->snapshot_take)
		return kh_err_set(err, EOPNOTSUPP,
				  "technique %s takes no snapshots", ops->name);
	/* A failed take leaves no copy: reads fail until the next one. */
	return ops->snapshot_take(&vm->acc, err);
}
