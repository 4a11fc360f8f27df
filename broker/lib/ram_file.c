// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest RAM handed over as a file (struct kh_ram_file): keyholed opens
 * the memfd or file behind a VM's RAM for a client that may introspect
 * the VM and passes it with SCM_RIGHTS; the client attaches to it here
 * and maps guest RAM itself, so no daemon sits in its read path.
 *
 * The file is opened read-only by the side that could open QEMU's fds,
 * so it grants reading guest RAM and nothing more: no write (O_RDONLY,
 * and the mapping is PROT_READ), nothing of QEMU's other memory, no
 * control of the VM. The pidfd that comes with it only tells when QEMU
 * exits: signals sent through it are checked against the sender's own
 * rights. Anonymous RAM is in no file: with keyhole.ko loaded, a session
 * of the module stands in for it (kmod_session() below).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <keyhole.h>

#include "access/kmod_session.h"
#include "access/technique.h"
#include "kernel/memory.h"
#include "ram_file.h"
#include "vm.h"

_Static_assert(KH_RAM_FILE_MAX_RANGES >= KH_LAYOUT_MAX_RANGES,
	       "a layout must fit in a kh_ram_file");

/*
 * Anonymous RAM is in no file: a keyhole.ko session of its own on the
 * QEMU process instead, its ranges set, mapped at offset = GPA. The
 * session is not the caller's (keyholed's own stays its own): what its
 * holder does with it, a pause or a new set of ranges, touches nobody
 * else's view. Without the module, the error says what each way lacks.
 */
static int kmod_session(struct kh_access *acc, kh_kmod_attach_t attach,
			void *arg, struct kh_ram_file *ram, int *fdp,
			uint64_t *offsets, struct kh_err *err)
{
	char memmap_why[sizeof(err->msg)];
	struct kh_err why = { 0 };
	unsigned int i;
	int fd;

	snprintf(memmap_why, sizeof(memmap_why), "%s", err->msg);
	fd = kh_kmod_attach_by(acc, KEYHOLE_FEATURE_MAP, attach, arg, &why);
	/* A refusal or an exit is said as one, not as a lack of means. */
	if (fd < 0)
		return kh_err_set(err, why.code == EPERM || why.code == EACCES ||
				  why.code == ESRCH ? why.code : ENODEV,
				  "%s; nor can keyhole.ko hand it over: %s",
				  memmap_why, why.msg);
	for (i = 0; i < acc->layout->nr; i++)
		offsets[i] = acc->layout->range[i].gpa;
	ram->kind = KH_RAM_FILE_KMOD;
	ram->kmod_session = acc->kmod_session;
	*fdp = fd;
	return 0;
}

int kh_vm_ram_file(struct kh_vm *vm, unsigned int flags,
		   struct kh_ram_file *ram, struct kh_err *err)
{
	return kh_vm_ram_file_by(vm, flags, NULL, NULL, ram, err);
}

int kh_vm_ram_file_by(struct kh_vm *vm, unsigned int flags,
		      kh_kmod_attach_t attach, void *arg,
		      struct kh_ram_file *ram, struct kh_err *err)
{
	uint64_t offsets[KH_LAYOUT_MAX_RANGES];
	struct kh_access acc = {
		.pid = vm->target.pid,
		.layout = &vm->layout,
		.target = &vm->target,
		.pidfd = vm->acc.pidfd,
	};
	unsigned int i;
	int ret, fd;

	memset(ram, 0, sizeof(*ram));
	ram->fd = ram->pidfd = -1;
	if (!vm->target.pid)
		return kh_err_set(err, EINVAL,
				  "VM %s is a RAM image, not a running QEMU: open the image itself",
				  vm->target.name);
	ret = kh_memmap_file(&acc, &fd, offsets, err);
	if (ret == -ENODEV && (flags & KH_RAM_FILE_MAY_KMOD))
		ret = kmod_session(&acc, attach, arg, ram, &fd, offsets, err);
	if (ret)
		return ret;
	/* The file is the process's only if it still runs now. */
	if (kh_access_alive(&vm->acc)) {
		close(fd);
		return kh_err_set(err, ESRCH, "QEMU process %d exited",
				  (int)vm->target.pid);
	}
	/* Its own pidfd: the one taken at attach, not one by pid now. */
	if (vm->acc.pidfd >= 0) {
		ram->pidfd = fcntl(vm->acc.pidfd, F_DUPFD_CLOEXEC, 0);
		if (ram->pidfd < 0) {
			ret = kh_err_set(err, errno, "cannot duplicate a pidfd: %s",
					 strerror(errno));
			close(fd);
			return ret;
		}
	}
	ram->fd = fd;
	ram->pid = vm->target.pid;
	snprintf(ram->name, sizeof(ram->name), "%s",
		 vm->target.libvirt_name[0] ? vm->target.libvirt_name :
		 vm->target.name);
	ram->nr = vm->layout.nr;
	for (i = 0; i < vm->layout.nr; i++) {
		ram->range[i].gpa = vm->layout.range[i].gpa;
		ram->range[i].size = vm->layout.range[i].size;
		ram->range[i].offset = offsets[i];
	}
	return 0;
}

/* What a layout promises the walkers: sorted, disjoint, page-aligned. */
static int check_ranges(const struct kh_ram_file *ram, struct kh_err *err)
{
	unsigned int i;

	if (!ram->nr || ram->nr > KH_LAYOUT_MAX_RANGES)
		return kh_err_set(err, EINVAL,
				  "a RAM file must have 1 to %u ranges, not %u",
				  KH_LAYOUT_MAX_RANGES, ram->nr);
	if (ram->kind != KH_RAM_FILE_BACKEND && ram->kind != KH_RAM_FILE_KMOD)
		return kh_err_set(err, EINVAL, "a RAM file of unknown kind %d",
				  (int)ram->kind);
	for (i = 0; i < ram->nr; i++) {
		uint64_t gpa = ram->range[i].gpa, size = ram->range[i].size;

		/* keyhole.ko's mapping is at the GPA itself. */
		if (ram->kind == KH_RAM_FILE_KMOD && ram->range[i].offset != gpa)
			return kh_err_set(err, EINVAL,
					  "keyhole.ko's RAM range %u (gpa 0x%" PRIx64 ") must be at offset 0x%" PRIx64 ", not 0x%" PRIx64,
					  i, gpa, gpa, ram->range[i].offset);
		if (!size || ((gpa | size | ram->range[i].offset) & 4095) ||
		    gpa + size < gpa ||
		    ram->range[i].offset + size < ram->range[i].offset ||
		    (i && gpa < ram->range[i - 1].gpa + ram->range[i - 1].size))
			return kh_err_set(err, EINVAL,
					  "RAM file range %u (gpa 0x%" PRIx64 ", 0x%" PRIx64 " bytes at offset 0x%" PRIx64 ") is empty, unaligned, or overlaps the one before",
					  i, gpa, size, ram->range[i].offset);
	}
	return 0;
}

int kh_vm_open_ram_file(struct kh_ctx *ctx, const struct kh_ram_file *ram,
			const struct kh_vm_config *cfg, struct kh_vm **vmp,
			struct kh_err *err)
{
	static const struct kh_vm_config defaults;
	uint64_t offsets[KH_LAYOUT_MAX_RANGES];
	struct timespec t0, t1;
	struct kh_vm *vm;
	unsigned int i;
	int ret, fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!cfg)
		cfg = &defaults;
	if (cfg->technique || cfg->layout != KH_LAYOUT_AUTO)
		return kh_err_set(err, EINVAL,
				  "a VM attached through a RAM file is read with memmap, from the layout that came with it: no technique or layout can be chosen");
	if (ram->fd < 0)
		return kh_err_set(err, EBADF, "no RAM file descriptor");
	ret = check_ranges(ram, err);
	if (ret)
		return ret;
	ret = kh_vm_alloc(cfg, &vm, err);
	if (ret)
		return ret;
	vm->ctx = ctx;
	vm->target.pid = ram->pid;
	snprintf(vm->target.name, sizeof(vm->target.name), "%s", ram->name);
	vm->layout.nr = ram->nr;
	vm->layout.source = "ram-file";
	for (i = 0; i < ram->nr; i++) {
		vm->layout.range[i].gpa = ram->range[i].gpa;
		vm->layout.range[i].size = ram->range[i].size;
		/* No address in QEMU is known here: the file offset is. */
		vm->layout.range[i].hva = ram->range[i].offset;
		offsets[i] = ram->range[i].offset;
	}
	vm->acc.pid = ram->pid;
	vm->acc.layout = &vm->layout;
	vm->acc.target = &vm->target;
	if (ram->pidfd >= 0) {
		vm->acc.pidfd = fcntl(ram->pidfd, F_DUPFD_CLOEXEC, 0);
		if (vm->acc.pidfd < 0) {
			ret = kh_err_set(err, errno, "cannot duplicate the pidfd: %s",
					 strerror(errno));
			goto fail;
		}
	}
	fd = fcntl(ram->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		ret = kh_err_set(err, errno, "cannot duplicate the RAM file: %s",
				 strerror(errno));
		goto fail;
	}
	if (ram->kind == KH_RAM_FILE_KMOD) {
		vm->acc.ram_fd = -1;
		vm->acc.ram_mirror = 1;	/* kmap takes fd, even on failure */
	} else {
		vm->acc.ram_file = 1;
		vm->acc.ram_fd = fd;
	}
	if (vm->acc.ram_mirror)
		ret = kh_kmap_open_fd(&vm->acc, fd, err);
	else
		ret = kh_memmap_open_fd(&vm->acc, fd, offsets, err);
	if (!ret)
		ret = kh_kernel_locate(vm, err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
	if (ret)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vm->attach_ms = (t1.tv_sec - t0.tv_sec) * 1e3 +
			(t1.tv_nsec - t0.tv_nsec) / 1e6;
	*vmp = vm;
	return 0;
fail:
	kh_vm_close(vm);
	return ret;
}
