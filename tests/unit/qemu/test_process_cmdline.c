// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh_target_parse_cmdline() reads QEMU command lines the way QEMU does, and
 * kh_target_resolve() names what is wrong with a spec that is not a VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "qemu/process.h"

/* Joins argv into a /proc/PID/cmdline image. */
static size_t image(char *buf, size_t size, ...)
{
	const char *arg;
	size_t len = 0;
	va_list ap;

	va_start(ap, size);
	while ((arg = va_arg(ap, const char *))) {
		size_t n = strlen(arg) + 1;

		CHECK(len + n <= size, "test image too small");
		memcpy(buf + len, arg, n);
		len += n;
	}
	va_end(ap);
	return len;
}

#define PARSE(t, ...)							\
	do {								\
		char buf_[4096];					\
		size_t len_ = image(buf_, sizeof(buf_), __VA_ARGS__, NULL);\
		struct kh_err err_ = { 0 };				\
		int r_ = kh_target_parse_cmdline(buf_, len_, (t), &err_);\
		CHECK(r_ == 0, "parse failed: %d %s", r_, err_.msg);	\
	} while (0)

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void test_parse(void)
{
	struct kh_target t;
	struct kh_err err = { 0 };
	char buf[512];
	size_t len;

	/* The memfd setup the project uses, with --opt spellings. */
	PARSE(&t, "/usr/bin/qemu-system-x86_64", "-accel", "tcg", "-S",
	      "-nodefaults", "--name", "guest1,debug-threads=on",
	      "-M", "q35", "-m", "3G", "-object",
	      "memory-backend-memfd,id=mem,size=3G,share=on",
	      "-machine", "memory-backend=mem",
	      "--qmp", "unix:/tmp/x.sock,server=on,wait=off");
	CHECK(!strcmp(t.name, "guest1"), "name '%s'", t.name);
	CHECK(!strcmp(t.machine, "q35"), "machine '%s'", t.machine);
	CHECK(t.ram_size == 3 * GiB, "ram %llu", (unsigned long long)t.ram_size);
	CHECK(t.ram_memfd == 1, "memfd %d", t.ram_memfd);
	CHECK(!t.mem_path[0], "mem_path '%s'", t.mem_path);
	CHECK(!strcmp(t.qmp_path, "/tmp/x.sock"), "qmp '%s'", t.qmp_path);

	/* guest=, a bare -m number in MiB, machine type= with options. */
	PARSE(&t, "qemu-system-x86_64", "-name", "guest=web,,1,process=x",
	      "-machine", "type=pc-i440fx-7.2,accel=kvm", "-m", "1536",
	      "-qmp", "unix:rel.sock");
	CHECK(!strcmp(t.name, "web,1"), "name '%s'", t.name);
	CHECK(!strcmp(t.machine, "pc-i440fx-7.2"), "machine '%s'", t.machine);
	CHECK(t.ram_size == 1536 * MiB, "ram %llu",
	      (unsigned long long)t.ram_size);
	CHECK(!t.ram_memfd && !t.mem_path[0], "RAM should be anonymous");
	CHECK(!strcmp(t.qmp_path, "rel.sock"), "qmp '%s'", t.qmp_path);

	/* -chardev + -mon mode=control; an HMP -mon does not count; a
	 * file backend named through -numa; size= form of -m. */
	PARSE(&t, "qemu-system-x86_64", "-chardev",
	      "socket,id=hmp,path=/run/hmp.sock,server=on,wait=off",
	      "-mon", "chardev=hmp,mode=readline",
	      "-chardev", "socket,id=charmonitor,path=/run/qmp.sock,server=on",
	      "-mon", "chardev=charmonitor,id=monitor,mode=control",
	      "-m", "size=4194304k,slots=2,maxmem=8G",
	      "-object", "memory-backend-file,id=ram0,size=4G,mem-path=/dev/shm/vm,share=on",
	      "-numa", "node,nodeid=0,memdev=ram0");
	CHECK(!strcmp(t.qmp_path, "/run/qmp.sock"), "qmp '%s'", t.qmp_path);
	CHECK(t.ram_size == 4 * GiB, "ram %llu", (unsigned long long)t.ram_size);
	CHECK(!strcmp(t.mem_path, "/dev/shm/vm"), "mem_path '%s'", t.mem_path);
	CHECK(!t.ram_memfd, "not memfd");
	CHECK(!t.machine[0], "default machine '%s'", t.machine);

	/* libvirt's JSON -object; RAM size from the backend alone. */
	PARSE(&t, "/usr/bin/qemu-system-x86_64", "-name",
	      "guest=lv,debug-threads=on", "-object",
	      "{\"qom-type\":\"memory-backend-memfd\",\"id\":\"pc.ram\",\"share\":true,\"size\":2147483648}",
	      "-machine", "pc-q35-7.2,usb=off,memory-backend=pc.ram");
	CHECK(!strcmp(t.name, "lv"), "name '%s'", t.name);
	CHECK(!strcmp(t.machine, "pc-q35-7.2"), "machine '%s'", t.machine);
	CHECK(t.ram_memfd && t.ram_size == 2 * GiB, "memfd %d ram %llu",
	      t.ram_memfd, (unsigned long long)t.ram_size);

	/* A backend not used as RAM (ivshmem) leaves RAM anonymous; an
	 * option's value that looks like an option is not one. */
	PARSE(&t, "qemu-system-x86_64", "-append", "-m", "-M", "pc",
	      "-object", "memory-backend-memfd,id=shm,size=1M,share=on",
	      "-device", "ivshmem-plain,memdev=shm", "-m", "1.5G",
	      "-name", "plain", "-nographic", "-mem-prealloc");
	CHECK(!t.ram_memfd, "ivshmem backend is not RAM");
	CHECK(!strcmp(t.machine, "pc"), "machine '%s'", t.machine);
	CHECK(t.ram_size == 3 * GiB / 2, "ram %llu",
	      (unsigned long long)t.ram_size);
	CHECK(!strcmp(t.name, "plain"), "name '%s'", t.name);

	/* A bad size is an error naming the option. */
	len = image(buf, sizeof(buf), "qemu-system-x86_64", "-m", "lots",
		    NULL);
	CHECK(kh_target_parse_cmdline(buf, len, &t, &err) == -EINVAL,
	      "bad -m accepted");
	CHECK(strstr(err.msg, "-m 'lots'"), "message: %s", err.msg);
}

static void test_resolve(void)
{
	struct kh_target t;
	struct kh_err err = { 0 };
	char path[] = "/tmp/kh-test-target-XXXXXX";
	pid_t pid;
	int r, fd;

	/* A pid that does not exist. */
	for (pid = 4194303; pid > 1 && !(kill(pid, 0) && errno == ESRCH);
	     pid--)
		;
	snprintf(path, sizeof(path), "%d", (int)pid);
	r = kh_target_resolve(path, &t, &err);
	CHECK(r == -ESRCH, "r=%d %s", r, err.msg);
	CHECK(strstr(err.msg, "no process with pid"), "%s", err.msg);
	r = kh_target_resolve("99999999999", &t, &err);
	CHECK(r == -ESRCH, "r=%d %s", r, err.msg);

	/* This test program is not QEMU. */
	snprintf(path, sizeof(path), "%d", (int)getpid());
	r = kh_target_resolve(path, &t, &err);
	CHECK(r == -ENOEXEC, "r=%d %s", r, err.msg);
	CHECK(strstr(err.msg, "not a QEMU process"), "%s", err.msg);
	fprintf(stderr, "not QEMU: %s\n", err.msg);

	r = kh_target_resolve("kh-no-such-vm-name", &t, &err);
	CHECK(r == -ENOENT, "r=%d %s", r, err.msg);
	CHECK(strstr(err.msg, "kh-no-such-vm-name"), "%s", err.msg);

	r = kh_target_resolve("/nonexistent/qmp.sock", &t, &err);
	CHECK(r == -ENOENT, "r=%d %s", r, err.msg);

	strcpy(path, "/tmp/kh-test-target-XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	close(fd);
	r = kh_target_resolve(path, &t, &err);
	unlink(path);
	CHECK(r == -ENOTSOCK, "r=%d %s", r, err.msg);

	r = kh_target_resolve("", &t, &err);
	CHECK(r == -EINVAL, "r=%d %s", r, err.msg);

	/* pid 1 is never QEMU here; as root /proc/1/mem opens, else the
	 * permission message must appear. Either way it is named. */
	r = kh_target_resolve("1", &t, &err);
	CHECK(r == -ENOEXEC || r == -EACCES || r == -EPERM, "r=%d %s", r,
	      err.msg);
}

/*
 * libvirt 9's QEMU: the monitor is a chardev on an inherited fd (libvirtd
 * holds the other end), -uuid names the domain, RAM is pc.ram.
 */
static void test_libvirt(void)
{
	struct kh_target t;

	PARSE(&t, "/usr/bin/qemu-system-x86_64", "-name",
	      "guest=dom1,debug-threads=on", "-S", "-object",
	      "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":1073741824}",
	      "-machine", "pc-i440fx-7.2,usb=off,memory-backend=pc.ram",
	      "-uuid", "0b1d7c6e-52d8-4a55-9d0a-3f3a1c2b4e5f",
	      "-chardev", "socket,id=charmonitor,fd=31,server=on,wait=off",
	      "-mon", "chardev=charmonitor,id=monitor,mode=control",
	      "-chardev", "socket,id=charchannel0,fd=32,server=on,wait=off",
	      "-device",
	      "virtserialport,bus=virtio-serial0.0,nr=1,chardev=charchannel0,id=channel0,name=org.qemu.guest_agent.0");
	CHECK(!strcmp(t.name, "dom1"), "name '%s'", t.name);
	CHECK(!strcmp(t.uuid, "0b1d7c6e-52d8-4a55-9d0a-3f3a1c2b4e5f"),
	      "uuid '%s'", t.uuid);
	CHECK(t.monitor_by_fd && !t.qmp_path[0],
	      "a monitor on an fd: by_fd %d, path '%s'", t.monitor_by_fd,
	      t.qmp_path);
	CHECK(!t.qga_path[0], "the agent's chardev has no path: '%s'",
	      t.qga_path);
	CHECK(t.ram_size == GiB && !t.ram_memfd, "RAM %llu memfd %d",
	      (unsigned long long)t.ram_size, t.ram_memfd);

	/* A monitor of our own beside it: that one is used, not libvirt. */
	PARSE(&t, "qemu-system-x86_64", "-uuid",
	      "0b1d7c6e-52d8-4a55-9d0a-3f3a1c2b4e5f",
	      "-chardev", "socket,id=m1,fd=3,server=on,wait=off",
	      "-mon", "chardev=m1,mode=control",
	      "-qmp", "unix:/tmp/own.sock,server=on,wait=off");
	CHECK(!t.monitor_by_fd && !strcmp(t.qmp_path, "/tmp/own.sock"),
	      "own QMP: by_fd %d, path '%s'", t.monitor_by_fd, t.qmp_path);
}

int main(void)
{
	test_parse();
	test_libvirt();
	test_resolve();
	return KH_PASS;
}
