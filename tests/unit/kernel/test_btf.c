// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh_btf_member and kh_btf_sizeof on a BTF this test writes with libbpf
 * (anonymous unions and structs, nested paths, bitfields, typedef'd and
 * const members), on damaged copies of it, and on the running kernel's
 * BTF when /sys/kernel/btf/vmlinux exists.
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/btf.h"
#include "check.h"

/* libbpf explains every BTF it rejects on stderr; the fuzzing below makes
 * thousands of those on purpose. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

#define OK(x) CHECK((x) > 0, "%s = %d", #x, (int)(x))

static void *build(uint32_t *len)
{
	struct btf *b = btf__new_empty();
	int i_int, i_long, i_uint, i_char, i_vptr, i_pid, i_cpid, i_lh;
	int i_inner, i_inner_t, i_anon_u, i_anon_s, i_comm, i_deep_u;
	int i_deep_s, i_task;
	const void *raw;
	void *copy;

	CHECK(b, "btf__new_empty");
	OK(i_int = btf__add_int(b, "int", 4, BTF_INT_SIGNED));
	OK(i_long = btf__add_int(b, "long", 8, BTF_INT_SIGNED));
	OK(i_uint = btf__add_int(b, "unsigned int", 4, 0));
	OK(i_char = btf__add_int(b, "char", 1, BTF_INT_CHAR));
	OK(i_vptr = btf__add_ptr(b, 0));
	OK(i_pid = btf__add_typedef(b, "pid_t", i_int));
	OK(i_cpid = btf__add_const(b, i_pid));

	OK(i_lh = btf__add_struct(b, "list_head", 16));
	CHECK(!btf__add_field(b, "next", i_vptr, 0, 0), "next");
	CHECK(!btf__add_field(b, "prev", i_vptr, 64, 0), "prev");

	OK(i_inner = btf__add_struct(b, "inner", 16));
	CHECK(!btf__add_field(b, "a", i_long, 0, 0), "a");
	CHECK(!btf__add_field(b, "b", i_int, 64, 0), "b");
	CHECK(!btf__add_field(b, "flag", i_uint, 99, 3), "flag");
	OK(i_inner_t = btf__add_typedef(b, "inner_t", i_inner));

	OK(i_anon_u = btf__add_union(b, NULL, 8));
	CHECK(!btf__add_field(b, "u1", i_int, 0, 0), "u1");
	CHECK(!btf__add_field(b, "u2", i_long, 0, 0), "u2");
	OK(i_anon_s = btf__add_struct(b, NULL, 8));
	CHECK(!btf__add_field(b, "pid", i_pid, 0, 0), "pid");
	CHECK(!btf__add_field(b, "tgid", i_cpid, 32, 0), "tgid");
	OK(i_comm = btf__add_array(b, i_int, i_char, 16));
	/* Two levels of anonymity: struct { union { int deep; }; }; */
	OK(i_deep_u = btf__add_union(b, NULL, 4));
	CHECK(!btf__add_field(b, "deep", i_int, 0, 0), "deep");
	OK(i_deep_s = btf__add_struct(b, NULL, 8));
	CHECK(!btf__add_field(b, NULL, i_deep_u, 0, 0), "anon deep");

	OK(i_task = btf__add_struct(b, "task", 96));
	CHECK(!btf__add_field(b, "state", i_int, 0, 0), "state");
	CHECK(!btf__add_field(b, NULL, i_anon_u, 64, 0), "anon union");
	CHECK(!btf__add_field(b, NULL, i_anon_s, 128, 0), "anon struct");
	CHECK(!btf__add_field(b, "tasks", i_lh, 192, 0), "tasks");
	CHECK(!btf__add_field(b, "se", i_inner_t, 320, 0), "se");
	CHECK(!btf__add_field(b, "comm", i_comm, 512, 0), "comm");
	CHECK(!btf__add_field(b, "bf1", i_uint, 640, 1), "bf1");
	CHECK(!btf__add_field(b, "bf2", i_uint, 641, 4), "bf2");
	CHECK(!btf__add_field(b, NULL, i_deep_s, 704, 0), "deep struct");
	/* Hostile layouts: a member past its struct's end; a huge struct. */
	OK(btf__add_struct(b, "liar", 8));
	CHECK(!btf__add_field(b, "inside", i_int, 0, 0), "inside");
	CHECK(!btf__add_field(b, "outside", i_long, 8 * 4096, 0), "outside");
	OK(btf__add_struct(b, "giant", 64u << 20));
	CHECK(!btf__add_field(b, "x", i_int, 0, 0), "giant x");
	/* A union by name too. */
	OK(btf__add_union(b, "either", 8));
	CHECK(!btf__add_field(b, "x", i_long, 0, 0), "x");
	CHECK(!btf__add_field(b, "y", i_int, 0, 0), "y");

	raw = btf__raw_data(b, len);
	CHECK(raw && *len > 0, "btf__raw_data");
	copy = malloc(*len);
	CHECK(copy, "malloc");
	memcpy(copy, raw, *len);
	btf__free(b);
	return copy;
}

static void member_is(struct kh_btf *kb, const char *type, const char *path,
		      uint32_t off, uint32_t size, uint32_t bit_off,
		      uint32_t bit_size)
{
	struct kh_member m;
	struct kh_err err = { 0 };
	int ret = kh_btf_member(kb, type, path, &m, &err);

	CHECK(ret == 0, "%s.%s: %d %s", type, path, ret, err.msg);
	CHECK(m.offset == off && m.size == size && m.bit_offset == bit_off &&
	      m.bit_size == bit_size, "%s.%s: off %u size %u bit %u:%u",
	      type, path, m.offset, m.size, m.bit_offset, m.bit_size);
}

static void member_err(struct kh_btf *kb, const char *type, const char *path,
		       int want, const char *in_msg)
{
	struct kh_member m;
	struct kh_err err = { 0 };
	int ret = kh_btf_member(kb, type, path, &m, &err);

	CHECK(ret == want, "%s.%s: %d, want %d", type, path, ret, want);
	CHECK(err.code == -want && strstr(err.msg, in_msg),
	      "%s.%s: message '%s' lacks '%s'", type, path, err.msg, in_msg);
}

static void test_synthetic(void)
{
	struct kh_btf *kb = NULL;
	struct kh_err err = { 0 };
	const void *raw;
	uint32_t len, sz;
	size_t rlen;
	void *data = build(&len);

	CHECK(kh_btf_load(data, len, &kb, &err) == 0, "load: %s", err.msg);
	/* The table owns a copy: our buffer can go. */
	memset(data, 0, len);
	raw = kh_btf_raw(kb, &rlen);
	CHECK(raw && rlen == len, "raw %zu vs %u", rlen, len);

	member_is(kb, "task", "state", 0, 4, 0, 0);
	member_is(kb, "task", "u1", 8, 4, 0, 0);
	member_is(kb, "task", "u2", 8, 8, 0, 0);
	member_is(kb, "task", "pid", 16, 4, 0, 0);
	member_is(kb, "task", "tgid", 20, 4, 0, 0);
	member_is(kb, "struct task", "tasks", 24, 16, 0, 0);
	member_is(kb, "task", "tasks.prev", 32, 8, 0, 0);
	member_is(kb, "task", "se", 40, 16, 0, 0);
	member_is(kb, "task", "se.b", 48, 4, 0, 0);
	member_is(kb, "task", "se.flag", 52, 4, 3, 3);
	member_is(kb, "task", "comm", 64, 16, 0, 0);
	member_is(kb, "task", "bf1", 80, 4, 0, 1);
	member_is(kb, "task", "bf2", 80, 4, 1, 4);
	member_is(kb, "task", "deep", 88, 4, 0, 0);
	member_is(kb, "inner_t", "flag", 12, 4, 3, 3);
	member_is(kb, "union either", "y", 0, 4, 0, 0);

	CHECK(!kh_btf_sizeof(kb, "task", &sz, &err) && sz == 96, "sizeof task");
	CHECK(!kh_btf_sizeof(kb, "struct list_head", &sz, &err) && sz == 16,
	      "sizeof list_head");
	CHECK(!kh_btf_sizeof(kb, "inner_t", &sz, &err) && sz == 16,
	      "sizeof inner_t");
	CHECK(kh_btf_sizeof(kb, "nothing", &sz, &err) == -ENOENT &&
	      strstr(err.msg, "nothing"), "sizeof nothing: %s", err.msg);

	member_err(kb, "task", "nope", -ENOENT, "nope");
	member_err(kb, "task", "tasks.nope", -ENOENT, "nope");
	member_err(kb, "task", "se.a.x", -ENOENT, "x");
	member_err(kb, "task", "tasks.next.x", -ENOENT, "x");
	member_err(kb, "no_such_struct", "pid", -ENOENT, "no_such_struct");
	/* An anonymous member's own (empty) name matches nothing. */
	member_err(kb, "task", "", -EINVAL, "");
	member_err(kb, "task", "se..b", -EINVAL, "se..b");
	member_err(kb, "task", "se.", -EINVAL, "se.");
	kh_btf_free(kb);
	free(data);
}

/* Damaged BTF is refused or, if libbpf takes it, queried safely. */
/* Guest BTF may lie: no member outside its struct, no absurd struct. */
static void test_hostile_layout(void)
{
	struct kh_err err = { 0 };
	struct kh_member m;
	struct kh_btf *kb;
	uint32_t size, len;
	void *raw = build(&len);

	CHECK(!kh_btf_load(raw, len, &kb, &err), "load: %s", err.msg);
	CHECK(!kh_btf_member(kb, "liar", "inside", &m, &err), "inside: %s",
	      err.msg);
	CHECK(kh_btf_member(kb, "liar", "outside", &m, &err) == -EINVAL,
	      "a member outside its struct was accepted at %u", m.offset);
	CHECK(kh_btf_member(kb, "giant", "x", &m, &err) == -EINVAL,
	      "a 64 MiB struct was accepted");
	CHECK(kh_btf_sizeof(kb, "giant", &size, &err) == -EINVAL,
	      "sizeof a 64 MiB struct was accepted");
	kh_btf_free(kb);
	free(raw);
}

static void test_garbage(void)
{
	struct kh_btf *kb;
	struct kh_err err;
	struct kh_member m;
	uint32_t len, x = 4242, sz;
	uint8_t *good = build(&len), *bad = malloc(len);
	size_t cut;
	int i;

	CHECK(bad, "malloc");
	for (i = 0; i < 2000; i++) {
		int k;

		memcpy(bad, good, len);
		for (k = 0; k < 1 + i % 4; k++) {
			x = x * 1103515245 + 12345;
			bad[(x >> 8) % len] = (uint8_t)(x >> 20);
		}
		memset(&err, 0, sizeof(err));
		kb = NULL;
		if (kh_btf_load(bad, len, &kb, &err)) {
			CHECK(err.code && err.msg[0], "error without message");
			continue;
		}
		kh_btf_member(kb, "task", "se.flag", &m, &err);
		kh_btf_member(kb, "task", "deep", &m, &err);
		kh_btf_member(kb, "task", "tasks.prev", &m, &err);
		kh_btf_sizeof(kb, "task", &sz, &err);
		kh_btf_free(kb);
	}
	for (cut = 0; cut < len; cut += 7) {
		kb = NULL;
		if (!kh_btf_load(good, cut, &kb, &err))
			kh_btf_free(kb);
	}
	for (cut = 0; cut < len; cut++) {
		x = x * 1103515245 + 12345;
		bad[cut] = (uint8_t)(x >> 16);
	}
	CHECK(kh_btf_load(bad, len, &kb, &err) < 0, "noise loaded");
	CHECK(kh_btf_load(bad, 3, &kb, &err) == -EINVAL, "3 bytes");
	CHECK(kh_btf_load_elf("/nonexistent/vmlinux", &kb, &err) < 0 &&
	      strstr(err.msg, "/nonexistent/vmlinux"), "elf: %s", err.msg);
	free(bad);
	free(good);
}

/* A struct whose anonymous members are itself: C cannot say it, a guest's
 * BTF can. The lookup must end, and quickly. */
static void test_self_nesting(void)
{
	struct btf *b = btf__new_empty();
	struct kh_btf *kb = NULL;
	struct kh_err err = { 0 };
	struct kh_member m;
	const void *raw;
	uint32_t len;
	int i_int, id, i;

	CHECK(b, "btf__new_empty");
	OK(i_int = btf__add_int(b, "int", 4, BTF_INT_SIGNED));
	OK(id = btf__add_struct(b, "loopy", 8));
	for (i = 0; i < 8; i++)
		CHECK(!btf__add_field(b, NULL, id, 0, 0), "anon self");
	CHECK(!btf__add_field(b, "last", i_int, 32, 0), "last");
	raw = btf__raw_data(b, &len);
	CHECK(raw, "raw");
	if (kh_btf_load(raw, len, &kb, &err) == 0) {
		CHECK(!kh_btf_member(kb, "loopy", "last", &m, &err) &&
		      m.offset == 4, "direct member after self members");
		CHECK(kh_btf_member(kb, "loopy", "missing", &m, &err) ==
		      -ENOENT, "missing in a self-nesting struct");
		kh_btf_free(kb);
	}
	btf__free(b);
}

/*
 * An operations table: only pointers to functions are listed, through
 * anonymous unions and typedefs, in order; one outside its struct, or
 * more than asked for, is an error.
 */
static void test_fn_members(void)
{
	struct btf *b = btf__new_empty();
	struct kh_fn_member fn[4];
	struct kh_btf *kb = NULL;
	struct kh_err err = { 0 };
	int i_int, i_proto, i_fptr, i_cfptr, i_vptr, i_u, i_long;
	unsigned int nr = 0;
	const void *raw;
	uint32_t len, size = 0;

	CHECK(b, "btf__new_empty");
	OK(i_int = btf__add_int(b, "int", 4, BTF_INT_SIGNED));
	OK(i_long = btf__add_int(b, "long", 8, BTF_INT_SIGNED));
	OK(i_vptr = btf__add_ptr(b, 0));
	OK(i_proto = btf__add_func_proto(b, i_int));
	CHECK(!btf__add_func_param(b, "x", i_int), "param");
	OK(i_fptr = btf__add_ptr(b, i_proto));
	OK(i_cfptr = btf__add_typedef(b, "show_t", i_fptr));
	OK(i_cfptr = btf__add_const(b, i_cfptr));
	OK(i_u = btf__add_union(b, NULL, 8));
	CHECK(!btf__add_field(b, "data", i_long, 0, 0), "data");
	CHECK(!btf__add_field(b, "single_show", i_fptr, 0, 0), "single_show");
	OK(btf__add_struct(b, "ops", 48));
	CHECK(!btf__add_field(b, "owner", i_vptr, 0, 0), "owner");
	CHECK(!btf__add_field(b, "open", i_fptr, 64, 0), "open");
	CHECK(!btf__add_field(b, "flags", i_int, 128, 0), "flags");
	CHECK(!btf__add_field(b, NULL, i_u, 192, 0), "anon union");
	CHECK(!btf__add_field(b, "show", i_cfptr, 256, 0), "show");
	CHECK(!btf__add_field(b, "release", i_fptr, 320, 0), "release");
	OK(btf__add_struct(b, "liar_ops", 8));
	CHECK(!btf__add_field(b, "open", i_fptr, 64, 0), "liar open");
	raw = btf__raw_data(b, &len);
	CHECK(raw && !kh_btf_load(raw, len, &kb, &err), "load: %s", err.msg);

	CHECK(!kh_btf_fn_members(kb, "ops", fn, 4, &nr, &size, &err) &&
	      nr == 4 && size == 48, "ops: %u members, size %u: %s", nr, size,
	      err.msg);
	CHECK(fn[0].offset == 8 && !strcmp(fn[0].name, "open") &&
	      fn[1].offset == 24 && !strcmp(fn[1].name, "single_show") &&
	      fn[2].offset == 32 && !strcmp(fn[2].name, "show") &&
	      fn[3].offset == 40 && !strcmp(fn[3].name, "release"),
	      "ops: %s@%u %s@%u %s@%u %s@%u", fn[0].name, fn[0].offset,
	      fn[1].name, fn[1].offset, fn[2].name, fn[2].offset, fn[3].name,
	      fn[3].offset);
	CHECK(kh_btf_fn_members(kb, "ops", fn, 3, &nr, &size, &err) == -E2BIG,
	      "4 function pointers fit in 3");
	CHECK(kh_btf_fn_members(kb, "liar_ops", fn, 4, &nr, &size, &err) ==
	      -EINVAL, "a function pointer outside its struct was listed");
	CHECK(kh_btf_fn_members(kb, "nothing", fn, 4, &nr, &size, &err) ==
	      -ENOENT && strstr(err.msg, "nothing"), "nothing: %s", err.msg);
	kh_btf_free(kb);
	btf__free(b);
}

static int test_kernel(void)
{
	static const char *const members[] = {
		"pid", "tgid", "tasks", "comm", "real_parent", "mm",
		"tasks.next",
	};
	struct kh_btf *kb = NULL;
	struct kh_err err = { 0 };
	struct kh_member m, tasks;
	struct kh_fn_member fn[96];
	unsigned int nr = 0;
	uint32_t sz;
	size_t len = 0, cap = 8 << 20, n;
	uint8_t *buf;
	unsigned int i;
	FILE *f;

	f = fopen("/sys/kernel/btf/vmlinux", "rb");
	if (!f)
		return 0;
	buf = malloc(cap);
	CHECK(buf, "malloc");
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			CHECK(buf, "realloc");
		}
	}
	fclose(f);
	CHECK(kh_btf_load(buf, len, &kb, &err) == 0, "vmlinux BTF: %s",
	      err.msg);
	free(buf);
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		CHECK(!kh_btf_member(kb, "task_struct", members[i], &m, &err),
		      "%s", err.msg);
	CHECK(!kh_btf_member(kb, "task_struct", "comm", &m, &err) &&
	      m.size == 16, "comm size %u", m.size);
	CHECK(!kh_btf_member(kb, "task_struct", "tasks", &tasks, &err) &&
	      tasks.size == 16, "tasks");
	CHECK(!kh_btf_member(kb, "task_struct", "tasks.prev", &m, &err) &&
	      m.offset == tasks.offset + 8, "tasks.prev");
	CHECK(!kh_btf_sizeof(kb, "task_struct", &sz, &err) && sz > 1000,
	      "sizeof task_struct");
	CHECK(!kh_btf_member(kb, "mm_struct", "pgd", &m, &err) && m.size == 8,
	      "mm_struct.pgd: %s", err.msg);
	/* file_operations: owner and flags are not functions, read is. */
	CHECK(!kh_btf_fn_members(kb, "file_operations", fn, 96, &nr, &sz, &err) &&
	      nr >= 20 && nr < sz / 8, "file_operations: %u of %u bytes: %s",
	      nr, sz, err.msg);
	for (i = 0; i < nr && strcmp(fn[i].name, "read"); i++)
		;
	CHECK(i < nr && fn[i].offset % 8 == 0, "file_operations.read missing");
	kh_btf_free(kb);
	return 1;
}

/* The Debian vmlinux that test_kallsyms extracts, when it is there. */
static int test_debian_elf(void)
{
	struct kh_btf *kb = NULL;
	struct kh_err err = { 0 };
	struct kh_member m;
	glob_t g;

	if (glob("/tmp/keyhole-test-vmlinuz-*.elf", 0, NULL, &g))
		return 0;
	CHECK(kh_btf_load_elf(g.gl_pathv[0], &kb, &err) == 0, "%s",
	      err.msg);
	CHECK(!kh_btf_member(kb, "task_struct", "pid", &m, &err), "%s",
	      err.msg);
	CHECK(!kh_btf_member(kb, "task_struct", "tasks", &m, &err), "%s",
	      err.msg);
	CHECK(!kh_btf_member(kb, "task_struct", "comm", &m, &err) &&
	      m.size == 16, "%s", err.msg);
	kh_btf_free(kb);
	globfree(&g);
	return 1;
}

int main(void)
{
	int real;

	libbpf_set_print(quiet);
	test_synthetic();
	test_garbage();
	test_self_nesting();
	test_hostile_layout();
	test_fn_members();
	real = test_kernel();
	real |= test_debian_elf();
	if (!real)
		SKIP("synthetic BTF passed; no kernel BTF to check against");
	return KH_PASS;
}
