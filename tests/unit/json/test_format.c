// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the text forms of guest-supplied values that the encoders and
 * keyhole's tables share are right and bounded: MACs of any length up to
 * MAX_ADDR_LEN (32) print in full and never overflow, IPv4 and IPv6
 * addresses print canonically with their prefix (JSON without it), an
 * address of a family the guest should never report prints as "?",
 * guest text is made printable within its buffer, a unix socket's path
 * that fills its array is read no further, and technique properties and
 * comms by pid print as keyhole's tables show them.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "libkeyhole.h"

/* "a.b.c.d/p" or an IPv6 address with "/ppp". */
#define ADDR_STR_LEN (INET6_ADDRSTRLEN + 5)

static void expect_addr(int family, const char *text, unsigned int plen,
			const char *want)
{
	struct kh_ifaddr a = { .family = family, .prefixlen = plen };
	char buf[ADDR_STR_LEN];
	int ret;

	if (text)
		CHECK(inet_pton(family, text, a.addr) == 1, "bad %s", text);
	ret = kh_format_ifaddr(&a, buf, sizeof(buf));
	CHECK(!strcmp(buf, want), "address %s: '%s', want '%s'",
	      text ? text : "(none)", buf, want);
	CHECK(ret == (strcmp(want, "?") ? 0 : -1), "address %s: returned %d",
	      want, ret);
}

static void test_mac(void)
{
	char buf[sizeof(((struct kh_iface *)0)->mac) * 3], small[8];
	uint8_t mac[32];
	unsigned int i;

	for (i = 0; i < sizeof(mac); i++)
		mac[i] = i == 5 ? 0x42 : i == 0 ? 0x02 : 0;
	kh_format_mac(mac, 6, buf, sizeof(buf));
	CHECK(!strcmp(buf, "02:00:00:00:00:42"), "mac '%s'", buf);
	kh_format_mac(mac, 0, buf, sizeof(buf));
	CHECK(!strcmp(buf, ""), "empty mac '%s'", buf);
	memset(mac, 0xab, sizeof(mac));
	kh_format_mac(mac, sizeof(mac), buf, sizeof(buf));
	CHECK(strlen(buf) == sizeof(mac) * 3 - 1, "32-byte mac '%s'", buf);
	/* A buffer too small holds whole bytes only. */
	kh_format_mac(mac, sizeof(mac), small, sizeof(small));
	CHECK(!strcmp(small, "ab:ab"), "truncated mac '%s'", small);
}

/* JSON carries the address without its prefix, and "?" as it is. */
static void test_json_addrs(void)
{
	struct kh_iface ifc = {
		.name = "eth0", .mac_len = 0, .nr_addrs = 2,
		.addrs = { { .family = AF_INET6, .prefixlen = 64 },
			   { .family = AF_PACKET, .prefixlen = 3 } },
	};
	struct kh_iface_list list = { .nr = 1, .ifaces = &ifc };
	json_t *doc, *addrs;

	CHECK(inet_pton(AF_INET6, "fd00:0099:0:0::1", ifc.addrs[0].addr) == 1,
	      "inet_pton");
	doc = kh_json_ifaces(&list);
	addrs = json_object_get(json_array_get(doc, 0), "addrs");
	CHECK(!strcmp(json_string_value(json_object_get(
		json_array_get(addrs, 0), "addr")), "fd00:99::1"),
	      "IPv6 address in JSON");
	CHECK(!strcmp(json_string_value(json_object_get(
		json_array_get(addrs, 1), "addr")), "?"),
	      "unknown family in JSON");
	CHECK(!strcmp(json_string_value(json_object_get(
		json_array_get(doc, 0), "mac")), ""), "no MAC in JSON");
	json_decref(doc);
}

static void test_printable(void)
{
	char in[8] = { 'a', '\n', (char)0xc3, (char)0xa9, 0x7f, 'z', 'y', 'x' };
	char out[8], small[3];

	/* An array without a NUL: at most size - 1 bytes are read. */
	kh_printable(in, sizeof(out), out);
	CHECK(!strcmp(out, "a????zy"), "printable '%s'", out);
	kh_printable(in, sizeof(small), small);
	CHECK(!strcmp(small, "a?"), "printable truncated '%s'", small);
	kh_printable("", sizeof(out), out);
	CHECK(!strcmp(out, ""), "printable empty '%s'", out);
}

static void test_endpoint(void)
{
	struct kh_conn tcp = { .proto = "tcp", .local = { 127, 0, 0, 1 },
			       .remote = { 10, 0, 0, 2 }, .lport = 7777,
			       .rport = 40000 };
	struct kh_conn tcp6 = { .proto = "tcp6", .local = { [15] = 1 },
				.lport = 7780 };
	struct kh_conn unix_conn = { .proto = "unix" };
	char buf[128], small[4];

	kh_format_endpoint(&tcp, 1, buf, sizeof(buf));
	CHECK(!strcmp(buf, "127.0.0.1:7777"), "tcp local '%s'", buf);
	kh_format_endpoint(&tcp, 0, buf, sizeof(buf));
	CHECK(!strcmp(buf, "10.0.0.2:40000"), "tcp remote '%s'", buf);
	kh_format_endpoint(&tcp6, 1, buf, sizeof(buf));
	CHECK(!strcmp(buf, "[::1]:7780"), "tcp6 local '%s'", buf);
	kh_format_endpoint(&tcp6, 0, buf, sizeof(buf));
	CHECK(!strcmp(buf, "[::]:0"), "tcp6 remote '%s'", buf);
	kh_format_endpoint(&unix_conn, 1, buf, sizeof(buf));
	CHECK(!strcmp(buf, "-"), "unix without a path '%s'", buf);
	/* A path that fills sun_path, with no NUL: never read past it. */
	memset(unix_conn.path, 'p', sizeof(unix_conn.path));
	unix_conn.path[1] = '\x1b';
	kh_format_endpoint(&unix_conn, 1, buf, sizeof(buf));
	CHECK(strlen(buf) == sizeof(unix_conn.path) && buf[1] == '?',
	      "unix path of %zu bytes '%s'", strlen(buf), buf);
	kh_format_endpoint(&unix_conn, 0, buf, sizeof(buf));
	CHECK(!strcmp(buf, "-"), "unix remote '%s'", buf);
	kh_format_endpoint(&unix_conn, 1, small, sizeof(small));
	CHECK(!strcmp(small, "p?p"), "unix path truncated '%s'", small);
}

static void test_comm(void)
{
	struct kh_task tasks[] = {
		{ .pid = 1, .tgid = 1, .comm = "init" },
		{ .pid = 42, .tgid = 42, .comm = "sh\x01" },
		{ .pid = 43, .tgid = 42, .comm = "worker" },
	};
	struct kh_task_list list = { .nr = 3, .tasks = tasks };
	char comm[KH_COMM_LEN];

	kh_format_comm(&list, 42, comm);
	CHECK(!strcmp(comm, "sh?"), "comm of 42 '%s'", comm);
	kh_format_comm(&list, 7, comm);
	CHECK(!strcmp(comm, "?"), "comm of 7 '%s'", comm);
	kh_format_comm(NULL, 1, comm);
	CHECK(!strcmp(comm, "?"), "comm without tasks '%s'", comm);
}

static void test_technique_props(void)
{
	char buf[128], small[6];

	kh_format_technique_props(KH_TECHNIQUE_LIVE | KH_TECHNIQUE_MAPPED,
				  buf, sizeof(buf));
	CHECK(!strcmp(buf, "live,mapped"), "props '%s'", buf);
	kh_format_technique_props(0, buf, sizeof(buf));
	CHECK(!strcmp(buf, ""), "no props '%s'", buf);
	kh_format_technique_props(~0u, buf, sizeof(buf));
	CHECK(!strcmp(buf, "live,halting,snapshot,agent,interface,mapped"),
	      "every prop '%s'", buf);
	kh_format_technique_props(~0u, small, sizeof(small));
	CHECK(strlen(small) < sizeof(small), "props overflowed");
}

int main(void)
{
	test_mac();
	expect_addr(AF_INET, "10.99.0.1", 24, "10.99.0.1/24");
	expect_addr(AF_INET, "127.0.0.1", 8, "127.0.0.1/8");
	expect_addr(AF_INET6, "::1", 128, "::1/128");
	expect_addr(AF_INET6, "fd00:0099:0:0::1", 64, "fd00:99::1/64");
	expect_addr(AF_INET6, "fe80::ff:fe00:42", 64, "fe80::ff:fe00:42/64");
	expect_addr(AF_UNIX, NULL, 0, "?");
	test_json_addrs();
	test_printable();
	test_endpoint();
	test_comm();
	test_technique_props();
	printf("formatting: MACs, addresses, endpoints, comms, properties as expected\n");
	return KH_PASS;
}
