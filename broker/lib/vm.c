// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine (libkeyhole). Its data flows one way, one folder per step:
 * qemu/ finds the QEMU process and where guest RAM lies in it, access/
 * gets guest-physical bytes by one of the paper's technique classes,
 * kernel/ finds the guest kernel and reads its memory by virtual address,
 * walk/ reads each kind of kernel object, crawl/ does a whole monitoring
 * iteration, json/ encodes every result. A folder calls only the folders
 * before it. At the top: the handle (vm.c, vm.h), the context VMs share
 * (context.c) and error reporting (err.c).
 *
 * This file attaches to a VM: from a spec to a QEMU process, its RAM
 * layout, an access technique and the guest kernel, in that order; each
 * step names what is missing when it fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "access/snapshot_store.h"
#include "debug.h"
#include "qemu/libvirt.h"
#include "qemu/procfs.h"
#include "vm.h"

#define QMP_TIMEOUT_MS 3000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int layout_via_monitor(struct kh_vm *vm, struct kh_err *err)
{
	struct kh_qmp *qmp;
	int ret;

	if (vm->target.libvirt_name[0]) {
		ret = kh_libvirt_monitor(&vm->target, &qmp, err);
		if (ret)
			return ret;
		ret = kh_layout_from_qmp(qmp, &vm->layout, err);
		kh_qmp_close(qmp);
		return ret;
	}
	if (!vm->target.qmp_path[0])
		return kh_err_set(err, ENOENT,
				  "QEMU pid %d has no QMP unix socket on its command line (add -qmp unix:PATH,server=on,wait=off)",
				  (int)vm->target.pid);
	ret = kh_qmp_connect(vm->target.qmp_path, QMP_TIMEOUT_MS, &qmp, err);
	if (ret)
		return ret;
	if (kh_qmp_peer_pid(qmp) != vm->target.pid)
		ret = kh_err_set(err, EPERM,
				  "QMP socket %s belongs to pid %d, not to QEMU pid %d",
				  vm->target.qmp_path, (int)kh_qmp_peer_pid(qmp),
				  (int)vm->target.pid);
	else
		ret = kh_layout_from_qmp(qmp, &vm->layout, err);
	kh_qmp_close(qmp);
	return ret;
}

/* The process has exited (or is a zombie): nothing will answer. */
static int qemu_gone(pid_t pid)
{
	struct kh_procfs_stat st;
	char text[1024];
	size_t len;
	int dir = kh_procfs_open(pid), r;

	if (dir < 0)
		return 1;
	r = kh_procfs_read(dir, "stat", text, sizeof(text) - 1, &len);
	close(dir);
	if (r == -ESRCH)
		return 1;
	return !r && !kh_procfs_parse_stat(text, len, &st) &&
	       (st.state == 'Z' || st.state == 'X');
}

/*
 * The layout queries change nothing in QEMU, so a conversation QEMU
 * hung up on is asked again once on a new connection when QEMU still
 * runs. (CI once saw a QEMU in a busy nested guest hang up on this
 * conversation between two HMP commands; whether it was dying then is
 * not known.) When QEMU has exited, that is what is said.
 */
static int layout_via_qmp(struct kh_vm *vm, struct kh_err *err)
{
	int ret = layout_via_monitor(vm, err);

	if (ret != -ECONNRESET && ret != -EPIPE)
		return ret;
	if (qemu_gone(vm->target.pid)) {
		kh_err_prefix(err,
			      "QEMU pid %d exited while keyhole asked it where guest RAM lies",
			      (int)vm->target.pid);
		if (err)
			err->code = ESRCH;
		return -ESRCH;
	}
	if (err)
		memset(err, 0, sizeof(*err));
	return layout_via_monitor(vm, err);
}

static int find_layout(struct kh_vm *vm, enum kh_layout_source source,
		       struct kh_err *err)
{
	struct kh_err qmp_err = { 0 };
	int ret;

	switch (source) {
	case KH_LAYOUT_QMP:
		return layout_via_qmp(vm, err);
	case KH_LAYOUT_MAPS:
		return kh_layout_from_maps(&vm->target, &vm->layout, err);
	case KH_LAYOUT_AUTO:
		break;
	default:
		return kh_err_set(err, EINVAL, "unknown layout source %d",
				  (int)source);
	}
	if (vm->target.qmp_path[0] || vm->target.libvirt_name[0]) {
		ret = layout_via_qmp(vm, &qmp_err);
		if (!ret)
			return 0;
		if (ret == -ESRCH) {
			if (err)
				*err = qmp_err;
			return ret;
		}
	}
	ret = kh_layout_from_maps(&vm->target, &vm->layout, err);
	if (ret && qmp_err.code)
		kh_err_prefix(err, "%s; and from /proc/%d/maps", qmp_err.msg,
			      (int)vm->target.pid);
	return ret;
}

/* "memmap, pvreadv, ..." for messages. */
static void technique_names(char *out, size_t size)
{
	const struct kh_access_ops *const *ops;
	size_t len = 0;

	out[0] = '\0';
	for (ops = kh_access_all; *ops && len < size; ops++)
		len += snprintf(out + len, size - len, "%s%s",
				len ? ", " : "", (*ops)->name);
}

/*
 * The default: live techniques that read guest memory themselves, in
 * order of speed. Snapshots copy all of RAM, halting ones stop the guest
 * and an agent sees no memory: each must be asked for by name.
 */
static int is_default(const struct kh_access_ops *ops)
{
	return (ops->props & KH_TECHNIQUE_LIVE) &&
	       !(ops->props & (KH_TECHNIQUE_SNAPSHOT | KH_TECHNIQUE_AGENT));
}

void kh_vm_init_access(struct kh_vm *vm)
{
	char path[64];

	vm->acc.pid = vm->target.pid;
	vm->acc.layout = &vm->layout;
	vm->acc.target = &vm->target;
	vm->acc.halt_journal = vm->ctx ? vm->ctx->halt_journal : NULL;
	vm->acc.pidfd = syscall(SYS_pidfd_open, vm->target.pid, 0);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)vm->target.pid);
	/* Without it residency checks open the file per call: slower only. */
	vm->acc.pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
}

static int open_access(struct kh_vm *vm, const char *technique,
		       struct kh_err *err)
{
	const struct kh_access_ops *const *ops;
	char names[256], tried[1024] = "";
	size_t len = 0;
	int ret = kh_err_set(err, ENOENT, "no access technique is built in");

	kh_vm_init_access(vm);
	if (vm->acc.pidfd < 0)
		return kh_err_set(err, errno, "cannot open pidfd of QEMU pid %d: %s",
				  (int)vm->target.pid, strerror(errno));
	if (technique) {
		kh_debug("technique %s, as asked", technique);
		vm->acc.ops = kh_access_lookup(technique);
		if (!vm->acc.ops) {
			technique_names(names, sizeof(names));
			return kh_err_set(err, EINVAL,
					  "unknown technique '%s' (known: %s)",
					  technique, names);
		}
		ret = vm->acc.ops->open(&vm->acc, err);
		if (ret) {
			kh_err_prefix(err, "technique %s is unavailable",
				      technique);
			vm->acc.ops = NULL;
		}
		return ret;
	}
	for (ops = kh_access_all; *ops; ops++) {
		struct kh_err why = { 0 };

		if (!is_default(*ops))
			continue;
		vm->acc.ops = *ops;
		vm->acc.priv = NULL;
		ret = vm->acc.ops->open(&vm->acc, &why);
		if (!ret) {
			kh_debug("technique %s works: chosen", (*ops)->name);
			return 0;
		}
		kh_debug("technique %s passed over: %s", (*ops)->name,
			 why.msg);
		if (len < sizeof(tried))
			len += snprintf(tried + len, sizeof(tried) - len,
					"%s%s: %s", len ? "; " : "",
					(*ops)->name, why.msg);
	}
	vm->acc.ops = NULL;
	return kh_err_set(err, -ret ?: ENOENT,
			  "no live access technique works on QEMU pid %d (%s); see 'keyhole techniques' for others",
			  (int)vm->target.pid, tried);
}

/* A regular file (not a socket) is a RAM image: ELF, migration or raw. */
int kh_vm_spec_is_image(const char *spec)
{
	struct stat st;

	return strchr(spec, '/') && !stat(spec, &st) && S_ISREG(st.st_mode);
}

static int open_image(struct kh_vm *vm, const char *path, struct kh_err *err)
{
	int ret;

	ret = kh_image_open(path, &vm->layout, &vm->acc, err);
	if (ret)
		return ret;
	snprintf(vm->target.name, sizeof(vm->target.name), "%s", path);
	return kh_kernel_locate(vm, err);
}

/* A socket path of the config in place of the one found on argv. */
static int override_socket(char sock[108], const char *path,
			   const char *what, struct kh_err *err)
{
	if (!path || !path[0])
		return 0;
	if (strlen(path) >= 108)
		return kh_err_set(err, ENAMETOOLONG,
				  "the %s socket path %s is longer than a unix socket path can be",
				  what, path);
	strcpy(sock, path);
	return 0;
}

static void debug_layout(const struct kh_vm *vm)
{
	unsigned int i;

	if (!kh_debug_on())
		return;
	kh_debug("guest RAM layout from %s: %u ranges",
		 vm->layout.source ?: "?", vm->layout.nr);
	for (i = 0; i < vm->layout.nr; i++)
		kh_debug("  gpa 0x%llx-0x%llx at QEMU address 0x%llx",
			 (unsigned long long)vm->layout.range[i].gpa,
			 (unsigned long long)(vm->layout.range[i].gpa +
					      vm->layout.range[i].size),
			 (unsigned long long)vm->layout.range[i].hva);
}

/* The QEMU process behind spec and its guest RAM layout. */
int kh_vm_find_target(struct kh_vm *vm, const char *spec,
		      const struct kh_vm_config *cfg, struct kh_err *err)
{
	int ret;

	ret = kh_target_resolve(spec, &vm->target, err);
	if (ret == -ENOENT && !strchr(spec, '/') && kh_libvirt_built())
		ret = kh_libvirt_explain_missing(cfg->libvirt_uri, spec, err);
	if (!ret)
		ret = override_socket(vm->target.qmp_path, cfg->qmp_path,
				      "QMP", err);
	/* Someone holds its monitor: libvirt, when it runs the domain. */
	if (!ret && !vm->target.qmp_path[0]) {
		ret = kh_libvirt_claims(&vm->target, err);
		if (ret > 0)
			ret = kh_libvirt_bind(&vm->target, cfg->libvirt_uri,
					      err);
	}
	if (!ret)
		ret = override_socket(vm->target.gdb_path, cfg->gdb_path,
				      "gdbstub", err);
	if (!ret)
		ret = override_socket(vm->target.qga_path, cfg->qga_path,
				      "guest agent", err);
	if (ret)
		return ret;
	kh_debug("'%s' is QEMU pid %d (name '%s', QMP %s%s%s)", spec,
		 (int)vm->target.pid, vm->target.name,
		 vm->target.qmp_path[0] ? vm->target.qmp_path : "none",
		 vm->target.libvirt_name[0] ? ", libvirt domain " : "",
		 vm->target.libvirt_name);
	ret = find_layout(vm, cfg->layout, err);
	if (!ret && !vm->layout.nr)
		ret = kh_err_set(err, ENOENT, "QEMU pid %d has no guest RAM",
				 (int)vm->target.pid);
	if (!ret)
		debug_layout(vm);
	return ret;
}

/* A setting of the config, copied into the handle for acc to point at. */
static int copy_setting(char *to, size_t size, const char *from,
			const char *what, const char **setting,
			struct kh_err *err)
{
	if (!from || !from[0])
		return 0;
	if (strlen(from) >= size)
		return kh_err_set(err, ENAMETOOLONG, "%s %s: path too long",
				  what, from);
	strcpy(to, from);
	*setting = to;
	return 0;
}

static _Atomic uint64_t serials;

int kh_vm_alloc(const struct kh_vm_config *cfg, struct kh_vm **vmp,
		struct kh_err *err)
{
	struct kh_vm *vm = calloc(1, sizeof(*vm));
	int ret;

	if (!vm)
		return kh_err_set(err, ENOMEM, "out of memory for a VM handle");
	vm->serial = atomic_fetch_add(&serials, 1) + 1;
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_mutex_init(&vm->acc.qmp_lock, NULL);
	vm->acc.pidfd = -1;
	vm->acc.pagemap_fd = -1;
	vm->acc.progress = cfg->progress;
	vm->acc.progress_opaque = cfg->progress_opaque;
	ret = copy_setting(vm->tmpdir, sizeof(vm->tmpdir), cfg->tmpdir,
			   "the snapshot directory", &vm->acc.tmpdir, err);
	if (!ret)
		ret = copy_setting(vm->keep_snapshot,
				   sizeof(vm->keep_snapshot),
				   cfg->keep_snapshot, "the snapshot to keep",
				   &vm->acc.keep_snapshot, err);
	if (ret) {
		kh_vm_close(vm);
		return ret;
	}
	*vmp = vm;
	return 0;
}

int kh_vm_open(struct kh_ctx *ctx, const char *spec,
	       const struct kh_vm_config *cfg, struct kh_vm **vmp,
	       struct kh_err *err)
{
	static const struct kh_vm_config defaults;
	double start = now_ms();
	struct kh_vm *vm;
	int ret;

	if (!cfg)
		cfg = &defaults;
	ret = kh_vm_alloc(cfg, &vm, err);
	if (ret)
		return ret;
	vm->ctx = ctx;
	if (kh_vm_spec_is_image(spec)) {
		ret = open_image(vm, spec, err);
		goto located;
	}
	ret = kh_vm_find_target(vm, spec, cfg, err);
	if (ret)
		goto fail;
	ret = open_access(vm, cfg->technique, err);
	if (ret)
		goto fail;
	/* An agent sees the guest's /proc, not its memory or kernel. */
	if (!(vm->acc.ops->props & KH_TECHNIQUE_AGENT))
		ret = kh_kernel_locate(vm, err);
located:
	if (!ret)
		ret = kh_vm_verify(vm, err);
	if (ret)
		goto fail;
	vm->attach_ms = now_ms() - start;
	if (vm->profile)
		kh_debug("guest kernel %s: text at 0x%llx (KASLR slide 0x%llx), %u-level paging, profile %s; attached in %.1f ms",
			 vm->profile->release,
			 (unsigned long long)vm->kernel.text_va,
			 (unsigned long long)(vm->kernel.text_va -
					      KH_KERNEL_LINK_VA),
			 vm->kernel.levels,
			 vm->profile->from_cache ? "from the cache" :
			 "built from guest RAM", vm->attach_ms);
	*vmp = vm;
	return 0;
fail:
	kh_vm_close(vm);
	return ret;
}

void kh_vm_close(struct kh_vm *vm)
{
	if (!vm)
		return;
	/* A guest we halted never stays halted because we went away. */
	while (vm->pause_depth)
		kh_vm_resume(vm, NULL);
	if (vm->op_paused)
		kh_vm_op_resume(vm, NULL);
	pthread_mutex_destroy(&vm->pause_lock);
	/* Releases a snapshot technique's copy too. */
	if (vm->acc.ops)
		vm->acc.ops->close(&vm->acc);
	pthread_mutex_destroy(&vm->acc.qmp_lock);
	if (vm->acc.pidfd >= 0)
		close(vm->acc.pidfd);
	if (vm->acc.pagemap_fd >= 0)
		close(vm->acc.pagemap_fd);
	if (vm->acc.ram_file && vm->acc.ram_fd >= 0)
		close(vm->acc.ram_fd);
	kh_profile_put(vm->profile);
	free(vm);
}

void kh_vm_get_info(const struct kh_vm *vm, struct kh_vm_info *info)
{
	const struct kh_kernel *k = &vm->kernel;

	memset(info, 0, sizeof(*info));
	info->pid = vm->target.pid;
	info->name = vm->target.name;
	info->technique = vm->acc.ops->name;
	info->layout_source = vm->layout.source;
	info->nr_ranges = vm->layout.nr;
	info->ranges = vm->layout.range;
	info->kernel_release = vm->profile ? vm->profile->release : "";
	info->kernel_banner = vm->profile ? vm->profile->banner : "";
	info->kernel_phys = k->phys;
	info->kernel_virt = k->text_va;
	info->kaslr_slide = k->text_va - KH_KERNEL_LINK_VA;
	info->page_offset_base = k->page_offset_base;
	info->paging_levels = k->levels;
	info->profile_from_cache = vm->profile && vm->profile->from_cache;
	info->attach_ms = vm->attach_ms;
	info->technique_props = vm->acc.ops->props;
}
