/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What libvirt's run-state directory says of a QEMU process: for each
 * domain it starts, libvirt writes NAME.pid (QEMU's pid) and NAME.xml
 * (the domain's live status, <domstatus pid='...'> around its <domain>)
 * into /run/libvirt/qemu for the system instance (root's files) and into
 * /run/user/UID/libvirt/qemu/run for user UID's session (UID's files).
 * They are plain files: no libvirt library is needed to read them, so
 * this is built with or without libvirt.
 *
 * A file is believed only if it is a regular file (not followed through
 * a symlink) of the directory's owner that nobody else may write.
 */
#ifndef KH_LIBVIRT_RUNDIR_H
#define KH_LIBVIRT_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

enum kh_libvirt_instance {
	KH_LIBVIRT_NONE = 0,
	KH_LIBVIRT_SYSTEM,	/* qemu:///system */
	KH_LIBVIRT_SESSION,	/* qemu:///session of the session's user */
};

/*
 * Whether libvirt runs pid as its domain name: KH_LIBVIRT_SYSTEM or
 * KH_LIBVIRT_SESSION (of user session_uid) when that instance's pid file
 * for name holds pid, KH_LIBVIRT_NONE when there is no such pid file,
 * -EPERM when it holds another pid (the process claims a domain it is
 * not). The system instance is asked first.
 */
int kh_libvirt_pid_file(const char *name, pid_t pid, uid_t session_uid);

/*
 * The UUID of domain name from the instance's status XML into uuid, if
 * the file can be read and its <domstatus pid=...> is pid: 0, else
 * -errno (-EACCES for a caller that may not read it, as non-root for
 * the system instance, -ESTALE for another pid).
 */
int kh_libvirt_status_uuid(const char *name, pid_t pid,
			   enum kh_libvirt_instance instance,
			   uid_t session_uid, char uuid[37]);

/* Pure: the pid and the domain's UUID of a status XML text. */
int kh_libvirt_parse_status(const char *xml, size_t len, pid_t *pid,
			    char uuid[37]);

#endif /* KH_LIBVIRT_RUNDIR_H */
