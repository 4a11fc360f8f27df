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
 * pause_timeout_ms, 2 s by default, caps ours), so a crashed keyhole never
 * leaves a guest frozen. An operation may last longer than that on a slow
 * host: every read batch re-arms the watchdog with a nested
 * PAUSE + RESUME once RENEW_NS has passed. Should a pause expire anyway,
 * the guest ran during the operation, and resume says so.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <keyhole.h>

#include "access/kmod_session.h"

#define PAUSE_TIMEOUT_MS	10000	/* asked for; the module may cap it */
#define RENEW_NS		(250 * 1000000ull)

struct kpause {
	pthread_mutex_t lock;
	struct kh_kmap *map;
	unsigned int flags;	/* KEYHOLE_PAUSE_* that work on this QEMU */
	int paused;		/* this handle holds a pause */
	int expired;		/* the module ended it before resume */
	uint64_t paused_at, renewed_at;
};

static int do_pause(struct kh_access *acc, struct kpause *kp,
		    struct kh_err *err)
{
	struct keyhole_pause p;
	int r;

	p = (struct keyhole_pause){ .size = sizeof(p), .flags = kp->flags,
				    .timeout_ms = PAUSE_TIMEOUT_MS };
	r = ioctl(kh_kmap_vm_fd(kp->map), KEYHOLE_PAUSE, &p);
	if (r && errno == ENOENT && !kp->flags) {
		/* No vCPU thread known: TCG without debug-threads=on. */
		kp->flags = KEYHOLE_PAUSE_ALL_THREADS;
		p.flags = kp->flags;
		r = ioctl(kh_kmap_vm_fd(kp->map), KEYHOLE_PAUSE, &p);
	}
	if (!r) {
		kp->paused = 1;
		kp->expired = 0;
		kp->paused_at = kp->renewed_at = kh_access_now_ns();
		return 0;
	}
	switch (errno) {
	case ESRCH:
		return kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				  (int)acc->pid);
	case ETIMEDOUT:
		return kh_err_set(err, ETIMEDOUT,
				  "keyhole.ko could not park every thread of QEMU pid %d within %d ms (is another session pausing it?)",
				  (int)acc->pid, PAUSE_TIMEOUT_MS);
	case EINTR:
		return kh_err_set(err, EINTR,
				  "pausing QEMU pid %d was interrupted by a signal",
				  (int)acc->pid);
	default:
		return kh_err_set(err, errno,
				  "keyhole.ko cannot pause QEMU pid %d: %s",
				  (int)acc->pid, strerror(errno));
	}
}

/* Releases our pause; its length goes to acc->halted_ns either way. */
static int do_resume(struct kh_access *acc, struct kpause *kp,
		     struct kh_err *err)
{
	struct keyhole_resume res = { .size = sizeof(res) };
	uint64_t now = kh_access_now_ns();
	int r, expired = kp->expired;

	if (!kp->paused)
		return 0;
	kp->paused = 0;
	kp->expired = 0;
	r = ioctl(kh_kmap_vm_fd(kp->map), KEYHOLE_RESUME, &res);
	atomic_fetch_add_explicit(&acc->halted_ns,
				  !r && res.paused_ns ? res.paused_ns :
							now - kp->paused_at,
				  memory_order_relaxed);
	if (r && errno == EALREADY)
		expired = 1;
	if (expired)
		return kh_err_set(err, ETIMEDOUT,
				  "keyhole.ko ended the pause of QEMU pid %d on its own timeout (module parameter pause_timeout_ms): the guest ran during part of this operation",
				  (int)acc->pid);
	if (r && errno == ESRCH)
		return kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				  (int)acc->pid);
	if (r)
		return kh_err_set(err, errno,
				  "keyhole.ko cannot resume QEMU pid %d: %s",
				  (int)acc->pid, strerror(errno));
	return 0;
}

/*
 * A nested PAUSE moves the module's watchdog; the RESUME that follows
 * only undoes the nesting. A depth of 1 after it means our pause had
 * already expired and this is a new one: the guest ran meanwhile.
 */
static void renew(struct kh_access *acc, struct kpause *kp)
{
	struct keyhole_pause p = { .size = sizeof(p), .flags = kp->flags,
				   .timeout_ms = PAUSE_TIMEOUT_MS };
	struct keyhole_resume res = { .size = sizeof(res) };
	uint64_t now = kh_access_now_ns();
	int vm_fd = kh_kmap_vm_fd(kp->map);

	if (now - kp->renewed_at < RENEW_NS)
		return;
	kp->renewed_at = now;
	atomic_fetch_add_explicit(&acc->calls, 1, memory_order_relaxed);
	if (ioctl(vm_fd, KEYHOLE_PAUSE, &p))
		return;		/* the reads will tell (ESRCH) */
	if (p.depth == 1) {
		/* Keep the new pause for the rest of the operation. */
		kp->expired = 1;
		atomic_fetch_add_explicit(&acc->halted_ns,
					  now - kp->paused_at,
					  memory_order_relaxed);
		kp->paused_at = now;
		return;
	}
	ioctl(vm_fd, KEYHOLE_RESUME, &res);
}

static int kpause_pause(struct kh_access *acc, struct kh_err *err)
{
	struct kpause *kp = acc->priv;
	int ret = 0;

	pthread_mutex_lock(&kp->lock);
	if (!kp->paused)
		ret = do_pause(acc, kp, err);
	pthread_mutex_unlock(&kp->lock);
	return ret;
}

static int kpause_resume(struct kh_access *acc, struct kh_err *err)
{
	struct kpause *kp = acc->priv;
	int ret;

	pthread_mutex_lock(&kp->lock);
	ret = do_resume(acc, kp, err);
	pthread_mutex_unlock(&kp->lock);
	return ret;
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

	pthread_mutex_lock(&kp->lock);
	if (!kp->paused) {
		ret = do_pause(acc, kp, NULL);
		if (ret) {
			pthread_mutex_unlock(&kp->lock);
			for (i = 0; i < nr; i++)
				reads[i].result = ret;
			return ret;
		}
		own = 1;
	} else {
		renew(acc, kp);
	}
	ret = kh_kmap_copy(acc, kp->map, reads, nr);
	if (own && do_resume(acc, kp, NULL) && ret >= 0) {
		/* The batch may mix bytes from before and after: fail it. */
		for (i = 0; i < nr; i++)
			reads[i].result = -ETIMEDOUT;
		ret = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&kp->lock);
	return ret;
}

static void kpause_close(struct kh_access *acc)
{
	struct kpause *kp = acc->priv;

	if (!kp)
		return;
	pthread_mutex_lock(&kp->lock);
	do_resume(acc, kp, NULL);
	pthread_mutex_unlock(&kp->lock);
	/* Closing the fd would end a pause too; resume reports its time. */
	kh_kmap_free(kp->map);
	pthread_mutex_destroy(&kp->lock);
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
	pthread_mutex_init(&kp->lock, NULL);
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
};
