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
 *   kh-files    real uid 1000, gid 1001 (effective 1002, 1003); holds
 *               /proc/version, /init, /tmp/kh-files.txt,
 *               both ends of a pipe and /dev/null open; a second
 *               thread has an fd table of its own (unshare(CLONE_FILES))
 *               that also holds /tmp/kh-own-fds.txt
 *   kh-listen   TCP listener on 127.0.0.1:7777, accepts and closes
 *   kh-threads  one process with 8 threads in total (main + 7), all named
 *               kh-threads
 *   kh-churn    forks a kh-churnchild about 10 times a second; each child
 *               lives about 1 s and is reaped
 *   kh-sockets  TCP listener 127.0.0.1:7778 with an ESTABLISHED connection
 *               to itself (both ends held), UDP 127.0.0.1:7779, TCP6
 *               listener [::1]:7780, UNIX listener /tmp/kh.sock with a
 *               connected pair, an anonymous socketpair and a pipe;
 *               and sockets in flight that no process holds (7782, 7783)
 *   kh-maps     maps /init (read-only, private), /tmp/kh-maps.dat
 *               (read-write, shared) and an anonymous region; run as
 *               `kh-maps --alpha beta "gamma delta"` for a known cmdline
 *   kh-webload  fetches /index.html from busybox httpd on 127.0.0.1:8080 about 20
 *               times a second (a web server under load)
 *   kh-bash     keeps Debian's bash -i reading commands from a pipe it holds:
 *               after the commands it wrote, bash's own `history` (with
 *               timestamps) is in /run/kh/bash.history, bash's pid in
 *               /run/kh/bash.pid
 *   kh-truth    answers requests on /dev/ttyS1 (see README.md); its
 *               "rootkit" request starts kh-hidden and kh-rwx and loads
 *               the test rootkit khrootkit.ko
 *
 * Each long-lived program creates /run/kh/NAME.ready once it is fully set
 * up, so /init can start kh-truth only when everything else is in place.
 * Why C and not shell: an exec costs ~70 ms under TCG and the comm names
 * must be exact.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <grp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
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

/*
 * A pseudo-terminal that becomes kh-tree's controlling terminal (it is a
 * session leader, started by setsid), which its leaves inherit: ps's TTY
 * column then has something to show besides "?".
 */
static void take_pty(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);

	if (master < 0 || grantpt(master) || unlockpt(master))
		die("posix_openpt");
	if (open(ptsname(master), O_RDWR) < 0)
		die("open %s", ptsname(master));
}

static int kh_tree(void)
{
	int p[2];
	char c;

	set_name("kh-tree");
	take_pty();
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

/*
 * kh-files's second thread: an fd table of its own (unshare(CLONE_FILES)
 * copies the process's), holding /tmp/kh-own-fds.txt, which the
 * process's table does not. It says so on the pipe in arg, then closes
 * its copy of the pipe.
 */
static void *own_table(void *arg)
{
	int *p = arg;

	if (unshare(CLONE_FILES) ||
	    open("/tmp/kh-own-fds.txt", O_RDWR | O_CREAT, 0644) < 0 ||
	    write(p[1], "1", 1) != 1)
		die("a thread's own fd table");
	close(p[0]);
	close(p[1]);
	sleep_forever();
	return NULL;
}

static int kh_files(void)
{
	int p[2], q[2], fd;
	pthread_t t;
	char c;

	set_name("kh-files");
	/*
	 * Drop privileges first, so the /tmp file is its own. Every id
	 * differs from the others (real uid 1000, gid 1001; effective and
	 * saved uid 1002, gid 1003), so that a reader that takes one for
	 * another (uid for gid, effective for real) is caught.
	 */
	if (setgroups(0, NULL) || setresgid(1001, 1003, 1003) ||
	    setresuid(1000, 1002, 1002))
		die("setresgid/setresuid");
	if (open("/proc/version", O_RDONLY) < 0)
		die("open /proc/version");
	if (open("/init", O_RDONLY) < 0)
		die("open /init");
	fd = open("/tmp/kh-files.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open /tmp/kh-files.txt");
	if (write(fd, "keyhole\n", 8) != 8)
		die("write /tmp/kh-files.txt");
	/* An offset that is not the size, so that one is not the other. */
	if (lseek(fd, 3, SEEK_SET) != 3)
		die("lseek /tmp/kh-files.txt");
	if (pipe(p))
		die("pipe");
	if (open("/dev/null", O_RDWR) < 0)
		die("open /dev/null");
	if (pipe(q))
		die("pipe");
	errno = pthread_create(&t, NULL, own_table, q);
	if (errno || read(q[0], &c, 1) != 1)
		die("pthread_create (own fd table)");
	close(q[0]);
	close(q[1]);
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

#define BURN_NS	100000000L	/* CPU time each thread spends first */

static pthread_barrier_t barrier;

/*
 * Spends BURN_NS of this thread's CPU time, so that a process's time
 * (its threads' sum) is told from its main thread's: 10 clock ticks.
 */
static void burn_cpu(void)
{
	struct timespec ts;

	do {
		if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
			die("clock_gettime");
	} while (ts.tv_sec == 0 && ts.tv_nsec < BURN_NS);
}

static void *thread_fn(void *arg)
{
	set_name("kh-threads");
	burn_cpu();
	if (arg)
		return NULL;	/* the one that exits: its time stays */
	pthread_barrier_wait(&barrier);
	sleep_forever();
	return NULL;
}

static int kh_threads(void)
{
	pthread_t t;
	int i;

	set_name("kh-threads");
	errno = pthread_create(&t, NULL, thread_fn, (void *)"exits");
	if (errno || (errno = pthread_join(t, NULL)))
		die("pthread_create (exiting thread)");
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

/* ---- kh-sockets ----------------------------------------------------- */

/*
 * One process holding one socket of every kind keyhole must recognise,
 * in fixed, easily checked states: LISTEN (0A) and ESTABLISHED (01) TCP
 * over IPv4, a listening TCP6 socket, a bound UDP socket, UNIX stream
 * sockets with and without a path, plus a pipe for contrast.
 */

static int tcp_listener(int family, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s, one = 1, tries;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(port);
		inet_pton(AF_INET, addr, &sa->sin_addr);
		len = sizeof(*sa);
	} else {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &sa->sin6_addr);
		len = sizeof(*sa);
	}
	s = socket(family, SOCK_STREAM, 0);
	if (s < 0)
		die("socket %s", addr);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* ::1 may not be usable the instant lo comes up; retry ~2 s */
	for (tries = 0; bind(s, (struct sockaddr *)&ss, len); tries++) {
		if (errno != EADDRNOTAVAIL || tries >= 20)
			die("bind %s:%d", addr, port);
		usleep(100 * 1000);
	}
	if (listen(s, 16))
		die("listen %s:%d", addr, port);
	return s;
}

/*
 * A socket on addr:port of type (SOCK_STREAM: listening), bound; -1 and
 * errno on failure.
 */
static int bound_socket(int family, int type, const char *addr, int port)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons(port) };
	struct sockaddr_in sa4 = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	struct sockaddr *sa = family == AF_INET6 ? (struct sockaddr *)&sa6 :
						   (struct sockaddr *)&sa4;
	socklen_t size = family == AF_INET6 ? sizeof(sa6) : sizeof(sa4);
	int s = socket(family, type, 0), one = 1, tries;

	if (family == AF_INET6)
		inet_pton(AF_INET6, addr, &sa6.sin6_addr);
	else
		inet_pton(AF_INET, addr, &sa4.sin_addr);
	if (s < 0)
		return -1;
	if (family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* ::1 may not be usable the instant lo comes up; retry ~2 s */
	for (tries = 0; bind(s, sa, size); tries++) {
		if (errno != EADDRNOTAVAIL || tries >= 20) {
			close(s);
			return -1;
		}
		usleep(100 * 1000);
	}
	if (type == SOCK_STREAM && listen(s, 4)) {
		close(s);
		return -1;
	}
	return s;
}

/*
 * Sockets no process holds, though each has its file: a TCP listener on
 * 127.0.0.1:7782, UDP on 127.0.0.1:7783 and on [::1]:7783, whose fds
 * went into an SCM_RIGHTS message on the first end of a unix socketpair
 * (fds 20-21) and were closed. Nobody receives the message, so the only
 * references are in flight, and /proc/PID/fd of no process shows them.
 */
static void in_flight_sockets(void)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = "kh-in-flight", .iov_len = 12 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg;
	int pair[2], fds[3], i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair))
		die("socketpair for the sockets in flight");
	fds[0] = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 7782);
	fds[1] = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 7783);
	fds[2] = bound_socket(AF_INET6, SOCK_DGRAM, "::1", 7783);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)
		die("sockets to send in flight");
	memset(&control, 0, sizeof(control));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	if (sendmsg(pair[0], &msg, 0) != 12)
		die("sendmsg SCM_RIGHTS");
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

static int kh_sockets(void)
{
	struct sockaddr_in sa;
	struct sockaddr_un su;
	int l4, c4, a4, u, l6, lu, cu, au, sp[2], p[2], c4b, cu2, dp[2], u2;
	char dgram[16];

	set_name("kh-sockets");

	/* TCP 127.0.0.1:7778: listener + an ESTABLISHED pair to it */
	l4 = tcp_listener(AF_INET, "127.0.0.1", 7778);
	c4 = socket(AF_INET, SOCK_STREAM, 0);
	if (c4 < 0)
		die("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(7778);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c4, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect 127.0.0.1:7778");
	a4 = accept(l4, NULL, NULL);
	if (a4 < 0)
		die("accept 127.0.0.1:7778");

	/* UDP 127.0.0.1:7779 */
	u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0)
		die("socket udp");
	sa.sin_port = htons(7779);
	if (bind(u, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind udp 127.0.0.1:7779");

	/* TCP6 [::1]:7780 */
	l6 = tcp_listener(AF_INET6, "::1", 7780);

	/* UNIX stream /tmp/kh.sock: listener + a connected pair */
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	strcpy(su.sun_path, "/tmp/kh.sock");
	unlink(su.sun_path);
	lu = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lu < 0)
		die("socket unix");
	if (bind(lu, (struct sockaddr *)&su, sizeof(su)) || listen(lu, 16))
		die("bind/listen /tmp/kh.sock");
	cu = socket(AF_UNIX, SOCK_STREAM, 0);
	if (cu < 0)
		die("socket unix");
	if (connect(cu, (struct sockaddr *)&su, sizeof(su)))
		die("connect /tmp/kh.sock");
	au = accept(lu, NULL, NULL);
	if (au < 0)
		die("accept /tmp/kh.sock");

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		die("socketpair");
	if (pipe(p))
		die("pipe");
	/*
	 * Bytes nobody reads, so that receive queues have a known length:
	 * 10 at the accepted TCP end, 11 at the accepted unix end, 5 at the
	 * socketpair's second end, one datagram at the UDP socket.
	 */
	sa.sin_port = htons(7779);
	if (write(c4, "kh-tcp-rq\n", 10) != 10 ||
	    write(cu, "kh-unix-rq\n", 11) != 11 ||
	    write(sp[0], "kh-sp", 5) != 5 ||
	    sendto(u, "kh-udp-rq", 9, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) != 9)
		die("queue bytes");

	/*
	 * fds 15-19: a connection to each listener that is never accepted
	 * (each listener's Recv-Q is 1), a unix datagram pair with two
	 * datagrams of 3 and 4 bytes waiting (its Recv-Q is the first's),
	 * and a UDP socket on 127.0.0.1:7781 that read one of the three
	 * datagrams it sent itself (memory freed but not yet returned).
	 */
	c4b = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons(7778);
	if (c4b < 0 || connect(c4b, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect 127.0.0.1:7778 again");
	cu2 = socket(AF_UNIX, SOCK_STREAM, 0);
	if (cu2 < 0 || connect(cu2, (struct sockaddr *)&su, sizeof(su)))
		die("connect /tmp/kh.sock again");
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dp) ||
	    write(dp[0], "abc", 3) != 3 || write(dp[0], "defg", 4) != 4)
		die("unix datagram pair");
	u2 = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_port = htons(7781);
	if (u2 < 0 || bind(u2, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind udp 127.0.0.1:7781");
	for (int i = 0; i < 3; i++)
		if (sendto(u2, "kh-udp-3", 8, 0, (struct sockaddr *)&sa,
			   sizeof(sa)) != 8)
			die("sendto 127.0.0.1:7781");
	if (recv(u2, dgram, sizeof(dgram), 0) != 8)
		die("recv 127.0.0.1:7781");
	in_flight_sockets();
	/* every fd above stays open for the life of the process */
	(void)a4, (void)u, (void)l6, (void)au, (void)c4b, (void)cu2;
	mark_ready("kh-sockets");
	sleep_forever();
	return 0;
}

/* ---- kh-maps --------------------------------------------------------- */

/*
 * File-backed (private read-only and shared read-write) and anonymous
 * mappings with known contents, and a cmdline with a space inside one
 * argument.  The fds are closed after mmap, so only the mappings refer
 * to the files.  Sizes are fixed so tests can check the VMA lengths.
 */
#define MAPS_SHARED_SIZE (16 * 4096)
#define MAPS_ANON_SIZE (64 * 4096)

static int kh_maps(void)
{
	static const char shared_tag[] = "KH-MAPS-SHARED\n";
	static const char anon_tag[] = "KH-MAPS-ANON\n";
	char *ro, *sh, *an;
	struct stat st;
	size_t i;
	int fd;

	set_name("kh-maps");
	fd = open("/init", O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die("open /init");
	ro = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (ro == MAP_FAILED)
		die("mmap /init");
	close(fd);

	fd = open("/tmp/kh-maps.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, MAPS_SHARED_SIZE))
		die("create /tmp/kh-maps.dat");
	sh = mmap(NULL, MAPS_SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		  fd, 0);
	if (sh == MAP_FAILED)
		die("mmap /tmp/kh-maps.dat");
	close(fd);
	for (i = 0; i < MAPS_SHARED_SIZE; i += 4096)
		memcpy(sh + i, shared_tag, sizeof(shared_tag) - 1);

	an = mmap(NULL, MAPS_ANON_SIZE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (an == MAP_FAILED)
		die("mmap anonymous");
	for (i = 0; i < MAPS_ANON_SIZE; i += 4096)	/* all resident */
		memcpy(an + i, anon_tag, sizeof(anon_tag) - 1);

	if (ro[0] != '#')
		die("/init mapping does not start with #!");
	mark_ready("kh-maps");
	sleep_forever();
	return 0;
}

/* ---- kh-webload ------------------------------------------------------ */

/*
 * A steady stream of short HTTP/1.0 fetches from busybox httpd (which
 * forks a child per connection), so the guest has sockets and processes
 * coming and going while it is inspected.  In C, not a wget loop: an
 * exec costs ~70 ms under TCG.  Each connection is closed with an RST
 * (SO_LINGER 0) after the reply, so no TIME_WAIT sockets pile up in
 * /proc/net/tcp (that would make the truth `net` reply huge).
 */
static int fetch_once(void)
{
	static const char req[] = "GET /index.html HTTP/1.0\r\n\r\n";
	struct linger lg = { 1, 0 };
	struct sockaddr_in sa;
	char buf[1024];
	ssize_t n, total = 0;
	int s, ok;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(8080);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = !connect(s, (struct sockaddr *)&sa, sizeof(sa)) &&
	     write(s, req, sizeof(req) - 1) == sizeof(req) - 1;
	while (ok && (n = read(s, buf, sizeof(buf))) > 0) {
		if (!total && strncmp(buf, "HTTP/1.", 7))
			ok = 0;
		total += n;
	}
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s);
	return ok && total > 0;
}

static int kh_webload(void)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 }, next, now;
	int i;

	set_name("kh-webload");
	for (i = 0; !fetch_once(); i++) {	/* wait for httpd, ~10 s */
		if (i >= 100)
			die("no reply from 127.0.0.1:8080");
		nanosleep(&tick, NULL);
		nanosleep(&tick, NULL);
	}
	mark_ready("kh-webload");
	/* fixed 50 ms period (absolute deadlines), so slow fetches under
	 * TCG do not lower the rate; if we fall behind, start over from now */
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		fetch_once();
		next.tv_nsec += tick.tv_nsec;
		if (next.tv_nsec >= 1000 * 1000 * 1000) {
			next.tv_nsec -= 1000 * 1000 * 1000;
			next.tv_sec++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec ||
		    (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
			next = now;
		else
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
					NULL);
	}
	return 0;
}

/* ---- kh-netns -------------------------------------------------------- */

/*
 * A network namespace of its own, with its loopback up (the kernel gives
 * it 127.0.0.1/8 and ::1): interfaces beyond the initial namespace's.
 */
static int kh_netns(void)
{
	struct ifreq ifr;
	int s;

	set_name("kh-netns");
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)");
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("SIOCSIFFLAGS lo up");
	close(s);
	mark_ready("kh-netns");
	sleep_forever();
	return 0;
}

/* ---- kh-bash --------------------------------------------------------- */

#define BASH		"/usr/local/bin/bash"
#define BASH_HISTORY	READY_DIR "/bash.history"
#define BASH_PID	READY_DIR "/bash.pid"

/*
 * What kh-bash types into bash: quotes, a comment, leading spaces and
 * UTF-8 (kept as bash keeps them), then enough numbered commands to grow
 * readline's history array past its first 502 slots (it is reallocated,
 * and most of the freed array's pointers stay in the heap), and one
 * command longer than a page.
 */
static const char *const bash_commands[] = {
	"echo kh-bash-first >/dev/null",
	"true 'single quoted' \"double quoted\" $((6 * 7))",
	"printf '%s\\n' 'caf\xc3\xa9 noir' >/dev/null",
	"  x=1; y=2 # a comment after two spaces",
	"for i in 1 2 3; do :; done",
};

static void bash_type(FILE *to)
{
	unsigned int i;

	for (i = 0; i < sizeof(bash_commands) / sizeof(bash_commands[0]); i++)
		fprintf(to, "%s\n", bash_commands[i]);
	for (i = 1; i <= 520; i++)
		fprintf(to, "echo kh-bash-line-%u >/dev/null\n", i);
	fprintf(to, ": ");
	for (i = 0; i < 600; i++)
		fprintf(to, "kh-long%u ", i % 10);
	fprintf(to, "\n");
	/* Last, so that the file holds every command, this one too. */
	fprintf(to, "HISTTIMEFORMAT='%%s ' history >%s.tmp && mv %s.tmp %s\n",
		BASH_HISTORY, BASH_HISTORY, BASH_HISTORY);
	fflush(to);
}

/*
 * bash -i on a pipe: interactive, so it keeps a history (readline's
 * history library, in its heap, each entry with a "#SECONDS" timestamp),
 * though it has no terminal. --noediting: no line editing, which would
 * take a tab for completion and, in the C locale, UTF-8 for meta keys.
 * HISTFILE=/dev/null: nothing is loaded or saved; HISTSIZE=-1: no limit,
 * so that the history array grows.
 */
static int kh_bash(void)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	char pid_line[32];
	FILE *to;
	pid_t pid;
	int p[2], i, fd;

	set_name("kh-bash");
	unlink(BASH_HISTORY);
	if (pipe(p))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(p[0], 0);
		dup2(null, 1);
		dup2(null, 2);
		close(p[0]);
		close(p[1]);
		close(null);
		setenv("HISTFILE", "/dev/null", 1);
		setenv("HISTSIZE", "-1", 1);
		setenv("HOME", "/tmp", 1);
		execl(BASH, "bash", "--noediting", "-i", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	to = fdopen(p[1], "w");
	if (!to)
		die("fdopen");
	bash_type(to);
	/* ~110 s: /init waits 120 s for every program to be ready. */
	for (i = 0; access(BASH_HISTORY, F_OK); i++) {
		if (i >= 1100 || waitpid(pid, NULL, WNOHANG) == pid)
			die("bash wrote no %s", BASH_HISTORY);
		nanosleep(&tick, NULL);
	}
	snprintf(pid_line, sizeof(pid_line), "%d\n", (int)pid);
	fd = open(BASH_PID, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, pid_line, strlen(pid_line)) < 0)
		die("%s", BASH_PID);
	close(fd);
	mark_ready("kh-bash");
	/* The write end stays open: bash waits for its next command. */
	sleep_forever();
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

/* Field n (1-based, as in proc(5)) of a /proc/PID/stat line, or NULL. */
static const char *stat_field(const char *stat, int n)
{
	const char *p = strrchr(stat, ')');	/* the comm may hold ')' */
	int i;

	if (!p || n < 3)
		return NULL;
	p++;
	for (i = 3; i < n && p; i++) {
		p += strspn(p, " ");
		p = strchr(p, ' ');
	}
	return p ? p + strspn(p, " ") : NULL;
}

/* A task's status and stat (4096 and 2048 bytes); 0 if it went away. */
static int read_task(long pid, long tid, char *status, char *stat)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/status", pid, tid);
	if (read_small(path, status, 4096) <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat", pid, tid);
	return read_small(path, stat, 2048) > 0;
}

static void ps_task(long pid, long tid)
{
	char path[96], status[4096], stat[2048], comm[64];
	const char *st, *tg, *pp, *ui, *gi, *th, *start;

	if (!read_task(pid, tid, status, stat))
		return;		/* task went away */
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/comm", pid, tid);
	if (read_small(path, comm, sizeof(comm)) < 0)
		return;
	chomp(comm);
	st = status_field(status, "State");
	tg = status_field(status, "Tgid");
	pp = status_field(status, "PPid");
	ui = status_field(status, "Uid");
	gi = status_field(status, "Gid");
	th = status_field(status, "Threads");
	start = stat_field(stat, 22);
	if (!st || !tg || !pp || !ui || !gi || !th || !start)
		return;
	fprintf(out, "%ld %ld %ld %ld %ld %c %ld %llu %s\n", tid,
		strtol(tg, NULL, 10), strtol(pp, NULL, 10),
		strtol(ui, NULL, 10), strtol(gi, NULL, 10), *st,
		strtol(th, NULL, 10), strtoull(start, NULL, 10), comm);
}

/*
 * What ps -ef adds, per task: "tid tgid euid egid tty_nr ticks
 * group_ticks" (utime + stime of the task's own stat and of its
 * process's), after a line "btime SECONDS" from /proc/stat.
 */
static void psx_task(long pid, long tid)
{
	char path[96], status[4096], stat[2048], group[2048];
	const char *ui, *gi, *tty, *ut, *st, *gut, *gst;
	unsigned long uid[2], gid[2];

	if (!read_task(pid, tid, status, stat))
		return;		/* task went away */
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (read_small(path, group, sizeof(group)) <= 0)
		return;
	ui = status_field(status, "Uid");
	gi = status_field(status, "Gid");
	tty = stat_field(stat, 7);
	ut = stat_field(stat, 14);
	st = stat_field(stat, 15);
	gut = stat_field(group, 14);
	gst = stat_field(group, 15);
	if (!ui || !gi || !tty || !ut || !st || !gut || !gst ||
	    sscanf(ui, "%lu %lu", &uid[0], &uid[1]) != 2 ||
	    sscanf(gi, "%lu %lu", &gid[0], &gid[1]) != 2)
		return;
	fprintf(out, "%ld %ld %lu %lu %lu %llu %llu\n", tid, pid, uid[1],
		gid[1], strtoul(tty, NULL, 10),
		strtoull(ut, NULL, 10) + strtoull(st, NULL, 10),
		strtoull(gut, NULL, 10) + strtoull(gst, NULL, 10));
}

static void for_each_task(void (*fn)(long pid, long tid))
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
				fn(atol(de->d_name), atol(te->d_name));
		closedir(td);
	}
	closedir(d);
}

static void req_psx(void)
{
	char stat[8192];
	const char *btime = NULL;

	if (read_small("/proc/stat", stat, sizeof(stat)) > 0)
		btime = strstr(stat, "\nbtime ");
	if (!btime) {
		fprintf(out, "error no btime in /proc/stat\n");
		return;
	}
	fprintf(out, "btime %lu\n", strtoul(btime + 7, NULL, 10));
	for_each_task(psx_task);
}

static void req_ps(void)
{
	for_each_task(ps_task);
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

/*
 * Where the kernel put itself, as the guest sees it (kh-truth is root and
 * kptr_restrict is 0, so the addresses are real):
 *   text VA             _text in /proc/kallsyms
 *   kernel_code PA      start of "Kernel code" in /proc/iomem
 *   page_offset_base VA the direct map's base: /proc/kcore describes
 *                       each RAM range with its virtual address in the
 *                       direct map and its physical one (p_paddr), so
 *                       p_vaddr - p_paddr; every range must agree
 */
static void req_kernel(void)
{
	unsigned long long text = 0, code = 0, base = 0, start, end;
	char line[512], addr[32], type[8], name[256];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, i, ranges = 0;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f) {
		fprintf(out, "error /proc/kallsyms: %s\n", strerror(errno));
		return;
	}
	while (!text && fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %7s %255s", addr, type, name) == 3 &&
		    !strcmp(name, "_text"))
			text = strtoull(addr, NULL, 16);
	fclose(f);

	f = fopen("/proc/iomem", "r");
	if (!f) {
		fprintf(out, "error /proc/iomem: %s\n", strerror(errno));
		return;
	}
	while (!code && fgets(line, sizeof(line), f)) {
		chomp(line);
		if (sscanf(line, " %llx-%llx : %255[^\n]", &start, &end,
			   name) == 3 && !strcmp(name, "Kernel code"))
			code = start;
	}
	fclose(f);

	fd = open("/proc/kcore", O_RDONLY);
	if (fd < 0) {
		fprintf(out, "error /proc/kcore: %s\n", strerror(errno));
		return;
	}
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_phentsize != sizeof(ph)) {
		fprintf(out, "error /proc/kcore: not a 64-bit ELF\n");
		close(fd);
		return;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) !=
		    sizeof(ph)) {
			fprintf(out, "error /proc/kcore: short phdr\n");
			close(fd);
			return;
		}
		/* RAM: a physical address, and below the kernel image's map. */
		if (ph.p_type != PT_LOAD || ph.p_paddr == (Elf64_Addr)-1 ||
		    ph.p_vaddr >= 0xffffffff80000000ULL)
			continue;
		if (ranges++ && base != ph.p_vaddr - ph.p_paddr) {
			fprintf(out, "error /proc/kcore: RAM ranges disagree on the direct map\n");
			close(fd);
			return;
		}
		base = ph.p_vaddr - ph.p_paddr;
	}
	close(fd);
	if (!text || !code || !ranges) {
		fprintf(out, "error kernel: _text %llx, Kernel code %llx, %d RAM ranges\n",
			text, code, ranges);
		return;
	}
	fprintf(out, "text %llx\nkernel_code %llx\npage_offset_base %llx\n",
		text, code, base);
}

/*
 * Where each module's struct module is: the __this_module symbol the
 * module's own kallsyms name, "NAME ADDR" per module.
 */
static void req_module_structs(void)
{
	char line[512], addr[32], type[8], name[256], mod[256];
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f) {
		fprintf(out, "error /proc/kallsyms: %s\n", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %7s %255s [%255[^]]]", addr, type, name,
			   mod) == 4 && !strcmp(name, "__this_module"))
			fprintf(out, "%s %s\n", mod, addr);
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

/* Copy a file verbatim to out (adding a final newline if missing). */
static int cat_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY), last = '\n';

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, n, out);
		last = buf[n - 1];
	}
	close(fd);
	if (last != '\n')
		fputc('\n', out);
	return 0;
}

/* First whitespace-separated fields of a small file, or "?" */
static void first_fields(const char *path, int nfields, char *dst,
			 size_t size)
{
	char buf[512], *p;
	int i;

	snprintf(dst, size, "?");
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return;
	for (p = buf, i = 0; i < nfields; i++) {
		p += strspn(p, " \t\n");
		p += strcspn(p, " \t\n");
	}
	*p = 0;
	snprintf(dst, size, "%s", buf + strspn(buf, " \t\n"));
}

/* Number of CPUs in a sysfs cpu list like "0-3,5" */
static int count_cpulist(const char *s)
{
	long a, b;
	char *e;
	int n = 0;

	while (*s && *s != '\n') {
		a = strtol(s, &e, 10);
		if (e == s)
			break;
		b = a;
		if (*e == '-')
			b = strtol(e + 1, &e, 10);
		n += b - a + 1;
		s = *e == ',' ? e + 1 : e;
	}
	return n;
}

static void req_info(void)
{
	char buf[256];
	struct utsname u;

	if (uname(&u)) {
		fprintf(out, "error uname: %s\n", strerror(errno));
		return;
	}
	fprintf(out, "release %s\nversion %s\nhostname %s\ndomainname %s\n",
		u.release, u.version, u.nodename, u.domainname);
	first_fields("/proc/uptime", 1, buf, sizeof(buf));
	fprintf(out, "uptime %s\n", buf);
	if (read_small("/sys/devices/system/cpu/online", buf, sizeof(buf)) > 0)
		fprintf(out, "cpus %d\n", count_cpulist(buf));
	else
		fprintf(out, "cpus ?\n");
	if (read_small("/sys/devices/system/cpu/possible", buf, sizeof(buf)) > 0)
		fprintf(out, "cpus_possible %d\n", count_cpulist(buf));
	else
		fprintf(out, "cpus_possible ?\n");
	first_fields("/proc/loadavg", 3, buf, sizeof(buf));
	fprintf(out, "loadavg %s\n", buf);
}

static void req_cat(const char *path)
{
	if (cat_file(path))
		fprintf(out, "error %s: %s\n", path, strerror(errno));
}

/* fn for each process in /proc; an "error" line if /proc is unreadable. */
static void each_pid(void (*fn)(long pid, void *arg), void *arg)
{
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d) {
		fprintf(out, "error opendir /proc: %s\n", strerror(errno));
		return;
	}
	while ((de = readdir(d)))
		if (numeric(de->d_name))
			fn(atol(de->d_name), arg);
	closedir(d);
}

/*
 * "environs": every process's /proc/PID/environ, one "PID ENTRY" line per
 * entry (bytes outside printable ASCII as '?', as keyhole gives them),
 * and "PID" alone for a process with an empty one; processes whose
 * environ cannot be read (kernel threads, gone) are left out.
 */
static void environ_of(long pid, void *arg)
{
	static char env[128 * 1024];
	ssize_t n, i, start = 0;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, env, sizeof(env));
	close(fd);
	if (n < 0)
		return;
	if (!n)
		fprintf(out, "%ld\n", pid);
	for (i = 0; i < n; i++) {
		if (env[i] && i + 1 < n) {
			if (env[i] < 0x20 || env[i] >= 0x7f)
				env[i] = '?';
			continue;
		}
		if (env[i] && (env[i] < 0x20 || env[i] >= 0x7f))
			env[i] = '?';
		fprintf(out, "%ld %.*s\n", pid, (int)(i - start + !!env[i]),
			env + start);
		start = i + 1;
	}
}

static void req_environs(void)
{
	each_pid(environ_of, NULL);
}

/*
 * "kallsyms NAME...": the lines of /proc/kallsyms for the kernel's own
 * symbols (not modules') with those names, as "ADDR TYPE NAME", then
 * "count N", how many of the kernel's own it lists in all, and "distinct
 * N", how many names (static symbols of one name in several files are
 * one name).
 */
static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void req_kallsyms(char *names)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[1024], want[4096], **all = NULL;
	unsigned long count = 0, cap = 0, distinct = 0, i;

	if (!f) {
		fprintf(out, "error /proc/kallsyms: %s\n", strerror(errno));
		return;
	}
	snprintf(want, sizeof(want), " %s ", names);
	while (fgets(line, sizeof(line), f)) {
		char addr[32], type[4], name[512], key[520];

		if (strchr(line, '[') ||
		    sscanf(line, "%31s %3s %511s", addr, type, name) != 3)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 65536;
			all = realloc(all, cap * sizeof(*all));
			if (!all)
				die("out of memory");
		}
		all[count] = strdup(name);
		if (!all[count++])
			die("out of memory");
		snprintf(key, sizeof(key), " %s ", name);
		if (strstr(want, key))
			fprintf(out, "%s %s %s\n", addr, type, name);
	}
	fclose(f);
	if (count)
		qsort(all, count, sizeof(*all), str_cmp);
	for (i = 0; i < count; i++) {
		distinct += !i || strcmp(all[i - 1], all[i]);
		if (i)
			free(all[i - 1]);
	}
	if (count)
		free(all[count - 1]);
	free(all);
	fprintf(out, "count %lu\ndistinct %lu\n", count, distinct);
}

/*
 * "creds": every process's "PID UID... GID... CAPINH CAPPRM CAPEFF CAPBND
 * CAPAMB" from /proc/PID/status (four uids and gids each, real to fs),
 * processes gone meanwhile left out.
 */
static void creds_of(long pid, void *arg)
{
	static const char *const caps[5] = {
		"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
	};
	char path[64], line[256], uid[80] = "", gid[80] = "";
	char cap[5][20] = { "", "", "", "", "" };
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned int a, b, c, e;

		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c, &e) == 4)
			snprintf(uid, sizeof(uid), "%u %u %u %u", a, b, c, e);
		if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &c, &e) == 4)
			snprintf(gid, sizeof(gid), "%u %u %u %u", a, b, c, e);
		for (i = 0; i < 5; i++)
			if (!strncmp(line, caps[i], 7))
				sscanf(line + 7, "%19s", cap[i]);
	}
	fclose(f);
	if (uid[0] && gid[0] && cap[4][0])
		fprintf(out, "%ld %s %s %s %s %s %s %s\n", pid, uid, gid,
			cap[0], cap[1], cap[2], cap[3], cap[4]);
}

static void req_creds(void)
{
	each_pid(creds_of, NULL);
}

/*
 * "elfs": every process's ELF objects as its own /proc/PID/maps and
 * /proc/PID/mem show them, "PID START END TYPE EXE PATH": a file mapping
 * (a path) at offset 0 that is not the continuation of the one before it
 * starts an object, which runs over the lines of the same file (inode
 * and path) that follow it; its first bytes, read through /proc/PID/mem,
 * must be an ELF header (TYPE is its e_type); EXE is 1 when the path is
 * /proc/PID/exe's.
 */
struct maps_line {
	unsigned long start, end, offset, inode;
	char path[256];
};

static int maps_line(const char *line, struct maps_line *m)
{
	int n = 0;

	m->path[0] = 0;
	if (sscanf(line, "%lx-%lx %*s %lx %*s %lu %n", &m->start, &m->end,
		   &m->offset, &m->inode, &n) < 4)
		return 0;
	snprintf(m->path, sizeof(m->path), "%s", line + n);
	chomp(m->path);
	return 1;
}

static int same_file(const struct maps_line *a, const struct maps_line *b)
{
	return a->inode == b->inode && !strcmp(a->path, b->path);
}

static void elfs_of(long pid, void *arg)
{
	struct maps_line cur = { 0 }, prev = { 0 }, next;
	char path[64], exe[256] = "", line[512];
	unsigned char ehdr[18];
	int mem, have = 0, had_prev = 0, more;
	ssize_t n;
	FILE *maps;

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%ld/mem", pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || mem < 0)
		goto out;
	do {
		more = fgets(line, sizeof(line), maps) && maps_line(line, &next);
		if (have && more && same_file(&next, &cur)) {
			cur.end = next.end;
			prev = next;
			continue;
		}
		if (have && pread(mem, ehdr, sizeof(ehdr), cur.start) ==
		    sizeof(ehdr) && !memcmp(ehdr, "\177ELF", 4))
			fprintf(out, "%ld %lx %lx %u %d %s\n", pid, cur.start,
				cur.end, ehdr[16] | ehdr[17] << 8,
				!strcmp(cur.path, exe), cur.path);
		have = more && next.path[0] == '/' && !next.offset &&
		       !(had_prev && same_file(&next, &prev));
		if (more) {
			cur = next;
			prev = next;
			had_prev = 1;
		}
	} while (more);
out:
	if (maps)
		fclose(maps);
	if (mem >= 0)
		close(mem);
}

static void req_elfs(void)
{
	each_pid(elfs_of, NULL);
}

/*
 * "bash": the pid of kh-bash's bash, then its history as bash's own
 * `HISTTIMEFORMAT='%s ' history` printed it ("%5d%c %s%s": number,
 * '*' or ' ', seconds and a space, the command).
 */
static void req_bash(void)
{
	char pid[32];

	if (read_small(BASH_PID, pid, sizeof(pid)) < 0) {
		fprintf(out, "error %s: %s\n", BASH_PID, strerror(errno));
		return;
	}
	chomp(pid);
	fprintf(out, "%s\n", pid);
	if (cat_file(BASH_HISTORY))
		fprintf(out, "error %s: %s\n", BASH_HISTORY, strerror(errno));
}

/*
 * "kmsg-mark TEXT": TEXT logged through /dev/kmsg at level notice (the
 * facility is then user), as a marker a test can look for.
 */
static void req_kmsg_mark(const char *text)
{
	char line[512];
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	int n = snprintf(line, sizeof(line), "<5>%s\n", text);

	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	if (fd < 0 || write(fd, line, n) != n)
		fprintf(out, "error /dev/kmsg: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* "kmsg-size": the size of the kernel's log buffer (log_buf_len). */
static void req_kmsg_size(void)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);

	if (size < 0)
		fprintf(out, "error klogctl: %s\n", strerror(errno));
	else
		fprintf(out, "%d\n", size);
}

/*
 * "kmsg-flood TAG BYTES": records of about 200 bytes through /dev/kmsg
 * until BYTES of text are logged, the last "TAG last", each write on an
 * open of its own (/dev/kmsg rate-limits each opener to 10 a burst).
 */
static void req_kmsg_flood(const char *arg)
{
	char tag[64], line[256];
	long bytes = 0, done = 0, n = 0;

	if (sscanf(arg, "%63s %ld", tag, &bytes) != 2 || bytes < 0) {
		fprintf(out, "error kmsg-flood TAG BYTES\n");
		return;
	}
	while (done < bytes) {
		int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
		int len = done + 256 < bytes ?
			snprintf(line, sizeof(line), "<7>%s %ld %0180d\n", tag,
				 n++, 0) :
			snprintf(line, sizeof(line), "<7>%s last\n", tag);

		if (fd < 0 || write(fd, line, len) != len) {
			fprintf(out, "error /dev/kmsg: %s\n", strerror(errno));
			if (fd >= 0)
				close(fd);
			return;
		}
		close(fd);
		if (done + 256 >= bytes)
			break;
		done += len;
	}
}

/*
 * "kmsg SEQ": the records of /dev/kmsg from sequence number SEQ on, one
 * per line as "SEQ PRI TS_USEC FLAG TEXT" (TEXT escaped as /dev/kmsg
 * escapes it), without the dictionary lines. Records the ring dropped
 * while reading (EPIPE) are skipped, as dmesg skips them.
 */
static void req_kmsg(const char *arg)
{
	unsigned long long from = strtoull(arg, NULL, 10), seq, ts;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char rec[8192 + 1], flag;
	unsigned int pri;
	ssize_t n;

	if (fd < 0) {
		fprintf(out, "error /dev/kmsg: %s\n", strerror(errno));
		return;
	}
	for (;;) {
		char *text, *nl;

		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		text = strchr(rec, ';');
		if (!text || sscanf(rec, "%u,%llu,%llu,%c", &pri, &seq, &ts,
				    &flag) != 4)
			continue;
		nl = strchr(++text, '\n');
		if (nl)
			*nl = 0;
		if (seq >= from)
			fprintf(out, "%llu %u %llu %c %s\n", seq, pri, ts, flag,
				text);
	}
	if (n < 0 && errno != EAGAIN)
		fprintf(out, "error read /dev/kmsg: %s\n", strerror(errno));
	close(fd);
}

static int ifindex_cmp(const void *a, const void *b)
{
	const int *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* iface lines from sysfs (by ifindex), then inet/inet6 from getifaddrs */
/*
 * What ip link shows: "NAME FLAGS OPERSTATE TYPE" per interface, FLAGS
 * in hex as rtnetlink gives them (dev_get_flags(): RUNNING, LOWER_UP),
 * operstate and type as /sys/class/net/NAME has them.
 */
static void req_links(void)
{
	struct ifaddrs *ifa, *a;
	char path[128], state[32], type[32];

	if (getifaddrs(&ifa)) {
		fprintf(out, "error getifaddrs: %s\n", strerror(errno));
		return;
	}
	for (a = ifa; a; a = a->ifa_next) {
		if (!a->ifa_addr || a->ifa_addr->sa_family != AF_PACKET)
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/operstate",
			 a->ifa_name);
		first_fields(path, 1, state, sizeof(state));
		snprintf(path, sizeof(path), "/sys/class/net/%s/type",
			 a->ifa_name);
		first_fields(path, 1, type, sizeof(type));
		fprintf(out, "%s 0x%x %s %s\n", a->ifa_name, a->ifa_flags,
			state, type);
	}
	freeifaddrs(ifa);
}

/*
 * The interfaces of process pid's network namespace, as its own
 * rtnetlink shows them (sysfs shows its mounter's): "ns INODE", then
 * "link NAME IFINDEX 0xFLAGS" and "inet|inet6 NAME ADDR/PREFIXLEN".
 * Read by a child that enters the namespace, so the daemon stays out.
 */
static void req_netns(long pid)
{
	char path[64], addr[INET6_ADDRSTRLEN];
	struct ifaddrs *ifa, *a;
	struct stat st;
	pid_t child;
	int fd, status;

	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(out, "error %s: %s\n", path, strerror(errno));
		return;
	}
	fflush(out);
	child = fork();
	if (child < 0) {
		fprintf(out, "error fork: %s\n", strerror(errno));
		close(fd);
		return;
	}
	if (!child) {
		if (setns(fd, CLONE_NEWNET) || getifaddrs(&ifa))
			_exit(1);
		fprintf(out, "ns %lu\n", (unsigned long)st.st_ino);
		for (a = ifa; a; a = a->ifa_next) {
			int fam = a->ifa_addr ? a->ifa_addr->sa_family : 0;
			const void *src;
			unsigned int plen = 0;

			if (fam == AF_PACKET) {
				fprintf(out, "link %s %u 0x%x\n", a->ifa_name,
					if_nametoindex(a->ifa_name),
					a->ifa_flags);
				continue;
			}
			if (fam != AF_INET && fam != AF_INET6)
				continue;
			src = fam == AF_INET ?
			      (const void *)&((struct sockaddr_in *)a->ifa_addr)->sin_addr :
			      (const void *)&((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
			inet_ntop(fam, src, addr, sizeof(addr));
			if (a->ifa_netmask) {
				const uint8_t *m = fam == AF_INET ?
					(const uint8_t *)&((struct sockaddr_in *)a->ifa_netmask)->sin_addr :
					(const uint8_t *)&((struct sockaddr_in6 *)a->ifa_netmask)->sin6_addr;
				int i, n = fam == AF_INET ? 4 : 16;

				for (i = 0; i < n; i++)
					plen += __builtin_popcount(m[i]);
			}
			fprintf(out, "%s %s %s/%u\n",
				fam == AF_INET ? "inet" : "inet6",
				a->ifa_name, addr, plen);
		}
		fflush(out);
		_exit(0);
	}
	close(fd);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		fprintf(out, "error reading the namespace of %ld\n", pid);
}

static void req_ifaces(void)
{
	char names[64][IF_NAMESIZE + 1], path[128], buf[64];
	char idx[64], flags[64], mtu[64], mac[64];
	int order[64][2], n = 0, i, plen;
	struct ifaddrs *ifa, *a;
	struct dirent *de;
	DIR *d;

	d = opendir("/sys/class/net");
	if (!d) {
		fprintf(out, "error /sys/class/net: %s\n", strerror(errno));
		return;
	}
	while ((de = readdir(d)) && n < 64) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > IF_NAMESIZE)
			continue;
		strcpy(names[n], de->d_name);
		snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex",
			 de->d_name);
		order[n][0] = read_small(path, buf, sizeof(buf)) > 0 ?
			      atoi(buf) : 0;
		order[n][1] = n;
		n++;
	}
	closedir(d);
	qsort(order, n, sizeof(order[0]), ifindex_cmp);
	for (i = 0; i < n; i++) {
		const char *nm = names[order[i][1]];

#define SYSNET(attr, dst) do { \
		snprintf(path, sizeof(path), "/sys/class/net/%s/" attr, nm); \
		first_fields(path, 1, dst, sizeof(dst)); } while (0)
		SYSNET("ifindex", idx);
		SYSNET("flags", flags);
		SYSNET("mtu", mtu);
		SYSNET("address", mac);
#undef SYSNET
		fprintf(out, "iface %s %s %s %s %s\n", nm, idx, flags, mtu,
			mac);
	}
	if (getifaddrs(&ifa)) {
		fprintf(out, "error getifaddrs: %s\n", strerror(errno));
		return;
	}
	for (a = ifa; a; a = a->ifa_next) {
		const unsigned char *m;
		const void *ad;
		size_t ml, k;

		if (!a->ifa_addr || !a->ifa_netmask)
			continue;
		if (a->ifa_addr->sa_family == AF_INET) {
			ad = &((struct sockaddr_in *)a->ifa_addr)->sin_addr;
			m = (void *)&((struct sockaddr_in *)a->ifa_netmask)->sin_addr;
			ml = 4;
		} else if (a->ifa_addr->sa_family == AF_INET6) {
			ad = &((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
			m = (void *)&((struct sockaddr_in6 *)a->ifa_netmask)->sin6_addr;
			ml = 16;
		} else {
			continue;
		}
		for (plen = 0, k = 0; k < ml; k++)
			plen += __builtin_popcount(m[k]);
		inet_ntop(a->ifa_addr->sa_family, ad, buf, sizeof(buf));
		fprintf(out, "%s %s %s/%d\n",
			ml == 4 ? "inet" : "inet6", a->ifa_name, buf, plen);
	}
	freeifaddrs(ifa);
}

/* The PID argument of a request, or -1 after replying with an error. */
static long pid_arg(const char *arg)
{
	char path[64];
	struct stat st;
	long pid;

	if (!arg || !numeric(arg))
		return -1;
	pid = atol(arg);
	snprintf(path, sizeof(path), "/proc/%ld", pid);
	if (pid <= 0 || stat(path, &st))
		return -1;
	return pid;
}

static int long_cmp(const void *a, const void *b)
{
	const long *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* The fds process pid has open, sorted; NULL (said) if it has none. */
static long *list_fds(long pid, size_t *nr)
{
	char path[96];
	struct dirent *de;
	long *fds = NULL;
	size_t n = 0, cap = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	d = opendir(path);
	if (!d) {
		fprintf(out, "error %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d))) {
		if (!numeric(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			fds = realloc(fds, cap * sizeof(*fds));
			if (!fds)
				die("realloc");
		}
		fds[n++] = atol(de->d_name);
	}
	closedir(d);
	qsort(fds, n, sizeof(*fds), long_cmp);
	*nr = n;
	return fds;
}

static void req_fds(long pid)
{
	char path[96], target[4096];
	size_t n = 0, i;
	long *fds = list_fds(pid, &n);
	ssize_t len;

	for (i = 0; i < n; i++) {
		struct stat sb;

		snprintf(path, sizeof(path), "/proc/%ld/fd/%ld", pid, fds[i]);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0 || stat(path, &sb))
			continue;	/* closed meanwhile */
		target[len] = 0;
		fprintf(out, "%ld %llu %s\n", fds[i],
			(unsigned long long)sb.st_ino, target);
	}
	free(fds);
}

/*
 * What lsof adds, per fd: "fd accmode pos dev rdev size" (O_ACCMODE of
 * fdinfo's flags, its pos, and st_dev, st_rdev as MAJOR:MINOR and st_size
 * of the file the fd refers to).
 */
static void req_fdx(long pid)
{
	char path[96], info[1024];
	const char *flags, *pos;
	size_t n = 0, i;
	long *fds = list_fds(pid, &n);

	for (i = 0; i < n; i++) {
		struct stat sb;

		snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%ld", pid,
			 fds[i]);
		if (read_small(path, info, sizeof(info)) <= 0)
			continue;	/* closed meanwhile */
		flags = status_field(info, "flags");
		pos = status_field(info, "pos");
		snprintf(path, sizeof(path), "/proc/%ld/fd/%ld", pid, fds[i]);
		if (!flags || !pos || stat(path, &sb))
			continue;
		fprintf(out, "%ld %lo %llu %u:%u %u:%u %lld\n", fds[i],
			strtoul(flags, NULL, 8) & O_ACCMODE,
			strtoull(pos, NULL, 10), major(sb.st_dev),
			minor(sb.st_dev), major(sb.st_rdev), minor(sb.st_rdev),
			(long long)sb.st_size);
	}
	free(fds);
}

static void req_net(void)
{
	static const char *const files[] = {
		"tcp", "tcp6", "udp", "udp6", "unix",
	};
	char path[64];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fprintf(out, "file %s\n", files[i]);
		snprintf(path, sizeof(path), "/proc/net/%s", files[i]);
		req_cat(path);
	}
}

/*
 * A loopback connection whose client closes first, so that the client's
 * side waits in TIME_WAIT for 60 s after the server closes too: no
 * process holds it. Its client port, or 0 (errno set).
 */
static unsigned int time_wait(int family)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6,
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in sa4 = { .sin_family = AF_INET };
	struct sockaddr *sa = family == AF_INET6 ? (struct sockaddr *)&sa6 :
						   (struct sockaddr *)&sa4;
	socklen_t size = family == AF_INET6 ? sizeof(sa6) : sizeof(sa4);
	socklen_t len = size;
	int l, c = -1, a = -1, saved;
	unsigned int port = 0;
	char buf[16];

	sa4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(family, SOCK_STREAM, 0);
	if (l < 0 || bind(l, sa, size) || listen(l, 1) ||
	    getsockname(l, sa, &len))
		goto out;
	c = socket(family, SOCK_STREAM, 0);
	if (c < 0 || connect(c, sa, size))
		goto out;
	a = accept(l, NULL, NULL);
	len = size;
	if (a < 0 || getsockname(c, sa, &len))
		goto out;
	port = ntohs(family == AF_INET6 ? sa6.sin6_port : sa4.sin_port);
	/* the client's FIN first; the server reads it, then closes too */
	close(c);
	c = -1;
	if (read(a, buf, sizeof(buf)) != 0)
		port = 0;
out:
	saved = errno;
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
	errno = saved;
	return port;
}

/* "timewait PORT PORT6": a TIME_WAIT socket over IPv4 and one over IPv6. */
static void req_timewait(void)
{
	unsigned int port = time_wait(AF_INET), port6 = time_wait(AF_INET6);

	if (port && port6)
		fprintf(out, "timewait %u %u\n", port, port6);
	else
		fprintf(out, "error timewait: %s\n", strerror(errno));
}

static void req_cmdline(long pid)
{
	static char buf[65536];
	char path[64];
	int len, i;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	len = read_small(path, buf, sizeof(buf));
	if (len < 0) {
		fprintf(out, "error %s: %s\n", path, strerror(errno));
		return;
	}
	for (i = 0; i < len; i += strlen(buf + i) + 1)
		fprintf(out, "%s\n", buf + i);
}

static void req_stat(long pid)
{
	char path[64], buf[2048], rss[64];

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (read_small(path, buf, sizeof(buf)) < 0) {
		fprintf(out, "error %s: %s\n", path, strerror(errno));
		return;
	}
	chomp(buf);
	fprintf(out, "%s\n", buf);
	snprintf(path, sizeof(path), "/proc/%ld/statm", pid);
	first_fields(path, 2, buf, sizeof(buf));
	if (sscanf(buf, "%*s %63s", rss) != 1)
		strcpy(rss, "?");
	fprintf(out, "rss_pages %s\n", rss);
}

static void pid_if_comm(long pid, void *arg)
{
	char path[64], c[64];

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if (read_small(path, c, sizeof(c)) < 0)
		return;
	chomp(c);
	if (!strcmp(c, arg))
		fprintf(out, "%ld\n", pid);
}

static void req_pids(const char *comm)
{
	each_pid(pid_if_comm, (void *)comm);
}

/*
 * "rootkit": loads the test rootkit khrootkit.ko (rootkit/khrootkit.c),
 * once. Starts two processes that live forever, both double-forked, so
 * that init is their parent (as for the processes /init starts), each in
 * a session of its own:
 *   kh-hidden  the rootkit unlinks it from the task list; it spins at
 *              SCHED_IDLE (always runnable, so always on a run queue, at
 *              little cost to the others) until the "calm" request or
 *              HIDDEN_SPIN_MAX seconds, then sleeps
 *   kh-rwx     an anonymous private PROT_READ|WRITE|EXEC mapping of 4
 *              pages, each page 0xcc bytes with "KH-RWX" at offset 16,
 *              and a page of a memfd (kh-mfd) mapped PROT_READ|EXEC
 * (both are forks of kh-truth, no exec: their cmdline is kh-truth's).
 * Then finit_module(khrootkit.ko, "hide_pid=PID sct=ADDR seq_ops=ADDR
 * ldisc_ops=ADDR vmap_list=ADDR"), the addresses of sys_call_table,
 * tcp4_seq_ops, n_tty_ops and vmap_area_list from /proc/kallsyms, and
 * replies
 *   ok hidden=PID rwx=PID:START-END mfd=START-END sct=SCT nr=NR hook=HOOK kprobe=KP nf=NF
 *      ftrace=FTRACE seq=SEQ_OPS:SHOW tty=LDISC_OPS:RECEIVE_BUF idt=IDT_HOOK
 * START-END as in /proc/PID/maps, the rest read back from
 * /sys/module/khrootkit/parameters; hex without 0x.
 */
#define ROOTKIT_SYS "/sys/module/khrootkit"
#define RWX_PAGES 4

/* A line from fd into buf (NUL-terminated), waiting at most ms at a time. */
static int read_line_fd(int fd, char *buf, size_t size, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	buf[0] = 0;
	while (len < size - 1 && !strchr(buf, '\n')) {
		if (poll(&pfd, 1, ms) <= 0)
			return -1;
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return -1;
		len += n;
		buf[len] = 0;
	}
	return strchr(buf, '\n') ? 0 : -1;
}

/* kh-hidden spins no longer than this, calmed or not (a guest left up). */
#define HIDDEN_SPIN_MAX 3600

static pid_t hidden_pid;
static volatile sig_atomic_t hidden_calm;

static void on_calm(int sig)
{
	(void)sig;
	hidden_calm = 1;
}

static void hidden_main(int wfd)
{
	struct sched_param sp = { 0 };
	time_t end = time(NULL) + HIDDEN_SPIN_MAX;

	signal(SIGUSR1, on_calm);
	if (sched_setscheduler(0, SCHED_IDLE, &sp))
		_exit(1);	/* the reader sees EOF */
	dprintf(wfd, "%d\n", (int)getpid());
	close(wfd);
	while (!hidden_calm && time(NULL) < end)
		;
	sleep_forever();
}

/*
 * "vanish": after "rootkit", khrootkit takes its kobject out of sysfs
 * and skips its vmalloc area in vmap_area_list's prev links (writes its
 * vanish parameter); "ok" once /sys/module/khrootkit is gone (10 s at
 * most).
 */
static void req_vanish(void)
{
	int fd = open(ROOTKIT_SYS "/parameters/vanish", O_WRONLY | O_CLOEXEC);
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	int i;

	if (fd < 0 || write(fd, "1", 1) != 1) {
		fprintf(out, "error %s/parameters/vanish: %s\n", ROOTKIT_SYS,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	for (i = 0; i < 200 && !access(ROOTKIT_SYS, F_OK); i++)
		nanosleep(&nap, NULL);
	if (!access(ROOTKIT_SYS, F_OK)) {
		fprintf(out, "error %s is still there\n", ROOTKIT_SYS);
		return;
	}
	fprintf(out, "ok\n");
}

/*
 * "calm": kh-hidden stops spinning (SIGUSR1, sent through its pid, which
 * the rootkit left in the IDR) and sleeps from now on; "ok".
 */
static void req_calm(void)
{
	if (hidden_pid <= 0 || kill(hidden_pid, SIGUSR1)) {
		fprintf(out, "error no kh-hidden to calm\n");
		return;
	}
	fprintf(out, "ok\n");
}

static void rwx_main(int wfd)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, RWX_PAGES * pg,
				PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *q;
	int i, mfd;

	if (p == MAP_FAILED)
		_exit(1);	/* the reader sees EOF */
	for (i = 0; i < RWX_PAGES; i++) {
		memset(p + i * pg, 0xcc, pg);
		memcpy(p + i * pg + 16, "KH-RWX", 6);
	}
	/* Fileless code: a memfd's page mapped read and execute. */
	mfd = memfd_create("kh-mfd", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, pg))
		_exit(1);
	q = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE, mfd, 0);
	if (q == MAP_FAILED)
		_exit(1);
	close(mfd);
	dprintf(wfd, "%d %lx %lx %lx %lx\n", (int)getpid(), (unsigned long)p,
		(unsigned long)p + RWX_PAGES * pg, (unsigned long)q,
		(unsigned long)q + pg);
	close(wfd);
	sleep_forever();
}

/*
 * fn(wfd) in a grandchild named name (its parent exits at once, so init
 * adopts it), with /dev/null as stdin/out/err and no other fd of
 * kh-truth's (not the serial line); fn writes one line to wfd once ready
 * and never returns. Returns the fd to read that line from, or -1.
 */
static int spawn_orphan(const char *name, void (*fn)(int wfd))
{
	int p[2], null;
	pid_t pid, g;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!pid) {
		g = fork();
		if (g)
			_exit(g < 0);
		setsid();
		set_name(name);
		null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(p[1], 3) < 0)
			_exit(1);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		closefrom(4);
		fn(3);
		_exit(1);
	}
	close(p[1]);
	waitpid(pid, NULL, 0);
	return p[0];
}

/* Address of a kernel symbol in /proc/kallsyms, 0 if absent. */
static unsigned long kallsyms_addr(const char *sym)
{
	char line[512], type[8], name[256];
	unsigned long addr, found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %7s %255s", &addr, type, name) == 3 &&
		    !strcmp(name, sym))
			found = addr;
	fclose(f);
	return found;
}

/* /sys/module/khrootkit/parameters/NAME, chomped, into buf ("?" if none) */
static void rootkit_param(const char *name, char *buf, size_t size)
{
	char path[128];

	snprintf(path, sizeof(path), ROOTKIT_SYS "/parameters/%s", name);
	if (read_small(path, buf, size) <= 0)
		snprintf(buf, size, "?");
	chomp(buf);
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* A BPF object's info (struct bpf_prog_info, bpf_map_info) by its fd. */
static int fd_info(int fd, void *info, __u32 len)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	memset(info, 0, len);
	attr.info.bpf_fd = fd;
	attr.info.info_len = len;
	attr.info.info = (unsigned long)info;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
}

/*
 * "bpf-load": an eBPF program (a socket filter that accepts nothing:
 * r0 = 0; exit) named kh_prog and an array map (4-byte keys, 8-byte
 * values, 4 entries) named kh_map, kept by this daemon's open fds for
 * the life of the guest; once ("ok loaded" again). Replies "ok prog=ID
 * map=ID".
 */
static void req_bpf_load(void)
{
	static const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static int prog_fd = -1, map_fd = -1;
	struct bpf_prog_info pinfo;
	struct bpf_map_info minfo;
	union bpf_attr attr;

	if (prog_fd < 0) {
		memset(&attr, 0, sizeof(attr));
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 8;
		attr.max_entries = 4;
		strcpy(attr.map_name, "kh_map");
		map_fd = sys_bpf(BPF_MAP_CREATE, &attr);
		if (map_fd < 0) {
			fprintf(out, "error BPF_MAP_CREATE: %s\n",
				strerror(errno));
			return;
		}
		memset(&attr, 0, sizeof(attr));
		attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
		attr.insns = (unsigned long)insns;
		attr.insn_cnt = 2;
		attr.license = (unsigned long)"GPL";
		strcpy(attr.prog_name, "kh_prog");
		prog_fd = sys_bpf(BPF_PROG_LOAD, &attr);
		if (prog_fd < 0) {
			fprintf(out, "error BPF_PROG_LOAD: %s\n",
				strerror(errno));
			close(map_fd);
			map_fd = -1;
			return;
		}
	}
	if (fd_info(prog_fd, &pinfo, sizeof(pinfo)) ||
	    fd_info(map_fd, &minfo, sizeof(minfo))) {
		fprintf(out, "error BPF_OBJ_GET_INFO_BY_FD: %s\n",
			strerror(errno));
		return;
	}
	fprintf(out, "ok prog=%u map=%u\n", pinfo.id, minfo.id);
}

/* The info of the object with this id (prog or map), through an fd. */
static int bpf_info(int get_fd, __u32 id, void *info, __u32 len)
{
	union bpf_attr attr;
	int fd, ret;

	memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;	/* map_id is the same member */
	fd = sys_bpf(get_fd, &attr);
	if (fd < 0)
		return -1;
	ret = fd_info(fd, info, len);
	close(fd);
	return ret;
}

/*
 * "bpf": every loaded program and map by id, as bpftool would list them:
 * "prog ID TYPE TAG XLATED JITED LOAD_TIME NAME" (TYPE a number, TAG 16
 * hex digits) and "map ID TYPE KEY VALUE MAX FLAGS NAME"; an object
 * freed between its id and its info is left out, any other failure is
 * an "error" line.
 */
static void req_bpf(void)
{
	union bpf_attr attr;
	__u32 id;
	int i;

	for (i = 0; i < 2; i++) {
		id = 0;
		for (;;) {
			struct bpf_prog_info p;
			struct bpf_map_info m;

			memset(&attr, 0, sizeof(attr));
			attr.start_id = id;
			if (sys_bpf(i ? BPF_MAP_GET_NEXT_ID :
				    BPF_PROG_GET_NEXT_ID, &attr))
				break;
			id = attr.next_id;
			if ((!i && bpf_info(BPF_PROG_GET_FD_BY_ID, id, &p,
					    sizeof(p))) ||
			    (i && bpf_info(BPF_MAP_GET_FD_BY_ID, id, &m,
					   sizeof(m)))) {
				/* Freed since its id was listed: not there. */
				if (errno != ENOENT)
					fprintf(out, "error %s %u: %s\n",
						i ? "map" : "prog", id,
						strerror(errno));
				continue;
			}
			if (!i)
				fprintf(out, "prog %u %u %02x%02x%02x%02x%02x%02x%02x%02x %u %u %llu %s\n",
					p.id, p.type, p.tag[0], p.tag[1],
					p.tag[2], p.tag[3], p.tag[4], p.tag[5],
					p.tag[6], p.tag[7], p.xlated_prog_len,
					p.jited_prog_len,
					(unsigned long long)p.load_time,
					p.name[0] ? p.name : "-");
			if (i)
				fprintf(out, "map %u %u %u %u %u %u %s\n", m.id,
					m.type, m.key_size, m.value_size,
					m.max_entries, m.map_flags,
					m.name[0] ? m.name : "-");
		}
		if (errno != ENOENT)
			fprintf(out, "error BPF_%s_GET_NEXT_ID: %s\n",
				i ? "MAP" : "PROG", strerror(errno));
	}
}

static void req_rootkit(void)
{
	char line[128], path[128], params[192];
	char sct[32], nr[32], hook[32], kp[32], nf[32], ft[32];
	char seq[32], show[32], ldisc[32], recv[32], idt[32];
	unsigned long table, seq_ops, ldisc_ops, vmap_list, start, end;
	unsigned long mfd_start, mfd_end;
	int hidden = -1, rwx = -1, fd;
	struct utsname u;

	if (!access(ROOTKIT_SYS, F_OK)) {
		fprintf(out, "error already loaded\n");
		return;
	}
	table = kallsyms_addr("sys_call_table");
	seq_ops = kallsyms_addr("tcp4_seq_ops");
	ldisc_ops = kallsyms_addr("n_tty_ops");
	vmap_list = kallsyms_addr("vmap_area_list");
	if (!table || !seq_ops || !ldisc_ops || !vmap_list) {
		fprintf(out, "error no sys_call_table, tcp4_seq_ops, n_tty_ops or vmap_area_list in /proc/kallsyms\n");
		return;
	}
	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/khrootkit.ko", u.release);

	fd = spawn_orphan("kh-hidden", hidden_main);
	if (fd < 0 || read_line_fd(fd, line, sizeof(line), 10000) ||
	    sscanf(line, "%d", &hidden) != 1) {
		fprintf(out, "error cannot start kh-hidden\n");
		goto fail;
	}
	close(fd);
	hidden_pid = hidden;
	fd = spawn_orphan("kh-rwx", rwx_main);
	if (fd < 0 || read_line_fd(fd, line, sizeof(line), 10000) ||
	    sscanf(line, "%d %lx %lx %lx %lx", &rwx, &start, &end, &mfd_start,
		   &mfd_end) != 5) {
		fprintf(out, "error cannot start kh-rwx\n");
		goto fail;
	}
	close(fd);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(out, "error %s: %s\n", path, strerror(errno));
		goto fail;
	}
	snprintf(params, sizeof(params),
		 "hide_pid=%d sct=0x%lx seq_ops=0x%lx ldisc_ops=0x%lx vmap_list=0x%lx",
		 hidden, table, seq_ops, ldisc_ops, vmap_list);
	if (syscall(SYS_finit_module, fd, params, 0)) {
		fprintf(out, "error finit_module %s: %s (see dmesg)\n", path,
			strerror(errno));
		goto fail;
	}
	close(fd);
	rootkit_param("sct", sct, sizeof(sct));
	rootkit_param("sct_nr", nr, sizeof(nr));
	rootkit_param("hook_addr", hook, sizeof(hook));
	rootkit_param("kprobe_addr", kp, sizeof(kp));
	rootkit_param("nf_hook_addr", nf, sizeof(nf));
	rootkit_param("ftrace_addr", ft, sizeof(ft));
	rootkit_param("seq_ops", seq, sizeof(seq));
	rootkit_param("seq_show_addr", show, sizeof(show));
	rootkit_param("ldisc_ops", ldisc, sizeof(ldisc));
	rootkit_param("tty_hook_addr", recv, sizeof(recv));
	rootkit_param("idt_hook_addr", idt, sizeof(idt));
	fprintf(out, "ok hidden=%d rwx=%d:%lx-%lx mfd=%lx-%lx sct=%s nr=%s hook=%s kprobe=%s nf=%s ftrace=%s seq=%s:%s tty=%s:%s idt=%s\n",
		hidden, rwx, start, end, mfd_start, mfd_end, sct, nr, hook, kp,
		nf, ft, seq, show, ldisc, recv, idt);
	return;
fail:
	/* nothing is hidden when the load failed: a retry starts afresh */
	if (fd >= 0)
		close(fd);
	if (hidden > 0)
		kill(hidden, SIGKILL);
	hidden_pid = 0;
	if (rwx > 0)
		kill(rwx, SIGKILL);
}

/* Requests taking a PID: "WORD PID" */
static void pid_request(const char *word, const char *arg)
{
	char path[64];
	long pid = pid_arg(arg);

	if (pid < 0) {
		fprintf(out, "error no such process\n");
		return;
	}
	if (!strcmp(word, "fds")) {
		req_fds(pid);
	} else if (!strcmp(word, "netns")) {
		req_netns(pid);
	} else if (!strcmp(word, "fdx")) {
		req_fdx(pid);
	} else if (!strcmp(word, "maps")) {
		snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
		req_cat(path);
	} else if (!strcmp(word, "mounts")) {
		snprintf(path, sizeof(path), "/proc/%ld/mounts", pid);
		req_cat(path);
	} else if (!strcmp(word, "cmdline")) {
		req_cmdline(pid);
	} else {
		req_stat(pid);
	}
}

static void handle(char *req)
{
	char *arg;

	chomp(req);
	if (!*req)
		return;		/* empty lines resynchronise; no reply */
	arg = strchr(req, ' ');
	if (!strcmp(req, "ping"))
		fprintf(out, "pong\n");
	else if (!strncmp(req, "sync ", 5))
		fprintf(out, "%s\n", req + 5);
	else if (!strcmp(req, "uname"))
		req_uname();
	else if (!strcmp(req, "ps"))
		req_ps();
	else if (!strcmp(req, "psx"))
		req_psx();
	else if (!strcmp(req, "kaslr"))
		req_kaslr();
	else if (!strcmp(req, "la57"))
		req_la57();
	else if (!strcmp(req, "kernel"))
		req_kernel();
	else if (!strcmp(req, "info"))
		req_info();
	else if (!strcmp(req, "meminfo"))
		req_cat("/proc/meminfo");
	else if (!strcmp(req, "modules"))
		req_cat("/proc/modules");
	else if (!strcmp(req, "module_structs"))
		req_module_structs();
	else if (!strcmp(req, "ifaces"))
		req_ifaces();
	else if (!strcmp(req, "links"))
		req_links();
	else if (!strcmp(req, "net"))
		req_net();
	else if (!strcmp(req, "timewait"))
		req_timewait();
	else if (!strcmp(req, "netdev"))
		req_cat("/proc/net/dev");
	else if (!strncmp(req, "kallsyms ", 9))
		req_kallsyms(req + 9);
	else if (!strcmp(req, "creds"))
		req_creds();
	else if (!strcmp(req, "bash"))
		req_bash();
	else if (!strcmp(req, "elfs"))
		req_elfs();
	else if (!strcmp(req, "environs"))
		req_environs();
	else if (!strncmp(req, "kmsg ", 5))
		req_kmsg(req + 5);
	else if (!strcmp(req, "kmsg-size"))
		req_kmsg_size();
	else if (!strncmp(req, "kmsg-flood ", 11))
		req_kmsg_flood(req + 11);
	else if (!strncmp(req, "kmsg-mark ", 10))
		req_kmsg_mark(req + 10);
	else if (!strcmp(req, "rootkit"))
		req_rootkit();
	else if (!strcmp(req, "calm"))
		req_calm();
	else if (!strcmp(req, "vanish"))
		req_vanish();
	else if (!strcmp(req, "bpf-load"))
		req_bpf_load();
	else if (!strcmp(req, "bpf"))
		req_bpf();
	else if (!strncmp(req, "pids ", 5))
		req_pids(req + 5);
	else if (arg && (!strncmp(req, "fds ", 4) || !strncmp(req, "fdx ", 4) ||
			 !strncmp(req, "netns ", 6) ||
			 !strncmp(req, "maps ", 5) ||
			 !strncmp(req, "mounts ", 7) ||
			 !strncmp(req, "cmdline ", 8) || !strncmp(req, "stat ", 5))) {
		*arg = 0;
		pid_request(req, arg + 1);
	} else
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
	if (!strcmp(name, "kh-sockets"))
		return kh_sockets();
	if (!strcmp(name, "kh-maps"))
		return kh_maps();
	if (!strcmp(name, "kh-webload"))
		return kh_webload();
	if (!strcmp(name, "kh-netns"))
		return kh_netns();
	if (!strcmp(name, "kh-bash"))
		return kh_bash();
	if (!strcmp(name, "kh-truth"))
		return kh_truth(argc, argv);
	fprintf(stderr, "usage: khguest kh-tree|kh-files|kh-listen|kh-threads|kh-churn|kh-sockets|kh-maps|kh-webload|kh-netns|kh-bash|kh-truth [tty]\n");
	return 2;
}
