// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for every extractor: a full crawl (kh_crawl) over a
 * real guest's RAM image in which the fuzzer corrupts the bytes the
 * extractors read. Proves, under ASan and UBSan, that no corruption of
 * guest memory crashes, hangs or makes keyhole allocate without bound.
 *
 * KH_FUZZ_IMAGE names an ELF dump of a booted test guest (tests/run makes
 * one with QMP dump-guest-memory). At start the harness crawls the clean
 * image once, recording every guest-physical range read; an input is a
 * list of 12-byte patches (u16 which range, u16 where in it, u64 value)
 * applied to the private copy of the image, crawled, then undone. Each
 * crawl is also encoded as keyhole crawl prints it (kh_json_crawl), so
 * the encoders see every corruption of the strings they make printable,
 * and followed by the views a crawl does not make (dmesg, check, mounts,
 * ebpf, bash, elfs, and the hooks' listings), each through its
 * query. All of it twice: through the image's
 * mapping, and through a copy of its ops that reads in batches past a
 * page cache, as pvreadv does, so that the walks' read-ahead meets the
 * corruption too. Reads larger than a page are recorded as the pages
 * they span, so that arrays read whole are corrupted too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/snapshot_store.h"
#include "vm.h"

#define MAX_SEEN (1u << 20)
#define MAX_PATCHES 64

struct seen {
	uint64_t gpa;
	uint32_t len;
};

static struct kh_ctx *ctx;
static struct kh_vm *vm;
static struct seen *seen;
static unsigned int nr_seen;
static int (*image_read)(struct kh_access *, struct kh_read *, unsigned int);
/*
 * The image as it is (mapped: walkers copy out of it) and as a technique
 * whose reads are batched calls (pvreadv): that one goes through the page
 * cache and the walks' read-ahead (walk/tasks_ahead.c, path_ahead.c).
 */
static struct kh_access_ops mapped_ops, batched_ops;

static int recording_read(struct kh_access *acc, struct kh_read *reads,
			  unsigned int nr)
{
	unsigned int i;

	/* Large reads (an array read whole) as the pages they span. */
	for (i = 0; i < nr; i++) {
		uint64_t at;

		for (at = 0; at < reads[i].len && nr_seen < MAX_SEEN;
		     at += 4096)
			seen[nr_seen++] = (struct seen){ reads[i].addr + at,
				reads[i].len - at < 4096 ?
				reads[i].len - at : 4096 };
	}
	return image_read(acc, reads, nr);
}

static void crawl_one_way(void)
{
	static const char *const views[] = { "dmesg", "check", "mounts", "ebpf", "bash",
					     "elfs", "kprobes", "ftrace",
					     "netfilter" };
	struct kh_crawl *crawl;
	unsigned int i;
	struct kh_err err = { 0 };
	json_t *doc;

	if (kh_crawl(vm, 0, &crawl, &err))
		return;
	doc = kh_json_crawl(crawl, 0, 0);
	free(json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER));
	json_decref(doc);
	kh_crawl_free(crawl);
	/* The views no crawl makes, each through its query's encoder. */
	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		struct kh_query_result res;

		if (!kh_query(vm, views[i], NULL, &res, &err)) {
			free(json_dumps(res.doc, JSON_COMPACT));
			kh_query_result_release(&res);
		}
	}
}

/* Each input is crawled both ways. */
static void crawl_once(void)
{
	vm->acc.ops = &mapped_ops;
	crawl_one_way();
	vm->acc.ops = &batched_ops;
	crawl_one_way();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct kh_ctx_config cfg = { .cache_dir = "" };
	const char *image = getenv("KH_FUZZ_IMAGE");
	struct kh_err err = { 0 };

	if (!image) {
		fprintf(stderr, "fuzz_crawl: set KH_FUZZ_IMAGE to a guest RAM dump\n");
		exit(1);
	}
	if (kh_ctx_new(&cfg, &ctx, &err) ||
	    kh_vm_open(ctx, image, NULL, &vm, &err)) {
		fprintf(stderr, "fuzz_crawl: %s\n", err.msg);
		exit(1);
	}
	seen = calloc(MAX_SEEN, sizeof(*seen));
	if (!seen)
		exit(1);
	/* Learn what a crawl reads, through recording copies of the ops. */
	mapped_ops = *vm->acc.ops;
	image_read = mapped_ops.read;
	mapped_ops.read = recording_read;
	batched_ops = mapped_ops;
	batched_ops.props &= ~KH_TECHNIQUE_MAPPED;
	batched_ops.map = NULL;
	batched_ops.batches = 1;
	crawl_once();
	mapped_ops.read = image_read;
	batched_ops.read = image_read;
	fprintf(stderr, "fuzz_crawl: a crawl reads %u ranges\n", nr_seen);
	if (!nr_seen)
		exit(1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct {
		uint8_t *at;
		uint64_t old;
		unsigned int len;
	} undo[MAX_PATCHES];
	unsigned int nr = 0;

	for (; size >= 12 && nr < MAX_PATCHES; data += 12, size -= 12) {
		uint16_t which, where;
		uint64_t value;
		const struct seen *s;
		unsigned int len;
		uint8_t *at;

		memcpy(&which, data, 2);
		memcpy(&where, data + 2, 2);
		memcpy(&value, data + 4, 8);
		/* Spread over every range, however many a crawl reads. */
		s = &seen[(uint64_t)which * nr_seen >> 16];
		where %= s->len;
		len = s->len - where < 8 ? s->len - where : 8;
		at = kh_image_ptr(&vm->acc, s->gpa + where, len);
		if (!at)
			continue;
		undo[nr].at = at;
		undo[nr].len = len;
		memcpy(&undo[nr].old, at, len);
		memcpy(at, &value, len);
		nr++;
	}
	crawl_once();
	while (nr--)
		memcpy(undo[nr].at, &undo[nr].old, undo[nr].len);
	return 0;
}
