// SPDX-License-Identifier: GPL-2.0-only
/*
 * Metrics in Prometheus's text exposition format, so that an existing
 * monitoring system scrapes keyholed as it scrapes anything else: one
 * keyholed per host, Prometheus across them (Documentation/broker.md).
 *
 * Per VM: crawls, crawl errors, processes whose state crawls kept
 * (incremental crawls), a histogram of crawl durations, the last
 * crawl's lateness, the consistency counters (Documentation/consistency.md)
 * summed over crawls, and the last crawl's task, module and connection
 * counts. Per worker: the seconds it spent working (its utilisation is
 * the rate of that). Per client: the stream messages dropped because it
 * read too slowly. VMs and clients that are gone are removed, so their
 * series end.
 *
 * The endpoint has no authentication: it shows every VM's name and
 * counts to whoever can reach it, so it binds where the operator says,
 * and nothing is served unless --metrics is given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libkeyhole.h"
#include "metrics.h"

static const double buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10,
};
#define NR_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static const char *const consistency_keys[] = {
	"I.A_zombie", "I.B_dying", "I.C_as_good_as_dead", "I.D_fresh",
	"II.A_died", "II.B_changed",
};
#define NR_CONSISTENCY 6

struct vm_metrics {
	pid_t pid;
	char name[256];
	uint64_t crawls, errors, procs_kept;
	uint64_t bucket[NR_BUCKETS];
	double duration_sum, lateness;
	uint64_t consistency[NR_CONSISTENCY];
	json_int_t tasks, modules, conns;
	unsigned int worker;		/* that ran its last crawl */
};

struct client_metrics {
	unsigned long id;
	uid_t uid;
	pid_t pid;
	uint64_t dropped;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct vm_metrics *vms;
static unsigned int nr_vms, cap_vms;
static struct client_metrics *clients;
static unsigned int nr_clients, cap_clients;
static uint64_t *worker_busy_ns;
static unsigned int nr_workers;
static unsigned int gauge_vms, gauge_clients;
static const char *const module_event_names[] = {
	"vm-exited", "layout-changed", "pause-ended",
};
static uint64_t module_events[3], layout_rereads, vm_moves;
static unsigned int *worker_vms;
static int module_listening;
static uint64_t module_joins;
static struct MHD_Daemon *httpd;

/*
 * vms[] by pid: an open-addressed table of indexes + 1 (0: empty), twice
 * the array's capacity. Every crawl looks its VM up under the one lock,
 * and a scan of a thousand VMs' metrics was most of a crawl's cost there.
 */
static unsigned int *slot;
static unsigned int nr_slots;

static unsigned int *slot_for(pid_t pid)
{
	unsigned int i = ((uint32_t)pid * 2654435761u) & (nr_slots - 1);

	while (slot[i] && vms[slot[i] - 1].pid != pid)
		i = (i + 1) & (nr_slots - 1);
	return &slot[i];
}

/* Indexes every VM again, in a table of n slots (a power of two). */
static int reindex(unsigned int n)
{
	unsigned int *table = calloc(n, sizeof(*table)), i;

	if (!table)
		return -ENOMEM;
	free(slot);
	slot = table;
	nr_slots = n;
	for (i = 0; i < nr_vms; i++)
		*slot_for(vms[i].pid) = i + 1;
	return 0;
}

static struct vm_metrics *vm_of(pid_t pid)
{
	unsigned int *s, cap = cap_vms ? cap_vms * 2 : 16;
	void *grown;

	if (!nr_slots && reindex(cap * 2))
		return NULL;
	s = slot_for(pid);
	if (*s)
		return &vms[*s - 1];
	if (nr_vms == cap_vms) {
		grown = realloc(vms, cap * sizeof(*vms));
		if (!grown)
			return NULL;
		vms = grown;
		if (reindex(cap * 2))
			return NULL;
		cap_vms = cap;
		s = slot_for(pid);
	}
	memset(&vms[nr_vms], 0, sizeof(*vms));
	vms[nr_vms].pid = pid;
	*s = ++nr_vms;
	return &vms[nr_vms - 1];
}

void metrics_crawl(const struct kh_qemu_proc *vm, unsigned int worker,
		   double seconds, double lateness_seconds, json_t *summary)
{
	json_t *counts = json_object_get(summary, "counts");
	json_t *consistency = json_object_get(summary, "consistency");
	struct vm_metrics *m;
	const char *name;
	unsigned int i;

	pthread_mutex_lock(&lock);
	m = vm_of(vm->pid);
	if (!m)
		goto out;
	name = vm->libvirt_name[0] ? vm->libvirt_name : vm->name;
	if (strcmp(m->name, name))
		snprintf(m->name, sizeof(m->name), "%s", name);
	m->lateness = lateness_seconds;
	m->worker = worker;
	if (!summary) {
		m->errors++;
		goto out;
	}
	m->crawls++;
	m->procs_kept += json_integer_value(json_object_get(
		json_object_get(summary, "cost"), "procs_kept"));
	m->duration_sum += seconds;
	for (i = 0; i < NR_BUCKETS; i++)
		if (seconds <= buckets[i])
			m->bucket[i]++;
	for (i = 0; i < NR_CONSISTENCY; i++)
		m->consistency[i] += json_integer_value(
			json_object_get(consistency, consistency_keys[i]));
	/* The record's counts are named after the commands (ps, ...). */
	m->tasks = json_integer_value(json_object_get(counts, "ps"));
	m->modules = json_integer_value(json_object_get(counts, "lsmod"));
	m->conns = json_integer_value(json_object_get(counts, "ss"));
out:
	pthread_mutex_unlock(&lock);
}

void metrics_module_event(unsigned int kind)
{
	pthread_mutex_lock(&lock);
	if (kind < 3)
		module_events[kind]++;
	pthread_mutex_unlock(&lock);
}

void metrics_module_listening(bool on)
{
	pthread_mutex_lock(&lock);
	module_joins += on;
	module_listening = on;
	pthread_mutex_unlock(&lock);
}

void metrics_worker_vms(unsigned int worker, unsigned int count)
{
	pthread_mutex_lock(&lock);
	if (worker_vms && worker < nr_workers)
		worker_vms[worker] = count;
	pthread_mutex_unlock(&lock);
}

void metrics_vm_moved(void)
{
	pthread_mutex_lock(&lock);
	vm_moves++;
	pthread_mutex_unlock(&lock);
}

void metrics_layout_reread(void)
{
	pthread_mutex_lock(&lock);
	layout_rereads++;
	pthread_mutex_unlock(&lock);
}

void metrics_vm_gone(pid_t pid)
{
	unsigned int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nr_vms; i++)
		if (vms[i].pid == pid)
			vms[i] = vms[--nr_vms];
	/* Rare (a VM exits): the table is made again, not mended. */
	if (nr_slots && reindex(nr_slots)) {
		/* Without memory for it: no table, and vm_of starts one. */
		nr_slots = 0;
	}
	pthread_mutex_unlock(&lock);
}

void metrics_set_workers(unsigned int nr)
{
	pthread_mutex_lock(&lock);
	worker_busy_ns = calloc(nr, sizeof(*worker_busy_ns));
	worker_vms = calloc(nr, sizeof(*worker_vms));
	nr_workers = worker_busy_ns && worker_vms ? nr : 0;
	pthread_mutex_unlock(&lock);
}

void metrics_worker_busy(unsigned int worker, uint64_t ns)
{
	pthread_mutex_lock(&lock);
	if (worker < nr_workers)
		worker_busy_ns[worker] += ns;
	pthread_mutex_unlock(&lock);
}

void metrics_client_dropped(unsigned long client, uid_t uid, pid_t pid,
			    uint64_t dropped)
{
	unsigned int i;
	void *grown;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nr_clients; i++)
		if (clients[i].id == client)
			break;
	if (i == nr_clients) {
		if (nr_clients == cap_clients) {
			grown = realloc(clients, (cap_clients ?
				cap_clients * 2 : 16) * sizeof(*clients));
			if (!grown)
				goto out;
			clients = grown;
			cap_clients = cap_clients ? cap_clients * 2 : 16;
		}
		clients[nr_clients++] = (struct client_metrics){
			.id = client, .uid = uid, .pid = pid,
		};
	}
	clients[i].dropped = dropped;
out:
	pthread_mutex_unlock(&lock);
}

void metrics_client_gone(unsigned long client)
{
	unsigned int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nr_clients; i++)
		if (clients[i].id == client)
			clients[i] = clients[--nr_clients];
	pthread_mutex_unlock(&lock);
}

void metrics_gauges(unsigned int nr_vm, unsigned int nr_client)
{
	pthread_mutex_lock(&lock);
	gauge_vms = nr_vm;
	gauge_clients = nr_client;
	pthread_mutex_unlock(&lock);
}

/* A label value: the name comes from a command line anyone can write. */
static void label(FILE *out, const char *value)
{
	for (; *value; value++) {
		if (*value == '\\' || *value == '"')
			fprintf(out, "\\%c", *value);
		else if (*value == '\n')
			fputs("\\n", out);
		else
			fputc(*value, out);
	}
}

static void vm_labels(FILE *out, const struct vm_metrics *m)
{
	fprintf(out, "{pid=\"%d\",name=\"", (int)m->pid);
	label(out, m->name);
	fputs("\"", out);
}

/* A per-VM counter: the uint64_t at offset in each VM's metrics. */
static void vm_counter(FILE *out, const char *name, const char *help,
		       size_t offset)
{
	unsigned int i;

	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (i = 0; i < nr_vms; i++) {
		fputs(name, out);
		vm_labels(out, &vms[i]);
		fprintf(out, "} %llu\n", (unsigned long long)
			*(const uint64_t *)((const char *)&vms[i] + offset));
	}
}

#define FAMILY(out, name, type, help) \
	fprintf(out, "# HELP " name " " help "\n# TYPE " name " " type "\n")

static void render(FILE *out)
{
	unsigned int i, b;

	FAMILY(out, "keyholed_vms", "gauge", "QEMU processes keyholed knows.");
	fprintf(out, "keyholed_vms %u\n", gauge_vms);
	FAMILY(out, "keyholed_clients", "gauge", "Connected clients.");
	fprintf(out, "keyholed_clients %u\n", gauge_clients);

	FAMILY(out, "keyholed_module_listening", "gauge",
	       "1 while keyholed listens to keyhole.ko's netlink events.");
	fprintf(out, "keyholed_module_listening %d\n", module_listening);
	FAMILY(out, "keyholed_module_joins_total", "counter",
	       "Times keyholed joined keyhole.ko's event group (one per load of the module).");
	fprintf(out, "keyholed_module_joins_total %llu\n",
		(unsigned long long)module_joins);
	FAMILY(out, "keyholed_module_events_total", "counter",
	       "keyhole.ko's netlink events, by kind.");
	for (i = 0; i < 3; i++)
		fprintf(out, "keyholed_module_events_total{event=\"%s\"} %llu\n",
			module_event_names[i],
			(unsigned long long)module_events[i]);
	FAMILY(out, "keyholed_layout_rereads_total", "counter",
	       "Guest RAM layouts read again after keyhole.ko said they changed.");
	fprintf(out, "keyholed_layout_rereads_total %llu\n",
		(unsigned long long)layout_rereads);

	FAMILY(out, "keyholed_worker_vms", "gauge",
	       "VMs a worker runs the work of.");
	for (i = 0; i < nr_workers; i++)
		fprintf(out, "keyholed_worker_vms{worker=\"%u\"} %u\n", i,
			worker_vms ? worker_vms[i] : 0);
	FAMILY(out, "keyholed_vm_moves_total", "counter",
	       "VMs moved to another worker when VMs went.");
	fprintf(out, "keyholed_vm_moves_total %llu\n",
		(unsigned long long)vm_moves);

	vm_counter(out, "keyholed_crawls_total", "Crawls of subscribed VMs.",
		   offsetof(struct vm_metrics, crawls));
	vm_counter(out, "keyholed_crawl_procs_kept_total",
		   "Processes whose state a crawl kept from the last, found unchanged.",
		   offsetof(struct vm_metrics, procs_kept));
	vm_counter(out, "keyholed_crawl_errors_total", "Crawls that failed.",
		   offsetof(struct vm_metrics, errors));
	FAMILY(out, "keyholed_crawl_duration_seconds", "histogram",
	       "Wall time of a crawl.");
	for (i = 0; i < nr_vms; i++) {
		for (b = 0; b < NR_BUCKETS; b++) {
			fputs("keyholed_crawl_duration_seconds_bucket", out);
			vm_labels(out, &vms[i]);
			fprintf(out, ",le=\"%g\"} %llu\n", buckets[b],
				(unsigned long long)vms[i].bucket[b]);
		}
		fputs("keyholed_crawl_duration_seconds_bucket", out);
		vm_labels(out, &vms[i]);
		fprintf(out, ",le=\"+Inf\"} %llu\n",
			(unsigned long long)vms[i].crawls);
		fputs("keyholed_crawl_duration_seconds_sum", out);
		vm_labels(out, &vms[i]);
		fprintf(out, "} %.9f\n", vms[i].duration_sum);
		fputs("keyholed_crawl_duration_seconds_count", out);
		vm_labels(out, &vms[i]);
		fprintf(out, "} %llu\n", (unsigned long long)vms[i].crawls);
	}
	FAMILY(out, "keyholed_crawl_lateness_seconds", "gauge",
	       "How late the last crawl started.");
	for (i = 0; i < nr_vms; i++) {
		fputs("keyholed_crawl_lateness_seconds", out);
		vm_labels(out, &vms[i]);
		fprintf(out, "} %.6f\n", vms[i].lateness);
	}
	FAMILY(out, "keyholed_vm_worker", "gauge",
	       "The worker that ran the last crawl.");
	for (i = 0; i < nr_vms; i++) {
		fputs("keyholed_vm_worker", out);
		vm_labels(out, &vms[i]);
		fprintf(out, "} %u\n", vms[i].worker);
	}
	FAMILY(out, "keyholed_inconsistencies_total", "counter",
	       "Inconsistent views found by crawls, by kind (consistency.md).");
	for (i = 0; i < nr_vms; i++)
		for (b = 0; b < NR_CONSISTENCY; b++) {
			fputs("keyholed_inconsistencies_total", out);
			vm_labels(out, &vms[i]);
			fprintf(out, ",kind=\"%s\"} %llu\n",
				consistency_keys[b],
				(unsigned long long)vms[i].consistency[b]);
		}
	FAMILY(out, "keyholed_guest_objects", "gauge",
	       "Objects in the guest at the last crawl.");
	for (i = 0; i < nr_vms; i++) {
		static const char *const kinds[] = { "tasks", "modules",
						     "conns" };
		json_int_t count[] = { vms[i].tasks, vms[i].modules,
				       vms[i].conns };

		for (b = 0; b < 3; b++) {
			fputs("keyholed_guest_objects", out);
			vm_labels(out, &vms[i]);
			fprintf(out, ",kind=\"%s\"} %lld\n", kinds[b],
				(long long)count[b]);
		}
	}
	FAMILY(out, "keyholed_worker_busy_seconds_total", "counter",
	       "Time each worker spent working; its rate is utilisation.");
	for (i = 0; i < nr_workers; i++)
		fprintf(out, "keyholed_worker_busy_seconds_total{worker=\"%u\"} %.9f\n",
			i, worker_busy_ns[i] / 1e9);
	FAMILY(out, "keyholed_client_dropped_total", "counter",
	       "Stream messages dropped for a client that read too slowly.");
	for (i = 0; i < nr_clients; i++)
		fprintf(out, "keyholed_client_dropped_total{client=\"%lu\",uid=\"%u\",pid=\"%d\"} %llu\n",
			clients[i].id, (unsigned int)clients[i].uid,
			(int)clients[i].pid,
			(unsigned long long)clients[i].dropped);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	out = open_memstream(&text, &len);
	if (!out)
		return MHD_NO;
	if (!strcmp(url, "/metrics")) {
		pthread_mutex_lock(&lock);
		render(out);
		pthread_mutex_unlock(&lock);
	} else {
		status = MHD_HTTP_NOT_FOUND;
		fputs("keyholed serves /metrics only\n", out);
	}
	fclose(out);
	resp = MHD_create_response_from_buffer(len, text,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
				"text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int metrics_start(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	char host[256], *port;
	struct addrinfo *ai;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

	snprintf(host, sizeof(host), "%s", spec);
	port = strrchr(host, ':');
	if (!port)
		return -EINVAL;
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (getaddrinfo(host, port, &hints, &ai))
		return -EINVAL;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	httpd = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
				 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				 MHD_OPTION_CONNECTION_LIMIT, 64u,
				 MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				 MHD_OPTION_END);
	freeaddrinfo(ai);
	return httpd ? 0 : -EADDRNOTAVAIL;
}

void metrics_stop(void)
{
	if (httpd)
		MHD_stop_daemon(httpd);
	httpd = NULL;
}
