// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * GDB remote protocol packet codec; see qemu/gdb_packet.h. Everything decoded
 * here comes from a socket we do not control, so every length is checked before
 * a byte is written and malformed input is an error, never a guess.
 */
#include <errno.h>
#include <string.h>

#include "qemu/gdb_packet.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t kh_gdbrsp_encode(const char *payload, size_t len, char *out,
			 size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t sum = 0;
	size_t i, n = 0;

	if (outsz < 4)
		return -EMSGSIZE;
	out[n++] = '$';
	for (i = 0; i < len; i++) {
		char c = payload[i];
		int esc = c == '$' || c == '#' || c == '}' || c == '*';

		/* Room for this byte (maybe escaped) and "#cc". */
		if (n + 1 + esc + 3 > outsz)
			return -EMSGSIZE;
		if (esc) {
			out[n++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[n++] = c;
		sum += (uint8_t)c;
	}
	out[n++] = '#';
	out[n++] = digits[sum >> 4];
	out[n++] = digits[sum & 15];
	return n;
}

ssize_t kh_gdbrsp_decode(const char *in, size_t inlen, char *out,
			 size_t outsz, size_t *outlen)
{
	const char *hash;
	uint8_t sum = 0;
	size_t i, n = 0;
	int hi, lo;

	if (!inlen)
		return -EAGAIN;
	if (in[0] != '$')
		return -EBADMSG;
	hash = memchr(in + 1, '#', inlen - 1);
	if (!hash || (size_t)(hash - in) + 3 > inlen)
		return -EAGAIN;
	hi = hexval(hash[1]);
	lo = hexval(hash[2]);
	if (hi < 0 || lo < 0)
		return -EBADMSG;
	for (i = 1; in + i < hash; i++)
		sum += (uint8_t)in[i];
	if (sum != (uint8_t)(hi << 4 | lo))
		return -EBADMSG;

	for (i = 1; in + i < hash; i++) {
		char c = in[i];

		if (c == '$')
			return -EBADMSG;	/* a new packet inside this one */
		if (c == '}') {
			if (in + i + 1 >= hash)
				return -EBADMSG;
			c = in[++i] ^ 0x20;
		} else if (c == '*') {
			int count;

			/*
			 * Repeats the previous byte; gdb never sends counts
			 * that would decode as '#' or '$' (6 or 7).
			 */
			if (!n || in + i + 1 >= hash)
				return -EBADMSG;
			count = (uint8_t)in[++i] - 29;
			if (count < 3 || count > 97 || count == 6 || count == 7)
				return -EBADMSG;
			if (n + count > outsz)
				return -EMSGSIZE;
			memset(out + n, out[n - 1], count);
			n += count;
			continue;
		}
		if (n >= outsz)
			return -EMSGSIZE;
		out[n++] = c;
	}
	*outlen = n;
	return hash - in + 3;
}

int kh_gdbrsp_unhex(const char *hex, size_t hexlen, uint8_t *out,
		    size_t len)
{
	size_t i;

	if (hexlen != 2 * len)
		return -EBADMSG;
	for (i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i] = hi << 4 | lo;
	}
	return 0;
}

int kh_gdbrsp_error(const char *reply, size_t len)
{
	int hi, lo;

	if (len != 3 || reply[0] != 'E')
		return -1;
	hi = hexval(reply[1]);
	lo = hexval(reply[2]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi << 4 | lo;
}
