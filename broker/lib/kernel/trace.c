// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The guest-physical reads one thread's operations ask for, recorded for
 * measuring (libkeyhole.h, kh_trace_*): what a crawl touched, in order,
 * and the floor under its cost, those same bytes copied from a warm
 * mapping of guest RAM with nothing else done. Reads are recorded as the
 * walkers asked, before any page cache widens them to whole pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/trace.h"
#include "vm.h"

struct trace_read {
	uint64_t gpa;
	uint32_t len;
};

struct kh_trace {
	struct trace_read *reads;
	size_t nr, cap;
	uint64_t bytes;
	int lost;		/* out of memory: the trace is not whole */
	/* Replay's own: where each read is in the mapping, and a target. */
	const void **src;
	uint8_t *dst;
};

__thread struct kh_trace *kh_tracing;

void kh_trace_add(uint64_t gpa, uint32_t len)
{
	struct kh_trace *t = kh_tracing;

	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		struct trace_read *reads = realloc(t->reads,
						   sizeof(*reads) * cap);

		if (!reads) {
			t->lost = 1;
			return;
		}
		t->reads = reads;
		t->cap = cap;
	}
	t->reads[t->nr++] = (struct trace_read){ .gpa = gpa, .len = len };
	t->bytes += len;
}

int kh_trace_start(struct kh_trace **tracep, struct kh_err *err)
{
	struct kh_trace *t = calloc(1, sizeof(*t));

	if (!t)
		return kh_err_set(err, ENOMEM, "out of memory for a trace");
	kh_tracing = t;
	*tracep = t;
	return 0;
}

void kh_trace_stop(struct kh_trace *trace)
{
	if (kh_tracing == trace)
		kh_tracing = NULL;
}

uint64_t kh_trace_bytes(const struct kh_trace *trace)
{
	return trace->bytes;
}

size_t kh_trace_reads(const struct kh_trace *trace)
{
	return trace->nr;
}

/* Where each read lies in vm's mapping, once; the target buffer. */
static int resolve(struct kh_vm *vm, struct kh_trace *t, struct kh_err *err)
{
	uint32_t max = 1;
	size_t i;

	if (!vm->acc.ops->map)
		return kh_err_set(err, EOPNOTSUPP,
				  "technique %s does not map guest RAM: nothing to replay a trace from",
				  vm->acc.ops->name);
	if (t->lost)
		return kh_err_set(err, ENOMEM,
				  "the trace lost reads (out of memory)");
	t->src = malloc(sizeof(*t->src) * (t->nr ? t->nr : 1));
	if (!t->src)
		return kh_err_set(err, ENOMEM, "out of memory for a replay");
	for (i = 0; i < t->nr; i++) {
		t->src[i] = vm->acc.ops->map(&vm->acc, t->reads[i].gpa,
					     t->reads[i].len);
		if (!t->src[i]) {
			/* A bulk read the mapping leaves to its read op. */
			free(t->src);
			t->src = NULL;
			return kh_err_set(err, EFAULT,
					  "traced read of %u bytes at guest-physical 0x%llx is not in one mapped range",
					  t->reads[i].len,
					  (unsigned long long)t->reads[i].gpa);
		}
		if (t->reads[i].len > max)
			max = t->reads[i].len;
	}
	t->dst = malloc(max);
	if (!t->dst) {
		free(t->src);
		t->src = NULL;
		return kh_err_set(err, ENOMEM, "out of memory for a replay");
	}
	return 0;
}

int kh_trace_replay(struct kh_vm *vm, struct kh_trace *trace,
		    struct kh_err *err)
{
	size_t i;
	int ret;

	if (!trace->src) {
		ret = resolve(vm, trace, err);
		if (ret)
			return ret;
	}
	/*
	 * Into one buffer, as a walker reads into its own: the copies are
	 * the cost, and dst outlives the call, so none is optimised away.
	 */
	for (i = 0; i < trace->nr; i++)
		memcpy(trace->dst, trace->src[i], trace->reads[i].len);
	return 0;
}

void kh_trace_free(struct kh_trace *trace)
{
	if (!trace)
		return;
	kh_trace_stop(trace);
	free(trace->reads);
	free(trace->src);
	free(trace->dst);
	free(trace);
}
