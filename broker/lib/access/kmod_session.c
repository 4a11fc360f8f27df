// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attaching to a QEMU process through keyhole.ko: the handshake, the
 * attach by pidfd and the guest RAM ranges. Every failure says which step
 * failed and what would make it work, because `keyhole techniques` shows
 * these messages to users deciding whether to load the module.
 *
 * The module checks the same right as opening /proc/PID/mem, so it gives
 * keyhole nothing that ptrace access does not already give.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <keyhole.h>

#include "access/kmod_session.h"

#define NOT_LOADED "keyhole.ko is not loaded (modprobe keyhole / insmod kmod/keyhole.ko)"
#define ATTACH_TRIES	8	/* EAGAIN: QEMU ran execve() meanwhile */

static const struct {
	uint64_t bit;
	const char *what;
} feature_names[] = {
	{ KEYHOLE_FEATURE_MAP, "the coherent mapping" },
	{ KEYHOLE_FEATURE_READ, "KEYHOLE_READ" },
	{ KEYHOLE_FEATURE_PAUSE, "KEYHOLE_PAUSE" },
};

static int open_device(struct kh_err *err)
{
	struct stat st;
	int fd, r;

	fd = open(KH_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	r = errno;
	if (r == ENOENT || r == ENXIO || r == ENODEV) {
		/* The node may outlive the module (a static /dev). */
		if (stat("/sys/module/keyhole", &st))
			return kh_err_set(err, ENOENT, NOT_LOADED);
		return kh_err_set(err, r,
				  "keyhole.ko is loaded but " KH_KMOD_DEVICE " cannot be opened: %s",
				  strerror(r));
	}
	if (r == EACCES || r == EPERM)
		return kh_err_set(err, r,
				  KH_KMOD_DEVICE " is mode 0600: keyhole.ko is for root (%s)",
				  strerror(r));
	return kh_err_set(err, r, "cannot open " KH_KMOD_DEVICE ": %s",
			  strerror(r));
}

/* KEYHOLE_API: the module must have every feature asked for. */
static int handshake(int dev, uint64_t features, struct kh_err *err)
{
	struct keyhole_api api = { .size = sizeof(api) };
	unsigned int i;

	if (ioctl(dev, KEYHOLE_API, &api))
		return kh_err_set(err, errno,
				  KH_KMOD_DEVICE " does not answer KEYHOLE_API (%s): is it keyhole.ko?",
				  strerror(errno));
	if (api.api_version < KEYHOLE_API_VERSION)
		return kh_err_set(err, EPROTO,
				  "keyhole.ko speaks API version %u, keyhole needs %u: load a newer module",
				  api.api_version, KEYHOLE_API_VERSION);
	for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		if ((features & feature_names[i].bit) &&
		    !(api.features & feature_names[i].bit))
			return kh_err_set(err, EOPNOTSUPP,
					  "this keyhole.ko has no %s (features 0x%llx): load a newer module",
					  feature_names[i].what,
					  (unsigned long long)api.features);
	return 0;
}

int kh_kmod_attach_once(int dev, const struct kh_access *acc,
			uint64_t *session)
{
	struct keyhole_attach at;
	unsigned int tries;

	for (tries = 0; tries < ATTACH_TRIES; tries++) {
		at = (struct keyhole_attach){ .size = sizeof(at) };
		/* By pidfd: a reused pid can never be attached by mistake. */
		if (acc->pidfd >= 0) {
			at.flags = KEYHOLE_ATTACH_PIDFD;
			at.pid = acc->pidfd;
		} else {
			at.pid = acc->pid;
		}
		if (!ioctl(dev, KEYHOLE_ATTACH, &at)) {
			*session = at.session_id;
			return at.vm_fd;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	return -errno;
}

int kh_kmod_attach_failed(const struct kh_access *acc, int r,
			  struct kh_err *err)
{
	switch (r) {
	case EPERM:
	case EACCES:
		return kh_err_set(err, r,
				  "keyhole.ko refuses to attach to QEMU pid %d: permission denied (it needs the right to read /proc/%d/mem: run as root or as QEMU's user with ptrace allowed)",
				  (int)acc->pid, (int)acc->pid);
	case ESRCH:
		return kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				  (int)acc->pid);
	case EAGAIN:
		return kh_err_set(err, EAGAIN,
				  "QEMU pid %d kept running execve() while keyhole.ko attached",
				  (int)acc->pid);
	case EUSERS:
		return kh_err_set(err, EUSERS,
				  "QEMU pid %d has too many keyhole.ko sessions open: close some first",
				  (int)acc->pid);
	default:
		return kh_err_set(err, r,
				  "keyhole.ko cannot attach to QEMU pid %d: %s",
				  (int)acc->pid, strerror(r));
	}
}

/* The module mirrors exactly the ranges the engine reads. */
static int set_ranges(int vm_fd, struct kh_access *acc, struct kh_err *err)
{
	struct keyhole_range ranges[KH_LAYOUT_MAX_RANGES];
	const struct kh_layout *layout = acc->layout;
	struct keyhole_set_ranges set = {
		.size = sizeof(set), .range_size = sizeof(struct keyhole_range),
	};
	long page = sysconf(_SC_PAGESIZE);
	unsigned int i;

	if (!layout->nr)
		return kh_err_set(err, EINVAL, "the guest RAM layout is empty");
	if (layout->nr > KEYHOLE_RANGES_MAX)
		return kh_err_set(err, E2BIG,
				  "guest RAM has %u ranges, keyhole.ko takes at most %u",
				  layout->nr, KEYHOLE_RANGES_MAX);
	for (i = 0; i < layout->nr; i++) {
		const struct kh_ram_range *r = &layout->range[i];

		if ((r->gpa | r->hva | r->size) & (uint64_t)(page - 1))
			return kh_err_set(err, EINVAL,
					  "guest RAM range 0x%" PRIx64 "+0x%" PRIx64 " at QEMU address 0x%" PRIx64 " is not page aligned: keyhole.ko maps whole pages",
					  r->gpa, r->size, r->hva);
		ranges[i] = (struct keyhole_range){ .gpa = r->gpa,
						    .hva = r->hva,
						    .len = r->size };
	}
	set.nr_ranges = layout->nr;
	set.ranges = (uintptr_t)ranges;
	if (!ioctl(vm_fd, KEYHOLE_SET_RANGES, &set))
		return 0;
	switch (errno) {
	case ENXIO:
		return kh_err_set(err, ENXIO,
				  "keyhole.ko finds guest RAM of QEMU pid %d not fully backed by its mappings (the layout from %s is stale or wrong)",
				  (int)acc->pid, layout->source ?: "?");
	case ESRCH:
		return kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				  (int)acc->pid);
	default:
		return kh_err_set(err, errno,
				  "keyhole.ko refuses the guest RAM ranges of QEMU pid %d: %s",
				  (int)acc->pid, strerror(errno));
	}
}

int kh_kmod_attach_by(struct kh_access *acc, uint64_t features,
		      kh_kmod_attach_t attach, void *arg, struct kh_err *err)
{
	int dev, vm_fd, ret;

	if (!acc->pid)
		return kh_err_set(err, EINVAL,
				  "keyhole.ko needs a live QEMU process");
	dev = open_device(err);
	if (dev < 0)
		return dev;
	ret = handshake(dev, features, err);
	if (ret) {
		close(dev);
		return ret;
	}
	vm_fd = attach ? attach(arg, dev, acc, &acc->kmod_session) :
		kh_kmod_attach_once(dev, acc, &acc->kmod_session);
	/* The per-VM fd holds the module by itself. */
	close(dev);
	if (vm_fd < 0)
		return kh_kmod_attach_failed(acc, -vm_fd, err);
	ret = set_ranges(vm_fd, acc, err);
	if (ret) {
		close(vm_fd);
		return ret;
	}
	return vm_fd;
}

int kh_kmod_attach(struct kh_access *acc, uint64_t features,
		   struct kh_err *err)
{
	return kh_kmod_attach_by(acc, features, NULL, NULL, err);
}
