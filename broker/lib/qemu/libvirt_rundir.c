// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What libvirt's run-state directory says of a QEMU process; see
 * qemu/libvirt_rundir.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/libvirt_rundir.h"

/* A status XML holds QEMU's capabilities before the domain: room. */
#define MAX_STATUS_XML	(1 << 20)

/* The instance's file for domain name with suffix (".pid", ".xml"). */
static int rundir_open(const char *name, const char *suffix,
		       enum kh_libvirt_instance instance, uid_t session_uid)
{
	char path[512];
	struct stat st;
	uid_t owner;
	int fd;

	/* libvirt refuses '/' in names; a -name with one is no domain. */
	if (!name[0] || strchr(name, '/'))
		return -ENOENT;
	if (instance == KH_LIBVIRT_SYSTEM) {
		owner = 0;
		snprintf(path, sizeof(path), "/run/libvirt/qemu/%s%s", name,
			 suffix);
	} else {
		owner = session_uid;
		snprintf(path, sizeof(path),
			 "/run/user/%u/libvirt/qemu/run/%s%s",
			 (unsigned int)session_uid, name, suffix);
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != owner ||
	    (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		got += n;
	}
	return got;
}

int kh_libvirt_pid_file(const char *name, pid_t pid, uid_t session_uid)
{
	static const enum kh_libvirt_instance order[] = {
		KH_LIBVIRT_SYSTEM, KH_LIBVIRT_SESSION,
	};
	char buf[32];
	unsigned int i;
	ssize_t n;
	int fd;

	for (i = 0; i < 2; i++) {
		fd = rundir_open(name, ".pid", order[i], session_uid);
		if (fd < 0)
			continue;
		n = read_all(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		return strtol(buf, NULL, 10) == pid ? (int)order[i] : -EPERM;
	}
	return KH_LIBVIRT_NONE;
}

/* The value of attribute attr (" pid=") in the tag from tag to '>'. */
static const char *tag_attr(const char *tag, const char *end,
			    const char *attr, char *quote)
{
	const char *close = memchr(tag, '>', end - tag);
	const char *p;

	if (!close)
		return NULL;
	p = memmem(tag, close - tag, attr, strlen(attr));
	if (!p)
		return NULL;
	p += strlen(attr);
	if (p >= close || (*p != '\'' && *p != '"'))
		return NULL;
	*quote = *p;
	return p + 1;
}

int kh_libvirt_parse_status(const char *xml, size_t len, pid_t *pid,
			    char uuid[37])
{
	const char *end = xml + len, *p, *val;
	char quote;
	long v = 0;
	int i;

	p = memmem(xml, len, "<domstatus", 10);
	if (!p)
		return -EINVAL;
	val = tag_attr(p, end, " pid=", &quote);
	if (!val)
		return -EINVAL;
	for (p = val; p < end && isdigit((unsigned char)*p) && v < 1 << 30; p++)
		v = v * 10 + (*p - '0');
	if (p == val || p >= end || *p != quote || v <= 0 || v >= 1 << 30)
		return -EINVAL;
	/* The domain's own <uuid>, not one of the private data before it. */
	p = memmem(p, end - p, "<domain ", 8);
	if (!p)
		return -EINVAL;
	p = memmem(p, end - p, "<uuid>", 6);
	if (!p || end - p < 6 + 36 + 7 || memcmp(p + 6 + 36, "</uuid>", 7))
		return -EINVAL;
	p += 6;
	for (i = 0; i < 36; i++)
		if (!(i == 8 || i == 13 || i == 18 || i == 23 ?
		      p[i] == '-' : isxdigit((unsigned char)p[i])))
			return -EINVAL;
	memcpy(uuid, p, 36);
	uuid[36] = '\0';
	*pid = v;
	return 0;
}

int kh_libvirt_status_uuid(const char *name, pid_t pid,
			   enum kh_libvirt_instance instance,
			   uid_t session_uid, char uuid[37])
{
	char *xml;
	pid_t owner_pid;
	ssize_t n;
	int fd, ret;

	fd = rundir_open(name, ".xml", instance, session_uid);
	if (fd < 0)
		return fd;
	xml = malloc(MAX_STATUS_XML);
	if (!xml) {
		close(fd);
		return -ENOMEM;
	}
	n = read_all(fd, xml, MAX_STATUS_XML);
	close(fd);
	ret = n < 0 ? (int)n :
	      kh_libvirt_parse_status(xml, n, &owner_pid, uuid);
	if (!ret && owner_pid != pid)
		ret = -ESTALE;
	free(xml);
	return ret;
}
