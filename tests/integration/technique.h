/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the technique_* tests share: QMP run state, which techniques must
 * be available on the guest and which must not (and why), the technique's
 * entry in `keyhole techniques`, byte-for-byte comparison of two
 * techniques' reads of guest-physical memory, and comparison of two
 * process lists.
 */
#ifndef KH_TEST_TECHNIQUE_H
#define KH_TEST_TECHNIQUE_H

#include <dirent.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

/*
 * QEMU pid has a file in dir open (a snapshot under way): its fd link,
 * into name. It names dir even when the file has no name there (pmemsave
 * writes into an unnamed file keyhole passes it). 0 once QEMU is gone.
 */
static inline int qemu_has_file_in(int pid, const char *dir, char *name,
				   size_t size)
{
	char fddir[64], link[4200], target[4400];
	size_t len = strlen(dir);
	struct dirent *d;
	DIR *dh;
	ssize_t n;
	int found = 0;

	snprintf(fddir, sizeof(fddir), "/proc/%d/fd", pid);
	dh = opendir(fddir);
	if (!dh)
		return 0;
	while (!found && (d = readdir(dh))) {
		snprintf(link, sizeof(link), "%s/%s", fddir, d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strncmp(target, dir, len) && target[len] == '/';
	}
	closedir(dh);
	if (found)
		snprintf(name, size, "%s", target);
	return found;
}

/* Every technique of a live QEMU, in keyhole's order (access/technique.c). */
static const char *const all_techniques[] = {
	"kmap", "memmap", "kread", "pvreadv", "procmem", "kpause", "ptrace",
	"gdbstub", "agent", "hmp", "bgsnap", "migrate", "dump", "pmemsave",
};
#define NR_TECHNIQUES ((int)(sizeof(all_techniques) / sizeof(all_techniques[0])))

#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif

/*
 * Whether the host kernel offers userfaultfd write-protection for guest
 * RAM of this kind (shmem for a memfd backend), which QEMU's
 * background-snapshot needs: asked of the kernel here, not of keyhole.
 */
static inline int host_uffd_wp(int shmem)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int ok;

	if (fd < 0)
		return 0;
	ok = !ioctl(fd, UFFDIO_API, &api) &&
	     (api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP) &&
	     (!shmem || (api.features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM));
	close(fd);
	return ok;
}

static inline int guest_started_with(const struct guest *g, const char *key)
{
	char val[16];

	guest_option(g->rundir, key, val, sizeof(val));
	return !strcmp(val, "1");
}

/*
 * Whether technique name must be available on this guest (1) or must not
 * (0, and *why is a phrase its reason must contain, the part that says
 * how to enable it), derived from how vm.sh started the guest (RUNDIR/
 * options), whether it runs, and the host: never from keyhole's answer.
 * Fails on a technique the tests do not know, so a new one gets its
 * expectation written down here.
 */
static inline int technique_expected(const struct guest *g, const char *name,
				     int running, const char **why)
{
	int qmp = guest_started_with(g, "qmp");
	struct stat st;

	*why = NULL;
	if (!strcmp(name, "kmap") || !strcmp(name, "kread") ||
	    !strcmp(name, "kpause")) {
		/* keyhole.ko: no module can load on the test hosts' kernel. */
		*why = "keyhole.ko";
		return !stat("/dev/keyhole", &st);
	}
	if (!strcmp(name, "memmap")) {
		*why = "memory-backend-memfd";
		return !strcmp(g->ram, "memfd");
	}
	if (!strcmp(name, "pvreadv") || !strcmp(name, "procmem") ||
	    !strcmp(name, "ptrace"))
		return 1;	/* the tests run as root: they may ptrace QEMU */
	if (!strcmp(name, "gdbstub")) {
		/* Without a socket of its own, keyhole starts one over QMP. */
		*why = "-gdb chardev:";
		return guest_started_with(g, "gdb") || qmp;
	}
	if (!strcmp(name, "agent")) {
		/* qemu-ga runs in the guest: not while its vCPUs are stopped. */
		*why = !guest_started_with(g, "agent") ? "org.qemu.guest_agent.0" :
		       !running ? "did not answer" : NULL;
		return !*why;
	}
	if (!strcmp(name, "hmp") || !strcmp(name, "dump") ||
	    !strcmp(name, "pmemsave")) {
		*why = "-qmp unix:";
		return qmp;
	}
	if (!strcmp(name, "migrate") || !strcmp(name, "bgsnap")) {
		/* A migration would leave a paused guest in postmigrate. */
		*why = !qmp ? "-qmp unix:" : !running ? "not running" : NULL;
		if (!*why && !strcmp(name, "bgsnap") &&
		    !host_uffd_wp(!strcmp(g->ram, "memfd")))
			*why = "userfaultfd";
		return !*why;
	}
	CHECK(0, "technique %s: the tests do not know when it must work", name);
	return 0;
}

/*
 * One technique as keyhole lists it, against technique_expected(): its
 * availability, and the reason of an unavailable one.
 */
static inline void check_availability(const struct guest *g, const char *name,
				      int available, const char *reason,
				      int running)
{
	const char *why;
	int want = technique_expected(g, name, running, &why);

	CHECK(available == want,
	      "technique %s is %savailable on this guest, it must %sbe: %s",
	      name, available ? "" : "un", want ? "" : "not ",
	      reason ? reason : "(no reason)");
	if (!want)
		CHECK(reason && strstr(reason, why),
		      "unavailable %s: the reason must say '%s': %s", name,
		      why, reason ? reason : "(none)");
}

/*
 * The list of `keyhole --json techniques` of the guest: every technique
 * keyhole has, each available exactly when this guest must have it.
 */
static inline void check_techniques(const struct guest *g, json_t *list,
				    int running)
{
	size_t i, k;
	json_t *t;

	CHECK(json_array_size(list) == NR_TECHNIQUES,
	      "keyhole lists %zu techniques, the tests know %d",
	      json_array_size(list), NR_TECHNIQUES);
	for (k = 0; k < NR_TECHNIQUES; k++) {
		int listed = 0;

		json_array_foreach(list, i, t) {
			if (strcmp(json_string_value(json_object_get(t, "name")),
				   all_techniques[k]))
				continue;
			check_availability(g, all_techniques[k],
					   json_is_true(json_object_get(t, "available")),
					   json_string_value(json_object_get(t, "reason")),
					   running);
			listed = 1;
		}
		CHECK(listed, "technique %s is not listed", all_techniques[k]);
	}
}

/* The technique's entry in `keyhole --json techniques`, checked. */
static inline json_t *technique_entry(const struct guest *g, const char *name,
				      const char *klass)
{
	json_t *doc, *t, *found = NULL;
	int status;
	size_t i;

	doc = keyhole_json(&status, "techniques %d", g->pid);
	CHECK(status == 0, "techniques: exit %d", status);
	json_array_foreach(doc_list(doc, "techniques"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")), name))
			found = json_incref(t);
	json_decref(doc);
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

/*
 * Two ps documents of a paused guest: the same tasks in their lists,
 * field by field.
 */
static inline void same_ps(json_t *doc_a, json_t *doc_b, const char *what)
{
	static const char *const fields[] = { "tgid", "ppid", "uid", "gid" };
	json_t *a = doc_list(doc_a, "ps"), *b = doc_list(doc_b, "ps"), *t;
	size_t i, k;

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
