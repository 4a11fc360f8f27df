// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the socket decoders of broker/lib/walk/sockets.c turn struct sock
 * bytes into what /proc/net shows: TCP/UDP over IPv4 and IPv6 by family, type
 * and protocol (as plain members and as the bitfields of kernels before 5.6),
 * ports in host order, state names by /proc/net/tcp's numbers, and unix names
 * as /proc/net/unix prints them (a path without its NUL, an abstract name with
 * '@' for every NUL), bounded however long the guest claims the name is.
 * Families /proc/net does not list are left out.
 *
 * The decoders are static: this test includes walk/sockets.c itself, so it
 * links its own copy of them (and of kh_conns, which the library's copy
 * is then not pulled in for).
 */
#include "check.h"
#include "walk/sockets.c"

/* A made-up sock_common layout; only the offsets matter. */
static const uint32_t off[NR_FIELDS] = {
	[SKC_FAMILY] = 16, [SKC_STATE] = 18, [SKC_RCV_SADDR] = 4,
	[SKC_DADDR] = 0, [SKC_NUM] = 14, [SKC_DPORT] = 12,
	[SKC_V6_RCV_SADDR] = 72, [SKC_V6_DADDR] = 56,
	[SOCK_COMMON_SIZE] = 136,
};

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void check_unix_path(const char *sun_path, int32_t addr_len,
			    const char *want)
{
	uint8_t raw[SUN_PATH_LEN] = { 0 };
	char out[108];

	memcpy(raw, sun_path, addr_len - 2 > 0 && addr_len - 2 <= 108 ?
			      addr_len - 2 : 0);
	unix_path(raw, addr_len, 2, out, sizeof(out));
	CHECK(!strcmp(out, want), "unix name of length %d: '%s', want '%s'",
	      addr_len, out, want);
}

int main(void)
{
	/* sk_type and sk_protocol as u16 members (Linux 5.6 and later). */
	struct sk_bits plain = {
		.type = { .offset = 100, .size = 2 },
		.protocol = { .offset = 102, .size = 2 },
		.span_start = 100, .span_len = 6,
	};
	/*
	 * Before 5.6: sk_protocol:8 then sk_type:16 after 8 bits of flags,
	 * in one unsigned int at offset 100 (BTF: bits 8-15 and 16-31).
	 */
	struct sk_bits old = {
		.type = { .offset = 102, .size = 4, .bit_size = 16 },
		.protocol = { .offset = 101, .size = 4, .bit_size = 8 },
		.span_start = 101, .span_len = 5,
	};
	uint8_t common[136], bits[64] = { 0 }, big[200];
	struct sock_view v = { .common = common };
	struct kh_conn c;
	uint32_t raw;

	/* 127.0.0.1:7778 <- 127.0.0.1:48276, ESTABLISHED TCP. */
	memset(common, 0, sizeof(common));
	memcpy(common + 4, "\x7f\x00\x00\x01", 4);
	memcpy(common + 0, "\x7f\x00\x00\x01", 4);
	put16(common + 14, 7778);
	put16(common + 12, (uint16_t)(48276 >> 8 | (48276 & 0xff) << 8));
	put16(common + 16, AF_INET_);
	common[18] = 1;
	put16(bits + 0, SOCK_STREAM_);
	put16(bits + 2, IPPROTO_TCP_);
	memcpy(v.bits, bits, sizeof(bits));
	memset(&c, 0, sizeof(c));
	CHECK(decode(off, &plain, &v, &c), "TCP socket not decoded");
	CHECK(!strcmp(c.proto, "tcp") && !strcmp(c.state, "ESTABLISHED") &&
	      c.lport == 7778 && c.rport == 48276 &&
	      !memcmp(c.local, "\x7f\x00\x00\x01", 4) &&
	      !memcmp(c.remote, "\x7f\x00\x00\x01", 4),
	      "TCP: %s %s %u %u", c.proto, c.state, c.lport, c.rport);

	/* The same, with the pre-5.6 bitfields. */
	raw = 0x5a | IPPROTO_TCP_ << 8 | SOCK_STREAM_ << 16;
	memset(v.bits, 0, sizeof(v.bits));
	memcpy(v.bits, (uint8_t *)&raw + 1, 3);
	memset(&c, 0, sizeof(c));
	CHECK(decode(off, &old, &v, &c) && !strcmp(c.proto, "tcp"),
	      "TCP with bitfields not decoded: '%s'", c.proto);

	/* Unconnected UDP over IPv6: [::1]:7779, state 7 is CLOSE. */
	put16(common + 16, AF_INET6_);
	common[18] = 7;
	memset(common + 72, 0, 16);
	common[72 + 15] = 1;
	put16(common + 14, 7779);
	put16(common + 12, 0);
	memset(v.bits, 0, sizeof(v.bits));
	put16(v.bits + 0, SOCK_DGRAM_);
	put16(v.bits + 2, IPPROTO_UDP_);
	memset(&c, 0, sizeof(c));
	CHECK(decode(off, &plain, &v, &c), "UDP6 socket not decoded");
	/* Unconnected UDP is TCP_CLOSE in the kernel, UNCONN in ss. */
	CHECK(!strcmp(c.proto, "udp6") && !strcmp(c.state, "UNCONN") &&
	      !strcmp(c.type, "dgram") && c.lport == 7779 && c.rport == 0 &&
	      c.local[15] == 1,
	      "UDP6: %s %s %s %u", c.proto, c.state, c.type, c.lport);

	/* A unix listener: state 10. */
	put16(common + 16, AF_UNIX_);
	common[18] = 10;
	memset(&c, 0, sizeof(c));
	CHECK(decode(off, &plain, &v, &c) && !strcmp(c.proto, "unix") &&
	      !strcmp(c.state, "LISTEN"), "unix listener: %s", c.state);
	common[18] = 1;
	CHECK(decode(off, &plain, &v, &c) && !strcmp(c.state, "CONNECTED"),
	      "connected unix socket: %s", c.state);
	common[18] = 7;
	CHECK(decode(off, &plain, &v, &c) && !strcmp(c.state, "UNCONNECTED"),
	      "unconnected unix socket: %s", c.state);

	/* Netlink (16), and raw IP over IPv4: no /proc/net file here. */
	put16(common + 16, 16);
	CHECK(!decode(off, &plain, &v, &c), "netlink socket listed");
	put16(common + 16, AF_INET_);
	put16(v.bits + 0, 3);
	put16(v.bits + 2, 1);
	CHECK(!decode(off, &plain, &v, &c), "raw socket listed");

	/* Every state number /proc/net/tcp has, and hostile ones. */
	CHECK(!strcmp(kh_inet_state(10), "LISTEN"), "state 10");
	CHECK(!strcmp(kh_inet_state(6), "TIME_WAIT"), "state 6");
	CHECK(!strcmp(kh_inet_state(12), "NEW_SYN_RECV"), "state 12");
	CHECK(!strcmp(kh_inet_state(0), "UNKNOWN"), "state 0");
	CHECK(!strcmp(kh_inet_state(255), "UNKNOWN"), "state 255");

	/* Unix names: len counts sun_family and a path's NUL. */
	check_unix_path("/tmp/kh.sock", 2 + 12 + 1, "/tmp/kh.sock");
	check_unix_path("\0foo\0bar", 2 + 8, "@foo@bar");
	check_unix_path("\0" "12ab5", 2 + 6, "@12ab5");
	check_unix_path("", 2, "");
	check_unix_path("", -7, "");
	/* A hostile length: at most sun_path, at most the output. */
	memset(big, 'x', sizeof(big));
	{
		char out[108];

		unix_path(big, 100000, 2, out, sizeof(out));
		CHECK(strlen(out) == 107, "long name gave %zu bytes",
		      strlen(out));
		unix_path(big, 100000, 2, out, 8);
		CHECK(!strcmp(out, "xxxxxxx"), "short buffer gave '%s'", out);
	}
	printf("test_conns: socket decoding as /proc/net shows it\n");
	return KH_PASS;
}
