// SPDX-License-Identifier: GPL-2.0-only
/*
 * Subscriptions ("watch"): a client asks for a VM, every VM, or every VM
 * whose name matches a pattern, crawled at F Hz, and gets a stream of
 * crawl records, change events, or both. Subscriptions share feeds: all
 * subscriptions to one VM at one rate (and with or without pausing) are
 * served by one feed, so by one crawl per period however many clients
 * watch. Everything here runs on the event loop thread; the feeds' crawls
 * run on the workers (workers.c).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "keyholed.h"

#define MAX_HZ		100.0

enum records { RECORDS_FULL, RECORDS_SUMMARY, RECORDS_NONE };

struct subscription {
	json_int_t id;
	struct client *c;	/* its client ends it before going */
	bool all;		/* every VM, present and future */
	char *pattern;		/* or those whose name matches (fnmatch) */
	uint64_t period_ns;
	unsigned int crawl_flags;
	enum records records;
	bool events;
	struct feed **feeds;
	unsigned int nr_feeds;
	struct subscription *next;
};

static struct subscription *subs;
static struct feed *feeds;
static json_int_t last_id;

static struct feed *find_feed(struct vm_entry *e, uint64_t period_ns,
			      unsigned int flags)
{
	struct feed *f;

	for (f = feeds; f; f = f->next_in_loop)
		if (f->vm == e && f->period_ns == period_ns &&
		    f->crawl_flags == flags)
			return f;
	return NULL;
}

static unsigned int wants_of(const struct subscription *s)
{
	return (s->records == RECORDS_FULL ? FEED_WANTS_RECORD : 0) |
	       (s->events ? FEED_WANTS_CHANGES : 0);
}

static int join_feed(struct subscription *s, struct vm_entry *e)
{
	struct feed *f = find_feed(e, s->period_ns, s->crawl_flags);
	struct subscription **fsubs;
	struct feed **sfeeds;

	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		vm_get(e);
		f->vm = e;
		f->period_ns = s->period_ns;
		f->crawl_flags = s->crawl_flags;
		atomic_init(&f->refs, 1);	/* the loop's */
		if (workers_add_feed(f)) {
			feed_put(f);
			return -ENOMEM;
		}
		f->next_in_loop = feeds;
		feeds = f;
	}
	fsubs = realloc(f->subs, (f->nr_subs + 1) * sizeof(*fsubs));
	if (fsubs)
		f->subs = fsubs;
	sfeeds = realloc(s->feeds, (s->nr_feeds + 1) * sizeof(*sfeeds));
	if (sfeeds)
		s->feeds = sfeeds;
	if (!fsubs || !sfeeds)
		return -ENOMEM;		/* the feed stays; its next user joins */
	f->subs[f->nr_subs++] = s;
	s->feeds[s->nr_feeds++] = f;
	atomic_fetch_or(&f->wants, wants_of(s));
	return 0;
}

/* The subscription leaves the feed; the last one out ends the feed. */
static void leave_feed(struct subscription *s, struct feed *f)
{
	struct feed **link;
	unsigned int i;

	for (i = 0; i < f->nr_subs; i++)
		if (f->subs[i] == s)
			f->subs[i] = f->subs[--f->nr_subs];
	for (i = 0; i < s->nr_feeds; i++)
		if (s->feeds[i] == f)
			s->feeds[i] = s->feeds[--s->nr_feeds];
	if (f->nr_subs) {
		unsigned int wants = 0;

		for (i = 0; i < f->nr_subs; i++)
			wants |= wants_of(f->subs[i]);
		atomic_store(&f->wants, wants);
		return;
	}
	for (link = &feeds; *link; link = &(*link)->next_in_loop)
		if (*link == f) {
			*link = f->next_in_loop;
			break;
		}
	workers_cancel_feed(f);
	feed_put(f);
}

static void end_subscription(struct subscription *s)
{
	struct subscription **link;

	while (s->nr_feeds)
		leave_feed(s, s->feeds[0]);
	for (link = &subs; *link; link = &(*link)->next)
		if (*link == s) {
			*link = s->next;
			break;
		}
	free(s->feeds);
	free(s->pattern);
	free(s);
}

static bool matches(const struct subscription *s, const struct vm_entry *e)
{
	if (s->all)
		return true;
	if (!s->pattern)
		return false;
	return !fnmatch(s->pattern, e->id.name, 0) ||
	       (e->id.libvirt_name[0] &&
		!fnmatch(s->pattern, e->id.libvirt_name, 0));
}

/* Sends a subscription's event about VM e with data's keys. */
static void notify(struct subscription *s, const char *event,
		   const struct vm_entry *e, json_t *data)
{
	json_t *msg = json_pack("{s:I, s:o}", "subscription", s->id, "vm",
				vm_entry_ident(e));

	if (data) {
		json_object_update(msg, data);
		json_decref(data);
	}
	client_stream(s->c, kh_proto_event(event, msg));
}

struct walk {
	struct client *c;
	struct subscription *s;
	json_t *vms;
	int err;
};

static void take_matching(struct vm_entry *e, void *arg)
{
	struct walk *w = arg;

	if (e->gone || !matches(w->s, e) || w->err)
		return;
	if (!auth_may_introspect(w->c, e))
		return;		/* others' VMs are not even mentioned */
	w->err = join_feed(w->s, e);
	if (!w->err)
		json_array_append_new(w->vms, json_integer(e->id.pid));
}

static const char *const watch_keys[] = {
	"vm", "all", "match", "hz", "records", "events", "pause", "check",
	NULL,
};

static int check_keys(json_t *args, const char **bad)
{
	const char *const *k;
	const char *key;
	json_t *value;

	json_object_foreach(args, key, value) {
		for (k = watch_keys; *k; k++)
			if (!strcmp(*k, key))
				break;
		if (!*k) {
			*bad = key;
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_records(json_t *arg, enum records *records)
{
	const char *name = json_string_value(arg);

	if (!arg)
		return 0;
	if (!name)
		return -EINVAL;
	if (!strcmp(name, "full"))
		*records = RECORDS_FULL;
	else if (!strcmp(name, "summary"))
		*records = RECORDS_SUMMARY;
	else if (!strcmp(name, "none"))
		*records = RECORDS_NONE;
	else
		return -EINVAL;
	return 0;
}

#define REFUSE(klass, ...)						\
	do {								\
		client_send(c, kh_proto_error(klass, req->id, __VA_ARGS__)); \
		goto out;						\
	} while (0)

void subscriptions_watch(struct client *c, struct kh_proto_request *req)
{
	json_t *args = req->arguments, *hz = json_object_get(args, "hz");
	json_t *vm = json_object_get(args, "vm");
	json_t *all = json_object_get(args, "all");
	json_t *match = json_object_get(args, "match");
	json_t *events = json_object_get(args, "events");
	json_t *pause = json_object_get(args, "pause");
	json_t *check = json_object_get(args, "check");
	struct subscription *s = calloc(1, sizeof(*s));
	struct walk w = { .c = c, .s = s, .vms = json_array() };
	struct vm_entry *e = NULL;
	const char *bad = NULL;
	bool linked = false;
	double rate = 1;

	if (!s)
		REFUSE(KH_ERR_GENERIC, "out of memory");
	if (check_keys(args, &bad))
		REFUSE(KH_ERR_BAD_ARGUMENT, "watch: unknown argument '%.64s' (vm, all, match, hz, records, events, pause, check)",
		       bad);
	if (!!vm + json_is_true(all) + !!match != 1 ||
	    (vm && !json_is_string(vm)) || (match && !json_is_string(match)) ||
	    (all && !json_is_boolean(all)))
		REFUSE(KH_ERR_BAD_ARGUMENT, "watch: say which VMs: one of 'vm' (a VM), 'all': true, or 'match' (a name pattern)");
	if (hz) {
		rate = json_number_value(hz);
		if (!json_is_number(hz) || !(rate > 0 && rate <= MAX_HZ))
			REFUSE(KH_ERR_BAD_ARGUMENT, "watch: 'hz' must be a number > 0 and <= %g",
			       MAX_HZ);
	}
	if (parse_records(json_object_get(args, "records"), &s->records))
		REFUSE(KH_ERR_BAD_ARGUMENT, "watch: 'records' is full, summary or none");
	if ((events && !json_is_boolean(events)) ||
	    (pause && !json_is_boolean(pause)) ||
	    (check && !json_is_boolean(check)))
		REFUSE(KH_ERR_BAD_ARGUMENT, "watch: 'events', 'pause' and 'check' are true or false");
	s->events = json_is_true(events);
	if (s->records == RECORDS_NONE && !s->events)
		REFUSE(KH_ERR_BAD_ARGUMENT, "watch: with 'records': none, ask for 'events': true, or there is nothing to send");
	s->id = ++last_id;
	s->c = c;
	s->all = json_is_true(all);
	s->period_ns = (uint64_t)(1e9 / rate);
	s->crawl_flags = (json_is_true(pause) ? KH_CRAWL_PAUSE : 0) |
			 (json_is_true(check) ? KH_CRAWL_CHECK : 0);
	if (match) {
		s->pattern = strdup(json_string_value(match));
		if (!s->pattern)
			REFUSE(KH_ERR_GENERIC, "out of memory");
	}
	/* From here on, end_subscription() undoes whatever was done. */
	s->next = subs;
	subs = s;
	linked = true;
	if (vm) {
		e = resolve_vm(c, json_string_value(vm), req->id);
		if (!e)
			goto out;	/* resolve_vm() said why */
		w.err = join_feed(s, e);
		if (!w.err)
			json_array_append_new(w.vms, json_integer(e->id.pid));
	} else {
		registry_foreach(take_matching, &w);
	}
	if (w.err)
		REFUSE(KH_ERR_GENERIC, "out of memory");
	client_send(c, kh_proto_return(json_pack("{s:I, s:O, s:f}",
		"subscription", s->id, "vms", w.vms, "hz", rate), req->id));
	s = NULL;
out:
	if (s && linked) {
		end_subscription(s);
	} else if (s) {
		free(s->pattern);
		free(s);
	}
	if (e)
		vm_put(e);
	json_decref(w.vms);
}

void subscriptions_unwatch(struct client *c, struct kh_proto_request *req)
{
	json_t *id = json_object_get(req->arguments, "subscription");
	struct subscription *s;

	if (!json_is_integer(id) || json_object_size(req->arguments) != 1) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, req->id,
			"unwatch: takes 'subscription', the id watch returned"));
		return;
	}
	for (s = subs; s; s = s->next)
		if (s->c == c && s->id == json_integer_value(id))
			break;
	if (!s) {
		client_send(c, kh_proto_error(KH_ERR_BAD_ARGUMENT, req->id,
			"unwatch: you have no subscription %lld",
			(long long)json_integer_value(id)));
		return;
	}
	end_subscription(s);
	client_send(c, kh_proto_return(NULL, req->id));
}

static struct subscription *by_id(json_int_t id)
{
	struct subscription *s;

	for (s = subs; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void deliver_one(struct subscription *s, struct job *job)
{
	struct vm_entry *e = job->feed->vm;
	json_t *record = s->records == RECORDS_FULL ? job->record :
			 job->summary;

	if (!job->summary) {
		notify(s, "crawl-error", e, json_pack("{s:I, s:O}", "seq",
			(json_int_t)job->seq, "error", job->reply));
		return;
	}
	/*
	 * A subscription that joined while this crawl ran may find no full
	 * record in it: the feed makes one from the next crawl on.
	 */
	if (s->records != RECORDS_NONE && record)
		notify(s, "record", e, json_pack("{s:I, s:f, s:f, s:I, s:O}",
			"seq", (json_int_t)job->seq,
			"lateness_ms", job->lateness_ms,
			"rate_hz", job->rate_hz,
			"dropped", (json_int_t)client_dropped(s->c),
			"record", record));
	if (s->events && job->changes && json_array_size(job->changes))
		notify(s, "changes", e, json_pack("{s:I, s:O, s:O, s:O}",
			"seq", (json_int_t)job->seq,
			"consistency", json_object_get(job->summary,
						       "consistency") ?: json_null(),
			"incomplete", json_object_get(job->summary,
						      "incomplete") ?: json_false(),
			"changes", job->changes));
}

void subscriptions_deliver(struct job *job)
{
	struct feed *f = job->feed;
	json_int_t *ids;
	unsigned int i, n = f->nr_subs;

	if (!n)
		return;
	/* Sending may end a client, and with it subscriptions: by id. */
	ids = calloc(n, sizeof(*ids));
	if (!ids)
		return;
	for (i = 0; i < n; i++)
		ids[i] = f->subs[i]->id;
	for (i = 0; i < n; i++) {
		struct subscription *s = by_id(ids[i]);

		if (s)
			deliver_one(s, job);
	}
	free(ids);
}

void subscriptions_vm_added(struct vm_entry *e)
{
	struct subscription *s;

	for (s = subs; s; s = s->next) {
		if (!matches(s, e) || !auth_may_introspect(s->c, e))
			continue;
		if (!join_feed(s, e))
			notify(s, "vm-added", e, NULL);
	}
}

void subscriptions_vm_gone(struct vm_entry *e)
{
	struct subscription *s, *next;
	unsigned int i;

	for (s = subs; s; s = next) {
		next = s->next;
		for (i = 0; i < s->nr_feeds; i++)
			if (s->feeds[i]->vm == e)
				break;
		if (i == s->nr_feeds)
			continue;
		notify(s, "vm-exited", e, NULL);
		leave_feed(s, s->feeds[i]);
		/* A subscription to one VM ends with it. */
		if (!s->all && !s->pattern) {
			notify(s, "subscription-ended", e, NULL);
			end_subscription(s);
		}
	}
}

void subscriptions_client_gone(struct client *c)
{
	struct subscription *s, *next;

	for (s = subs; s; s = next) {
		next = s->next;
		if (s->c == c)
			end_subscription(s);
	}
}
