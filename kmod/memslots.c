// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's KVM memslots as guest RAM ranges, and its vCPU threads. The KVM
 * VM is found as a file in QEMU's fd table ("kvm-vm", confirmed by
 * kvm.ko's file_is_kvm(), looked up at run time) and held by that file, so
 * keyhole.ko links against nothing in kvm.ko; struct kvm's layout comes
 * from the same kernel build's headers. Memslots are exact (they are what
 * the vCPUs use) and follow memory hot-plug; vCPU threads are exact
 * whatever QEMU named them.
 */

#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sched/task.h>
#include <linux/sort.h>

#include <keyhole.h>

#include "fault.h"
#include "memslots.h"
#include "vm.h"

/* What kvm_dev_ioctl_create_vm() names the file (virt/kvm/kvm_main.c). */
#define KEYHOLE_KVM_VM_NAME "kvm-vm"

static bool keyhole_is_kvm_vm(struct file *file, struct mm_struct *mm,
			      bool (*is_kvm)(struct file *file))
{
	struct kvm *kvm;

	/* The name first: file_is_kvm() then makes it certain. */
	if (strcmp(file->f_path.dentry->d_name.name, KEYHOLE_KVM_VM_NAME) ||
	    !is_kvm(file))
		return false;
	kvm = file->private_data;
	/* A VM inherited from another process is not this QEMU's. */
	return kvm->mm == mm;
}

/* QEMU's KVM VM file, referenced, or NULL. */
static struct file *keyhole_kvm_file(struct keyhole_vm *vm)
{
	bool (*is_kvm)(struct file *file);
	struct task_struct *task;
	struct file *file, *found = NULL;
	unsigned int fd;

	/*
	 * Looked up at run time, not linked: no kvm.ko, no KVM VM, and
	 * keyhole.ko loads without it.
	 */
	is_kvm = symbol_get(file_is_kvm);
	if (!is_kvm)
		return NULL;
	task = get_pid_task(vm->pid, PIDTYPE_TGID);
	if (!task)
		goto out;
	rcu_read_lock();
	/* One step per open fd: bounded by QEMU's fd table. */
	for (fd = 0; (file = task_lookup_next_fd_rcu(task, &fd)); fd++) {
		/* A file being freed is skipped; the rest stay while we look. */
		if (!get_file_rcu(file))
			continue;
		if (keyhole_is_kvm_vm(file, vm->mm, is_kvm)) {
			found = file;
			break;
		}
		fput(file);
	}
	rcu_read_unlock();
	put_task_struct(task);
out:
	symbol_put(file_is_kvm);
	return found;
}

bool keyhole_memslots_has_kvm(struct keyhole_vm *vm)
{
	struct file *file = keyhole_kvm_file(vm);

	if (!file)
		return false;
	fput(file);
	return true;
}

static int keyhole_range_gpa_cmp(const void *a, const void *b)
{
	const struct keyhole_range *ra = a, *rb = b;

	if (ra->gpa != rb->gpa)
		return ra->gpa < rb->gpa ? -1 : 1;
	return 0;
}

int keyhole_memslots_get(struct keyhole_vm *vm, struct keyhole_range *ranges,
			 u32 max, u32 *nr)
{
	struct kvm_memory_slot *slot;
	struct kvm_memslots *slots;
	struct file *file;
	struct kvm *kvm;
	u32 n = 0;
	int bkt;

	file = keyhole_kvm_file(vm);
	if (!file)
		return -ENOENT;
	kvm = file->private_data;
	/* slots_lock: the memslots cannot change while they are read. */
	mutex_lock(&kvm->slots_lock);
	slots = __kvm_memslots(kvm, 0);
	kvm_for_each_memslot(slot, bkt, slots) {
		/* Private slots (APIC access page, TSS...) are not guest RAM. */
		if (slot->id >= KVM_USER_MEM_SLOTS ||
		    (slot->flags & KVM_MEMSLOT_INVALID))
			continue;
		if (n < max) {
			ranges[n].gpa = (u64)slot->base_gfn << PAGE_SHIFT;
			ranges[n].hva = slot->userspace_addr;
			ranges[n].len = (u64)slot->npages << PAGE_SHIFT;
		}
		n++;
	}
	mutex_unlock(&kvm->slots_lock);
	fput(file);
	sort(ranges, min(n, max), sizeof(*ranges), keyhole_range_gpa_cmp,
	     NULL);
	*nr = n;
	return 0;
}

struct keyhole_kvm_vcpu_pids *keyhole_kvm_vcpu_pids(struct keyhole_vm *vm,
						    unsigned int max)
{
	struct keyhole_kvm_vcpu_pids *pids;
	struct kvm_vcpu *vcpu;
	unsigned int online;
	struct file *file;
	struct kvm *kvm;
	unsigned int i;

	/*
	 * Holding the VM's file holds a reference on struct kvm, and vCPUs
	 * are freed only with the VM: every vcpu below stays valid.
	 */
	file = keyhole_kvm_file(vm);
	if (!file)
		return ERR_PTR(-ENOENT);
	kvm = file->private_data;
	/* vCPUs are only ever added; those added after this are not seen. */
	online = atomic_read(&kvm->online_vcpus);
	/* Pairs with the smp_wmb() in kvm_vm_ioctl_create_vcpu(). */
	smp_rmb();
	if (online > max) {
		pids = ERR_PTR(-E2BIG);
		goto out;
	}
	pids = keyhole_fail_or(kzalloc(struct_size(pids, pid, online),
				       GFP_KERNEL));
	if (!pids) {
		pids = ERR_PTR(-ENOMEM);
		goto out;
	}
	/* As kvm_get_vcpu(): indexes below online_vcpus are filled. */
	for (i = 0; i < online; i++) {
		struct pid *pid;

		vcpu = xa_load(&kvm->vcpu_array, i);
		if (!vcpu)
			continue;
		/*
		 * KVM_RUN replaces vcpu->pid with rcu_assign_pointer() and
		 * puts the old one after synchronize_rcu().
		 */
		rcu_read_lock();
		pid = get_pid(rcu_dereference(vcpu->pid));
		rcu_read_unlock();
		/* NULL: the vCPU never ran, no thread is running it. */
		if (pid)
			pids->pid[pids->nr++] = pid;
	}
out:
	fput(file);
	return pids;
}

void keyhole_kvm_vcpu_pids_put(struct keyhole_kvm_vcpu_pids *pids)
{
	unsigned int i;

	if (IS_ERR_OR_NULL(pids))
		return;
	for (i = 0; i < pids->nr; i++)
		put_pid(pids->pid[i]);
	kfree(pids);
}
