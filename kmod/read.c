// SPDX-License-Identifier: GPL-2.0-only
/*
 * KEYHOLE_READ: copies of guest RAM for clients that do not map it. Each
 * page is taken from QEMU with a short-term reference (as /proc/PID/mem
 * does, so it cannot be freed while it is copied) and copied straight to
 * the caller's buffer: no bounce buffer. Never-touched anonymous memory
 * reads as the shared zero page, which allocates nothing.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include <keyhole.h>

#include "map.h"
#include "read.h"
#include "vm.h"

/* Pages taken per mmap lock hold: bounds the lock's hold time. */
#define KEYHOLE_READ_CHUNK 16
/* Entries copied in and out of the caller's array at a time (stack). */
#define KEYHOLE_READ_BATCH 16

/* Copies len bytes of QEMU's memory at hva to buf; 0 or -errno. */
static int keyhole_read_hva(struct mm_struct *mm, unsigned long hva,
			    u8 __user *buf, u32 len)
{
	struct page *pages[KEYHOLE_READ_CHUNK];
	unsigned long first = hva & PAGE_MASK;
	unsigned int offset = offset_in_page(hva);
	long got, i;
	int ret = 0;

	while (len && !ret) {
		unsigned long nr = min_t(unsigned long, KEYHOLE_READ_CHUNK,
					 DIV_ROUND_UP(offset + len, PAGE_SIZE));

		if (fatal_signal_pending(current))
			return -EINTR;
		if (mmap_read_lock_killable(mm))
			return -EINTR;
		got = get_user_pages_remote(mm, first, nr, 0, pages, NULL,
					    NULL);
		mmap_read_unlock(mm);
		if (got <= 0)
			return -EIO;
		for (i = 0; i < got; i++) {
			u32 n = min_t(u32, len, PAGE_SIZE - offset);
			void *kaddr;

			if (!ret) {
				kaddr = kmap_local_page(pages[i]);
				if (copy_to_user(buf, kaddr + offset, n))
					ret = -EFAULT;
				kunmap_local(kaddr);
				buf += n;
				len -= n;
				offset = 0;
			}
			put_page(pages[i]);
		}
		first += got * PAGE_SIZE;
		cond_resched();
	}
	return ret;
}

static int keyhole_read_entry(struct keyhole_vm *vm,
			      const struct keyhole_read_entry *entry)
{
	unsigned long hva;
	int ret;

	if (!entry->len)
		return 0;
	/* The result must be able to say how many bytes were read. */
	if (entry->len > INT_MAX)
		return -EINVAL;
	ret = keyhole_map_gpa_to_hva(vm, entry->gpa, entry->len, &hva);
	if (ret)
		return ret;
	ret = keyhole_read_hva(vm->mm, hva, u64_to_user_ptr(entry->buf),
			       entry->len);
	if (ret)
		return ret;
	atomic64_add(entry->len, &vm->bytes_read);
	return entry->len;
}

/*
 * Entries are read and their results written back KEYHOLE_READ_BATCH at
 * a time, entry_size bytes apart. nr_done and nr_failed always tell how
 * far it got: the dispatcher writes them back even when this fails.
 */
int keyhole_read_ioctl(struct keyhole_vm *vm, struct keyhole_read *arg)
{
	struct keyhole_read_entry entries[KEYHOLE_READ_BATCH];
	u8 __user *uentries = u64_to_user_ptr(arg->entries);
	const size_t result_at = offsetof(struct keyhole_read_entry, result);
	u32 i, n;
	int ret = 0;

	arg->nr_done = 0;
	arg->nr_failed = 0;
	if (arg->flags || arg->nr > KEYHOLE_READ_MAX ||
	    arg->entry_size < offsetofend(struct keyhole_read_entry, result))
		return -EINVAL;
	/* Every byte past the known ones is checked: a page at most. */
	if (arg->entry_size > PAGE_SIZE)
		return -E2BIG;
	/* mm_users for the whole batch: QEMU's pages stay while we read. */
	if (!mmget_not_zero(vm->mm))
		return -ESRCH;
	while (arg->nr_done < arg->nr && !ret) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
		n = min_t(u32, KEYHOLE_READ_BATCH, arg->nr - arg->nr_done);
		for (i = 0; i < n; i++) {
			ret = copy_struct_from_user(&entries[i],
						    sizeof(entries[i]),
						    uentries + (size_t)(arg->nr_done + i) *
						    arg->entry_size,
						    arg->entry_size);
			if (ret) {
				n = i;
				break;
			}
		}
		for (i = 0; i < n; i++) {
			int result = keyhole_read_entry(vm, &entries[i]);

			if (result == -EINTR) {
				/* Report what was read; the rest is untouched. */
				ret = -EINTR;
				break;
			}
			if (put_user(result, (s32 __user *)(uentries +
				     (size_t)(arg->nr_done) * arg->entry_size +
				     result_at))) {
				ret = -EFAULT;
				break;
			}
			arg->nr_done++;
			if (result < 0)
				arg->nr_failed++;
		}
	}
	mmput(vm->mm);
	return ret;
}
