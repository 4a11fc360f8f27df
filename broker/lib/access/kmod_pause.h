/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyhole.ko's pause of one per-VM fd (KEYHOLE_PAUSE/KEYHOLE_RESUME): the
 * module parks QEMU's vCPU threads in the host kernel. kpause pauses
 * around each operation of the engine; kmap and kread pause only when the
 * caller asks (kh_vm_pause), so a live technique halts without a monitor.
 *
 * The module ends a pause by itself after its pause_timeout_ms (2 s by
 * default, and it caps what we ask for), so a crashed holder never leaves
 * a guest frozen. A holder that needs longer renews: a nested PAUSE moves
 * the watchdog, the RESUME after it only undoes the nesting.
 */
#ifndef KH_KMOD_PAUSE_H
#define KH_KMOD_PAUSE_H

#include <pthread.h>
#include <stdint.h>

#include "access/technique.h"

struct kh_kmod_pause {
	pthread_mutex_t lock;
	int vm_fd;
	unsigned int flags;	/* KEYHOLE_PAUSE_* that work on this QEMU */
	int paused;		/* this fd holds a pause */
	int expired;		/* the module ended it before resume */
	uint64_t paused_at, renewed_at;
	uint64_t renew_ns;	/* renewal interval, from the module's cap */
};

/*
 * The module's pause_timeout_ms as it is now (the admin may lower it at
 * run time), or 0 when it cannot be read. A holder renews in an eighth
 * of it: keyholed's holds and the renewals below.
 */
unsigned int kh_kmod_pause_cap_ms(void);

void kh_kmod_pause_init(struct kh_kmod_pause *kp, int vm_fd);
void kh_kmod_pause_destroy(struct kh_kmod_pause *kp);

/*
 * With kp->lock held. pause: 0 once the guest is parked (and when this fd
 * already holds a pause). resume: releases it, its length added to
 * acc->halted_ns; -ETIMEDOUT when the module had ended it first (the
 * guest ran meanwhile). renew: at most every 250 ms (an eighth of the
 * module's cap when that is less) moves the watchdog of a pause this fd
 * holds; -ETIMEDOUT when it had already run out (the
 * guest is paused again now, and resume will say it ran).
 */
int kh_kmod_pause_locked(struct kh_access *acc, struct kh_kmod_pause *kp,
			 struct kh_err *err);
int kh_kmod_resume_locked(struct kh_access *acc, struct kh_kmod_pause *kp,
			  struct kh_err *err);
int kh_kmod_renew_locked(struct kh_access *acc, struct kh_kmod_pause *kp,
			 struct kh_err *err);

/* The same, taking kp->lock: kh_access_ops.halt, unhalt, keep_halted. */
int kh_kmod_pause(struct kh_access *acc, struct kh_kmod_pause *kp,
		  struct kh_err *err);
int kh_kmod_resume(struct kh_access *acc, struct kh_kmod_pause *kp,
		   struct kh_err *err);
int kh_kmod_renew(struct kh_access *acc, struct kh_kmod_pause *kp,
		  struct kh_err *err);

#endif
