/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * keyhole.ko's ABI: the /dev/keyhole character device.
 *
 * Every ioctl argument is an extensible struct whose first member is
 * __u32 size, set by the caller to sizeof() the struct it was compiled
 * with. The kernel accepts a smaller struct from an older caller and a
 * larger one from a newer caller as long as the bytes it does not know are
 * zero. Command numbers are only ever appended. Reserved fields must be 0.
 *
 * Probe with KEYHOLE_API before anything else: it says which commands and
 * features this module has.
 *
 * Errors common to every command:
 *   EINVAL  size is smaller than the command's first version, or a
 *           reserved field or unknown flag is set
 *   E2BIG   size is larger than the kernel knows and the extra bytes are
 *           not zero
 *   EFAULT  the argument pointer is bad
 *   ENOTTY  unknown command
 */
#ifndef _UAPI_LINUX_KEYHOLE_H
#define _UAPI_LINUX_KEYHOLE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KEYHOLE_TYPE 0xbe

enum {
	KEYHOLE_CMD_BASE = 0x80,
	KEYHOLE_CMD_API = KEYHOLE_CMD_BASE
};

#define KEYHOLE_API_VERSION 1

/**
 * struct keyhole_api - KEYHOLE_API: the handshake
 * @size: sizeof(struct keyhole_api)
 * @api_version: out: KEYHOLE_API_VERSION of the module
 * @features: out: KEYHOLE_FEATURE_* bits the module implements
 * @ioctls: out: bit n set when command KEYHOLE_CMD_BASE + n exists
 */
struct keyhole_api {
	__u32 size;
	__u32 api_version;
	__aligned_u64 features;
	__aligned_u64 ioctls;
};
#define KEYHOLE_API _IO(KEYHOLE_TYPE, KEYHOLE_CMD_API)

#endif /* _UAPI_LINUX_KEYHOLE_H */
