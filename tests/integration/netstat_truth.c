// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole netstat` shows the sockets of the guest's processes as
 * the guest's own /proc/net/{tcp,tcp6,udp,udp6,unix} does. Every socket
 * that kh-sockets (TCP listener and an established pair over loopback,
 * UDP, TCP6, a unix listener with a connected pair, a socketpair) and
 * kh-listen hold is in keyhole's list with the same protocol, local and
 * remote address and port, state, inode, unix path and struct sock
 * address (vm.sh boots the guest with no_hash_pointers, so /proc/net
 * prints the real one), and is owned by that process. Each of
 * kh-sockets's socket fds must be found, so a kind of socket keyhole
 * misses fails the test. And nothing is invented: every socket keyhole
 * lists is one the guest lists too, as the same protocol and struct sock,
 * but for the web load's connections to port 8080, which come and go
 * twenty times a second.
 *
 * The queues are the guest's: Recv-Q and Send-Q as /proc/net's rx_queue
 * and tx_queue for TCP and UDP, and the bytes kh-sockets left unread in
 * its unix sockets. `ss` (netstat's other name) chooses as ss does:
 * -t, -u, -x, -l (listening and unconnected), -a, and by default only
 * connected sockets, with ss's Netid and State names.
 *
 * The sockets no process holds come from the kernel's hash tables: a
 * TIME_WAIT socket the guest makes for the test (truth "timewait"), the
 * connection kh-sockets leaves unaccepted at 7778 (inode 0 in
 * /proc/net/tcp), and the TCP listener and UDP sockets kh-sockets put in
 * flight in an SCM_RIGHTS message (files, but in no fd table) must be
 * listed with found "hash", no process, the guest's endpoints, state,
 * inode, struct sock (the tcp_timewait_sock for TIME_WAIT) and queues;
 * so must every other unheld TCP socket in both reads of the guest;
 * `ss -t -a` shows the TIME-WAIT row and the default view none. Every
 * socket found by fd says "fd".
 *
 * /proc/net is parsed here from its hex formats (addresses are the raw
 * network-order words printed as host-order hex), independently of
 * keyhole's decoding. The guest is read before and after keyhole; these
 * sockets are long-lived, only a socket in both reads is required.
 */
#include <arpa/inet.h>

#include "guest.h"

struct truth_sock {
	char proto[8];
	uint8_t local[16], remote[16];
	unsigned int lport, rport;
	char state[16];
	unsigned long long inode;
	unsigned long long sock;	/* struct sock, unhashed */
	char path[128];
	unsigned int tx, rx;		/* tx_queue:rx_queue, tcp and udp */
};

struct truth_net {
	int nr;
	struct truth_sock socks[1024];
};

/* /proc/net/tcp's state numbers (include/net/tcp_states.h). */
static const char *tcp_state(unsigned int st)
{
	static const char *const names[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING", "NEW_SYN_RECV",
	};

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

/* "0100007F:1E61": each 8 hex digits are one 32-bit word of the address. */
static int parse_endpoint(const char *s, uint8_t *addr, unsigned int *port)
{
	size_t len = strcspn(s, ":"), i;

	if (len != 8 && len != 32)
		return 0;
	for (i = 0; i < len / 8; i++) {
		char word[9];
		uint32_t w;

		memcpy(word, s + 8 * i, 8);
		word[8] = '\0';
		w = strtoul(word, NULL, 16);
		memcpy(addr + 4 * i, &w, 4);
	}
	return sscanf(s + len, ":%x", port) == 1;
}

static void parse_net(const struct guest *g, struct truth_net *net)
{
	char *out = guest_truth(g, "net"), *line, *save = NULL;
	char file[16] = "";

	net->nr = 0;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct truth_sock *s = &net->socks[net->nr];
		char local[64], remote[64];
		unsigned int st, flags, type;
		int off = 0;

		if (sscanf(line, "file %15s", file) == 1)
			continue;
		memset(s, 0, sizeof(*s));
		if (!strcmp(file, "unix")) {
			if (sscanf(line, "%llx: %*x %*x %x %x %x %llu %n",
				   &s->sock, &flags, &type, &st, &s->inode,
				   &off) < 5)
				continue;
			/* __SO_ACCEPTCON marks a listener; 3 SS_CONNECTED. */
			strcpy(s->state, flags & 0x10000 ? "LISTEN" :
					 st == 3 ? "CONNECTED" :
						   "UNCONNECTED");
			if (off)
				snprintf(s->path, sizeof(s->path), "%s",
					 line + off);
			s->path[strcspn(s->path, " \r")] = '\0';
		} else {
			if (sscanf(line,
				   " %*d: %63s %63s %x %x:%x %*s %*s %*u %*u %llu %*d %llx",
				   local, remote, &st, &s->tx, &s->rx, &s->inode,
				   &s->sock) != 7 ||
			    !parse_endpoint(local, s->local, &s->lport) ||
			    !parse_endpoint(remote, s->remote, &s->rport))
				continue;
			/* ss's name for a UDP socket in TCP_CLOSE. */
			strcpy(s->state, !strncmp(file, "udp", 3) && st == 7 ?
					 "UNCONN" : tcp_state(st));
		}
		snprintf(s->proto, sizeof(s->proto), "%s", file);
		CHECK(net->nr < 1023, "too many sockets for the test");
		net->nr++;
	}
	free(out);
	CHECK(net->nr > 5, "truth net returned only %d sockets", net->nr);
}

static const struct truth_sock *find_truth(const struct truth_net *net,
					   unsigned long long inode)
{
	int i;

	for (i = 0; i < net->nr; i++)
		if (net->socks[i].inode == inode)
			return &net->socks[i];
	return NULL;
}

/*
 * A socket no process holds: a TCP one without a file (inode 0 in
 * /proc/net/tcp), or one kh-sockets put in flight (README): its TCP
 * listener on 7782 and its UDP sockets on 7783, which have files.
 */
static int unheld_sock(const struct truth_sock *t)
{
	if (!strncmp(t->proto, "tcp", 3))
		return !t->inode ||
		       (t->lport == 7782 && !strcmp(t->state, "LISTEN"));
	return !strncmp(t->proto, "udp", 3) && t->lport == 7783;
}

/* A socket no process holds, by its struct sock. */
static const struct truth_sock *find_unheld(const struct truth_net *net,
					    unsigned long long sock)
{
	int i;

	for (i = 0; i < net->nr; i++)
		if (unheld_sock(&net->socks[i]) && net->socks[i].sock == sock)
			return &net->socks[i];
	return NULL;
}

static int same(const struct truth_sock *a, const struct truth_sock *b)
{
	return !strcmp(a->proto, b->proto) && !strcmp(a->state, b->state) &&
	       !memcmp(a->local, b->local, 16) &&
	       !memcmp(a->remote, b->remote, 16) && a->lport == b->lport &&
	       a->rport == b->rport && !strcmp(a->path, b->path) &&
	       a->tx == b->tx && a->rx == b->rx;
}

static json_t *find_json(json_t *doc, unsigned long long inode)
{
	json_t *c;
	size_t i;

	json_array_foreach(doc, i, c)
		if ((unsigned long long)json_integer_value(
			    json_object_get(c, "inode")) == inode)
			return c;
	return NULL;
}

static int owned_by(json_t *conn, int pid)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(conn, "pids"), i, p)
		if (json_integer_value(p) == pid)
			return 1;
	return 0;
}

static void check_addr(json_t *c, const char *key, const uint8_t *want,
		       const struct truth_sock *t)
{
	const char *s = json_string_value(json_object_get(c, key));
	int v6 = !!strchr(t->proto, '6');
	uint8_t got[16] = { 0 };

	CHECK(s && inet_pton(v6 ? AF_INET6 : AF_INET, s, got) == 1,
	      "socket %llu: %s '%s' is not an address", t->inode, key,
	      s ? s : "(null)");
	CHECK(!memcmp(got, want, v6 ? 16 : 4),
	      "socket %llu (%s): %s %s differs from the guest's", t->inode,
	      t->proto, key, s);
}

static const char *json_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "(null)";
}

static long long json_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/*
 * keyhole's view c of the guest's socket t, held by comm (pid), or by
 * nobody (pid 0): then found only in the kernel's hash table.
 */
static void compare(json_t *c, const struct truth_sock *t, const char *comm,
		    int pid)
{
	CHECK(c, "socket %llu (%s, %s) of %s missing", t->inode, t->proto,
	      t->state, comm);
	CHECK(!strcmp(json_str(c, "found"), pid ? "fd" : "hash") &&
	      (pid || !json_array_size(json_object_get(c, "pids"))),
	      "socket %llu (%s %s at 0x%llx): found by %s with %zu processes",
	      t->inode, t->proto, t->state, t->sock, json_str(c, "found"),
	      json_array_size(json_object_get(c, "pids")));
	CHECK(!strcmp(json_str(c, "proto"), t->proto),
	      "socket %llu: proto %s, guest says %s", t->inode,
	      json_str(c, "proto"), t->proto);
	CHECK(!strcmp(json_str(c, "state"), t->state),
	      "socket %llu (%s): state %s, guest says %s", t->inode, t->proto,
	      json_str(c, "state"), t->state);
	CHECK(!pid || owned_by(c, pid), "socket %llu: not owned by %s (%d)",
	      t->inode, comm, pid);
	CHECK(strtoull(json_str(c, "sock"), NULL, 16) == t->sock,
	      "socket %llu (%s): struct sock at %s, guest says 0x%llx",
	      t->inode, t->proto, json_str(c, "sock"), t->sock);
	if (!strcmp(t->proto, "unix")) {
		CHECK(!strcmp(json_str(c, "path"), t->path),
		      "unix socket %llu: path '%s', guest says '%s'", t->inode,
		      json_str(c, "path"), t->path);
		return;
	}
	check_addr(c, "local", t->local, t);
	check_addr(c, "remote", t->remote, t);
	/*
	 * /proc/net's rx_queue: a listener's pending connections, else
	 * bytes unread (TCP) or memory held (UDP); tx_queue what is not
	 * yet acknowledged or freed. A listener's Send-Q in ss is its
	 * backlog, which /proc/net does not show.
	 */
	CHECK(json_int(c, "recv_q") == t->rx &&
	      (!strcmp(t->state, "LISTEN") || json_int(c, "send_q") == t->tx),
	      "socket %llu (%s %s): queues %lld/%lld, guest says %u/%u",
	      t->inode, t->proto, t->state, json_int(c, "recv_q"),
	      json_int(c, "send_q"), t->rx, t->tx);
	CHECK(json_int(c, "lport") == t->lport &&
	      json_int(c, "rport") == t->rport,
	      "socket %llu (%s): ports %lld->%lld, guest says %u->%u",
	      t->inode, t->proto, json_int(c, "lport"), json_int(c, "rport"),
	      t->lport, t->rport);
}

/*
 * Every socket keyhole lists is in the guest's /proc/net before or after
 * its walk, with the same protocol and struct sock; or it is one of the
 * web load's short connections to 127.0.0.1:8080, which may be caught
 * closing: unhashed from its port, its local port reads 0 (inet_num is
 * cleared by inet_put_port), and only the peer's ephemeral port is left;
 * or, closed with an RST as kh-webload closes (tcp_disconnect), its
 * source address reset to 0.0.0.0 and the peer's port to 0 as well.
 * Returns how many of each (<< 16 | load).
 */
static int web_load(json_t *c)
{
	return !strcmp(json_str(c, "proto"), "tcp") &&
	       (json_int(c, "lport") == 8080 || json_int(c, "rport") == 8080 ||
		(json_int(c, "lport") == 0 &&
		 !strcmp(json_str(c, "local"), "127.0.0.1") &&
		 !strcmp(json_str(c, "remote"), "127.0.0.1")) ||
		(json_int(c, "lport") == 0 && json_int(c, "rport") == 0 &&
		 !strcmp(json_str(c, "local"), "0.0.0.0") &&
		 !strcmp(json_str(c, "remote"), "127.0.0.1")));
}

static int nothing_invented(json_t *doc, const struct truth_net *before,
			    const struct truth_net *after)
{
	int theirs = 0, load = 0;
	json_t *c;
	size_t i;

	json_array_foreach(doc, i, c) {
		unsigned long long inode = json_int(c, "inode");
		unsigned long long sock = strtoull(json_str(c, "sock"),
						   NULL, 16);
		int hash = !strcmp(json_str(c, "found"), "hash");
		const struct truth_sock *t = hash ? find_unheld(before, sock) :
					     find_truth(before, inode);

		if (!t)
			t = hash ? find_unheld(after, sock) :
			    find_truth(after, inode);
		if (!t) {
			CHECK(web_load(c),
			      "keyhole lists socket %llu (%s %s:%lld -> %s:%lld), the guest has no such socket",
			      inode, json_str(c, "proto"), json_str(c, "local"),
			      json_int(c, "lport"), json_str(c, "remote"),
			      json_int(c, "rport"));
			load++;
			continue;
		}
		/* One found by fd has a file; by hash, the guest's inode. */
		CHECK((hash ? inode == t->inode : inode != 0) &&
		      !strcmp(json_str(c, "proto"), t->proto) &&
		      sock == t->sock,
		      "socket %llu: keyhole says %s at %s, the guest %s at 0x%llx",
		      inode, json_str(c, "proto"), json_str(c, "sock"),
		      t->proto, t->sock);
		theirs++;
	}
	return theirs << 16 | load;
}

/* The socket inodes of process pid, from its fds. */
static int socket_inodes(const struct guest *g, int pid,
			 unsigned long long *inodes, int max)
{
	char request[64], *out, *line, *save = NULL;
	int nr = 0;

	snprintf(request, sizeof(request), "fds %d", pid);
	out = guest_truth(g, request);
	for (line = strtok_r(out, "\n", &save); line && nr < max;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%*d %*u socket:[%llu]", &inodes[nr]) == 1)
			nr++;
	free(out);
	return nr;
}

/*
 * kh-sockets's unix sockets: what it left unread (README): 11 bytes at
 * the accepted end of /tmp/kh.sock, 5 at the stream pair's second end,
 * datagrams of 3 and 4 bytes at the datagram pair's (its Recv-Q is the
 * first's), a connection not accepted at the listener, the 12 bytes of
 * the message that carries the sockets in flight; and the writers'
 * Send-Q charged for what they sent.
 */
static void unix_queues(json_t *doc, int pid)
{
	int eleven = 0, five = 0, three = 0, pending = 0, charged = 0;
	int twelve = 0;
	json_t *c;
	size_t i;

	json_array_foreach(doc, i, c) {
		int dgram = !strcmp(json_str(c, "type"), "dgram");

		if (!owned_by(c, pid) || strcmp(json_str(c, "proto"), "unix"))
			continue;
		CHECK(dgram || !strcmp(json_str(c, "type"), "stream"),
		      "unix socket %lld: type %s", json_int(c, "inode"),
		      json_str(c, "type"));
		eleven += json_int(c, "recv_q") == 11 && !dgram &&
			  !strcmp(json_str(c, "path"), "/tmp/kh.sock");
		five += json_int(c, "recv_q") == 5 && !dgram;
		twelve += json_int(c, "recv_q") == 12 && !dgram;
		three += json_int(c, "recv_q") == 3 && dgram;
		pending += json_int(c, "recv_q") == 1 &&
			   !strcmp(json_str(c, "state"), "LISTEN");
		charged += json_int(c, "send_q") > 0 &&
			   strcmp(json_str(c, "state"), "LISTEN");
	}
	CHECK(eleven == 1 && five == 1 && three == 1 && pending == 1 &&
	      twelve == 1 && charged == 4,
	      "unix queues: %d sockets with the 11 bytes, %d with the 5, %d with the 3-byte datagram first, %d listeners with one waiting, %d with the 12 in flight, %d writers charged",
	      eleven, five, three, pending, twelve, charged);
}

/*
 * Whether a line of text has the words given as whole fields, in order
 * (not necessarily next to each other); a word ending in '*' matches
 * any field it starts.
 */
static int has_row(const char *text, const char *words)
{
	char *copy = strdup(text), *line, *save = NULL;
	int found = 0;

	for (line = strtok_r(copy, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char want[256], *w, *wsave = NULL, *f, *fsave = NULL;

		snprintf(want, sizeof(want), "%s", words);
		w = strtok_r(want, " ", &wsave);
		for (f = strtok_r(line, " ", &fsave); f && w;
		     f = strtok_r(NULL, " ", &fsave)) {
			size_t n = strlen(w);

			if (w[n - 1] == '*' ? !strncmp(f, w, n - 1) :
					      !strcmp(f, w))
				w = strtok_r(NULL, " ", &wsave);
		}
		found = !w;
	}
	free(copy);
	return found;
}

static int ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);

	return n >= m && !strcmp(s + n - m, end);
}

/*
 * A row of the web load's short connections (see web_load()), which
 * may be caught closing in any state: to or from port 8080, or with
 * its local port already 0 (shown as "*").
 */
static int web_load_row(const char *line)
{
	char netid[16], local[128], peer[128];

	return sscanf(line, "%15s %*s %*s %*s %127s %127s", netid, local,
		      peer) == 3 && !strcmp(netid, "tcp") &&
	       (ends_with(local, ":8080") || ends_with(peer, ":8080") ||
		ends_with(local, ":*"));
}

/* Every line of a table but the header starts with one of the words. */
static void only(const char *what, const char *text, const char *netids,
		 const char *states)
{
	char *copy = strdup(text), *line, *save = NULL;
	char netid[16], state[24], key[32];

	line = strtok_r(copy, "\n", &save);
	CHECK(line && sscanf(line, "%15s %23s", netid, state) == 2 &&
	      !strcmp(netid, "Netid") && !strcmp(state, "State") &&
	      strstr(line, "Recv-Q") && strstr(line, "Send-Q") &&
	      strstr(line, "Local") && strstr(line, "Peer"),
	      "%s: header '%s'", what, line ? line : "");
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (web_load_row(line))
			continue;
		CHECK(sscanf(line, "%15s %23s", netid, state) == 2,
		      "%s: line '%s'", what, line);
		snprintf(key, sizeof(key), " %s ", netid);
		CHECK(strstr(netids, key), "%s: line '%s' is not one of %s",
		      what, line, netids);
		snprintf(key, sizeof(key), " %s ", state);
		CHECK(strstr(states, key),
		      "%s: line '%s' is not one of %s in %s", what, line,
		      netids, states);
	}
	free(copy);
}

/* ss's choices: -t -u -x, -l, -a, and the default, with ss's names. */
static void choices(const struct guest *g)
{
	static const struct {
		const char *args, *netids, *states, *rows[2];
	} cases[] = {
		/* 7778 has a connection that was never accepted. */
		{ "ss -tl", " tcp ", " LISTEN ",
		  { "tcp LISTEN 1 16 127.0.0.1:7778 0.0.0.0:**",
		    "tcp LISTEN 0 16 [::1]:7780 [::]:**" } },
		{ "ss -u -a", " udp ", " UNCONN ESTAB ",
		  { "udp UNCONN 127.0.0.1:7779 0.0.0.0:**" } },
		/* The default: connected only, every protocol. */
		{ "netstat", " tcp udp u_str u_dgr u_seq ",
		  " ESTAB SYN-SENT FIN-WAIT-1 FIN-WAIT-2 CLOSE-WAIT LAST-ACK CLOSING ",
		  { "tcp ESTAB 10 0 127.0.0.1:7778",
		    "u_str ESTAB 11 0 /tmp/kh.sock" } },
		{ "ss -x -l", " u_str u_dgr u_seq ", " LISTEN UNCONN ",
		  { "u_str LISTEN 1 16 /tmp/kh.sock" } },
		/* The last of -a and -l counts, as in ss. */
		{ "ss -x -a -l", " u_str u_dgr u_seq ", " LISTEN UNCONN ",
		  { "u_str LISTEN 1 16 /tmp/kh.sock" } },
		{ "ss -x -l -a", " u_str u_dgr u_seq ",
		  " LISTEN UNCONN ESTAB ",
		  { "u_dgr ESTAB 3 0", "u_str ESTAB 11 0 /tmp/kh.sock" } },
	};
	size_t i, r;
	char *out, args[64];
	int status;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(args, sizeof(args), "%s %d", cases[i].args, g->pid);
		out = keyhole_whole(&status, args);
		CHECK(status == 0, "%s: exit %d", cases[i].args, status);
		only(cases[i].args, out, cases[i].netids, cases[i].states);
		for (r = 0; r < 2 && cases[i].rows[r]; r++)
			CHECK(has_row(out, cases[i].rows[r]),
			      "%s: no line '%s' in\n%s", cases[i].args,
			      cases[i].rows[r], out);
		free(out);
	}
}

static json_t *find_sock(json_t *doc, unsigned long long sock)
{
	json_t *c;
	size_t i;

	json_array_foreach(doc, i, c)
		if (strtoull(json_str(c, "sock"), NULL, 16) == sock)
			return c;
	return NULL;
}

/* The guest makes TIME_WAIT sockets: their local ports, IPv4 and IPv6. */
static void make_time_wait(const struct guest *g, unsigned int *port,
			   unsigned int *port6)
{
	char *out = guest_truth(g, "timewait");

	CHECK(sscanf(out, "timewait %u %u", port, port6) == 2,
	      "truth timewait: %s", out);
	free(out);
}

/*
 * Every socket no process holds (unheld_sock()) that the guest lists in
 * both reads is in keyhole's list, found in the hash, with the guest's
 * inode; among them the TIME_WAIT sockets the test made (local ports
 * tw_port, tw_port6), kh-sockets's connection that 7778 never accepted,
 * and its sockets in flight: a listener found in TCP's listening hash,
 * UDP and UDP6 sockets in UDP's table. Returns how many were compared.
 */
static int unheld(json_t *doc, const struct truth_net *before,
		  const struct truth_net *after, unsigned int tw_port,
		  unsigned int tw_port6)
{
	int i, nr = 0, time_wait = 0, time_wait6 = 0, unaccepted = 0;
	int in_flight = 0;
	json_t *c;

	for (i = 0; i < before->nr; i++) {
		const struct truth_sock *t = &before->socks[i];
		const struct truth_sock *a;

		/*
		 * /proc/net/tcp is read a page at a time: a socket can be
		 * printed twice when the table changes between two reads.
		 */
		if (!unheld_sock(t) || find_unheld(before, t->sock) != t)
			continue;
		a = find_unheld(after, t->sock);
		if (!a || !same(t, a) || a->inode != t->inode)
			continue;
		c = find_sock(doc, t->sock);
		compare(c, t, "no process", 0);
		CHECK((unsigned long long)json_integer_value(
			      json_object_get(c, "inode")) == t->inode,
		      "socket at 0x%llx (%s %s port %u): inode %lld, guest says %llu",
		      t->sock, t->proto, t->state, t->lport,
		      (long long)json_integer_value(json_object_get(c, "inode")),
		      t->inode);
		in_flight += t->inode && (t->lport == 7782 ||
					  t->lport == 7783);
		time_wait += !strcmp(t->proto, "tcp") &&
			     !strcmp(t->state, "TIME_WAIT") &&
			     t->lport == tw_port;
		time_wait6 += !strcmp(t->proto, "tcp6") &&
			      !strcmp(t->state, "TIME_WAIT") &&
			      t->lport == tw_port6;
		unaccepted += !strcmp(t->state, "ESTABLISHED") &&
			      t->lport == 7778;
		nr++;
	}
	CHECK(time_wait == 1 && time_wait6 == 1 && unaccepted >= 1 &&
	      in_flight == 3,
	      "unheld sockets compared: %d TIME_WAIT from port %u, %d from [::1]:%u, %d unaccepted at 7778, %d of the 3 in flight",
	      time_wait, tw_port, time_wait6, tw_port6, unaccepted,
	      in_flight);
	return nr;
}

/*
 * ss -t -a shows the TIME-WAIT rows of sockets made just now (a TIME_WAIT
 * lasts 60 s); the default leaves them out.
 */
static void time_wait_rows(const struct guest *g)
{
	char *out, row[64], args[64];
	unsigned int port, port6;
	int status;

	make_time_wait(g, &port, &port6);
	snprintf(row, sizeof(row), "tcp TIME-WAIT 0 0 127.0.0.1:%u", port);
	snprintf(args, sizeof(args), "ss -t -a %d", g->pid);
	out = keyhole_whole(&status, args);
	CHECK(status == 0 && has_row(out, row),
	      "ss -t -a: exit %d, no line '%s' in\n%s", status, row, out);
	snprintf(row, sizeof(row), "tcp TIME-WAIT 0 0 [::1]:%u", port6);
	CHECK(has_row(out, row), "ss -t -a: no line '%s' in\n%s", row, out);
	free(out);
	snprintf(args, sizeof(args), "ss -t %d", g->pid);
	out = keyhole_whole(&status, args);
	CHECK(status == 0 && !strstr(out, "TIME-WAIT"),
	      "ss -t: exit %d, TIME-WAIT shown by default:\n%s", status, out);
	free(out);
}

int main(int argc, char **argv)
{
	static const char *const comms[] = { "kh-sockets", "kh-listen" };
	static const char *const protos[] = { "tcp", "tcp6", "udp", "unix" };
	struct truth_net *before, *after;
	unsigned long long inodes[64];
	int i, j, k, status, matched = 0, seen[4] = { 0 }, invented, nr_unheld;
	unsigned int tw_port, tw_port6;
	struct guest g;
	json_t *doc, *socks;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	before = calloc(1, sizeof(*before));
	after = calloc(1, sizeof(*after));
	CHECK(before && after, "out of memory");

	make_time_wait(&g, &tw_port, &tw_port6);
	parse_net(&g, before);
	doc = keyhole_json_whole(&status, "netstat -a %d", g.pid);
	CHECK(status == 0, "netstat: exit %d: %s", status, json_dumps(doc, 0));
	socks = doc_list(doc, "ss");
	parse_net(&g, after);

	for (i = 0; i < 2; i++) {
		int pid = guest_pid_of(&g, comms[i]);
		int nr = socket_inodes(&g, pid, inodes, 64);

		CHECK(nr >= (i ? 1 : 10), "%s holds only %d sockets",
		      comms[i], nr);
		for (j = 0; j < nr; j++) {
			const struct truth_sock *t = find_truth(before,
								inodes[j]);
			const struct truth_sock *a = find_truth(after,
								inodes[j]);
			json_t *c = find_json(socks, inodes[j]);

			CHECK(t, "socket %llu of %s is in no /proc/net file",
			      inodes[j], comms[i]);
			if (!a || !same(t, a))
				continue;
			compare(c, t, comms[i], pid);
			for (k = 0; k < 4; k++)
				seen[k] += !strcmp(t->proto, protos[k]);
			matched++;
		}
	}
	for (k = 0; k < 4; k++)
		CHECK(seen[k], "no %s socket was compared", protos[k]);
	invented = nothing_invented(socks, before, after);
	nr_unheld = unheld(socks, before, after, tw_port, tw_port6);
	unix_queues(socks, guest_pid_of(&g, "kh-sockets"));
	json_decref(doc);
	choices(&g);
	time_wait_rows(&g);
	/* kh-sockets's ten sockets and kh-listen's listener. */
	CHECK(matched >= 11, "only %d sockets compared", matched);
	free(before);
	free(after);
	printf("netstat_truth: %d sockets match the guest's /proc/net, and %d no process holds; of all keyhole lists, %d are the guest's, %d the web load's\n",
	       matched, nr_unheld, invented >> 16, invented & 0xffff);
	return KH_PASS;
}
