// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Halting the guest through QMP (the paper's class VIII, guest-halting
 * interface access, used here around a crawl): "stop" parks every vCPU,
 * "cont" releases them. The QMP connection stays open while paused so
 * that resuming never depends on winning the monitor back. A guest that
 * someone else paused is left as we found it.
 */
#include <errno.h>
#include <string.h>

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

int kh_vm_pause(struct kh_vm *vm, struct kh_err *err)
{
	int running = 0, ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_depth++)
		goto out;
	if (!vm->target.qmp_path[0]) {
		ret = kh_err_set(err, ENOTSUP,
				 "halting QEMU pid %d needs its QMP socket (add -qmp unix:PATH,server=on,wait=off)",
				 (int)vm->target.pid);
		goto fail;
	}
	ret = kh_qmp_connect(vm->target.qmp_path, QMP_TIMEOUT_MS,
			     &vm->pause_qmp, err);
	if (ret)
		goto fail;
	ret = guest_running(vm->pause_qmp, &running, err);
	if (!ret && running)
		ret = kh_qmp_execute(vm->pause_qmp, "stop", NULL, NULL, err);
	if (ret) {
		kh_qmp_close(vm->pause_qmp);
		vm->pause_qmp = NULL;
		goto fail;
	}
	vm->paused_by_us = running;
	goto out;
fail:
	vm->pause_depth--;
out:
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

int kh_vm_resume(struct kh_vm *vm, struct kh_err *err)
{
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (!vm->pause_depth) {
		ret = kh_err_set(err, EINVAL, "resume without a pause");
		goto out;
	}
	if (--vm->pause_depth)
		goto out;
	if (vm->paused_by_us)
		ret = kh_qmp_execute(vm->pause_qmp, "cont", NULL, NULL, err);
	kh_qmp_close(vm->pause_qmp);
	vm->pause_qmp = NULL;
	vm->paused_by_us = 0;
out:
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}
