// SPDX-License-Identifier: GPL-2.0-only
/*
 * khguest.c - multi-call guest program for the keyhole test guest.
 *
 * keyhole reads a guest's kernel state from the host.  To check what it
 * finds, the test guest runs a KNOWN set of long-lived processes and a
 * "ground truth" daemon that reports what the guest kernel itself sees.
 * One static binary provides all of them; it dispatches on the name it
 * was run as (argv[0] basename, via symlinks in the initramfs) or on
 * argv[1] ("khguest kh-tree").
 *
 *   kh-tree     parent of 2 kh-leaf children; the first has a kh-leaf child
 *   kh-files    uid/gid 1000; holds /proc/version, /init, /tmp/kh-files.txt,
 *               both ends of a pipe and /dev/null open
 *   kh-listen   TCP listener on 127.0.0.1:7777, accepts and closes
 *   kh-threads  one process with 8 threads in total (main + 7), all named
 *               kh-threads
 *   kh-churn    forks a kh-churnchild about 10 times a second; each child
 *               lives about 1 s and is reaped
 *   kh-truth    answers requests on /dev/ttyS1 (see README.md)
 *
 * Each long-lived program creates /run/kh/NAME.ready once it is fully set
 * up, so /init can start kh-truth only when everything else is in place.
 * Why C and not shell: an exec costs ~70 ms under TCG and the comm names
 * must be exact.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define READY_DIR "/run/kh"

static const char *prog = "khguest";

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: FAIL: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (errno)
		fprintf(stderr, ": %s", strerror(errno));
	fputc('\n', stderr);
	exit(1);
}

static void set_name(const char *name)
{
	prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

static void mark_ready(const char *name)
{
	char path[128];
	int fd;

	mkdir(READY_DIR, 0755);
	snprintf(path, sizeof(path), READY_DIR "/%s.ready", name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

/* ---- kh-tree --------------------------------------------------------- */

/* A leaf closes its copy of the sync pipe once it is named. */
static pid_t spawn_leaf(int syncw, int grandchild, int syncr)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid)
		return pid;
	set_name("kh-leaf");
	close(syncr);
	if (grandchild)
		spawn_leaf(syncw, 0, -1);
	close(syncw);
	sleep_forever();
	return 0;
}

static int kh_tree(void)
{
	int p[2];
	char c;

	set_name("kh-tree");
	if (pipe(p))
		die("pipe");
	spawn_leaf(p[1], 1, p[0]);	/* kh-leaf with a kh-leaf child */
	spawn_leaf(p[1], 0, p[0]);	/* plain kh-leaf */
	close(p[1]);
	while (read(p[0], &c, 1) > 0)	/* EOF: all 3 leaves are named */
		;
	close(p[0]);
	mark_ready("kh-tree");
	sleep_forever();
	return 0;
}

/* ---- kh-files -------------------------------------------------------- */

static int kh_files(void)
{
	int p[2], fd;

	set_name("kh-files");
	/* drop to uid/gid 1000 first, so the /tmp file is owned by 1000 */
	if (setgroups(0, NULL) || setgid(1000) || setuid(1000))
		die("setgid/setuid 1000");
	if (open("/proc/version", O_RDONLY) < 0)
		die("open /proc/version");
	if (open("/init", O_RDONLY) < 0)
		die("open /init");
	fd = open("/tmp/kh-files.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open /tmp/kh-files.txt");
	if (write(fd, "keyhole\n", 8) != 8)
		die("write /tmp/kh-files.txt");
	if (pipe(p))
		die("pipe");
	if (open("/dev/null", O_RDWR) < 0)
		die("open /dev/null");
	mark_ready("kh-files");
	sleep_forever();
	return 0;
}

/* ---- kh-listen ------------------------------------------------------- */

static int kh_listen(void)
{
	struct sockaddr_in sa;
	int s, c, one = 1;

	set_name("kh-listen");
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(7777);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind 127.0.0.1:7777");
	if (listen(s, 16))
		die("listen");
	mark_ready("kh-listen");
	for (;;) {
		c = accept(s, NULL, NULL);
		if (c >= 0)
			close(c);
	}
	return 0;
}

/* ---- kh-threads ------------------------------------------------------ */

#define NTHREADS 8	/* total, including the main thread */

static pthread_barrier_t barrier;

static void *thread_fn(void *arg)
{
	(void)arg;
	set_name("kh-threads");
	pthread_barrier_wait(&barrier);
	sleep_forever();
	return NULL;
}

static int kh_threads(void)
{
	pthread_t t;
	int i;

	set_name("kh-threads");
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (i = 1; i < NTHREADS; i++) {
		errno = pthread_create(&t, NULL, thread_fn, NULL);
		if (errno)
			die("pthread_create");
	}
	pthread_barrier_wait(&barrier);
	mark_ready("kh-threads");
	sleep_forever();
	return 0;
}

/* ---- kh-churn -------------------------------------------------------- */

static int kh_churn(void)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	pid_t pid;

	set_name("kh-churn");
	mark_ready("kh-churn");
	for (;;) {
		pid = fork();
		if (pid == 0) {
			set_name("kh-churnchild");
			sleep(1);
			_exit(0);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* ---- kh-truth -------------------------------------------------------- */

static FILE *out;

/* Read a small file into buf, NUL-terminated; returns length or -1. */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n, len = 0;

	if (fd < 0)
		return -1;
	while ((size_t)len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	return (int)len;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

/* Value of "Key:" in a status buffer, or NULL. */
static const char *status_field(const char *status, const char *key)
{
	size_t kl = strlen(key);
	const char *p = status;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			p += kl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static int numeric(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static void ps_task(long pid, long tid)
{
	char path[96], status[4096], comm[64];
	const char *st, *tg, *pp, *ui;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/status", pid, tid);
	if (read_small(path, status, sizeof(status)) <= 0)
		return;		/* task went away */
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/comm", pid, tid);
	if (read_small(path, comm, sizeof(comm)) < 0)
		return;
	chomp(comm);
	st = status_field(status, "State");
	tg = status_field(status, "Tgid");
	pp = status_field(status, "PPid");
	ui = status_field(status, "Uid");
	if (!st || !tg || !pp || !ui)
		return;
	fprintf(out, "%ld %ld %ld %ld %c %s\n", tid, strtol(tg, NULL, 10),
		strtol(pp, NULL, 10), strtol(ui, NULL, 10), *st, comm);
}

static void req_ps(void)
{
	DIR *d = opendir("/proc"), *td;
	struct dirent *de, *te;
	char path[64];

	if (!d) {
		fprintf(out, "error opendir /proc: %s\n", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (!numeric(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task",
			 atol(de->d_name));
		td = opendir(path);
		if (!td)
			continue;
		while ((te = readdir(td)))
			if (numeric(te->d_name))
				ps_task(atol(de->d_name),
					atol(te->d_name));
		closedir(td);
	}
	closedir(d);
}

static void req_uname(void)
{
	struct utsname u;

	if (uname(&u)) {
		fprintf(out, "error uname: %s\n", strerror(errno));
		return;
	}
	fprintf(out, "%s\nversion %s\n", u.release, u.version);
}

static void req_kaslr(void)
{
	char buf[4096], line[512], addr[32], type[8], name[256];
	int found = 0;
	FILE *f;

	if (read_small("/proc/cmdline", buf, sizeof(buf)) < 0)
		buf[0] = 0;
	chomp(buf);
	fprintf(out, "%s\n", buf);
	f = fopen("/proc/kallsyms", "r");
	if (!f) {
		fprintf(out, "error /proc/kallsyms: %s\n", strerror(errno));
		return;
	}
	while (found < 2 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %7s %255s", addr, type, name) != 3)
			continue;
		if (!strcmp(name, "_text") || !strcmp(name, "init_task")) {
			fputs(line, out);
			found++;
		}
	}
	fclose(f);
}

static void req_la57(void)
{
	char line[8192];
	int yes = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "flags", 5))
				continue;
			chomp(line);
			strcat(line, " ");
			yes = strstr(line, " la57 ") != NULL;
			break;
		}
		fclose(f);
	}
	fprintf(out, "%s\n", yes ? "yes" : "no");
}

static void handle(char *req)
{
	chomp(req);
	if (!*req)
		return;		/* empty lines resynchronise; no reply */
	if (!strcmp(req, "ping"))
		fprintf(out, "pong\n");
	else if (!strncmp(req, "sync ", 5))
		fprintf(out, "%s\n", req + 5);
	else if (!strcmp(req, "uname"))
		req_uname();
	else if (!strcmp(req, "ps"))
		req_ps();
	else if (!strcmp(req, "kaslr"))
		req_kaslr();
	else if (!strcmp(req, "la57"))
		req_la57();
	else
		fprintf(out, "error unknown request\n");
	fprintf(out, "END\n");
	fflush(out);
}

static int kh_truth(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/ttyS1";
	struct termios t;
	char line[1024];
	FILE *in;
	int fd;

	set_name("kh-truth");
	fd = open(dev, O_RDWR | O_NOCTTY);
	if (fd < 0)
		die("open %s", dev);
	if (tcgetattr(fd, &t))
		die("tcgetattr %s", dev);
	cfmakeraw(&t);
	cfsetispeed(&t, B115200);
	cfsetospeed(&t, B115200);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t))
		die("tcsetattr %s", dev);
	tcflush(fd, TCIOFLUSH);	/* drop what arrived before raw mode */
	in = fdopen(fd, "r");
	out = fdopen(dup(fd), "w");
	if (!in || !out)
		die("fdopen");
	mark_ready("kh-truth");
	while (fgets(line, sizeof(line), in))
		handle(line);
	die("read %s: EOF", dev);
	return 1;
}

/* ---- dispatch -------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');

	name = name ? name + 1 : argv[0];
	if (!strcmp(name, "khguest") && argc > 1) {
		argv++;
		argc--;
		name = argv[0];
	}
	prog = name;
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(name, "kh-tree"))
		return kh_tree();
	if (!strcmp(name, "kh-files"))
		return kh_files();
	if (!strcmp(name, "kh-listen"))
		return kh_listen();
	if (!strcmp(name, "kh-threads"))
		return kh_threads();
	if (!strcmp(name, "kh-churn"))
		return kh_churn();
	if (!strcmp(name, "kh-truth"))
		return kh_truth(argc, argv);
	fprintf(stderr, "usage: khguest kh-tree|kh-files|kh-listen|kh-threads|kh-churn|kh-truth [tty]\n");
	return 2;
}
