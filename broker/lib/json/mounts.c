// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mounts as JSON (kh_json_mounts): the guest's names (device, path,
 * file system type) made printable, the options as keyhole made them.
 */
#include "json/format.h"

static json_t *mount_json(const struct kh_mount *m)
{
	char dev[sizeof(m->devname)], path[sizeof(m->path)];
	char type[sizeof(m->fstype)];

	kh_printable(m->devname, sizeof(dev), dev);
	kh_printable(m->path, sizeof(path), path);
	kh_printable(m->fstype, sizeof(type), type);
	return json_pack("{s:I, s:i, s:i, s:s, s:s, s:s, s:s}",
			 "ns", (json_int_t)m->ns, "id", (int)m->id,
			 "parent_id", (int)m->parent_id, "devname", dev,
			 "path", path, "fstype", type, "options", m->options);
}

json_t *kh_json_mounts(const struct kh_mount_list *list)
{
	json_t *array = json_array();
	unsigned int i;

	for (i = 0; array && i < list->nr; i++)
		if (json_array_append_new(array, mount_json(&list->mounts[i]))) {
			json_decref(array);
			return NULL;
		}
	return array;
}
