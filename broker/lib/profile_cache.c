// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The on-disk profile cache: one file per kernel build, named by a hash of
 * its identity, written atomically (temporary file + rename) so concurrent
 * attaches never see half a profile. The file is re-validated on load like
 * any other input: a damaged file is ignored and rebuilt, never trusted.
 *
 * Layout (little-endian, native on x86-64):
 *   struct cache_header, banner bytes, nr_syms symbol records
 *   (u8 type, u8 absolute, u16 name_len, s64 value, name), BTF bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile.h"

#define CACHE_MAGIC "KHPROF\0\1"
#define CACHE_SUFFIX ".kprof"
#define CACHE_MAX_BYTES (256u << 20)

struct cache_header {
	char magic[8];
	uint32_t banner_len;
	uint32_t nr_syms;
	int64_t banner_off;
	int64_t btf_off;
	uint64_t syms_bytes;
	uint64_t btf_len;
	uint8_t btf_header[24];
};

struct sym_record {
	uint8_t type;
	uint8_t absolute;
	uint16_t name_len;
	int64_t value;
} __attribute__((packed));

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

int kh_profile_cache_save(const struct kh_profile *profile, const char *dir,
			  struct kh_err *err)
{
	unsigned int i, nr = kh_symtab_count(profile->symtab);
	struct cache_header hdr = { .magic = CACHE_MAGIC };
	char name[64], path[4096], tmp[4200];
	const void *btf_raw;
	size_t btf_len;
	struct kh_sym sym;
	FILE *f;
	int ret;

	if (!dir || !*dir)
		return 0;
	ret = mkdir_p(dir);
	if (ret)
		return kh_err_set(err, -ret, "cannot create cache directory %s: %s",
				  dir, strerror(-ret));
	btf_raw = kh_btf_raw(profile->btf, &btf_len);
	hdr.banner_len = strlen(profile->banner);
	hdr.nr_syms = nr;
	hdr.banner_off = profile->banner_off;
	hdr.btf_off = profile->btf_off;
	hdr.btf_len = btf_len;
	memcpy(hdr.btf_header, profile->btf_header, 24);
	for (i = 0; i < nr; i++) {
		kh_symtab_get(profile->symtab, i, &sym);
		hdr.syms_bytes += sizeof(struct sym_record) + strlen(sym.name);
	}

	cache_name(profile->banner, profile->btf_header, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return kh_err_set(err, errno, "cannot write profile cache %s: %s",
				  tmp, strerror(errno));
	ret = write_all(f, &hdr, sizeof(hdr));
	if (!ret)
		ret = write_all(f, profile->banner, hdr.banner_len);
	for (i = 0; !ret && i < nr; i++) {
		struct sym_record rec;

		kh_symtab_get(profile->symtab, i, &sym);
		rec.type = sym.type;
		rec.absolute = !!sym.absolute;
		rec.name_len = strlen(sym.name);
		rec.value = sym.value;
		ret = write_all(f, &rec, sizeof(rec));
		if (!ret)
			ret = write_all(f, sym.name, rec.name_len);
	}
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

static int read_header(int fd, struct cache_header *hdr, char *banner)
{
	struct stat st;

	if (fstat(fd, &st) || st.st_size > CACHE_MAX_BYTES)
		return -EINVAL;
	if (pread(fd, hdr, sizeof(*hdr), 0) != sizeof(*hdr) ||
	    memcmp(hdr->magic, CACHE_MAGIC, 8) ||
	    hdr->banner_len >= KH_BANNER_MAX ||
	    hdr->syms_bytes > (uint64_t)st.st_size ||
	    hdr->btf_len > (uint64_t)st.st_size ||
	    sizeof(*hdr) + hdr->banner_len + hdr->syms_bytes + hdr->btf_len !=
	    (uint64_t)st.st_size)
		return -EINVAL;
	if (pread(fd, banner, hdr->banner_len, sizeof(*hdr)) !=
	    (ssize_t)hdr->banner_len)
		return -EINVAL;
	banner[hdr->banner_len] = '\0';
	return 0;
}

static int load_body(int fd, const struct cache_header *hdr,
		     const char *banner, struct kh_profile **profilep,
		     struct kh_err *err)
{
	size_t body_len = hdr->syms_bytes + hdr->btf_len;
	struct kh_symtab *symtab = NULL;
	struct kh_btf *btf = NULL;
	uint8_t *body, *p, *end;
	char name[1024];
	unsigned int i;
	int ret = -EINVAL;

	body = malloc(body_len);
	if (!body)
		return kh_err_set(err, ENOMEM, "out of memory reading profile cache");
	if (pread(fd, body, body_len, sizeof(*hdr) + hdr->banner_len) !=
	    (ssize_t)body_len)
		goto out;
	symtab = kh_symtab_new();
	if (!symtab)
		goto out;
	p = body;
	end = body + hdr->syms_bytes;
	for (i = 0; i < hdr->nr_syms; i++) {
		struct sym_record rec;

		if ((size_t)(end - p) < sizeof(rec))
			goto out;
		memcpy(&rec, p, sizeof(rec));
		p += sizeof(rec);
		if (rec.name_len >= sizeof(name) || end - p < rec.name_len)
			goto out;
		memcpy(name, p, rec.name_len);
		name[rec.name_len] = '\0';
		p += rec.name_len;
		if (kh_symtab_add(symtab, name, rec.type, rec.absolute,
				  rec.value))
			goto out;
	}
	if (p != end || kh_symtab_finish(symtab))
		goto out;
	ret = kh_btf_load(end, hdr->btf_len, &btf, err);
	if (ret)
		goto out;
	ret = kh_profile_new(symtab, btf, banner, hdr->btf_header, profilep,
			     err);
	symtab = NULL;
	btf = NULL;
	if (!ret)
		(*profilep)->from_cache = 1;
out:
	kh_symtab_free(symtab);
	kh_btf_free(btf);
	free(body);
	if (ret == -EINVAL)
		kh_err_set(err, EINVAL, "profile cache file is damaged");
	return ret;
}

int kh_profile_cache_find(const char *dir,
			  int (*match)(const char *banner, int64_t banner_off,
				       const uint8_t *btf_header,
				       int64_t btf_off, void *opaque),
			  void *opaque, struct kh_profile **profilep,
			  struct kh_err *err)
{
	char banner[KH_BANNER_MAX];
	struct cache_header hdr;
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	if (!dir || !*dir)
		return -ENOENT;
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while (ret == -ENOENT && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int fd;

		if (n <= strlen(CACHE_SUFFIX) ||
		    strcmp(de->d_name + n - strlen(CACHE_SUFFIX), CACHE_SUFFIX))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!read_header(fd, &hdr, banner) &&
		    match(banner, hdr.banner_off, hdr.btf_header, hdr.btf_off,
			  opaque)) {
			ret = load_body(fd, &hdr, banner, profilep, err);
			/* A damaged file is rebuilt by the caller. */
			if (ret == -EINVAL)
				unlinkat(dirfd(d), de->d_name, 0);
			if (ret)
				ret = -ENOENT;
		}
		close(fd);
	}
	closedir(d);
	return ret;
}
