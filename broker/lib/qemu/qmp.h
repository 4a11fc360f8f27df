/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small synchronous QMP client: connect with a timeout (a QMP monitor
 * serves one client at a time, so a busy socket must fail, not hang),
 * negotiate capabilities, run commands and HMP commands.
 */
#ifndef KH_QMP_H
#define KH_QMP_H

#include <jansson.h>
#include <sys/types.h>

#include "err.h"
#include "qemu/passthrough.h"

struct kh_qmp;

int kh_qmp_connect(const char *path, int timeout_ms, struct kh_qmp **qmpp,
		   struct kh_err *err);
void kh_qmp_close(struct kh_qmp *qmp);
/*
 * A monitor someone else holds (libvirt): commands go to pt->execute,
 * whose priv kh_qmp_close() releases; peer is the QEMU pid it serves.
 */
int kh_qmp_open_passthrough(const struct kh_passthrough *pt, pid_t peer,
			    struct kh_qmp **qmpp, struct kh_err *err);

/*
 * Journals every "stop" sent through qmp in directory dir as entry e
 * (its start_time read at each stop) until "cont" succeeds or qmp closes
 * (access/halt_journal.h). A stop that cannot be journalled is not sent.
 */
struct kh_halt_entry;
int kh_qmp_set_halt_journal(struct kh_qmp *qmp, const char *dir,
			    const struct kh_halt_entry *e, struct kh_err *err);

/* The pid of the QEMU process serving the socket (SO_PEERCRED). */
pid_t kh_qmp_peer_pid(const struct kh_qmp *qmp);

/* Runs cmd with args (may be NULL, stolen); *ret gets the "return" value. */
int kh_qmp_execute(struct kh_qmp *qmp, const char *cmd, json_t *args,
		   json_t **ret, struct kh_err *err);

/*
 * The same, passing fd to QEMU along with the command (for getfd and
 * add-fd): so QEMU writes where keyhole says without a path of its own.
 * On a socket it travels as SCM_RIGHTS with the command's first byte.
 */
int kh_qmp_execute_fd(struct kh_qmp *qmp, const char *cmd, json_t *args,
		      int fd, json_t **ret, struct kh_err *err);
/* Runs an HMP command line through human-monitor-command; *out is malloc'd. */
int kh_qmp_hmp(struct kh_qmp *qmp, const char *cmdline, char **out,
	       struct kh_err *err);

#endif
