// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh_kallsyms_decode on kallsyms tables this test encodes itself, in both
 * the 6.1 and the 6.4+ layout, on corrupted copies of them, and (when one
 * is installed) on a real Debian kernel image from /boot.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kernel/kallsyms.h"

#define NSYMS		1000
#define NPERCPU		8
#define TEXT_VA		0xffffffff9a200000ULL
#define PREFIX		65536	/* bytes of "code" before the tables */

struct tsym {
	char name[512];
	char type;
	int absolute;
	uint64_t addr;
};

static struct tsym syms[NSYMS];
static const char *tokens[256];
static char tokbuf[256][16];

/* Multi-character tokens the encoder prefers, longest first. */
static const char *const multi[] = {
	"Tkh_", "kh_", "sym_", "percpu_", "__", "_x", "00", "de", "ta",
};

static void make_tokens(void)
{
	unsigned int i, m = 0, fill = 0;

	for (i = 0; i < 256; i++) {
		if ((i >= '0' && i <= '9') || (i >= 'a' && i <= 'z') ||
		    (i >= 'A' && i <= 'Z') || i == '_') {
			tokbuf[i][0] = (char)i;
			tokbuf[i][1] = '\0';
		} else if (m < sizeof(multi) / sizeof(multi[0])) {
			strcpy(tokbuf[i], multi[m++]);
		} else {
			/* Filler that never matches: '~' is in no name. */
			snprintf(tokbuf[i], sizeof(tokbuf[i]), "~%u", fill++);
		}
		tokens[i] = tokbuf[i];
	}
}

/* Greedy tokenizer: the longest token that matches, else the char. */
static size_t encode_name(const char *s, uint8_t *out)
{
	size_t n = 0;

	while (*s) {
		unsigned int i, best = (uint8_t)*s;
		size_t bl = 1;

		for (i = 0; i < 256; i++) {
			size_t l = strlen(tokens[i]);

			if (l > bl && !strncmp(s, tokens[i], l)) {
				best = i;
				bl = l;
			}
		}
		out[n++] = (uint8_t)best;
		s += bl;
	}
	return n;
}

static void make_syms(void)
{
	unsigned int i, j = 0;

	/* Per-CPU symbols: absolute, small, sorted first. */
	for (i = 0; i < NPERCPU; i++, j++) {
		snprintf(syms[j].name, sizeof(syms[j].name), "percpu_var%u", i);
		syms[j].type = 'A';
		syms[j].absolute = 1;
		syms[j].addr = 0x1000ULL * i;
	}
	/* One symbol below _text, so its offset from _text is negative. */
	strcpy(syms[j].name, "below_text");
	syms[j].type = 't';
	syms[j].addr = TEXT_VA - 0x2000;
	j++;
	strcpy(syms[j].name, "_text");
	syms[j].type = 'T';
	syms[j].addr = TEXT_VA;
	j++;
	/* Long enough for the two-byte length of "big" symbols. */
	memset(syms[j].name, 'q', 300);
	syms[j].name[300] = '\0';
	syms[j].type = 't';
	syms[j].addr = TEXT_VA + 0x10;
	j++;
	for (; j < NSYMS; j++) {
		static const char types[] = "TtDdBbRr";

		snprintf(syms[j].name, sizeof(syms[j].name),
			 j % 3 ? "kh_sym_%u_x" : "sym%u_data", j);
		syms[j].type = types[j % 8];
		syms[j].addr = TEXT_VA + 0x40ULL * j + (j % 5 == 0 ? 0 : 8);
	}
	/* Keep it sorted even though two symbols share an address. */
	syms[NSYMS - 1].addr = syms[NSYMS - 2].addr;
}

struct image {
	uint8_t *buf;
	size_t len;
	size_t names, markers, token_index, offsets, num_syms;
};

static size_t put(struct image *im, size_t pos, const void *p, size_t n)
{
	memcpy(im->buf + pos, p, n);
	return pos + n;
}

static size_t al8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

static size_t put_offsets(struct image *im, size_t pos, uint64_t base)
{
	unsigned int i;

	pos = al8(pos);
	im->offsets = pos;
	for (i = 0; i < NSYMS; i++) {
		int32_t off = syms[i].absolute ? (int32_t)syms[i].addr :
			      (int32_t)(-(int64_t)(syms[i].addr - base) - 1);

		pos = put(im, pos, &off, 4);
	}
	pos = al8(pos);
	return put(im, pos, &base, 8);
}

static size_t put_names_markers(struct image *im, size_t pos)
{
	uint32_t markers[(NSYMS + 255) / 256], n = NSYMS;
	unsigned int i;
	size_t start;

	pos = al8(pos);
	im->num_syms = pos;
	pos = put(im, pos, &n, 4);
	pos = al8(pos);
	start = im->names = pos;
	for (i = 0; i < NSYMS; i++) {
		char full[520];
		uint8_t enc[520];
		size_t l;

		if (i % 256 == 0)
			markers[i / 256] = (uint32_t)(pos - start);
		full[0] = syms[i].type;
		strcpy(full + 1, syms[i].name);
		l = encode_name(full, enc);
		if (l >= 0x80) {
			im->buf[pos++] = (uint8_t)((l & 0x7f) | 0x80);
			im->buf[pos++] = (uint8_t)(l >> 7);
		} else {
			im->buf[pos++] = (uint8_t)l;
		}
		pos = put(im, pos, enc, l);
	}
	pos = al8(pos);
	im->markers = pos;
	return put(im, pos, markers, sizeof(markers));
}

static size_t put_seqs(struct image *im, size_t pos)
{
	unsigned int i;

	pos = al8(pos);
	for (i = 0; i < NSYMS; i++) {
		/* Not sorted by name as the kernel's are: nothing reads them. */
		im->buf[pos++] = (uint8_t)(i >> 16);
		im->buf[pos++] = (uint8_t)(i >> 8);
		im->buf[pos++] = (uint8_t)i;
	}
	return pos;
}

static size_t put_tokens(struct image *im, size_t pos)
{
	uint16_t index[256];
	size_t start;
	unsigned int i;

	pos = al8(pos);
	start = pos;
	for (i = 0; i < 256; i++) {
		index[i] = (uint16_t)(pos - start);
		pos = put(im, pos, tokens[i], strlen(tokens[i]) + 1);
	}
	pos = al8(pos);
	im->token_index = pos;
	return put(im, pos, index, sizeof(index));
}

/* layout 61: the 6.1 order (seqs optional); 64: the 6.4+ order. */
static void build(struct image *im, int layout, int seqs)
{
	uint64_t base = syms[NPERCPU].addr;	/* lowest relative address */
	size_t pos = PREFIX, i;
	uint32_t x = 12345;

	im->len = 1 << 20;
	im->buf = calloc(1, im->len);
	CHECK(im->buf, "calloc");
	/* Deterministic noise standing in for the kernel's code. */
	for (i = 0; i < PREFIX; i++) {
		x = x * 1103515245 + 12345;
		im->buf[i] = (uint8_t)(x >> 16);
	}
	if (layout == 61) {
		pos = put_offsets(im, pos, base);
		pos = put_names_markers(im, pos);
		if (seqs)
			pos = put_seqs(im, pos);
		pos = put_tokens(im, pos);
	} else {
		pos = put_names_markers(im, pos);
		pos = put_tokens(im, pos);
		pos = put_offsets(im, pos, base);
		pos = put_seqs(im, pos);
	}
	CHECK(pos < im->len, "image too small");
}

static void check_all(struct kh_symtab *st, uint64_t text_va)
{
	unsigned int i;

	CHECK(text_va == TEXT_VA, "text_va %llx", (unsigned long long)text_va);
	CHECK(kh_symtab_count(st) == NSYMS, "count %u", kh_symtab_count(st));
	for (i = 0; i < NSYMS; i++) {
		struct kh_sym s;
		int64_t want = syms[i].absolute ? (int64_t)syms[i].addr :
			       (int64_t)(syms[i].addr - TEXT_VA);

		CHECK(!kh_symtab_lookup(st, syms[i].name, &s), "%s missing",
		      syms[i].name);
		CHECK(!strcmp(s.name, syms[i].name), "name %s", s.name);
		CHECK(s.type == syms[i].type, "%s type %c", s.name, s.type);
		CHECK(s.absolute == syms[i].absolute, "%s absolute", s.name);
		CHECK(s.value == want, "%s value %lld want %lld", s.name,
		      (long long)s.value, (long long)want);
	}
	/* Name order and lookup agree. */
	for (i = 1; i < kh_symtab_count(st); i++) {
		struct kh_sym a, b;

		CHECK(!kh_symtab_get(st, i - 1, &a) && !kh_symtab_get(st, i, &b),
		      "get %u", i);
		CHECK(strcmp(a.name, b.name) < 0, "order %s %s", a.name, b.name);
	}
	CHECK(kh_symtab_lookup(st, "no_such_symbol", NULL) == -ENOENT, "absent");
}

static void test_good(int layout, int seqs)
{
	struct image im;
	struct kh_symtab *st = NULL;
	struct kh_err err = { 0 };
	uint64_t text_va = 0;
	int ret;

	build(&im, layout, seqs);
	ret = kh_kallsyms_decode(im.buf, im.len, &st, &text_va, &err);
	CHECK(ret == 0, "layout %d seqs %d: %d %s", layout, seqs, ret, err.msg);
	check_all(st, text_va);
	kh_symtab_free(st);
	free(im.buf);
}

/* A decode that succeeds on damaged tables must still be self-consistent. */
static int try_decode(const uint8_t *buf, size_t len, struct kh_err *err)
{
	struct kh_symtab *st = NULL;
	uint64_t text_va;
	unsigned int i;
	int ret;

	ret = kh_kallsyms_decode(buf, len, &st, &text_va, err);
	if (ret) {
		CHECK(ret < 0 && err->msg[0], "error without a message");
		return ret;
	}
	CHECK(kh_symtab_count(st) <= NSYMS, "count %u", kh_symtab_count(st));
	for (i = 0; i < kh_symtab_count(st); i++) {
		struct kh_sym s;

		CHECK(!kh_symtab_get(st, i, &s) && s.name[0], "sym %u", i);
		CHECK(!kh_symtab_lookup(st, s.name, NULL), "lookup %s", s.name);
	}
	kh_symtab_free(st);
	return 0;
}

static void test_corrupt(void)
{
	struct image im;
	struct kh_err err;
	uint8_t *copy;
	uint32_t x = 777;
	size_t cut;
	int i, ret;

	build(&im, 61, 1);
	copy = malloc(im.len);
	CHECK(copy, "malloc");

	/* A lying marker. */
	memcpy(copy, im.buf, im.len);
	copy[im.markers + 8] ^= 1;
	ret = try_decode(copy, im.len, &err);
	CHECK(ret == -ENOENT && strstr(err.msg, "no kallsyms tables"),
	      "lying marker: %d %s", ret, err.msg);

	/* A token_index entry out of the table's range. */
	memcpy(copy, im.buf, im.len);
	copy[im.token_index + 2 * 200] = 0xff;
	copy[im.token_index + 2 * 200 + 1] = 0xff;
	ret = try_decode(copy, im.len, &err);
	CHECK(ret == -ENOENT, "token index: %d %s", ret, err.msg);

	/* num_syms lying (too many, then absurdly many). */
	memcpy(copy, im.buf, im.len);
	copy[im.num_syms] += 1;
	CHECK(try_decode(copy, im.len, &err) < 0, "num_syms + 1");
	memset(copy + im.num_syms, 0xff, 4);
	CHECK(try_decode(copy, im.len, &err) < 0, "num_syms huge");

	/* Unsorted addresses. */
	memcpy(copy, im.buf, im.len);
	memset(copy + im.offsets + 4 * 500, 0x80, 4);
	CHECK(try_decode(copy, im.len, &err) < 0, "unsorted");

	/* Every truncation: fails cleanly (ASan checks the reads). */
	for (cut = 0; cut < im.token_index + 600; cut += cut < PREFIX ? 4096 : 61)
		try_decode(im.buf, cut, &err);

	/* Random bytes in names, markers, tokens and offsets. */
	for (i = 0; i < 300; i++) {
		int k;

		memcpy(copy, im.buf, im.len);
		for (k = 0; k < 1 + i % 8; k++) {
			size_t span = im.token_index + 512 - im.offsets, at;

			x = x * 1103515245 + 12345;
			at = im.offsets + (x >> 8) % span;
			x = x * 1103515245 + 12345;
			copy[at] = (uint8_t)(x >> 16);
		}
		try_decode(copy, im.len, &err);
	}

	/* Pure noise. */
	for (cut = 0; cut < im.len; cut++) {
		x = x * 1103515245 + 12345;
		copy[cut] = (uint8_t)(x >> 16);
	}
	CHECK(try_decode(copy, im.len, &err) == -ENOENT, "noise");
	free(copy);
	free(im.buf);
}

/* ---- a real Debian kernel ---------------------------------------------- */

static uint8_t *read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	uint8_t *b = malloc(cap);

	while (b) {
		size_t r;

		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return NULL;
			}
			b = nb;
			cap *= 2;
		}
		r = fread(b + n, 1, cap - n, f);
		if (!r)
			break;
		n += r;
	}
	*len = n;
	return b;
}

/* The vmlinux inside a Debian bzImage: its payload is one xz stream. */
static uint8_t *extract_vmlinux(const char *path, size_t *len)
{
	static const uint8_t xzmagic[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	char cmd[512];
	uint8_t *bz, *p, *elf;
	size_t bzlen;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		return NULL;
	bz = read_all(f, &bzlen);
	fclose(f);
	if (!bz)
		return NULL;
	p = memmem(bz, bzlen, xzmagic, sizeof(xzmagic));
	if (!p || strchr(path, '\'')) {
		free(bz);
		return NULL;
	}
	snprintf(cmd, sizeof(cmd),
		 "tail -c +%zu '%s' | xz -dc --single-stream 2>/dev/null",
		 (size_t)(p - bz) + 1, path);
	free(bz);
	f = popen(cmd, "r");
	if (!f)
		return NULL;
	elf = read_all(f, len);
	pclose(f);
	return elf;
}

/*
 * xz takes most of a second, so the extracted ELF is kept in /tmp for the
 * next run (written under a temporary name and renamed, so that parallel
 * runs never read half a file).
 */
static uint8_t *cached_vmlinux(const char *path, size_t *len)
{
	char cache[400], tmp[420];
	uint8_t *elf;
	FILE *f;
	int fd;

	snprintf(cache, sizeof(cache), "/tmp/keyhole-test-%s.elf",
		 strrchr(path, '/') + 1);
	f = fopen(cache, "rb");
	if (f) {
		elf = read_all(f, len);
		fclose(f);
		if (elf && *len > 4 && !memcmp(elf, ELFMAG, SELFMAG))
			return elf;
		free(elf);
	}
	elf = extract_vmlinux(path, len);
	if (!elf || *len < 4 || memcmp(elf, ELFMAG, SELFMAG))
		return elf;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", cache);
	fd = mkstemp(tmp);
	if (fd >= 0) {
		f = fdopen(fd, "wb");
		if (f && fwrite(elf, 1, *len, f) == *len && !fclose(f))
			rename(tmp, cache);
		else if (f)
			fclose(f);
		unlink(tmp);
	}
	return elf;
}

/* Lays the ELF's loadable segments out as they sit in memory from _text. */
static uint8_t *load_image(const uint8_t *elf, size_t elen, size_t *len)
{
	const Elf64_Ehdr *eh = (const void *)elf;
	uint64_t lo = UINT64_MAX, hi = 0;
	uint8_t *img;
	int i;

	if (elen < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > elen)
		return NULL;
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff) + i;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_paddr < lo)
			lo = ph->p_paddr;
		if (ph->p_paddr + ph->p_memsz > hi)
			hi = ph->p_paddr + ph->p_memsz;
	}
	if (lo >= hi || hi - lo > (1ULL << 30))
		return NULL;
	img = calloc(1, hi - lo);
	if (!img)
		return NULL;
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff) + i;

		if (ph->p_type != PT_LOAD || ph->p_offset > elen ||
		    ph->p_filesz > elen - ph->p_offset ||
		    ph->p_filesz > ph->p_memsz)
			continue;
		memcpy(img + (ph->p_paddr - lo), elf + ph->p_offset,
		       ph->p_filesz);
	}
	*len = hi - lo;
	return img;
}

static void test_debian(void)
{
	static const char *const want[] = {
		"_text", "init_task", "linux_banner", "__start_BTF",
		"__stop_BTF", "init_top_pgt", "page_offset_base",
	};
	char path[300] = "";
	struct dirent *de;
	struct kh_symtab *st = NULL;
	struct kh_err err = { 0 };
	struct kh_sym s;
	struct timespec t0, t1;
	uint8_t *elf, *img;
	size_t elen, len;
	uint64_t text_va;
	unsigned int i;
	DIR *d;
	int ret;

	d = opendir("/boot");
	if (!d)
		SKIP("no /boot");
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vmlinuz-", 8) &&
		    strstr(de->d_name, "-amd64") && !path[0])
			snprintf(path, sizeof(path), "/boot/%s", de->d_name);
	closedir(d);
	if (!path[0])
		SKIP("no Debian /boot/vmlinuz-*-amd64");
	elf = cached_vmlinux(path, &elen);
	if (!elf || elen < 1024)
		SKIP("could not extract an xz vmlinux from %s", path);
	img = load_image(elf, elen, &len);
	free(elf);
	CHECK(img, "%s: not a loadable ELF", path);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = kh_kallsyms_decode(img, len, &st, &text_va, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(ret == 0, "%s: %s", path, err.msg);
	fprintf(stderr, "%s: %u symbols, _text %#llx, %.1f ms\n", path,
		kh_symtab_count(st), (unsigned long long)text_va,
		(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	CHECK(kh_symtab_count(st) > 80000, "count %u", kh_symtab_count(st));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(!kh_symtab_lookup(st, want[i], &s) && !s.absolute &&
		      s.value >= 0 && (uint64_t)s.value < len,
		      "%s missing or outside the image", want[i]);
	/* The symbols point at what they name. */
	CHECK(!kh_symtab_lookup(st, "linux_banner", &s), "linux_banner");
	CHECK(!memcmp(img + s.value, "Linux version ", 14), "banner text");
	CHECK(!kh_symtab_lookup(st, "__start_BTF", &s), "__start_BTF");
	CHECK(img[s.value] == 0x9f && img[s.value + 1] == 0xeb, "BTF magic");
	CHECK(!kh_symtab_lookup(st, "_text", &s) && s.value == 0, "_text");
	kh_symtab_free(st);
	free(img);
}

int main(void)
{
	make_tokens();
	make_syms();
	test_good(61, 1);
	test_good(61, 0);
	test_good(64, 1);
	test_corrupt();
	test_debian();
	return KH_PASS;
}
