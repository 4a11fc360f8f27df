// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves what `keyhole lsof` shows beyond the path, as lsof shows it,
 * against the guest's own /proc (truth "fdx": fdinfo and stat through
 * /proc/PID/fd, read before and after keyhole's): for every fd of init,
 * kh-files, kh-sockets and kh-tree that the guest had unchanged
 * throughout, the access mode (r, w, u), the offset, the file system's
 * device, a device file's own device and the size are the guest's; the
 * user is the process's effective uid (kh-files's differs from its real
 * one); each socket's family is its own (kh-sockets holds IPv4, IPv6 and
 * unix sockets at known fds); and the text table has lsof's columns with
 * FD as "5u", TYPE as IPv4/IPv6/unix, DEVICE as "136,0" and SIZE/OFF,
 * and its sockets as lsof -nP shows them (socket_lines()).
 */
#include <ctype.h>

#include "guest.h"

struct fdx {
	int fd;
	unsigned int accmode;
	unsigned long long pos;
	char dev[24], rdev[24];
	long long size;
};

struct fdx_view {
	int nr;
	struct fdx fds[256];
};

static void truth_fdx(const struct guest *g, int pid, struct fdx_view *v)
{
	char request[64], *out, *line, *save = NULL;

	snprintf(request, sizeof(request), "fdx %d", pid);
	out = guest_truth(g, request);
	v->nr = 0;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct fdx *f = &v->fds[v->nr];

		CHECK(v->nr < 255, "process %d has too many fds", pid);
		/* Compared whole (memcmp): no bytes left from before. */
		memset(f, 0, sizeof(*f));
		CHECK(sscanf(line, "%d %o %llu %23s %23s %lld", &f->fd,
			     &f->accmode, &f->pos, f->dev, f->rdev,
			     &f->size) == 6, "truth fdx line '%s'", line);
		v->nr++;
	}
	free(out);
}

static const struct fdx *fdx_of(const struct fdx_view *v, int fd)
{
	int i;

	for (i = 0; i < v->nr; i++)
		if (v->fds[i].fd == fd)
			return &v->fds[i];
	return NULL;
}

static json_t *file_of(json_t *doc, int fd)
{
	return json_by_int(doc, "fd", fd);
}

static const char *str(json_t *f, const char *key)
{
	return json_string_value(json_object_get(f, key)) ?: "(none)";
}

/* Every fd the guest kept throughout; how many were compared. */
static int compare(const char *what, json_t *doc, const struct fdx_view *b,
		   const struct fdx_view *a, unsigned int euid)
{
	static const char modes[] = "rwu";
	int i, compared = 0;

	for (i = 0; i < b->nr; i++) {
		const struct fdx *t = &b->fds[i], *later = fdx_of(a, t->fd);
		json_t *f = file_of(doc, t->fd);
		char mode[2] = { t->accmode < 3 ? modes[t->accmode] : '?', 0 };

		if (!later || memcmp(t, later, sizeof(*t)))
			continue;
		CHECK(f, "%s: fd %d missing", what, t->fd);
		CHECK(!strcmp(str(f, "mode"), mode),
		      "%s: fd %d mode %s, the guest opened it %s", what, t->fd,
		      str(f, "mode"), mode);
		CHECK(json_integer_value(json_object_get(f, "offset")) ==
		      (json_int_t)t->pos, "%s: fd %d offset %lld, the guest's %llu",
		      what, t->fd,
		      json_integer_value(json_object_get(f, "offset")), t->pos);
		CHECK(!strcmp(str(f, "device"), t->dev) &&
		      !strcmp(str(f, "rdev"), t->rdev),
		      "%s: fd %d device %s rdev %s, the guest's %s %s", what,
		      t->fd, str(f, "device"), str(f, "rdev"), t->dev, t->rdev);
		CHECK(json_integer_value(json_object_get(f, "size_bytes")) == t->size,
		      "%s: fd %d size %lld, the guest's %lld", what, t->fd,
		      json_integer_value(json_object_get(f, "size_bytes")), t->size);
		CHECK(json_integer_value(json_object_get(f, "euid")) == euid,
		      "%s: fd %d euid %lld, the process's is %u", what, t->fd,
		      json_integer_value(json_object_get(f, "euid")), euid);
		compared++;
	}
	return compared;
}

/* The files of pid: the list of `lsof -p PID`, a new reference. */
static json_t *lsof(const struct guest *g, int pid)
{
	int status;
	json_t *doc = keyhole_json_whole(&status, "lsof -p %d %d", pid,
					 g->pid), *files;

	CHECK(status == 0, "lsof -p %d: exit %d: %s", pid, status,
	      json_dumps(doc, 0));
	files = json_incref(doc_list(doc, "lsof"));
	json_decref(doc);
	return files;
}

/*
 * The text line of fd must have the words given as whole fields, in
 * order; a word ending in '*' matches any field it starts.
 */
static void expect_line(const struct guest *g, int pid, int fd,
			const char *words)
{
	char args[64], *out, *line, *save = NULL, *found = NULL;
	int status;

	snprintf(args, sizeof(args), "lsof -p %d %d", pid, g->pid);
	out = keyhole_whole(&status, args);
	CHECK(status == 0, "lsof -p %d: exit %d", pid, status);
	CHECK(strstr(out, "COMMAND") && strstr(out, " USER ") &&
	      strstr(out, " FD ") && strstr(out, " TYPE ") &&
	      strstr(out, " DEVICE ") && strstr(out, " SIZE/OFF ") &&
	      strstr(out, " NODE ") && strstr(out, " NAME"),
	      "lsof's header: %.120s", out);
	for (line = strtok_r(out, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char copy[4096], want[256], *f, *fsave = NULL, *w;
		char *wsave = NULL;
		int col = 0, fd_ok = 0;

		snprintf(copy, sizeof(copy), "%s", line);
		snprintf(want, sizeof(want), "%s", words);
		w = strtok_r(want, " ", &wsave);
		for (f = strtok_r(copy, " ", &fsave); f;
		     f = strtok_r(NULL, " ", &fsave), col++) {
			size_t n = w ? strlen(w) : 0;

			/* FD, the fourth field: the number and its mode. */
			if (col == 3)
				fd_ok = isdigit((unsigned char)*f) &&
					atoi(f) == fd &&
					f[strspn(f, "0123456789")];
			if (w && (w[n - 1] == '*' ? !strncmp(f, w, n - 1) :
						  !strcmp(f, w)))
				w = strtok_r(NULL, " ", &wsave);
		}
		if (fd_ok) {
			CHECK(!w, "lsof -p %d fd %d: '%s' lacks '%s' (all of: %s)",
			      pid, fd, line, w, words);
			found = line;
		}
	}
	CHECK(found, "lsof -p %d: no line for fd %d", pid, fd);
	free(out);
}

/*
 * The lines lsof -nP prints for kh-sockets's sockets (README: fd 3 its
 * TCP listener on 127.0.0.1:7778, 4 a connection to it, 6 UDP on
 * 127.0.0.1:7779, 7 TCP6 listening on [::1]:7780, 8 the unix listener
 * /tmp/kh.sock, 11 a stream socketpair's end, 17 a datagram pair's): an
 * inet socket's DEVICE is its inode and NODE its protocol, a unix one's
 * DEVICE its address and NODE its inode; NAME the endpoints and TCP's
 * state, or a unix socket's path and type. The inodes are the files'
 * (compared with the guest's above), the connection's port its own.
 */
static void socket_lines(json_t *files, char lines[7][160])
{
	long long ino[22], port;
	int fd;

	for (fd = 0; fd < 22; fd++)
		ino[fd] = json_integer_value(json_object_get(file_of(files, fd),
							      "inode"));
	port = json_integer_value(json_object_get(json_object_get(
		file_of(files, 4), "socket"), "lport"));
	CHECK(port > 0, "kh-sockets fd 4: no socket with a local port");
	snprintf(lines[0], 160, "3u IPv4 %lld 0t0 TCP 127.0.0.1:7778 (LISTEN)",
		 ino[3]);
	snprintf(lines[1], 160,
		 "4u IPv4 %lld 0t0 TCP 127.0.0.1:%lld->127.0.0.1:7778 (ESTABLISHED)",
		 ino[4], port);
	snprintf(lines[2], 160, "6u IPv4 %lld 0t0 UDP 127.0.0.1:7779", ino[6]);
	snprintf(lines[3], 160, "7u IPv6 %lld 0t0 TCP [::1]:7780 (LISTEN)",
		 ino[7]);
	snprintf(lines[4], 160, "8u unix 0x* 0t0 %lld /tmp/kh.sock type=STREAM",
		 ino[8]);
	snprintf(lines[5], 160, "11u unix 0x* 0t0 %lld type=STREAM", ino[11]);
	snprintf(lines[6], 160, "17u unix 0x* 0t0 %lld type=DGRAM", ino[17]);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *comm;
		unsigned int euid;
	} procs[] = {
		{ "init", 0 }, { "kh-files", 1002 }, { "kh-sockets", 0 },
		{ "kh-tree", 0 },
	};
	static const char *const families[] = {
		[3] = "inet", [4] = "inet", [5] = "inet", [6] = "inet",
		[7] = "inet6", [8] = "unix", [9] = "unix", [10] = "unix",
		[11] = "unix", [12] = "unix", [15] = "inet", [16] = "unix",
		[17] = "unix", [18] = "unix", [19] = "inet", [20] = "unix",
		[21] = "unix",
	};
	char sockets[7][160];
	struct fdx_view *before = calloc(1, sizeof(*before));
	struct fdx_view *after = calloc(1, sizeof(*after));
	int pid[4], i, compared = 0;
	char device[32];
	struct guest g;
	json_t *doc;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	CHECK(before && after, "out of memory");
	guest_load(&g, argv[1]);
	for (i = 0; i < 4; i++) {
		pid[i] = i ? guest_pid_of(&g, procs[i].comm) : 1;
		truth_fdx(&g, pid[i], before);
		doc = lsof(&g, pid[i]);
		truth_fdx(&g, pid[i], after);
		compared += compare(procs[i].comm, doc, before, after,
				    procs[i].euid);
		if (i == 2) {
			int fd;

			for (fd = 0; fd < 22; fd++) {
				json_t *f = file_of(doc, fd);
				const char *want = families[fd];

				CHECK(f, "kh-sockets: no fd %d", fd);
				CHECK(want ? !strcmp(str(f, "family"), want) :
				      json_is_null(json_object_get(f, "family")),
				      "kh-sockets fd %d: family %s, want %s", fd,
				      str(f, "family"), want ? want : "null");
			}
			socket_lines(doc, sockets);
		}
		if (i == 3) {
			const struct fdx *pts = fdx_of(before, 4);

			CHECK(pts && !strncmp(pts->rdev, "136:", 4),
			      "kh-tree's fd 4 is not its pts");
			snprintf(device, sizeof(device), "%s", pts->rdev);
			*strchr(device, ':') = ',';
		}
		json_decref(doc);
	}
	CHECK(compared >= 30, "only %d fds compared", compared);

	/* The text: lsof's FD, TYPE, DEVICE and SIZE/OFF. */
	/* Its size is 8, its offset 3: SIZE/OFF of a file is the size. */
	expect_line(&g, pid[1], 5, "kh-files 1002 5u REG 8 /tmp/kh-files.txt");
	expect_line(&g, pid[1], 6, "6r FIFO 0t0 pipe:[*");
	expect_line(&g, pid[1], 7, "7w FIFO 0t0 pipe:[*");
	expect_line(&g, pid[1], 0, "0r CHR 1,3 0t0 /dev/null");
	{
		static const int fds[] = { 3, 4, 6, 7, 8, 11, 17 };

		for (i = 0; i < 7; i++)
			expect_line(&g, pid[2], fds[i], sockets[i]);
	}
	{
		char words[96];

		snprintf(words, sizeof(words), "4u CHR %s 0t0 /dev/pts/*",
			 device);
		expect_line(&g, pid[3], 4, words);
	}
	free(before);
	free(after);
	return 0;
}
