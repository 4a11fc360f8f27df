// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event loop (sd-event): the listening socket, every client's
 * socket, each VM's pidfd, the rescan timer, finished jobs and signals,
 * all on one thread, so that no client state needs a lock.
 *
 * A client can cost the daemon only bounded memory and never delays the
 * others: a request line is at most KH_PROTO_MAX_REQUEST bytes; at most
 * MAX_IN_FLIGHT of its requests run at once (it is not read meanwhile);
 * what it does not read piles up to MAX_QUEUED bytes (and
 * MAX_QUEUED_FDS descriptors), then it is cut off; a request it starts
 * and does not finish within PARTIAL_USEC ends the connection; and past
 * MAX_CLIENTS, new ones are told so and closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "keyholed.h"
#include "metrics.h"

#define MAX_CLIENTS	4096
#define MAX_PER_UID	1024
#define MAX_IN_FLIGHT	16
#define MAX_QUEUED	(64u << 20)
/* Descriptors ("ram") waiting unread: each is one of the daemon's fds. */
#define MAX_QUEUED_FDS	(4 * MAX_IN_FLIGHT)
#define PARTIAL_USEC	(10 * 1000000ull)
#define RESCAN_USEC	(1000000ull)
#define SWEEP_USEC	(1000000ull)

#define STREAM_QUEUE	64

struct outbuf {
	struct outbuf *next;
	size_t len, off;
	bool stream;		/* a subscription's: may be dropped */
	/* Passed with the first byte (SCM_RIGHTS), then closed here. */
	int fds[KH_PROTO_MAX_FDS];
	unsigned int nr_fds;
	char data[];
};

struct client {
	unsigned long id;	/* for metrics: fds are reused, this is not */
	int fd;
	sd_event_source *io;
	atomic_int refs;
	bool closing;		/* read no more; close once flushed */
	bool eof;		/* it shut its side: answer what it sent */
	_Atomic bool dead;	/* socket closed; workers read it too */
	struct peer peer;
	struct auth_memo memo;
	char *in;
	size_t in_len, in_size;
	uint64_t partial_since;	/* CLOCK_MONOTONIC usec; 0: none */
	struct outbuf *out_head, **out_tail;
	size_t out_bytes;
	unsigned int out_fds;	/* in out_head's list, not yet sent */
	unsigned int nr_stream;	/* stream outbufs queued */
	uint64_t dropped;	/* stream messages dropped */
	unsigned int in_flight;
	struct client *prev, *next;
	struct client *flush_next;	/* on flush_list: stream to write */
	bool flush_queued;
};

static sd_event *loop;
static unsigned long last_client_id;
static struct client *clients;
static unsigned int nr_clients;
static bool stopping;
static sd_event_source *listen_src;
/*
 * Clients with stream messages queued since the loop last wrote: written
 * once the event that queued them is done (on_post), each in as few
 * system calls as its queue allows, not one epoll round per record.
 */
static struct client *flush_list;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

void client_get(struct client *c)
{
	atomic_fetch_add(&c->refs, 1);
}

static void outbuf_free(struct outbuf *b)
{
	while (b->nr_fds)
		close(b->fds[--b->nr_fds]);
	free(b);
}

void client_put(struct client *c)
{
	struct outbuf *b;

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	while ((b = c->out_head)) {
		c->out_head = b->next;
		outbuf_free(b);
	}
	free(c->in);
	free(c);
}

void client_job_started(struct client *c)
{
	c->in_flight++;
}

const struct peer *client_peer(const struct client *c)
{
	return &c->peer;
}

struct auth_memo *client_auth_memo(struct client *c)
{
	return &c->memo;
}

bool client_gone(const struct client *c)
{
	return atomic_load(&c->dead);
}

static void client_close(struct client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	subscriptions_client_gone(c);
	workers_client_gone(c);
	metrics_client_gone(c->id);
	sd_event_source_disable_unref(c->io);
	c->io = NULL;
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nr_clients--;
	client_put(c);
}

static void update_events(struct client *c)
{
	uint32_t events = 0;

	if (c->dead)
		return;
	if (!c->closing && !c->eof && c->in_flight < MAX_IN_FLIGHT)
		events |= EPOLLIN;
	if (c->out_head)
		events |= EPOLLOUT;
	/* Done when everything it asked is answered and sent. */
	if ((c->closing || (c->eof && !memchr(c->in, '\n', c->in_len))) &&
	    !c->out_head && !c->in_flight) {
		client_close(c);
		return;
	}
	sd_event_source_set_io_events(c->io, events);
}

/* Writes what it can of b, its descriptors with the first byte. */
static ssize_t send_some(struct client *c, struct outbuf *b)
{
	union {
		char buf[CMSG_SPACE(KH_PROTO_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {
		.iov_base = b->data + b->off, .iov_len = b->len - b->off,
	};
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (!b->nr_fds)
		return send(c->fd, iov.iov_base, iov.iov_len,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
	memset(&control, 0, sizeof(control));
	mh.msg_control = control.buf;
	mh.msg_controllen = CMSG_SPACE(b->nr_fds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(b->nr_fds * sizeof(int));
	memcpy(CMSG_DATA(cm), b->fds, b->nr_fds * sizeof(int));
	n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {	/* they went with the first byte: ours to close */
		c->out_fds -= b->nr_fds;
		while (b->nr_fds)
			close(b->fds[--b->nr_fds]);
	}
	return n;
}

/* Most outbufs one sendmsg() takes: replies and records in a row. */
#define FLUSH_IOV	64

/* Writes queued outbufs with no descriptors, several in one sendmsg(). */
static ssize_t send_many(struct client *c)
{
	struct iovec iov[FLUSH_IOV];
	struct msghdr mh = { .msg_iov = iov };
	struct outbuf *b;

	for (b = c->out_head; b && !b->nr_fds && mh.msg_iovlen < FLUSH_IOV;
	     b = b->next) {
		iov[mh.msg_iovlen].iov_base = b->data + b->off;
		iov[mh.msg_iovlen].iov_len = b->len - b->off;
		mh.msg_iovlen++;
	}
	return sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void flush(struct client *c)
{
	struct outbuf *b;
	ssize_t n;

	while ((b = c->out_head)) {
		n = b->nr_fds ? send_some(c, b) : send_many(c);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			client_close(c);	/* the client went away */
			return;
		}
		c->out_bytes -= n;
		/* n covers whole outbufs from the head, then part of one. */
		while ((b = c->out_head) && n >= (ssize_t)(b->len - b->off)) {
			n -= b->len - b->off;
			c->out_head = b->next;
			if (!c->out_head)
				c->out_tail = &c->out_head;
			if (b->stream)
				c->nr_stream--;
			outbuf_free(b);
		}
		if (b && n) {
			b->off += n;
			break;		/* the socket took no more */
		}
	}
}

/* The oldest stream message not yet begun, out of the queue. */
static void drop_oldest_stream(struct client *c)
{
	struct outbuf **link, *b;

	for (link = &c->out_head; (b = *link); link = &b->next) {
		if (!b->stream || b->off)
			continue;
		*link = b->next;
		if (c->out_tail == &b->next)
			c->out_tail = link;
		c->out_bytes -= b->len;
		c->nr_stream--;
		c->dropped++;
		metrics_client_dropped(c->id, c->peer.cred.uid, c->peer.cred.pid,
				       c->dropped);
		outbuf_free(b);
		return;
	}
}

static void queue_held(struct client *c, json_t *msg, bool stream,
		       const int *fds, unsigned int nr_fds)
{
	struct outbuf *b;
	size_t len;
	char *line;

	line = kh_proto_encode(msg, &len);
	if (!line)
		line = kh_proto_encode(kh_proto_error(KH_ERR_GENERIC, NULL,
			"keyholed could not encode its reply as JSON"), &len);
	if (!line)
		return;
	if (stream && c->nr_stream >= STREAM_QUEUE)
		drop_oldest_stream(c);
	/* Replies and new records before old records. */
	while (c->nr_stream && c->out_bytes + len > MAX_QUEUED)
		drop_oldest_stream(c);
	/*
	 * A reply is refused only for what waits unread before it, so a
	 * large one still reaches a client that reads.
	 */
	b = c->out_bytes > MAX_QUEUED || (stream && c->out_bytes + len >
					   MAX_QUEUED) ||
	    c->out_fds + nr_fds > MAX_QUEUED_FDS ? NULL :
	    malloc(sizeof(*b) + len);
	if (!b) {
		free(line);
		while (nr_fds)
			close(fds[--nr_fds]);
		if (stream) {
			c->dropped++;
			metrics_client_dropped(c->id, c->peer.cred.uid,
					       c->peer.cred.pid, c->dropped);
			return;
		}
		/* It does not read: it would cost memory without end. */
		client_close(c);
		return;
	}
	memcpy(b->data, line, len);
	free(line);
	b->len = len;
	b->off = 0;
	b->stream = stream;
	b->nr_fds = nr_fds;
	memcpy(b->fds, fds, nr_fds * sizeof(*fds));
	c->out_fds += nr_fds;
	b->next = NULL;
	*c->out_tail = b;
	c->out_tail = &b->next;
	c->out_bytes += len;
	if (stream) {
		c->nr_stream++;
		if (!c->flush_queued) {
			c->flush_queued = true;
			client_get(c);
			c->flush_next = flush_list;
			flush_list = c;
		}
		return;
	}
	flush(c);
	update_events(c);
}

/*
 * A reply that does not fit ends the client; a stream message never does
 * (it is dropped, and counted, instead): the subscription code sends to
 * many clients in a row, and must never see one vanish under it. For the
 * same reason a stream message is only queued here, and written once the
 * code that queued it is done (flush_listed()).
 */
static void queue(struct client *c, json_t *msg, bool stream,
		  const int *fds, unsigned int nr_fds)
{
	if (c->dead || c->closing) {
		json_decref(msg);
		while (nr_fds)
			close(fds[--nr_fds]);
		return;
	}
	/* Writing may end the client; its caller may hold no reference. */
	client_get(c);
	queue_held(c, msg, stream, fds, nr_fds);
	client_put(c);
}

void client_send(struct client *c, json_t *msg)
{
	queue(c, msg, false, NULL, 0);
}

void client_send_fds(struct client *c, json_t *msg, const int *fds,
		     unsigned int nr_fds)
{
	queue(c, msg, false, fds, nr_fds);
}

void client_stream(struct client *c, json_t *msg)
{
	queue(c, msg, true, NULL, 0);
}

uint64_t client_dropped(const struct client *c)
{
	return c->dropped;
}

/* Refuses what the client sent and ends the connection once said. */
static void client_refuse(struct client *c, const char *klass,
			  const char *desc)
{
	client_get(c);
	client_send(c, kh_proto_error(klass, NULL, "%s", desc));
	c->closing = true;
	update_events(c);
	client_put(c);
}

static void handle_line(struct client *c, char *line, size_t len)
{
	struct kh_proto_request req;
	char why[256];

	if (stopping) {
		client_send(c, kh_proto_error(KH_ERR_SHUTDOWN, NULL,
					      "keyholed is stopping"));
		return;
	}
	if (kh_proto_parse_request(line, len, &req, why, sizeof(why))) {
		client_send(c, kh_proto_error(KH_ERR_BAD_REQUEST, req.id,
					      "%s", why));
		kh_proto_request_release(&req);
		return;
	}
	commands_dispatch(c, &req);
	kh_proto_request_release(&req);
}

/*
 * Answers the complete lines in the buffer, as many as its in-flight
 * slots allow, then moves what is left to the front once: a buffer of
 * many short lines costs one pass, not one pass per line.
 */
static void process_lines(struct client *c)
{
	size_t pos = 0, n;
	bool consumed = false;
	char *nl;

	client_get(c);
	while (!c->dead && !c->closing && c->in_flight < MAX_IN_FLIGHT &&
	       (nl = memchr(c->in + pos, '\n', c->in_len - pos))) {
		n = nl - (c->in + pos);
		*nl = '\0';
		/* An empty line is a keep-alive, as in QMP: nothing to say. */
		if (n)
			handle_line(c, c->in + pos, n);
		pos += n + 1;
		consumed = true;
	}
	if (c->dead)
		goto out;
	memmove(c->in, c->in + pos, c->in_len - pos);
	c->in_len -= pos;
	if (c->in_len > KH_PROTO_MAX_REQUEST &&
	    !memchr(c->in, '\n', c->in_len)) {
		c->in_len = 0;
		client_refuse(c, KH_ERR_TOO_LARGE,
			      "request line longer than 1 MiB; closing");
		goto out;
	}
	/*
	 * The slowloris clock runs only for a line still unfinished, from
	 * when the last line before it was taken: lines that wait for a
	 * slot are the daemon's delay, not the client's.
	 */
	if (!c->in_len || memchr(c->in, '\n', c->in_len))
		c->partial_since = 0;
	else if (consumed || !c->partial_since)
		c->partial_since = now_usec();
	update_events(c);
out:
	client_put(c);
}

static int read_client(struct client *c)
{
	ssize_t n;

	if (c->in_size - c->in_len < 65536) {
		size_t size = c->in_size ? c->in_size * 2 : 65536;
		char *in;

		/* One more block than a request may hold, to see it is over. */
		if (size > KH_PROTO_MAX_REQUEST + 131072)
			size = KH_PROTO_MAX_REQUEST + 131072;
		in = realloc(c->in, size);
		if (!in)
			return -ENOMEM;
		c->in = in;
		c->in_size = size;
	}
	n = recv(c->fd, c->in + c->in_len, c->in_size - c->in_len - 1,
		 MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		/* It shut its side: what it sent is still answered. */
		c->eof = true;
		return 0;
	}
	c->in_len += n;
	return 0;
}

static int on_client(sd_event_source *s, int fd, uint32_t revents,
		     void *data)
{
	struct client *c = data;

	client_get(c);
	if (revents & EPOLLOUT)
		flush(c);
	if (!c->dead && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    !c->closing && !c->eof) {
		if (read_client(c))
			client_close(c);
		else
			process_lines(c);
	} else if (!c->dead && (revents & EPOLLERR)) {
		client_close(c);
	}
	update_events(c);
	client_put(c);
	return 0;
}

static int peer_of(int fd, struct peer *peer)
{
	socklen_t len = sizeof(peer->cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer->cred, &len))
		return -errno;
	len = sizeof(peer->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer->groups, &len))
		/* More groups than we keep: judge by uid and gid alone. */
		len = 0;
	peer->nr_groups = len / sizeof(gid_t);
	return 0;
}

static int on_listen_again(sd_event_source *s, uint64_t usec, void *data)
{
	sd_event_source_set_enabled(data, SD_EVENT_ON);
	return 0;
}

/* Connections of a uid, so that one user cannot take every slot. */
static unsigned int clients_of(uid_t uid)
{
	unsigned int n = 0;
	struct client *c;

	for (c = clients; c; c = c->next)
		n += c->peer.cred.uid == uid;
	return n;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents,
		     void *data)
{
	static const char *const *caps = daemon_capabilities;
	struct client *c;
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		/*
		 * Out of fds: the socket stays readable, and the loop would
		 * spin on it. Stop listening for a second instead.
		 */
		if (errno == EMFILE || errno == ENFILE) {
			sd_event_source_set_enabled(s, SD_EVENT_OFF);
			sd_event_add_time_relative(loop, NULL, CLOCK_MONOTONIC,
						   1000000, 0, on_listen_again,
						   s);
		}
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c || peer_of(cfd, &c->peer) ||
	    sd_event_add_io(loop, &c->io, cfd, EPOLLIN, on_client, c) < 0) {
		free(c);
		close(cfd);
		return 0;
	}
	c->id = ++last_client_id;
	c->fd = cfd;
	atomic_init(&c->refs, 1);
	c->out_tail = &c->out_head;
	c->next = clients;
	if (clients)
		clients->prev = c;
	clients = c;
	nr_clients++;
	if (nr_clients > MAX_CLIENTS) {
		client_refuse(c, KH_ERR_GENERIC,
			      "keyholed serves 4096 clients already; try later");
		return 0;
	}
	if (c->peer.cred.uid && clients_of(c->peer.cred.uid) > MAX_PER_UID) {
		client_refuse(c, KH_ERR_GENERIC,
			      "your uid has 1024 connections to keyholed already");
		return 0;
	}
	client_send(c, kh_proto_greeting(KEYHOLED_VERSION, caps));
	return 0;
}

/* Finished jobs: their replies go out in the order they finished. */
static void flush_listed(void);

/* Every this many jobs, the stream queued so far goes out. */
#define FLUSH_EVERY	32

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	unsigned int taken = 0;
	struct job *job;
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: another turn took them; the list says what is left. */
	}
	/*
	 * All of them, until the list is empty: the workers wake the loop
	 * again only then (workers.c). Workers keep adding while this runs,
	 * so a long drain writes as it goes: a client's queue of 64 stream
	 * messages would otherwise drop records of a reader that keeps up.
	 */
	while ((job = workers_take_done())) {
		struct client *c = job->client;

		if (++taken % FLUSH_EVERY == 0)
			flush_listed();
		if (job->feed) {
			subscriptions_deliver(job);
			job_free(job);
			continue;
		}
		if (!job->notice)
			c->in_flight--;
		client_send_fds(c, job->reply, job->fds, job->nr_fds);
		job->reply = NULL;
		job->nr_fds = 0;
		process_lines(c);
		job_free(job);
	}
	return 0;
}

static int on_vm_exit(sd_event_source *s, int fd, uint32_t revents,
		      void *data)
{
	registry_drop((pid_t)(long)data);
	return 0;
}

void server_watch_exit(struct vm_entry *e)
{
	sd_event_source *src = NULL;

	if (sd_event_add_io(loop, &src, e->pidfd, EPOLLIN, on_vm_exit,
			    (void *)(long)e->id.pid) < 0) {
		close(e->pidfd);	/* the next rescan drops it */
		e->pidfd = -1;
		return;
	}
	sd_event_source_set_io_fd_own(src, 1);
	/* Before a rescan due at once: it takes a listed VM as alive. */
	sd_event_source_set_priority(src, SD_EVENT_PRIORITY_IMPORTANT);
	e->exit_watch = src;
}

void server_unwatch_exit(struct vm_entry *e)
{
	sd_event_source_disable_unref(e->exit_watch);
	e->exit_watch = NULL;
	e->pidfd = -1;
}

static int on_rescan(sd_event_source *s, uint64_t usec, void *data)
{
	registry_rescan();
	module_events_poll(loop);
	/* A timer is one-shot: set it again, and enable it again. */
	sd_event_source_set_time_relative(s, RESCAN_USEC);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

/* Ends requests left half-sent (slowloris) so they cannot hold a slot. */
static int on_sweep(sd_event_source *s, uint64_t usec, void *data)
{
	uint64_t now = now_usec();
	struct client *c, *next;

	metrics_gauges(registry_count(), nr_clients);
	for (c = clients; c; c = next) {
		next = c->next;
		if (!c->partial_since || c->closing ||
		    now - c->partial_since <= PARTIAL_USEC)
			continue;
		/* Held: refusing may close it, and the list moves on. */
		client_get(c);
		client_refuse(c, KH_ERR_BAD_REQUEST,
			      "request not finished within 10 s; closing");
		next = c->next;
		client_put(c);
	}
	sd_event_source_set_time_relative(s, SWEEP_USEC);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

/* The stream messages queued since the last time go out. */
static void flush_listed(void)
{
	struct client *c;

	while ((c = flush_list)) {
		flush_list = c->flush_next;
		c->flush_queued = false;
		if (!c->dead) {
			flush(c);
			update_events(c);
		}
		client_put(c);
	}
}

/* After every event. */
static int on_post(sd_event_source *s, void *data)
{
	flush_listed();
	return 0;
}

int server_listen(const char *path, int *fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[sizeof(addr.sun_path)], *slash;
	mode_t old_mask;
	bool bound;
	int probe;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "keyholed: socket path '%s' is too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		/* Clients must reach the socket; the socket then decides. */
		if (mkdir(dir, 0755) && errno != EEXIST) {
			fprintf(stderr, "keyholed: cannot create %s: %s\n", dir,
				strerror(errno));
			return -errno;
		}
	}
	/* A socket nobody answers on is a dead daemon's: take its place. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 &&
	    !connect(probe, (struct sockaddr *)&addr, sizeof(addr))) {
		close(probe);
		fprintf(stderr, "keyholed: another keyholed listens on %s\n",
			path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	if (errno == ECONNREFUSED)
		unlink(path);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* 0666 as bind makes it: a chmod after could follow a symlink. */
	old_mask = umask(0111);
	bound = *fd >= 0 && !bind(*fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_mask);
	if (!bound || listen(*fd, 512)) {
		int ret = -errno;

		fprintf(stderr, "keyholed: cannot listen on %s: %s\n", path,
			strerror(errno));
		if (*fd >= 0)
			close(*fd);
		return ret;
	}
	return 0;
}

static void say_goodbye(void)
{
	struct client *c;

	while ((c = clients)) {
		client_get(c);
		client_send(c, kh_proto_event("goodbye", json_pack("{s:s}",
						"reason", "shutdown")));
		client_close(c);
		client_put(c);
	}
}

int server_run(const struct daemon_config *cfg, int listen_fd)
{
	sd_event_source *done_src = NULL;
	sd_event_source *rescan = NULL, *sweep = NULL, *post = NULL;
	int ret;

	ret = sd_event_default(&loop);
	if (ret < 0)
		return ret;
	/* NULL handlers: the signal ends the loop. */
	sd_event_add_signal(loop, NULL, SIGTERM, NULL, NULL);
	sd_event_add_signal(loop, NULL, SIGINT, NULL, NULL);
	ret = sd_event_add_io(loop, &listen_src, listen_fd, EPOLLIN,
			      on_accept, NULL);
	if (ret >= 0)
		ret = sd_event_add_io(loop, &done_src, workers_done_fd(),
				      EPOLLIN, on_done, NULL);
	if (ret >= 0)
		ret = sd_event_add_post(loop, &post, on_post, NULL);
	if (ret >= 0)
		ret = sd_event_add_time_relative(loop, &rescan,
						 CLOCK_MONOTONIC, RESCAN_USEC,
						 0, on_rescan, NULL);
	if (ret >= 0)
		ret = sd_event_add_time_relative(loop, &sweep,
						 CLOCK_MONOTONIC, SWEEP_USEC,
						 0, on_sweep, NULL);
	if (ret < 0) {
		fprintf(stderr, "keyholed: event loop: %s\n", strerror(-ret));
		return ret;
	}
	registry_rescan();
	module_events_poll(loop);
	if (cfg->metrics && metrics_start(cfg->metrics)) {
		fprintf(stderr, "keyholed: cannot serve metrics on %s (ADDR:PORT, [V6]:PORT)\n",
			cfg->metrics);
		return -EADDRNOTAVAIL;
	}
	sd_notifyf(0, "READY=1\nSTATUS=watching %u VMs\nMAINPID=%d",
		   registry_count(), (int)getpid());
	ret = sd_event_loop(loop);

	sd_notify(0, "STOPPING=1");
	stopping = true;
	metrics_stop();
	module_events_stop();
	sd_event_source_disable_unref(listen_src);
	unlink(cfg->socket_path);
	workers_stop();
	/* The replies of the jobs that were running go out first. */
	on_done(done_src, workers_done_fd(), 0, NULL);
	flush_listed();
	say_goodbye();
	sd_event_source_disable_unref(done_src);
	sd_event_source_disable_unref(post);
	sd_event_source_disable_unref(rescan);
	sd_event_source_disable_unref(sweep);
	registry_exit();
	workers_exit();
	loop = sd_event_unref(loop);
	return ret < 0 ? ret : 0;
}
