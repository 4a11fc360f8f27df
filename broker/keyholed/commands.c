// SPDX-License-Identifier: GPL-2.0-only
/*
 * What keyholed answers (Documentation/broker-protocol.md): "list", and
 * every query of libkeyhole's query layer under the keyhole command's
 * names, which run on the VM's worker. Everything a request names is
 * checked here, on the loop thread, before any work is queued: the
 * command, the VM and the client's right to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyholed.h"

const char *const daemon_capabilities[] = {
	"list", "query", "watch", "ram", "pause", NULL,
};

/* Arguments the daemon takes; the rest belong to the query. */
static const char *const broker_keys[] = { "vm", "technique", "layout", NULL };

static bool is_broker_key(const char *key)
{
	const char *const *k;

	for (k = broker_keys; *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

struct list_row {
	pid_t pid;
	uint64_t start_time;
	json_t *json;
};

struct list_walk {
	struct list_row *rows;
	unsigned int nr, size;
};

static void collect(struct vm_entry *e, void *arg)
{
	struct list_walk *w = arg;
	json_t *json;

	if (e->gone || w->nr == w->size)
		return;
	json = vm_entry_json(e);
	if (!json)
		return;		/* not encodable; kh_qemu_* keeps it printable */
	w->rows[w->nr].pid = e->id.pid;
	w->rows[w->nr].start_time = e->id.start_time;
	w->rows[w->nr++].json = json;
}

static int by_pid(const void *a, const void *b)
{
	const struct list_row *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Every VM whose QEMU the client could ptrace, and no other. */
static void do_list(struct client *c, struct kh_proto_request *req)
{
	struct list_walk w = { 0 };
	json_t *list = json_array();
	uint64_t *start_times = NULL;
	pid_t *pids = NULL;
	unsigned int i;
	bool *ok;

	if (json_object_size(req->arguments)) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, req->id,
					      "list takes no arguments"));
		json_decref(list);
		return;
	}
	/* Only the loop thread adds VMs, so none appears meanwhile. */
	w.size = registry_count() + 1;
	w.rows = calloc(w.size, sizeof(*w.rows));
	pids = calloc(w.size, sizeof(*pids));
	start_times = calloc(w.size, sizeof(*start_times));
	ok = calloc(w.size, sizeof(*ok));
	if (!w.rows || !pids || !start_times || !ok) {
		client_send(c, kh_proto_error(KH_ERR_GENERIC, req->id,
					      "out of memory"));
		goto out;
	}
	registry_foreach(collect, &w);
	qsort(w.rows, w.nr, sizeof(*w.rows), by_pid);
	for (i = 0; i < w.nr; i++) {
		pids[i] = w.rows[i].pid;
		start_times[i] = w.rows[i].start_time;
	}
	if (auth_may_introspect_many(c, pids, start_times, w.nr, ok)) {
		client_send(c, kh_proto_error(KH_ERR_GENERIC, req->id,
			"cannot check which VMs uid %u may see",
			(unsigned int)client_peer(c)->cred.uid));
		goto out;
	}
	for (i = 0; i < w.nr; i++)
		if (ok[i])
			json_array_append(list, w.rows[i].json);
	client_send(c, kh_proto_return(list, req->id));
	list = NULL;
out:
	for (i = 0; i < w.nr; i++)
		json_decref(w.rows[i].json);
	json_decref(list);
	free(pids);
	free(start_times);
	free(w.rows);
	free(ok);
}

static int parse_layout(const char *name, enum kh_layout_source *layout)
{
	if (!strcmp(name, "auto"))
		*layout = KH_LAYOUT_AUTO;
	else if (!strcmp(name, "qmp"))
		*layout = KH_LAYOUT_QMP;
	else if (!strcmp(name, "maps"))
		*layout = KH_LAYOUT_MAPS;
	else
		return -EINVAL;
	return 0;
}

struct vm_entry *resolve_vm(struct client *c, const char *spec,
			    const json_t *id)
{
	unsigned int ambiguous;
	struct vm_entry *e = registry_find(spec, &ambiguous);

	if (!e && ambiguous > 1) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, id,
			"%u QEMU processes are called '%s'; name the VM by its pid",
			ambiguous, spec));
		return NULL;
	}
	if (!e) {
		client_send(c, kh_proto_error(KH_ERR_NO_VM, id,
			"no QEMU process on this host is VM '%s' (a pid, -name, -uuid, or libvirt domain name or UUID)",
			spec));
		return NULL;
	}
	if (!auth_may_introspect(c, e)) {
		client_send(c, kh_proto_error(KH_ERR_DENIED, id,
			"uid %u may not ptrace the QEMU process of VM '%s', so keyholed will not read it for you",
			(unsigned int)client_peer(c)->cred.uid, spec));
		vm_put(e);
		return NULL;
	}
	return e;
}

static void do_query(struct client *c, struct kh_proto_request *req)
{
	json_t *vm_arg = json_object_get(req->arguments, "vm");
	json_t *technique = json_object_get(req->arguments, "technique");
	json_t *layout = json_object_get(req->arguments, "layout");
	const char *spec = json_string_value(vm_arg);
	struct vm_entry *e;
	struct job *job;
	const char *key;
	json_t *value;

	if (!spec) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, req->id,
			"%s: 'vm' must name a VM (a QEMU pid, -name, -uuid, or libvirt domain name or UUID)",
			req->execute));
		return;
	}
	if (!strcmp(req->execute, "ram") && (technique || layout)) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, req->id,
			"ram: guest RAM is handed over as the file QEMU keeps it in, with no technique or layout to choose"));
		return;
	}
	if ((!strcmp(req->execute, "pause") ||
	     !strcmp(req->execute, "resume")) && (technique || layout)) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, req->id,
			"%s: a pause holds the VM as keyholed attached it, with no technique or layout to choose",
			req->execute));
		return;
	}
	if ((technique && !json_is_string(technique)) ||
	    (layout && !json_is_string(layout))) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, req->id,
			"%s: 'technique' and 'layout' are names (strings)",
			req->execute));
		return;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		client_send(c, kh_proto_error(KH_ERR_GENERIC, req->id,
					      "out of memory"));
		return;
	}
	if (layout && parse_layout(json_string_value(layout),
				   &job->cfg.layout)) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, req->id,
			"unknown layout source '%s' (auto, qmp, maps)",
			json_string_value(layout)));
		free(job);
		return;
	}
	e = resolve_vm(c, spec, req->id);
	if (!e) {
		free(job);
		return;
	}
	job->vm = e;
	job->command = strdup(req->execute);
	job->args = json_object();
	json_object_foreach(req->arguments, key, value)
		if (!is_broker_key(key))
			json_object_set(job->args, key, value);
	if (technique) {
		job->technique = strdup(json_string_value(technique));
		job->cfg.technique = job->technique;
	}
	if (req->id)
		job->id = json_deep_copy(req->id);
	client_get(c);
	job->client = c;
	if (!job->command) {
		client_send(c, kh_proto_error(KH_ERR_GENERIC, req->id,
					      "out of memory"));
		job_free(job);
		return;
	}
	client_job_started(c);
	workers_submit(job);
}

void commands_dispatch(struct client *c, struct kh_proto_request *req)
{
	if (!strcmp(req->execute, "list"))
		do_list(c, req);
	else if (!strcmp(req->execute, "watch"))
		subscriptions_watch(c, req);
	else if (!strcmp(req->execute, "unwatch"))
		subscriptions_unwatch(c, req);
	else if (kh_query_known(req->execute) ||
		 !strcmp(req->execute, "ram") ||
		 !strcmp(req->execute, "pause") ||
		 !strcmp(req->execute, "resume"))
		do_query(c, req);
	else
		client_send(c, kh_proto_error(KH_ERR_NO_COMMAND, req->id,
			"unknown command '%.64s' (list, watch, unwatch, ram, pause, resume, or a query: ps, vm, info, mem, lsmod, dmesg, mounts, ebpf, kallsyms, ifconfig, lsof, envars, creds, bash, elfs, libs, check, kprobes, ftrace, netfilter, netstat, maps, techniques, crawl)",
			req->execute));
}
