// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the halting and agent techniques find their sockets on QEMU's
 * command line as QEMU reads it: the gdbstub from -gdb chardev:ID (the
 * chardev's path), -gdb unix:PATH,server=on; a TCP gdbstub (-s, -gdb
 * tcp::N) is noted, not used; the guest agent from the virtserialport
 * named org.qemu.guest_agent.0, in QemuOpts or JSON form, through its
 * chardev; a virtserialport with another name, or a chardev that does not
 * exist, gives no socket.
 */
#include <stdarg.h>
#include <string.h>

#include "check.h"
#include "qemu/process.h"

static void parse(struct kh_target *t, ...)
{
	char buf[4096];
	struct kh_err err = { 0 };
	const char *arg;
	size_t len = 0;
	va_list ap;

	va_start(ap, t);
	while ((arg = va_arg(ap, const char *))) {
		size_t n = strlen(arg) + 1;

		CHECK(len + n <= sizeof(buf), "test image too small");
		memcpy(buf + len, arg, n);
		len += n;
	}
	va_end(ap);
	CHECK(!kh_target_parse_cmdline(buf, len, t, &err), "parse: %s",
	      err.msg);
}

int main(void)
{
	struct kh_target t;

	parse(&t, "qemu-system-x86_64", "-m", "1G",
	      "-chardev", "socket,id=gdb0,path=/run/vm/gdb.sock,server=on,wait=off",
	      "-gdb", "chardev:gdb0",
	      "-device", "virtio-serial-pci",
	      "-chardev", "socket,path=/run/vm/qga.sock,server=on,wait=off,id=qga0",
	      "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
	      NULL);
	CHECK(!strcmp(t.gdb_path, "/run/vm/gdb.sock"), "gdb '%s'", t.gdb_path);
	CHECK(!strcmp(t.qga_path, "/run/vm/qga.sock"), "qga '%s'", t.qga_path);
	CHECK(!t.gdb_tcp, "no TCP gdbstub");

	/* The chardev may come after its user; JSON -device as libvirt. */
	parse(&t, "qemu-system-x86_64",
	      "-device", "{\"driver\":\"virtserialport\",\"chardev\":\"a\",\"name\":\"org.qemu.guest_agent.0\"}",
	      "-gdb", "unix:/tmp/g,,x.sock,server=on,wait=off",
	      "-chardev", "socket,id=a,path=/tmp/a.sock,server=on", NULL);
	CHECK(!strcmp(t.gdb_path, "/tmp/g,x.sock"), "gdb '%s'", t.gdb_path);
	CHECK(!strcmp(t.qga_path, "/tmp/a.sock"), "qga '%s'", t.qga_path);

	/* Another port name, a missing chardev, a TCP stub. */
	parse(&t, "qemu-system-x86_64", "-s",
	      "-chardev", "socket,id=c,path=/tmp/c.sock,server=on",
	      "-device", "virtserialport,chardev=c,name=com.example.other",
	      "-gdb", "chardev:nonexistent", NULL);
	CHECK(!t.gdb_path[0] && !t.qga_path[0] && t.gdb_tcp,
	      "gdb '%s' qga '%s' tcp %d", t.gdb_path, t.qga_path, t.gdb_tcp);
	parse(&t, "qemu-system-x86_64", "-gdb", "tcp::1234", NULL);
	CHECK(t.gdb_tcp && !t.gdb_path[0], "-gdb tcp::1234");
	/* A value that looks like -gdb is an argument, not an option. */
	parse(&t, "qemu-system-x86_64", "-append", "-gdb", "-gdb",
	      "unix:/x", NULL);
	CHECK(!strcmp(t.gdb_path, "/x"), "gdb '%s'", t.gdb_path);
	return KH_PASS;
}
