// SPDX-License-Identifier: GPL-2.0-only
/*
 * ifconfig and netstat as text. The flags ifconfig shows are dev->flags,
 * as /sys/class/net/NAME/flags shows them: the guest's own ifconfig
 * would add RUNNING (and LOWER_UP, DORMANT), which its kernel derives
 * from the link state on each SIOCGIFFLAGS.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "keyhole.h"
#include "render.h"

/* The size of struct kh_iface's name. */
#define IFNAME_LEN 16
/* "a.b.c.d/p" or an IPv6 address with "/ppp". */
#define ADDR_STR_LEN (INET6_ADDRSTRLEN + 5)
/* An endpoint: "[v6 address]:port", or a unix socket's path. */
#define ENDPOINT_LEN 128

struct iff_name {
	unsigned int bit;
	const char *name;
};

/* The IFF_* bits of <linux/if.h>, named as ifconfig names them. */
static const struct iff_name iff_names[] = {
	{ 0x1, "UP" }, { 0x2, "BROADCAST" }, { 0x4, "DEBUG" },
	{ 0x8, "LOOPBACK" }, { 0x10, "POINTOPOINT" }, { 0x20, "NOTRAILERS" },
	{ 0x40, "RUNNING" }, { 0x80, "NOARP" }, { 0x100, "PROMISC" },
	{ 0x200, "ALLMULTI" }, { 0x400, "MASTER" }, { 0x800, "SLAVE" },
	{ 0x1000, "MULTICAST" }, { 0x2000, "PORTSEL" },
	{ 0x4000, "AUTOMEDIA" }, { 0x8000, "DYNAMIC" },
	{ 0x10000, "LOWER_UP" }, { 0x20000, "DORMANT" }, { 0x40000, "ECHO" },
};

/* "UP,BROADCAST,NOARP"; bits without a name as one "0x..." at the end. */
static void format_flags(unsigned int flags, char *buf, size_t size)
{
	size_t len = 0, i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(iff_names) / sizeof(iff_names[0]); i++) {
		if (!(flags & iff_names[i].bit) || len >= size)
			continue;
		flags &= ~iff_names[i].bit;
		len += snprintf(buf + len, size - len, "%s%s",
				len ? "," : "", iff_names[i].name);
	}
	if (flags && len < size)
		snprintf(buf + len, size - len, "%s0x%x", len ? "," : "",
			 flags);
}

static void render_ifaddrs(const json_t *addrs, FILE *out)
{
	char text[ADDR_STR_LEN];
	const json_t *a;
	size_t i;

	json_array_foreach(addrs, i, a) {
		const char *addr = field_str(a, "addr");

		/* "?": a family the guest should never report. */
		if (!strcmp(addr, "?"))
			snprintf(text, sizeof(text), "?");
		else
			snprintf(text, sizeof(text), "%s/%u", addr,
				 (unsigned int)field_int(a, "prefixlen"));
		fprintf(out, "        %s %s\n", field_str(a, "family"), text);
	}
}

/*
 * Before the first interface of each namespace but the first one's:
 * "netns: INODE", as ip -all netns exec names each namespace.
 */
static void netns_header(const json_t *ifaces, size_t i, const char *lead,
			 FILE *out)
{
	json_int_t ns = field_int(json_array_get(ifaces, i), "netns");

	if (i && ns != field_int(json_array_get(ifaces, i - 1), "netns"))
		fprintf(out, "%snetns: %lld\n", lead, (long long)ns);
}

/* ifconfig's "RX packets N  bytes N", where they were read. */
static void counters(const json_t *stats, FILE *out)
{
	static const char *const dirs[] = { "rx", "tx" };
	const json_t *d;
	unsigned int i;

	for (i = 0; stats && i < 2; i++) {
		d = json_object_get(stats, dirs[i]);
		fprintf(out, "        %s packets %lld  bytes %lld\n",
			i ? "TX" : "RX", (long long)field_int(d, "packets"),
			(long long)field_int(d, "bytes"));
	}
}

void render_ifconfig(const json_t *doc, FILE *out)
{
	const json_t *ifaces = json_object_get(doc, "ifconfig");
	char name[IFNAME_LEN], flags[256];
	const json_t *ifc, *lf;
	unsigned int bits;
	size_t i;

	json_array_foreach(ifaces, i, ifc) {
		/* As SIOCGIFFLAGS: RUNNING and LOWER_UP from the link. */
		lf = json_object_get(ifc, "link_flags");
		bits = json_is_integer(lf) ? json_integer_value(lf) :
		       field_int(ifc, "flags");
		kh_printable(field_str(ifc, "name"), sizeof(name), name);
		format_flags(bits, flags, sizeof(flags));
		if (i)
			fputc('\n', out);
		netns_header(ifaces, i, "", out);
		fprintf(out, "%s: index %d flags=0x%x<%s> mtu %u\n",
			name, (int)field_int(ifc, "index"),
			bits, flags, (unsigned int)field_int(ifc, "mtu"));
		if (field_int(ifc, "mac_len"))
			fprintf(out, "        hwaddr %s\n",
				field_str(ifc, "mac"));
		render_ifaddrs(json_object_get(ifc, "addrs"), out);
		counters(json_object_get(ifc, "stats64"), out);
	}
}

/* ip's order of the IFF_* names (print_link_flags); RUNNING is not shown. */
static const struct iff_name ip_flag_names[] = {
	{ 0x8, "LOOPBACK" }, { 0x2, "BROADCAST" }, { 0x10, "POINTOPOINT" },
	{ 0x1000, "MULTICAST" }, { 0x80, "NOARP" }, { 0x200, "ALLMULTI" },
	{ 0x100, "PROMISC" }, { 0x400, "MASTER" }, { 0x800, "SLAVE" },
	{ 0x4, "DEBUG" }, { 0x8000, "DYNAMIC" }, { 0x4000, "AUTOMEDIA" },
	{ 0x2000, "PORTSEL" }, { 0x20, "NOTRAILERS" }, { 0x1, "UP" },
	{ 0x10000, "LOWER_UP" }, { 0x20000, "DORMANT" }, { 0x40000, "ECHO" },
	{ 0, NULL },
};

#define IFF_UP		0x1
#define IFF_RUNNING	0x40

static json_t *ip_flag_list(unsigned int flags)
{
	json_t *names = json_array();
	unsigned int i;

	/* A device up without a carrier, as ip says it. */
	if ((flags & IFF_UP) && !(flags & IFF_RUNNING))
		json_array_append_new(names, json_string("NO-CARRIER"));
	for (i = 0; ip_flag_names[i].name; i++)
		if (flags & ip_flag_names[i].bit)
			json_array_append_new(names,
					      json_string(ip_flag_names[i].name));
	return names;
}

/* One interface of the ifconfig document in ip -j's shape. */
static json_t *ip_link(const json_t *ifc, int stats)
{
	const json_t *lf = json_object_get(ifc, "link_flags"), *a;
	json_t *info = json_array(), *link;
	size_t i;

	json_array_foreach(json_object_get(ifc, "addrs"), i, a)
		json_array_append_new(info, json_pack("{s:s, s:s, s:I}",
			"family", field_str(a, "family"),
			"local", field_str(a, "addr"),
			"prefixlen", field_int(a, "prefixlen")));
	link = json_pack("{s:I, s:s, s:o, s:I, s:s, s:s, s:s, s:o, s:I}",
			 "ifindex", field_int(ifc, "index"),
			 "ifname", field_str(ifc, "name"),
			 "flags", ip_flag_list(json_is_integer(lf) ?
					       json_integer_value(lf) :
					       field_int(ifc, "flags")),
			 "mtu", field_int(ifc, "mtu"),
			 "operstate", field_str(ifc, "operstate"),
			 "link_type", field_str(ifc, "link_type"),
			 "address", field_str(ifc, "mac"),
			 "addr_info", info,
			 "netns", field_int(ifc, "netns"));
	/* ip -s -j: the counters, where keyhole could read them. */
	if (link && stats && json_object_get(ifc, "stats64"))
		json_object_set(link, "stats64",
				json_object_get(ifc, "stats64"));
	return link;
}

json_t *ip_document(const json_t *doc, int stats)
{
	json_t *links = json_array(), *link;
	const json_t *ifc;
	size_t i;

	json_array_foreach(json_object_get(doc, "ifconfig"), i, ifc) {
		link = ip_link(ifc, stats);
		if (!link || json_array_append_new(links, link)) {
			json_decref(links);
			return NULL;
		}
	}
	/* How the reads went, as the ifconfig document says it. */
	return json_pack("{s:o, s:b, s:O?}", "ip", links,
			 "incomplete", json_is_true(json_object_get(doc,
								"incomplete")),
			 "problems", json_object_get(doc, "problems"));
}

/* ip -s: "RX: bytes packets" over its numbers, then TX's. */
static void ip_counters(const json_t *stats, FILE *out)
{
	static const char *const dirs[] = { "rx", "tx" };
	const json_t *d;
	unsigned int i;

	for (i = 0; stats && i < 2; i++) {
		d = json_object_get(stats, dirs[i]);
		fprintf(out, "    %s: %12s %8s\n    %16lld %8lld\n",
			i ? "TX" : "RX", "bytes", "packets",
			(long long)field_int(d, "bytes"),
			(long long)field_int(d, "packets"));
	}
}

/* ip addr: "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN". */
void render_ip(const json_t *doc, FILE *out)
{
	const json_t *links = json_object_get(doc, "ip");
	char name[IFNAME_LEN], flags[256];
	const json_t *link, *a, *f;
	size_t i, j, n;

	json_array_foreach(links, i, link) {
		kh_printable(field_str(link, "ifname"), sizeof(name), name);
		netns_header(links, i, "\n", out);
		flags[0] = '\0';
		n = 0;
		json_array_foreach(json_object_get(link, "flags"), j, f)
			if (n < sizeof(flags))
				n += snprintf(flags + n, sizeof(flags) - n,
					      "%s%s", j ? "," : "",
					      json_string_value(f) ?: "?");
		fprintf(out, "%d: %s: <%s> mtu %u state %s\n",
			(int)field_int(link, "ifindex"), name, flags,
			(unsigned int)field_int(link, "mtu"),
			field_str(link, "operstate"));
		fprintf(out, "    link/%s", field_str(link, "link_type"));
		if (field_str(link, "address")[0])
			fprintf(out, " %s", field_str(link, "address"));
		fputc('\n', out);
		ip_counters(json_object_get(link, "stats64"), out);
		json_array_foreach(json_object_get(link, "addr_info"), j, a)
			fprintf(out, "    %s %s/%u\n", field_str(a, "family"),
				field_str(a, "local"),
				(unsigned int)field_int(a, "prefixlen"));
	}
}

/*
 * One end of a connection as ss shows it: "addr:port", "[v6addr]:port",
 * "*" for port 0 (no peer); a unix socket's path at the local end, else
 * "*".
 */
static void endpoint(const json_t *conn, int local, char *out, size_t size)
{
	const char *proto = field_str(conn, "proto");
	int inet6 = !strcmp(proto, "tcp6") || !strcmp(proto, "udp6");
	char portstr[8] = "*";
	unsigned int port;

	if (!strcmp(proto, "unix")) {
		kh_printable(local ? field_str(conn, "path") : "", size, out);
		if (!out[0])
			snprintf(out, size, "*");
		return;
	}
	port = field_int(conn, local ? "lport" : "rport");
	/* No peer: port 0, which ss shows as "*". */
	if (port)
		snprintf(portstr, sizeof(portstr), "%u", port);
	snprintf(out, size, inet6 ? "[%s]:%s" : "%s:%s",
		 field_str(conn, local ? "local" : "remote"), portstr);
}

static void pid_list(const json_t *pids, char *out, size_t size)
{
	size_t n = 0, i;

	out[0] = '\0';
	for (i = 0; i < json_array_size(pids) && i < KH_CONN_PIDS && n < size;
	     i++)
		n += snprintf(out + n, size - n, "%s%d", i ? "," : "",
			      (int)json_integer_value(json_array_get(pids, i)));
}

const struct table_column ss_columns[] = {
	{ "Netid", 0, "tcp, udp, u_str, u_dgr or u_seq (unix stream, datagram, seqpacket)" },
	{ "State", 0, "as ss names it: ESTAB, LISTEN, UNCONN, TIME-WAIT, ..." },
	{ "Recv-Q", TABLE_RIGHT, "bytes not yet read; a listener's connections waiting" },
	{ "Send-Q", TABLE_RIGHT, "bytes not yet acknowledged or freed; a listener's backlog" },
	{ "Local", 0, "the local address and port, or a unix socket's path" },
	{ "Peer", 0, "the peer's address and port" },
	{ "Process", 0, "the processes that hold it" },
	{ "Proto", TABLE_HIDDEN, "tcp, tcp6, udp, udp6 or unix" },
	{ "Inode", TABLE_RIGHT | TABLE_HIDDEN, "the socket's inode" },
	{ "Sock", TABLE_HIDDEN, "the struct sock's kernel address" },
	{ "Found", TABLE_HIDDEN, "fd: through a process's fd; hash: only the kernel's TCP hash table has it" },
	{ NULL },
};

/* ss's Netid: the protocol without its version, a unix socket's type. */
static const char *ss_netid(const json_t *conn)
{
	const char *proto = field_str(conn, "proto");
	const char *type = field_str(conn, "type");

	if (!strncmp(proto, "tcp", 3))
		return "tcp";
	if (!strncmp(proto, "udp", 3))
		return "udp";
	if (strcmp(proto, "unix"))
		return proto;
	if (!strcmp(type, "dgram"))
		return "u_dgr";
	if (!strcmp(type, "seqpacket"))
		return "u_seq";
	return "u_str";
}

/* ss's name for a state: ESTAB, TIME-WAIT, FIN-WAIT-1, UNCONN. */
static void ss_state(const char *state, char *out, size_t size)
{
	static const struct {
		const char *kernel, *ss;
	} names[] = {
		{ "ESTABLISHED", "ESTAB" }, { "CONNECTED", "ESTAB" },
		{ "UNCONNECTED", "UNCONN" }, { "CLOSE", "UNCONN" },
		{ "FIN_WAIT1", "FIN-WAIT-1" }, { "FIN_WAIT2", "FIN-WAIT-2" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(state, names[i].kernel)) {
			snprintf(out, size, "%s", names[i].ss);
			return;
		}
	snprintf(out, size, "%s", state);
	for (i = 0; out[i]; i++)
		if (out[i] == '_')
			out[i] = '-';
}

static void queue(const json_t *conn, const char *key, char *out,
		  size_t size)
{
	const json_t *q = json_object_get(conn, key);

	snprintf(out, size, json_is_integer(q) ? "%u" : "?",
		 (unsigned int)json_integer_value(q));
}

/* A document that does not say: found by fd. */
static const char *found(const json_t *conn)
{
	const char *how = field_str(conn, "found");

	return *how ? how : "fd";
}

void render_ss(const json_t *doc, FILE *out)
{
	const json_t *conns = json_object_get(doc, "ss");
	struct table *t = table_new(ss_columns);
	char local[ENDPOINT_LEN], remote[ENDPOINT_LEN], pids[128], inode[24];
	char state[24], recv_q[16], send_q[16];
	const json_t *conn;
	size_t i;

	json_array_foreach(conns, i, conn) {
		const char *cells[] = { ss_netid(conn), state, recv_q, send_q,
					local, remote, pids,
					field_str(conn, "proto"), inode,
					field_str(conn, "sock"), found(conn) };

		ss_state(field_str(conn, "state"), state, sizeof(state));
		/* A document without queues: "?". */
		queue(conn, "recv_q", recv_q, sizeof(recv_q));
		queue(conn, "send_q", send_q, sizeof(send_q));
		endpoint(conn, 1, local, sizeof(local));
		endpoint(conn, 0, remote, sizeof(remote));
		pid_list(json_object_get(conn, "pids"), pids, sizeof(pids));
		snprintf(inode, sizeof(inode), "%" PRIu64,
			 field_u64(conn, "inode"));
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}
