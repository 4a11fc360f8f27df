// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sessions: KEYHOLE_ATTACH, the per-VM fd and its ioctls, and noticing
 * that QEMU went away.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/magic.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <keyhole.h>

#include "device.h"
#include "fault.h"
#include "map.h"
#include "memslots.h"
#include "netlink.h"
#include "pause.h"
#include "read.h"
#include "vm.h"

LIST_HEAD(keyhole_vms);
/* Guards keyhole_vms and keyhole_vms_generation. */
DEFINE_MUTEX(keyhole_vms_lock);
u32 keyhole_vms_generation;

static atomic64_t keyhole_next_session_id = ATOMIC64_INIT(0);

/* pidfds are anonymous-inode files of this name (fs/pid.c, 6.1). */
#define KEYHOLE_PIDFD_NAME "[pidfd]"

/* The struct pid behind a pidfd; pidfd_pid() is not exported. */
static struct pid *keyhole_pidfd_pid(int fd)
{
	struct pid *pid = ERR_PTR(-EBADF);
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	if (file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	    !strcmp(file->f_path.dentry->d_name.name, KEYHOLE_PIDFD_NAME) &&
	    file->private_data)
		pid = get_pid(file->private_data);
	fput(file);
	return pid;
}

/*
 * Whether the caller may read mm, QEMU's memory: exactly when it may open
 * /proc/PID/mem. ptrace_may_access() and mm_access() are not exported, so
 * the kernel's own check runs by opening that file with the caller's
 * credentials (PTRACE_MODE_ATTACH_FSCREDS, every LSM including Yama, and
 * exec_update_lock against a racing setuid exec). A private procfs mount
 * of the caller's pid namespace makes this independent of the caller's
 * root and mounts. The file must have been opened on mm itself: an exec
 * in between is refused rather than granting the new image.
 */
static int keyhole_may_read_mm(struct task_struct *task, struct mm_struct *mm)
{
	struct file_system_type *procfs;
	struct vfsmount *mnt;
	struct file *mem;
	char name[32];
	int ret;

	/* procfs is built in: this takes no module reference to drop. */
	procfs = get_fs_type("proc");
	if (!procfs)
		return -ENOENT;
	mnt = keyhole_fail() ? ERR_PTR(-ENOMEM) :
	      vfs_kern_mount(procfs, SB_KERNMOUNT, procfs->name, NULL);
	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	snprintf(name, sizeof(name), "%d/mem", task_tgid_vnr(task));
	mem = file_open_root_mnt(mnt, name, O_RDONLY, 0);
	if (IS_ERR(mem)) {
		ret = PTR_ERR(mem);
		/* mm_access() says EACCES; the ABI says EPERM. */
		if (ret == -EACCES || ret == -EPERM)
			ret = -EPERM;
		else if (ret == -ENOENT)
			ret = -ESRCH;
	} else {
		/*
		 * /proc/PID/mem keeps the mm it checked in private_data:
		 * none when the process exited meanwhile, another after an
		 * exec.
		 */
		if (!mem->private_data)
			ret = -ESRCH;
		else
			ret = mem->private_data == mm ? 0 : -EAGAIN;
		fput(mem);
	}
	kern_unmount(mnt);
	return ret;
}

static struct pid *keyhole_attach_pid(const struct keyhole_attach *arg)
{
	struct pid *pid;

	if (arg->flags & KEYHOLE_ATTACH_PIDFD)
		return keyhole_pidfd_pid(arg->pid);
	if (arg->pid <= 0)
		return ERR_PTR(-ESRCH);
	pid = find_get_pid(arg->pid);
	return pid ?: ERR_PTR(-ESRCH);
}

static void keyhole_vm_free(struct kref *ref)
{
	struct keyhole_vm *vm = container_of(ref, struct keyhole_vm, ref);

	keyhole_pause_destroy(vm);
	keyhole_map_destroy(vm);
	mmdrop(vm->mm);
	put_pid(vm->pid);
	kfree(vm);
}

void keyhole_vm_get(struct keyhole_vm *vm)
{
	kref_get(&vm->ref);
}

void keyhole_vm_put(struct keyhole_vm *vm)
{
	kref_put(&vm->ref, keyhole_vm_free);
}

/* The per-VM fd is open and QEMU exited: tell those who wait on it. */
static void keyhole_vm_exit_work(struct work_struct *work)
{
	struct keyhole_vm *vm = container_of(work, struct keyhole_vm,
					     exit_work);

	keyhole_pause_release(vm, KEYHOLE_PAUSE_END_EXITED);
	keyhole_netlink_vm_exited(vm);
	keyhole_vm_put(vm);
}

/*
 * QEMU's mm is being torn down (exit, or exec). Runs in exit_mmap(), or in
 * mmu_notifier_unregister() on close, which vm->closing tells apart.
 */
static void keyhole_vm_mm_release(struct mmu_notifier *mn,
				  struct mm_struct *mm)
{
	struct keyhole_vm *vm = container_of(mn, struct keyhole_vm,
					     exit_notifier);

	if (READ_ONCE(vm->closing))
		return;
	WRITE_ONCE(vm->exited, true);
	keyhole_map_zap_all(vm);
	/* Pause and netlink may sleep long: not in QEMU's exit path. */
	keyhole_vm_get(vm);
	if (!schedule_work(&vm->exit_work))
		keyhole_vm_put(vm);
}

static const struct mmu_notifier_ops keyhole_vm_exit_ops = {
	.release = keyhole_vm_mm_release,
};

/*
 * Every close() of an fd of the session, by any process: the pause of the
 * process that took it must not outlive its fd, though a forked child
 * still holds the file.
 */
static int keyhole_vm_flush(struct file *file, fl_owner_t id)
{
	keyhole_pause_flush(file->private_data, id);
	return 0;
}

static int keyhole_vm_release(struct inode *inode, struct file *file)
{
	struct keyhole_vm *vm = file->private_data;

	/* First: the VM runs again whatever else is slow below. */
	keyhole_pause_release(vm, KEYHOLE_PAUSE_END_CLOSED);

	mutex_lock(&keyhole_vms_lock);
	list_del(&vm->node);
	keyhole_vms_generation++;
	mutex_unlock(&keyhole_vms_lock);

	WRITE_ONCE(vm->closing, true);
	/* After this no release callback runs; one that ran queued work. */
	mmu_notifier_unregister(&vm->exit_notifier, vm->mm);
	flush_work(&vm->exit_work);
	keyhole_map_release(vm);
	keyhole_vm_put(vm);
	return 0;
}

static int keyhole_vm_set_ranges(void *priv, void *ucmd)
{
	struct keyhole_vm *vm = priv;

	if (keyhole_vm_exited(vm))
		return -ESRCH;
	return keyhole_map_set_ranges(vm, ucmd);
}

static int keyhole_vm_info(void *priv, void *ucmd)
{
	struct keyhole_vm_info *info = ucmd;
	struct keyhole_vm *vm = priv;
	u32 size = info->size;

	memset(info, 0, sizeof(*info));
	info->size = size;
	if (keyhole_vm_exited(vm)) {
		info->flags |= KEYHOLE_VM_EXITED;
	} else {
		rcu_read_lock();
		if (pid_has_task(vm->pid, PIDTYPE_TGID))
			info->pid = pid_vnr(vm->pid);
		rcu_read_unlock();
		if (keyhole_memslots_has_kvm(vm))
			info->flags |= KEYHOLE_VM_KVM;
	}
	info->pause_depth = keyhole_pause_depth(vm);
	if (info->pause_depth)
		info->flags |= KEYHOLE_VM_PAUSED;
	info->nr_vcpus = keyhole_pause_nr_vcpus(vm);
	keyhole_map_info(vm, &info->nr_ranges, &info->ram_bytes);
	info->session_id = vm->session_id;
	info->bytes_read = atomic64_read(&vm->bytes_read);
	info->faults = atomic64_read(&vm->faults);
	info->invalidations = atomic64_read(&vm->invalidations);
	info->pauses = atomic64_read(&vm->pauses);
	return 0;
}

static int keyhole_vm_read(void *priv, void *ucmd)
{
	struct keyhole_read *arg = ucmd;
	struct keyhole_vm *vm = priv;

	/* Written back even on failure: never the caller's own values. */
	arg->nr_done = 0;
	arg->nr_failed = 0;
	if (keyhole_vm_exited(vm))
		return -ESRCH;
	return keyhole_read_ioctl(vm, arg);
}

/* PAUSE and, for its undo, which pause state it left. */
struct keyhole_pause_cmd {
	struct keyhole_pause arg;	/* first: the ioctl copies this */
	u64 seq;
};

static int keyhole_vm_pause(void *priv, void *ucmd)
{
	struct keyhole_pause_cmd *cmd = ucmd;
	struct keyhole_vm *vm = priv;

	if (keyhole_vm_exited(vm))
		return -ESRCH;
	return keyhole_pause_ioctl(vm, &cmd->arg, &cmd->seq);
}

static int keyhole_vm_resume(void *priv, void *ucmd)
{
	struct keyhole_vm *vm = priv;

	if (keyhole_vm_exited(vm))
		return -ESRCH;
	return keyhole_resume_ioctl(vm, ucmd);
}

union keyhole_vm_ucmd {
	struct keyhole_set_ranges set_ranges;
	struct keyhole_vm_info vm_info;
	struct keyhole_read read;
	struct keyhole_pause_cmd pause;
	struct keyhole_resume resume;
};

/* The caller never learns of its PAUSE: it must not stay. */
static void keyhole_vm_pause_finish(void *priv, void *ucmd, bool copied)
{
	struct keyhole_pause_cmd *cmd = ucmd;

	if (!copied)
		keyhole_pause_undo(priv, cmd->seq);
}

static const struct keyhole_ioctl_op keyhole_vm_ops[] = {
	/* ENOSPC (FROM_KVM) says in the struct how many ranges are needed */
	KEYHOLE_IOCTL_OP_PARTIAL(KEYHOLE_CMD_SET_RANGES, keyhole_vm_set_ranges,
				 struct keyhole_set_ranges, ranges),
	KEYHOLE_IOCTL_OP(KEYHOLE_CMD_VM_INFO, keyhole_vm_info,
			 struct keyhole_vm_info, nr_vcpus),
	KEYHOLE_IOCTL_OP_PARTIAL(KEYHOLE_CMD_READ, keyhole_vm_read,
				 struct keyhole_read, nr_failed),
	KEYHOLE_IOCTL_OP_FINISH(KEYHOLE_CMD_PAUSE, keyhole_vm_pause,
				keyhole_vm_pause_finish, struct keyhole_pause,
				park_ns),
	KEYHOLE_IOCTL_OP(KEYHOLE_CMD_RESUME, keyhole_vm_resume,
			 struct keyhole_resume, paused_ns),
};

static long keyhole_vm_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	union keyhole_vm_ucmd ucmd;

	return keyhole_ioctl_dispatch(keyhole_vm_ops,
				      ARRAY_SIZE(keyhole_vm_ops),
				      file->private_data, cmd, arg, &ucmd,
				      sizeof(ucmd));
}

static int keyhole_vm_mmap(struct file *file, struct vm_area_struct *vma)
{
	return keyhole_map_mmap(file->private_data, vma);
}

static const struct file_operations keyhole_vm_fops = {
	.owner = THIS_MODULE,
	.flush = keyhole_vm_flush,
	.release = keyhole_vm_release,
	.unlocked_ioctl = keyhole_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = keyhole_vm_mmap,
	.llseek = noop_llseek,
};

/* A session on mm, with everything but its file; ERR_PTR on failure. */
static struct keyhole_vm *keyhole_vm_create(struct pid *pid,
					    struct mm_struct *mm)
{
	struct keyhole_vm *vm;
	int ret;

	vm = keyhole_fail_or(kzalloc(sizeof(*vm), GFP_KERNEL));
	if (!vm)
		return ERR_PTR(-ENOMEM);
	kref_init(&vm->ref);
	INIT_LIST_HEAD(&vm->node);
	INIT_WORK(&vm->exit_work, keyhole_vm_exit_work);
	vm->session_id = atomic64_inc_return(&keyhole_next_session_id);
	vm->pid = get_pid(pid);
	mmgrab(mm);
	vm->mm = mm;

	ret = keyhole_map_create(vm);
	if (ret)
		goto err_free;
	ret = keyhole_pause_create(vm);
	if (ret)
		goto err_destroy_map;
	/* mm_users is held by the caller, as registering needs. */
	vm->exit_notifier.ops = &keyhole_vm_exit_ops;
	ret = keyhole_fail() ? -ENOMEM :
	      mmu_notifier_register(&vm->exit_notifier, mm);
	if (ret)
		goto err_destroy_pause;
	return vm;

err_destroy_pause:
	keyhole_pause_destroy(vm);
err_destroy_map:
	keyhole_map_destroy(vm);
err_free:
	mmdrop(mm);
	put_pid(vm->pid);
	kfree(vm);
	return ERR_PTR(ret);
}

int keyhole_vm_attach(struct keyhole_attach_cmd *cmd)
{
	struct keyhole_attach *arg = &cmd->arg;
	struct task_struct *task;
	struct keyhole_vm *vm;
	struct mm_struct *mm;
	struct file *file;
	struct pid *pid;
	int ret, fd;

	if (arg->flags & ~KEYHOLE_ATTACH_PIDFD || arg->reserved)
		return -EINVAL;
	pid = keyhole_attach_pid(arg);
	if (IS_ERR(pid))
		return PTR_ERR(pid);
	/* PIDTYPE_TGID: a thread id that is not a process is refused. */
	task = get_pid_task(pid, PIDTYPE_TGID);
	if (!task) {
		ret = -ESRCH;
		goto err_put_pid;
	}
	/*
	 * Self-attach is refused: a fault on the mirror would take the
	 * same mm's mmap lock twice.
	 */
	if ((task->flags & PF_KTHREAD) || same_thread_group(task, current)) {
		ret = -EINVAL;
		goto err_put_task;
	}
	mm = get_task_mm(task);
	if (!mm) {
		ret = -ESRCH;
		goto err_put_task;
	}
	/* A vfork() child or CLONE_VM sibling shares the caller's mm too. */
	ret = mm == current->mm ? -EINVAL : keyhole_may_read_mm(task, mm);
	if (ret)
		goto err_mmput;
	vm = keyhole_vm_create(pid, mm);
	if (IS_ERR(vm)) {
		ret = PTR_ERR(vm);
		goto err_mmput;
	}
	fd = keyhole_fail() ? -EMFILE : get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_put_vm;
	}
	/* The file owns the session's first reference from here on. */
	file = keyhole_map_file(vm, &keyhole_vm_fops);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_put_fd;
	}
	mutex_lock(&keyhole_vms_lock);
	list_add_tail(&vm->node, &keyhole_vms);
	keyhole_vms_generation++;
	mutex_unlock(&keyhole_vms_lock);

	cmd->file = file;
	arg->vm_fd = fd;
	arg->session_id = vm->session_id;
	mmput(mm);
	put_task_struct(task);
	put_pid(pid);
	return 0;

err_put_fd:
	put_unused_fd(fd);
err_put_vm:
	/* Not yet a file: undo keyhole_vm_create() by hand. */
	WRITE_ONCE(vm->closing, true);
	mmu_notifier_unregister(&vm->exit_notifier, mm);
	keyhole_vm_put(vm);
err_mmput:
	mmput(mm);
err_put_task:
	put_task_struct(task);
err_put_pid:
	put_pid(pid);
	return ret;
}

void keyhole_vm_attach_finish(struct keyhole_attach_cmd *cmd, bool copied)
{
	if (copied) {
		fd_install(cmd->arg.vm_fd, cmd->file);
		return;
	}
	/* The caller never learnt the fd: it must not exist. */
	put_unused_fd(cmd->arg.vm_fd);
	fput(cmd->file);
}
