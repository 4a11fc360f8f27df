// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole ifconfig` lists exactly the interfaces the guest sees
 * in its initial network namespace (sysfs and getifaddrs() through its
 * truth daemon), each with the same ifindex, flags (as
 * /sys/class/net/NAME/flags), MTU and MAC, and exactly the same sets of
 * IPv4 and IPv6 addresses with their prefix lengths, through both access
 * techniques. The link's flags (RUNNING and LOWER_UP, as rtnetlink gives
 * them to ip), operstate and type are the guest's too, and `keyhole ip`
 * shows them as ip does, its JSON in ip -j's names. The interfaces of
 * other network namespaces follow the initial one's: kh-netns's own
 * namespace, by its inode number, has exactly the interfaces and
 * addresses the guest's rtnetlink shows inside it.
 *
 * The packet and byte counters, received and sent (`keyhole ip -s`,
 * stats64 as ip -s -j names it), are the guest's /proc/net/dev: for lo
 * (every packet both sent and received: the two equal), khdummy0 (a
 * dummy only sends: nothing received) and eth0 (virtio_net, whose
 * counters are in its queues, found through the module's BTF; the boot
 * pinged the gateway), each counter between the guest's before keyhole's
 * read and after it, and lo's and eth0's not 0.
 *
 * Interfaces and addresses are long-lived in the test guest. One that
 * differs between the guest's snapshots before and after keyhole's reads
 * (IPv6 autoconfiguration still settling, say) is left out, but lo and
 * khdummy0 must always be compared.
 */
#include <strings.h>

#include "guest.h"

#define MAX_ADDRS 64

struct truth_iface {
	char name[32];
	int index;
	unsigned int flags, mtu;
	char mac[128];
	int nr_addrs;
	char addrs[MAX_ADDRS][64];	/* "inet 10.99.0.1/24" */
};

static struct truth_iface *find_truth(struct truth_iface *ifs, int nr,
				      const char *name)
{
	int i;

	for (i = 0; i < nr; i++)
		if (!strcmp(ifs[i].name, name))
			return &ifs[i];
	return NULL;
}

static int has_addr(const struct truth_iface *t, const char *addr)
{
	int i;

	for (i = 0; i < t->nr_addrs; i++)
		if (!strcmp(t->addrs[i], addr))
			return 1;
	return 0;
}

/*
 * Parses "iface NAME INDEX FLAGS_HEX MTU MAC", then "inet NAME A/P" and
 * "inet6 NAME A/P" lines.
 */
static int truth_ifaces(const struct guest *g, struct truth_iface **ifsp)
{
	char *out = guest_truth(g, "ifaces"), *line, *save = NULL;
	struct truth_iface *ifs = NULL;
	int nr = 0, cap = 0;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char kind[8], name[32], addr[64];
		struct truth_iface t = { 0 }, *owner;

		if (!strncmp(line, "iface ", 6)) {
			/* An interface without an address has no MAC. */
			CHECK(sscanf(line, "iface %31s %d %x %u %127s", t.name,
				     &t.index, &t.flags, &t.mtu, t.mac) >= 4,
			      "unexpected truth line '%s'", line);
			if (nr == cap) {
				cap = cap ? cap * 2 : 16;
				ifs = realloc(ifs, sizeof(*ifs) * cap);
				CHECK(ifs, "out of memory");
			}
			ifs[nr++] = t;
			continue;
		}
		CHECK(sscanf(line, "%7s %31s %63s", kind, name, addr) == 3 &&
		      (!strcmp(kind, "inet") || !strcmp(kind, "inet6")),
		      "unexpected truth line '%s'", line);
		owner = find_truth(ifs, nr, name);
		CHECK(owner, "address of unknown interface: '%s'", line);
		CHECK(owner->nr_addrs < MAX_ADDRS, "too many addresses");
		snprintf(owner->addrs[owner->nr_addrs++],
			 sizeof(owner->addrs[0]), "%s %s", kind, addr);
	}
	free(out);
	*ifsp = ifs;
	return nr;
}

static int same(const struct truth_iface *a, const struct truth_iface *b)
{
	int i;

	if (!a || !b || a->index != b->index || a->flags != b->flags ||
	    a->mtu != b->mtu || strcmp(a->mac, b->mac) ||
	    a->nr_addrs != b->nr_addrs)
		return 0;
	for (i = 0; i < a->nr_addrs; i++)
		if (!has_addr(b, a->addrs[i]))
			return 0;
	return 1;
}

static json_t *find_json(json_t *doc, const char *name)
{
	json_t *ifc;
	size_t i;

	json_array_foreach(doc, i, ifc) {
		const char *n = json_string_value(json_object_get(ifc, "name"));

		if (n && !strcmp(n, name))
			return ifc;
	}
	return NULL;
}

static void compare_iface(const char *what, json_t *k,
			  const struct truth_iface *t)
{
	json_t *addrs = json_object_get(k, "addrs"), *a;
	const char *mac = json_string_value(json_object_get(k, "mac"));
	struct truth_iface seen = { 0 };
	size_t i;

	CHECK(json_integer_value(json_object_get(k, "index")) == t->index,
	      "%s: %s index %lld, guest says %d", what, t->name,
	      json_integer_value(json_object_get(k, "index")), t->index);
	CHECK(json_integer_value(json_object_get(k, "flags")) == t->flags,
	      "%s: %s flags 0x%llx, guest says 0x%x", what, t->name,
	      json_integer_value(json_object_get(k, "flags")), t->flags);
	CHECK(json_integer_value(json_object_get(k, "mtu")) == t->mtu,
	      "%s: %s mtu %lld, guest says %u", what, t->name,
	      json_integer_value(json_object_get(k, "mtu")), t->mtu);
	CHECK(mac && !strcasecmp(mac, t->mac), "%s: %s mac '%s', guest says '%s'",
	      what, t->name, mac ? mac : "(null)", t->mac);
	CHECK(json_is_array(addrs), "%s: %s has no addrs array", what,
	      t->name);
	json_array_foreach(addrs, i, a) {
		CHECK(seen.nr_addrs < MAX_ADDRS, "%s: too many addresses", what);
		snprintf(seen.addrs[seen.nr_addrs], sizeof(seen.addrs[0]),
			 "%s %s/%lld",
			 json_string_value(json_object_get(a, "family")),
			 json_string_value(json_object_get(a, "addr")),
			 json_integer_value(json_object_get(a, "prefixlen")));
		CHECK(has_addr(t, seen.addrs[seen.nr_addrs]),
		      "%s: %s has %s, the guest does not", what, t->name,
		      seen.addrs[seen.nr_addrs]);
		CHECK(!has_addr(&seen, seen.addrs[seen.nr_addrs]),
		      "%s: %s lists %s twice", what, t->name,
		      seen.addrs[seen.nr_addrs]);
		seen.nr_addrs++;
	}
	for (i = 0; i < (size_t)t->nr_addrs; i++)
		CHECK(has_addr(&seen, t->addrs[i]), "%s: %s lacks %s", what,
		      t->name, t->addrs[i]);
}

static void compare(const char *what, json_t *doc,
		    struct truth_iface *before, int nr_before,
		    struct truth_iface *after, int nr_after)
{
	int i, compared_lo = 0, compared_dummy = 0;
	json_t *k;
	size_t j;

	CHECK(json_is_array(doc), "%s: not a JSON array", what);
	for (i = 0; i < nr_before; i++) {
		const struct truth_iface *t = &before[i];

		if (!same(t, find_truth(after, nr_after, t->name)))
			continue;
		k = find_json(doc, t->name);
		CHECK(k, "%s: interface %s missing", what, t->name);
		compare_iface(what, k, t);
		compared_lo |= !strcmp(t->name, "lo");
		compared_dummy |= !strcmp(t->name, "khdummy0");
	}
	CHECK(compared_lo && compared_dummy,
	      "%s: lo and khdummy0 were not both stable in the guest", what);
	json_array_foreach(doc, j, k) {
		const char *name = json_string_value(json_object_get(k, "name"));

		CHECK(name && (find_truth(before, nr_before, name) ||
			       find_truth(after, nr_after, name)),
		      "%s: interface %s is not in the guest", what,
		      name ? name : "(null)");
	}
}

/* The guest's links: "NAME 0xFLAGS operstate type" (truth "links"). */
struct truth_link {
	char name[32], operstate[32];
	unsigned int flags, type;
};

static int truth_links(const struct guest *g, struct truth_link *links,
		       int max)
{
	char *out = guest_truth(g, "links"), *line, *save = NULL;
	int nr = 0;

	/* Compared whole (memcmp): nothing left past the strings. */
	memset(links, 0, sizeof(*links) * max);
	for (line = strtok_r(out, "\n", &save); line && nr < max;
	     line = strtok_r(NULL, "\n", &save), nr++)
		CHECK(sscanf(line, "%31s %x %31s %u", links[nr].name,
			     &links[nr].flags, links[nr].operstate,
			     &links[nr].type) == 4,
		      "truth links line '%s'", line);
	free(out);
	return nr;
}

/*
 * keyhole's link_flags, operstate and link_type for every link the
 * guest had the same before and after; `ip` names them as ip does.
 */
static void check_links(const struct guest *g)
{
	struct truth_link before[32], after[32];
	int nr_before, nr_after, i, j, status, compared = 0, lower_up = 0;
	json_t *doc, *ip, *ifaces, *links;
	char *text;

	nr_before = truth_links(g, before, 32);
	doc = keyhole_json(&status, "ifconfig %d", g->pid);
	CHECK(status == 0, "ifconfig --json: exit %d", status);
	ifaces = doc_list(doc, "ifconfig");
	ip = keyhole_json(&status, "ip %d", g->pid);
	CHECK(status == 0, "ip --json: exit %d", status);
	links = doc_list(ip, "ip");
	nr_after = truth_links(g, after, 32);
	for (i = 0; i < nr_before; i++) {
		const struct truth_link *t = &before[i];
		json_t *k = NULL, *link = NULL, *c;
		size_t n;

		for (j = 0; j < nr_after; j++)
			if (!strcmp(after[j].name, t->name))
				break;
		if (j == nr_after || memcmp(&after[j], t, sizeof(*t)))
			continue;
		/* The first of the name: the initial namespace's. */
		json_array_foreach(ifaces, n, c)
			if (!k && !strcmp(json_string_value(json_object_get(c, "name")) ?: "",
					  t->name))
				k = c;
		json_array_foreach(links, n, c)
			if (!link && !strcmp(json_string_value(json_object_get(c, "ifname")) ?: "",
					     t->name))
				link = c;
		CHECK(k && link, "%s: missing from ifconfig or ip", t->name);
		CHECK(json_integer_value(json_object_get(k, "link_flags")) ==
		      t->flags, "%s: link_flags 0x%llx, the guest's 0x%x",
		      t->name, json_integer_value(json_object_get(k, "link_flags")),
		      t->flags);
		CHECK(!strcasecmp(json_string_value(json_object_get(k, "operstate")) ?: "",
				  t->operstate),
		      "%s: operstate %s, the guest's %s", t->name,
		      json_string_value(json_object_get(k, "operstate")),
		      t->operstate);
		CHECK(!strcmp(json_string_value(json_object_get(link, "link_type")) ?: "",
			      t->type == 772 ? "loopback" : t->type == 1 ?
			      "ether" : "?"),
		      "%s: link type %s, the guest's ARPHRD %u", t->name,
		      json_string_value(json_object_get(link, "link_type")),
		      t->type);
		lower_up += !!(t->flags & 0x10000);
		compared++;
	}
	CHECK(compared >= 2 && lower_up >= 2,
	      "only %d links compared, %d with LOWER_UP", compared, lower_up);
	/* ip's text: flags in ip's order, without RUNNING. */
	text = run_capture(&status, "%s ip %d",
			   env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
	CHECK(status == 0 && strstr(text, ": lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN\n    link/loopback") &&
	      strstr(text, ": khdummy0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1400 state UNKNOWN\n    link/ether 02:00:00:00:00:42\n") &&
	      strstr(text, "    inet 10.99.0.1/24\n"),
	      "ip's text:\n%s", text);
	free(text);
	json_decref(doc);
	json_decref(ip);
}

/* The interfaces of doc in namespace ns: a new array. */
static json_t *in_netns(json_t *doc, json_int_t ns)
{
	json_t *kept = json_array(), *c;
	size_t i;

	json_array_foreach(doc, i, c)
		if (json_integer_value(json_object_get(c, "netns")) == ns)
			json_array_append(kept, c);
	return kept;
}

/* kh-netns's namespace: its lo as the guest sees it from inside. */
static void check_netns(const struct guest *g, json_t *doc)
{
	char request[64], *out, *line, *save = NULL, name[32], addr[80];
	unsigned long long ns = 0;
	unsigned int index, flags, links = 0, addrs = 0;
	json_t *ours, *lo = NULL, *a;
	size_t i;

	snprintf(request, sizeof(request), "netns %d",
		 guest_pid_of(g, "kh-netns"));
	out = guest_truth(g, request);
	line = strtok_r(out, "\n", &save);
	CHECK(line && sscanf(line, "ns %llu", &ns) == 1, "truth netns: %s",
	      line ? line : "");
	CHECK(ns != (unsigned long long)json_integer_value(json_object_get(
		      json_array_get(doc, 0), "netns")),
	      "kh-netns is in the initial namespace");
	ours = in_netns(doc, ns);
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (sscanf(line, "link %31s %u %x", name, &index, &flags) == 3) {
			json_array_foreach(ours, i, a)
				if (!strcmp(json_string_value(json_object_get(a, "name")) ?: "",
					    name))
					lo = a;
			CHECK(lo && json_integer_value(json_object_get(lo, "index")) == index &&
			      json_integer_value(json_object_get(lo, "link_flags")) == flags,
			      "netns %llu: %s (index %u, flags 0x%x) is not keyhole's: %s",
			      ns, name, index, flags,
			      lo ? json_dumps(lo, 0) : "missing");
			links++;
		} else if (!strncmp(line, "inet", 4) &&
			   sscanf(line, "%*s %31s %79s", name, addr) == 2) {
			int found = 0;
			char *slash = strchr(addr, '/');

			CHECK(slash, "truth netns line '%s'", line);
			*slash = '\0';
			json_array_foreach(json_object_get(lo, "addrs"), i, a)
				found |= !strcmp(json_string_value(json_object_get(a, "addr")) ?: "",
						 addr) &&
					 json_integer_value(json_object_get(a, "prefixlen")) ==
					 atoi(slash + 1);
			CHECK(lo && found, "netns %llu: %s has no %s/%s in keyhole's view",
			      ns, name, addr, slash + 1);
			addrs++;
		}
	}
	CHECK(links == 1 && json_array_size(ours) == 1 && addrs >= 1,
	      "netns %llu: the guest shows %u links and %u addresses, keyhole %zu interfaces",
	      ns, links, addrs, json_array_size(ours));
	json_decref(ours);
	free(out);
}

/* The guest's /proc/net/dev line of name: rx bytes, packets, tx ... */
static void truth_counters(const struct guest *g, const char *name,
			   unsigned long long c[4])
{
	char *out = guest_truth(g, "netdev"), *line, *save = NULL, want[40];
	int found = 0;

	snprintf(want, sizeof(want), "%s:", name);
	for (line = strtok_r(out, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char first[40];

		if (sscanf(line, "%39s", first) != 1 || strcmp(first, want))
			continue;
		found = sscanf(line + strcspn(line, ":") + 1,
			       "%llu %llu %*u %*u %*u %*u %*u %*u %llu %llu",
			       &c[0], &c[1], &c[2], &c[3]) == 4;
	}
	CHECK(found, "no counters of %s in the guest's /proc/net/dev:\n%s",
	      name, out);
	free(out);
}

/* keyhole ip -s: every counter between the guest's two readings. */
static void check_counters(const struct guest *g)
{
	static const char *const names[] = { "lo", "khdummy0", "eth0" };
	static const char *const keys[4][2] = {
		{ "rx", "bytes" }, { "rx", "packets" },
		{ "tx", "bytes" }, { "tx", "packets" },
	};
	unsigned long long before[3][4], after[3][4], got[3][4];
	json_t *doc, *links, *link, *stats;
	char *text, args[64];
	int i, k, status;
	size_t j;

	for (i = 0; i < 3; i++)
		truth_counters(g, names[i], before[i]);
	doc = keyhole_json(&status, "ip -s %d", g->pid);
	for (i = 0; i < 3; i++)
		truth_counters(g, names[i], after[i]);
	CHECK(status == 0, "ip -s --json: exit %d", status);
	links = doc_list(doc, "ip");
	for (i = 0; i < 3; i++) {
		stats = NULL;
		json_array_foreach(links, j, link)
			if (!strcmp(json_string_value(json_object_get(
				    link, "ifname")) ?: "", names[i])) {
				stats = json_object_get(link, "stats64");
				break;
			}
		CHECK(stats, "ip -s: %s has no stats64", names[i]);
		for (k = 0; k < 4; k++) {
			got[i][k] = json_integer_value(json_object_get(
				json_object_get(stats, keys[k][0]),
				keys[k][1]));
			CHECK(got[i][k] >= before[i][k] &&
			      got[i][k] <= after[i][k],
			      "%s %s %s: keyhole %llu, the guest %llu before and %llu after",
			      names[i], keys[k][0], keys[k][1], got[i][k],
			      before[i][k], after[i][k]);
		}
	}
	/* The same read: lo's received are its sent; a dummy receives none. */
	CHECK(got[0][0] == got[0][2] && got[0][1] == got[0][3],
	      "lo: received %llu bytes in %llu packets, sent %llu in %llu",
	      got[0][0], got[0][1], got[0][2], got[0][3]);
	CHECK(!got[1][0] && !got[1][1], "khdummy0 received %llu packets",
	      got[1][1]);
	CHECK(before[0][1] > 0 && before[0][3] > 0,
	      "lo has sent no packets: nothing was compared");
	/* virtio_net's, from its queues: the boot's ping of the gateway. */
	CHECK(before[2][1] > 0 && before[2][3] > 0,
	      "eth0 has received %llu and sent %llu packets: nothing was compared",
	      before[2][1], before[2][3]);
	json_decref(doc);
	snprintf(args, sizeof(args), "ip -s %d", g->pid);
	text = keyhole_whole(&status, args);
	CHECK(status == 0 && strstr(text, "    RX:") && strstr(text, "    TX:"),
	      "ip -s: exit %d, no RX:/TX: lines in\n%s", status, text);
	free(text);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	struct truth_iface *before, *after, *dummy, *lo;
	int nr_before, nr_after, i, status;
	json_t *docs[2];
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	nr_before = truth_ifaces(&g, &before);
	for (i = 0; i < 2; i++) {
		docs[i] = keyhole_json(&status, "--technique %s ifconfig %d",
				       techniques[i], g.pid);
		CHECK(status == 0, "ifconfig via %s: exit %d: %s",
		      techniques[i], status, json_dumps(docs[i], 0));
	}
	nr_after = truth_ifaces(&g, &after);

	/* The guest's workload, as it sets it up (tests/guest/khguest.c). */
	dummy = find_truth(before, nr_before, "khdummy0");
	CHECK(dummy && dummy->mtu == 1400 &&
	      !strcmp(dummy->mac, "02:00:00:00:00:42") &&
	      has_addr(dummy, "inet 10.99.0.1/24") &&
	      has_addr(dummy, "inet6 fd00:99::1/64"),
	      "the guest's khdummy0 is not as the workload sets it up");
	lo = find_truth(before, nr_before, "lo");
	CHECK(lo && has_addr(lo, "inet 127.0.0.1/8") &&
	      has_addr(lo, "inet6 ::1/128"),
	      "the guest's lo lacks 127.0.0.1/8 or ::1/128");

	for (i = 0; i < 2; i++) {
		json_t *all = docs[i], *ifaces = doc_list(all, "ifconfig");

		check_netns(&g, ifaces);
		/* The guest's sysfs shows the initial namespace's only. */
		docs[i] = in_netns(ifaces, json_integer_value(json_object_get(
			json_array_get(ifaces, 0), "netns")));
		json_decref(all);
		compare(techniques[i], docs[i], before, nr_before, after,
			nr_after);
	}
	check_links(&g);
	check_counters(&g);
	printf("%zu interfaces matched the guest via %s and %s\n",
	       json_array_size(docs[0]), techniques[0], techniques[1]);
	return KH_PASS;
}
