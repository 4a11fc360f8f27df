// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole ifconfig`'s table decodes IFF_* flags by name with
 * unknown bits shown as hex, never overflows its buffer, and lays out an
 * interface as it always has: name, index, flags, MTU, hardware address
 * and addresses, with guest text made printable, rendered from the JSON
 * document of the interfaces as keyhole renders it.
 *
 * format_flags() is static in tools/keyhole/render_network.c and unit
 * tests link only against libkeyhole.a, so that file is compiled in here.
 */
#include "../../tools/keyhole/render_network.c"
#include "../../tools/keyhole/table.c"

#include <string.h>
#include <sys/socket.h>

#include "check.h"

static void expect_flags(unsigned int flags, const char *want)
{
	char buf[256];

	format_flags(flags, buf, sizeof(buf));
	CHECK(!strcmp(buf, want), "flags 0x%x: '%s', want '%s'", flags, buf,
	      want);
}

/* The text keyhole prints for list: through its JSON document. */
static char *table_of(const struct kh_iface_list *list)
{
	json_t *doc = kh_json_listing("ifconfig", kh_json_ifaces(list), NULL);
	char *text = NULL;
	size_t size;
	FILE *out;

	CHECK(doc, "kh_json_ifaces failed");
	out = open_memstream(&text, &size);
	CHECK(out, "open_memstream");
	render_ifconfig(doc, out);
	fclose(out);
	json_decref(doc);
	return text;
}

/* ip addr and ip -j addr of the same interfaces. */
static void ip_table(const struct kh_iface_list *list)
{
	json_t *doc = kh_json_listing("ifconfig", kh_json_ifaces(list), NULL);
	json_t *ip = ip_document(doc, 1);
	char *text = NULL, *json;
	size_t size;
	FILE *out = open_memstream(&text, &size);
	const char *want =
		"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN\n"
		"    link/loopback\n"
		"    RX:        bytes  packets\n"
		"                 300        3\n"
		"    TX:        bytes  packets\n"
		"                 300        3\n"
		"    inet 127.0.0.1/8\n"
		"\n"
		"netns: 4026532300\n"
		"3: kh?dummy0: <NO-CARRIER,BROADCAST,UP> mtu 1500 state DOWN\n"
		"    link/ether 02:00:00:00:00:42\n"
		"    inet6 ::1/128\n"
		"    inet6 ?/0\n";
	const char *want_json =
		"{\"ip\":[{\"ifindex\":1,\"ifname\":\"lo\",\"flags\":[\"LOOPBACK\",\"UP\",\"LOWER_UP\"],"
		"\"mtu\":65536,\"operstate\":\"UNKNOWN\",\"link_type\":\"loopback\",\"address\":\"\","
		"\"addr_info\":[{\"family\":\"inet\",\"local\":\"127.0.0.1\",\"prefixlen\":8}],"
		"\"netns\":4026531840,\"stats64\":{\"rx\":{\"bytes\":300,\"packets\":3},"
		"\"tx\":{\"bytes\":300,\"packets\":3}}},";

	CHECK(out && ip, "ip document");
	render_ip(ip, out);
	fclose(out);
	CHECK(!strcmp(text, want), "ip:\n%s\nwant:\n%s", text, want);
	json = json_dumps(ip, JSON_COMPACT | JSON_PRESERVE_ORDER);
	CHECK(json && !strncmp(json, want_json, strlen(want_json)),
	      "ip -j:\n%s\nwant it to start:\n%s", json, want_json);
	free(json);
	free(text);
	json_decref(ip);
	json_decref(doc);

	/* ip's document says what ifconfig's said of the reads. */
	doc = kh_json_listing("ifconfig", kh_json_ifaces(list), &(struct kh_result){
		.flags = KH_RESULT_INCOMPLETE, .problem = "netns gone" });
	ip = ip_document(doc, 0);
	CHECK(ip && json_is_true(json_object_get(ip, "incomplete")) &&
	      !strcmp(json_string_value(json_array_get(json_object_get(ip,
				"problems"), 0)) ?: "", "netns gone"),
	      "ip -j of an incomplete read does not say so");
	json_decref(ip);
	json_decref(doc);
}

static void test_table(void)
{
	struct kh_iface ifaces[] = {
		{ .name = "lo", .index = 1, .flags = 0x9, .mtu = 65536,
		  .link_flags = 0x10049, .nr_addrs = 1, .type = 772,
		  .netns = 4026531840u, .stats = 1, .rx_packets = 3,
		  .rx_bytes = 300, .tx_packets = 3, .tx_bytes = 300,
		  .addrs = { { .family = AF_INET, .addr = { 127, 0, 0, 1 },
			       .prefixlen = 8 } } },
		{ .name = "kh\x1b" "dummy0", .index = 3, .flags = 0x80083,
		  .link_flags = 0x80003, .operstate = 2, .type = 1,
		  .netns = 4026532300u,
		  .mtu = 1500, .mac = { 0x02, 0, 0, 0, 0, 0x42 },
		  .mac_len = 6, .nr_addrs = 2,
		  .addrs = { { .family = AF_INET6, .addr = { [15] = 1 },
			       .prefixlen = 128 },
			     { .family = AF_UNIX } } },
	};
	struct kh_iface_list list = { .nr = 2, .ifaces = ifaces };
	const char *want =
		"lo: index 1 flags=0x10049<UP,LOOPBACK,RUNNING,LOWER_UP> mtu 65536\n"
		"        inet 127.0.0.1/8\n"
		"        RX packets 3  bytes 300\n"
		"        TX packets 3  bytes 300\n"
		"\n"
		"netns: 4026532300\n"
		"kh?dummy0: index 3 flags=0x80003<UP,BROADCAST,0x80000> mtu 1500\n"
		"        hwaddr 02:00:00:00:00:42\n"
		"        inet6 ::1/128\n"
		"        inet6 ?\n";
	char *got = table_of(&list);

	CHECK(!strcmp(got, want), "table:\n%s\nwant:\n%s", got, want);
	free(got);
	ip_table(&list);
}

int main(void)
{
	char small[8];

	/* What the test guest's lo and khdummy0 have in sysfs. */
	expect_flags(0x9, "UP,LOOPBACK");
	expect_flags(0x83, "UP,BROADCAST,NOARP");
	expect_flags(0x11043, "UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP");
	expect_flags(0, "");
	expect_flags(0x80000, "0x80000");
	expect_flags(0xffffffff,
		     "UP,BROADCAST,DEBUG,LOOPBACK,POINTOPOINT,NOTRAILERS,RUNNING,NOARP,PROMISC,ALLMULTI,MASTER,SLAVE,MULTICAST,PORTSEL,AUTOMEDIA,DYNAMIC,LOWER_UP,DORMANT,ECHO,0xfff80000");
	/* A buffer too small truncates; it never overflows. */
	format_flags(0xffffffff, small, sizeof(small));
	CHECK(strlen(small) < sizeof(small), "flags overflowed");
	test_table();
	printf("ifconfig table: flags, MACs and addresses as expected\n");
	return KH_PASS;
}
