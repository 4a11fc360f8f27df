/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest RAM from an image file (see access_image.c).
 */
#ifndef KH_ACCESS_IMAGE_H
#define KH_ACCESS_IMAGE_H

#include "access.h"

extern const struct kh_access_ops kh_access_image;

/* Maps path and fills layout and acc (ops, priv) for it. */
int kh_image_open(const char *path, struct kh_layout *layout,
		  struct kh_access *acc, struct kh_err *err);

/* The private copy of [gpa, gpa + len), writable; NULL if not in RAM. */
uint8_t *kh_image_ptr(struct kh_access *acc, uint64_t gpa, uint64_t len);

#endif
