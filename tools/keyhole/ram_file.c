// SPDX-License-Identifier: GPL-2.0-only
/*
 * --broker --ram-file: keyholed hands over the file behind the VM's RAM
 * (its "ram" command, Documentation/broker-protocol.md), or for
 * anonymous RAM a keyhole.ko session of this process's own, and this
 * process maps it and reads the guest itself: keyholed decides who may,
 * and then stays out of the read path.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keyhole.h"

/* The reply's ranges and the descriptors that came with it. */
static int ram_of_reply(json_t *ret, struct kh_proto_conn *conn,
			struct kh_ram_file *ram, char *why, size_t why_size)
{
	json_t *ranges = json_object_get(ret, "ranges"), *r;
	const char *kind = json_string_value(json_object_get(ret, "kind"));
	int fds[KH_PROTO_MAX_FDS];
	unsigned int n;
	size_t i;

	memset(ram, 0, sizeof(*ram));
	ram->fd = ram->pidfd = -1;
	n = kh_proto_take_fds(conn, fds, KH_PROTO_MAX_FDS);
	if (n)
		ram->fd = fds[0];
	if (n > 1)
		ram->pidfd = fds[1];
	for (i = 2; i < n; i++)
		close(fds[i]);
	if (ram->fd < 0) {
		snprintf(why, why_size, "keyholed's ram reply came without the RAM file");
		return -1;
	}
	if (!json_is_array(ranges) ||
	    json_array_size(ranges) > KH_RAM_FILE_MAX_RANGES) {
		snprintf(why, why_size, "keyholed's ram reply has no valid ranges");
		return -1;
	}
	json_array_foreach(ranges, i, r) {
		ram->range[i].gpa = json_integer_value(json_object_get(r, "gpa"));
		ram->range[i].size = json_integer_value(json_object_get(r, "size"));
		ram->range[i].offset =
			json_integer_value(json_object_get(r, "offset"));
	}
	ram->nr = json_array_size(ranges);
	/* Before "kind" there was only the backend. */
	if (json_object_get(ret, "kind") && !kind) {
		snprintf(why, why_size, "keyholed's ram reply has a kind that is not a name");
		return -1;
	} else if (kind && !strcmp(kind, "keyhole.ko")) {
		ram->kind = KH_RAM_FILE_KMOD;
	} else if (kind && strcmp(kind, "backend")) {
		snprintf(why, why_size, "keyholed handed over RAM of a kind this keyhole does not know: %s",
			 kind);
		return -1;
	}
	ram->pid = json_integer_value(json_object_get(ret, "pid"));
	snprintf(ram->name, sizeof(ram->name), "%s",
		 json_string_value(json_object_get(ret, "name")) ?: "");
	return 0;
}

static void close_ram(struct kh_ram_file *ram)
{
	if (ram->fd >= 0)
		close(ram->fd);
	if (ram->pidfd >= 0)
		close(ram->pidfd);
}

int attach_ram_file(const struct options *opts, const char *spec,
		    struct kh_ctx **ctxp, struct kh_vm **vmp)
{
	struct kh_ctx_config ccfg = { 0 };
	struct kh_proto_conn conn;
	struct kh_ram_file ram = { .fd = -1, .pidfd = -1 };
	struct kh_err err = { 0 };
	json_t *reply = NULL, *error;
	char why[512], dir[4096];
	int ret = 1;

	if (kh_proto_connect(opts->broker, &conn, why, sizeof(why)))
		return report_error(opts, "%s", why);
	if (kh_proto_send(&conn, "ram", json_pack("{s:s, s:[s, s]}", "vm", spec,
						  "kinds", "backend",
						  "keyhole.ko"), 1,
			  why, sizeof(why)))
		goto fail;
	do {
		json_decref(reply);
		if (kh_proto_receive(&conn, &reply, why, sizeof(why)))
			goto fail;
	} while (json_integer_value(json_object_get(reply, "id")) != 1);
	error = json_object_get(reply, "error");
	if (error) {
		snprintf(why, sizeof(why), "%s",
			 json_string_value(json_object_get(error, "desc")) ?:
			 "keyholed refused to hand over the RAM file");
		goto fail;
	}
	if (ram_of_reply(json_object_get(reply, "return"), &conn, &ram, why,
			 sizeof(why)))
		goto fail;
	kh_proto_close(&conn);	/* from here on keyholed is not involved */
	ccfg.cache_dir = cache_dir(opts, dir, sizeof(dir));
	if (kh_ctx_new(&ccfg, ctxp, &err)) {
		snprintf(why, sizeof(why), "%s", err.msg);
		goto out;
	}
	if (kh_vm_open_ram_file(*ctxp, &ram, NULL, vmp, &err)) {
		kh_ctx_free(*ctxp);
		snprintf(why, sizeof(why), "%s", err.msg);
		goto out;
	}
	set_used_technique(ram.kind == KH_RAM_FILE_KMOD ? "kmap" : "memmap");
	ret = 0;
	goto out;
fail:
	kh_proto_close(&conn);
out:
	json_decref(reply);
	close_ram(&ram);
	return ret ? report_error(opts, "%s", why) : 0;
}
