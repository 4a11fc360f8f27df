// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * keyhole.ko's pause of one per-VM fd, for every technique on the module
 * (access/kmod_pause.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <keyhole.h>

#include "access/kmod_pause.h"

#define PAUSE_TIMEOUT_MS	10000	/* asked for; the module may cap it */
#define RENEW_NS		(250 * 1000000ull)

#define CAP_PARAM	"/sys/module/keyhole/parameters/pause_timeout_ms"

unsigned int kh_kmod_pause_cap_ms(void)
{
	char text[16];
	ssize_t n;
	int fd = open(CAP_PARAM, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = 0;
	return (unsigned int)strtoul(text, NULL, 10);
}

/* Read again at each pause and renewal, so that a lowered cap is seen. */
static uint64_t renew_every_ns(void)
{
	uint64_t cap = kh_kmod_pause_cap_ms();
	uint64_t eighth = cap * 1000000ull / 8;

	return cap && eighth < RENEW_NS ? eighth : RENEW_NS;
}

void kh_kmod_pause_init(struct kh_kmod_pause *kp, int vm_fd)
{
	*kp = (struct kh_kmod_pause){ .vm_fd = vm_fd };
	pthread_mutex_init(&kp->lock, NULL);
}

void kh_kmod_pause_destroy(struct kh_kmod_pause *kp)
{
	pthread_mutex_destroy(&kp->lock);
}

int kh_kmod_pause_locked(struct kh_access *acc, struct kh_kmod_pause *kp,
			 struct kh_err *err)
{
	struct keyhole_pause p;
	int r;

	if (kp->paused)
		return 0;
	p = (struct keyhole_pause){ .size = sizeof(p), .flags = kp->flags,
				    .timeout_ms = PAUSE_TIMEOUT_MS };
	r = ioctl(kp->vm_fd, KEYHOLE_PAUSE, &p);
	if (r && errno == ENOENT && !kp->flags) {
		/* No vCPU thread known: TCG without debug-threads=on. */
		kp->flags = KEYHOLE_PAUSE_ALL_THREADS;
		p.flags = kp->flags;
		r = ioctl(kp->vm_fd, KEYHOLE_PAUSE, &p);
	}
	if (!r) {
		kp->paused = 1;
		kp->expired = 0;
		kp->paused_at = kp->renewed_at = kh_access_now_ns();
		kp->renew_ns = renew_every_ns();
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

static int expired_error(struct kh_access *acc, struct kh_err *err)
{
	return kh_err_set(err, ETIMEDOUT,
			  "keyhole.ko ended the pause of QEMU pid %d on its own timeout (module parameter pause_timeout_ms): the guest ran during part of this operation",
			  (int)acc->pid);
}

int kh_kmod_resume_locked(struct kh_access *acc, struct kh_kmod_pause *kp,
			  struct kh_err *err)
{
	struct keyhole_resume res = { .size = sizeof(res) };
	uint64_t now = kh_access_now_ns();
	int r, expired = kp->expired;

	if (!kp->paused)
		return 0;
	kp->paused = 0;
	kp->expired = 0;
	r = ioctl(kp->vm_fd, KEYHOLE_RESUME, &res);
	atomic_fetch_add_explicit(&acc->halted_ns,
				  !r && res.paused_ns ? res.paused_ns :
							now - kp->paused_at,
				  memory_order_relaxed);
	if (r && errno == EALREADY)
		expired = 1;
	if (expired)
		return expired_error(acc, err);
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
 * A depth of 1 after the nested PAUSE means ours had already expired and
 * this is a new one: the guest ran meanwhile. It is kept, so the rest of
 * the operation reads a halted guest, and resume reports the gap.
 */
int kh_kmod_renew_locked(struct kh_access *acc, struct kh_kmod_pause *kp,
			 struct kh_err *err)
{
	struct keyhole_pause p = { .size = sizeof(p), .flags = kp->flags,
				   .timeout_ms = PAUSE_TIMEOUT_MS };
	struct keyhole_resume res = { .size = sizeof(res) };
	uint64_t now = kh_access_now_ns();

	if (!kp->paused || now - kp->renewed_at < kp->renew_ns)
		return kp->paused && kp->expired ? expired_error(acc, err) : 0;
	kp->renewed_at = now;
	kp->renew_ns = renew_every_ns();
	atomic_fetch_add_explicit(&acc->calls, 1, memory_order_relaxed);
	if (ioctl(kp->vm_fd, KEYHOLE_PAUSE, &p))
		return errno == ESRCH ?
		       kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				  (int)acc->pid) :
		       kh_err_set(err, errno,
				  "keyhole.ko cannot renew the pause of QEMU pid %d: %s",
				  (int)acc->pid, strerror(errno));
	if (p.depth == 1) {
		kp->expired = 1;
		atomic_fetch_add_explicit(&acc->halted_ns,
					  now - kp->paused_at,
					  memory_order_relaxed);
		kp->paused_at = now;
		return expired_error(acc, err);
	}
	ioctl(kp->vm_fd, KEYHOLE_RESUME, &res);
	return kp->expired ? expired_error(acc, err) : 0;
}

int kh_kmod_pause(struct kh_access *acc, struct kh_kmod_pause *kp,
		  struct kh_err *err)
{
	int ret;

	pthread_mutex_lock(&kp->lock);
	ret = kh_kmod_pause_locked(acc, kp, err);
	pthread_mutex_unlock(&kp->lock);
	return ret;
}

int kh_kmod_resume(struct kh_access *acc, struct kh_kmod_pause *kp,
		   struct kh_err *err)
{
	int ret;

	pthread_mutex_lock(&kp->lock);
	ret = kh_kmod_resume_locked(acc, kp, err);
	pthread_mutex_unlock(&kp->lock);
	return ret;
}

int kh_kmod_renew(struct kh_access *acc, struct kh_kmod_pause *kp,
		  struct kh_err *err)
{
	int ret;

	pthread_mutex_lock(&kp->lock);
	ret = kh_kmod_renew_locked(acc, kp, err);
	pthread_mutex_unlock(&kp->lock);
	return ret;
}
