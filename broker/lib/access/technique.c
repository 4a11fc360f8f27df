// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What every access technique shares: the list of techniques, residency
 * from /proc/PID/pagemap, whether the QEMU process is still alive, and
 * for the QMP-based ones the monitor connection and temporary files.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "access/technique.h"
#include "qemu/qmp.h"

#define PAGE_SIZE		4096ull
#define PM_PRESENT		(1ull << 63)
#define PM_SWAPPED		(1ull << 62)
#define PAGEMAP_CHUNK		512	/* entries per pread: 2 MiB */

/*
 * Measured on a paused TCG guest by tests/unit/test_layout_qmp.c: 64-byte
 * reads in batches of 256 cost 0.13 us each with pvreadv and 1.8 us with
 * procmem, which needs a system call per read. A lone read is cheaper with
 * procmem (1.7 us against 3.1 us, of which ~1.2 us is pvreadv's pidfd
 * check), but the engine batches its reads, so pvreadv goes first. After
 * the live memory techniques come the halting ones, the agent, interface
 * access and last the snapshots, slowest to take last; the default picks
 * only live techniques that read memory and copy nothing (vm.c).
 */
/*
 * keyhole.ko's techniques (kmod_client.c), measured through the engine by
 * tests/kmod/bench_ladder.c on a nested KVM guest: one warm 64-byte
 * kh_read_phys costs 1.6 us with kmap, 7 us with memmap and kread, 14 us
 * with pvreadv, 27 us with procmem (kread needs no pidfd check after each
 * operation: its fd is bound to QEMU's mm). kmap goes first: no system
 * call per read, and any RAM backend. Without the module their open fails
 * at once (no /dev/keyhole) and the order of the others is unchanged.
 * kpause parks only the vCPU threads, in the kernel: a ps walk held the
 * guest 1 ms against ptrace's 5.6 ms.
 */
const struct kh_access_ops *const kh_access_all[] = {
	&kh_access_kmap,
	&kh_access_memmap,
	&kh_access_kread,
	&kh_access_pvreadv,
	&kh_access_procmem,
	&kh_access_kpause,
	&kh_access_ptrace,
	&kh_access_gdbstub,
	&kh_access_agent,
	&kh_access_hmp,
	&kh_access_bgsnap,
	&kh_access_migrate,
	&kh_access_dump,
	&kh_access_pmemsave,
	NULL,
};

const struct kh_access_ops *kh_access_lookup(const char *name)
{
	unsigned int i;

	for (i = 0; kh_access_all[i]; i++)
		if (!strcmp(kh_access_all[i]->name, name))
			return kh_access_all[i];
	return NULL;
}

int kh_access_alive(const struct kh_access *acc)
{
	struct pollfd pfd = { .fd = acc->pidfd, .events = POLLIN };
	int r;

	/* A pidfd turns readable when the process exits. */
	if (acc->pidfd >= 0) {
		do
			r = poll(&pfd, 1, 0);
		while (r < 0 && errno == EINTR);
		if (r > 0)
			return -ESRCH;
		if (r == 0)
			return 0;
	}
	/*
	 * No pidfd (kernel < 5.3): the pid may have been reused, but a
	 * missing pid at least is certain.
	 */
	if (kill(acc->pid, 0) && errno == ESRCH)
		return -ESRCH;
	return 0;
}

int kh_access_exited_after(const struct kh_access *acc, int ret)
{
	struct pollfd pfd = { .fd = acc->pidfd, .events = POLLIN };
	int waited, r;

	if (ret != -ECONNRESET && ret != -EPIPE)
		return kh_access_alive(acc);
	/*
	 * A QEMU being killed closes its sockets (the lost connection) in
	 * do_exit() before the kernel marks it exited (its pidfd turns
	 * readable only then), and a busy host may run something else in
	 * between: wait for the exit to show, up to a second.
	 */
	if (acc->pidfd >= 0) {
		do
			r = poll(&pfd, 1, 1000);
		while (r < 0 && errno == EINTR);
		return r > 0 ? -ESRCH : kh_access_alive(acc);
	}
	for (waited = 0; waited < 1000; waited += 10) {
		if (kh_access_alive(acc))
			return -ESRCH;
		poll(NULL, 0, 10);
	}
	return 0;
}

int kh_access_resident(struct kh_access *acc, uint64_t gpa, uint64_t len,
		       uint8_t *map, struct kh_err *err)
{
	uint64_t entries[PAGEMAP_CHUNK];
	uint64_t npages, done = 0;
	char path[64];
	int fd, r = 0;

	if ((gpa | len) & (PAGE_SIZE - 1))
		return kh_err_set(err, EINVAL,
				  "residency is asked for 0x%" PRIx64 "+0x%" PRIx64 ", which is not 4 KiB aligned",
				  gpa, len);
	npages = len / PAGE_SIZE;
	if (!acc->pid) {
		/* An image file: every page it holds is there to read. */
		for (done = 0; done < npages; done++)
			map[done] = !!kh_layout_find(acc->layout,
						     gpa + done * PAGE_SIZE);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)acc->pid);
	/* Attach-time scans ask page by page: reuse the handle's fd. */
	fd = acc->pagemap_fd >= 0 ? acc->pagemap_fd :
				    open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		if (r == ENOENT || kh_access_alive(acc))
			return kh_err_set(err, ESRCH,
					  "QEMU pid %d has exited",
					  (int)acc->pid);
		return kh_err_set(err, r, "cannot open %s: %s", path,
				  strerror(r));
	}

	while (done < npages) {
		uint64_t page = gpa + done * PAGE_SIZE;
		const struct kh_ram_range *rr;
		uint64_t n, hva, i;
		ssize_t got;

		rr = kh_layout_find(acc->layout, page);
		if (!rr) {
			/* Not RAM: nothing there to read or to skip. */
			map[done++] = 0;
			continue;
		}
		n = (rr->gpa + rr->size - page) / PAGE_SIZE;
		if (n > npages - done)
			n = npages - done;
		if (n > PAGEMAP_CHUNK)
			n = PAGEMAP_CHUNK;
		hva = rr->hva + (page - rr->gpa);
		got = pread(fd, entries, n * sizeof(entries[0]),
			    (off_t)(hva / PAGE_SIZE * sizeof(entries[0])));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || got % sizeof(entries[0])) {
			r = got < 0 ? errno : EIO;
			if (kh_access_alive(acc)) {
				r = kh_err_set(err, ESRCH,
					       "QEMU pid %d has exited",
					       (int)acc->pid);
				break;
			}
			r = kh_err_set(err, r,
				       "cannot read %s at 0x%" PRIx64 ": %s",
				       path, hva, strerror(r));
			break;
		}
		n = got / sizeof(entries[0]);
		for (i = 0; i < n; i++)
			map[done + i] =
				!!(entries[i] & (PM_PRESENT | PM_SWAPPED));
		done += n;
	}
	if (fd != acc->pagemap_fd)
		close(fd);
	return r;
}

#define QMP_PROBE_MS	3000
#define HOW_TO_QMP	"start QEMU with -qmp unix:PATH,server=on,wait=off"

int kh_access_qmp(struct kh_access *acc, int timeout_ms,
		  struct kh_qmp **qmpp, struct kh_err *err)
{
	const char *path = acc->target ? acc->target->qmp_path : "";
	struct kh_qmp *qmp;
	struct stat st;
	int ret;

	*qmpp = NULL;
	if (!path[0])
		return kh_err_set(err, ENOENT,
				  "QEMU pid %d has no QMP socket: " HOW_TO_QMP,
				  (int)acc->pid);
	if (stat(path, &st) || !S_ISSOCK(st.st_mode))
		return kh_err_set(err, ENOENT,
				  "QMP socket %s of QEMU pid %d is missing or not a socket (%s); " HOW_TO_QMP,
				  path, (int)acc->pid,
				  errno == ENOENT ? "no such file" : "wrong type");
	/*
	 * A monitor serves one client at a time: a busy one never greets.
	 * The probe finds that out quickly; the real connection then gets
	 * the long per-command timeout a dump needs.
	 */
	ret = kh_qmp_connect(path, timeout_ms < QMP_PROBE_MS ? timeout_ms :
				   QMP_PROBE_MS, &qmp, err);
	if (ret)
		return ret;
	if (timeout_ms > QMP_PROBE_MS) {
		kh_qmp_close(qmp);
		ret = kh_qmp_connect(path, timeout_ms, &qmp, err);
		if (ret)
			return ret;
	}
	if (kh_qmp_peer_pid(qmp) != acc->pid) {
		ret = kh_err_set(err, EPERM,
				 "QMP socket %s belongs to pid %d, not to QEMU pid %d",
				 path, (int)kh_qmp_peer_pid(qmp),
				 (int)acc->pid);
		kh_qmp_close(qmp);
		return ret;
	}
	*qmpp = qmp;
	return 0;
}

int kh_access_qmp_get(struct kh_access *acc, int timeout_ms,
		      struct kh_qmp **qmpp, int *borrowed, struct kh_err *err)
{
	pthread_mutex_lock(&acc->qmp_lock);
	if (acc->held_qmp) {
		*qmpp = acc->held_qmp;
		*borrowed = 1;
		return 0;
	}
	pthread_mutex_unlock(&acc->qmp_lock);
	*borrowed = 0;
	return kh_access_qmp(acc, timeout_ms, qmpp, err);
}

void kh_access_qmp_put(struct kh_access *acc, struct kh_qmp *qmp,
		       int borrowed)
{
	if (borrowed)
		pthread_mutex_unlock(&acc->qmp_lock);
	else
		kh_qmp_close(qmp);
}

int kh_access_qmp_running(struct kh_qmp *qmp, int *running, char *status,
			  size_t size, struct kh_err *err)
{
	json_t *ret = NULL;
	const char *name;
	int r;

	r = kh_qmp_execute(qmp, "query-status", NULL, &ret, err);
	if (r)
		return r;
	if (!json_is_boolean(json_object_get(ret, "running"))) {
		json_decref(ret);
		return kh_err_set(err, EPROTO,
				  "QEMU's query-status reply has no 'running'");
	}
	*running = json_is_true(json_object_get(ret, "running"));
	name = json_string_value(json_object_get(ret, "status"));
	if (status)
		snprintf(status, size, "%s", name ? name : "?");
	json_decref(ret);
	return 0;
}

const char *kh_access_tmpdir(const struct kh_access *acc)
{
	if (acc->tmpdir && acc->tmpdir[0])
		return acc->tmpdir;
	return access("/var/tmp", W_OK) ? "/tmp" : "/var/tmp";
}

int kh_access_tmpfile(const struct kh_access *acc, const char *what,
		      char *path, size_t size, struct kh_err *err)
{
	const char *dir = kh_access_tmpdir(acc);
	int fd, n;

	n = snprintf(path, size, "%s/keyhole-%s.XXXXXX", dir, what);
	if (n < 0 || (size_t)n >= size)
		return kh_err_set(err, ENAMETOOLONG,
				  "temporary directory %s: path too long", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		n = errno;
		path[0] = '\0';
		return kh_err_set(err, n,
				  "cannot create a temporary file in %s (set KEYHOLE_TMPDIR to a writable directory): %s",
				  dir, strerror(n));
	}
	close(fd);
	return 0;
}

int kh_access_tmp_failed(const char *dir, const char *what, int code,
			 const char *detail, struct kh_err *err)
{
	if (code == ENOSPC)
		return kh_err_set(err, ENOSPC,
				  "%s: no space left in %s (set KEYHOLE_TMPDIR to a directory with room for all of guest RAM)",
				  what, dir);
	return kh_err_set(err, code, "%s in %s: %s", what, dir, detail);
}

uint64_t kh_access_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int kh_access_qmp_restore(struct kh_access *acc, struct kh_qmp *qmp,
			  int was_running, uint64_t stopped_at,
			  struct kh_err *err)
{
	char status[32];
	int running, ret;

	if (stopped_at)
		atomic_fetch_add(&acc->halted_ns,
				 kh_access_now_ns() - stopped_at);
	if (!was_running)
		return 0;
	ret = kh_access_qmp_running(qmp, &running, status, sizeof(status),
				    err);
	if (!ret && !running)
		ret = kh_qmp_execute(qmp, "cont", NULL, NULL, err);
	if (ret)
		return kh_err_prefix(err, "cannot resume QEMU pid %d after a snapshot",
				     (int)acc->pid);
	return 0;
}

uint64_t kh_access_tmp_free(const char *dir)
{
	struct statvfs st;

	if (statvfs(dir, &st))
		return UINT64_MAX;
	return (uint64_t)st.f_bavail * st.f_frsize;
}
