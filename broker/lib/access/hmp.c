// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "hmp" (the paper's class VII, live interface access):
 * guest-physical memory through QEMU's monitor, HMP "xp /Ngx GPA" run via
 * QMP human-monitor-command. The guest keeps running. Each command is a
 * monitor round trip and prints 16 bytes per line as text, so this is the
 * slowest way in; a batch is sorted and reads that touch or nearly touch
 * are merged into one command of up to MAX_WORDS words.
 *
 * The monitor serves one client at a time, so the connection is made per
 * batch and never held between the engine's operations (another tool can
 * use the monitor in between); while kh_vm_pause() holds the monitor, its
 * connection is borrowed. The output is untrusted text: every line must
 * carry exactly the expected address and values.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/technique.h"
#include "qemu/qmp.h"

#define HMP_TIMEOUT_MS	3000
#define MAX_WORDS	4096	/* 32 KiB per command, ~150 KiB of text */
#define MERGE_GAP	256	/* bytes worth reading to save a command */
#define WORDS_PER_LINE	2

struct span {
	uint64_t start, end;	/* 8-byte aligned GPAs */
	unsigned int idx;
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 16 hex digits at *p into v; advances *p. */
static int parse_hex16(const char **p, uint64_t *v)
{
	int i, d;

	*v = 0;
	for (i = 0; i < 16; i++) {
		d = hex_digit((*p)[i]);
		if (d < 0)
			return -EPROTO;
		*v = *v << 4 | d;
	}
	*p += 16;
	return 0;
}

/*
 * "%016x: 0x%016x 0x%016x\n" lines for nr words from gpa, into out as
 * little-endian bytes (what the guest sees).
 */
static int parse_xp(const char *text, uint64_t gpa, unsigned int nr,
		    uint8_t *out)
{
	const char *p = text;
	unsigned int w = 0, k;
	uint64_t addr, v;

	while (w < nr) {
		if (parse_hex16(&p, &addr) || addr != gpa + w * 8ull ||
		    *p++ != ':')
			return -EPROTO;
		for (k = 0; k < WORDS_PER_LINE && w < nr; k++, w++) {
			if (p[0] != ' ' || p[1] != '0' || p[2] != 'x')
				return -EPROTO;
			p += 3;
			if (parse_hex16(&p, &v))
				return -EPROTO;
			memcpy(out + w * 8ull, &v, 8);	/* x86 is LE */
		}
		if (*p == '\r')
			p++;
		if (*p++ != '\n')
			return -EPROTO;
	}
	return *p ? -EPROTO : 0;
}

/* The parser alone, for the fuzzer (tests/fuzz/fuzz_entry.h). */
int kh_hmp_parse_xp(const char *text, uint64_t gpa, unsigned int nr,
		    uint8_t *out)
{
	return parse_xp(text, gpa, nr, out);
}

static int xp(struct kh_qmp *qmp, uint64_t gpa, unsigned int words,
	      uint8_t *out)
{
	char cmd[64], *text = NULL;
	int r;

	snprintf(cmd, sizeof(cmd), "xp /%ugx 0x%" PRIx64, words, gpa);
	r = kh_qmp_hmp(qmp, cmd, &text, NULL);
	if (!r)
		r = parse_xp(text, gpa, words, out);
	free(text);
	return r;
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

static int hmp_read(struct kh_access *acc, struct kh_read *reads,
		    unsigned int nr)
{
	struct kh_qmp *qmp = NULL;
	struct span *spans;
	uint8_t *words = NULL;
	unsigned int i, j, k, failed = 0;
	int r, borrowed = 0;

	if (!nr)
		return 0;
	spans = calloc(nr, sizeof(*spans));
	words = malloc(MAX_WORDS * 8);
	if (!spans || !words) {
		free(spans);
		free(words);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		spans[i].start = reads[i].addr & ~7ull;
		spans[i].end = (reads[i].addr + reads[i].len + 7) & ~7ull;
		spans[i].idx = i;
		reads[i].result = -EIO;
	}
	qsort(spans, nr, sizeof(*spans), cmp_span);
	r = kh_access_qmp_get(acc, HMP_TIMEOUT_MS, &qmp, &borrowed, NULL);
	if (r)
		goto out;
	atomic_fetch_add_explicit(&acc->elems, nr, memory_order_relaxed);
	for (i = 0; i < nr; i = j) {
		uint64_t start = spans[i].start, end = spans[i].end;

		/* One command for every read that fits with this one. */
		for (j = i + 1; j < nr; j++) {
			uint64_t e = spans[j].end > end ? spans[j].end : end;

			if (spans[j].start > end + MERGE_GAP ||
			    e - start > MAX_WORDS * 8ull ||
			    !kh_layout_find(acc->layout, e - 1) ||
			    kh_layout_find(acc->layout, e - 1) !=
			    kh_layout_find(acc->layout, start))
				break;
			end = e;
		}
		if (end - start > MAX_WORDS * 8ull) {
			/* One read larger than a command: its own loop. */
			uint64_t off;
			struct kh_read *rd = &reads[spans[i].idx];

			for (off = 0, r = 0; !r && off < end - start;
			     off += MAX_WORDS * 8ull) {
				uint64_t n = end - start - off;

				if (n > MAX_WORDS * 8ull)
					n = MAX_WORDS * 8ull;
				r = xp(qmp, start + off, n / 8, words);
				atomic_fetch_add_explicit(&acc->calls, 1,
						memory_order_relaxed);
				if (!r) {
					uint64_t lo = start + off, hi = lo + n;
					uint64_t a = rd->addr > lo ? rd->addr : lo;
					uint64_t b = rd->addr + rd->len < hi ?
						     rd->addr + rd->len : hi;

					if (a < b)
						memcpy((uint8_t *)rd->buf +
						       (a - rd->addr),
						       words + (a - lo), b - a);
				}
			}
			rd->result = r ? -EIO : 0;
			if (!r)
				atomic_fetch_add_explicit(&acc->bytes,
						rd->len, memory_order_relaxed);
			continue;
		}
		r = xp(qmp, start, (end - start) / 8, words);
		atomic_fetch_add_explicit(&acc->calls, 1,
					  memory_order_relaxed);
		for (k = i; k < j; k++) {
			struct kh_read *rd = &reads[spans[k].idx];

			if (r)
				continue;
			memcpy(rd->buf, words + (rd->addr - start), rd->len);
			rd->result = 0;
			atomic_fetch_add_explicit(&acc->bytes, rd->len,
						  memory_order_relaxed);
		}
		if (r == -ECONNRESET || kh_access_alive(acc)) {
			r = -ESRCH;
			goto out;
		}
	}
	r = 0;
out:
	if (qmp)
		kh_access_qmp_put(acc, qmp, borrowed);
	for (i = 0; i < nr; i++)
		failed += !!reads[i].result;
	free(spans);
	free(words);
	if (r < 0 && (r == -ESRCH || kh_access_alive(acc)))
		return -ESRCH;
	return r < 0 ? r : (int)failed;
}

static int hmp_open(struct kh_access *acc, struct kh_err *err)
{
	struct kh_qmp *qmp;
	uint8_t word[8];
	int r;

	/* A real xp: the monitor must answer in the expected format. */
	if (!acc->layout->nr)
		return kh_err_set(err, EINVAL, "the guest RAM layout is empty");
	r = kh_access_qmp(acc, HMP_TIMEOUT_MS, &qmp, err);
	if (r)
		return r;
	r = xp(qmp, acc->layout->range[0].gpa & ~7ull, 1, word);
	kh_qmp_close(qmp);
	if (r)
		return kh_err_set(err, -r,
				  "QEMU pid %d's HMP xp gave no memory contents in the expected format",
				  (int)acc->pid);
	return 0;
}

static void hmp_close(struct kh_access *acc)
{
}

const struct kh_access_ops kh_access_hmp = {
	.name = "hmp",
	.klass = "VII",
	.props = KH_TECHNIQUE_LIVE | KH_TECHNIQUE_INTERFACE,
	.description = "HMP xp through QMP: memory as monitor text, reads merged per command (needs QMP; slowest)",
	.open = hmp_open,
	.read = hmp_read,
	.close = hmp_close,
};
