// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest RAM layout: which guest-physical ranges are RAM and where each one
 * lives in the QEMU process.
 *
 * From QMP (exact): query-memdev names the memory backends, `info mtree -f`
 * says where the guest sees each of them, `gpa2hva` gives the host
 * address. From /proc/PID/maps (no QMP): the backend named on QEMU's
 * command line is found by name and the guest-physical split is computed
 * with QEMU's own pc/q35 rules. Anonymous RAM without QMP is refused: the
 * largest anonymous mapping is often TCG's code buffer, not RAM.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu/ram_layout.h"
#include "qemu/ram_layout_parse.h"

/* ---- QMP ---- */

static int gpa2hva(struct kh_qmp *qmp, uint64_t gpa, const char *region,
		   uint64_t *hva, struct kh_err *err)
{
	char cmd[64], *out;
	int r;

	snprintf(cmd, sizeof(cmd), "gpa2hva 0x%" PRIx64, gpa);
	r = kh_qmp_hmp(qmp, cmd, &out, err);
	if (r)
		return r;
	r = kh_parse_gpa2hva(out, gpa, region, hva, err);
	free(out);
	return r;
}

int kh_layout_from_qmp(struct kh_qmp *qmp, struct kh_layout *layout,
		       struct kh_err *err)
{
	static const char *const default_names[] = { "pc.ram", "ram" };
	char ids[KH_MEMDEV_MAX][KH_REGION_NAME];
	const char *names[KH_MEMDEV_MAX];
	struct kh_mtree_ram *ram;
	const char *const *np = names;
	unsigned int nr_ids, nr, i;
	json_t *ret;
	char *mtree;
	int r;

	memset(layout, 0, sizeof(*layout));
	layout->source = "qmp";

	r = kh_qmp_execute(qmp, "query-memdev", NULL, &ret, err);
	if (r)
		return r;
	r = kh_parse_memdev_ids(ret, ids, KH_MEMDEV_MAX, &nr_ids, err);
	json_decref(ret);
	if (r)
		return r;
	for (i = 0; i < nr_ids; i++)
		names[i] = ids[i];
	if (!nr_ids) {
		/* QEMU < 5.0 made machine RAM a plain region, not a backend. */
		np = default_names;
		nr_ids = 2;
	}

	r = kh_qmp_hmp(qmp, "info mtree -f", &mtree, err);
	if (r)
		return r;
	ram = calloc(KH_LAYOUT_MAX_RANGES, sizeof(*ram));
	if (!ram) {
		free(mtree);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	r = kh_parse_mtree_ram(mtree, np, nr_ids, ram, KH_LAYOUT_MAX_RANGES,
			       &nr, err);
	free(mtree);
	if (r)
		goto out;
	if (!nr) {
		r = kh_err_set(err, ENOENT,
			       "QEMU's 'info mtree -f' shows no guest RAM from its memory backends");
		goto out;
	}

	for (i = 0; i < nr; i++) {
		uint64_t hva, last;

		r = gpa2hva(qmp, ram[i].gpa, ram[i].region, &hva, err);
		if (r)
			goto out;
		/*
		 * Region offsets are contiguous across a merged range, and a
		 * RAMBlock is one host mapping; the last byte proves it.
		 */
		r = gpa2hva(qmp, ram[i].gpa + ram[i].size - 1, ram[i].region,
			    &last, err);
		if (r)
			goto out;
		if (last - hva != ram[i].size - 1) {
			r = kh_err_set(err, EPROTO,
				       "guest RAM 0x%" PRIx64 "+0x%" PRIx64 " in '%s' is not contiguous in QEMU's memory",
				       ram[i].gpa, ram[i].size, ram[i].region);
			goto out;
		}
		kh_layout_add_range(layout, ram[i].gpa, ram[i].size, hva);
	}
out:
	free(ram);
	if (r)
		layout->nr = 0;
	return r;
}

/* ---- /proc/PID/maps ---- */

static int read_proc(pid_t pid, const char *what, char **bufp, size_t *lenp,
		     struct kh_err *err)
{
	size_t len = 0, cap = 65536;
	char path[64], *buf = NULL, *nb;
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		return kh_err_set(err, r == ENOENT ? ESRCH : r,
				  "cannot open %s: %s", path, strerror(r));
	}
	for (;;) {
		if (cap - len < 4096 || !buf) {
			if (cap > (64u << 20)) {
				r = kh_err_set(err, EFBIG,
					       "%s is larger than 64 MiB",
					       path);
				goto fail;
			}
			nb = realloc(buf, cap *= 2);
			if (!nb) {
				r = kh_err_set(err, ENOMEM, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno;
			r = kh_err_set(err, r, "cannot read %s: %s", path,
				       strerror(r));
			goto fail;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	close(fd);
	free(buf);
	return r;
}

/*
 * -machine max-ram-below-4g= moves the split; struct kh_target does not
 * carry it, so it is looked up in the command line here.
 */
static int max_below_4g(pid_t pid, uint64_t *out, struct kh_err *err)
{
	static const char key[] = "max-ram-below-4g=";
	size_t len;
	char *buf, *p, *end;
	int r;

	*out = 0;
	r = read_proc(pid, "cmdline", &buf, &len, err);
	if (r)
		return r;
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		char *at = strstr(p, key);
		unsigned long long v;

		if (!at)
			continue;
		errno = 0;
		v = strtoull(at + sizeof(key) - 1, &end, 10);
		switch (toupper((unsigned char)*end)) {
		case 'K': v <<= 10; end++; break;
		case 'M': v <<= 20; end++; break;
		case 'G': v <<= 30; end++; break;
		case 'T': v <<= 40; end++; break;
		case 'B': end++; break;
		}
		if (errno || (*end && *end != ',')) {
			r = kh_err_set(err, EINVAL,
				       "cannot parse QEMU's max-ram-below-4g in '%.64s'",
				       at);
			break;
		}
		*out = v;
	}
	free(buf);
	return r;
}

int kh_layout_from_maps(const struct kh_target *t, struct kh_layout *layout,
			struct kh_err *err)
{
	char name[PATH_MAX + 32], real[PATH_MAX];
	uint64_t below, above, maxb4g, hva, size, ram;
	size_t len;
	char *maps;
	int r;

	memset(layout, 0, sizeof(*layout));
	layout->source = "maps";
	if (t->ram_memfd) {
		strcpy(name, "/memfd:memory-backend-memfd");
	} else if (t->mem_path[0]) {
		/* maps shows the canonical path. */
		if (!realpath(t->mem_path, real))
			snprintf(real, sizeof(real), "%s", t->mem_path);
		snprintf(name, sizeof(name), "%s", real);
	} else if (t->qmp_path[0]) {
		return kh_err_set(err, ENOTSUP,
				  "QEMU pid %d has anonymous guest RAM, which /proc/PID/maps cannot locate for sure; use the QMP layout (socket %s) or back its RAM with -object memory-backend-memfd,id=mem,size=SIZE,share=on -machine memory-backend=mem",
				  (int)t->pid, t->qmp_path);
	} else {
		return kh_err_set(err, ENOTSUP,
				  "QEMU pid %d has anonymous guest RAM and no QMP socket, so where its RAM lies cannot be known for sure; %s",
				  (int)t->pid, KH_LAYOUT_HOW_TO);
	}

	r = max_below_4g(t->pid, &maxb4g, err);
	if (r)
		return r;
	r = read_proc(t->pid, "maps", &maps, &len, err);
	if (r)
		return r;
	r = kh_parse_maps_backend(maps, len, name, t->ram_size ? t->ram_size :
				  1, &hva, &size, err);
	free(maps);
	if (r)
		return kh_err_prefix(err, "QEMU pid %d", (int)t->pid);
	/* A backend is exactly as large as guest RAM (QEMU insists). */
	ram = t->ram_size ? t->ram_size : size;
	if (size != ram)
		return kh_err_set(err, EPROTO,
				  "QEMU pid %d maps %" PRIu64 " MiB of '%s' but its command line says %" PRIu64 " MiB of RAM",
				  (int)t->pid, size >> 20, name, ram >> 20);
	r = kh_ram_split(t->machine, ram, maxb4g, &below, &above, err);
	if (r)
		return r;
	return kh_layout_from_split(hva, below, above, layout, err);
}

const struct kh_ram_range *kh_layout_find(const struct kh_layout *layout,
					  uint64_t gpa)
{
	unsigned int lo = 0, hi = layout->nr;

	/* Ranges are sorted and disjoint: binary search. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct kh_ram_range *r = &layout->range[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

uint64_t kh_layout_ram_size(const struct kh_layout *layout)
{
	uint64_t total = 0;
	unsigned int i;

	for (i = 0; i < layout->nr; i++)
		total += layout->range[i].size;
	return total;
}
