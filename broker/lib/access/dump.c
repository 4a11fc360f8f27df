// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "dump" (the paper's class II, halting snapshot): QMP
 * dump-guest-memory (paging=false) writes an ELF core of guest RAM, one
 * PT_LOAD per RAM range, to a private temporary file that is then read
 * through the same ELF reader as a dump given on the command line. QEMU
 * stops the guest for the dump and resumes it itself; keyhole checks the
 * run state afterwards all the same and resumes a guest that ran before.
 * The dump runs detached, and query-dump tells its progress meanwhile.
 *
 * The file is unlinked as soon as it is open here, unless the user asked
 * to keep it (KEYHOLE_KEEP_SNAPSHOT, keyhole --keep-snapshot).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access/snapshot_store.h"
#include "qemu/qmp.h"

#define DUMP_TIMEOUT_MS	(10 * 60 * 1000)
#define POLL_MS		100

static void dump_release(struct kh_access *acc)
{
	if (acc->priv) {
		kh_snap_free(acc->priv);
		free(acc->priv);
	}
	acc->priv = NULL;
}

/* Where the dump goes: the file to keep, or a new temporary file. */
static int dump_path(const struct kh_access *acc, char *path, size_t size,
		     int *keep, struct kh_err *err)
{
	const char *wanted = acc->keep_snapshot;
	int fd;

	*keep = wanted && wanted[0];
	if (!*keep)
		return kh_access_tmpfile(acc, "dump", path, size, err);
	if (strlen(wanted) >= size)
		return kh_err_set(err, ENAMETOOLONG, "%s: path too long",
				  wanted);
	snprintf(path, size, "%s", wanted);
	/* Never overwrite what the user already has. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return kh_err_set(err, errno, "cannot create %s to keep the dump in: %s",
				  path, strerror(errno));
	close(fd);
	return 0;
}

/*
 * QEMU says "completed" before its dump thread cleans up: it resumes the
 * guest, then lifts the dump's migration blocker. Until then the guest
 * is still halted, and a snapshot by migration right after is refused
 * ("dump-guest-memory in progress"): wait until the guest runs again
 * (the blocker goes right after, in the same thread).
 */
static int wait_cleanup(const struct kh_access *acc, struct kh_qmp *qmp,
			uint64_t deadline, struct kh_err *err)
{
	int running = 0, r;

	for (;;) {
		struct timespec ts = { 0, 10 * 1000000L };

		r = kh_access_qmp_running(qmp, &running, NULL, 0, err);
		if (r || running)
			return r;
		if (kh_access_now_ns() > deadline)
			return kh_err_set(err, ETIMEDOUT,
					  "QEMU pid %d did not resume the guest after dump-guest-memory",
					  (int)acc->pid);
		nanosleep(&ts, NULL);
	}
}

/*
 * dump-guest-memory with detach, so that its progress can be asked for:
 * query-dump every POLL_MS until it is over (QEMU resumes the guest
 * itself then), telling acc->progress as it goes.
 */
static int dump_detached(struct kh_access *acc, struct kh_qmp *qmp,
			 const char *path, uint64_t stopped_at,
			 struct kh_err *err)
{
	json_t *args = json_pack("{s:b, s:b, s:s+}", "paging", 0, "detach",
				 1, "protocol", "file:", path);
	uint64_t deadline = kh_access_now_ns() + DUMP_TIMEOUT_MS * 1000000ULL;
	const char *status = "active";
	json_t *ret = NULL;
	int r;

	r = kh_qmp_execute(qmp, "dump-guest-memory", args, NULL, err);
	while (!r && !strcmp(status, "active")) {
		struct timespec ts = { 0, POLL_MS * 1000000L };

		if (kh_access_now_ns() > deadline) {
			json_decref(ret);
			return kh_err_set(err, ETIMEDOUT,
					  "QEMU pid %d did not finish dump-guest-memory within %d s (it goes on writing the dump, which cannot be cancelled)",
					  (int)acc->pid,
					  DUMP_TIMEOUT_MS / 1000);
		}
		nanosleep(&ts, NULL);
		json_decref(ret);
		ret = NULL;
		r = kh_qmp_execute(qmp, "query-dump", NULL, &ret, err);
		if (r)
			break;
		status = json_string_value(json_object_get(ret, "status")) ?:
			 "failed";
		kh_access_progress(acc,
			json_integer_value(json_object_get(ret, "completed")),
			json_integer_value(json_object_get(ret, "total")),
			stopped_at);
	}
	if (!r && strcmp(status, "completed"))
		r = kh_err_set(err, EIO, "QEMU pid %d's dump-guest-memory ended %s",
			       (int)acc->pid, status);
	json_decref(ret);
	if (!r && stopped_at)
		r = wait_cleanup(acc, qmp, deadline, err);
	return r;
}

static int dump_take(struct kh_access *acc, struct kh_err *err)
{
	uint64_t start = kh_access_now_ns();
	char path[4096], dir[4096], *slash;
	struct kh_snap *snap;
	struct kh_qmp *qmp;
	int running = 0, keep, fd = -1, ret, restore;

	dump_release(acc);
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return kh_err_set(err, ENOMEM, "out of memory");
	ret = kh_access_qmp(acc, DUMP_TIMEOUT_MS, &qmp, err);
	if (ret) {
		free(snap);
		return ret;
	}
	ret = kh_access_qmp_running(qmp, &running, NULL, 0, err) ?:
	      dump_path(acc, path, sizeof(path), &keep, err);
	if (ret)
		goto out_qmp;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	ret = dump_detached(acc, qmp, path, running ? start : 0, err);
	/* A dump that failed, not one still going, may have filled the disk. */
	if (ret == -EIO &&
	    kh_access_tmp_free(dir) < kh_layout_ram_size(acc->layout))
		ret = kh_access_tmp_failed(dir, "dump-guest-memory", ENOSPC,
					   "", err);
	/* QEMU stopped the guest for the dump: all of it was halted. */
	if (running)
		atomic_fetch_add(&acc->halted_ns,
				 kh_access_now_ns() - start);
	if (!ret) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			ret = kh_err_set(err, errno, "cannot open the dump %s: %s",
					 path, strerror(errno));
	}
	if (!keep || ret)
		unlink(path);
out_qmp:
	restore = kh_access_qmp_restore(acc, qmp, running, 0,
					ret ? NULL : err);
	kh_qmp_close(qmp);
	ret = ret ?: restore;
	if (!ret)
		ret = kh_snap_load(snap, fd, path, NULL, err);
	if (fd >= 0)
		close(fd);
	return kh_snap_take_end(acc, snap, start, ret, "dump-guest-memory",
				err);
}

static int dump_probe(struct kh_access *acc, struct kh_err *err)
{
	return kh_snap_probe_space(acc, "dump-guest-memory", err);
}

static int dump_open(struct kh_access *acc, struct kh_err *err)
{
	acc->priv = NULL;
	return dump_take(acc, err);
}

const struct kh_access_ops kh_access_dump = {
	.name = "dump",
	.klass = "II",
	.props = KH_TECHNIQUE_HALTING | KH_TECHNIQUE_SNAPSHOT |
		 KH_TECHNIQUE_INTERFACE,
	.description = "QMP dump-guest-memory to a temporary ELF core, then reads from the copy (needs QMP and disk space)",
	.open = dump_open,
	.read = kh_snap_access_read,
	.close = dump_release,
	.map = kh_snap_access_map,
	.snapshot_take = dump_take,
	.snapshot_release = dump_release,
	.probe = dump_probe,
};
