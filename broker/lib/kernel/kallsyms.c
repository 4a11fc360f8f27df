// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Decoding the guest kernel's kallsyms tables out of a copy of its memory.
 *
 * scripts/kallsyms.c emits these tables, each label aligned to 8 bytes on
 * 64-bit:
 *
 *   up to 6.3:  offsets[N] (s32), relative_base (u64), num_syms (u32),
 *               names, markers[(N+255)/256] (u32), [seqs_of_names[N] (3 B)],
 *               token_table (256 NUL-terminated strings), token_index[256]
 *   6.4 on:     num_syms, names, markers, token_table, token_index,
 *               offsets, relative_base, seqs_of_names
 *
 * seqs_of_names exists from 6.2 and was backported to some 6.1 stable
 * kernels, so nothing here assumes it is there or not: every table is found
 * by what it must contain and then cross-checked against the others. The
 * memory is the guest's and so untrusted; a wrong guess must fail a check,
 * never read out of bounds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kallsyms.h"

/* The kernel's KSYM_NAME_LEN: no symbol name (with its type) is longer. */
#define KSYM_NAME_LEN		512
/* Fewer symbols than this is not a Linux kernel: it also keeps the search
 * for kallsyms_markers to candidates with at least two markers. */
#define MIN_SYMS		257
/* An entry is a length byte (two for long names) plus at least one token
 * and, compressed, never more than the name's length in tokens. */
#define MIN_ENTRY		2
#define MAX_ENTRY		(2 + KSYM_NAME_LEN)

struct sym_ent {
	uint64_t key;		/* the name's first 8 bytes, big-endian */
	size_t name;		/* offset into the arena */
	int64_t value;
	char type;
	unsigned char absolute;
};

struct kh_symtab {
	struct sym_ent *ents;
	unsigned int nr, cap;
	char *arena;
	size_t arena_len, arena_cap;
	int finished;
	int borrowed;		/* ents and arena belong to someone else */
};

struct kh_symtab *kh_symtab_new(void)
{
	return calloc(1, sizeof(struct kh_symtab));
}

void kh_symtab_free(struct kh_symtab *st)
{
	if (!st)
		return;
	if (!st->borrowed) {
		free(st->ents);
		free(st->arena);
	}
	free(st);
}

static int arena_add(struct kh_symtab *st, const char *s, size_t n,
		     size_t *off)
{
	if (st->arena_cap - st->arena_len < n + 1) {
		size_t cap = st->arena_cap ? st->arena_cap : 4096;
		char *p;

		while (cap - st->arena_len < n + 1) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		p = realloc(st->arena, cap);
		if (!p)
			return -ENOMEM;
		st->arena = p;
		st->arena_cap = cap;
	}
	memcpy(st->arena + st->arena_len, s, n);
	st->arena[st->arena_len + n] = '\0';
	*off = st->arena_len;
	st->arena_len += n + 1;
	return 0;
}

/* Comparing this first saves most of the strcmp calls when sorting. */
static uint64_t name_key(const char *name, size_t n)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		k = k << 8 | (i < n ? (uint8_t)name[i] : 0);
	return k;
}

static int symtab_add_n(struct kh_symtab *st, const char *name, size_t n,
			char type, int absolute, int64_t value)
{
	struct sym_ent *e;
	size_t off;
	int ret;

	if (st->nr == st->cap) {
		unsigned int cap = st->cap ? st->cap * 2 : 1024;
		struct sym_ent *p;

		if (cap <= st->cap)
			return -ENOMEM;
		p = realloc(st->ents, (size_t)cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->ents = p;
		st->cap = cap;
	}
	ret = arena_add(st, name, n, &off);
	if (ret)
		return ret;
	e = &st->ents[st->nr++];
	e->key = name_key(name, n);
	e->name = off;
	e->value = value;
	e->type = type;
	e->absolute = !!absolute;
	st->finished = 0;
	return 0;
}

/* Sizes both arrays at once when the decoder knows what is coming. */
static int symtab_reserve(struct kh_symtab *st, unsigned int nr, size_t bytes)
{
	struct sym_ent *e;
	char *a;

	e = realloc(st->ents, (size_t)nr * sizeof(*e));
	if (!e)
		return -ENOMEM;
	st->ents = e;
	st->cap = nr;
	a = realloc(st->arena, bytes);
	if (!a)
		return -ENOMEM;
	st->arena = a;
	st->arena_cap = bytes;
	return 0;
}

int kh_symtab_add(struct kh_symtab *st, const char *name, char type,
		  int absolute, int64_t value)
{
	size_t n;

	if (!st || !name)
		return -EINVAL;
	n = strnlen(name, KSYM_NAME_LEN);
	if (n == 0 || n >= KSYM_NAME_LEN)
		return -EINVAL;
	return symtab_add_n(st, name, n, type, absolute, value);
}

/* Global symbols (upper-case type) win over static ones of the same name:
 * a lookup of "init_task" wants the kernel's, not some file's local. */
static int is_global(char type)
{
	return type >= 'A' && type <= 'Z';
}

static int ent_cmp(const void *a, const void *b, void *arena)
{
	const struct sym_ent *x = a, *y = b;
	const char *sort_arena = arena;
	int c;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	c = strcmp(sort_arena + x->name, sort_arena + y->name);
	if (c)
		return c;
	if (is_global(x->type) != is_global(y->type))
		return is_global(x->type) ? -1 : 1;
	if (x->absolute != y->absolute)
		return x->absolute ? 1 : -1;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return 0;
}

int kh_symtab_finish(struct kh_symtab *st)
{
	unsigned int i, out;

	if (!st)
		return -EINVAL;
	if (st->nr) {
		qsort_r(st->ents, st->nr, sizeof(*st->ents), ent_cmp,
			st->arena);
	}
	/* One entry per name, so that lookups are deterministic and count is
	 * the number of distinct names; the first in sort order stays. */
	for (i = 0, out = 0; i < st->nr; i++) {
		if (out && !strcmp(st->arena + st->ents[out - 1].name,
				   st->arena + st->ents[i].name))
			continue;
		st->ents[out++] = st->ents[i];
	}
	st->nr = out;
	st->finished = 1;
	return 0;
}

int kh_symtab_export(const struct kh_symtab *st, struct kh_symtab_blob *blob)
{
	if (!st || !st->finished)
		return -EINVAL;
	blob->ents = st->ents;
	blob->ents_len = (size_t)st->nr * sizeof(*st->ents);
	blob->arena = st->arena;
	blob->arena_len = st->arena_len;
	return 0;
}

int kh_symtab_import(const struct kh_symtab_blob *blob, int borrow,
		     struct kh_symtab **symtabp)
{
	const char *arena = blob->arena;
	struct kh_symtab *st;
	size_t i, nr;

	if (blob->ents_len % sizeof(struct sym_ent) || !blob->arena_len ||
	    arena[blob->arena_len - 1] != '\0' ||
	    blob->ents_len / sizeof(struct sym_ent) > UINT32_MAX ||
	    (borrow && (uintptr_t)blob->ents % _Alignof(struct sym_ent)))
		return -EINVAL;
	nr = blob->ents_len / sizeof(struct sym_ent);
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	if (borrow) {
		/* Only ever read: the const is dropped, never written through. */
		st->ents = (struct sym_ent *)blob->ents;
		st->arena = (char *)arena;
		st->borrowed = 1;
	} else {
		st->ents = malloc(blob->ents_len ? blob->ents_len : 1);
		st->arena = malloc(blob->arena_len);
		if (!st->ents || !st->arena) {
			kh_symtab_free(st);
			return -ENOMEM;
		}
		memcpy(st->ents, blob->ents, blob->ents_len);
		memcpy(st->arena, arena, blob->arena_len);
	}
	st->nr = st->cap = nr;
	st->arena_len = st->arena_cap = blob->arena_len;
	for (i = 0; i < nr; i++) {
		const struct sym_ent *e = &st->ents[i];
		size_t n;

		if (e->name >= st->arena_len)
			goto bad;
		n = strlen(st->arena + e->name);
		if (!n || n >= KSYM_NAME_LEN ||
		    e->key != name_key(st->arena + e->name, n) ||
		    (i && strcmp(st->arena + st->ents[i - 1].name,
				 st->arena + e->name) >= 0))
			goto bad;
	}
	st->finished = 1;
	*symtabp = st;
	return 0;
bad:
	kh_symtab_free(st);
	return -EINVAL;
}

unsigned int kh_symtab_count(const struct kh_symtab *st)
{
	return st && st->finished ? st->nr : 0;
}

static void fill_sym(const struct kh_symtab *st, const struct sym_ent *e,
		     struct kh_sym *sym)
{
	sym->name = st->arena + e->name;
	sym->type = e->type;
	sym->absolute = e->absolute;
	sym->value = e->value;
}

int kh_symtab_get(const struct kh_symtab *st, unsigned int i,
		  struct kh_sym *sym)
{
	if (!st || !sym || !st->finished)
		return -EINVAL;
	if (i >= st->nr)
		return -ENOENT;
	fill_sym(st, &st->ents[i], sym);
	return 0;
}

int kh_symtab_lookup(const struct kh_symtab *st, const char *name,
		     struct kh_sym *sym)
{
	unsigned int lo = 0, hi;
	uint64_t key;

	if (!st || !name || !st->finished)
		return -EINVAL;
	/*
	 * The keys order as the names do, so most steps of the search
	 * compare two integers: a crawl looks up dozens of symbols by name,
	 * and seventeen strcmp calls each were 3% of it.
	 */
	key = name_key(name, strnlen(name, 8));
	hi = st->nr;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct sym_ent *e = &st->ents[mid];
		int c = key != e->key ? (key < e->key ? -1 : 1) :
			strcmp(name, st->arena + e->name);

		if (!c) {
			if (sym)
				fill_sym(st, &st->ents[mid], sym);
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

/* ---- finding the tables ------------------------------------------------ */

struct ktables {
	const uint8_t *img;
	size_t len;
	size_t token_table;	/* offsets into img */
	size_t token_index;
	uint32_t tok_off[256];	/* each token's offset in token_table */
	uint8_t tok_len[256];
	size_t markers;
	size_t names;
	size_t names_end;
	uint32_t num_syms;
	size_t offsets;
	size_t relative_base;
	int seqs_of_names;	/* found between markers and token_table */
	/* Steps the search may still take: memory made to look like many
	 * almost-tables must not keep the host busy for long. */
	uint64_t budget;
};

#define SEARCH_BUDGET	(1ULL << 26)

/* Charges n steps; 0 once the budget is gone. */
static int spend(struct ktables *kt, uint64_t n)
{
	if (kt->budget < n) {
		kt->budget = 0;
		return 0;
	}
	kt->budget -= n;
	return 1;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static size_t align8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* Symbol names (and so tokens) are printable ASCII. */
static int tok_char(uint8_t c)
{
	return c >= 0x21 && c <= 0x7e;
}

/* Walks n NUL-terminated tokens from *pos; 0 if one is not plausible. */
static int skip_tokens(struct ktables *kt, size_t *pos, unsigned int n,
		       uint32_t *offs, uint8_t *lens, size_t start)
{
	size_t p = *pos;
	unsigned int i;

	for (i = 0; i < n; i++) {
		size_t l = 0;

		if (offs) {
			if (p - start > UINT16_MAX)
				return 0;
			offs[i] = (uint32_t)(p - start);
		}
		while (p < kt->len && kt->img[p] != 0) {
			if (!tok_char(kt->img[p]) || ++l > 255)
				return 0;
			p++;
		}
		if (p >= kt->len || !spend(kt, l + 1))
			return 0;
		if (lens)
			lens[i] = (uint8_t)l;
		p++;		/* the NUL */
	}
	*pos = p;
	return 1;
}

/*
 * digits is where token '0' starts in a candidate "0\0" "1\0" ... "9\0"
 * run: each character that occurs in some symbol is its own token, at its
 * own index, so the digits are tokens 0x30..0x39. What precedes token 0 is
 * not delimited, so rather than walking back, walk forward to the end of
 * the table: token_index follows at the next 8-byte boundary and its entry
 * 0x30 says where the table starts. Then every token must be where
 * token_index says.
 */
static int check_token_table(struct ktables *kt, size_t digits)
{
	const uint8_t *img = kt->img;
	size_t end = digits, ti;
	unsigned int i;

	if (!skip_tokens(kt, &end, 256 - 0x30, NULL, NULL, 0))
		return 0;
	/* Any of the 8 offsets from the end, in case the copy is not 8-byte
	 * aligned the way the kernel's labels are. */
	for (ti = end; ti < end + 8; ti++) {
		size_t start, pos;

		if (ti > kt->len || kt->len - ti < 512)
			break;
		if (rd16(img + ti) != 0 || rd16(img + ti + 2 * 0x30) > digits)
			continue;
		start = digits - rd16(img + ti + 2 * 0x30);
		pos = start;
		if (!skip_tokens(kt, &pos, 256, kt->tok_off, kt->tok_len,
				 start) || pos != end)
			continue;
		for (i = 0; i < 256; i++)
			if (rd16(img + ti + 2 * i) != kt->tok_off[i])
				break;
		if (i == 256) {
			kt->token_table = start;
			kt->token_index = ti;
			return 1;
		}
	}
	return 0;
}

static int find_token_table(struct ktables *kt, size_t *from)
{
	static const char digits[] = "0\0" "1\0" "2\0" "3\0" "4\0"
				     "5\0" "6\0" "7\0" "8\0" "9";
	const size_t dlen = sizeof(digits);	/* includes the final NUL */

	while (*from < kt->len) {
		const uint8_t *p = memmem(kt->img + *from, kt->len - *from,
					  digits, dlen);
		size_t off;

		if (!p)
			return 0;
		off = (size_t)(p - kt->img);
		*from = off + 1;
		if (check_token_table(kt, off))
			return 1;
	}
	return 0;
}

/*
 * Walks the N entries of kallsyms_names from s without expanding them,
 * checking that every 256th starts where markers says and that the last
 * ends in the alignment padding just before the markers.
 */
static int check_names(struct ktables *kt, size_t s, uint32_t n,
		       size_t mst)
{
	const uint8_t *img = kt->img;
	size_t pos = s;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if ((i & 255) == 0 && !spend(kt, 256))
			return 0;
		size_t l;

		if ((i & 255) == 0 && rd32(img + mst + 4 * (i >> 8)) != pos - s)
			return 0;
		if (pos >= mst)
			return 0;
		l = img[pos++];
		if (l & 0x80) {
			if (pos >= mst)
				return 0;
			l = (l & 0x7f) | (size_t)img[pos++] << 7;
		}
		if (l == 0 || l > KSYM_NAME_LEN || mst - pos < l)
			return 0;
		pos += l;
	}
	return mst - pos < 8;
}

/*
 * Looks for kallsyms_markers before token_table: a u32 0 followed by
 * increasing offsets, each 256 names apart. Then kallsyms_names must end
 * there, and num_syms sits in the 8 bytes before names in both layouts.
 */
static int find_names(struct ktables *kt)
{
	const uint8_t *img = kt->img;
	size_t mst, tt = kt->token_table;

	if (tt < 16)
		return 0;
	for (mst = (tt - 8) & ~(size_t)3; mst >= 16; mst -= 4) {
		size_t r = 1, s, lo, hi;
		uint32_t prev = 0, last, first;

		if (!spend(kt, 1))
			return 0;
		if (rd32(img + mst) != 0)
			continue;
		/* The plausible run of markers, bounded by token_table. */
		while (mst + 4 * (r + 1) <= tt) {
			uint32_t m = rd32(img + mst + 4 * r);

			if (m <= prev || m - prev < 256 * MIN_ENTRY ||
			    m - prev > 256 * MAX_ENTRY)
				break;
			prev = m;
			r++;
		}
		if (r < 2)
			continue;
		last = prev;
		/*
		 * The run may overshoot the real markers (into seqs_of_names),
		 * so names may have 2..r blocks: it starts at least m[1] + 2
		 * and at most the last run value plus a full block before mst.
		 */
		first = rd32(img + mst + 4);
		if (mst < (size_t)first + MIN_ENTRY + 8)
			continue;
		hi = mst - first - MIN_ENTRY;
		lo = mst - last > 256 * MAX_ENTRY + 16 ?
		     mst - last - 256 * MAX_ENTRY - 8 : 8;
		if (hi >= lo && !spend(kt, hi - lo + 1))
			return 0;
		for (s = hi; s >= lo; s--) {
			uint32_t n = rd32(img + s - 8), nm;
			size_t mlast;

			if (n < MIN_SYMS)
				continue;
			nm = (uint32_t)(((uint64_t)n + 255) / 256);
			if (nm > r)
				continue;
			/* names holds nm - 1 full blocks and a last one. */
			mlast = rd32(img + mst + 4 * (nm - 1));
			if (mlast + MIN_ENTRY > mst - s ||
			    mlast + (size_t)(n - 256 * (nm - 1)) * MAX_ENTRY + 8 <
			    mst - s)
				continue;
			if (check_names(kt, s, n, mst)) {
				kt->names = s;
				kt->num_syms = n;
				kt->markers = mst;
				kt->names_end = mst;
				kt->seqs_of_names =
					tt - (mst + 4 * (size_t)nm) >=
					3 * (size_t)n;
				return 1;
			}
		}
	}
	return 0;
}

/* Expands entry i's tokens into buf; returns the length or -1. */
static int expand(const struct ktables *kt, size_t *pos, char *buf)
{
	const uint8_t *img = kt->img;
	const char *tt = (const char *)img + kt->token_table;
	size_t p = *pos, l, out = 0, i;

	l = img[p++];
	if (l & 0x80)
		l = (l & 0x7f) | (size_t)img[p++] << 7;
	for (i = 0; i < l; i++) {
		uint8_t t = img[p + i];
		size_t tl = kt->tok_len[t];

		if (out + tl >= KSYM_NAME_LEN)
			return -1;
		memcpy(buf + out, tt + kt->tok_off[t], tl);
		out += tl;
	}
	*pos = p + l;
	buf[out] = '\0';
	return (int)out;
}

/* The runtime address of symbol i under the x86-64 relative scheme with
 * absolute per-CPU symbols (or plain base-relative when percpu_abs is 0). */
static uint64_t sym_addr(const struct ktables *kt, uint32_t i, int percpu_abs,
			 int *absolute)
{
	int32_t off = (int32_t)rd32(kt->img + kt->offsets + 4 * (size_t)i);
	uint64_t base = rd64(kt->img + kt->relative_base);

	*absolute = 0;
	if (!percpu_abs)
		return base + (uint32_t)off;
	if (off >= 0) {
		*absolute = 1;
		return (uint64_t)off;
	}
	return base - 1 - (uint64_t)(int64_t)off;
}

/* The offsets must give sorted addresses: scripts/kallsyms.c sorts them. */
static int check_offsets(struct ktables *kt, size_t off, size_t rb,
			 int *percpu_abs)
{
	uint32_t i, n = kt->num_syms, distinct = 0;
	uint64_t prev = 0;
	int neg = 0, abs;

	if (off > kt->len || kt->len - off < 4 * (size_t)n ||
	    rb > kt->len || kt->len - rb < 8)
		return 0;
	kt->offsets = off;
	kt->relative_base = rb;
	for (i = 0; i < n; i++)
		if ((int32_t)rd32(kt->img + off + 4 * (size_t)i) < 0) {
			neg = 1;
			break;
		}
	/* With absolute per-CPU symbols every ordinary symbol is negative;
	 * without, every offset is a small positive distance from the base. */
	*percpu_abs = neg;
	for (i = 0; i < n; i++) {
		uint64_t a = sym_addr(kt, i, neg, &abs);

		if (a < prev)
			return 0;
		if (a > prev)
			distinct++;
		prev = a;
	}
	/* Zeros are sorted too: most symbols must have addresses of their
	 * own, as they do in every kernel. */
	return distinct >= n / 2;
}

static int find_offsets(struct ktables *kt, int *percpu_abs)
{
	size_t n4 = 4 * (size_t)kt->num_syms, o;

	/* Up to 6.3: offsets, relative_base, num_syms right before names. */
	if (kt->names >= 16 + align8(n4)) {
		size_t rb = kt->names - 16;

		if (check_offsets(kt, rb - align8(n4), rb, percpu_abs) ||
		    check_offsets(kt, rb - n4, rb, percpu_abs))
			return 1;
	}
	/* 6.4 on: offsets and relative_base after token_index. */
	o = align8(kt->token_index + 512);
	if (check_offsets(kt, o, align8(o + n4), percpu_abs) ||
	    check_offsets(kt, kt->token_index + 512,
			  kt->token_index + 512 + n4, percpu_abs))
		return 1;
	return 0;
}

static int decode_all(const struct ktables *kt, int percpu_abs,
		      struct kh_symtab *st, uint64_t *text_va,
		      struct kh_err *err)
{
	char buf[KSYM_NAME_LEN + 1];
	size_t pos = kt->names;
	uint32_t i, text_i = UINT32_MAX;
	size_t bytes = 0;
	int abs, ret;

	/* _text first: every other symbol is stored relative to it. The same
	 * pass sizes the table, so that decoding does not reallocate. */
	for (i = 0; i < kt->num_syms; i++) {
		int l = expand(kt, &pos, buf);

		if (l < 0)
			return kh_err_set(err, EINVAL,
					  "kallsyms name %u expands beyond %d characters",
					  i, KSYM_NAME_LEN);
		if (l == 6 && !memcmp(buf + 1, "_text", 5) &&
		    text_i == UINT32_MAX)
			text_i = i;
		bytes += (size_t)l;	/* the type letter's byte holds the NUL */
	}
	if (text_i == UINT32_MAX)
		return kh_err_set(err, ENOENT,
				  "the guest's kallsyms has no _text symbol");
	*text_va = sym_addr(kt, text_i, percpu_abs, &abs);
	if (abs)
		return kh_err_set(err, EINVAL,
				  "the guest's kallsyms has _text as an absolute symbol");
	if (symtab_reserve(st, kt->num_syms, bytes + 1))
		return kh_err_set(err, ENOMEM, "out of memory decoding kallsyms");

	pos = kt->names;
	for (i = 0; i < kt->num_syms; i++) {
		int l = expand(kt, &pos, buf);
		uint64_t a;

		if (l < 2)	/* a type letter and at least one character */
			continue;
		a = sym_addr(kt, i, percpu_abs, &abs);
		ret = symtab_add_n(st, buf + 1, (size_t)l - 1, buf[0], abs,
				   abs ? (int64_t)a : (int64_t)(a - *text_va));
		if (ret)
			return kh_err_set(err, -ret,
					  "out of memory decoding kallsyms");
	}
	return 0;
}

int kh_kallsyms_decode(const uint8_t *img, size_t len,
		       struct kh_symtab **symtabp, uint64_t *text_va,
		       struct kh_err *err)
{
	struct ktables kt;
	struct kh_symtab *st;
	size_t from = 0;
	int percpu_abs = 0, found = 0, ret;

	if (!img || !symtabp || !text_va)
		return kh_err_set(err, EINVAL, "kh_kallsyms_decode: bad arguments");
	memset(&kt, 0, sizeof(kt));
	kt.img = img;
	kt.len = len;

	/* A false token table (or one whose other tables do not check out)
	 * only moves the search on to the next candidate. */
	kt.budget = SEARCH_BUDGET;
	while (find_token_table(&kt, &from)) {
		if (find_names(&kt) && find_offsets(&kt, &percpu_abs)) {
			found = 1;
			break;
		}
	}
	if (!found && !kt.budget)
		return kh_err_set(err, ENOENT,
				  "gave up looking for kallsyms in the %zu bytes after the kernel's _text: too many near-misses",
				  len);
	if (!found)
		return kh_err_set(err, ENOENT,
				  "no kallsyms tables found in the %zu bytes after the kernel's _text",
				  len);

	st = kh_symtab_new();
	if (!st)
		return kh_err_set(err, ENOMEM, "out of memory decoding kallsyms");
	ret = decode_all(&kt, percpu_abs, st, text_va, err);
	if (!ret)
		ret = kh_symtab_finish(st);
	if (ret) {
		kh_symtab_free(st);
		return ret;
	}
	*symtabp = st;
	return 0;
}
