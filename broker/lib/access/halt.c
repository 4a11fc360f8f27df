// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Halting the guest. kh_vm_pause/kh_vm_resume halt it for as long as the
 * caller wants (a consistent crawl): with the technique's own pause when
 * it is a halting one (ptrace-stop, gdbstub, kpause), with keyhole.ko's
 * pause when a live technique attached through the module (kmap) and the
 * VM is not a libvirt domain, else through QMP, where "stop" parks every
 * vCPU and "cont" releases them (libvirt's suspend and resume for a
 * domain, so that its view of the domain stays true). The QMP connection
 * stays open while paused so that resuming never depends on winning the
 * monitor back. A guest that someone else paused is left as we found it.
 *
 * A halting technique also halts the guest around every public operation
 * on its own (kh_vm_op_pause from the first read, kh_vm_op_resume from
 * kh_vm_verify at the operation's end), unless kh_vm_pause holds it
 * already.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "access/halt_journal.h"
#include "qemu/libvirt.h"
#include "vm.h"

#define QMP_TIMEOUT_MS 3000

static int guest_running(struct kh_qmp *qmp, int *running,
			 struct kh_err *err)
{
	json_t *ret = NULL;
	int r;

	r = kh_qmp_execute(qmp, "query-status", NULL, &ret, err);
	if (r)
		return r;
	*running = json_is_true(json_object_get(ret, "running"));
	json_decref(ret);
	return 0;
}

static int qmp_pause(struct kh_vm *vm, struct kh_err *err)
{
	int running = 0, ret;

	/* libvirt's suspend and resume, so that its view stays true. */
	if (vm->target.libvirt_name[0])
		ret = kh_libvirt_monitor(&vm->target, &vm->pause_qmp, err);
	else if (!vm->target.qmp_path[0])
		return kh_err_set(err, ENOTSUP,
				  "halting QEMU pid %d needs its QMP socket (add -qmp unix:PATH,server=on,wait=off)",
				  (int)vm->target.pid);
	else
		ret = kh_qmp_connect(vm->target.qmp_path, QMP_TIMEOUT_MS,
				     &vm->pause_qmp, err);
	if (ret)
		return ret;
	/*
	 * The path comes from QEMU's command line, which its owner can
	 * rewrite: the socket must be this QEMU's, or halting it would stop
	 * another VM, as whoever runs keyhole.
	 */
	if (!vm->target.libvirt_name[0] &&
	    kh_qmp_peer_pid(vm->pause_qmp) != vm->target.pid) {
		ret = kh_err_set(err, EPERM,
				 "QMP socket %s belongs to pid %d, not to QEMU pid %d",
				 vm->target.qmp_path,
				 (int)kh_qmp_peer_pid(vm->pause_qmp),
				 (int)vm->target.pid);
		kh_qmp_close(vm->pause_qmp);
		vm->pause_qmp = NULL;
		return ret;
	}
	/* A crash while we hold it must not leave the guest halted. */
	ret = kh_access_journal_qmp(&vm->acc, vm->pause_qmp, err);
	if (!ret)
		ret = guest_running(vm->pause_qmp, &running, err);
	if (!ret && running)
		ret = kh_qmp_execute(vm->pause_qmp, "stop", NULL, NULL, err);
	if (ret) {
		kh_qmp_close(vm->pause_qmp);
		vm->pause_qmp = NULL;
		return ret;
	}
	vm->paused_by_us = running;
	/* Interface techniques (hmp) read through it meanwhile. */
	pthread_mutex_lock(&vm->acc.qmp_lock);
	vm->acc.held_qmp = vm->pause_qmp;
	pthread_mutex_unlock(&vm->acc.qmp_lock);
	return 0;
}

static int qmp_resume(struct kh_vm *vm, struct kh_err *err)
{
	int ret = 0;

	pthread_mutex_lock(&vm->acc.qmp_lock);
	vm->acc.held_qmp = NULL;
	pthread_mutex_unlock(&vm->acc.qmp_lock);
	if (vm->paused_by_us)
		ret = kh_qmp_execute(vm->pause_qmp, "cont", NULL, NULL, err);
	kh_qmp_close(vm->pause_qmp);
	vm->pause_qmp = NULL;
	vm->paused_by_us = 0;
	return ret;
}

/* keyhole.ko parks the vCPUs: no monitor to win, and a watchdog. */
static bool module_halt(const struct kh_vm *vm)
{
	const struct kh_access_ops *ops = vm->acc.ops;

	return ops && ops->halt && !vm->target.libvirt_name[0];
}

int kh_vm_pause(struct kh_vm *vm, struct kh_err *err)
{
	const struct kh_access_ops *ops = vm->acc.ops;
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_depth++)
		goto out;
	if (ops && ops->pause) {
		/* An operation's pause becomes the caller's. */
		if (vm->op_paused)
			vm->op_paused = 0;
		else
			ret = ops->pause(&vm->acc, err);
		if (ret)
			ops->resume(&vm->acc, NULL);
	} else if (module_halt(vm)) {
		ret = ops->halt(&vm->acc, err);
	} else {
		ret = qmp_pause(vm, err);
	}
	if (ret)
		vm->pause_depth--;
out:
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

int kh_vm_resume(struct kh_vm *vm, struct kh_err *err)
{
	const struct kh_access_ops *ops = vm->acc.ops;
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (!vm->pause_depth) {
		ret = kh_err_set(err, EINVAL, "resume without a pause");
		goto out;
	}
	if (--vm->pause_depth)
		goto out;
	if (ops && ops->pause)
		ret = ops->resume(&vm->acc, err);
	else if (module_halt(vm))
		ret = ops->unhalt(&vm->acc, err);
	else
		ret = qmp_resume(vm, err);
out:
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

int kh_vm_keep_paused(struct kh_vm *vm, struct kh_err *err)
{
	const struct kh_access_ops *ops = vm->acc.ops;
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (!vm->pause_depth)
		ret = kh_err_set(err, EINVAL, "renewing a pause without one");
	else if (ops && ops->keep_halted && (ops->pause || module_halt(vm)))
		ret = ops->keep_halted(&vm->acc, err);
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

int kh_vm_pause_lasted(struct kh_vm *vm, struct kh_err *err)
{
	const struct kh_access_ops *ops = vm->acc.ops;
	int ret = 0;

	/*
	 * The renewal is throttled to its interval: a look at a flag, but a
	 * pause the watchdog ended was not renewed for longer than that, so
	 * this renewal is made, and finds it out.
	 */
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_depth && ops && ops->keep_halted &&
	    (ops->pause || module_halt(vm)))
		ret = ops->keep_halted(&vm->acc, err);
	pthread_mutex_unlock(&vm->pause_lock);
	return ret == -ETIMEDOUT ? ret : 0;
}

int kh_vm_kmod_session(const struct kh_vm *vm, uint64_t *session_id)
{
	if (!vm->acc.kmod_session)
		return -ENOENT;
	*session_id = vm->acc.kmod_session;
	return 0;
}

int kh_vm_op_pause(struct kh_vm *vm, struct kh_err *err)
{
	const struct kh_access_ops *ops = vm->acc.ops;
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (!vm->pause_depth && !vm->op_paused) {
		ret = ops->pause(&vm->acc, err);
		if (ret)
			ops->resume(&vm->acc, NULL);
		else
			vm->op_paused = 1;
		vm->op_pauser = pthread_self();
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

int kh_vm_op_resume(struct kh_vm *vm, struct kh_err *err)
{
	const struct kh_access_ops *ops = vm->acc.ops;
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	/*
	 * Only the thread whose operation paused resumes: another thread's
	 * operation that ran meanwhile read a halted guest too, and ending
	 * the pause from it would fail for ptrace anyway.
	 */
	if (vm->op_paused && pthread_equal(vm->op_pauser, pthread_self())) {
		vm->op_paused = 0;
		ret = ops->resume(&vm->acc, err);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

/* What the technique cost the guest and the host over the handle's life. */
void kh_vm_get_access_cost(const struct kh_vm *vm,
			   struct kh_access_cost *cost)
{
	cost->halted_ns = atomic_load(&vm->acc.halted_ns);
	cost->snapshot_ns = atomic_load(&vm->acc.snapshot_ns);
}
