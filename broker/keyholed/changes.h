/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Change events between two crawl records of one VM (changes.c): a new
 * array of {"kind", "object"}, kind one of process-started,
 * process-exited, module-loaded, module-unloaded, socket-opened,
 * socket-closed, address-added, address-removed; object as the record
 * has it. Kept apart from the daemon so that a unit test can feed it.
 */
#ifndef KEYHOLED_CHANGES_H
#define KEYHOLED_CHANGES_H

#include <jansson.h>

json_t *crawl_changes(json_t *prev, json_t *cur);

#endif
