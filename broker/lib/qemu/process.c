// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qemu/: everything about the QEMU process itself: finding it and reading
 * its command line (this file), where guest RAM lies in it (ram_layout.c,
 * its pure parsers in ram_layout_parse.c), and the clients of what it
 * serves: QMP (qmp.c), the guest agent (guest_agent.c), the gdbstub's
 * packets (gdb_packet.c) over chardev sockets (chardev_socket.c), and the
 * migration stream format (migration_stream.c). It calls nothing else of
 * the engine but error reporting; everything else builds on it.
 *
 * This file: finding the QEMU process behind a VM spec and reading what
 * its command line says about guest RAM and QMP.
 *
 * The command line is parsed the way QEMU parses it: options may be spelt
 * -opt or --opt, option values are QemuOpts strings (key=value pairs split
 * on commas, ",," being a literal comma, the first bare field going to the
 * option's implied key) and -object may also be JSON, as libvirt passes it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/qmp.h"
#include "qemu/process.h"

#define MAX_BACKENDS	16
#define MAX_CMDLINE	(1 << 20)	/* /proc caps argv far below this */
#define QMP_TIMEOUT_MS	2000
#define MAX_CHARDEVS	16

struct backend {
	char id[64];
	int memfd;		/* memory-backend-memfd */
	uint64_t size;
	char path[PATH_MAX];	/* mem-path of memory-backend-file */
};

struct parse_state {
	struct backend be[MAX_BACKENDS];
	unsigned int nr_be;
	char machine_be[64];	/* -machine memory-backend= */
	char numa_be[64];	/* memdev= of the only -numa node */
	unsigned int nr_numa_be;
	char mon_chardev[8][64];	/* -mon chardev=X,mode=control */
	unsigned int nr_mon;
	struct {
		char id[64];
		char path[108];		/* "" for fd= */
	} chardev[MAX_CHARDEVS];	/* -chardev socket,id=X,path=P|fd=N */
	unsigned int nr_chardev;
	char gdb_chardev[64];	/* -gdb chardev:X */
	char qga_chardev[64];	/* -device virtserialport,chardev=X,name=qga */
};

/*
 * QEMU options that take no argument (HAS_ARG 0 in qemu-options.hx). Every
 * other option consumes the next argv element, so a value that merely
 * looks like an option (say "-append -m") is never taken for one.
 */
static const char *const noarg_opts[] = {
	"h", "help", "version", "S", "no-user-config", "nodefaults",
	"nodefconfig", "nographic", "daemonize", "snapshot", "no-reboot",
	"no-shutdown", "s", "enable-kvm", "no-kvm", "xen-attach",
	"xen-domid-restrict", "no-hpet", "no-acpi", "win2k-hack",
	"rtc-td-hack", "no-fd-bootchk", "full-screen", "curses", "portrait",
	"alt-grab", "ctrl-grab", "no-frame", "no-quit", "sdl", "usb",
	"singlestep", "enable-fips", "preconfig", "only-migratable",
	"old-param", "semihosting", "mem-prealloc", "audio-help",
	"enable-sync-profile", "no-kvm-irqchip", "no-kvm-pit",
	"no-kvm-pit-reinjection", "enable-nesting", "tdf", "kernel-kqemu",
	"no-kqemu", "perfmap", "jitdump", NULL,
};

static int is_noarg(const char *opt)
{
	unsigned int i;

	for (i = 0; noarg_opts[i]; i++)
		if (!strcmp(opt, noarg_opts[i]))
			return 1;
	return 0;
}

/*
 * Looks key up in the QemuOpts string s (implied: the key a leading bare
 * field belongs to, or NULL). Returns 1 and the unescaped value in out, 0
 * when absent, -ENAMETOOLONG when the value does not fit.
 */
static int opts_get(const char *s, const char *key, const char *implied,
		    char *out, size_t outsz)
{
	int first = 1;

	while (*s) {
		const char *eq = NULL, *p = s;
		size_t klen, n = 0;
		int match;

		/* A field ends at a single comma; ",," is a literal comma. */
		while (*p && !(p[0] == ',' && p[1] != ',')) {
			if (p[0] == ',' && p[1] == ',') {
				p += 2;
				continue;
			}
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (eq) {
			klen = eq - s;
			match = strlen(key) == klen && !strncmp(s, key, klen);
			s = eq + 1;
		} else {
			/* A bare field: the implied key, or a boolean flag. */
			match = first && implied && !strcmp(key, implied);
			if (!match && (size_t)(p - s) == strlen(key) &&
			    !strncmp(s, key, p - s)) {
				if (outsz < 3)
					return -ENAMETOOLONG;
				strcpy(out, "on");
				return 1;
			}
		}
		if (match) {
			while (s < p) {
				if (n + 1 >= outsz)
					return -ENAMETOOLONG;
				out[n++] = *s;
				s += (s[0] == ',' && s[1] == ',') ? 2 : 1;
			}
			out[n] = '\0';
			return 1;
		}
		first = 0;
		s = *p ? p + 1 : p;
	}
	return 0;
}

/*
 * A size the way QEMU's qemu_strtosz() reads it: a number, maybe with a
 * fraction, and an optional B/K/M/G/T/P/E suffix; bare numbers are
 * multiplied by defmul (MiB for -m, bytes for size= of objects).
 */
static int parse_size(const char *s, uint64_t defmul, uint64_t *out)
{
	static const char suffixes[] = "BKMGTPE";
	unsigned long long whole;
	long double frac = 0;
	const char *p;
	uint64_t mul = defmul;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	whole = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == '.') {
		frac = strtold(end, &end);
		if (frac >= 1)
			return -EINVAL;
	}
	if (*end) {
		p = strchr(suffixes, toupper((unsigned char)*end));
		if (!p || end[1])
			return -EINVAL;
		mul = 1ull << (10 * (p - suffixes));
	}
	if (whole > UINT64_MAX / mul)
		return -EINVAL;
	*out = whole * mul + (uint64_t)(frac * mul);
	return 0;
}

static int copy_str(char *dst, size_t dstsz, const char *src,
		    const char *what, struct kh_err *err)
{
	if (strlen(src) >= dstsz)
		return kh_err_set(err, ENAMETOOLONG,
				  "QEMU's %s '%.64s...' is longer than %zu bytes",
				  what, src, dstsz - 1);
	strcpy(dst, src);
	return 0;
}

static struct backend *new_backend(struct parse_state *ps)
{
	struct backend *be;

	if (ps->nr_be >= MAX_BACKENDS)
		return NULL;
	be = &ps->be[ps->nr_be++];
	memset(be, 0, sizeof(*be));
	return be;
}

/* -object '{"qom-type":"memory-backend-memfd","id":"mem",...}' */
static int parse_object_json(struct parse_state *ps, const char *val,
			     struct kh_err *err)
{
	const char *type, *id, *path;
	struct backend *be;
	json_t *o, *size;
	int ret = 0;

	o = json_loads(val, 0, NULL);
	if (!o || !json_is_object(o))
		goto out;
	type = json_string_value(json_object_get(o, "qom-type"));
	id = json_string_value(json_object_get(o, "id"));
	if (!type || !id || strncmp(type, "memory-backend-", 15))
		goto out;
	be = new_backend(ps);
	if (!be)
		goto out;
	be->memfd = !strcmp(type, "memory-backend-memfd");
	ret = copy_str(be->id, sizeof(be->id), id, "memory backend id", err);
	if (ret)
		goto out;
	size = json_object_get(o, "size");
	if (json_is_integer(size) && json_integer_value(size) > 0)
		be->size = json_integer_value(size);
	else if (json_is_string(size) &&
		 parse_size(json_string_value(size), 1, &be->size))
		be->size = 0;
	path = json_string_value(json_object_get(o, "mem-path"));
	if (path && !strcmp(type, "memory-backend-file"))
		ret = copy_str(be->path, sizeof(be->path), path,
			       "mem-path", err);
out:
	json_decref(o);
	return ret;
}

static int parse_object(struct parse_state *ps, const char *val,
			struct kh_err *err)
{
	char type[64], buf[PATH_MAX];
	struct backend *be;
	int r;

	if (val[0] == '{')
		return parse_object_json(ps, val, err);
	if (opts_get(val, "qom-type", "qom-type", type, sizeof(type)) != 1 ||
	    strncmp(type, "memory-backend-", 15))
		return 0;
	be = new_backend(ps);
	if (!be)
		return 0;
	be->memfd = !strcmp(type, "memory-backend-memfd");
	r = opts_get(val, "id", NULL, be->id, sizeof(be->id));
	if (r < 0)
		return kh_err_set(err, ENAMETOOLONG,
				  "a memory backend id in QEMU's -object '%.64s' is too long",
				  val);
	if (opts_get(val, "size", NULL, buf, sizeof(buf)) == 1 &&
	    parse_size(buf, 1, &be->size))
		return kh_err_set(err, EINVAL,
				  "cannot parse size '%.32s' of QEMU's memory backend '%s'",
				  buf, be->id);
	if (!strcmp(type, "memory-backend-file")) {
		r = opts_get(val, "mem-path", NULL, be->path,
			     sizeof(be->path));
		if (r < 0)
			return kh_err_set(err, ENAMETOOLONG,
					  "mem-path of QEMU's memory backend '%s' is too long",
					  be->id);
	}
	return 0;
}

/*
 * -qmp unix:PATH[,server=on,wait=off]: QEMU parses what follows "unix:" as
 * QemuOpts with "path" implied, so we do too.
 */
static int parse_qmp(struct kh_target *t, const char *val,
		     struct kh_err *err)
{
	char path[sizeof(t->qmp_path)];
	int r;

	if (t->qmp_path[0] || strncmp(val, "unix:", 5))
		return 0;
	r = opts_get(val + 5, "path", "path", path, sizeof(path));
	if (r < 0)
		return kh_err_set(err, ENAMETOOLONG,
				  "QEMU's QMP socket path in '%.64s' is longer than a unix socket path can be",
				  val);
	if (r == 1)
		strcpy(t->qmp_path, path);
	return 0;
}

/*
 * -gdb DEV: QEMU hands DEV to qemu_chr_new(), except "tcp:" which it
 * rewrites; only unix sockets are usable here (a TCP port would let anyone
 * on the host halt the guest, and we never guess ports).
 */
static int parse_gdb(struct parse_state *ps, struct kh_target *t,
		     const char *val, struct kh_err *err)
{
	char path[sizeof(t->gdb_path)];
	int r;

	if (!strncmp(val, "chardev:", 8)) {
		if (strlen(val + 8) < sizeof(ps->gdb_chardev))
			strcpy(ps->gdb_chardev, val + 8);
		return 0;
	}
	if (!strncmp(val, "tcp:", 4) || !strncmp(val, "telnet:", 7)) {
		t->gdb_tcp = 1;
		return 0;
	}
	if (strncmp(val, "unix:", 5))
		return 0;
	r = opts_get(val + 5, "path", "path", path, sizeof(path));
	if (r < 0)
		return kh_err_set(err, ENAMETOOLONG,
				  "QEMU's gdbstub socket path in '%.64s' is longer than a unix socket path can be",
				  val);
	if (r == 1)
		strcpy(t->gdb_path, path);
	return 0;
}

/* The qemu-ga port: a virtserialport named org.qemu.guest_agent.0. */
static void parse_device(struct parse_state *ps, const char *val)
{
	char driver[32], name[64], chardev[64];

	if (val[0] == '{') {
		json_t *o = json_loads(val, 0, NULL);
		const char *d, *n, *c;

		d = json_string_value(json_object_get(o, "driver"));
		n = json_string_value(json_object_get(o, "name"));
		c = json_string_value(json_object_get(o, "chardev"));
		if (d && n && c && !strcmp(d, "virtserialport") &&
		    !strcmp(n, KH_QGA_PORT_NAME) &&
		    strlen(c) < sizeof(ps->qga_chardev))
			strcpy(ps->qga_chardev, c);
		json_decref(o);
		return;
	}
	if (opts_get(val, "driver", "driver", driver, sizeof(driver)) != 1 ||
	    strcmp(driver, "virtserialport") ||
	    opts_get(val, "name", NULL, name, sizeof(name)) != 1 ||
	    strcmp(name, KH_QGA_PORT_NAME) ||
	    opts_get(val, "chardev", NULL, chardev, sizeof(chardev)) != 1)
		return;
	strcpy(ps->qga_chardev, chardev);
}

static int parse_arg(struct parse_state *ps, struct kh_target *t,
		     const char *opt, const char *val, struct kh_err *err)
{
	char buf[PATH_MAX];
	int r;

	if (!strcmp(opt, "name")) {
		r = opts_get(val, "guest", "guest", buf, sizeof(buf));
		if (r == 1)
			return copy_str(t->name, sizeof(t->name), buf,
					"-name", err);
	} else if (!strcmp(opt, "qmp")) {
		return parse_qmp(t, val, err);
	} else if (!strcmp(opt, "chardev")) {
		unsigned int i = ps->nr_chardev;

		if (i >= MAX_CHARDEVS || strncmp(val, "socket,", 7))
			return 0;
		/* A value too long leaves part of itself: start clean. */
		ps->chardev[i].path[0] = '\0';
		if (opts_get(val, "id", NULL, ps->chardev[i].id,
			     sizeof(ps->chardev[i].id)) != 1)
			return 0;
		if (opts_get(val, "path", NULL, ps->chardev[i].path,
			     sizeof(ps->chardev[i].path)) == 1 ||
		    opts_get(val, "fd", NULL, buf, sizeof(buf)) == 1)
			ps->nr_chardev++;
	} else if (!strcmp(opt, "uuid")) {
		if (strlen(val) + 1 > sizeof(t->uuid))
			return kh_err_set(err, EINVAL,
					  "QEMU's -uuid '%.64s' is not a UUID",
					  val);
		strcpy(t->uuid, val);
	} else if (!strcmp(opt, "gdb")) {
		return parse_gdb(ps, t, val, err);
	} else if (!strcmp(opt, "device")) {
		parse_device(ps, val);
	} else if (!strcmp(opt, "mon")) {
		unsigned int i = ps->nr_mon;

		if (i >= 8 || opts_get(val, "mode", NULL, buf, 16) != 1 ||
		    strcmp(buf, "control"))
			return 0;
		if (opts_get(val, "chardev", "chardev", ps->mon_chardev[i],
			     sizeof(ps->mon_chardev[i])) == 1)
			ps->nr_mon++;
	} else if (!strcmp(opt, "machine") || !strcmp(opt, "M")) {
		r = opts_get(val, "type", "type", buf, sizeof(buf));
		if (r == 1 && copy_str(t->machine, sizeof(t->machine), buf,
				       "machine type", err))
			return -ENAMETOOLONG;
		r = opts_get(val, "memory-backend", NULL, ps->machine_be,
			     sizeof(ps->machine_be));
		if (r < 0)
			ps->machine_be[0] = '\0';
	} else if (!strcmp(opt, "m")) {
		r = opts_get(val, "size", "size", buf, sizeof(buf));
		if (r == 1 && parse_size(buf, 1 << 20, &t->ram_size))
			return kh_err_set(err, EINVAL,
					  "cannot parse QEMU's memory size -m '%.64s'",
					  val);
	} else if (!strcmp(opt, "object")) {
		return parse_object(ps, val, err);
	} else if (!strcmp(opt, "numa")) {
		if (strncmp(val, "node", 4) ||
		    opts_get(val, "memdev", NULL, buf, sizeof(ps->numa_be)) != 1)
			return 0;
		strcpy(ps->numa_be, buf);
		ps->nr_numa_be++;
	} else if (!strcmp(opt, "mem-path")) {
		return copy_str(t->mem_path, sizeof(t->mem_path), val,
				"-mem-path", err);
	}
	return 0;
}

/* Ties -machine memory-backend= (or a lone NUMA memdev) and -mon to the
 * objects and chardevs they name. */
static void resolve_refs(struct parse_state *ps, struct kh_target *t)
{
	const char *id = ps->machine_be;
	unsigned int i, j;

	if (!id[0] && ps->nr_numa_be == 1)
		id = ps->numa_be;
	for (i = 0; id[0] && i < ps->nr_be; i++) {
		if (strcmp(ps->be[i].id, id))
			continue;
		t->ram_memfd = ps->be[i].memfd;
		if (ps->be[i].path[0])
			strcpy(t->mem_path, ps->be[i].path);
		if (!t->ram_size)
			t->ram_size = ps->be[i].size;
		break;
	}
	for (i = 0; !t->qmp_path[0] && i < ps->nr_mon; i++)
		for (j = 0; j < ps->nr_chardev; j++)
			if (!strcmp(ps->chardev[j].id, ps->mon_chardev[i])) {
				strcpy(t->qmp_path, ps->chardev[j].path);
				t->monitor_by_fd |= !ps->chardev[j].path[0];
				break;
			}
	if (t->qmp_path[0])
		t->monitor_by_fd = 0;
	for (j = 0; j < ps->nr_chardev; j++) {
		if (!t->gdb_path[0] && ps->gdb_chardev[0] &&
		    !strcmp(ps->chardev[j].id, ps->gdb_chardev))
			strcpy(t->gdb_path, ps->chardev[j].path);
		if (!t->qga_path[0] && ps->qga_chardev[0] &&
		    !strcmp(ps->chardev[j].id, ps->qga_chardev))
			strcpy(t->qga_path, ps->chardev[j].path);
	}
}

int kh_target_parse_cmdline(const char *cmdline, size_t len,
			    struct kh_target *t, struct kh_err *err)
{
	struct parse_state *ps;
	const char *argv[4096];
	unsigned int argc = 0, i;
	pid_t pid = t->pid;
	size_t off = 0;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	while (off < len) {
		const char *nul = memchr(cmdline + off, '\0', len - off);

		if (!nul)
			return kh_err_set(err, EINVAL,
					  "QEMU's command line does not end in a NUL byte");
		if (argc >= sizeof(argv) / sizeof(argv[0]))
			return kh_err_set(err, E2BIG,
					  "QEMU's command line has more than %zu arguments",
					  sizeof(argv) / sizeof(argv[0]));
		argv[argc++] = cmdline + off;
		off = nul - cmdline + 1;
	}

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return kh_err_set(err, ENOMEM, "out of memory");
	for (i = 1; i < argc && !ret; i++) {
		const char *opt = argv[i];

		if (opt[0] != '-')
			continue;	/* a bare disk image argument */
		opt += opt[1] == '-' ? 2 : 1;
		if (!strcmp(opt, "s"))
			t->gdb_tcp = 1;	/* -gdb tcp::1234 */
		if (is_noarg(opt))
			continue;
		if (i + 1 >= argc)
			break;
		ret = parse_arg(ps, t, opt, argv[++i], err);
	}
	if (!ret)
		resolve_refs(ps, t);
	free(ps);
	return ret;
}

static int read_file(const char *path, char *buf, size_t size, size_t *len)
{
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	*len = got;
	return 0;
}

/* argv[0] or the executable is qemu-system-*; *comm gets the name. */
static int is_qemu(pid_t pid, const char *cmdline, size_t len, char *comm,
		   size_t commsz)
{
	char path[64], exe[PATH_MAX];
	const char *base;
	size_t n = 0;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (!read_file(path, comm, commsz - 1, &n) && n && comm[n - 1] == '\n')
		n--;
	comm[n] = '\0';

	if (len) {
		base = strrchr(cmdline, '/');
		base = base ? base + 1 : cmdline;
		if (!strncmp(base, "qemu-system-", 12))
			return 1;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	r = readlink(path, exe, sizeof(exe) - 1);
	if (r > 0) {
		exe[r] = '\0';
		base = strrchr(exe, '/');
		base = base ? base + 1 : exe;
		if (!strncmp(base, "qemu-system-", 12))
			return 1;
	}
	return 0;
}

/* A relative socket path on QEMU's argv is relative to QEMU's cwd. */
static void absolute_path(pid_t pid, char sock[108])
{
	char path[64], cwd[PATH_MAX], full[PATH_MAX + 108];
	ssize_t n;

	if (!sock[0] || sock[0] == '/')
		return;
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	n = readlink(path, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return;
	cwd[n] = '\0';
	snprintf(full, sizeof(full), "%s/%s", cwd, sock);
	if (strlen(full) < 108)
		strcpy(sock, full);
}

static int resolve_pid(pid_t pid, struct kh_target *t, struct kh_err *err)
{
	char path[64], comm[64];
	struct stat st;
	size_t len;
	char *cmdline;
	int fd, ret;

	cmdline = malloc(MAX_CMDLINE);
	if (!cmdline)
		return kh_err_set(err, ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ret = read_file(path, cmdline, MAX_CMDLINE, &len);
	if (ret == -ENOENT || ret == -ESRCH) {
		ret = kh_err_set(err, ESRCH, "no process with pid %d",
				 (int)pid);
		goto out;
	}
	if (ret) {
		ret = kh_err_set(err, -ret, "cannot read %s: %s", path,
				 strerror(-ret));
		goto out;
	}
	if (!is_qemu(pid, cmdline, len, comm, sizeof(comm))) {
		ret = kh_err_set(err, ENOEXEC,
				 len || comm[0] ?
				 "pid %d is '%s', not a QEMU process" :
				 "pid %d%s is a kernel thread or a zombie, not a QEMU process",
				 (int)pid, comm);
		goto out;
	}
	if (len == MAX_CMDLINE) {
		ret = kh_err_set(err, E2BIG,
				 "the command line of QEMU pid %d is longer than %d bytes",
				 (int)pid, MAX_CMDLINE);
		goto out;
	}

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -EACCES || ret == -EPERM)
			ret = kh_err_set(err, -ret,
					 "cannot read %s of QEMU pid %d: permission denied (need ptrace access, e.g. run as root)",
					 path, (int)pid);
		else if (ret == -ENOENT)
			ret = kh_err_set(err, ESRCH,
					 "QEMU pid %d exited while being looked at",
					 (int)pid);
		else
			ret = kh_err_set(err, -ret, "cannot open %s: %s",
					 path, strerror(-ret));
		goto out;
	}
	close(fd);

	t->pid = pid;
	ret = kh_target_parse_cmdline(cmdline, len, t, err);
	/* /proc/PID belongs to the process's effective ids. */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (!ret && !stat(path, &st)) {
		t->uid = st.st_uid;
		t->gid = st.st_gid;
	}
	if (ret) {
		kh_err_prefix(err, "QEMU pid %d", (int)pid);
		goto out;
	}
	absolute_path(pid, t->qmp_path);
	absolute_path(pid, t->gdb_path);
	absolute_path(pid, t->qga_path);
out:
	free(cmdline);
	return ret;
}

static int resolve_socket(const char *spec, struct kh_target *t,
			  struct kh_err *err)
{
	struct kh_qmp *qmp;
	pid_t pid;
	int ret;

	if (strlen(spec) >= sizeof(t->qmp_path))
		return kh_err_set(err, ENAMETOOLONG,
				  "socket path %s is longer than %zu bytes",
				  spec, sizeof(t->qmp_path) - 1);
	ret = kh_qmp_connect(spec, QMP_TIMEOUT_MS, &qmp, err);
	if (ret)
		return ret;
	pid = kh_qmp_peer_pid(qmp);
	kh_qmp_close(qmp);
	if (pid <= 0)
		return kh_err_set(err, ESRCH,
				  "cannot tell which process serves %s (no SO_PEERCRED)",
				  spec);
	ret = resolve_pid(pid, t, err);
	if (!ret)
		strcpy(t->qmp_path, spec);
	return ret;
}

/* Every QEMU whose -name or -uuid is name; errors only when there is
 * not exactly one. */
static int resolve_name(const char *name, struct kh_target *t,
			struct kh_err *err)
{
	struct kh_target cand;
	struct dirent *de;
	pid_t found = 0;
	char path[64], comm[64];
	char *cmdline;
	size_t len;
	DIR *dir;
	int ret = 0;

	cmdline = malloc(MAX_CMDLINE);
	if (!cmdline)
		return kh_err_set(err, ENOMEM, "out of memory");
	dir = opendir("/proc");
	if (!dir) {
		ret = -errno;
		free(cmdline);
		return kh_err_set(err, -ret, "cannot list /proc: %s",
				  strerror(-ret));
	}
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		if (read_file(path, cmdline, MAX_CMDLINE, &len) || !len ||
		    len == MAX_CMDLINE ||
		    !is_qemu(pid, cmdline, len, comm, sizeof(comm)))
			continue;
		memset(&cand, 0, sizeof(cand));
		if (kh_target_parse_cmdline(cmdline, len, &cand, NULL) ||
		    (strcmp(cand.name, name) && strcasecmp(cand.uuid, name)))
			continue;
		if (found) {
			ret = kh_err_set(err, ENOTUNIQ,
					 "VM name '%s' is ambiguous: QEMU pids %d and %ld both have it as -name or -uuid; give a pid instead",
					 name, (int)found, pid);
			break;
		}
		found = pid;
	}
	closedir(dir);
	free(cmdline);
	if (ret)
		return ret;
	if (!found)
		return kh_err_set(err, ENOENT,
				  "no QEMU process has -name or -uuid '%s' (and it is not a pid or a socket path)",
				  name);
	return resolve_pid(found, t, err);
}

int kh_target_resolve(const char *spec, struct kh_target *t,
		      struct kh_err *err)
{
	const char *p;
	struct stat st;
	char *end;
	long pid;

	memset(t, 0, sizeof(*t));
	if (!spec || !spec[0])
		return kh_err_set(err, EINVAL,
				  "no VM given: expected a QEMU pid, a QMP socket path or a -name value");

	for (p = spec; isdigit((unsigned char)*p); p++)
		;
	if (!*p) {
		errno = 0;
		pid = strtol(spec, &end, 10);
		if (errno || pid <= 0 || pid > INT_MAX)
			return kh_err_set(err, ESRCH, "no process with pid %s",
					  spec);
		return resolve_pid(pid, t, err);
	}

	if (!stat(spec, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return kh_err_set(err, ENOTSOCK,
					  "%s is not a unix socket (expected a QEMU pid, a QMP socket path or a -name value)",
					  spec);
		return resolve_socket(spec, t, err);
	}
	if (strchr(spec, '/'))
		return kh_err_set(err, ENOENT, "no QMP socket at %s: %s", spec,
				  strerror(errno));
	return resolve_name(spec, t, err);
}
