// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "pmemsave" (the paper's class II, halting snapshot):
 * QMP "stop", then "pmemsave" of each guest RAM range into a private
 * temporary file, then the guest's prior run state back, then reads from
 * the files. Consistent (the guest was stopped for the whole copy), and
 * the guest stays stopped for as long as QEMU takes to write all of RAM.
 *
 * QEMU writes the files itself, so they live in a directory QEMU can
 * write (KEYHOLE_TMPDIR, default /var/tmp). Each file is unlinked as soon
 * as it is open here: only the mappings keep it, and nothing is left
 * behind whatever happens later. On any failure the guest is resumed
 * first, then the error reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/snapshot_store.h"
#include "qemu/qmp.h"

#define PMEMSAVE_TIMEOUT_MS	(10 * 60 * 1000)

static int save_range(struct kh_access *acc, struct kh_qmp *qmp,
		      struct kh_snap *snap, const struct kh_ram_range *rr,
		      struct kh_err *err)
{
	const char *dir = kh_access_tmpdir(acc);
	char path[4096];
	json_t *args;
	int fd, ret;

	ret = kh_access_tmpfile(acc, "pmemsave", path, sizeof(path), err);
	if (ret)
		return ret;
	args = json_pack("{s:I, s:I, s:s}", "val", (json_int_t)rr->gpa,
			 "size", (json_int_t)rr->size, "filename", path);
	ret = kh_qmp_execute(qmp, "pmemsave", args, NULL, err);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	if (ret && kh_access_tmp_free(dir) < rr->size)
		ret = kh_access_tmp_failed(dir, "pmemsave of guest RAM",
					   ENOSPC, "", err);
	if (!ret && fd < 0)
		ret = kh_err_set(err, errno,
				 "cannot open the pmemsave file %s: %s", path,
				 strerror(errno));
	if (!ret)
		ret = kh_snap_add_file(snap, fd, rr->gpa, rr->size, path,
				       err);
	if (fd >= 0)
		close(fd);
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
	uint64_t start = kh_access_now_ns(), stopped_at = 0;
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
		ret = save_range(acc, qmp, snap, &acc->layout->range[i], err);
	/* The guest runs again before anything is reported. */
	restore = kh_access_qmp_restore(acc, qmp, running, stopped_at,
					ret ? NULL : err);
	kh_qmp_close(qmp);
	return kh_snap_take_end(acc, snap, start, ret ?: restore, "pmemsave",
				err);
}

/*
 * QEMU 7.2's pmemsave opens its file by name (fopen), so it takes no file
 * descriptor; and any file a libvirt domain's QEMU may write, every
 * domain's QEMU may (they run as one user). dump does the same job
 * through libvirt, which opens the file itself.
 */
static int refuse_libvirt(const struct kh_access *acc, struct kh_err *err)
{
	if (!acc->target || !acc->target->libvirt_name[0])
		return 0;
	return kh_err_set(err, ENOTSUP,
			  "pmemsave would have QEMU write guest RAM to a file by name, as the user every QEMU of libvirt shares (libvirt domain %s): use dump, which libvirt writes itself",
			  acc->target->libvirt_name);
}

static int pmemsave_probe(struct kh_access *acc, struct kh_err *err)
{
	return refuse_libvirt(acc, err) ?:
	       kh_snap_probe_space(acc, "pmemsave", err);
}

static int pmemsave_open(struct kh_access *acc, struct kh_err *err)
{
	acc->priv = NULL;
	return refuse_libvirt(acc, err) ?: pmemsave_take(acc, err);
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
