// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "kpause" (class VI, guest-halting reads) through
 * keyhole.ko: KEYHOLE_PAUSE parks every vCPU thread of QEMU in the host
 * kernel around each public operation of the engine, reads are copies
 * from kmap's mirror, and KEYHOLE_RESUME lets them go. Unlike ptrace (the
 * other class VI technique) nothing is visible to QEMU: no signal, no
 * tracer, and the pause belongs to the fd, not to a thread.
 *
 * The module finds a KVM guest's vCPU threads through the KVM VM, a TCG
 * guest's by the names -name NAME,debug-threads=on gives them; when it
 * finds none, every thread of QEMU is paused instead (KEYHOLE_PAUSE_ALL_THREADS), which also stops device
 * emulation and the monitor for the duration.
 *
 * The module ends a pause by itself after a timeout (its parameter
 * pause_timeout_ms, 2 s by default), so a crashed keyhole never leaves a
 * guest frozen. An operation may last longer than that on a slow host:
 * every read batch renews the pause (access/kmod_pause.c). Should a pause
 * expire anyway, the guest ran during the operation, and resume says so.
 */
#include <errno.h>
#include <stdlib.h>

#include <keyhole.h>

#include "access/kmod_pause.h"
#include "access/kmod_session.h"

struct kpause {
	struct kh_kmap *map;
	struct kh_kmod_pause pause;
};

static int kpause_pause(struct kh_access *acc, struct kh_err *err)
{
	struct kpause *kp = acc->priv;

	return kh_kmod_pause(acc, &kp->pause, err);
}

static int kpause_resume(struct kh_access *acc, struct kh_err *err)
{
	struct kpause *kp = acc->priv;

	return kh_kmod_resume(acc, &kp->pause, err);
}

static int kpause_keep_halted(struct kh_access *acc, struct kh_err *err)
{
	struct kpause *kp = acc->priv;

	return kh_kmod_renew(acc, &kp->pause, err);
}

/*
 * Reads outside a pause (the engine's own attach reads) still pause QEMU
 * for the batch: a halting technique never reads a running guest.
 */
static int kpause_read(struct kh_access *acc, struct kh_read *reads,
		       unsigned int nr)
{
	struct kpause *kp = acc->priv;
	unsigned int i;
	int own = 0, ret;

	pthread_mutex_lock(&kp->pause.lock);
	if (!kp->pause.paused) {
		ret = kh_kmod_pause_locked(acc, &kp->pause, NULL);
		if (ret) {
			pthread_mutex_unlock(&kp->pause.lock);
			for (i = 0; i < nr; i++)
				reads[i].result = ret;
			return ret;
		}
		own = 1;
	} else {
		kh_kmod_renew_locked(acc, &kp->pause, NULL);
	}
	ret = kh_kmap_copy(acc, kp->map, reads, nr);
	if (own && kh_kmod_resume_locked(acc, &kp->pause, NULL) && ret >= 0) {
		/* The batch may mix bytes from before and after: fail it. */
		for (i = 0; i < nr; i++)
			reads[i].result = -ETIMEDOUT;
		ret = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&kp->pause.lock);
	return ret;
}

static void kpause_close(struct kh_access *acc)
{
	struct kpause *kp = acc->priv;

	if (!kp)
		return;
	/* Closing the fd would end a pause too; resume reports its time. */
	kh_kmod_resume(acc, &kp->pause, NULL);
	kh_kmap_free(kp->map);
	kh_kmod_pause_destroy(&kp->pause);
	free(kp);
	acc->priv = NULL;
}

static int kpause_open(struct kh_access *acc, struct kh_err *err)
{
	struct kpause *kp;
	int ret;

	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return kh_err_set(err, ENOMEM, "out of memory");
	ret = kh_kmap_new(acc, KEYHOLE_FEATURE_PAUSE, &kp->map, err);
	if (ret) {
		free(kp);
		return ret;
	}
	kh_kmod_pause_init(&kp->pause, kh_kmap_vm_fd(kp->map));
	acc->priv = kp;
	/* Availability means pausing really works: pause once, let go. */
	ret = kpause_pause(acc, err);
	if (!ret)
		ret = kpause_resume(acc, err);
	if (ret)
		kpause_close(acc);
	return ret;
}

const struct kh_access_ops kh_access_kpause = {
	.name = "kpause",
	.klass = "VI",
	.props = KH_TECHNIQUE_HALTING | KH_TECHNIQUE_MAPPED,
	.description = "keyhole.ko parks every vCPU thread around each operation, then reads its mapping; invisible to QEMU (needs the module)",
	.open = kpause_open,
	.read = kpause_read,
	.close = kpause_close,
	.pause = kpause_pause,
	.resume = kpause_resume,
	.keep_halted = kpause_keep_halted,
};
