// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A gdbstub started through QEMU's monitor; see access/gdbstub_monitor.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access/gdbstub_monitor.h"
#include "qemu/qmp.h"

#define QMP_TIMEOUT_MS	5000
/* One id for every keyhole: a second one finds it taken (EBUSY). */
#define STUB_ID		"keyhole-gdbstub"

int kh_gdbstub_monitor_usable(const struct kh_access *acc)
{
	const struct kh_target *t = acc->target;

	return t && !t->gdb_path[0] && !t->gdb_owned &&
	       (t->qmp_path[0] || t->libvirt_name[0]);
}

/* HMP `gdbserver DEV`; QEMU says how it went only in its text. */
static int gdbserver(struct kh_qmp *qmp, const char *dev, const char *ok,
		     struct kh_err *err)
{
	char cmd[64], *out = NULL;
	int r;

	snprintf(cmd, sizeof(cmd), "gdbserver %s", dev);
	r = kh_qmp_hmp(qmp, cmd, &out, err);
	if (!r && !strstr(out, ok))
		r = kh_err_set(err, EREMOTEIO, "QEMU answered HMP '%s' with '%.128s'",
			       cmd, out);
	free(out);
	return r;
}

static int add_chardev(struct kh_qmp *qmp, struct kh_err *err)
{
	json_t *args;
	int r;

	args = json_pack("{s:s, s:{s:s, s:{s:{s:s, s:{s:s}}, s:b}}}",
			 "id", STUB_ID, "backend", "type", "socket", "data",
			 "addr", "type", "fd", "data", "str", STUB_ID,
			 "server", 0);
	if (!args)
		return kh_err_set(err, ENOMEM, "out of memory");
	r = kh_qmp_execute(qmp, "chardev-add", args, NULL, err);
	if (r && err && strstr(err->msg, "already exists"))
		r = kh_err_set(err, EBUSY,
			       "another keyhole's gdbstub serves this QEMU (its chardev %s exists; if no keyhole runs, HMP 'gdbserver none' removes it)",
			       STUB_ID);
	return r;
}

int kh_gdbstub_monitor_start(struct kh_access *acc, int *was_running,
			     struct kh_err *err)
{
	struct kh_qmp *qmp;
	int sv[2], r, borrowed;

	r = kh_access_qmp_get(acc, QMP_TIMEOUT_MS, &qmp, &borrowed, err);
	if (r)
		return r;
	/*
	 * QEMU stops the guest as the stub takes the connection, before the
	 * stub is ready to say so: no stop reply tells us, query-status does.
	 */
	r = kh_access_qmp_running(qmp, was_running, NULL, 0, err);
	if (r)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		r = kh_err_set(err, errno, "socketpair: %s", strerror(errno));
		goto out;
	}
	r = kh_qmp_execute_fd(qmp, "getfd",
			      json_pack("{s:s}", "fdname", STUB_ID), sv[1],
			      NULL, err);
	close(sv[1]);
	if (r)
		goto fail;
	/* The chardev takes the fd QEMU got; if it failed, QEMU keeps it. */
	r = add_chardev(qmp, err);
	if (r) {
		kh_qmp_execute(qmp, "closefd",
			       json_pack("{s:s}", "fdname", STUB_ID), NULL,
			       NULL);
		goto fail;
	}
	r = gdbserver(qmp, "chardev:" STUB_ID, "Waiting for gdb connection",
		      err);
	if (r) {
		/*
		 * It may have taken effect all the same (late, or in other
		 * words): a stub then holds the chardev and has stopped
		 * the guest. Undo all of it: stub, chardev, halt.
		 */
		gdbserver(qmp, "none", "", NULL);
		kh_qmp_execute(qmp, "chardev-remove",
			       json_pack("{s:s}", "id", STUB_ID), NULL, NULL);
		if (*was_running)
			kh_qmp_execute(qmp, "cont", NULL, NULL, NULL);
		goto fail;
	}
	kh_access_qmp_put(acc, qmp, borrowed);
	return sv[0];
fail:
	close(sv[0]);
out:
	kh_access_qmp_put(acc, qmp, borrowed);
	return kh_err_prefix(err, "starting a gdbstub through the monitor");
}

int kh_gdbstub_monitor_stop(struct kh_access *acc, struct kh_err *err)
{
	struct kh_qmp *qmp;
	int r, borrowed;

	r = kh_access_qmp_get(acc, QMP_TIMEOUT_MS, &qmp, &borrowed, err);
	if (r)
		return r;
	r = gdbserver(qmp, "none", "Disabled gdbserver", err);
	kh_access_qmp_put(acc, qmp, borrowed);
	return r ? kh_err_prefix(err, "stopping keyhole's gdbstub") : 0;
}
