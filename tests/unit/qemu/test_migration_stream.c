// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration stream reader (broker/lib/qemu/migration_stream.c) on streams
 * built here byte by byte in QEMU 7.2's format: pages, zero pages, pages sent
 * again (the last copy wins), a block that is not guest RAM (skipped), section
 * footers, and the pc split that places the block's bytes at guest-physical
 * addresses. Then the hostile cases: every truncation of a valid stream, a page
 * past its block, unknown record flags, pages before the block list and a block
 * never named all fail with an error, never a crash or a partial snapshot.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "qemu/migration_stream.h"

#define PAGE	4096u
#define RAM	(2u << 20)	/* block "pc.ram": GPA 0-640K and 1M-2M */

static size_t ram_complete;	/* stream length once all RAM is in */

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->data = realloc(b->data, b->cap);
		CHECK(b->data, "out of memory");
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put_be(struct buf *b, uint64_t v, unsigned int bytes)
{
	uint8_t x[8];
	unsigned int i;

	for (i = 0; i < bytes; i++)
		x[i] = v >> (8 * (bytes - 1 - i));
	put(b, x, bytes);
}

static void put_str(struct buf *b, const char *s)
{
	put_be(b, strlen(s), 1);
	put(b, s, strlen(s));
}

static void header(struct buf *b, const char *machine)
{
	put_be(b, 0x5145564d, 4);
	put_be(b, 3, 4);
	put_be(b, 0x07, 1);		/* QEMU_VM_CONFIGURATION */
	put_be(b, strlen(machine), 4);
	put(b, machine, strlen(machine));
}

static void section_start(struct buf *b, uint32_t id, const char *name)
{
	put_be(b, 0x01, 1);
	put_be(b, id, 4);
	put_str(b, name);
	put_be(b, 0, 4);		/* instance */
	put_be(b, 4, 4);		/* version of "ram" */
}

static void footer(struct buf *b, uint32_t id)
{
	put_be(b, 0x7e, 1);
	put_be(b, id, 4);
}

static void page(struct buf *b, const char *block, uint64_t offset,
		 uint8_t fill)
{
	uint8_t data[PAGE];

	put_be(b, offset | 0x08 | (block ? 0 : 0x20), 8);
	if (block)
		put_str(b, block);
	memset(data, fill, sizeof(data));
	data[0] = offset >> 12;
	put(b, data, sizeof(data));
}

static void zero(struct buf *b, const char *block, uint64_t offset)
{
	put_be(b, offset | 0x02 | (block ? 0 : 0x20), 8);
	if (block)
		put_str(b, block);
	put_be(b, 0, 1);
}

/* A stream like QEMU's: start (blocks), a part, an end, device state. */
static void valid_stream(struct buf *b)
{
	header(b, "pc-i440fx-7.2");
	section_start(b, 2, "ram");
	put_be(b, (RAM + (1u << 20)) | 0x04, 8);	/* MEM_SIZE */
	put_str(b, "pc.ram");
	put_be(b, RAM, 8);
	put_str(b, "vga.vram");
	put_be(b, 1u << 20, 8);
	put_be(b, 0x10, 8);				/* EOS */
	footer(b, 2);
	put_be(b, 0x02, 1);				/* PART */
	put_be(b, 2, 4);
	page(b, "pc.ram", 0x1000, 0x11);
	zero(b, NULL, 0x2000);
	page(b, NULL, 0x100000, 0x22);
	page(b, "vga.vram", 0x0, 0x33);
	zero(b, "pc.ram", 0x3000);
	put_be(b, 0x10, 8);
	footer(b, 2);
	put_be(b, 0x03, 1);				/* END */
	put_be(b, 2, 4);
	page(b, "pc.ram", 0x1000, 0x44);		/* dirtied, sent again */
	zero(b, NULL, 0x100000);			/* and zeroed */
	put_be(b, 0x10, 8);
	ram_complete = b->len;
	footer(b, 2);
	put_be(b, 0x04, 1);	/* a device: reading stops before it */
	put_be(b, 0xdeadbeef, 4);
}

static int load(const struct buf *b, struct kh_snap *snap, struct kh_err *err)
{
	int fd = memfd_create("stream", MFD_CLOEXEC), r;

	CHECK(fd >= 0, "memfd_create");
	CHECK(write(fd, b->data, b->len) == (ssize_t)b->len, "write");
	memset(err, 0, sizeof(*err));
	r = kh_migstream_load(snap, fd, "test stream", NULL, err);
	close(fd);
	return r;
}

static void expect_fail(const struct buf *b, const char *what,
			const char *needle)
{
	struct kh_snap snap;
	struct kh_err err;
	int r = load(b, &snap, &err);

	CHECK(r < 0 && err.msg[0], "%s: accepted", what);
	CHECK(!needle || strstr(err.msg, needle), "%s: '%s' lacks '%s'", what,
	      err.msg, needle);
	CHECK(snap.nr_maps == 0, "%s: a mapping was left behind", what);
}

static void truncations(const struct buf *b)
{
	struct buf cut = { 0 };
	struct kh_snap snap;
	struct kh_err err;
	size_t n;

	/* Every prefix that ends before the RAM does is refused. */
	for (n = 0; n < b->len; n++) {
		cut.len = 0;
		put(&cut, b->data, n);
		if (!load(&cut, &snap, &err)) {
			/* Only a prefix holding the whole RAM may load. */
			kh_snap_free(&snap);
			CHECK(n >= ram_complete, "a stream cut at %zu loaded", n);
		}
	}
	free(cut.data);
}

int main(void)
{
	struct buf b = { 0 }, bad = { 0 };
	struct kh_snap snap;
	struct kh_err err;
	const uint8_t *p;

	valid_stream(&b);
	CHECK(!load(&b, &snap, &err), "valid stream: %s", err.msg);
	CHECK(snap.nr == 2 && snap.range[0].gpa == 0 &&
	      snap.range[0].size == 0xa0000 &&
	      snap.range[1].gpa == 0x100000 &&
	      snap.range[1].size == RAM - 0x100000,
	      "pc split of 2 MiB: %u ranges", snap.nr);
	p = kh_snap_ptr(&snap, 0x1000, PAGE);
	CHECK(p && p[0] == 1 && p[1] == 0x44 && p[PAGE - 1] == 0x44,
	      "the page sent last wins");
	p = kh_snap_ptr(&snap, 0x100000, PAGE);
	CHECK(p && p[0] == 0 && p[1] == 0, "a page zeroed after it was sent");
	p = kh_snap_ptr(&snap, 0x5000, 8);
	CHECK(p && !p[0], "a page never sent is zero");
	CHECK(!kh_snap_ptr(&snap, RAM, 1), "nothing past the block");
	CHECK(!kh_snap_ptr(&snap, 0xa0000, 1), "nothing in the VGA hole");
	kh_snap_free(&snap);

	truncations(&b);

	header(&bad, "pc-i440fx-7.2");
	section_start(&bad, 2, "ram");
	put_be(&bad, RAM | 0x04, 8);
	put_str(&bad, "pc.ram");
	put_be(&bad, RAM, 8);
	page(&bad, "pc.ram", RAM, 0x55);
	expect_fail(&bad, "page past its block", "past the end");

	bad.len = 0;
	header(&bad, "pc-i440fx-7.2");
	section_start(&bad, 2, "ram");
	put_be(&bad, RAM | 0x04, 8);
	put_str(&bad, "pc.ram");
	put_be(&bad, RAM, 8);
	put_be(&bad, 0x1000 | 0x40, 8);		/* XBZRLE */
	expect_fail(&bad, "XBZRLE page", "not supported");

	bad.len = 0;
	header(&bad, "pc-i440fx-7.2");
	section_start(&bad, 2, "ram");
	page(&bad, "pc.ram", 0, 1);
	expect_fail(&bad, "page before the block list", "before its RAM block list");

	bad.len = 0;
	header(&bad, "pc-i440fx-7.2");
	section_start(&bad, 2, "ram");
	put_be(&bad, RAM | 0x04, 8);
	put_str(&bad, "pc.ram");
	put_be(&bad, RAM, 8);
	page(&bad, NULL, 0, 1);
	expect_fail(&bad, "continued block never named", "never named");

	bad.len = 0;
	header(&bad, "pc-i440fx-7.2");
	section_start(&bad, 2, "ram");
	put_be(&bad, (RAM * 2) | 0x04, 8);	/* blocks sum to less */
	put_str(&bad, "pc.ram");
	put_be(&bad, RAM * 4, 8);
	expect_fail(&bad, "block longer than the total", "bad or repeated");

	bad.len = 0;
	header(&bad, "sparc64");
	section_start(&bad, 2, "ram");
	put_be(&bad, RAM | 0x04, 8);
	put_str(&bad, "pc.ram");
	put_be(&bad, RAM, 8);
	put_be(&bad, 0x10, 8);
	footer(&bad, 2);
	put_be(&bad, 0x08, 1);			/* EOF */
	expect_fail(&bad, "unknown machine type", "sparc64");

	free(b.data);
	free(bad.data);
	return KH_PASS;
}
