// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * This thread's scratch blocks (walk/scratch.h): a stack of blocks, each
 * filled in order. The first block stays with the thread between walks;
 * blocks pushed when it ran out are freed on release, so that one huge
 * map of a hostile guest (bounded by the walk itself) does not stay
 * allocated after its walk.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "walk/scratch.h"

#if defined(__SANITIZE_ADDRESS__)
#define KH_SCRATCH_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KH_SCRATCH_MALLOC 1
#endif
#endif

#ifdef KH_SCRATCH_MALLOC
/*
 * Under AddressSanitizer (the fuzzers) every allocation is its own malloc,
 * so that a walker writing past an array is caught as it would be with
 * malloc, not silently inside a block. A mark is the newest allocation.
 */
struct kh_scratch_block {
	struct kh_scratch_block *below;
	size_t size;
	uint8_t data[] __attribute__((aligned(16)));
};

static __thread struct kh_scratch_block *top;

struct kh_scratch_mark kh_scratch_mark(void)
{
	return (struct kh_scratch_mark){ .block = top };
}

void kh_scratch_release(struct kh_scratch_mark mark)
{
	struct kh_scratch_block *b;

	while (top && top != mark.block) {
		b = top;
		top = b->below;
		free(b);
	}
}

void *kh_scratch_alloc(size_t size)
{
	struct kh_scratch_block *b;

	if (size > SIZE_MAX / 2)
		return NULL;
	b = malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->below = top;
	b->size = size;
	top = b;
	return b->data;
}

void *kh_scratch_zalloc(size_t size)
{
	void *p = kh_scratch_alloc(size);

	return p ? memset(p, 0, size) : NULL;
}

void *kh_scratch_grow(void *p, size_t old, size_t size)
{
	void *q = kh_scratch_alloc(size);

	if (q && p)
		memcpy(q, p, old < size ? old : size);
	return q;
}
#else

#define ALIGN		16
#define FIRST_BLOCK	(64 * 1024)
#define FIRST_KEEP	(1024 * 1024)	/* the first block, at most */

struct kh_scratch_block {
	struct kh_scratch_block *below;
	size_t size, used;
	void *last;		/* the latest allocation, for grow */
	uint8_t data[] __attribute__((aligned(ALIGN)));
};

static __thread struct kh_scratch_block *top;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

/* At thread exit every block goes; the key holds the bottom one. */
static void scratch_free(void *bottom)
{
	struct kh_scratch_block *b = top, *below;

	for (; b; b = below) {
		below = b->below;
		free(b);
	}
	top = NULL;
	(void)bottom;
}

static void key_create(void)
{
	pthread_key_create(&scratch_key, scratch_free);
}

static struct kh_scratch_block *push(size_t size)
{
	size_t want = top ? 2 * top->size : FIRST_BLOCK;
	struct kh_scratch_block *b;

	if (want < size)
		want = size;
	b = malloc(sizeof(*b) + want);
	if (!b)
		return NULL;
	b->below = top;
	b->size = want;
	b->used = 0;
	b->last = NULL;
	if (!top) {
		pthread_once(&scratch_once, key_create);
		pthread_setspecific(scratch_key, b);
	}
	top = b;
	return b;
}

struct kh_scratch_mark kh_scratch_mark(void)
{
	return (struct kh_scratch_mark){ .block = top,
					 .used = top ? top->used : 0 };
}

void kh_scratch_release(struct kh_scratch_mark mark)
{
	struct kh_scratch_block *b;

	while (top && top != mark.block) {
		b = top;
		/* The bottom block stays, unless a hostile walk grew it. */
		if (!b->below && b->size <= FIRST_KEEP)
			break;
		top = b->below;
		if (!top)
			pthread_setspecific(scratch_key, NULL);
		free(b);
	}
	if (!top)
		return;
	top->used = top == mark.block ? mark.used : 0;
	top->last = NULL;
}

void *kh_scratch_alloc(size_t size)
{
	struct kh_scratch_block *b = top;
	size_t at;

	if (size > SIZE_MAX / 2 - sizeof(*b))
		return NULL;
	/* Never 0: two allocations must not share an address. */
	size = size ? (size + ALIGN - 1) & ~(size_t)(ALIGN - 1) : ALIGN;
	if (!b || b->size - b->used < size) {
		b = push(size);
		if (!b)
			return NULL;
	}
	at = b->used;
	b->used += size;
	b->last = b->data + at;
	return b->last;
}

void *kh_scratch_zalloc(size_t size)
{
	void *p = kh_scratch_alloc(size);

	return p ? memset(p, 0, size) : NULL;
}

void *kh_scratch_grow(void *p, size_t old, size_t size)
{
	struct kh_scratch_block *b = top;
	size_t at, need;
	void *q;

	if (p && b && p == b->last && size <= SIZE_MAX / 2) {
		at = (uint8_t *)p - b->data;
		need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
		if (b->size - at >= need) {
			b->used = at + need;
			return p;
		}
	}
	q = kh_scratch_alloc(size);
	if (q && p)
		memcpy(q, p, old < size ? old : size);
	return q;
}
#endif /* KH_SCRATCH_MALLOC */
