// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "kread" (class V, live memory reads) through
 * keyhole.ko: KEYHOLE_READ copies up to KEYHOLE_READ_MAX (GPA, length,
 * buffer) entries in one system call, straight from QEMU's pages into
 * ours, each entry failing on its own. It maps nothing into keyhole, so
 * it suits clients that must not take a SIGBUS or that read each page
 * once; for repeated reads kmap is faster (no call at all).
 *
 * The per-VM fd is bound to QEMU's mm, not to its pid: once QEMU exits
 * every call fails with ESRCH, and a reused pid can never be read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <keyhole.h>

#include "access/kmod_session.h"

struct kread {
	int vm_fd;
};

static int kread_open(struct kh_access *acc, struct kh_err *err)
{
	struct kread *kr;
	int fd;

	fd = kh_kmod_attach(acc, KEYHOLE_FEATURE_READ, err);
	if (fd < 0)
		return fd;
	kr = calloc(1, sizeof(*kr));
	if (!kr) {
		close(fd);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	kr->vm_fd = fd;
	acc->priv = kr;
	return 0;
}

static void kread_close(struct kh_access *acc)
{
	struct kread *kr = acc->priv;

	if (!kr)
		return;
	close(kr->vm_fd);
	free(kr);
	acc->priv = NULL;
}

/*
 * One KEYHOLE_READ of nr <= KEYHOLE_READ_MAX elements; -errno if whole.
 * An interrupted call goes on after the entries it finished (nr_done).
 */
static int read_chunk(struct kh_access *acc, struct kread *kr,
		      struct keyhole_read_entry *ent, struct kh_read *reads,
		      unsigned int nr, uint64_t *bytes)
{
	struct keyhole_read rd;
	unsigned int i, done = 0;
	int r, failed = 0;

	for (i = 0; i < nr; i++)
		ent[i] = (struct keyhole_read_entry){
			.gpa = reads[i].addr, .buf = (uintptr_t)reads[i].buf,
			.len = reads[i].len };
	do {
		rd = (struct keyhole_read){
			.size = sizeof(rd), .nr = nr - done,
			.entry_size = sizeof(*ent),
			.entries = (uintptr_t)(ent + done) };
		r = ioctl(kr->vm_fd, KEYHOLE_READ, &rd) ? -errno : 0;
		atomic_fetch_add_explicit(&acc->calls, 1,
					  memory_order_relaxed);
		done += rd.nr_done;
		/* EINTR is a fatal signal: ours, or QEMU dying under us. */
		if (r == -EINTR && kh_access_alive(acc))
			r = -ESRCH;
	} while (r == -EINTR && done < nr);
	if (r)
		return r;
	for (i = 0; i < nr; i++) {
		if (ent[i].result == (int32_t)reads[i].len) {
			reads[i].result = 0;
			*bytes += reads[i].len;
		} else {
			/* A short count is not in the ABI: treat it as EIO. */
			reads[i].result = ent[i].result < 0 ? ent[i].result :
							      -EIO;
			failed++;
		}
	}
	return failed;
}

static int kread_read(struct kh_access *acc, struct kh_read *reads,
		      unsigned int nr)
{
	struct kread *kr = acc->priv;
	struct keyhole_read_entry *ent;
	unsigned int done = 0, chunk, i;
	uint64_t bytes = 0;
	int failed = 0, r = 0;

	atomic_fetch_add_explicit(&acc->elems, nr, memory_order_relaxed);
	if (!nr)
		return 0;
	chunk = nr < KEYHOLE_READ_MAX ? nr : KEYHOLE_READ_MAX;
	ent = malloc(sizeof(*ent) * chunk);
	if (!ent) {
		r = -ENOMEM;
		goto whole;
	}
	while (done < nr) {
		unsigned int n = nr - done < chunk ? nr - done : chunk;

		r = read_chunk(acc, kr, ent, reads + done, n, &bytes);
		if (r < 0)
			break;
		failed += r;
		done += n;
	}
	free(ent);
	atomic_fetch_add_explicit(&acc->bytes, bytes, memory_order_relaxed);
	if (r >= 0)
		return failed;
whole:
	for (i = 0; i < nr; i++)
		reads[i].result = r;
	return r;
}

const struct kh_access_ops kh_access_kread = {
	.name = "kread",
	.klass = "V",
	.props = KH_TECHNIQUE_LIVE,
	.description = "keyhole.ko's batched read ioctl, up to 4096 reads per system call (needs the module)",
	.open = kread_open,
	.read = kread_read,
	.close = kread_close,
};
