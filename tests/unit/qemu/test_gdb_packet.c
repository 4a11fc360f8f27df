// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the GDB remote protocol codec (broker/lib/qemu/gdb_packet.c) frames
 * and escapes what it sends, and decodes what a gdbstub sends strictly: a
 * packet split anywhere is "incomplete", never misread; a wrong checksum, a bad
 * hex digit, a dangling escape or repeat, a repeat with nothing to repeat or a
 * forbidden count, and a '$' inside a packet are errors; no decoded byte is
 * written past the output buffer (checked with a guard); hex and "Enn" replies
 * are parsed exactly.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "qemu/gdb_packet.h"

static ssize_t decode(const char *in, char *out, size_t outsz, size_t *len)
{
	return kh_gdbrsp_decode(in, strlen(in), out, outsz, len);
}

static void test_roundtrip(void)
{
	static const char payload[] = "m1000,4$#}*x";
	char pkt[64], out[64];
	size_t len = 0;
	ssize_t n, used;

	n = kh_gdbrsp_encode(payload, strlen(payload), pkt, sizeof(pkt));
	CHECK(n > 0, "encode: %zd", n);
	pkt[n] = '\0';
	/* Each of $ # } * is escaped: 4 more bytes, plus $ # cc. */
	CHECK(n == (ssize_t)strlen(payload) + 4 + 4, "encoded '%s'", pkt);
	CHECK(!strchr(pkt + 1, '$'), "unescaped $ in '%s'", pkt);
	used = decode(pkt, out, sizeof(out), &len);
	CHECK(used == n && len == strlen(payload) &&
	      !memcmp(out, payload, len), "roundtrip: %zd %zu", used, len);
	/* Too small an output for the packet. */
	CHECK(kh_gdbrsp_encode(payload, strlen(payload), pkt, 10) == -EMSGSIZE,
	      "encode into 10 bytes");
	CHECK(kh_gdbrsp_encode("", 0, pkt, 3) == -EMSGSIZE, "encode into 3");
	n = kh_gdbrsp_encode("", 0, pkt, 4);
	CHECK(n == 4 && !memcmp(pkt, "$#00", 4), "empty packet");
}

static void test_known(void)
{
	char out[64];
	size_t len;

	/* "OK" sums to 0x9a; uppercase checksum digits are accepted. */
	CHECK(decode("$OK#9a", out, sizeof(out), &len) == 6 && len == 2 &&
	      !memcmp(out, "OK", 2), "OK");
	CHECK(decode("$OK#9A", out, sizeof(out), &len) == 6, "OK upper");
	/* Trailing bytes are left for the next packet. */
	CHECK(decode("$OK#9a$", out, sizeof(out), &len) == 6, "trailing");
	/* Run-length: "0* " is "0000" (' ' = 29 + 3). */
	CHECK(decode("$0* #7a", out, sizeof(out), &len) == 7 && len == 4 &&
	      !memcmp(out, "0000", 4), "rle: len %zu", len);
}

static void test_incomplete(void)
{
	const char *full = "$OK#9a";
	char out[64];
	size_t len, i;

	for (i = 0; i < strlen(full); i++)
		CHECK(kh_gdbrsp_decode(full, i, out, sizeof(out), &len) ==
		      -EAGAIN, "prefix of %zu bytes", i);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"$OK#9b",	/* wrong checksum */
		"$OK#9g",	/* not hex */
		"$OK#g9",
		"OK#9a",	/* no '$' */
		"+OK#9a",
		"$}#a0",	/* escape with nothing after it: sum('}')=0x7d */
		"$*!#4b",	/* repeat with nothing before it */
		"$0*#5a",	/* repeat without a count */
	};
	char out[64];
	size_t len, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(decode(bad[i], out, sizeof(out), &len) == -EBADMSG,
		      "'%s' accepted", bad[i]);
}

/* Builds "$payload#cc" with a correct checksum, whatever payload holds. */
static void frame(const char *payload, char *pkt)
{
	unsigned int sum = 0;
	const char *p;

	for (p = payload; *p; p++)
		sum += (unsigned char)*p;
	sprintf(pkt, "$%s#%02x", payload, sum & 0xff);
}

static void test_malformed_checksummed(void)
{
	static const char *const bad[] = {
		"}",		/* dangling escape */
		"ab}",
		"*!",		/* repeat of nothing */
		"0*",		/* repeat without a count */
		"0*\x1f",	/* count below 3 */
		"0*#",		/* count 6: '#' is forbidden */
		"0*$",		/* count 7 and a '$' */
		"0*\x7f",	/* count above 97 */
		"a$b",		/* '$' inside */
	};
	char pkt[64], out[64];
	size_t len, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ssize_t r;

		frame(bad[i], pkt);
		r = decode(pkt, out, sizeof(out), &len);
		/* '#' in the payload ends the packet early: bad checksum. */
		CHECK(r == -EBADMSG, "payload '%s' gave %zd", bad[i], r);
	}
}

static void test_bounds(void)
{
	char pkt[64], out[8];
	size_t len;

	/* A repeat that would overflow, with a guard byte after out. */
	frame("0*~", pkt);	/* '~' = 126: 97 more zeros */
	memset(out, 'G', sizeof(out));
	CHECK(decode(pkt, out, 4, &len) == -EMSGSIZE, "repeat overflow");
	CHECK(out[4] == 'G', "wrote past the output");
	frame("123456789", pkt);
	CHECK(decode(pkt, out, 4, &len) == -EMSGSIZE, "plain overflow");
	CHECK(out[4] == 'G', "wrote past the output");
	frame("0*~", pkt);
	{
		char big[128];

		CHECK(decode(pkt, big, sizeof(big), &len) > 0 && len == 98,
		      "98-byte run: %zu", len);
	}
}

static void test_hex(void)
{
	uint8_t b[4];

	CHECK(!kh_gdbrsp_unhex("deadBEEF", 8, b, 4) && b[0] == 0xde &&
	      b[3] == 0xef, "hex");
	CHECK(kh_gdbrsp_unhex("deadbee", 7, b, 4) == -EBADMSG, "odd");
	CHECK(kh_gdbrsp_unhex("deadbeef00", 10, b, 4) == -EBADMSG, "long");
	CHECK(kh_gdbrsp_unhex("deadbexf", 8, b, 4) == -EBADMSG, "bad digit");
	CHECK(kh_gdbrsp_unhex("E14", 3, b, 1) == -EBADMSG, "error as hex");
	CHECK(kh_gdbrsp_error("E14", 3) == 0x14, "E14");
	CHECK(kh_gdbrsp_error("E1", 2) == -1, "E1");
	CHECK(kh_gdbrsp_error("Ex1", 3) == -1, "Ex1");
	CHECK(kh_gdbrsp_error("0e14", 4) == -1, "data");
}

int main(void)
{
	test_roundtrip();
	test_known();
	test_incomplete();
	test_malformed();
	test_malformed_checksummed();
	test_bounds();
	test_hex();
	return KH_PASS;
}
