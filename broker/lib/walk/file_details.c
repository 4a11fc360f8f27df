// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What lsof shows of an open file beyond its path (kh_file_details): the
 * access mode of its FD column, the offset or size of SIZE/OFF, the
 * devices of DEVICE and, for a socket, the family that names its TYPE
 * (IPv4, IPv6, unix). Three batches for all files, each a step along
 * file -> inode -> super_block (and sock): only lsof pays for them, not
 * the walk of open files that a crawl makes. The same steps give the
 * device column of a memory map (kh_vma_devices), which only maps pays.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "walk/toolkit.h"

#define FMODE_READ	0x1
#define FMODE_WRITE	0x2

enum {
	FILE_MODE, FILE_POS, FILE_INODE, INODE_SIZE, INODE_RDEV, INODE_SB,
	SB_DEV, SOCK_FAMILY, NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[FILE_MODE] = { "file", "f_mode" },
	[FILE_POS] = { "file", "f_pos" },
	[FILE_INODE] = { "file", "f_inode" },
	[INODE_SIZE] = { "inode", "i_size" },
	[INODE_RDEV] = { "inode", "i_rdev" },
	[INODE_SB] = { "inode", "i_sb" },
	[SB_DEV] = { "super_block", "s_dev" },
	[SOCK_FAMILY] = { "sock", "__sk_common.skc_family" },
};

/* Per file, what one step found and the next step follows. */
struct step {
	uint32_t mode;
	uint64_t inode, sb;
};

static struct kh_read at(uint64_t addr, void *buf, uint32_t len)
{
	return (struct kh_read){ .addr = addr, .buf = buf, .len = len };
}

/* One batch; failures marked with what was read. 0 or -errno. */
static int fetch(struct kh_vm *vm, struct kh_file_list *list,
		 struct kh_read *reads, unsigned int n, const char *what,
		 struct kh_err *err)
{
	int ret = kh_kva_fetch(vm, reads, n, err);

	if (ret > 0 && list)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%d reads of open files' %s failed", ret, what);
	return ret < 0 ? ret : 0;
}

static char mode_letter(uint32_t mode)
{
	switch (mode & (FMODE_READ | FMODE_WRITE)) {
	case FMODE_READ: return 'r';
	case FMODE_WRITE: return 'w';
	case FMODE_READ | FMODE_WRITE: return 'u';
	}
	return ' ';
}

int kh_file_details(struct kh_vm *vm, struct kh_file_list *list,
		    struct kh_err *err)
{
	unsigned int nr = list->nr, i, n;
	/* At most four reads a file in a batch: family and three of the inode. */
	struct kh_read *reads = calloc((size_t)nr * 4 + 1, sizeof(*reads));
	struct step *step = calloc(nr + 1, sizeof(*step));
	const uint32_t *off;
	int ret;

	if (kh_vm_need_memory(vm, err))
		ret = -EOPNOTSUPP;
	else if (!reads || !step)
		ret = kh_err_set(err, ENOMEM, "out of memory for %u files", nr);
	else
		ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (ret)
		goto out;
	for (i = n = 0; i < nr; i++) {
		struct kh_file *f = &list->files[i];

		reads[n++] = at(f->addr + off[FILE_MODE], &step[i].mode, 4);
		reads[n++] = at(f->addr + off[FILE_POS], &f->pos, 8);
		reads[n++] = at(f->addr + off[FILE_INODE], &step[i].inode, 8);
	}
	ret = fetch(vm, list, reads, n, "modes and offsets", err);
	for (i = n = 0; !ret && i < nr; i++) {
		struct kh_file *f = &list->files[i];

		f->mode = mode_letter(step[i].mode);
		if (f->sock)
			reads[n++] = at(f->sock + off[SOCK_FAMILY], &f->family,
					2);
		if (!kh_kernel_ptr_aligned(vm, step[i].inode, 8)) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"process %d fd %d: inode 0x%" PRIx64 " is not a kernel address",
				f->pid, f->fd, step[i].inode);
			continue;
		}
		reads[n++] = at(step[i].inode + off[INODE_SIZE], &f->size, 8);
		reads[n++] = at(step[i].inode + off[INODE_RDEV], &f->rdev, 4);
		reads[n++] = at(step[i].inode + off[INODE_SB], &step[i].sb, 8);
	}
	if (!ret)
		ret = fetch(vm, list, reads, n, "inodes and sockets", err);
	for (i = n = 0; !ret && i < nr; i++) {
		if (!step[i].sb)
			continue;	/* its inode was not read */
		if (!kh_kernel_ptr_aligned(vm, step[i].sb, 8)) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"process %d fd %d: super_block 0x%" PRIx64 " is not a kernel address",
				list->files[i].pid, list->files[i].fd,
				step[i].sb);
			continue;
		}
		reads[n++] = at(step[i].sb + off[SB_DEV], &list->files[i].dev,
				4);
	}
	if (!ret)
		ret = fetch(vm, list, reads, n, "file systems", err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
	list->details = !ret;
out:
	free(reads);
	free(step);
	return ret;
}

/* One step file -> inode -> super_block -> s_dev for every mapped file. */
int kh_vma_devices(struct kh_vm *vm, struct kh_vma_list *list,
		   struct kh_err *err)
{
	static const unsigned int steps[] = { FILE_INODE, INODE_SB, SB_DEV };
	unsigned int nr = list->nr, i, n, step;
	struct kh_read *reads = calloc(nr + 1, sizeof(*reads));
	uint64_t *at_ptr = calloc(nr + 1, sizeof(*at_ptr));
	const uint32_t *off;
	int ret;

	if (kh_vm_need_memory(vm, err))
		ret = -EOPNOTSUPP;
	else if (!reads || !at_ptr)
		ret = kh_err_set(err, ENOMEM, "out of memory for %u VMAs", nr);
	else
		ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	for (i = 0; !ret && i < nr; i++) {
		at_ptr[i] = list->vmas[i].file;
		list->vmas[i].dev = 0;
	}
	for (step = 0; !ret && step < 3; step++) {
		for (i = n = 0; i < nr; i++) {
			if (!at_ptr[i])
				continue;
			if (!kh_kernel_ptr_aligned(vm, at_ptr[i], 8)) {
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"VMA 0x%" PRIx64 ": 0x%" PRIx64 " on the way to its device is not a kernel address",
					list->vmas[i].start, at_ptr[i]);
				at_ptr[i] = 0;
				continue;
			}
			/* The last step reads s_dev, 4 bytes, into dev. */
			reads[n++] = step < 2 ?
				at(at_ptr[i] + off[steps[step]], &at_ptr[i], 8) :
				at(at_ptr[i] + off[SB_DEV], &list->vmas[i].dev,
				   4);
		}
		ret = fetch(vm, NULL, reads, n, "mapped files' devices", err);
		for (i = n = 0; !ret && i < nr; i++)
			if (at_ptr[i] && reads[n++].result) {
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"VMA 0x%" PRIx64 ": its file's device cannot be read",
					list->vmas[i].start);
				at_ptr[i] = 0;
			}
	}
	if (!ret)
		ret = kh_vm_verify(vm, err);
	list->devices = !ret;
	free(reads);
	free(at_ptr);
	return ret;
}
