// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: libvirt's status XML yields its pid and the domain's own UUID
 * (not one that comes before <domain>), and XML that is cut short,
 * misquoted or holds no UUID of 36 characters yields nothing; libvirt's
 * pid files are believed only as regular files of their instance's
 * owner that nobody else may write (real files, in a session directory
 * of a made-up user).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "qemu/libvirt_rundir.h"

#define UUID "6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b"

static const char status_xml[] =
	"<domstatus state='running' reason='booted' pid='4242'>\n"
	"  <taint flag='custom-monitor'/>\n"
	"  <monitor path='/var/lib/libvirt/qemu/domain-3-kh/monitor.sock' type='unix'/>\n"
	"  <uuid>00000000-0000-0000-0000-000000000000</uuid>\n"
	"  <qemuCaps><flag name='kvm'/></qemuCaps>\n"
	"  <domain type='kvm' id='3'>\n"
	"    <name>kh</name>\n"
	"    <uuid>" UUID "</uuid>\n"
	"  </domain>\n"
	"</domstatus>\n";

static void test_parse(void)
{
	char xml[2048], uuid[37];
	size_t len = sizeof(status_xml) - 1, i;
	pid_t pid = 0;

	CHECK(!kh_libvirt_parse_status(status_xml, len, &pid, uuid),
	      "status XML refused");
	CHECK(pid == 4242 && !strcmp(uuid, UUID), "pid %d uuid %s", (int)pid,
	      uuid);
	/* Cut anywhere before the UUID closes: nothing, never a guess. */
	for (i = 0; i < (size_t)(strstr(status_xml, UUID "</uuid>") -
				 status_xml) + 36 + 7; i++)
		CHECK(kh_libvirt_parse_status(status_xml, i, &pid, uuid) ==
		      -EINVAL, "cut at %zu accepted", i);

	snprintf(xml, sizeof(xml), "%s", status_xml);
	memcpy(strstr(xml, "pid='4242'"), "pid='42x2'", 10);
	CHECK(kh_libvirt_parse_status(xml, strlen(xml), &pid, uuid) ==
	      -EINVAL, "pid not a number");
	snprintf(xml, sizeof(xml), "%s", status_xml);
	memcpy(strstr(xml, "pid='4242'"), "pid=\"4242'", 10);
	CHECK(kh_libvirt_parse_status(xml, strlen(xml), &pid, uuid) ==
	      -EINVAL, "mismatched quotes");
	snprintf(xml, sizeof(xml), "%s", status_xml);
	memcpy(strstr(xml, UUID), "6f1a2b3c+4d5e", 13);
	CHECK(kh_libvirt_parse_status(xml, strlen(xml), &pid, uuid) ==
	      -EINVAL, "not a UUID");
	snprintf(xml, sizeof(xml),
		 "<domstatus pid='7'><domain type='kvm'><uuid>" UUID "0</uuid></domain></domstatus>");
	CHECK(kh_libvirt_parse_status(xml, strlen(xml), &pid, uuid) ==
	      -EINVAL, "a UUID one character too long");
	snprintf(xml, sizeof(xml),
		 "<domstatus><x pid='7'/><domain type='kvm'><uuid>" UUID "</uuid></domain></domstatus>");
	CHECK(kh_libvirt_parse_status(xml, strlen(xml), &pid, uuid) ==
	      -EINVAL, "a pid outside the domstatus tag");
}

static char dir[256], base[256];

static void put(const char *name, const char *text, uid_t owner, int mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	      "cannot write %s", path);
	CHECK(!fchown(fd, owner, owner) && !fchmod(fd, mode), "chown %s",
	      path);
	close(fd);
}

static void cleanup(void)
{
	char cmd[600];

	if (base[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		CHECK(!system(cmd), "%s", cmd);
	}
}

static void test_files(void)
{
	uid_t uid = 0x7ffe0000u + (getpid() & 0xffff);
	char path[512], uuid[37];
	int r;

	if (geteuid())
		SKIP("parsing passes; the session files need root to make another user's");
	snprintf(base, sizeof(base), "/run/user/%u", (unsigned int)uid);
	snprintf(dir, sizeof(dir), "%s/libvirt/qemu/run", base);
	atexit(cleanup);
	snprintf(path, sizeof(path), "mkdir -p '%s' && chown -R %u '%s'", dir,
		 (unsigned int)uid, base);
	CHECK(!system(path), "%s", path);

	put("kh.pid", "4242\n", uid, 0644);
	r = kh_libvirt_pid_file("kh", 4242, uid);
	CHECK(r == KH_LIBVIRT_SESSION, "session pid file: %d", r);
	r = kh_libvirt_pid_file("kh", 4243, uid);
	CHECK(r == -EPERM, "a pid file of another pid: %d", r);
	CHECK(kh_libvirt_pid_file("kh/../kh", 4242, uid) == KH_LIBVIRT_NONE,
	      "a name with '/'");
	CHECK(kh_libvirt_pid_file("kh", 4242, uid + 1) == KH_LIBVIRT_NONE,
	      "another user's session");

	put("kh.pid", "4242\n", uid + 1, 0644);
	CHECK(kh_libvirt_pid_file("kh", 4242, uid) == KH_LIBVIRT_NONE,
	      "a pid file of another owner was believed");
	put("kh.pid", "4242\n", uid, 0664);
	CHECK(kh_libvirt_pid_file("kh", 4242, uid) == KH_LIBVIRT_NONE,
	      "a group-writable pid file was believed");
	put("real.pid", "4242\n", uid, 0644);
	snprintf(path, sizeof(path), "%s/kh.pid", dir);
	unlink(path);
	CHECK(!symlink("real.pid", path), "symlink");
	CHECK(kh_libvirt_pid_file("kh", 4242, uid) == KH_LIBVIRT_NONE,
	      "a symlinked pid file was believed");

	put("kh.xml", status_xml, uid, 0600);
	CHECK(!kh_libvirt_status_uuid("kh", 4242, KH_LIBVIRT_SESSION, uid,
				      uuid) && !strcmp(uuid, UUID),
	      "status XML UUID");
	r = kh_libvirt_status_uuid("kh", 4243, KH_LIBVIRT_SESSION, uid, uuid);
	CHECK(r == -ESTALE, "status XML of another pid: %d", r);
	put("kh.xml", status_xml, uid, 0622);
	r = kh_libvirt_status_uuid("kh", 4242, KH_LIBVIRT_SESSION, uid, uuid);
	CHECK(r == -EPERM, "a world-writable status XML: %d", r);
}

int main(void)
{
	test_parse();
	test_files();
	return KH_PASS;
}
