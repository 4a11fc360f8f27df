// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole dmesg` gives the records of the guest's own /dev/kmsg
 * (read by its truth daemon): a marker the guest logs just before
 * keyhole reads is there, as the last of the records compared, with the
 * facility and level it was logged with; and each of the records before
 * it has the same sequence number, priority, timestamp (to the
 * microsecond /dev/kmsg gives), continuation flag and text, escaped as
 * /dev/kmsg escapes it, with no record missing or added. Through two
 * access techniques: the second after the guest logged half again as
 * much as its ring holds, in steps of an eighth, so that the ring
 * wrapped, its positions overflowed (the kernel starts them at minus the
 * ring's size) and blocks that wrap were read (one a lap): each read is
 * complete, in order, ends with what was just logged, and the boot's
 * first records are gone at the end.
 *
 * The guest may log more after the marker: only records up to it are
 * compared. Records older than the window are not, so that a guest whose
 * ring wraps between the reads cannot make the test flaky.
 */
#include <time.h>

#include "guest.h"

#define WINDOW 60

struct truth_record {
	unsigned long long seq, ts_usec;
	unsigned int pri;
	char flag;
	char text[4 * 1024 + 64];	/* a record (1 KiB) escaped */
};

/* "SEQ PRI TS_USEC FLAG TEXT" lines (khguest's kmsg request). */
static int truth_records(const struct guest *g, unsigned long long from,
			 struct truth_record **recsp)
{
	char req[64], *out, *line, *save = NULL;
	struct truth_record *recs = NULL;
	int nr = 0, cap = 0;

	snprintf(req, sizeof(req), "kmsg %llu", from);
	out = guest_truth(g, req);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct truth_record r = { 0 };
		int text_at = 0;

		CHECK(strncmp(line, "error", 5), "the guest's kmsg: %s", line);
		/* One space before the text, which may start with more. */
		CHECK(sscanf(line, "%llu %u %llu %c%n", &r.seq, &r.pri,
			     &r.ts_usec, &r.flag, &text_at) == 4 &&
		      line[text_at] == ' ',
		      "unexpected kmsg line '%s'", line);
		snprintf(r.text, sizeof(r.text), "%s", line + text_at + 1);
		if (nr == cap) {
			cap = cap ? cap * 2 : 64;
			recs = realloc(recs, sizeof(*recs) * cap);
			CHECK(recs, "out of memory");
		}
		recs[nr++] = r;
	}
	free(out);
	*recsp = recs;
	return nr;
}

static const char *const levels[] = {
	"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
};
static const char *const facilities[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "res0", "res1", "res2", "res3",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7",
};

static unsigned int pri_of(const json_t *rec)
{
	const char *level = json_string_value(json_object_get(rec, "level"));
	const char *facility = json_string_value(json_object_get(rec,
								 "facility"));
	unsigned int l, f;

	for (l = 0; l < 8 && (!level || strcmp(levels[l], level)); l++)
		;
	for (f = 0; f < 24 && (!facility || strcmp(facilities[f], facility));
	     f++)
		;
	return f * 8 + l;
}

static const struct truth_record *find_truth(const struct truth_record *recs,
					     int nr, unsigned long long seq)
{
	int i;

	for (i = 0; i < nr; i++)
		if (recs[i].seq == seq)
			return &recs[i];
	return NULL;
}

static json_t *find_record(json_t *recs, unsigned long long seq)
{
	json_t *rec;
	size_t i;

	json_array_foreach(recs, i, rec)
		if ((unsigned long long)json_integer_value(
			    json_object_get(rec, "seq")) == seq)
			return rec;
	return NULL;
}

static void compare(const char *technique, const struct guest *g,
		    const char *marker)
{
	unsigned long long mark_seq = 0, from;
	struct truth_record *truth;
	int status, nr, i, found = 0, compared = 0;
	json_t *doc, *recs, *rec;
	size_t k;

	doc = keyhole_json(&status, "--technique %s dmesg %d", technique,
			   g->pid);
	CHECK(status == 0, "dmesg via %s: exit %d: %s", technique, status,
	      json_dumps(doc, 0));
	recs = doc_list(doc, "dmesg");
	json_array_foreach(recs, k, rec) {
		const char *text = json_string_value(json_object_get(rec,
								     "text"));

		if (text && !strcmp(text, marker)) {
			mark_seq = json_integer_value(json_object_get(rec,
								      "seq"));
			CHECK(pri_of(rec) == 1 * 8 + 5,
			      "%s: the marker was logged as user.notice, keyhole says %s.%s",
			      technique,
			      json_string_value(json_object_get(rec, "facility")),
			      json_string_value(json_object_get(rec, "level")));
			found++;
		}
	}
	CHECK(found == 1, "%s: the marker '%s' the guest just logged is there %d times",
	      technique, marker, found);
	from = mark_seq > WINDOW ? mark_seq - WINDOW : 0;
	nr = truth_records(g, from, &truth);
	/* Nothing the guest does not have, in the window. */
	json_array_foreach(recs, k, rec) {
		unsigned long long seq = json_integer_value(
			json_object_get(rec, "seq"));

		CHECK(seq < from || seq > mark_seq || find_truth(truth, nr, seq),
		      "%s: record %llu ('%s') is not in the guest's /dev/kmsg",
		      technique, seq,
		      json_string_value(json_object_get(rec, "text")));
	}
	/* And everything it has, the same. */
	for (i = 0; i < nr && truth[i].seq <= mark_seq; i++) {
		const struct truth_record *t = &truth[i];
		const char *text;

		rec = find_record(recs, t->seq);
		CHECK(rec, "%s: record %llu ('%s') is missing", technique,
		      t->seq, t->text);
		text = json_string_value(json_object_get(rec, "text"));
		CHECK(text && !strcmp(text, t->text),
		      "%s: record %llu says '%s', the guest's says '%s'",
		      technique, t->seq, text ? text : "(null)", t->text);
		CHECK(pri_of(rec) == t->pri,
		      "%s: record %llu has priority %u, the guest's %u",
		      technique, t->seq, pri_of(rec), t->pri);
		CHECK((unsigned long long)json_integer_value(json_object_get(
			      rec, "ts_ns")) / 1000 == t->ts_usec,
		      "%s: record %llu at %lld ns, the guest's at %llu us",
		      technique, t->seq,
		      json_integer_value(json_object_get(rec, "ts_ns")),
		      t->ts_usec);
		CHECK(json_is_true(json_object_get(rec, "cont")) ==
		      (t->flag == 'c'),
		      "%s: record %llu continuation flag differs ('%c')",
		      technique, t->seq, t->flag);
		compared++;
	}
	CHECK(compared >= 2 && truth[i - 1].seq == mark_seq,
	      "%s: only %d records compared, up to %llu (marker %llu)",
	      technique, compared, i ? truth[i - 1].seq : 0, mark_seq);
	printf("%s: %d records up to the marker (seq %llu) matched /dev/kmsg, of %zu\n",
	       technique, compared, mark_seq, json_array_size(recs));
	free(truth);
	json_decref(doc);
}

/* Logs 1.5 rings' worth in eighths, reading the log after each. */
static void flood(const struct guest *g)
{
	char req[128], tag[64], *out = guest_truth(g, "kmsg-size");
	long size = atol(out);
	unsigned long long first = 0;
	int step, status;

	CHECK(size >= 4096, "the guest's log buffer size: %s", out);
	free(out);
	for (step = 0; step < 12; step++) {
		json_t *doc, *recs, *rec;
		unsigned long long prev = 0;
		int last = 0;
		size_t k;

		snprintf(tag, sizeof(tag), "kh-flood-%d-%d", (int)getpid(),
			 step);
		snprintf(req, sizeof(req), "kmsg-flood %s %ld", tag, size / 8);
		out = guest_truth(g, req);
		CHECK(!strstr(out, "error"), "the guest could not log: %s",
		      out);
		free(out);
		doc = keyhole_json(&status, "dmesg %d", g->pid);
		CHECK(status == 0, "dmesg after %d eighths of the ring: exit %d: %s",
		      step + 1, status, json_dumps(json_object_get(doc,
								  "problems"),
						   0));
		recs = doc_list(doc, "dmesg");
		json_array_foreach(recs, k, rec) {
			unsigned long long seq = json_integer_value(
				json_object_get(rec, "seq"));
			const char *text = json_string_value(
				json_object_get(rec, "text"));

			CHECK(!k || seq > prev, "step %d: record %llu after %llu",
			      step, seq, prev);
			prev = seq;
			last += text && !strncmp(text, tag, strlen(tag)) &&
				!strcmp(text + strlen(tag), " last");
		}
		CHECK(last == 1, "step %d: '%s last', just logged, is there %d times",
		      step, tag, last);
		first = json_integer_value(json_object_get(
			json_array_get(recs, 0), "seq"));
		json_decref(doc);
	}
	CHECK(first > 0, "after 1.5 rings of log the first record is still %llu",
	      first);
	printf("the ring wrapped: 12 reads complete, the oldest record now %llu\n",
	       first);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	char marker[128], req[160], *out;
	struct guest g;
	int i;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	for (i = 0; i < 2; i++) {
		if (i == 1)
			flood(&g);
		snprintf(marker, sizeof(marker), "kh-dmesg-%s-%d-%ld",
			 techniques[i], (int)getpid(), (long)time(NULL));
		snprintf(req, sizeof(req), "kmsg-mark %s", marker);
		out = guest_truth(&g, req);
		CHECK(!strstr(out, "error"), "the guest could not log: %s",
		      out);
		free(out);
		compare(techniques[i], &g, marker);
	}
	return KH_PASS;
}
