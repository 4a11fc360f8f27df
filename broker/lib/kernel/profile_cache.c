// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The on-disk profile cache: one file per kernel build, named by a hash of
 * its identity, written atomically (temporary file + rename) so concurrent
 * attaches never see half a profile. A file is validated on load like any
 * other input: a damaged one is deleted and rebuilt, never trusted.
 *
 * What makes a warm attach fast is that nothing is rebuilt from a file:
 * the symbol table is stored in its in-memory form, the task layout is
 * stored resolved, and BTF is kept raw until something needs it.
 *
 * The file is mapped read-only and used in place: on hosts where a page
 * fault is expensive (nested or paravirtualised), copying 9 MB costs more
 * than everything else in an attach.
 *
 * Layout (every part 8-byte aligned): struct cache_header (banner
 * included), struct kh_task_layout padded to 8, symbol entries, symbol
 * name arena padded to 8, raw BTF. Bump CACHE_MAGIC whenever any of these
 * changes meaning; a size change is caught by the header anyway.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/profile.h"

#define CACHE_MAGIC "KHPROF\0\3"
#define CACHE_SUFFIX ".kprof"
#define CACHE_MAX_BYTES (256u << 20)

struct cache_header {
	char magic[8];
	uint32_t layout_len;
	uint32_t reserved;
	uint64_t ents_len;
	uint64_t arena_len;
	uint64_t btf_len;
	int64_t banner_off;
	int64_t btf_off;
	uint8_t btf_header[24];
	char banner[KH_BANNER_MAX];	/* NUL-terminated */
};

#define ALIGN8(x) (((x) + 7) & ~(uint64_t)7)

static uint64_t fnv1a(uint64_t hash, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len--) {
		hash ^= *p++;
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

static void cache_name(const char *banner, const uint8_t *btf_header,
		       char *name, size_t size)
{
	uint64_t hash = 0xcbf29ce484222325ULL;

	hash = fnv1a(hash, banner, strlen(banner));
	hash = fnv1a(hash, btf_header, 24);
	snprintf(name, size, "%016llx" CACHE_SUFFIX, (unsigned long long)hash);
}

static int mkdir_p(const char *dir)
{
	char path[4096];
	char *p;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_all(FILE *f, const void *data, size_t len)
{
	return fwrite(data, 1, len, f) == len ? 0 : -EIO;
}

int kh_profile_cache_save(struct kh_profile *profile, const char *dir,
			  struct kh_err *err)
{
	static const uint8_t zeros[8];
	struct cache_header hdr = { .magic = CACHE_MAGIC };
	char name[64], path[4096], tmp[4200];
	struct kh_symtab_blob blob;
	const void *btf_raw;
	size_t btf_len;
	FILE *f;
	int ret;

	if (!dir || !*dir)
		return 0;
	ret = mkdir_p(dir);
	if (ret)
		return kh_err_set(err, -ret, "cannot create cache directory %s: %s",
				  dir, strerror(-ret));
	ret = kh_symtab_export(profile->symtab, &blob);
	if (ret)
		return kh_err_set(err, -ret, "cannot export the symbol table");
	btf_raw = kh_profile_btf_raw(profile, &btf_len);
	memcpy(hdr.banner, profile->banner, sizeof(hdr.banner));
	hdr.layout_len = sizeof(profile->task);
	hdr.ents_len = blob.ents_len;
	hdr.arena_len = blob.arena_len;
	hdr.btf_len = btf_len;
	hdr.banner_off = profile->banner_off;
	hdr.btf_off = profile->btf_off;
	memcpy(hdr.btf_header, profile->btf_header, 24);

	cache_name(profile->banner, profile->btf_header, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return kh_err_set(err, errno, "cannot write profile cache %s: %s",
				  tmp, strerror(errno));
	ret = write_all(f, &hdr, sizeof(hdr));
	if (!ret)
		ret = write_all(f, &profile->task, sizeof(profile->task));
	if (!ret)
		ret = write_all(f, zeros, ALIGN8(hdr.layout_len) - hdr.layout_len);
	if (!ret)
		ret = write_all(f, blob.ents, blob.ents_len);
	if (!ret)
		ret = write_all(f, blob.arena, blob.arena_len);
	if (!ret)
		ret = write_all(f, zeros, ALIGN8(hdr.arena_len) - hdr.arena_len);
	if (!ret)
		ret = write_all(f, btf_raw, btf_len);
	if (fclose(f) && !ret)
		ret = -EIO;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return kh_err_set(err, -ret, "cannot write profile cache %s: %s",
				  path, strerror(-ret));
	}
	return 0;
}

/* Maps a cache file and checks that its parts fit exactly. */
static int map_cache(int fd, const struct cache_header **hdrp,
		     size_t *lenp)
{
	const struct cache_header *hdr;
	uint64_t total;
	struct stat st;
	void *map;

	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(*hdr) ||
	    st.st_size > CACHE_MAX_BYTES)
		return -EINVAL;
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
		   fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	hdr = map;
	total = sizeof(*hdr) + ALIGN8((uint64_t)hdr->layout_len) +
		hdr->ents_len + ALIGN8(hdr->arena_len) + hdr->btf_len;
	if (memcmp(hdr->magic, CACHE_MAGIC, 8) ||
	    hdr->layout_len != sizeof(struct kh_task_layout) ||
	    hdr->ents_len > CACHE_MAX_BYTES ||
	    hdr->arena_len > CACHE_MAX_BYTES ||
	    hdr->btf_len > CACHE_MAX_BYTES || hdr->btf_len < 24 ||
	    total != (uint64_t)st.st_size ||
	    !memchr(hdr->banner, '\0', sizeof(hdr->banner))) {
		munmap(map, st.st_size);
		return -EINVAL;
	}
	*hdrp = hdr;
	*lenp = st.st_size;
	return 0;
}

static int load_mapped(const struct cache_header *hdr, size_t len,
		       struct kh_profile **profilep, struct kh_err *err)
{
	const uint8_t *p = (const uint8_t *)(hdr + 1);
	struct kh_profile_parts parts = {
		.banner = hdr->banner,
		.btf_header = hdr->btf_header,
		.btf_len = hdr->btf_len,
		.backing = (void *)hdr,
		.backing_len = len,
	};
	struct kh_task_layout task;
	struct kh_symtab_blob blob;
	int ret;

	memcpy(&task, p, sizeof(task));
	p += ALIGN8((uint64_t)hdr->layout_len);
	blob.ents = p;
	blob.ents_len = hdr->ents_len;
	p += hdr->ents_len;
	blob.arena = p;
	blob.arena_len = hdr->arena_len;
	p += ALIGN8(hdr->arena_len);
	parts.btf_raw = p;
	/* The walker trusts these offsets: they must lie in task_struct. */
	if (!kh_task_layout_valid(&task) ||
	    memcmp(parts.btf_raw, hdr->btf_header, 24) ||
	    kh_symtab_import(&blob, 1, &parts.symtab)) {
		munmap((void *)hdr, len);
		return kh_err_set(err, EINVAL, "profile cache file is damaged");
	}
	parts.task = &task;
	ret = kh_profile_new(&parts, profilep, err);
	if (!ret)
		(*profilep)->from_cache = 1;
	return ret;
}

int kh_profile_cache_find(const char *dir,
			  int (*match)(const char *banner, int64_t banner_off,
				       const uint8_t *btf_header,
				       int64_t btf_off, void *opaque),
			  void *opaque, struct kh_profile **profilep,
			  struct kh_err *err)
{
	const struct cache_header *hdr = NULL;
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	if (!dir || !*dir)
		return -ENOENT;
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while (ret == -ENOENT && (de = readdir(d))) {
		size_t n = strlen(de->d_name), len = 0;
		int fd;

		if (n <= strlen(CACHE_SUFFIX) ||
		    strcmp(de->d_name + n - strlen(CACHE_SUFFIX), CACHE_SUFFIX))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ret = map_cache(fd, &hdr, &len);
		close(fd);
		if (ret == -EINVAL) {
			/* Stale format or damaged: rebuilt by the caller. */
			unlinkat(dirfd(d), de->d_name, 0);
		} else if (!ret && match(hdr->banner, hdr->banner_off,
					 hdr->btf_header, hdr->btf_off,
					 opaque)) {
			ret = load_mapped(hdr, len, profilep, err);
			if (ret == -EINVAL)
				unlinkat(dirfd(d), de->d_name, 0);
		} else if (!ret) {
			munmap((void *)hdr, len);
		}
		if (ret)
			ret = -ENOENT;
	}
	closedir(d);
	return ret;
}
