/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _KEYHOLE_DEVICE_H
#define _KEYHOLE_DEVICE_H

int keyhole_device_init(void);
void keyhole_device_exit(void);

#endif /* _KEYHOLE_DEVICE_H */
