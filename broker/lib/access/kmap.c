// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "kmap" (class IV, live memory map) through keyhole.ko:
 * the per-VM fd is mapped once, read-only, at offset = GPA for every RAM
 * range, and a read is a memcpy from that mirror. Unlike memmap it works
 * for any RAM QEMU has, anonymous included, and the module keeps the
 * mirror coherent with QEMU's page tables without pinning a page
 * (Documentation/kmod-abi.md). The first touch of each page costs a
 * fault in the module; after that no system call at all. (memmap's
 * MADV_POPULATE_READ prefault does not apply: the mirror is VM_PFNMAP,
 * which get_user_pages refuses.)
 *
 * Once QEMU exits, a touch of the mirror raises SIGBUS. A library must
 * not let that kill its caller, so the copy runs under a SIGBUS handler
 * that returns to the copy loop only for a fault taken by this thread
 * inside it; any other SIGBUS goes to the handler that was there before
 * (or the default action). The handler is installed at the first open
 * and stays: removing it could race with another thread's copy.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <keyhole.h>

#include "access/kmod_pause.h"
#include "access/kmod_session.h"

struct kmap_range {
	uint64_t gpa, size;
	const uint8_t *base;
};

struct kh_kmap {
	int vm_fd;
	unsigned int nr;
	struct kmap_range range[KH_LAYOUT_MAX_RANGES];
};

static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;
static struct sigaction sigbus_prev;
static int sigbus_installed;
static __thread sigjmp_buf *copy_jmp;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jmp = copy_jmp;

	if (jmp) {
		copy_jmp = NULL;
		siglongjmp(*jmp, 1);
	}
	/* Not a fault of ours: what would have happened without us. */
	if (sigbus_prev.sa_flags & SA_SIGINFO) {
		sigbus_prev.sa_sigaction(sig, si, uc);
		return;
	}
	if (sigbus_prev.sa_handler != SIG_DFL &&
	    sigbus_prev.sa_handler != SIG_IGN) {
		sigbus_prev.sa_handler(sig);
		return;
	}
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

static void install_sigbus(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus };

	/* NODEFER: siglongjmp leaves the handler without sigreturn. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigbus_installed = !sigaction(SIGBUS, &sa, &sigbus_prev);
}

void kh_kmap_free(struct kh_kmap *map)
{
	unsigned int i;

	if (!map)
		return;
	for (i = 0; i < map->nr; i++)
		munmap((void *)map->range[i].base, map->range[i].size);
	if (map->vm_fd >= 0)
		close(map->vm_fd);
	free(map);
}

int kh_kmap_vm_fd(const struct kh_kmap *map)
{
	return map->vm_fd;
}

static int guard_sigbus(struct kh_err *err)
{
	pthread_once(&sigbus_once, install_sigbus);
	if (!sigbus_installed)
		return kh_err_set(err, errno,
				  "cannot install the SIGBUS handler that guards reads of keyhole.ko's mapping");
	return 0;
}

/* The mirror of acc's layout from the per-VM fd, which it takes. */
static int map_mirror(struct kh_access *acc, int fd, struct kh_kmap **mapp,
		      struct kh_err *err)
{
	const struct kh_layout *layout = acc->layout;
	struct kh_kmap *map;
	unsigned int i;

	map = calloc(1, sizeof(*map));
	if (!map) {
		close(fd);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	map->vm_fd = fd;
	for (i = 0; i < layout->nr; i++) {
		const struct kh_ram_range *r = &layout->range[i];
		void *base;

		base = mmap(NULL, r->size, PROT_READ, MAP_SHARED, fd,
			    (off_t)r->gpa);
		if (base == MAP_FAILED) {
			int code = errno;

			kh_kmap_free(map);
			return kh_err_set(err, code,
					  "cannot map guest RAM 0x%" PRIx64 "+0x%" PRIx64 " of QEMU pid %d through keyhole.ko: %s",
					  r->gpa, r->size, (int)acc->pid,
					  strerror(code));
		}
		map->range[map->nr++] = (struct kmap_range){
			.gpa = r->gpa, .size = r->size, .base = base };
	}
	*mapp = map;
	return 0;
}

int kh_kmap_new(struct kh_access *acc, uint64_t features,
		struct kh_kmap **mapp, struct kh_err *err)
{
	int fd, ret = guard_sigbus(err);

	if (ret)
		return ret;
	fd = kh_kmod_attach(acc, features | KEYHOLE_FEATURE_MAP, err);
	if (fd < 0)
		return fd;
	return map_mirror(acc, fd, mapp, err);
}

static const struct kmap_range *find(const struct kh_kmap *map, uint64_t gpa,
				     uint64_t len)
{
	unsigned int r;

	for (r = 0; r < map->nr; r++)
		if (gpa - map->range[r].gpa < map->range[r].size)
			return len <= map->range[r].size -
				      (gpa - map->range[r].gpa) ?
			       &map->range[r] : NULL;
	return NULL;
}

const void *kh_kmap_at(const struct kh_kmap *map, uint64_t gpa, uint64_t len)
{
	const struct kmap_range *range = find(map, gpa, len);

	return range ? range->base + (gpa - range->gpa) : NULL;
}

int kh_kmap_copy(struct kh_access *acc, struct kh_kmap *map,
		 struct kh_read *reads, unsigned int nr)
{
	/* volatile: they must survive the siglongjmp back to sigsetjmp. */
	volatile unsigned int i = 0, failed = 0;
	volatile uint64_t bytes = 0;
	sigjmp_buf jmp;

	kh_access_count(&acc->elems, nr);
	if (sigsetjmp(jmp, 0)) {
		/* Element i faulted: QEMU has gone, or its page cannot be had. */
		if (kh_access_alive(acc))
			goto gone;
		reads[i].result = -EIO;
		failed++;
		i++;
	}
	copy_jmp = &jmp;
	for (; i < nr; i++) {
		const struct kmap_range *range = find(map, reads[i].addr,
						      reads[i].len);
		const uint8_t *src;

		if (!range) {
			reads[i].result = -EFAULT;
			failed++;
			continue;
		}
		src = range->base + (reads[i].addr - range->gpa);
		memcpy(reads[i].buf, src, reads[i].len);
		reads[i].result = 0;
		bytes += reads[i].len;
	}
	copy_jmp = NULL;
	kh_access_count(&acc->bytes, bytes);
	return failed;
gone:
	copy_jmp = NULL;
	for (i = 0; i < nr; i++)
		reads[i].result = -ESRCH;
	return -ESRCH;
}

/* The technique: the mirror, and keyhole.ko's pause when asked. */
struct kmap {
	struct kh_kmap *map;
	struct kh_kmod_pause pause;
};

/* kmap on the per-VM fd (taken), or on a new attachment when fd < 0. */
static int kmap_start(struct kh_access *acc, int fd, struct kh_err *err)
{
	struct kmap *km = calloc(1, sizeof(*km));
	int ret;

	if (!km) {
		if (fd >= 0)
			close(fd);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	if (fd < 0) {
		ret = kh_kmap_new(acc, 0, &km->map, err);
	} else {
		ret = guard_sigbus(err);
		if (ret)
			close(fd);
		else
			ret = map_mirror(acc, fd, &km->map, err);
	}
	if (ret) {
		free(km);
		return ret;
	}
	kh_kmod_pause_init(&km->pause, kh_kmap_vm_fd(km->map));
	acc->priv = km;
	return 0;
}

static int kmap_open(struct kh_access *acc, struct kh_err *err)
{
	return kmap_start(acc, -1, err);
}

int kh_kmap_open_fd(struct kh_access *acc, int fd, struct kh_err *err)
{
	int ret = kmap_start(acc, fd, err);

	if (!ret)
		acc->ops = &kh_access_kmap;
	return ret;
}

static int kmap_read(struct kh_access *acc, struct kh_read *reads,
		     unsigned int nr)
{
	struct kmap *km = acc->priv;

	/* Under a long kh_vm_pause, reads keep the module's watchdog away. */
	if (__atomic_load_n(&km->pause.paused, __ATOMIC_RELAXED))
		kh_kmod_renew(acc, &km->pause, NULL);
	return kh_kmap_copy(acc, km->map, reads, nr);
}

static const void *kmap_map(struct kh_access *acc, uint64_t gpa, uint64_t len)
{
	struct kmap *km = acc->priv;

	return kh_kmap_at(km->map, gpa, len);
}

static int kmap_halt(struct kh_access *acc, struct kh_err *err)
{
	struct kmap *km = acc->priv;

	return kh_kmod_pause(acc, &km->pause, err);
}

static int kmap_unhalt(struct kh_access *acc, struct kh_err *err)
{
	struct kmap *km = acc->priv;

	return kh_kmod_resume(acc, &km->pause, err);
}

static int kmap_keep_halted(struct kh_access *acc, struct kh_err *err)
{
	struct kmap *km = acc->priv;

	return kh_kmod_renew(acc, &km->pause, err);
}

static void kmap_close(struct kh_access *acc)
{
	struct kmap *km = acc->priv;

	if (!km)
		return;
	kh_kmod_resume(acc, &km->pause, NULL);
	kh_kmap_free(km->map);
	kh_kmod_pause_destroy(&km->pause);
	free(km);
	acc->priv = NULL;
}

const struct kh_access_ops kh_access_kmap = {
	.name = "kmap",
	.klass = "IV",
	.props = KH_TECHNIQUE_LIVE | KH_TECHNIQUE_MAPPED,
	.description = "keyhole.ko's coherent read-only mapping of guest RAM, any backend, no system call per read (needs the module)",
	.open = kmap_open,
	.read = kmap_read,
	.close = kmap_close,
	.map = kmap_map,
	.halt = kmap_halt,
	.unhalt = kmap_unhalt,
	.keep_halted = kmap_keep_halted,
};
