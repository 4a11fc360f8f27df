// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole --broker list: keyholed's own list (its registry of VMs, those
 * the caller could ptrace), read back into the records kh_qemu_discover()
 * gives a direct list, so that both print through the same code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"

static void copy_string(char *dst, size_t size, json_t *src)
{
	snprintf(dst, size, "%s", json_string_value(src) ?: "");
}

static void proc_from_json(json_t *vm, struct kh_qemu_proc *p)
{
	json_t *lv = json_object_get(vm, "libvirt");

	memset(p, 0, sizeof(*p));
	p->pid = json_integer_value(json_object_get(vm, "pid"));
	p->start_time = json_integer_value(json_object_get(vm, "start_time"));
	p->uid = json_integer_value(json_object_get(vm, "uid"));
	p->gid = json_integer_value(json_object_get(vm, "gid"));
	copy_string(p->name, sizeof(p->name), json_object_get(vm, "name"));
	copy_string(p->uuid, sizeof(p->uuid), json_object_get(vm, "uuid"));
	copy_string(p->libvirt_name, sizeof(p->libvirt_name),
		    json_object_get(lv, "name"));
	copy_string(p->libvirt_uuid, sizeof(p->libvirt_uuid),
		    json_object_get(lv, "uuid"));
	copy_string(p->libvirt_uri, sizeof(p->libvirt_uri),
		    json_object_get(lv, "uri"));
	p->ram_bytes = json_integer_value(json_object_get(vm, "ram_bytes"));
	copy_string(p->ram_backend, sizeof(p->ram_backend),
		    json_object_get(vm, "ram_backend"));
	copy_string(p->qmp_path, sizeof(p->qmp_path),
		    json_object_get(vm, "qmp"));
}

int broker_list(const struct options *opts, struct kh_qemu_proc **listp,
		unsigned int *nrp)
{
	struct kh_proto_conn conn;
	json_t *reply = NULL, *vms, *error;
	struct kh_qemu_proc *list;
	char why[512];
	size_t i;
	int ret;

	if (kh_proto_connect(opts->broker, &conn, why, sizeof(why)))
		return report_error(opts, "%s", why);
	ret = kh_proto_send(&conn, "list", json_object(), 1, why, sizeof(why));
	while (!ret) {
		ret = kh_proto_receive(&conn, &reply, why, sizeof(why));
		if (ret || json_integer_value(json_object_get(reply, "id")) == 1)
			break;
		json_decref(reply);	/* an event: not ours */
		reply = NULL;
	}
	kh_proto_close(&conn);
	if (ret)
		return report_error(opts, "%s", why);
	error = json_object_get(reply, "error");
	vms = json_object_get(reply, "return");
	if (error || !json_is_array(vms)) {
		ret = report_error(opts, "%s", json_string_value(json_object_get(
				error, "desc")) ?: "keyholed's list reply has no list");
		json_decref(reply);
		return ret;
	}
	list = calloc(json_array_size(vms) + 1, sizeof(*list));
	if (!list) {
		json_decref(reply);
		return report_error(opts, "out of memory");
	}
	for (i = 0; i < json_array_size(vms); i++)
		proc_from_json(json_array_get(vms, i), &list[i]);
	*listp = list;
	*nrp = i;
	json_decref(reply);
	return 0;
}
