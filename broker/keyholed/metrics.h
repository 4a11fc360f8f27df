/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What keyholed counts, for --metrics (metrics.c): Prometheus's text
 * format at /metrics, served by libmicrohttpd on its own thread. Workers
 * and the loop report here; the HTTP thread reads under the same lock.
 */
#ifndef KEYHOLED_METRICS_H
#define KEYHOLED_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct kh_qemu_proc;

/* Serves /metrics on addr ("HOST:PORT", "[V6]:PORT"); 0 or -errno. */
int metrics_start(const char *addr);
void metrics_stop(void);

/* A feed's crawl of the VM: its summary record, or NULL if it failed. */
void metrics_crawl(const struct kh_qemu_proc *vm, unsigned int worker,
		   double seconds, double lateness_seconds, json_t *summary);
void metrics_vm_gone(pid_t pid);
/* Time a worker spent working, for its utilisation. */
void metrics_worker_busy(unsigned int worker, uint64_t ns);
void metrics_set_workers(unsigned int nr);
/* Subscription messages dropped for a client (uid, pid) so far. */
void metrics_client_dropped(unsigned long client, uid_t uid, pid_t pid,
			    uint64_t dropped);
void metrics_client_gone(unsigned long client);
void metrics_gauges(unsigned int vms, unsigned int clients);
/* keyhole.ko's events (module_events.c), by METRICS_MODULE_*. */
#define METRICS_MODULE_VM_EXITED	0
#define METRICS_MODULE_LAYOUT_CHANGED	1
#define METRICS_MODULE_PAUSE_ENDED	2
void metrics_module_event(unsigned int kind);
void metrics_module_listening(bool on);
void metrics_layout_reread(void);
void metrics_worker_vms(unsigned int worker, unsigned int count);
void metrics_vm_moved(void);

#endif
