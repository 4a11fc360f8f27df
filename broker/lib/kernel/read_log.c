// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The reads one part of a crawl made, and whether they would read the
 * same now (kernel/read_log.h): what lets a crawl skip walking again what
 * has not changed since the last one (crawl/since.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/read_log.h"
#include "vm.h"

struct logged_read {
	uint64_t addr;
	uint64_t at;		/* its bytes in log->bytes, when result is 0 */
	uint32_t len;
	int32_t result;
	uint8_t space;		/* enum kh_space */
};

struct kh_read_log {
	_Atomic unsigned int refs;
	struct logged_read *reads;
	size_t nr, cap;
	uint8_t *bytes;
	size_t used, bytes_cap;
	int broken;		/* a read went unrecorded, or one was redone */
};

/*
 * A part that reads more than this is not logged (nor kept): checking it
 * again would cost about as much as walking it, and a hostile guest could
 * make a process's walk read all its bound allows.
 */
#define LOG_MAX_BYTES	(4u << 20)

__thread struct kh_read_log *kh_logging;

uint64_t kh_read_log_bytes(const struct kh_read_log *log)
{
	return log->used + log->nr * sizeof(*log->reads);
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
		if (!r->result) {
			memcpy(log->bytes + log->used, r->buf, r->len);
			log->used += r->len;
		}
	}
}

/*
 * Reads every read of logs[0..nr) again into one buffer, each space in
 * one batch: 0, or -errno for a whole batch (the VM is gone). With
 * results, reads[] keeps each read's outcome in log order.
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
	/* Physical reads first, then kernel-virtual ones, each in order. */
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

int kh_read_log_same(struct kh_vm *vm, const struct kh_read_log *log,
		     struct kh_err *err)
{
	struct kh_read_log *logs[1] = { (struct kh_read_log *)log };
	size_t i, gpa = 0, kva = 0, nr_gpa = 0;
	struct kh_read *reads;
	uint8_t *buf;
	int ret, same = 1;

	if (log->broken)
		return 0;
	ret = read_again(vm, logs, 1, &reads, &buf, err);
	if (ret)
		return ret;
	for (i = 0; i < log->nr; i++)
		nr_gpa += log->reads[i].space == KH_SPACE_GPA;
	for (i = 0; same && i < log->nr; i++) {
		const struct logged_read *r = &log->reads[i];
		const struct kh_read *now = r->space == KH_SPACE_GPA ?
					    &reads[gpa++] :
					    &reads[nr_gpa + kva++];

		same = now->result == r->result &&
		       (r->result ||
			!memcmp(now->buf, log->bytes + r->at, r->len));
	}
	free(reads);
	free(buf);
	return same;
}

int kh_read_log_prefetch(struct kh_vm *vm, struct kh_read_log *const *logs,
			 unsigned int nr)
{
	struct kh_read *reads;
	uint8_t *buf;
	int ret;

	if (!nr || !kh_page_cache_on(vm))
		return 0;
	ret = read_again(vm, logs, nr, &reads, &buf, NULL);
	if (ret)
		return ret == -ESRCH ? ret : 0;
	free(reads);
	free(buf);
	return 0;
}
