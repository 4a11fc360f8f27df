// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the maple tree walker (broker/lib/walk/vmas.c, kh_maple_walk) returns
 * every entry of well-formed synthetic trees (one leaf, two and three
 * levels, full and partly full nodes, gaps) in index order with the right
 * ranges, and on corrupted trees always terminates with the result marked
 * and the problem named: cycles (to the root, to itself), pivots out of
 * order or outside the parent's range, metadata naming no slot, node types
 * that are not range nodes, a tree deeper than the bound, more nodes than
 * the bound, leaves at different depths, children that are not node
 * pointers, unreadable nodes, nodes freed or moved during the walk. Fatal
 * reader errors (the VM is gone) come back as they are. Random damage
 * to a good tree never makes the walk loop or read outside a node.
 *
 * Nodes live in a fake kernel memory laid out as Debian 6.1's BTF has
 * struct maple_node (256 bytes, 16/10 slots).
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "walk/maple_tree.h"

#define BASE		0xffff888000100000ULL
#define MIN_ADDR	0xffff800000000000ULL
#define NR_NODES	64
#define NODE_SIZE	256
#define TREE_ADDR	0xffff888000000040ULL	/* a struct maple_tree */
#define MAX_ENTRIES	4096

static const struct kh_maple_layout layout = {
	.node_size = NODE_SIZE, .parent = 0,
	.r64_pivot = 8, .r64_slot = 128, .r64_meta = 248, .r64_slots = 16,
	.a64_pivot = 8, .a64_slot = 80, .a64_meta = 240, .a64_slots = 10,
};

static uint8_t mem[NR_NODES][NODE_SIZE];
static int fail_with;	/* the reader's fatal error, or 0 */

struct seen {
	unsigned int nr;
	uint64_t entry[MAX_ENTRIES], first[MAX_ENTRIES], last[MAX_ENTRIES];
	unsigned int stop_after;	/* 0: never stop */
};

static uint64_t addr(unsigned int i)
{
	return BASE + (uint64_t)i * NODE_SIZE;
}

static uint64_t enode(unsigned int i, unsigned int type)
{
	return addr(i) | type << KH_MAPLE_TYPE_SHIFT | KH_MAPLE_ENODE_NULL;
}

static uint64_t root_of(unsigned int i, unsigned int type)
{
	return enode(i, type) | KH_MAPLE_ROOT_NODE;
}

static void put(unsigned int i, uint32_t off, uint64_t val)
{
	memcpy(&mem[i][off], &val, 8);
}

/* parent: node index, or -1 for the root. */
static void set_parent(unsigned int i, int parent)
{
	put(i, 0, parent < 0 ? TREE_ADDR | KH_MAPLE_ROOT_PARENT :
			       addr(parent) | 0x0c);
}

/*
 * A leaf_64/range_64 node: n slots used, pivots[0..n-1) given (the last
 * slot's pivot too when n < 16); metadata end n - 1 when not full.
 */
static void set_r64(unsigned int i, int parent, const uint64_t *pivots,
		    const uint64_t *slots, unsigned int n)
{
	unsigned int s;

	memset(mem[i], 0, NODE_SIZE);
	set_parent(i, parent);
	for (s = 0; s < n; s++) {
		if (s < 15)
			put(i, 8 + s * 8, pivots[s]);
		put(i, 128 + s * 8, slots[s]);
	}
	if (n < 16 && (n < 15 || !pivots[14]))
		mem[i][248] = n - 1;
}

static void set_a64(unsigned int i, int parent, const uint64_t *pivots,
		    const uint64_t *slots, unsigned int n)
{
	unsigned int s;

	memset(mem[i], 0, NODE_SIZE);
	set_parent(i, parent);
	for (s = 0; s < n; s++) {
		if (s < 9)
			put(i, 8 + s * 8, pivots[s]);
		put(i, 80 + s * 8, slots[s]);
	}
	mem[i][240] = n - 1;
}

static int fake_read(void *opaque, struct kh_read *reads, unsigned int nr,
		     struct kh_err *err)
{
	unsigned int i, failed = 0;

	if (fail_with)
		return fail_with;
	for (i = 0; i < nr; i++) {
		uint64_t a = reads[i].addr;

		if (a < BASE || a - BASE >= (uint64_t)NR_NODES * NODE_SIZE ||
		    reads[i].len != NODE_SIZE || (a - BASE) % NODE_SIZE) {
			reads[i].result = -EFAULT;
			failed++;
			continue;
		}
		memcpy(reads[i].buf, mem[(a - BASE) / NODE_SIZE], reads[i].len);
		reads[i].result = 0;
	}
	return failed;
}

static int record(void *opaque, uint64_t entry, uint64_t first,
		  uint64_t last)
{
	struct seen *s = opaque;

	CHECK(s->nr < MAX_ENTRIES, "too many entries");
	s->entry[s->nr] = entry;
	s->first[s->nr] = first;
	s->last[s->nr] = last;
	s->nr++;
	return s->stop_after && s->nr >= s->stop_after;
}

static int walk(uint64_t root, struct seen *s, struct kh_result *result)
{
	struct kh_maple_walk w = {
		.layout = &layout, .tree = TREE_ADDR, .root = root,
		.min_addr = MIN_ADDR, .max_nodes = 1000, .max_depth = 31,
		.read = fake_read, .entry = record, .opaque = s,
	};
	struct kh_err err = { 0 };
	unsigned int stop = s->stop_after;

	memset(s, 0, sizeof(*s));
	s->stop_after = stop;
	memset(result, 0, sizeof(*result));
	return kh_maple_walk(&w, result, &err);
}

static int walk_bounded(uint64_t root, struct seen *s,
			struct kh_result *result, unsigned int max_nodes,
			unsigned int max_depth)
{
	struct kh_maple_walk w = {
		.layout = &layout, .tree = TREE_ADDR, .root = root,
		.min_addr = MIN_ADDR, .max_nodes = max_nodes,
		.max_depth = max_depth, .read = fake_read, .entry = record,
		.opaque = s,
	};
	struct kh_err err = { 0 };

	memset(s, 0, sizeof(*s));
	memset(result, 0, sizeof(*result));
	return kh_maple_walk(&w, result, &err);
}

static void expect_marked(const struct kh_result *r, unsigned int flag,
			  const char *words, const char *what)
{
	CHECK(r->flags & flag, "%s: result not marked (flags %u)", what,
	      r->flags);
	CHECK(strstr(r->problem, words), "%s: problem '%s' does not say '%s'",
	      what, r->problem, words);
}

static void expect_clean(const struct kh_result *r, const char *what)
{
	CHECK(!r->flags, "%s: marked %u: %s", what, r->flags, r->problem);
}

/* A fake VMA address for entry k. */
static uint64_t vma(unsigned int k)
{
	return 0xffff888100000000ULL + k * 0x100;
}

static void test_empty_and_plain_root(void)
{
	struct kh_result r;
	static struct seen s;

	CHECK(!walk(0, &s, &r) && !s.nr, "empty tree");
	expect_clean(&r, "empty tree");
	/* Not a node (bit 1 clear): the tree is one entry at index 0. */
	CHECK(!walk(vma(1), &s, &r) && s.nr == 1 && s.entry[0] == vma(1) &&
	      !s.first[0] && !s.last[0], "root entry");
}

/* A single leaf: gaps (NULL slots) are skipped, ranges follow pivots. */
static void test_one_leaf(void)
{
	const uint64_t piv[] = { 0x3fff, 0x4fff, 0x9fff, 0xafff, UINT64_MAX };
	const uint64_t slot[] = { 0, vma(1), 0, vma(2), 0 };
	struct kh_result r;
	static struct seen s;

	set_r64(0, -1, piv, slot, 5);
	CHECK(!walk(root_of(0, KH_MAPLE_LEAF_64), &s, &r), "one leaf");
	expect_clean(&r, "one leaf");
	CHECK(s.nr == 2, "one leaf: %u entries", s.nr);
	CHECK(s.entry[0] == vma(1) && s.first[0] == 0x4000 &&
	      s.last[0] == 0x4fff, "one leaf: first entry");
	CHECK(s.entry[1] == vma(2) && s.first[1] == 0xa000 &&
	      s.last[1] == 0xafff, "one leaf: second entry");

	/* The callback may stop the walk. */
	s.stop_after = 1;
	CHECK(!walk(root_of(0, KH_MAPLE_LEAF_64), &s, &r) && s.nr == 1,
	      "stop after one");
	s.stop_after = 0;
}

/* Full leaves: 16 slots (last pivot implied), or last pivot == max. */
static void test_full_leaves(void)
{
	uint64_t piv[16], slot[16];
	struct kh_result r;
	static struct seen s;
	unsigned int k;

	for (k = 0; k < 16; k++) {
		piv[k] = (k + 1) * 0x1000ULL - 1;
		slot[k] = vma(k);
	}
	set_r64(0, -1, piv, slot, 16);
	CHECK(!walk(root_of(0, KH_MAPLE_LEAF_64), &s, &r), "full leaf");
	expect_clean(&r, "full leaf");
	CHECK(s.nr == 16 && s.first[15] == 0xf000 &&
	      s.last[15] == UINT64_MAX, "full leaf: %u entries", s.nr);

	piv[14] = UINT64_MAX;
	set_r64(0, -1, piv, slot, 15);
	put(0, 128 + 15 * 8, 0xdeadbeef);	/* stale, past the end */
	CHECK(!walk(root_of(0, KH_MAPLE_LEAF_64), &s, &r), "15 slots");
	expect_clean(&r, "15 slots");
	CHECK(s.nr == 15 && s.entry[14] == vma(14) &&
	      s.last[14] == UINT64_MAX, "15 slots: %u entries", s.nr);
}

/*
 * Three levels: an arange root over 3 arange nodes over 3 leaves each, 9
 * leaves of 5 entries with a gap after each entry.
 */
static void build_three_levels(void)
{
	uint64_t rpiv[3], rslot[3];
	unsigned int a, l, k, n = 0;
	uint64_t next = 0;

	for (a = 0; a < 3; a++) {
		uint64_t apiv[3], aslot[3];

		for (l = 0; l < 3; l++) {
			unsigned int leaf = 10 + a * 3 + l;
			uint64_t piv[10], slot[10];

			for (k = 0; k < 10; k += 2) {
				slot[k] = vma(n++);
				piv[k] = next + 0xfff;
				slot[k + 1] = 0;
				piv[k + 1] = next + 0x1fff;
				next += 0x2000;
			}
			if (a == 2 && l == 2)
				piv[9] = UINT64_MAX;
			set_r64(leaf, 1 + a, piv, slot, 10);
			apiv[l] = piv[9];
			aslot[l] = enode(leaf, KH_MAPLE_LEAF_64);
		}
		set_a64(1 + a, 0, apiv, aslot, 3);
		rpiv[a] = apiv[2];
		rslot[a] = enode(1 + a, KH_MAPLE_ARANGE_64);
	}
	set_a64(0, -1, rpiv, rslot, 3);
}

static void test_three_levels(void)
{
	uint64_t root = root_of(0, KH_MAPLE_ARANGE_64);
	struct kh_result r;
	static struct seen s;
	unsigned int k;

	build_three_levels();
	CHECK(!walk(root, &s, &r), "three levels");
	expect_clean(&r, "three levels");
	CHECK(s.nr == 45, "three levels: %u entries", s.nr);
	for (k = 0; k < 45; k++)
		CHECK(s.entry[k] == vma(k) && s.first[k] == k * 0x2000ULL &&
		      s.last[k] == k * 0x2000ULL + 0xfff,
		      "three levels: entry %u at 0x%llx-0x%llx", k,
		      (unsigned long long)s.first[k],
		      (unsigned long long)s.last[k]);
}

static void test_cycles(void)
{
	uint64_t root = root_of(0, KH_MAPLE_ARANGE_64);
	struct kh_result r;
	static struct seen s;

	/* A leaf's sibling slot leads back to the root. */
	build_three_levels();
	put(1, 80 + 8, enode(0, KH_MAPLE_ARANGE_64));
	CHECK(!walk(root, &s, &r), "cycle to root");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "cycle", "cycle to root");

	/* A node whose child is itself. */
	build_three_levels();
	put(2, 80, enode(2, KH_MAPLE_ARANGE_64));
	CHECK(!walk(root, &s, &r), "self cycle");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "cycle", "self cycle");

	/* Two internal nodes sharing a leaf. */
	build_three_levels();
	put(3, 80, enode(10, KH_MAPLE_LEAF_64));
	CHECK(!walk(root, &s, &r), "shared leaf");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "cycle", "shared leaf");
}

static void test_bad_pivots(void)
{
	uint64_t root = root_of(0, KH_MAPLE_ARANGE_64);
	struct kh_result r;
	static struct seen s;

	/* Pivots going down inside a leaf. */
	build_three_levels();
	put(10, 8 + 3 * 8, 0x10);
	CHECK(!walk(root, &s, &r), "falling pivot");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "pivot", "falling pivot");
	CHECK(s.nr < 45, "falling pivot: every entry still reported");

	/* A leaf pivot beyond what its parent gave the leaf. */
	build_three_levels();
	put(11, 8 + 2 * 8, 0x7fffffff);
	CHECK(!walk(root, &s, &r), "pivot past parent");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "pivot", "pivot past parent");

	/* An internal pivot before the previous one. */
	build_three_levels();
	put(0, 8 + 8, 0x1000);
	CHECK(!walk(root, &s, &r), "internal pivot");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "pivot", "internal pivot");

	/* Metadata that names a slot the node does not have. */
	build_three_levels();
	mem[1][240] = 200;
	CHECK(!walk(root, &s, &r), "bad metadata");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "metadata", "bad metadata");
}

static void test_node_types(void)
{
	uint64_t root = root_of(0, KH_MAPLE_ARANGE_64);
	struct kh_result r;
	static struct seen s;
	unsigned int type;

	for (type = 0; type <= KH_MAPLE_TYPE_MASK; type++) {
		if (type == KH_MAPLE_LEAF_64)
			continue;
		build_three_levels();
		put(1, 80 + 8, enode(11, type));
		CHECK(!walk(root, &s, &r), "type %u", type);
		CHECK(r.flags & KH_RESULT_INCOMPLETE,
		      "a leaf as type %u went unnoticed", type);
	}
	/* A dense node (type 0) is named as such. */
	build_three_levels();
	put(1, 80, enode(10, KH_MAPLE_DENSE));
	CHECK(!walk(root, &s, &r), "dense");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "type 0", "dense");

	/* A root claiming to be a leaf while it holds node pointers. */
	build_three_levels();
	CHECK(!walk(root_of(0, 9), &s, &r), "root type 9");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "type 9", "root type 9");
}

static void test_bounds(void)
{
	uint64_t root = root_of(0, KH_MAPLE_ARANGE_64);
	struct kh_result r;
	static struct seen s;
	unsigned int i;

	/* A chain of internal nodes deeper than any real maple tree. */
	for (i = 0; i < 40; i++) {
		uint64_t piv[1] = { UINT64_MAX };
		uint64_t slot[1] = { enode(i + 1, KH_MAPLE_ARANGE_64) };

		set_a64(i, i ? (int)i - 1 : -1, piv, slot, 1);
	}
	CHECK(!walk(root, &s, &r), "deep chain");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "deeper", "deep chain");

	/* A caller's depth bound below the tree's depth. */
	build_three_levels();
	CHECK(!walk_bounded(root, &s, &r, 1000, 2), "depth 2");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "deeper", "depth 2");
	CHECK(!walk_bounded(root, &s, &r, 1000, 3), "depth 3");
	expect_clean(&r, "depth 3");

	/* More nodes than the bound (13 in the tree). */
	CHECK(!walk_bounded(root, &s, &r, 12, 31), "12 nodes");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "more than 12 nodes",
		      "12 nodes");
	CHECK(!walk_bounded(root, &s, &r, 13, 31) && s.nr == 45, "13 nodes");
	expect_clean(&r, "13 nodes");
}

static void test_bad_children(void)
{
	uint64_t root = root_of(0, KH_MAPLE_ARANGE_64);
	struct kh_result r;
	static struct seen s;

	/* A leaf where its siblings are internal nodes. */
	build_three_levels();
	{
		const uint64_t piv[] = { 0x1ffff, 0x3bfff };
		const uint64_t slot[] = { vma(100), vma(101) };

		set_r64(20, 0, piv, slot, 2);
		put(0, 80 + 8, enode(20, KH_MAPLE_LEAF_64));
	}
	CHECK(!walk(root, &s, &r), "mixed depth");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "leaves are at level",
		      "mixed depth");

	/* A child pointer into user space. */
	build_three_levels();
	put(2, 80, 0x7f0000001000ULL | KH_MAPLE_LEAF_64 << 3 | 4);
	CHECK(!walk(root, &s, &r), "user child");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "not a node", "user child");

	/* A NULL child inside an internal node. */
	build_three_levels();
	put(2, 80, 0);
	CHECK(!walk(root, &s, &r), "NULL child");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "not a node", "NULL child");

	/* A node outside readable memory. */
	build_three_levels();
	put(3, 80, (BASE + 0x100000) | KH_MAPLE_LEAF_64 << 3 | 4);
	CHECK(!walk(root, &s, &r), "unreadable");
	expect_marked(&r, KH_RESULT_INCOMPLETE, "cannot be read",
		      "unreadable");
	CHECK(s.nr == 40, "unreadable: the other leaves gave %u entries",
	      s.nr);
}

static void test_changed_under_walk(void)
{
	uint64_t root = root_of(0, KH_MAPLE_ARANGE_64);
	struct kh_result r;
	static struct seen s;

	/* ma_dead_node(): a freed node's parent is itself. */
	build_three_levels();
	put(12, 0, addr(12));
	CHECK(!walk(root, &s, &r), "dead node");
	expect_marked(&r, KH_RESULT_INCONSISTENT, "freed", "dead node");

	/* A node whose parent is another node. */
	build_three_levels();
	set_parent(13, 3);
	CHECK(!walk(root, &s, &r), "moved node");
	expect_marked(&r, KH_RESULT_INCONSISTENT, "does not point back",
		      "moved node");

	/* A root that belongs to another tree. */
	build_three_levels();
	put(0, 0, (TREE_ADDR + 0x1000) | KH_MAPLE_ROOT_PARENT);
	CHECK(!walk(root, &s, &r), "foreign root");
	expect_marked(&r, KH_RESULT_INCONSISTENT, "does not point back",
		      "foreign root");
}

/*
 * Random damage to a good tree: whatever the bytes say, the walk ends,
 * reports each entry once at most, and never reads outside a node (run
 * under valgrind or ASan to see the latter).
 */
static void test_random_damage(void)
{
	static const unsigned int used[13] = { 0, 1, 2, 3, 10, 11, 12, 13,
					       14, 15, 16, 17, 18 };
	uint64_t root = root_of(0, KH_MAPLE_ARANGE_64);
	unsigned int iter, k, seed = 12345, marked = 0;
	struct kh_result r;
	static struct seen s;

	for (iter = 0; iter < 20000; iter++) {
		build_three_levels();
		for (k = 0; k <= iter % 4; k++) {
			unsigned int node, off;
			uint64_t val;

			seed = seed * 1103515245 + 12345;
			node = used[(seed >> 8) % 13];
			off = ((seed >> 16) % (NODE_SIZE / 8)) * 8;
			seed = seed * 1103515245 + 12345;
			switch (seed >> 28) {
			case 0 ... 5:	/* a pointer to some node */
				val = enode((seed >> 8) % NR_NODES,
					    (seed >> 4) & 15);
				break;
			case 6 ... 9:	/* a small number */
				val = (seed >> 8) & 0xffff;
				break;
			case 10 ... 11:
				val = UINT64_MAX;
				break;
			default:	/* one byte (metadata, types) */
				off += (seed >> 4) & 7;
				mem[node][off] = seed >> 20;
				continue;
			}
			put(node, off, val);
		}
		CHECK(!walk(root, &s, &r), "damage %u", iter);
		CHECK(s.nr <= NR_NODES * 16, "damage %u: %u entries", iter,
		      s.nr);
		marked += !!r.flags;
	}
	/* Most damage is noticed (some hits bytes the walk never uses). */
	CHECK(marked > 20000 / 2, "only %u damaged trees noticed", marked);
	printf("random damage: %u of 20000 trees marked\n", marked);
}

static void test_fatal_read(void)
{
	struct kh_result r;
	static struct seen s;

	build_three_levels();
	fail_with = -ESRCH;
	CHECK(walk(root_of(0, KH_MAPLE_ARANGE_64), &s, &r) == -ESRCH,
	      "-ESRCH not returned");
	fail_with = 0;
}

int main(void)
{
	test_empty_and_plain_root();
	test_one_leaf();
	test_full_leaves();
	test_three_levels();
	test_cycles();
	test_bad_pivots();
	test_node_types();
	test_bounds();
	test_bad_children();
	test_changed_under_walk();
	test_random_damage();
	test_fatal_read();
	return KH_PASS;
}
