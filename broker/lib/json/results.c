// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * json/: every result as JSON, so that every program that prints one (the
 * keyhole command, a daemon) prints the same document, key for key: one
 * encoder per result type (this file), the crawl record (crawl.c), and
 * the text forms of fields that the encoders share with text tables
 * (format.c, public as kh_format_*). The folder may call only the public
 * result types of libkeyhole.h and jansson, never the engine's insides;
 * nothing in the library calls it, only users of the public API.
 *
 * Text from guest memory goes through kh_printable() or its like before
 * it reaches jansson: a string that is not valid UTF-8 would make the
 * whole document fail.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "json/format.h"

json_t *kh_json_argv(const char *cmdline, size_t len)
{
	json_t *argv = json_array();
	char *arg = malloc(len + 1);
	size_t i, n = 0;

	if (!argv || !arg) {
		json_decref(argv);
		free(arg);
		return NULL;
	}
	for (i = 0; i <= len; i++) {
		char c = i < len ? cmdline[i] : '\0';

		if (c) {
			arg[n++] = c >= 0x20 && c < 0x7f ? c : '?';
			continue;
		}
		if (n || i < len) {
			arg[n] = '\0';
			json_array_append_new(argv, json_string(arg));
		}
		n = 0;
	}
	free(arg);
	return argv;
}

/* A wall-clock time as ISO 8601 in UTC: "2026-12-05T19:46:11Z". */
static json_t *utc_json(int64_t ns)
{
	time_t secs = ns / 1000000000;
	char buf[32];
	struct tm tm;

	if (!gmtime_r(&secs, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

/* What KH_TASKS_DETAILS and KH_TASKS_CMDLINE add to a task's object. */
static int task_details_json(const struct kh_task_list *list,
			     const struct kh_task *t, json_t *obj)
{
	char tty[KH_TTY_LEN], addr[24];
	int bad = 0;

	if (list->flags & KH_TASKS_DETAILS) {
		kh_printable(t->tty, KH_TTY_LEN, tty);
		snprintf(addr, sizeof(addr), "0x%" PRIx64, t->addr);
		/* A technique that lists from /proc knows no address. */
		bad |= json_object_set_new(obj, "addr", t->addr ?
					   json_string(addr) : json_null());
		bad |= json_object_set_new(obj, "euid",
					   json_integer(t->euid));
		bad |= json_object_set_new(obj, "egid",
					   json_integer(t->egid));
		bad |= json_object_set_new(obj, "start_utc",
			list->boot_time > 0 &&
			t->start_time <= (uint64_t)(INT64_MAX - list->boot_time) ?
			utc_json(list->boot_time + (int64_t)t->start_time) :
			json_null());
		bad |= json_object_set_new(obj, "cpu_time",
					   json_real(t->cpu_time / 1e9));
		bad |= json_object_set_new(obj, "tty", tty[0] ?
					   json_string(tty) : json_null());
	}
	if (list->flags & KH_TASKS_CMDLINE)
		bad |= json_object_set_new(obj, "cmdline", t->cmdline ?
			kh_json_argv(t->cmdline, t->cmdline_len) :
			json_null());
	return bad;
}

json_t *kh_json_tasks(const struct kh_task_list *list)
{
	json_t *array = json_array();
	char comm[KH_COMM_LEN];
	unsigned int i;

	for (i = 0; array && i < list->nr; i++) {
		const struct kh_task *t = &list->tasks[i];
		char state[2] = { t->state, '\0' };
		json_t *obj;

		kh_printable(t->comm, KH_COMM_LEN, comm);
		obj = json_pack("{s:i, s:i, s:i, s:I, s:I, s:s, s:s, s:f, s:i}",
				"pid", t->pid, "tgid", t->tgid,
				"ppid", t->ppid, "uid", (json_int_t)t->uid,
				"gid", (json_int_t)t->gid,
				"state", state, "comm", comm,
				"start_time", t->start_time / 1e9,
				"threads", (int)t->nr_threads);
		if (obj && task_details_json(list, t, obj)) {
			json_decref(obj);
			obj = NULL;
		}
		/* json_array_append_new() takes obj, even when it fails. */
		if (!obj || json_array_append_new(array, obj)) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

json_t *kh_json_os_info(const struct kh_os_info *info)
{
	char sysname[65], nodename[65], release[65], version[65];
	char machine[65], domainname[65];

	kh_printable(info->sysname, sizeof(sysname), sysname);
	kh_printable(info->nodename, sizeof(nodename), nodename);
	kh_printable(info->release, sizeof(release), release);
	kh_printable(info->version, sizeof(version), version);
	kh_printable(info->machine, sizeof(machine), machine);
	kh_printable(info->domainname, sizeof(domainname), domainname);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:I, s:I, s:[f, f, f]}",
			 "sysname", sysname, "nodename", nodename,
			 "release", release, "version", version,
			 "machine", machine, "domainname", domainname,
			 "uptime_s", info->uptime,
			 "cpus_online", (json_int_t)info->cpus_online,
			 "cpus_possible", (json_int_t)info->cpus_possible,
			 "loadavg", info->loadavg[0], info->loadavg[1],
			 info->loadavg[2]);
}

json_t *kh_json_mem_info(const struct kh_mem_info *mem)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
			 "total_kb", (json_int_t)mem->total,
			 "free_kb", (json_int_t)mem->free,
			 "available_kb", (json_int_t)mem->available,
			 "buffers_kb", (json_int_t)mem->buffers,
			 "cached_kb", (json_int_t)mem->cached,
			 "shmem_kb", (json_int_t)mem->shmem);
}

/* "a,b" as ["a", "b"], each name made printable. */
static json_t *used_by_json(const struct kh_module *m)
{
	char used[sizeof(m->used_by)], *name, *save = NULL;
	json_t *names = json_array();

	kh_printable(m->used_by, sizeof(m->used_by), used);
	for (name = strtok_r(used, ",", &save); name;
	     name = strtok_r(NULL, ",", &save))
		json_array_append_new(names, json_string(name));
	return names;
}

json_t *kh_json_modules(const struct kh_module_list *list)
{
	char name[sizeof(list->modules->name)];
	char state[sizeof(list->modules->state)];
	json_t *array = json_array();
	char addr[24];
	unsigned int i;

	for (i = 0; i < list->nr; i++) {
		const struct kh_module *m = &list->modules[i];

		kh_printable(m->name, sizeof(m->name), name);
		kh_printable(m->state, sizeof(m->state), state);
		snprintf(addr, sizeof(addr), "0x%" PRIx64, m->addr);
		json_array_append_new(array,
			json_pack("{s:s, s:s, s:I, s:i, s:o, s:s}",
				  "addr", addr, "name", name,
				  "size_bytes", (json_int_t)m->size,
				  "refcount", m->refcount,
				  "used_by", used_by_json(m),
				  "state", state));
	}
	return array;
}

/* "a.b.c.d/p" or an IPv6 address with "/ppp". */
#define ADDR_STR_LEN (INET6_ADDRSTRLEN + 5)

/* IF_OPER_* as ip names them. */
static const char *operstate_name(unsigned int state)
{
	static const char *const names[] = {
		"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING",
		"DORMANT", "UP",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

/* ARPHRD_* as ip's link/TYPE names it; another as its number. */
static const char *link_type_name(unsigned int type, char *buf)
{
	switch (type) {
	case 1: return "ether";
	case 772: return "loopback";
	case 776: return "sit";
	case 768: return "ipip";
	case 778: return "gre";
	case 65534: return "none";
	}
	snprintf(buf, 8, "%u", type);
	return buf;
}

json_t *kh_json_ifaces(const struct kh_iface_list *list)
{
	char type[8];
	char name[sizeof(list->ifaces->name)];
	/* Every MAC byte as "xx:". */
	char mac[sizeof(list->ifaces->mac) * 3];
	char addr[ADDR_STR_LEN];
	json_t *array = json_array();
	unsigned int i, j;

	for (i = 0; i < list->nr; i++) {
		const struct kh_iface *ifc = &list->ifaces[i];
		json_t *addrs = json_array();

		for (j = 0; j < ifc->nr_addrs; j++) {
			const struct kh_ifaddr *a = &ifc->addrs[j];
			char *slash;

			kh_format_ifaddr(a, addr, sizeof(addr));
			slash = strchr(addr, '/');
			if (slash)
				*slash = '\0';
			json_array_append_new(addrs,
				json_pack("{s:s, s:s, s:I}",
					  "family", a->family == AF_INET ?
						    "inet" : "inet6",
					  "addr", addr,
					  "prefixlen", (json_int_t)a->prefixlen));
		}
		json_t *obj;

		kh_printable(ifc->name, sizeof(name), name);
		kh_format_mac(ifc->mac, ifc->mac_len, mac, sizeof(mac));
		obj = json_pack("{s:s, s:i, s:I, s:I, s:s, s:I, s:o, s:I, s:s, s:s, s:I}",
				  "name", name, "index", ifc->index,
				  "flags", (json_int_t)ifc->flags,
				  "mtu", (json_int_t)ifc->mtu, "mac", mac,
				  "mac_len", (json_int_t)ifc->mac_len,
				  "addrs", addrs,
				  "link_flags", (json_int_t)ifc->link_flags,
				  "operstate", operstate_name(ifc->operstate),
				  "link_type", link_type_name(ifc->type, type),
				  "netns", (json_int_t)ifc->netns);
		/* ip -s -j's shape; only where the counters were read. */
		if (obj && ifc->stats)
			json_object_set_new(obj, "stats64", json_pack(
				"{s:{s:I, s:I}, s:{s:I, s:I}}",
				"rx", "bytes", (json_int_t)ifc->rx_bytes,
				"packets", (json_int_t)ifc->rx_packets,
				"tx", "bytes", (json_int_t)ifc->tx_bytes,
				"packets", (json_int_t)ifc->tx_packets));
		json_array_append_new(array, obj);
	}
	return array;
}

/* An address family by name, as ip and ss name them; NULL: unknown. */
static const char *family_name(unsigned int family)
{
	switch (family) {
	case AF_UNIX: return "unix";
	case AF_INET: return "inet";
	case AF_INET6: return "inet6";
	case AF_NETLINK: return "netlink";
	case AF_PACKET: return "packet";
	}
	return NULL;
}

/* A kernel dev_t (MAJOR << 20 | MINOR) as "MAJOR:MINOR". */
static json_t *dev_json(uint32_t dev)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%u:%u", dev >> 20, dev & 0xfffff);
	return json_string(buf);
}

/* What kh_file_details() and a detailed task list add to a file. */
static int file_details_json(const struct kh_file_list *list,
			     const struct kh_task_list *tasks,
			     const struct kh_file *f, json_t *obj)
{
	const struct kh_task *task = kh_task_of(tasks, f->pid);
	char mode[2] = { f->mode, '\0' };
	const char *family = family_name(f->family);
	int bad = 0;

	if (tasks && (tasks->flags & KH_TASKS_DETAILS))
		bad |= json_object_set_new(obj, "euid", task ?
					   json_integer(task->euid) :
					   json_null());
	if (!list->details)
		return bad;
	bad |= json_object_set_new(obj, "mode", mode[0] != ' ' ?
				   json_string(mode) : json_null());
	bad |= json_object_set_new(obj, "offset", json_integer(
		f->pos <= INT64_MAX ? (json_int_t)f->pos : -1));
	bad |= json_object_set_new(obj, "size_bytes", json_integer(
		f->size <= INT64_MAX ? (json_int_t)f->size : -1));
	bad |= json_object_set_new(obj, "device", dev_json(f->dev));
	bad |= json_object_set_new(obj, "rdev", dev_json(f->rdev));
	bad |= json_object_set_new(obj, "family", family ?
				   json_string(family) : f->sock ?
				   json_integer(f->family) : json_null());
	return bad;
}

json_t *kh_json_files(const struct kh_file_list *list,
		      const struct kh_task_list *tasks)
{
	char comm[KH_COMM_LEN], path[sizeof(list->files->path)];
	char addr[32], sock[32];
	json_t *array = json_array();
	unsigned int i;

	for (i = 0; array && i < list->nr; i++) {
		const struct kh_file *f = &list->files[i];
		json_t *obj;

		kh_format_comm(tasks, f->pid, comm);
		kh_printable(f->path, sizeof(f->path), path);
		snprintf(addr, sizeof(addr), "0x%" PRIx64, f->addr);
		snprintf(sock, sizeof(sock), "0x%" PRIx64, f->sock);
		obj = json_pack("{s:s, s:i, s:i, s:i, s:s, s:I, s:s, s:s, s:s}",
				"comm", comm, "pid", f->pid, "tid", f->tid,
				"fd", f->fd,
				"type", f->type,
				"inode", (json_int_t)f->inode, "path", path,
				"addr", addr, "sock", sock);
		if (obj && file_details_json(list, tasks, f, obj)) {
			json_decref(obj);
			obj = NULL;
		}
		if (!obj || json_array_append_new(array, obj)) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

json_t *kh_json_conns(const struct kh_conn_list *list)
{
	char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN], sock[32];
	char path[sizeof(list->conns->path) + 1];
	json_t *array = json_array(), *obj;
	unsigned int i, j;

	for (i = 0; array && i < list->nr; i++) {
		const struct kh_conn *c = &list->conns[i];
		json_t *pids = json_array();

		kh_conn_addr(c, c->local, local, sizeof(local));
		kh_conn_addr(c, c->remote, remote, sizeof(remote));
		kh_conn_path(c, path, sizeof(path));
		snprintf(sock, sizeof(sock), "0x%" PRIx64, c->sock);
		for (j = 0; j < c->nr_pids && j < KH_CONN_PIDS; j++)
			json_array_append_new(pids, json_integer(c->pids[j]));
		obj = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:I, s:s, s:s, s:o, s:s, s:s}",
				"proto", c->proto, "local", local,
				"remote", remote, "lport", c->lport,
				"rport", c->rport, "state", c->state,
				"inode", (json_int_t)c->inode, "path", path,
				"sock", sock, "pids", pids, "type", c->type,
				"found", c->found[0] ? c->found : "fd");
		if (obj && list->queues &&
		    (json_object_set_new(obj, "recv_q",
					 json_integer(c->recv_q)) ||
		     json_object_set_new(obj, "send_q",
					 json_integer(c->send_q)))) {
			json_decref(obj);
			obj = NULL;
		}
		if (!obj || json_array_append_new(array, obj)) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

json_t *kh_json_vmas(const struct kh_vma_list *list)
{
	char start[24], end[24], path[sizeof(list->vmas->path)];
	json_t *array = json_array(), *obj;
	unsigned int i;

	for (i = 0; array && i < list->nr; i++) {
		const struct kh_vma *v = &list->vmas[i];
		json_t *name = json_string(v->path);

		/* Not UTF-8: the printable form, as the text output has it. */
		if (!name) {
			kh_printable(v->path, sizeof(path), path);
			name = json_string(path);
		}
		snprintf(start, sizeof(start), "0x%" PRIx64, v->start);
		snprintf(end, sizeof(end), "0x%" PRIx64, v->end);
		obj = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}",
				"start", start, "end", end, "perms", v->perms,
				"offset", (json_int_t)v->offset,
				"inode", (json_int_t)v->inode, "path", name);
		/* The device column: 0:0 for what maps no file, as maps. */
		if (obj && list->devices &&
		    json_object_set_new(obj, "device", dev_json(v->dev))) {
			json_decref(obj);
			obj = NULL;
		}
		if (!obj || json_array_append_new(array, obj)) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

static json_t *hex(uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
	return json_string(buf);
}

json_t *kh_json_vm_info(const struct kh_vm_info *info)
{
	json_t *ranges = json_array();
	unsigned int i;

	for (i = 0; i < info->nr_ranges; i++)
		json_array_append_new(ranges, json_pack("{s:o, s:I, s:o}",
			"gpa", hex(info->ranges[i].gpa),
			"size_bytes", (json_int_t)info->ranges[i].size,
			"hva", hex(info->ranges[i].hva)));
	return json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:b, s:f}",
			 "pid", (int)info->pid, "name", info->name,
			 "technique", info->technique,
			 "layout_source", info->layout_source,
			 "ram", ranges,
			 "kernel_release", info->kernel_release,
			 "kernel_banner", info->kernel_banner,
			 "kernel_phys", hex(info->kernel_phys),
			 "kernel_virt", hex(info->kernel_virt),
			 "kaslr_slide", hex(info->kaslr_slide),
			 "page_offset_base", hex(info->page_offset_base),
			 "paging_levels", (int)info->paging_levels,
			 "profile_cached", info->profile_from_cache,
			 "attach_ms", info->attach_ms);
}

json_t *kh_json_techniques(const struct kh_technique *list, unsigned int nr)
{
	json_t *array = json_array();
	unsigned int i, p;

	for (i = 0; i < nr; i++) {
		json_t *t = json_pack("{s:s, s:s, s:s}", "name", list[i].name,
				      "class", list[i].klass,
				      "description", list[i].description);

		for (p = 0; p < kh_nr_technique_props; p++)
			json_object_set_new(t, kh_technique_props[p].name,
				json_boolean(list[i].props &
					     kh_technique_props[p].bit));
		json_object_set_new(t, "available",
				    json_boolean(list[i].available));
		if (!list[i].available)
			json_object_set_new(t, "reason",
					    json_string(list[i].reason));
		json_array_append_new(array, t);
	}
	return array;
}

/* A string a process chose: kept if valid UTF-8, else its printable form. */
static json_t *chosen_string(const char *s, size_t size)
{
	char shown[256];
	json_t *str = json_string(s);

	if (str)
		return str;
	kh_printable(s, size < sizeof(shown) ? size : sizeof(shown), shown);
	return json_string(shown);
}

json_t *kh_json_qemu_procs(const struct kh_qemu_proc *list, unsigned int nr)
{
	json_t *array = json_array();
	unsigned int i;

	for (i = 0; i < nr; i++) {
		const struct kh_qemu_proc *p = &list[i];
		json_t *libvirt = json_null();

		if (p->libvirt_name[0])
			libvirt = json_pack("{s:o, s:o, s:s}",
					    "name", chosen_string(p->libvirt_name,
						sizeof(p->libvirt_name)),
					    "uuid", chosen_string(p->libvirt_uuid,
						sizeof(p->libvirt_uuid)),
					    "uri", p->libvirt_uri);
		json_array_append_new(array,
			json_pack("{s:i, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:s, s:o}",
				  "pid", (int)p->pid,
				  "start_time", (json_int_t)p->start_time,
				  "uid", (json_int_t)p->uid,
				  "gid", (json_int_t)p->gid,
				  "name", chosen_string(p->name, sizeof(p->name)),
				  "uuid", chosen_string(p->uuid, sizeof(p->uuid)),
				  "libvirt", libvirt,
				  "ram_bytes", (json_int_t)p->ram_bytes,
				  "ram_backend", p->ram_backend,
				  "qmp", chosen_string(p->qmp_path,
						       sizeof(p->qmp_path))));
	}
	return array;
}

int kh_json_result(json_t *doc, const struct kh_result *result)
{
	unsigned int flags = result ? result->flags : 0;
	json_t *problems = json_array();

	if (!json_is_object(doc) || !problems) {
		json_decref(problems);
		return -1;
	}
	/* The problem names guest strings: printable, whatever they were. */
	if ((flags && json_array_append_new(problems,
			chosen_string(result->problem,
				      sizeof(result->problem)))) ||
	    json_object_set_new(doc, "incomplete",
				json_boolean(flags & KH_RESULT_INCOMPLETE))) {
		json_decref(problems);
		return -1;
	}
	/* Takes problems' reference, also when it fails. */
	return json_object_set_new(doc, "problems", problems) ? -1 : 0;
}

json_t *kh_json_listing(const char *key, json_t *list,
			const struct kh_result *result)
{
	json_t *doc;

	if (!list)
		return NULL;
	doc = json_object();
	if (!doc) {
		json_decref(list);
		return NULL;
	}
	/* json_object_set_new() takes list's reference, also when it fails. */
	if (json_object_set_new(doc, key, list) ||
	    kh_json_result(doc, result)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
