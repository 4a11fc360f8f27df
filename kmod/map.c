// SPDX-License-Identifier: GPL-2.0-only
/*
 * The coherent read-only mirror of guest RAM.
 *
 * A session's ranges say where each span of guest-physical addresses lives
 * in QEMU. The per-VM fd is mapped at offset = GPA; a fault looks the page
 * up in QEMU's page tables with hmm_range_fault() and inserts its pfn
 * without taking a reference (Documentation/mm/hmm.rst, the mirror
 * pattern). Coherence comes from an mmu_interval_notifier per range:
 * before QEMU's page table changes for any reason (munmap, madvise, THP
 * split or collapse, KSM, migration, swap-out), the notifier zaps every
 * client mapping of those GPAs through the session's own address_space,
 * and the next access faults again. A fault that raced with such a change
 * sees the notifier's sequence move and retries, under the same mutex the
 * notifier takes, so a stale pfn can never be inserted.
 */

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/hmm.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include <keyhole.h>

#include "fault.h"
#include "map.h"
#include "memslots.h"
#include "netlink.h"
#include "vm.h"

#define KEYHOLE_FS_MAGIC 0x6b686f6c	/* "khol" */

/* Faults that lose this many races to invalidations let the CPU retry. */
#define KEYHOLE_FAULT_TRIES 16

struct keyhole_map;

/* One range and the notifier that watches QEMU's side of it. */
struct keyhole_mirror {
	struct mmu_interval_notifier notifier;
	struct keyhole_map *map;
	struct keyhole_range range;
};

/* An immutable set of ranges, sorted by GPA; replaced as a whole. */
struct keyhole_ranges {
	u32 nr;
	u32 nr_inserted;	/* notifiers to remove */
	u64 ram_bytes;
	struct keyhole_mirror mirrors[];
};

struct keyhole_map {
	struct keyhole_vm *vm;
	/* Of the current ranges, for readers that must not wait (netlink). */
	u32 nr_ranges;
	u64 ram_bytes;
	/* The session's own inode: its i_mapping reaches every client VMA. */
	struct inode *inode;
	/* Held for read across a fault or lookup, for write to replace. */
	struct rw_semaphore ranges_sem;
	struct keyhole_ranges *ranges;
	/*
	 * Orders pfn insertion against invalidation. Taken inside QEMU's
	 * mmap lock by the notifier: never take that lock while holding
	 * this, and never allocate with reclaim under it.
	 */
	struct mutex notifier_lock;
};

static struct vfsmount *keyhole_mnt;

static int keyhole_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, KEYHOLE_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: the module's own mount lives from init to exit and would pin
 * the module forever. Every file on it holds the module through its fops.
 */
static struct file_system_type keyhole_fs_type = {
	.name = "keyhole",
	.init_fs_context = keyhole_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

int keyhole_map_init(void)
{
	keyhole_mnt = kern_mount(&keyhole_fs_type);
	return PTR_ERR_OR_ZERO(keyhole_mnt);
}

void keyhole_map_exit(void)
{
	kern_unmount(keyhole_mnt);
}

static struct keyhole_mirror *keyhole_ranges_find(struct keyhole_ranges *set,
						  u64 gpa, u64 len)
{
	struct keyhole_mirror *m;
	u32 lo = 0, hi;

	if (!set || !set->nr)
		return NULL;
	/* The last range that starts at or below gpa. */
	hi = set->nr;
	while (hi - lo > 1) {
		u32 mid = lo + (hi - lo) / 2;

		if (set->mirrors[mid].range.gpa <= gpa)
			lo = mid;
		else
			hi = mid;
	}
	m = &set->mirrors[lo];
	if (gpa < m->range.gpa || gpa - m->range.gpa >= m->range.len ||
	    len > m->range.len - (gpa - m->range.gpa))
		return NULL;
	return m;
}

static void keyhole_ranges_free(struct keyhole_ranges *set)
{
	u32 i;

	if (!set)
		return;
	/* Waits for a running invalidation of each range to finish. */
	for (i = 0; i < set->nr_inserted; i++)
		mmu_interval_notifier_remove(&set->mirrors[i].notifier);
	kvfree(set);
}

static const struct vm_operations_struct keyhole_map_vm_ops;

static bool keyhole_vma_is_mirror(const struct vm_area_struct *vma)
{
	return vma && vma->vm_ops == &keyhole_map_vm_ops;
}

/*
 * An invalidation of nothing but a keyhole mirror. Not just one whose
 * first VMA is a mirror: munmap() of a mirror and the RAM after it in one
 * call is one invalidation whose vma is the mirror.
 */
static bool keyhole_range_is_mirror(const struct mmu_notifier_range *range)
{
	return keyhole_vma_is_mirror(range->vma) &&
	       range->start >= range->vma->vm_start &&
	       range->end <= range->vma->vm_end;
}

/*
 * memfd_secret() memory must never be readable through keyhole, as GUP
 * refuses it; vma_is_secretmem() is not exported, so it is known by its
 * filesystem.
 */
static bool keyhole_vma_is_secretmem(const struct vm_area_struct *vma)
{
	return vma->vm_file &&
	       file_inode(vma->vm_file)->i_sb->s_magic == SECRETMEM_MAGIC;
}

static bool keyhole_mirror_invalidate(struct mmu_interval_notifier *mni,
				      const struct mmu_notifier_range *range,
				      unsigned long cur_seq)
{
	struct keyhole_mirror *m = container_of(mni, struct keyhole_mirror,
						notifier);
	struct keyhole_map *map = m->map;
	unsigned long start, end;

	/* The OOM reaper cannot wait for us; it will skip this mm. */
	if (!mmu_notifier_range_blockable(range))
		return false;
	/*
	 * A keyhole mirror mapped inside QEMU's range is being zapped: it
	 * never was guest RAM we mirror (a fault there fails), and the zap
	 * may come from a mirror invalidation, ours (QEMU mapped its own
	 * mirror) or another session's that ours triggers in turn. Taking
	 * notifier_lock here would deadlock or recurse without end.
	 */
	if (keyhole_range_is_mirror(range))
		return true;

	start = max_t(unsigned long, range->start, m->range.hva);
	end = min_t(unsigned long, range->end, m->range.hva + m->range.len);

	mutex_lock(&map->notifier_lock);
	mmu_interval_set_seq(mni, cur_seq);
	if (start < end)
		unmap_mapping_range(map->inode->i_mapping,
				    m->range.gpa + (start - m->range.hva),
				    end - start, 1);
	mutex_unlock(&map->notifier_lock);
	atomic64_inc(&map->vm->invalidations);
	return true;
}

static const struct mmu_interval_notifier_ops keyhole_mirror_ops = {
	.invalidate = keyhole_mirror_invalidate,
};

/*
 * Take QEMU's mmap lock from a client's fault without waiting for it while
 * the client's own mmap lock is held: two processes mirroring each other
 * would otherwise deadlock against pending writers. Returns 0 with the
 * lock held, or the fault code to return (VM_FAULT_RETRY after dropping
 * the client's lock and waiting for QEMU's).
 */
static vm_fault_t keyhole_lock_target(struct vm_fault *vmf,
				      struct mm_struct *mm)
{
	if (mmap_read_trylock(mm))
		return 0;
	if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY)) {
		if (mmap_read_lock_killable(mm))
			return VM_FAULT_SIGBUS;
		return 0;
	}
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;
	mmap_read_unlock(vmf->vma->vm_mm);
	if (!mmap_read_lock_killable(mm))
		mmap_read_unlock(mm);
	return VM_FAULT_RETRY;
}

static vm_fault_t keyhole_mirror_fault(struct vm_fault *vmf,
				       struct keyhole_mirror *m,
				       struct mm_struct *mm, unsigned long hva)
{
	struct keyhole_map *map = m->map;
	struct vm_area_struct *target_vma;
	unsigned long hmm_pfn;
	unsigned int flags;
	vm_fault_t ret;
	int tries, err;

	for (tries = 0; tries < KEYHOLE_FAULT_TRIES; tries++) {
		/*
		 * Read access only: a hole in anonymous memory gets the
		 * shared zero page, allocating nothing, and a later write by
		 * the guest replaces it through an invalidation.
		 */
		struct hmm_range range = {
			.notifier = &m->notifier,
			.start = hva,
			.end = hva + PAGE_SIZE,
			.hmm_pfns = &hmm_pfn,
			.default_flags = HMM_PFN_REQ_FAULT,
		};

		range.notifier_seq = mmu_interval_read_begin(&m->notifier);
		ret = keyhole_lock_target(vmf, mm);
		if (ret)
			return ret;
		/* hmm_range_fault() does not refuse secret memory; we do. */
		target_vma = vma_lookup(mm, hva);
		if (!target_vma || keyhole_vma_is_secretmem(target_vma)) {
			mmap_read_unlock(mm);
			return VM_FAULT_SIGBUS;
		}
		err = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (err == -EBUSY)
			continue;
		if (err == -ENOMEM)
			return VM_FAULT_OOM;
		/* No readable mapping in QEMU there any more. */
		if (err || (hmm_pfn & HMM_PFN_ERROR))
			return VM_FAULT_SIGBUS;

		mutex_lock(&map->notifier_lock);
		if (mmu_interval_read_retry(&m->notifier, range.notifier_seq)) {
			mutex_unlock(&map->notifier_lock);
			continue;
		}
		/*
		 * A page table page for the client may be allocated here;
		 * reclaim from it could invalidate QEMU's pages and need
		 * notifier_lock, so it must not reclaim.
		 */
		flags = memalloc_noreclaim_save();
		ret = vmf_insert_pfn(vmf->vma, vmf->address & PAGE_MASK,
				     page_to_pfn(hmm_pfn_to_page(hmm_pfn)));
		memalloc_noreclaim_restore(flags);
		mutex_unlock(&map->notifier_lock);
		if (ret == VM_FAULT_NOPAGE)
			atomic64_inc(&map->vm->faults);
		return ret;
	}
	/* QEMU's memory keeps changing: let the access fault again. */
	return VM_FAULT_NOPAGE;
}

static vm_fault_t keyhole_map_fault(struct vm_fault *vmf)
{
	/*
	 * The fault may drop the client's mmap lock (VM_FAULT_RETRY), after
	 * which the VMA, and with it the last reference to the file and the
	 * session, could go: hold the file until the fault is done.
	 */
	struct file *file = get_file(vmf->vma->vm_file);
	struct keyhole_vm *vm = file->private_data;
	struct keyhole_map *map = vm->map;
	u64 gpa = (u64)vmf->pgoff << PAGE_SHIFT;
	struct mm_struct *mm = vm->mm;
	struct keyhole_mirror *m;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	unsigned long hva;

	if (keyhole_vm_exited(vm))
		goto out;
	down_read(&map->ranges_sem);
	m = keyhole_ranges_find(map->ranges, gpa, PAGE_SIZE);
	/* mm_users: hmm_range_fault() must not run on a dying mm. */
	if (m && mmget_not_zero(mm)) {
		hva = m->range.hva + (gpa - m->range.gpa);
		ret = keyhole_mirror_fault(vmf, m, mm, hva);
		mmput(mm);
	}
	up_read(&map->ranges_sem);
out:
	fput(file);
	return ret;
}

static const struct vm_operations_struct keyhole_map_vm_ops = {
	.fault = keyhole_map_fault,
};

int keyhole_map_mmap(struct keyhole_vm *vm, struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_WRITE | VM_EXEC))
		return -EACCES;
	/*
	 * Never into QEMU's own address space: a mirror inside the ranges it
	 * mirrors would invalidate itself, and it can read its own memory.
	 */
	if (vma->vm_mm == vm->mm)
		return -EINVAL;
	/*
	 * A private mapping would be a COW mapping of pfns: meaningless.
	 * VM_MAYSHARE: mmap() drops VM_SHARED for a read-only file.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (keyhole_vm_exited(vm))
		return -ESRCH;
	/* mprotect() can never make it writable or executable. */
	vma->vm_flags &= ~(VM_MAYWRITE | VM_MAYEXEC);
	/*
	 * Not inherited on fork: a child would outlive nothing useful.
	 * VM_IO keeps it so: madvise(MADV_DOFORK) refuses VM_IO mappings.
	 */
	vma->vm_flags |= VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP |
			 VM_DONTCOPY;
	vma->vm_ops = &keyhole_map_vm_ops;
	return 0;
}

int keyhole_map_create(struct keyhole_vm *vm)
{
	struct keyhole_map *map;
	int ret;

	map = keyhole_fail_or(kzalloc(sizeof(*map), GFP_KERNEL));
	if (!map)
		return -ENOMEM;
	map->vm = vm;
	init_rwsem(&map->ranges_sem);
	mutex_init(&map->notifier_lock);
	map->inode = keyhole_fail() ? ERR_PTR(-ENOMEM) :
		     alloc_anon_inode(keyhole_mnt->mnt_sb);
	if (IS_ERR(map->inode)) {
		ret = PTR_ERR(map->inode);
		kfree(map);
		return ret;
	}
	vm->map = map;
	return 0;
}

struct file *keyhole_map_file(struct keyhole_vm *vm,
			      const struct file_operations *fops)
{
	struct inode *inode = vm->map->inode;
	struct file *file;

	/* The file's dentry takes this reference; the map keeps its own. */
	ihold(inode);
	file = keyhole_fail() ? ERR_PTR(-ENOMEM) :
	       alloc_file_pseudo(inode, keyhole_mnt, "keyhole-vm", O_RDONLY,
				 fops);
	if (IS_ERR(file)) {
		iput(inode);
		return file;
	}
	/* alloc_file_pseudo() does not take the fops' module, __fput drops it. */
	__module_get(fops->owner);
	file->f_mapping = inode->i_mapping;
	file->private_data = vm;
	return file;
}

void keyhole_map_release(struct keyhole_vm *vm)
{
	struct keyhole_map *map = vm->map;
	struct keyhole_ranges *old;

	down_write(&map->ranges_sem);
	old = map->ranges;
	map->ranges = NULL;
	WRITE_ONCE(map->nr_ranges, 0);
	WRITE_ONCE(map->ram_bytes, 0);
	up_write(&map->ranges_sem);
	keyhole_ranges_free(old);
}

void keyhole_map_destroy(struct keyhole_vm *vm)
{
	struct keyhole_map *map = vm->map;

	if (!map)
		return;
	keyhole_ranges_free(map->ranges);
	iput(map->inode);
	kfree(map);
	vm->map = NULL;
}

void keyhole_map_zap_all(struct keyhole_vm *vm)
{
	unmap_mapping_range(vm->map->inode->i_mapping, 0, 0, 1);
}

/*
 * Without ranges_sem: a fault can hold it while it waits for QEMU's mmap
 * lock, and netlink asks under the global session lock. The two values
 * may come from two different SET_RANGES.
 */
void keyhole_map_info(struct keyhole_vm *vm, u32 *nr_ranges, u64 *ram_bytes)
{
	struct keyhole_map *map = vm->map;

	*nr_ranges = READ_ONCE(map->nr_ranges);
	*ram_bytes = READ_ONCE(map->ram_bytes);
}

int keyhole_map_gpa_to_hva(struct keyhole_vm *vm, u64 gpa, u64 len,
			   unsigned long *hva)
{
	struct keyhole_map *map = vm->map;
	struct keyhole_mirror *m;
	int ret = -ENXIO;

	down_read(&map->ranges_sem);
	m = keyhole_ranges_find(map->ranges, gpa, len ?: 1);
	if (m) {
		*hva = m->range.hva + (gpa - m->range.gpa);
		ret = 0;
	}
	up_read(&map->ranges_sem);
	return ret;
}

static int keyhole_range_cmp(const void *a, const void *b)
{
	const struct keyhole_range *ra = a, *rb = b;

	if (ra->gpa != rb->gpa)
		return ra->gpa < rb->gpa ? -1 : 1;
	return 0;
}

/* Shape only: aligned, non-empty, no wrap, user addresses, no overlap. */
static int keyhole_ranges_validate(struct keyhole_range *ranges, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++) {
		struct keyhole_range *r = &ranges[i];

		if (!r->len || !PAGE_ALIGNED(r->gpa) || !PAGE_ALIGNED(r->hva) ||
		    !PAGE_ALIGNED(r->len))
			return -EINVAL;
		if (r->gpa + r->len < r->gpa || r->hva + r->len < r->hva ||
		    r->hva + r->len > TASK_SIZE_MAX)
			return -EINVAL;
	}
	sort(ranges, nr, sizeof(*ranges), keyhole_range_cmp, NULL);
	for (i = 1; i < nr; i++)
		if (ranges[i - 1].gpa + ranges[i - 1].len > ranges[i].gpa)
			return -EINVAL;
	return 0;
}

/*
 * Every byte of every range must be in a readable, ordinary mapping of
 * QEMU's: hmm_range_fault() refuses VM_IO and VM_PFNMAP (so a keyhole
 * mirror, too), the mirror must not promise what a fault cannot give, and
 * secret memory is nobody's to read.
 */
static int keyhole_ranges_check_vmas(struct mm_struct *mm,
				     const struct keyhole_range *ranges,
				     u32 nr)
{
	struct vm_area_struct *vma;
	int ret = 0;
	u32 i;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	for (i = 0; i < nr && !ret; i++) {
		unsigned long addr = ranges[i].hva;
		unsigned long end = ranges[i].hva + ranges[i].len;

		/* Each step moves past one VMA: bounded by their count. */
		while (addr < end) {
			vma = find_vma(mm, addr);
			if (!vma || vma->vm_start > addr ||
			    !(vma->vm_flags & VM_READ) ||
			    (vma->vm_flags & (VM_IO | VM_PFNMAP)) ||
			    keyhole_vma_is_secretmem(vma)) {
				ret = -ENXIO;
				break;
			}
			addr = vma->vm_end;
		}
	}
	mmap_read_unlock(mm);
	return ret;
}

static struct keyhole_ranges *keyhole_ranges_build(struct keyhole_map *map,
						   struct mm_struct *mm,
						   const struct keyhole_range *r,
						   u32 nr)
{
	struct keyhole_ranges *set;
	int ret;
	u32 i;

	set = keyhole_fail_or(kvzalloc(struct_size(set, mirrors, nr),
				       GFP_KERNEL_ACCOUNT));
	if (!set)
		return ERR_PTR(-ENOMEM);
	set->nr = nr;
	for (i = 0; i < nr; i++) {
		struct keyhole_mirror *m = &set->mirrors[i];

		m->map = map;
		m->range = r[i];
		set->ram_bytes += r[i].len;
		ret = keyhole_fail() ? -ENOMEM :
		      mmu_interval_notifier_insert(&m->notifier, mm, r[i].hva,
						   r[i].len,
						   &keyhole_mirror_ops);
		if (ret) {
			keyhole_ranges_free(set);
			return ERR_PTR(ret);
		}
		set->nr_inserted++;
	}
	return set;
}

/*
 * The caller's nr ranges, range_size bytes apart: each one read as an
 * extensible struct (a newer caller's unknown tail must be zero).
 */
static int keyhole_ranges_copy_in(struct keyhole_range *ranges, u32 nr,
				  const struct keyhole_set_ranges *arg)
{
	const u8 __user *uranges = u64_to_user_ptr(arg->ranges);
	u32 i;
	int ret;

	for (i = 0; i < nr; i++) {
		ret = copy_struct_from_user(&ranges[i], sizeof(*ranges),
					    uranges + (size_t)i * arg->range_size,
					    arg->range_size);
		if (ret)
			return ret;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/* What the module used, written as the caller's version of the struct. */
static int keyhole_ranges_copy_out(const struct keyhole_range *ranges, u32 nr,
				   const struct keyhole_set_ranges *arg)
{
	u8 __user *uranges = u64_to_user_ptr(arg->ranges);
	size_t known = min_t(size_t, arg->range_size, sizeof(*ranges));
	u32 i;

	for (i = 0; i < nr; i++) {
		u8 __user *dst = uranges + (size_t)i * arg->range_size;

		if (copy_to_user(dst, &ranges[i], known) ||
		    clear_user(dst + known, arg->range_size - known))
			return -EFAULT;
		cond_resched();
	}
	return 0;
}

/* The ranges the caller passed, or KVM's, in a new array of *nr. */
static struct keyhole_range *keyhole_ranges_get(struct keyhole_vm *vm,
						struct keyhole_set_ranges *arg,
						u32 *nr)
{
	struct keyhole_range *ranges;
	int ret;

	if (arg->range_size < offsetofend(struct keyhole_range, len))
		return ERR_PTR(-EINVAL);
	/* Every byte past the known ones is checked: a page at most. */
	if (arg->range_size > PAGE_SIZE)
		return ERR_PTR(-E2BIG);
	if (!(arg->flags & KEYHOLE_RANGES_FROM_KVM)) {
		if (arg->nr_ranges > KEYHOLE_RANGES_MAX)
			return ERR_PTR(-EINVAL);
		*nr = arg->nr_ranges;
		if (!*nr)
			return NULL;
		ranges = keyhole_fail_or(kvcalloc(*nr, sizeof(*ranges),
						  GFP_KERNEL_ACCOUNT));
		if (!ranges)
			return ERR_PTR(-ENOMEM);
		ret = keyhole_ranges_copy_in(ranges, *nr, arg);
		if (ret) {
			kvfree(ranges);
			return ERR_PTR(ret);
		}
		return ranges;
	}
	ranges = keyhole_fail_or(kvcalloc(KEYHOLE_RANGES_MAX, sizeof(*ranges),
					  GFP_KERNEL_ACCOUNT));
	if (!ranges)
		return ERR_PTR(-ENOMEM);
	ret = keyhole_memslots_get(vm, ranges, KEYHOLE_RANGES_MAX, nr);
	if (!ret && *nr > KEYHOLE_RANGES_MAX)
		ret = -EOVERFLOW;
	if (!ret && *nr > arg->nr_ranges) {
		arg->nr_ranges = *nr;
		ret = -ENOSPC;
	}
	if (!ret)
		ret = keyhole_ranges_copy_out(ranges, *nr, arg);
	if (ret) {
		kvfree(ranges);
		return ERR_PTR(ret);
	}
	arg->nr_ranges = *nr;
	return ranges;
}

int keyhole_map_set_ranges(struct keyhole_vm *vm,
			   struct keyhole_set_ranges *arg)
{
	struct keyhole_map *map = vm->map;
	struct keyhole_ranges *set, *old;
	struct keyhole_range *ranges;
	u32 nr = 0;
	int ret;

	if (arg->flags & ~KEYHOLE_RANGES_FROM_KVM)
		return -EINVAL;
	ranges = keyhole_ranges_get(vm, arg, &nr);
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);
	ret = keyhole_ranges_validate(ranges, nr);
	if (ret)
		goto out;
	/* Notifiers may only be inserted on a live mm. */
	if (!mmget_not_zero(vm->mm)) {
		ret = -ESRCH;
		goto out;
	}
	ret = keyhole_ranges_check_vmas(vm->mm, ranges, nr);
	set = ret ? NULL : keyhole_ranges_build(map, vm->mm, ranges, nr);
	mmput(vm->mm);
	if (ret)
		goto out;
	if (IS_ERR(set)) {
		ret = PTR_ERR(set);
		goto out;
	}

	down_write(&map->ranges_sem);
	old = map->ranges;
	map->ranges = set;
	WRITE_ONCE(map->nr_ranges, set ? set->nr : 0);
	WRITE_ONCE(map->ram_bytes, set ? set->ram_bytes : 0);
	/* No fault is running: nothing maps through the old ranges after. */
	unmap_mapping_range(map->inode->i_mapping, 0, 0, 1);
	up_write(&map->ranges_sem);
	keyhole_ranges_free(old);
	keyhole_netlink_layout_changed(vm);
out:
	kvfree(ranges);
	return ret;
}
