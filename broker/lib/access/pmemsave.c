// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "pmemsave" (the paper's class II, halting snapshot):
 * QMP "stop", then "pmemsave" of each guest RAM range, 256 MiB at a time
 * (progress is told between them), into private temporary files, then
 * the guest's prior run state back, then reads from the files. Consistent (the guest was stopped for the whole copy), and
 * the guest stays stopped for as long as QEMU takes to write all of RAM.
 *
 * QEMU writes into files keyhole makes and hands it, never into a file
 * by name: each is an unnamed file (O_TMPFILE) in KEYHOLE_TMPDIR (default
 * /var/tmp) passed over the monitor (getfd), which QEMU 7.2's pmemsave,
 * taking only a file name, reaches as /proc/self/fd/N. So no other
 * process can open or replace it on the way (the QEMUs of all libvirt
 * domains share one user), QEMU needs no directory it may write, and
 * nothing is left behind whatever happens. On any failure the guest is
 * resumed first, then the error reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/snapshot_store.h"
#include "qemu/procfs.h"
#include "qemu/qmp.h"

#define PMEMSAVE_TIMEOUT_MS	(10 * 60 * 1000)

#define PMEMSAVE_FDNAME	"keyhole-pmemsave"
/* A file per 256 MiB: progress between them, a few QMP round trips more. */
#define PIECE		(256ULL << 20)

/*
 * QEMU's number for the file it got as PMEMSAVE_FDNAME: found by inode in
 * its /proc/PID/fd, since getfd does not say (add-fd would, but a guest
 * that is not running would keep that fd until it next runs).
 */
static int qemu_fd_number(const struct kh_access *acc, int fd,
			  struct kh_err *err)
{
	int dir, n;

	dir = kh_procfs_open(acc->pid);
	if (dir < 0)
		return kh_err_set(err, -dir, "QEMU pid %d: %s", (int)acc->pid,
				  strerror(-dir));
	n = kh_procfs_find_fd(dir, fd);
	close(dir);
	if (n < 0)
		return kh_err_set(err, -n,
				  "cannot find the file passed to QEMU pid %d in its /proc/%d/fd: %s",
				  (int)acc->pid, (int)acc->pid, strerror(-n));
	return n;
}

/*
 * One pmemsave of [gpa, gpa + size) into a file of its own, mapped at
 * 'at' (inside its range's reservation, MAP_FIXED): private and writable,
 * as kh_snap_add_file maps, since the file never changes and a patcher
 * may write.
 */
static int save_piece(struct kh_access *acc, struct kh_qmp *qmp, void *at,
		      uint64_t gpa, uint64_t size, struct kh_err *err)
{
	struct stat st;
	const char *dir = kh_access_tmpdir(acc);
	char path[64], name[128];
	int fd, n, ret, closed;

	fd = kh_access_tmpfd(acc, "pmemsave", err);
	if (fd < 0)
		return fd;
	/*
	 * QEMU opens it again through /proc/self/fd as its own user. It has
	 * no name: only processes that may ptrace a holder can reach it.
	 */
	if (fchmod(fd, 0666)) {
		ret = kh_err_set(err, errno, "fchmod: %s", strerror(errno));
		goto out;
	}
	ret = kh_qmp_execute_fd(qmp, "getfd",
				json_pack("{s:s}", "fdname", PMEMSAVE_FDNAME),
				fd, NULL, err);
	/* A getfd that timed out may have got there: closefd below. */
	n = ret ? ret : qemu_fd_number(acc, fd, err);
	ret = n < 0 ? n : 0;
	if (!ret) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", n);
		ret = kh_qmp_execute(qmp, "pmemsave",
				     json_pack("{s:I, s:I, s:s}", "val",
					       (json_int_t)gpa, "size",
					       (json_int_t)size,
					       "filename", path),
				     NULL, err);
	}
	/* QEMU lets go of it whatever happened: only we hold it then. */
	closed = kh_qmp_execute(qmp, "closefd",
				json_pack("{s:s}", "fdname", PMEMSAVE_FDNAME),
				NULL, ret ? NULL : err);
	/* Only QEMU's writing can have filled the disk. */
	if (ret && n >= 0 && kh_access_tmp_free(dir) < size)
		ret = kh_access_tmp_failed(dir, "pmemsave of guest RAM",
					   ENOSPC, "", err);
	ret = ret ?: closed;
	snprintf(name, sizeof(name), "pmemsave of 0x%" PRIx64 " (in %s)",
		 gpa, dir);
	if (!ret && fstat(fd, &st))
		ret = kh_err_set(err, errno, "cannot stat %s: %s", name,
				 strerror(errno));
	else if (!ret && (uint64_t)st.st_size < size)
		ret = kh_err_set(err, EIO,
				 "%s holds %lld bytes, not the %" PRIu64 " of guest RAM",
				 name, (long long)st.st_size, size);
	if (!ret && mmap(at, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED)
		ret = kh_err_set(err, errno, "cannot map %s: %s", name,
				 strerror(errno));
out:
	close(fd);
	return ret;
}

/*
 * A range, PIECE bytes per pmemsave, so that progress can be told
 * between them; *done counts what all ranges saved so far. The pieces'
 * files are mapped side by side into one reservation, so the range is
 * one range and one mapping of the snapshot, as one file would be: a
 * read across two pieces is one read, and a guest of any size stays
 * within the snapshot's ranges.
 */
static int save_range(struct kh_access *acc, struct kh_qmp *qmp,
		      struct kh_snap *snap, const struct kh_ram_range *rr,
		      uint64_t *done, uint64_t stopped_at, struct kh_err *err)
{
	uint64_t off, len, total = kh_layout_ram_size(acc->layout);
	uint8_t *base;
	int ret = 0, added;

	base = mmap(NULL, rr->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return kh_err_set(err, errno,
				  "cannot reserve %" PRIu64 " bytes for a copy of guest RAM: %s",
				  rr->size, strerror(errno));
	for (off = 0; !ret && off < rr->size; off += len) {
		len = rr->size - off < PIECE ? rr->size - off : PIECE;
		ret = save_piece(acc, qmp, base + off, rr->gpa + off, len,
				 err);
		*done += len;
		if (!ret)
			kh_access_progress(acc, *done, total, stopped_at);
	}
	if (!ret && kh_snap_add_map(snap, base, rr->size)) {
		ret = kh_err_set(err, E2BIG,
				 "pmemsave of 0x%" PRIx64 ": too many mappings",
				 rr->gpa);
	} else if (!ret) {
		added = kh_snap_add_range(snap, rr->gpa, rr->size, base, 0);
		if (added) {
			snap->nr_maps--;	/* the map just added */
			ret = kh_err_set(err, -added,
					 "pmemsave of 0x%" PRIx64 ": overlapping or too many RAM ranges",
					 rr->gpa);
		}
	}
	if (ret)
		munmap(base, rr->size);
	return ret;
}

static void pmemsave_release(struct kh_access *acc)
{
	if (acc->priv) {
		kh_snap_free(acc->priv);
		free(acc->priv);
	}
	acc->priv = NULL;
}

static int pmemsave_take(struct kh_access *acc, struct kh_err *err)
{
	uint64_t start = kh_access_now_ns(), stopped_at = 0, done = 0;
	struct kh_snap *snap;
	struct kh_qmp *qmp;
	int running = 0, ret, restore;
	unsigned int i;

	pmemsave_release(acc);
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return kh_err_set(err, ENOMEM, "out of memory");
	ret = kh_access_qmp(acc, PMEMSAVE_TIMEOUT_MS, &qmp, err);
	if (ret) {
		free(snap);
		return ret;
	}
	ret = kh_access_qmp_running(qmp, &running, NULL, 0, err);
	if (!ret && running) {
		stopped_at = kh_access_now_ns();
		ret = kh_qmp_execute(qmp, "stop", NULL, NULL, err);
	}
	for (i = 0; !ret && i < acc->layout->nr; i++)
		ret = save_range(acc, qmp, snap, &acc->layout->range[i], &done,
				 stopped_at, err);
	/* The guest runs again before anything is reported. */
	restore = kh_access_qmp_restore(acc, qmp, running, stopped_at,
					ret ? NULL : err);
	kh_qmp_close(qmp);
	return kh_snap_take_end(acc, snap, start, ret ?: restore, "pmemsave",
				err);
}

static int pmemsave_probe(struct kh_access *acc, struct kh_err *err)
{
	return kh_snap_probe_space(acc, "pmemsave", err);
}

static int pmemsave_open(struct kh_access *acc, struct kh_err *err)
{
	acc->priv = NULL;
	return pmemsave_take(acc, err);
}

const struct kh_access_ops kh_access_pmemsave = {
	.name = "pmemsave",
	.klass = "II",
	.props = KH_TECHNIQUE_HALTING | KH_TECHNIQUE_SNAPSHOT |
		 KH_TECHNIQUE_INTERFACE,
	.description = "QMP stop + pmemsave of all RAM to a temporary file, then reads from the copy (needs QMP and disk space)",
	.open = pmemsave_open,
	.read = kh_snap_access_read,
	.close = pmemsave_release,
	.map = kh_snap_access_map,
	.snapshot_take = pmemsave_take,
	.snapshot_release = pmemsave_release,
	.probe = pmemsave_probe,
};
