// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole list: every QEMU VM on this host that the caller may
 * introspect, with what identifies it (pid, -name, libvirt domain, UUID)
 * and its guest RAM size, from /proc and libvirt's run-state files
 * alone (kh_qemu_discover); nothing is attached to. With --probe each VM
 * is attached to as any command would, for its guest kernel release and
 * the access techniques that work on it; a VM that cannot be probed is
 * listed all the same, with the error. With --broker the list is
 * keyholed's (list_broker.c): the VMs it watches that the caller could
 * introspect.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyhole.h"

/* What --probe learnt of one VM. */
struct probe {
	char kernel_release[65];	/* printable; "" unknown */
	char techniques[512];		/* those that work, "a,b,c" */
	json_t *technique_names;	/* the same as a JSON array */
	char error[1024];		/* "" when both worked */
};

/*
 * The kernel's own check, Yama's included, of whether the caller may
 * read QEMU's memory, which every technique needs: opening /proc/PID/mem.
 * The caller sees only the VMs it could introspect.
 */
static int may_introspect(pid_t pid)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Both probes fail alike when the VM is unusable: say it once. */
static void add_error(struct probe *p, const char *msg)
{
	size_t n = strlen(p->error);

	if (n && strstr(p->error, msg))
		return;

	snprintf(p->error + n, sizeof(p->error) - n, "%s%s", n ? "; " : "",
		 msg);
}

static void probe_techniques(const char *spec, const struct kh_vm_config *cfg,
			     struct probe *p)
{
	struct kh_technique *list;
	struct kh_err err = { 0 };
	unsigned int nr, i;
	size_t n = 0;

	p->technique_names = json_array();
	if (kh_techniques(spec, cfg, &list, &nr, &err)) {
		add_error(p, err.msg);
		return;
	}
	for (i = 0; i < nr; i++) {
		if (!list[i].available)
			continue;
		json_array_append_new(p->technique_names,
				      json_string(list[i].name));
		if (n < sizeof(p->techniques))
			n += snprintf(p->techniques + n,
				      sizeof(p->techniques) - n, "%s%s",
				      n ? "," : "", list[i].name);
	}
	free(list);
}

static void probe_kernel(struct kh_ctx *ctx, const char *spec,
			 const struct kh_vm_config *cfg, struct probe *p)
{
	struct kh_err err = { 0 };
	struct kh_vm_info info;
	struct kh_vm *vm;

	if (kh_vm_open(ctx, spec, cfg, &vm, &err)) {
		add_error(p, err.msg);
		return;
	}
	kh_vm_get_info(vm, &info);
	kh_printable(info.kernel_release, sizeof(p->kernel_release),
		     p->kernel_release);
	kh_vm_close(vm);
}

/*
 * Attaches to the VM by its pid. The pid may have been reused meanwhile:
 * what was probed counts only if the process still has the start time
 * it was listed with.
 */
static void probe(struct kh_ctx *ctx, const struct kh_vm_config *options,
		  const struct kh_qemu_proc *proc, struct probe *p)
{
	struct kh_vm_config cfg = *options;
	struct kh_err err = { 0 };
	struct kh_qemu_proc now;
	char spec[16];

	memset(p, 0, sizeof(*p));
	snprintf(spec, sizeof(spec), "%d", (int)proc->pid);
	/*
	 * The caller's own session domain is reached through its session,
	 * unless a URI was given; any other through the default.
	 */
	if (!cfg.libvirt_uri && proc->uid == geteuid() &&
	    !strcmp(proc->libvirt_uri, "qemu:///session"))
		cfg.libvirt_uri = proc->libvirt_uri;
	probe_techniques(spec, &cfg, p);
	probe_kernel(ctx, spec, &cfg, p);
	if (kh_qemu_identify(proc->pid, &now, &err) ||
	    now.start_time != proc->start_time) {
		p->kernel_release[0] = '\0';
		p->techniques[0] = '\0';
		json_array_clear(p->technique_names);
		snprintf(p->error, sizeof(p->error),
			 "QEMU pid %d exited while it was probed",
			 (int)proc->pid);
	}
}

/* "512M", "1.5G": in the largest unit there is at least one of. */
static void human_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "BKMGTPE";
	unsigned int u = 0;

	if (!bytes) {
		snprintf(buf, size, "-");
		return;
	}
	while (u + 1 < sizeof(units) - 1 && bytes >> (10 * (u + 1)))
		u++;
	if (!(bytes & ((1ull << (10 * u)) - 1)))
		snprintf(buf, size, "%" PRIu64 "%c", bytes >> (10 * u),
			 units[u]);
	else
		snprintf(buf, size, "%.1f%c",
			 (double)bytes / (double)(1ull << (10 * u)), units[u]);
}

struct row {
	char pid[16], name[256], libvirt[256], uuid[37], ram[16];
	const char *kernel, *techniques;
};

static void make_row(const struct kh_qemu_proc *proc, const struct probe *p,
		     struct row *r)
{
	snprintf(r->pid, sizeof(r->pid), "%d", (int)proc->pid);
	kh_printable(proc->name[0] ? proc->name : "-", sizeof(r->name),
		     r->name);
	kh_printable(proc->libvirt_name[0] ? proc->libvirt_name : "-",
		     sizeof(r->libvirt), r->libvirt);
	kh_printable(proc->uuid[0] ? proc->uuid : "-", sizeof(r->uuid),
		     r->uuid);
	human_size(proc->ram_bytes, r->ram, sizeof(r->ram));
	r->kernel = p && p->kernel_release[0] ? p->kernel_release : "-";
	r->techniques = p && p->techniques[0] ? p->techniques : "-";
}

const struct table_column list_columns[] = {
	{ "PID", TABLE_RIGHT, "QEMU's process id" },
	{ "NAME", 0, "its -name" },
	{ "LIBVIRT", 0, "the libvirt domain it is" },
	{ "UUID", 0, "its -uuid" },
	{ "RAM", TABLE_RIGHT, "guest RAM" },
	{ "KERNEL", 0, "the guest kernel's release (--probe)" },
	{ "TECHNIQUES", 0, "the access techniques that work (--probe)" },
	{ NULL },
};

static void add_row(struct table *t, const struct row *r)
{
	const char *cells[] = { r->pid, r->name, r->libvirt, r->uuid, r->ram,
				r->kernel, r->techniques };

	table_row(t, cells);
}

static void print_text(const struct kh_qemu_proc *list, unsigned int nr,
		       const struct probe *probes)
{
	struct table *t = table_new(list_columns);
	unsigned int i;
	struct row r;

	for (i = 0; i < nr; i++) {
		make_row(&list[i], probes ? &probes[i] : NULL, &r);
		add_row(t, &r);
	}
	table_print(t, stdout);
	table_free(t);
	for (i = 0; probes && i < nr; i++) {
		char pid[32];

		if (!probes[i].error[0])
			continue;
		/* The library's messages mostly name the pid already. */
		snprintf(pid, sizeof(pid), "pid %d", (int)list[i].pid);
		if (strstr(probes[i].error, pid))
			fprintf(stderr, "%s: list: %s\n", prog_name,
				probes[i].error);
		else
			fprintf(stderr, "%s: list: QEMU %s: %s\n", prog_name,
				pid, probes[i].error);
	}
}

static json_t *list_json(const struct kh_qemu_proc *list, unsigned int nr,
			 struct probe *probes)
{
	json_t *doc = kh_json_qemu_procs(list, nr), *vm;
	unsigned int i;

	for (i = 0; doc && probes && i < nr; i++) {
		struct probe *p = &probes[i];

		vm = json_array_get(doc, i);
		json_object_set_new(vm, "kernel_release",
				    p->kernel_release[0] ?
				    json_string(p->kernel_release) :
				    json_null());
		json_object_set(vm, "techniques", p->technique_names);
		if (p->error[0])
			json_object_set_new(vm, "error",
					    json_string(p->error));
	}
	/*
	 * The list itself is whole; a probe that failed is a problem the
	 * document names, as its VM's "error" says it.
	 */
	doc = kh_json_listing("list", doc, NULL);
	for (i = 0; doc && probes && i < nr; i++) {
		char problem[sizeof(probes[i].error) + 32];

		if (!probes[i].error[0])
			continue;
		/* Printable: the error may quote what the guest chose. */
		snprintf(problem, sizeof(problem), "QEMU %d: %s",
			 (int)list[i].pid, probes[i].error);
		kh_printable(problem, sizeof(problem), problem);
		json_array_append_new(json_object_get(doc, "problems"),
				      json_string(problem));
	}
	return doc;
}

/* The VMs of list that the caller may introspect, in place. */
static unsigned int keep_introspectable(struct kh_qemu_proc *list,
					unsigned int nr)
{
	unsigned int i, kept = 0;

	for (i = 0; i < nr; i++)
		if (may_introspect(list[i].pid))
			list[kept++] = list[i];
	return kept;
}

const struct cmd_option list_options[] = {
	OPTION("probe", 'p', NULL,
	  "attach to each VM: its kernel and the techniques that work"),
	{ .name = NULL },
};

int cmd_list(const struct options *opts, const struct subcommand *cmd,
	     const struct cmd_args *args)
{
	struct probe *probes = NULL;
	struct kh_qemu_proc *list;
	struct kh_err err = { 0 };
	struct kh_ctx_config ccfg = { 0 };
	struct kh_vm_config cfg;
	struct kh_ctx *ctx;
	unsigned int nr, i;
	char dir[4096];
	bool do_probe = args->nr_opts > 0;
	int ret = 0;

	if (args->nr_pos)
		return usage_error(opts, cmd, "takes no VM; it lists them all");
	if (opts->broker) {
		/* keyholed's list, which it filtered for this caller. */
		if (do_probe)
			return usage_error(opts, cmd, "--probe attaches in this process, which --broker does not; ask keyholed with 'keyhole --broker techniques VM'");
		ret = broker_list(opts, &list, &nr);
		if (ret)
			return ret;
	} else {
		if (kh_qemu_discover(&list, &nr, &err))
			return report_error(opts, "%s", err.msg);
		nr = keep_introspectable(list, nr);
	}

	if (do_probe && nr) {
		ccfg.cache_dir = cache_dir(opts, dir, sizeof(dir));
		if (kh_ctx_new(&ccfg, &ctx, &err)) {
			free(list);
			return report_error(opts, "%s", err.msg);
		}
		probes = calloc(nr, sizeof(*probes));
		if (!probes) {
			kh_ctx_free(ctx);
			free(list);
			return report_error(opts, "out of memory");
		}
		vm_config(opts, &cfg);
		for (i = 0; i < nr; i++)
			probe(ctx, &cfg, &list[i], &probes[i]);
		kh_ctx_free(ctx);
	}

	if (opts->json)
		ret = print_json(list_json(list, nr, probes));
	else
		print_text(list, nr, probes);
	for (i = 0; probes && i < nr; i++)
		json_decref(probes[i].technique_names);
	free(probes);
	free(list);
	return ret;
}
