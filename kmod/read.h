/* SPDX-License-Identifier: GPL-2.0-only */
/* KEYHOLE_READ: batched copies of guest RAM for clients that do not map. */
#ifndef _KEYHOLE_READ_H
#define _KEYHOLE_READ_H

#include <keyhole.h>

struct keyhole_vm;

int keyhole_read_ioctl(struct keyhole_vm *vm, struct keyhole_read *arg);

#endif /* _KEYHOLE_READ_H */
