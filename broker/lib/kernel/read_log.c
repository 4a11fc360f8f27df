// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The reads one part of a crawl made, and whether they would read the
 * same now (kernel/read_log.h): what lets a crawl skip walking again what
 * has not changed since the last one (crawl/since.c).
 *
 * Checking a log read by read cost about what walking again did (each
 * kernel-virtual read translated, copied and compared on its own). So a
 * log is sealed once its part is done: the reads of guest-physical
 * memory and of the kernel's linear map (the image and the direct map,
 * whose translation is fixed for the boot: nearly all of them) become a
 * few spans of guest-physical memory, sorted and merged across small
 * gaps (SPAN_GAP_*), kept with the bytes they hold. The bytes between the reads are
 * read then; the reads' own bytes are laid over them as the walk saw
 * them, so a span reading the same later means every read in it does.
 * A check is then one batch of whole spans (past the page cache where
 * one call carries a batch, so that only their bytes move), and one
 * compare each. What is left (reads of vmalloc'd memory, reads that
 * failed) is checked read by read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/memory.h"
#include "kernel/page_cache.h"
#include "kernel/read_log.h"
#include "vm.h"

struct logged_read {
	uint64_t addr;
	uint64_t at;		/* its bytes in log->bytes, when result is 0 */
	uint32_t len;
	int32_t result;
	uint8_t space;		/* enum kh_space */
};

/* Guest-physical bytes a sealed log holds, at span_bytes[at]. */
struct span {
	uint64_t gpa;
	uint32_t len;
	uint32_t at;
};

struct kh_read_log {
	_Atomic unsigned int refs;
	struct logged_read *reads;	/* after the seal: those left over */
	size_t nr, cap;
	uint8_t *bytes;
	size_t used, bytes_cap;
	struct span *spans;
	size_t nr_spans;
	uint8_t *span_bytes;
	size_t span_used;
	int broken;		/* a read went unrecorded, or one was redone */
};

/*
 * Reads this close merge into one span: comparing the gap costs less
 * than another span. Compared in place (memmap), a span is nearly free
 * and every byte counts; read (pvreadv), each span is an iovec that the
 * kernel looks up in QEMU's address space and pins (measured: a crawl
 * of 800 spans spent most of its time there), and a gap of up to 1 KiB
 * is cheaper to copy. Wider gaps also catch more counters that move
 * beside the fields read (a live guest keeps fewer processes).
 */
#define SPAN_GAP_MAPPED	64
#define SPAN_GAP_READ	1024

/*
 * A part that reads more than this is not logged (nor kept): checking it
 * again would cost about as much as walking it, and a hostile guest could
 * make a process's walk read all its bound allows.
 */
#define LOG_MAX_BYTES	(4u << 20)

__thread struct kh_read_log *kh_logging;

uint64_t kh_read_log_bytes(const struct kh_read_log *log)
{
	return log->used + log->nr * sizeof(*log->reads) + log->span_used +
	       log->nr_spans * sizeof(*log->spans);
}

void kh_read_log_begin(struct kh_read_log **logp)
{
	struct kh_read_log *log = calloc(1, sizeof(*log));

	if (log)
		log->refs = 1;
	*logp = log;
	kh_logging = log;
}

int kh_read_log_end(struct kh_read_log *log)
{
	if (kh_logging == log)
		kh_logging = NULL;
	return !log || log->broken ? -EAGAIN : 0;
}

void kh_read_log_get(struct kh_read_log *log)
{
	log->refs++;
}

void kh_read_log_put(struct kh_read_log *log)
{
	if (!log || --log->refs)
		return;
	free(log->reads);
	free(log->bytes);
	free(log->spans);
	free(log->span_bytes);
	free(log);
}

void kh_read_log_taint(void)
{
	if (kh_logging)
		kh_logging->broken = 1;
}

static int grow(void **buf, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n * size);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

void kh_read_log_add(enum kh_space space, const struct kh_read *reads,
		     unsigned int nr)
{
	struct kh_read_log *log = kh_logging;
	unsigned int i;

	if (log->broken)
		return;
	for (i = 0; i < nr; i++) {
		const struct kh_read *r = &reads[i];
		struct logged_read *l;

		if (log->used + r->len > LOG_MAX_BYTES ||
		    grow((void **)&log->reads, &log->cap, log->nr + 1,
			 sizeof(*log->reads)) ||
		    (!r->result && grow((void **)&log->bytes, &log->bytes_cap,
					log->used + r->len, 1))) {
			log->broken = 1;
			return;
		}
		l = &log->reads[log->nr++];
		*l = (struct logged_read){ .addr = r->addr, .len = r->len,
					   .result = r->result,
					   .space = space, .at = log->used };
		/* A read of no bytes has none to keep (and maybe no buf). */
		if (!r->result && r->len) {
			memcpy(log->bytes + log->used, r->buf, r->len);
			log->used += r->len;
		}
	}
}

/* A logged read as guest-physical bytes, for the seal. */
struct piece {
	uint64_t gpa;
	uint64_t at;		/* its bytes in log->bytes */
	uint32_t len;
};

static int by_gpa(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return (x->gpa > y->gpa) - (x->gpa < y->gpa);
}

/*
 * A hostile guest can space what a walk reads a gap apart, so that the
 * spans hold up to SPAN_GAP_READ times the bytes read: a log whose spans
 * would hold more than this is not sealed (nor kept), and span offsets
 * fit 32 bits.
 */
#define SPAN_BYTES_MAX	(2 * LOG_MAX_BYTES)

/* Spans hold at most this much: a read of the technique, not a bulk copy. */
#define SPAN_MAX	(16u << 10)

/* The spans that cover pieces[0..nr), sorted: how many. */
static size_t make_spans(const struct kh_vm *vm, const struct piece *pieces,
			 size_t nr, struct span *spans)
{
	uint64_t gap = vm->acc.hot.size ? SPAN_GAP_MAPPED : SPAN_GAP_READ;
	const struct kh_ram_range *range = NULL;
	uint64_t start = 0, end = 0;
	size_t i, n = 0, at = 0;

	for (i = 0; i < nr; i++) {
		const struct piece *p = &pieces[i];
		uint64_t p_end = p->gpa + p->len;

		if (n && p->gpa <= end + gap &&
		    (p_end > end ? p_end : end) - start <= SPAN_MAX &&
		    p_end - range->gpa <= range->size) {
			if (p_end > end)
				end = p_end;
			spans[n - 1].len = end - start;
			continue;
		}
		if (n)
			at += spans[n - 1].len;
		/* Gaps must not grow a log far past what it read. */
		if (at > SPAN_BYTES_MAX)
			return 0;
		/* Each piece lies inside one RAM range: the engine read it. */
		range = kh_layout_find(&vm->layout, p->gpa);
		if (!range)
			return 0;
		start = p->gpa;
		end = p_end;
		spans[n++] = (struct span){ .gpa = start, .len = p->len,
					    .at = at };
	}
	return n && at + spans[n - 1].len <= SPAN_BYTES_MAX ? n : 0;
}

/*
 * The span holding piece p (spans sorted, p inside one): its bytes in the
 * sealed log.
 */
static uint8_t *piece_bytes(struct kh_read_log *log, const struct piece *p,
			    size_t *hint)
{
	while (*hint < log->nr_spans &&
	       log->spans[*hint].gpa + log->spans[*hint].len < p->gpa + p->len)
		++*hint;
	return log->span_bytes + log->spans[*hint].at +
	       (p->gpa - log->spans[*hint].gpa);
}

/*
 * The reads left over, with their bytes, packed at the front: the reads
 * the spans took are dropped.
 */
static int keep_left_over(struct kh_read_log *log, const uint8_t *taken)
{
	size_t i, n = 0, used = 0;
	uint8_t *bytes = NULL;

	for (i = 0; i < log->nr; i++)
		if (!taken[i] && !log->reads[i].result)
			used += log->reads[i].len;
	if (used && !(bytes = malloc(used)))
		return -ENOMEM;
	used = 0;
	for (i = 0; i < log->nr; i++) {
		struct logged_read r = log->reads[i];

		if (taken[i])
			continue;
		if (!r.result && r.len) {
			memcpy(bytes + used, log->bytes + r.at, r.len);
			r.at = used;
			used += r.len;
		}
		log->reads[n++] = r;
	}
	free(log->bytes);
	log->bytes = bytes;
	log->used = used;
	log->bytes_cap = used;
	log->nr = n;
	return 0;
}

int kh_read_log_seal(struct kh_vm *vm, struct kh_read_log *log)
{
	struct kh_read *reads = NULL;
	struct piece *pieces;
	uint8_t *taken;
	size_t i, n = 0, hint = 0;
	int ret = -ENOMEM;

	if (!log || log->broken || log->spans)
		return log && !log->broken ? 0 : -EAGAIN;
	pieces = malloc(sizeof(*pieces) * (log->nr ? log->nr : 1));
	taken = calloc(log->nr ? log->nr : 1, 1);
	if (!pieces || !taken)
		goto out;
	for (i = 0; i < log->nr; i++) {
		const struct logged_read *r = &log->reads[i];
		uint64_t gpa = r->addr;

		if (r->result || !r->len ||
		    (r->space == KH_SPACE_KVA &&
		     !kh_kva_linear(vm, r->addr, r->len, &gpa)))
			continue;
		pieces[n++] = (struct piece){ .gpa = gpa, .at = r->at,
					      .len = r->len };
		taken[i] = 1;
	}
	ret = 0;
	if (!n)
		goto out;
	qsort(pieces, n, sizeof(*pieces), by_gpa);
	ret = -ENOMEM;
	log->spans = malloc(sizeof(*log->spans) * n);
	if (!log->spans)
		goto out;
	log->nr_spans = make_spans(vm, pieces, n, log->spans);
	ret = -EAGAIN;
	if (!log->nr_spans)
		goto out;
	log->span_used = log->spans[log->nr_spans - 1].at +
			 log->spans[log->nr_spans - 1].len;
	ret = -ENOMEM;
	log->span_bytes = malloc(log->span_used);
	reads = malloc(sizeof(*reads) * log->nr_spans);
	if (!log->span_bytes || !reads)
		goto out;
	/* The gaps as they are now, */
	for (i = 0; i < log->nr_spans; i++)
		reads[i] = (struct kh_read){ .addr = log->spans[i].gpa,
					     .buf = log->span_bytes +
						    log->spans[i].at,
					     .len = log->spans[i].len };
	ret = kh_gpa_fetch(vm, reads, log->nr_spans, NULL);
	if (ret) {
		ret = ret < 0 ? ret : -EAGAIN;
		goto out;
	}
	/* the reads as the walk saw them, */
	for (i = 0; i < n; i++)
		memcpy(piece_bytes(log, &pieces[i], &hint),
		       log->bytes + pieces[i].at, pieces[i].len);
	/*
	 * and no two of them that overlap yet saw different bytes (a live
	 * guest read twice): no span could stand for both.
	 */
	for (i = 0, hint = 0; i < n; i++)
		if (memcmp(piece_bytes(log, &pieces[i], &hint),
			   log->bytes + pieces[i].at, pieces[i].len)) {
			ret = -EAGAIN;
			goto out;
		}
	ret = keep_left_over(log, taken);
out:
	if (ret) {
		free(log->spans);
		free(log->span_bytes);
		log->spans = NULL;
		log->span_bytes = NULL;
		log->nr_spans = 0;
		log->span_used = 0;
		log->broken = 1;
	}
	free(reads);
	free(pieces);
	free(taken);
	return ret;
}

/* A span to read again, and whose. */
struct span_check {
	const struct span *span;
	unsigned int log;
};

/*
 * Every span of the logs still judged same, again: compared in place
 * where the technique maps guest RAM, else read in one batch past the
 * page cache; same[l] becomes 0 where one differs. 0, or -errno for the
 * whole batch (the VM is gone).
 */
static int spans_same(struct kh_vm *vm, struct kh_read_log *const *logs,
		      unsigned int nr, int *same, struct kh_err *err)
{
	struct span_check *check = NULL;
	struct kh_read *reads = NULL;
	size_t total = 0, bytes = 0, i, n = 0;
	uint8_t *buf = NULL;
	unsigned int l;
	int ret = 0;

	for (l = 0; l < nr; l++)
		if (same[l])
			total += logs[l]->nr_spans;
	if (!total)
		return 0;
	if (total > UINT32_MAX / 2)
		return kh_err_set(err, E2BIG, "too many reads to check again");
	check = malloc(sizeof(*check) * total);
	reads = malloc(sizeof(*reads) * total);
	if (!check || !reads) {
		ret = kh_err_set(err, ENOMEM, "out of memory to check reads again");
		goto out;
	}
	for (l = 0; l < nr; l++)
		for (i = 0; same[l] && i < logs[l]->nr_spans; i++) {
			const struct span *s = &logs[l]->spans[i];
			int in_place = kh_gpa_same(vm, s->gpa,
						   logs[l]->span_bytes + s->at,
						   s->len);

			if (!in_place)
				same[l] = 0;
			if (in_place >= 0)
				continue;
			check[n] = (struct span_check){ .span = s, .log = l };
			reads[n++] = (struct kh_read){ .addr = s->gpa,
						       .len = s->len };
			bytes += s->len;
		}
	if (!n)
		goto out;
	buf = malloc(bytes);
	if (!buf) {
		ret = kh_err_set(err, ENOMEM, "out of memory to check reads again");
		goto out;
	}
	for (i = 0, bytes = 0; i < n; i++) {
		reads[i].buf = buf + bytes;
		bytes += reads[i].len;
	}
	/*
	 * Where one call carries the whole batch (pvreadv), past the page
	 * cache: only the spans' bytes move. Where each element is a call
	 * of its own (procmem), through it: a page many spans share is one
	 * call, and the walks after the check find it cached.
	 */
	ret = vm->acc.ops->batches ? kh_gpa_fetch_fresh(vm, reads, n, err) :
				     kh_gpa_fetch(vm, reads, n, err);
	for (i = 0; ret >= 0 && i < n; i++) {
		const struct kh_read_log *log = logs[check[i].log];

		if (reads[i].result ||
		    memcmp(reads[i].buf, log->span_bytes + check[i].span->at,
			   reads[i].len))
			same[check[i].log] = 0;
	}
	ret = ret < 0 ? ret : 0;
out:
	free(check);
	free(reads);
	free(buf);
	return ret;
}

/*
 * Reads every read left in logs[0..nr) again into one buffer, each space
 * in one batch: 0, or -errno for a whole batch (the VM is gone). reads[]
 * keeps each read's outcome: the physical ones of every log in log order,
 * then the kernel-virtual ones.
 */
static int read_again(struct kh_vm *vm, struct kh_read_log *const *logs,
		      unsigned int nr, struct kh_read **readsp,
		      uint8_t **bufp, struct kh_err *err)
{
	struct kh_read *reads, *kva;
	size_t total = 0, bytes = 0, i, n = 0, nr_gpa = 0;
	unsigned int l;
	uint8_t *buf;
	int ret;

	for (l = 0; l < nr; l++) {
		total += logs[l]->nr;
		for (i = 0; i < logs[l]->nr; i++)
			bytes += logs[l]->reads[i].len;
	}
	if (total > UINT32_MAX / 2)
		return kh_err_set(err, E2BIG, "too many reads to check again");
	reads = malloc(sizeof(*reads) * (total ? total : 1));
	kva = malloc(sizeof(*kva) * (total ? total : 1));
	buf = malloc(bytes ? bytes : 1);
	if (!reads || !kva || !buf) {
		free(reads);
		free(kva);
		free(buf);
		return kh_err_set(err, ENOMEM, "out of memory to check reads again");
	}
	bytes = 0;
	for (l = 0; l < nr; l++)
		for (i = 0; i < logs[l]->nr; i++) {
			const struct logged_read *r = &logs[l]->reads[i];
			struct kh_read *to = r->space == KH_SPACE_GPA ?
					     &reads[nr_gpa++] : &kva[n++];

			*to = (struct kh_read){ .addr = r->addr,
						.buf = buf + bytes,
						.len = r->len };
			bytes += r->len;
		}
	memcpy(reads + nr_gpa, kva, sizeof(*kva) * n);
	free(kva);
	ret = nr_gpa ? kh_gpa_fetch(vm, reads, nr_gpa, err) : 0;
	if (ret >= 0 && n)
		ret = kh_kva_fetch(vm, reads + nr_gpa, n, err);
	if (ret < 0) {
		free(reads);
		free(buf);
		return ret;
	}
	*readsp = reads;
	*bufp = buf;
	return 0;
}

/* The reads left over in the logs still judged same, read by read. */
static int left_over_same(struct kh_vm *vm, struct kh_read_log *const *logs,
			  unsigned int nr, int *same, struct kh_err *err)
{
	struct kh_read_log **check;
	size_t i, gpa = 0, kva = 0, nr_gpa = 0;
	unsigned int l, n = 0;
	struct kh_read *reads = NULL;
	uint8_t *buf = NULL;
	int ret;

	check = malloc(sizeof(*check) * (nr ? nr : 1));
	if (!check)
		return kh_err_set(err, ENOMEM, "out of memory to check reads again");
	for (l = 0; l < nr; l++)
		if (same[l] && logs[l]->nr)
			check[n++] = logs[l];
	ret = n ? read_again(vm, check, n, &reads, &buf, err) : 0;
	if (ret || !n) {
		free(check);
		return ret;
	}
	for (l = 0; l < n; l++)
		for (i = 0; i < check[l]->nr; i++)
			nr_gpa += check[l]->reads[i].space == KH_SPACE_GPA;
	for (l = 0, n = 0; l < nr; l++) {
		const struct kh_read_log *log = logs[l];

		if (!same[l] || !log->nr)
			continue;
		for (i = 0; i < log->nr; i++) {
			const struct logged_read *r = &log->reads[i];
			const struct kh_read *now = r->space == KH_SPACE_GPA ?
						    &reads[gpa++] :
						    &reads[nr_gpa + kva++];

			if (now->result != r->result ||
			    (!r->result && r->len &&
			     memcmp(now->buf, log->bytes + r->at, r->len)))
				same[l] = 0;
		}
	}
	free(reads);
	free(buf);
	free(check);
	return 0;
}

int kh_read_logs_same(struct kh_vm *vm, struct kh_read_log *const *logs,
		      unsigned int nr, int *same, struct kh_err *err)
{
	unsigned int l;
	int ret;

	for (l = 0; l < nr; l++)
		same[l] = !logs[l]->broken;
	ret = spans_same(vm, logs, nr, same, err);
	return ret ? ret : left_over_same(vm, logs, nr, same, err);
}
