// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: kh_hist_scan (broker/lib/walk/bash_history.c) finds readline's
 * history entries in a heap laid out as glibc and readline lay it out,
 * in the order of the history list, not of their addresses (the longest
 * run of pointers to entries that ends in NULL: not a stale shorter copy,
 * not a run without its NULL, not a stray pointer); puts entries the list
 * does not hold after it, by time; and that a hostile heap gets
 * no entry it did not earn: pointers that miss a timestamp or leave the
 * heap, a "timestamp" too long for a time_t, a line that runs off the
 * heap, a list that names an entry twice, a command past the cap (cut
 * and counted), and many entries on one long string (the search budget
 * stops it, and says so). An empty or odd-sized heap costs nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "walk/bash_history.h"

#define BASE	0x562ead800000ULL
#define HEAP	(256 * 1024)

static uint8_t *heap;
static size_t top;	/* the next free byte, as a bump allocator */

static size_t alloc(size_t n)
{
	size_t at = (top + 15) & ~(size_t)15;

	CHECK(at + n <= HEAP, "test heap full");
	top = at + n;
	return at;
}

static size_t put_string(const char *s)
{
	size_t at = alloc(strlen(s) + 1);

	memcpy(heap + at, s, strlen(s) + 1);
	return at;
}

static void put_word(size_t at, uint64_t w)
{
	memcpy(heap + at, &w, 8);
}

/* A HIST_ENTRY {line, timestamp, data}; its offset. */
static size_t put_entry(const char *line, const char *stamp)
{
	size_t l = put_string(line), s = put_string(stamp), e = alloc(24);

	put_word(e, BASE + l);
	put_word(e + 8, BASE + s);
	put_word(e + 16, 0);
	return e;
}

static void reset(void)
{
	memset(heap, 0xa5, HEAP);
	top = 64;
}

static const char *command(const struct kh_hist_scan *scan, unsigned int i)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%.*s", (int)scan->entries[i].len,
		 (const char *)heap + scan->entries[i].line);
	return buf;
}

/* Three entries; the list holds them in the order c, a, b. */
static void list_order(void)
{
	struct kh_hist_scan scan;
	size_t a, b, c, list;

	reset();
	a = put_entry("echo a", "#1796569455");
	b = put_entry("echo b", "#1796569457");
	c = put_entry("echo 'c'", "#1796569450");
	list = alloc(4 * 8);
	put_word(list, BASE + c);
	put_word(list + 8, BASE + a);
	put_word(list + 16, BASE + b);
	put_word(list + 24, 0);
	CHECK(!kh_hist_scan(heap, top, BASE, &scan), "scan");
	CHECK(scan.nr == 3 && scan.listed == 3 && !scan.full && !scan.cut,
	      "%u entries, %u listed", scan.nr, scan.listed);
	CHECK(!strcmp(command(&scan, 0), "echo 'c'") &&
	      scan.entries[0].time == 1796569450 &&
	      scan.entries[0].addr == BASE + c && scan.entries[0].in_list,
	      "first: %s", command(&scan, 0));
	CHECK(!strcmp(command(&scan, 1), "echo a") &&
	      !strcmp(command(&scan, 2), "echo b"), "order");
	free(scan.entries);
}

/* An entry no list holds comes after the list, by time then address. */
static void unlisted(void)
{
	struct kh_hist_scan scan;
	size_t a, b, list;

	reset();
	a = put_entry("listed", "#20");
	put_entry("late", "#30");
	put_entry("early", "#10");
	b = put_entry("listed too", "#21");
	list = alloc(24);
	put_word(list, BASE + a);
	put_word(list + 8, BASE + b);
	put_word(list + 16, 0);
	CHECK(!kh_hist_scan(heap, top, BASE, &scan), "scan");
	CHECK(scan.nr == 4 && scan.listed == 2, "%u entries, %u listed",
	      scan.nr, scan.listed);
	CHECK(!strcmp(command(&scan, 2), "early") &&
	      !strcmp(command(&scan, 3), "late") &&
	      !scan.entries[2].in_list && scan.entries[1].in_list,
	      "unlisted order: %s, %s", command(&scan, 2), command(&scan, 3));
	free(scan.entries);
}

/*
 * The list is the longest NULL-terminated run: not a stale, shorter copy
 * (an array readline outgrew), not a longer run without its NULL, and
 * not one stray pointer when there are more entries.
 */
static void stale_list(void)
{
	struct kh_hist_scan scan;
	size_t e[4], old, stray, cur, unended;
	unsigned int i;

	reset();
	e[0] = put_entry("one", "#1");
	e[1] = put_entry("two", "#2");
	e[2] = put_entry("three", "#3");
	e[3] = put_entry("four", "#123456789012345678");
	/* The freed copy: its first two words are malloc's now. */
	old = alloc(5 * 8);
	put_word(old, 0x1111);
	put_word(old + 8, 0x2222);
	put_word(old + 16, BASE + e[3]);
	put_word(old + 24, BASE + e[2]);
	put_word(old + 32, 0);
	stray = alloc(16);
	put_word(stray, BASE + e[0]);
	put_word(stray + 8, 0);
	/* Five pointers with no NULL after them: no list. */
	unended = alloc(6 * 8);
	for (i = 0; i < 5; i++)
		put_word(unended + i * 8, BASE + e[i % 4]);
	put_word(unended + 40, 0x3333);
	cur = alloc(5 * 8);
	put_word(cur, BASE + e[3]);
	put_word(cur + 8, BASE + e[2]);
	put_word(cur + 16, BASE + e[0]);
	put_word(cur + 24, BASE + e[1]);
	put_word(cur + 32, 0);
	CHECK(!kh_hist_scan(heap, top, BASE, &scan), "scan");
	CHECK(scan.nr == 4 && scan.listed == 4, "%u entries, %u listed",
	      scan.nr, scan.listed);
	CHECK(!strcmp(command(&scan, 0), "four") &&
	      scan.entries[0].time == 123456789012345678LL &&
	      !strcmp(command(&scan, 1), "three") &&
	      !strcmp(command(&scan, 2), "one") &&
	      !strcmp(command(&scan, 3), "two"),
	      "order: %s first", command(&scan, 0));
	free(scan.entries);

	/* Only the stray pointer and the stale copy: the copy. */
	put_word(cur + 32, 0x4444);
	CHECK(!kh_hist_scan(heap, top, BASE, &scan), "scan");
	CHECK(scan.listed == 2 && !strcmp(command(&scan, 0), "four"),
	      "%u listed, the first %s", scan.listed, command(&scan, 0));
	free(scan.entries);
}

/* Pointers and strings that must not make entries. */
static void hostile(void)
{
	struct kh_hist_scan scan;
	size_t s, l, e, list;
	char big[32];

	reset();
	/* A timestamp pointer into the middle of a timestamp. */
	s = put_string("#1796569455");
	l = put_string("inside");
	e = alloc(24);
	put_word(e, BASE + l);
	put_word(e + 8, BASE + s + 1);
	/* A line pointer outside the heap. */
	e = alloc(24);
	put_word(e, BASE - 16);
	put_word(e + 8, BASE + s);
	/* 19 digits: more than a time_t is sure to hold. */
	memset(big, '9', sizeof(big));
	big[0] = '#';
	big[20] = 0;
	put_entry("too late", big);
	/* "#" alone is not a time either. */
	put_entry("no digits", "#");
	/* The one good entry, named twice by a list. */
	e = put_entry("good", "#5");
	list = alloc(24);
	put_word(list, BASE + e);
	put_word(list + 8, BASE + e);
	put_word(list + 16, 0);
	/* Last: a line that runs off the heap's end, with no NUL. */
	s = put_string("#6");
	e = alloc(24);
	l = alloc(8);
	memset(heap + l, 'y', 8);
	put_word(e, BASE + l);
	put_word(e + 8, BASE + s);
	put_word(e + 16, 0);
	top = l + 8;
	CHECK(!kh_hist_scan(heap, top, BASE, &scan), "scan");
	CHECK(scan.nr == 1 && scan.listed == 1 &&
	      !strcmp(command(&scan, 0), "good"),
	      "%u entries, the first %s", scan.nr,
	      scan.nr ? command(&scan, 0) : "-");
	free(scan.entries);
}

/* A command longer than the cap is cut and counted. */
static void long_command(void)
{
	struct kh_hist_scan scan;
	size_t l, s, e;

	reset();
	l = alloc(KH_BASH_COMMAND_MAX + 100);
	memset(heap + l, 'z', KH_BASH_COMMAND_MAX + 99);
	heap[l + KH_BASH_COMMAND_MAX + 99] = 0;
	s = put_string("#7");
	e = alloc(24);
	put_word(e, BASE + l);
	put_word(e + 8, BASE + s);
	CHECK(!kh_hist_scan(heap, top, BASE, &scan), "scan");
	CHECK(scan.nr == 1 && scan.cut == 1 &&
	      scan.entries[0].len == KH_BASH_COMMAND_MAX,
	      "%u entries, %u cut", scan.nr, scan.cut);
	free(scan.entries);
}

/* Every entry on one 60 KiB string: the search budget ends the scan. */
static void budget(void)
{
	struct kh_hist_scan scan;
	size_t l, s, e;
	unsigned int i;

	reset();
	l = alloc(60 * 1024);
	memset(heap + l, 'w', 60 * 1024 - 1);
	heap[l + 60 * 1024 - 1] = 0;
	s = put_string("#8");
	for (i = 0; top + 32 <= HEAP; i++) {
		e = alloc(24);
		put_word(e, BASE + l);
		put_word(e + 8, BASE + s);
		put_word(e + 16, 0);
	}
	CHECK(!kh_hist_scan(heap, top, BASE, &scan), "scan");
	CHECK(scan.full && scan.nr < i && scan.nr >= 4,
	      "%u of %u entries, full %d", scan.nr, i, scan.full);
	free(scan.entries);
}

static void degenerate(void)
{
	struct kh_hist_scan scan;
	size_t e;

	reset();
	CHECK(!kh_hist_scan(heap, 0, BASE, &scan) && !scan.nr, "empty heap");
	CHECK(!kh_hist_scan(heap, 13, BASE + 3, &scan) && !scan.nr,
	      "13 bytes at an odd address");
	e = put_entry("odd", "#9");
	/* An image that ends in the middle of the entry's last word. */
	CHECK(!kh_hist_scan(heap, e + 20, BASE, &scan) && !scan.nr,
	      "a cut entry");
	CHECK(!kh_hist_scan(heap, e + 24, BASE, &scan) && scan.nr == 1 &&
	      !scan.listed, "the whole entry, no list");
	free(scan.entries);
}

int main(void)
{
	heap = malloc(HEAP);
	CHECK(heap, "out of memory");
	list_order();
	unlisted();
	stale_list();
	hostile();
	long_command();
	budget();
	degenerate();
	free(heap);
	printf("bash histories: found in list order, nothing a hostile heap did not earn\n");
	return KH_PASS;
}
