/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The GDB remote serial protocol's packet codec: framing, checksums,
 * escapes and run-length encoding, and hex. Pure functions over bytes, so
 * the parser of the untrusted side (QEMU's gdbstub, or whatever answers on
 * its socket) can be tested and fuzzed without a VM.
 *
 * A packet is "$payload#cc": cc is the modulo-256 sum of the payload bytes
 * as sent, in two lowercase or uppercase hex digits. In the payload '}'
 * escapes the next byte (xor 0x20) and "X*n" repeats X (n - 29) more times.
 */
#ifndef KH_GDBRSP_H
#define KH_GDBRSP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Frames payload (len bytes) into out, escaping '$', '#', '}' and '*'.
 * Returns the packet's length, or -EMSGSIZE when it does not fit.
 */
ssize_t kh_gdbrsp_encode(const char *payload, size_t len, char *out,
			 size_t outsz);

/*
 * Decodes the packet at the start of in (which must begin with '$'):
 * checks the checksum, undoes escapes and run-length encoding into out
 * (at most outsz bytes). Returns the bytes of in consumed and sets
 * *outlen; -EAGAIN when in holds only part of a packet; -EBADMSG for a
 * bad checksum or malformed escape or repeat; -EMSGSIZE when the decoded
 * payload would exceed outsz.
 */
ssize_t kh_gdbrsp_decode(const char *in, size_t inlen, char *out,
			 size_t outsz, size_t *outlen);

/*
 * Strict hex: exactly 2 * len digits into len bytes. -EBADMSG on any
 * other character or an odd count.
 */
int kh_gdbrsp_unhex(const char *hex, size_t hexlen, uint8_t *out,
		    size_t len);

/*
 * An error reply "Enn": returns nn (0-255), or -1 when reply is not one.
 */
int kh_gdbrsp_error(const char *reply, size_t len);

#endif
