/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the technique_* tests share: QMP run state, the technique's entry
 * in `keyhole techniques`, byte-for-byte comparison of two techniques'
 * reads of guest-physical memory, and comparison of two process lists.
 */
#ifndef KH_TEST_TECHNIQUE_H
#define KH_TEST_TECHNIQUE_H

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"
#include "libkeyhole.h"

static inline char *qmp_run(const struct guest *g, const char *cmd)
{
	int status;
	char *out = run_capture(&status, "%s --qmp '%s' '{\"execute\":\"%s\"}'",
				env_or("TRUTH", "truth"), g->qmp_sock, cmd);

	CHECK(status == 0, "QMP %s failed: %s", cmd, out);
	return out;
}

static inline int vm_running(const struct guest *g)
{
	char *out = qmp_run(g, "query-status");
	int yes = strstr(out, "\"running\": true") != NULL;

	free(out);
	return yes;
}

static inline void vm_qmp(const struct guest *g, const char *cmd)
{
	free(qmp_run(g, cmd));
}

/* The guest answers its truth daemon: its vCPUs really run. */
static inline void guest_answers(const struct guest *g)
{
	free(guest_truth(g, "ping"));
}

static inline int rundir_has(const struct guest *g, const char *name)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", g->rundir, name);
	return !stat(path, &st) && S_ISSOCK(st.st_mode);
}

/* The technique's entry in `keyhole --json techniques`, checked. */
static inline json_t *technique_entry(const struct guest *g, const char *name,
				      const char *klass)
{
	json_t *list, *t, *found = NULL;
	int status;
	size_t i;

	list = keyhole_json(&status, "techniques %d", g->pid);
	CHECK(status == 0 && json_is_array(list), "techniques: exit %d",
	      status);
	json_array_foreach(list, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")), name))
			found = json_incref(t);
	json_decref(list);
	CHECK(found, "technique %s not listed", name);
	CHECK(!strcmp(json_string_value(json_object_get(found, "class")),
		      klass), "%s is class %s, not %s", name,
	      json_string_value(json_object_get(found, "class")), klass);
	if (!json_is_true(json_object_get(found, "available")))
		CHECK(json_string_value(json_object_get(found, "reason")),
		      "unavailable %s gives no reason", name);
	return found;
}

/*
 * Reads the same guest-physical ranges through technique and through
 * procmem (the reference) and compares them; the guest must be paused.
 */
static inline void same_bytes(const struct guest *g, const char *technique)
{
	struct kh_vm_config ref_cfg = { .technique = "procmem" };
	struct kh_vm_config cfg = { .technique = technique };
	struct kh_vm *ref, *vm;
	struct kh_vm_info info;
	struct kh_err err = { 0 };
	struct kh_read a[16], b[16];
	static uint8_t abuf[16][4096], bbuf[16][4096];
	struct kh_ctx *ctx;
	char spec[32];
	unsigned int i;
	int r;

	snprintf(spec, sizeof(spec), "%d", g->pid);
	CHECK(!kh_ctx_new(NULL, &ctx, &err), "ctx: %s", err.msg);
	CHECK(!kh_vm_open(ctx, spec, &ref_cfg, &ref, &err), "open procmem: %s",
	      err.msg);
	CHECK(!kh_vm_open(ctx, spec, &cfg, &vm, &err), "open %s: %s",
	      technique, err.msg);
	kh_vm_get_info(ref, &info);
	for (i = 0; i < 16; i++) {
		/* The kernel image and low RAM: pages the guest has used. */
		uint64_t gpa = i < 8 ? info.kernel_phys + i * 0x31000 + 123 :
				       0x100000 + (i - 8) * 0x20000 + 7;
		uint32_t len = i % 2 ? 4096 - 200 : 64 + i * 8;

		a[i] = (struct kh_read){ .addr = gpa, .buf = abuf[i], .len = len };
		b[i] = (struct kh_read){ .addr = gpa, .buf = bbuf[i], .len = len };
		memset(abuf[i], 0xa5, sizeof(abuf[i]));
		memset(bbuf[i], 0x5a, sizeof(bbuf[i]));
	}
	r = kh_read_phys(ref, a, 16, &err);
	CHECK(r == 0, "procmem read: %d %s", r, err.msg);
	r = kh_read_phys(vm, b, 16, &err);
	CHECK(r == 0, "%s read: %d %s", technique, r, err.msg);
	for (i = 0; i < 16; i++)
		CHECK(!memcmp(abuf[i], bbuf[i], a[i].len),
		      "%s and procmem differ at GPA 0x%llx", technique,
		      (unsigned long long)a[i].addr);
	kh_vm_close(vm);
	kh_vm_close(ref);
	kh_ctx_free(ctx);
}

static inline json_t *task_by_pid(json_t *list, json_int_t pid)
{
	size_t i;
	json_t *t;

	json_array_foreach(list, i, t)
		if (json_integer_value(json_object_get(t, "pid")) == pid)
			return t;
	return NULL;
}

/* Two ps views of a paused guest: the same tasks, field by field. */
static inline void same_ps(json_t *a, json_t *b, const char *what)
{
	static const char *const fields[] = { "tgid", "ppid", "uid", "gid" };
	size_t i, k;
	json_t *t;

	CHECK(json_array_size(a) == json_array_size(b) &&
	      json_array_size(a) > 20, "%s: %zu and %zu tasks", what,
	      json_array_size(a), json_array_size(b));
	json_array_foreach(a, i, t) {
		json_int_t pid = json_integer_value(json_object_get(t, "pid"));
		json_t *u = task_by_pid(b, pid);

		CHECK(u, "%s: pid %lld missing", what, (long long)pid);
		CHECK(json_equal(json_object_get(t, "comm"),
				 json_object_get(u, "comm")) &&
		      json_equal(json_object_get(t, "state"),
				 json_object_get(u, "state")),
		      "%s: pid %lld differs in comm or state", what,
		      (long long)pid);
		for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
			CHECK(json_equal(json_object_get(t, fields[k]),
					 json_object_get(u, fields[k])),
			      "%s: pid %lld differs in %s", what,
			      (long long)pid, fields[k]);
	}
}

#endif
