// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole check` finds each thing a rootkit does, and nothing
 * on a clean guest. First the clean guest: every check runs, compares
 * what it should (every module the guest's /proc/modules lists, every
 * system call, all 256 interrupt gates, the pids, the processes' maps)
 * and finds nothing, exit 0. Then the guest's truth daemon loads
 * khrootkit (tests/guest/rootkit/), a real kernel module that unlinks a
 * process from the task list, takes itself off the modules list,
 * replaces a sys_call_table entry, registers a kprobe, an ftrace hook
 * and a netfilter hook, hooks /proc/net/tcp's show() and n_tty's
 * receive_buf2(), points the CPUs' IDT at a copy whose gate 31 leads
 * into it, while a process maps anonymous memory writable and
 * executable, and a memfd's page executable. The guest's /proc/modules
 * then no longer shows the module, and keyhole ps (a walk of the task
 * list, as Volatility's pslist) no longer the process (the guest's
 * /proc, which lists pids, still does), and keyhole check, through two
 * techniques, must report each of these (twelve findings of ten checks),
 * each with the evidence the guest's truth daemon gives (the pid, the
 * table slot and the hook's address in the hidden module, the ftrace
 * and netfilter hooks, the regions), and exit 4. --only runs one check. `crawl --check` carries the same findings in
 * its record, and a keyholed of the test's own, watching the VM with
 * "check" since before the attack, announces each of the ten as a
 * finding-appeared event. `keyhole kprobes`, `ftrace` and `netfilter`
 * list every hook their checks examined, none suspect on the clean
 * guest, khrootkit's (and only it) suspect after the attack.
 *
 * It changes the guest for good, so tests/run runs it after every other
 * test of the guest (attack_* phase).
 */
#include "guest.h"
#include "broker.h"

/* The checks that find what khrootkit does: all of them. */
#define NR_ATTACKS 10
/*
 * Their findings: malfind finds two (anonymous and memfd code), idt two
 * (the CPUs' IDT is not idt_table, and its gate 31 leads to khrootkit).
 */
#define NR_FINDINGS 12
/* CPU_ENTRY_AREA_RO_IDT, where the CPUs' IDT is mapped. */
#define CEA_RO_IDT 0xfffffe0000000000ULL
#define IDT_VECTOR 31
/* seq_operations { start, stop, next, show }: show's offset. */
#define SEQ_SHOW_SLOT 24

struct attack {
	long hidden, rwx_pid;
	unsigned long long rwx_start, rwx_end, mfd_start, mfd_end;
	unsigned long long sct, nr, hook, kprobe, nf, ftrace;
	unsigned long long seq_ops, seq_show, ldisc_ops, receive_buf, idt;
};

static unsigned long long hexval(const json_t *f, const char *key)
{
	const char *s = json_string_value(json_object_get(f, key));

	return s ? strtoull(s, NULL, 16) : 0;
}

static const char *str(const json_t *f, const char *key)
{
	const char *s = json_string_value(json_object_get(f, key));

	return s ? s : "";
}

static json_t *check_doc(const struct guest *g, const char *technique,
			 const char *extra, int *status)
{
	return keyhole_json_whole(status, "%s%s check %s %d",
				  technique[0] ? "--technique " : "", technique,
				  extra, g->pid);
}

/* Whether doc says a problem that does not contain expected (NULL: any). */
static int other_problem(const json_t *doc, const char *expected)
{
	const json_t *p;
	size_t i;

	if (!json_is_true(json_object_get(doc, "incomplete")))
		return 0;
	json_array_foreach(json_object_get(doc, "problems"), i, p)
		if (!expected || !strstr(json_string_value(p) ?: "", expected))
			return 1;
	return !json_array_size(json_object_get(doc, "problems"));
}

/*
 * check of the guest, whole: a check whose walk of the running guest was
 * cut short (a process died under it) confirms nothing (and on the
 * attacked guest still exits 4); such a one is taken again, five times
 * at most, as keyhole_whole() does for exit 3. A problem the test made
 * on purpose (expected, or NULL) is no reason to.
 */
static json_t *whole_check_but(const struct guest *g, const char *technique,
			       const char *expected, int *status)
{
	json_t *doc = NULL;
	int i;

	for (i = 0; i < 5; i++) {
		json_decref(doc);
		doc = check_doc(g, technique, "", status);
		if (!other_problem(doc, expected))
			break;
		fprintf(stderr, "check (%s): incomplete, checking again\n",
			technique[0] ? technique : "default");
	}
	return doc;
}

static json_t *whole_check(const struct guest *g, const char *technique,
			   int *status)
{
	return whole_check_but(g, technique, NULL, status);
}

static const json_t *status_of(const json_t *doc, const char *name)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(doc, "checks"), i, c)
		if (!strcmp(str(c, "name"), name))
			return c;
	CHECK(0, "no status for check %s", name);
	return NULL;
}

static long long examined(const json_t *doc, const char *name)
{
	const json_t *c = status_of(doc, name);

	CHECK(json_is_true(json_object_get(c, "ran")) && !str(c, "problem")[0],
	      "check %s did not run whole: %s", name, json_dumps(c, 0));
	return json_integer_value(json_object_get(c, "examined"));
}

/*
 * The listing of one kind of hook (kprobes, ftrace, netfilter): exit 0,
 * as many as its check examined (a netfilter hook or an ftrace_ops is
 * one row), each with its code named; the suspect ones
 * counted in *suspects, and the one whose target is want (if any) given.
 */
static const json_t *hooks_listed(const struct guest *g, const char *kind,
				  long long examined, unsigned long long want,
				  int *suspects, json_t **docp)
{
	const json_t *h, *wanted = NULL;
	int status;
	size_t i;
	json_t *doc = keyhole_json_whole(&status, "%s %d", kind, g->pid);
	json_t *list = doc_list(doc, kind);

	CHECK(status == 0, "keyhole %s: exit %d", kind, status);
	/* A kprobe has a row per handler, an aggregate probe none. */
	CHECK(!strcmp(kind, "kprobes") ||
	      json_array_size(list) == (size_t)examined,
	      "keyhole %s lists %zu hooks, its check examined %lld", kind,
	      json_array_size(list), examined);
	*suspects = 0;
	json_array_foreach(list, i, h) {
		CHECK(hexval(h, "target") && str(h, "target_symbol")[0] &&
		      str(h, "role")[0],
		      "keyhole %s: a hook without its code named: %s", kind,
		      json_dumps(h, 0));
		*suspects += json_is_true(json_object_get(h, "suspect"));
		if (want && hexval(h, "target") == want)
			wanted = h;
	}
	*docp = doc;
	return wanted;
}

static void clean_hooks(const struct guest *g, const json_t *check)
{
	static const char *const kinds[] = { "kprobes", "ftrace", "netfilter" };
	const json_t *h;
	unsigned int k;
	int suspects;
	json_t *doc;
	size_t i;

	for (k = 0; k < 3; k++) {
		hooks_listed(g, kinds[k], examined(check, kinds[k]), 0,
			     &suspects, &doc);
		CHECK(!suspects, "keyhole %s on a clean guest: %d suspect: %s",
		      kinds[k], suspects, json_dumps(doc, 0));
		/* Debian's kernel hooks both namespaces (AppArmor). */
		CHECK(k != 2 || json_array_size(doc_list(doc, kinds[k])) >= 2,
		      "keyhole netfilter on a clean guest lists %zu hooks",
		      json_array_size(doc_list(doc, kinds[k])));
		/* No module hooks anything here: each in the kernel, named. */
		json_array_foreach(doc_list(doc, kinds[k]), i, h)
			CHECK(!str(h, "owner")[0] &&
			      strstr(str(h, "target_symbol"), "+0x"),
			      "keyhole %s: a clean guest's hook not in the kernel: %s",
			      kinds[k], json_dumps(h, 0));
		json_decref(doc);
	}
}

/* After the attack: each listing holds khrootkit's hook, suspect. */
static void attacked_hooks(const struct guest *g, const json_t *check,
			   const struct attack *a)
{
	static const char *const kinds[] = { "kprobes", "ftrace", "netfilter" };
	const unsigned long long want[] = { 0, a->ftrace, a->nf };
	const char *const hooked[] = { "__x64_sys_syncfs", "__x64_sys_syncfs",
				       "ipv4 LOCAL_IN" };
	const char *const role[] = { "pre", "func", "hook" };
	const json_t *h, *s;
	unsigned int k;
	int suspects;
	size_t i;
	json_t *doc;

	for (k = 0; k < 3; k++) {
		h = hooks_listed(g, kinds[k], examined(check, kinds[k]),
				 want[k], &suspects, &doc);
		/* The kprobe's handler address is not told: its suspect row. */
		json_array_foreach(doc_list(doc, kinds[k]), i, s)
			if (!want[k] && json_is_true(json_object_get(s, "suspect")))
				h = s;
		CHECK(suspects == 1 && h,
		      "keyhole %s after the attack: %d suspect, khrootkit's 0x%llx %s: %s",
		      kinds[k], suspects, want[k], h ? "listed" : "missing",
		      json_dumps(doc, 0));
		CHECK(json_is_true(json_object_get(h, "suspect")) &&
		      !strcmp(str(h, "owner"), "khrootkit (hidden)") &&
		      !strncmp(str(h, "target_symbol"), "khrootkit+0x", 12) &&
		      !strcmp(str(h, "role"), role[k]) &&
		      !strncmp(str(h, "hooked"), hooked[k], strlen(hooked[k])),
		      "keyhole %s: khrootkit's hook is listed as %s", kinds[k],
		      json_dumps(h, 0));
		json_decref(doc);
	}
	printf("kprobes, ftrace, netfilter: every hook listed, khrootkit's suspect\n");
}

static void clean(const struct guest *g)
{
	char *mods = guest_truth(g, "modules"), *p;
	long long nr_mods = 0;
	int status;
	/* Exit 3 is a walk of the live guest cut short: checked again. */
	json_t *doc = whole_check(g, "", &status);

	for (p = mods; (p = strchr(p, '\n')); p++)
		nr_mods++;
	free(mods);
	CHECK(status == 0 && json_array_size(doc_list(doc, "findings")) == 0,
	      "check on a clean guest: exit %d: %s", status,
	      json_dumps(doc, 0));
	CHECK(examined(doc, "hidden_modules") == nr_mods,
	      "hidden_modules compared %lld modules, the guest has %lld",
	      examined(doc, "hidden_modules"), nr_mods);
	CHECK(examined(doc, "hidden_processes") >= 50,
	      "hidden_processes compared only %lld processes",
	      examined(doc, "hidden_processes"));
	CHECK(examined(doc, "syscalls") >= 400,
	      "syscalls compared only %lld entries", examined(doc, "syscalls"));
	CHECK(examined(doc, "idt") == 256, "idt compared %lld gates",
	      examined(doc, "idt"));
	CHECK(examined(doc, "malfind") >= 15,
	      "malfind read only %lld processes' maps", examined(doc, "malfind"));
	/* /proc and two namespaces' /proc/net: ~370 entries here. */
	CHECK(examined(doc, "procfs") >= 150,
	      "procfs compared only %lld /proc entries", examined(doc, "procfs"));
	/* The line disciplines, the drivers and the serial console. */
	CHECK(examined(doc, "tty") >= 5, "tty compared only %lld ttys",
	      examined(doc, "tty"));
	clean_hooks(g, doc);
	printf("clean: no findings; %lld modules, %lld processes, %lld syscalls, 256 gates, %lld processes' maps, %lld /proc entries, %lld ttys compared\n",
	       nr_mods, examined(doc, "hidden_processes"),
	       examined(doc, "syscalls"), examined(doc, "malfind"),
	       examined(doc, "procfs"), examined(doc, "tty"));
	json_decref(doc);
}

static void attack(const struct guest *g, struct attack *a)
{
	char *out = guest_truth(g, "rootkit");
	json_t *doc;
	int status;

	CHECK(sscanf(out, "ok hidden=%ld rwx=%ld:%llx-%llx mfd=%llx-%llx sct=%llx nr=%llu hook=%llx kprobe=%llx nf=%llx ftrace=%llx seq=%llx:%llx tty=%llx:%llx idt=%llx",
		     &a->hidden, &a->rwx_pid, &a->rwx_start, &a->rwx_end,
		     &a->mfd_start, &a->mfd_end, &a->sct, &a->nr, &a->hook,
		     &a->kprobe, &a->nf, &a->ftrace, &a->seq_ops, &a->seq_show,
		     &a->ldisc_ops, &a->receive_buf, &a->idt) == 17,
	      "the guest's rootkit reply: %s", out);
	free(out);
	/* The attack worked on the guest's own view. */
	out = guest_truth(g, "modules");
	CHECK(!strstr(out, "khrootkit"), "the guest's /proc/modules still lists khrootkit:\n%s",
	      out);
	free(out);
	/*
	 * /proc lists pids from the pid IDR, so the guest still sees it
	 * there; what walks the task list (for_each_process(), Volatility's
	 * pslist, keyhole ps) does not.
	 */
	CHECK(guest_pid_of(g, "kh-hidden") == a->hidden,
	      "the guest's /proc has no kh-hidden pid %ld", a->hidden);
	doc = keyhole_json_whole(&status, "ps %d", g->pid);
	CHECK(status == 0 && !json_by_pid(doc_list(doc, "ps"), a->hidden),
	      "keyhole ps: exit %d, and it lists the hidden pid %ld", status,
	      a->hidden);
	json_decref(doc);
}

/* The hidden process's finding, by check --only hidden_processes. */
static char *hidden_what(const struct guest *g)
{
	int status;
	json_t *doc = check_doc(g, "", "--only hidden_processes", &status);
	const json_t *f = json_array_get(json_object_get(doc, "findings"), 0);
	char *what = strdup(str(f, "what"));

	CHECK(status == 4 && json_array_size(json_object_get(doc, "findings")) == 1,
	      "check --only hidden_processes: exit %d: %s", status,
	      json_dumps(doc, 0));
	json_decref(doc);
	return what;
}

/*
 * Each view of the hidden process: it is in the pid IDR and on init's
 * children list, and, while it spins (SCHED_IDLE, always runnable), on a
 * run queue. Calmed, it sleeps: the run queues lose it (within 120 s)
 * and the other two views keep it.
 */
static void hidden_views(const struct guest *g)
{
	double end;
	char *what, *out;

	/* Live, a read of the queues can miss it as it moves: looked again. */
	for (end = broker_now() + 120;;) {
		what = hidden_what(g);
		if (strstr(what, "a run queue"))
			break;
		CHECK(broker_now() < end,
		      "the spinning kh-hidden is on no run queue within 120 s: %s",
		      what);
		free(what);
		usleep(200 * 1000);
	}
	CHECK(strstr(what, "kh-hidden") && strstr(what, "the pid IDR") &&
	      strstr(what, "its parent's children"),
	      "the spinning hidden process is seen as: %s", what);
	free(what);
	out = guest_truth(g, "calm");
	CHECK(!strncmp(out, "ok", 2), "the guest's calm reply: %s", out);
	free(out);
	for (end = broker_now() + 120;;) {
		what = hidden_what(g);
		if (!strstr(what, "a run queue"))
			break;
		CHECK(broker_now() < end,
		      "kh-hidden is still on a run queue 120 s after it was calmed: %s",
		      what);
		free(what);
		usleep(200 * 1000);
	}
	CHECK(strstr(what, "the pid IDR") && strstr(what, "its parent's children"),
	      "the sleeping hidden process is seen as: %s", what);
	printf("hidden process: in the pid IDR, its parent's children and a run queue; asleep, off the run queue\n");
	free(what);
}

/* The one finding of check at addr, failing unless there is one. */
static const json_t *one_at(const json_t *doc, const char *check,
			    unsigned long long addr)
{
	const json_t *f, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(doc, "findings"), i, f) {
		if (strcmp(str(f, "check"), check) || hexval(f, "addr") != addr)
			continue;
		CHECK(!found, "two %s findings at 0x%llx", check, addr);
		found = f;
	}
	CHECK(found, "no %s finding at 0x%llx in %s", check, addr,
	      json_dumps(doc, 0));
	return found;
}

/* The one finding of check, failing unless there is exactly one. */
static const json_t *only_one(const json_t *doc, const char *check)
{
	const json_t *f, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(doc, "findings"), i, f) {
		if (strcmp(str(f, "check"), check))
			continue;
		CHECK(!found, "two %s findings: %s and %s", check,
		      json_dumps(found, 0), json_dumps(f, 0));
		found = f;
	}
	CHECK(found, "no %s finding in %s", check, json_dumps(doc, 0));
	return found;
}

static void found_all(const char *technique, const json_t *doc,
		      const struct attack *a)
{
	const json_t *f;

	CHECK(json_array_size(json_object_get(doc, "findings")) == NR_FINDINGS,
	      "%s: %zu findings, not %d: %s", technique,
	      json_array_size(json_object_get(doc, "findings")), NR_FINDINGS,
	      json_dumps(doc, 0));

	f = only_one(doc, "hidden_processes");
	CHECK(json_integer_value(json_object_get(f, "pid")) == a->hidden &&
	      !strcmp(str(f, "comm"), "kh-hidden"),
	      "%s: the hidden process found is %s, not pid %ld kh-hidden",
	      technique, json_dumps(f, 0), a->hidden);

	f = only_one(doc, "hidden_modules");
	CHECK(!strcmp(str(f, "owner"), "khrootkit"),
	      "%s: the hidden module found is %s", technique,
	      json_dumps(f, 0));

	f = only_one(doc, "syscalls");
	CHECK(hexval(f, "addr") == a->sct + 8 * a->nr &&
	      hexval(f, "target") == a->hook &&
	      !strcmp(str(f, "owner"), "khrootkit (hidden)") &&
	      !strncmp(str(f, "target_symbol"), "khrootkit+0x", 12),
	      "%s: the hooked system call found is %s, not slot %llu at 0x%llx leading to khrootkit's 0x%llx",
	      technique, json_dumps(f, 0), a->nr, a->sct + 8 * a->nr,
	      a->hook);

	f = only_one(doc, "kprobes");
	CHECK(!strcmp(str(f, "owner"), "khrootkit (hidden)"),
	      "%s: the kprobe found is %s", technique, json_dumps(f, 0));

	f = only_one(doc, "ftrace");
	CHECK(hexval(f, "target") == a->ftrace &&
	      !strcmp(str(f, "owner"), "khrootkit (hidden)") &&
	      strstr(str(f, "what"), "__x64_sys_syncfs+0x0"),
	      "%s: the ftrace hook found is %s, not khrootkit's 0x%llx on __x64_sys_syncfs",
	      technique, json_dumps(f, 0), a->ftrace);

	f = only_one(doc, "netfilter");
	CHECK(hexval(f, "target") == a->nf &&
	      !strcmp(str(f, "owner"), "khrootkit (hidden)") &&
	      strstr(str(f, "what"), "ipv4 LOCAL_IN"),
	      "%s: the netfilter hook found is %s, not khrootkit's 0x%llx",
	      technique, json_dumps(f, 0), a->nf);

	f = one_at(doc, "idt", CEA_RO_IDT);
	CHECK(strstr(str(f, "what"), "is not idt_table"),
	      "%s: the CPUs' own IDT is found as %s", technique,
	      json_dumps(f, 0));
	f = one_at(doc, "idt", CEA_RO_IDT + 16 * IDT_VECTOR);
	CHECK(hexval(f, "target") == a->idt &&
	      !strcmp(str(f, "owner"), "khrootkit (hidden)"),
	      "%s: the CPUs' gate %d is found as %s, not leading to khrootkit's 0x%llx",
	      technique, IDT_VECTOR, json_dumps(f, 0), a->idt);

	f = one_at(doc, "malfind", a->rwx_start);
	CHECK(json_integer_value(json_object_get(f, "pid")) == a->rwx_pid &&
	      hexval(f, "end") == a->rwx_end && !hexval(f, "target") &&
	      strstr(str(f, "what"), "writable and executable"),
	      "%s: the injected memory found is %s, not pid %ld's 0x%llx-0x%llx",
	      technique, json_dumps(f, 0), a->rwx_pid, a->rwx_start,
	      a->rwx_end);
	f = one_at(doc, "malfind", a->mfd_start);
	CHECK(json_integer_value(json_object_get(f, "pid")) == a->rwx_pid &&
	      hexval(f, "end") == a->mfd_end &&
	      strstr(str(f, "what"), "memfd:kh-mfd"),
	      "%s: the memfd code found is %s, not pid %ld's 0x%llx-0x%llx",
	      technique, json_dumps(f, 0), a->rwx_pid, a->mfd_start,
	      a->mfd_end);
	f = only_one(doc, "procfs");
	CHECK(hexval(f, "addr") == a->seq_ops + SEQ_SHOW_SLOT &&
	      hexval(f, "target") == a->seq_show &&
	      !strcmp(str(f, "owner"), "khrootkit (hidden)") &&
	      !strcmp(str(f, "hooked"), "/proc/net/tcp") &&
	      !strcmp(str(f, "role"), "show"),
	      "%s: the /proc hook found is %s, not tcp4_seq_ops.show (0x%llx) leading to khrootkit's 0x%llx",
	      technique, json_dumps(f, 0), a->seq_ops + SEQ_SHOW_SLOT,
	      a->seq_show);

	f = only_one(doc, "tty");
	CHECK(hexval(f, "target") == a->receive_buf &&
	      hexval(f, "addr") > a->ldisc_ops &&
	      hexval(f, "addr") < a->ldisc_ops + 256 &&
	      !strcmp(str(f, "owner"), "khrootkit (hidden)") &&
	      !strcmp(str(f, "role"), "receive_buf2") &&
	      strstr(str(f, "hooked"), "(n_tty)"),
	      "%s: the tty hook found is %s, not n_tty_ops (0x%llx).receive_buf2 leading to khrootkit's 0x%llx",
	      technique, json_dumps(f, 0), a->ldisc_ops, a->receive_buf);
	printf("%s: all %d attacks found, each with its evidence\n", technique,
	       NR_ATTACKS);
}

/*
 * khrootkit takes its kobject out of sysfs too: only its memory is left,
 * and its vmalloc area is skipped by the prev links of vmap_area_list.
 * hidden_modules finds it there all the same, a struct module named
 * khrootkit in the module loader's memory that holds its hook (the walk
 * back from the list's end sees the broken link and walks the list from
 * its start), says the list made no sense, and every other finding still
 * names khrootkit as the owner of the hooks.
 */
static void vanished(const struct guest *g, const struct attack *a)
{
	const json_t *f;
	char *out = guest_truth(g, "vanish");
	int status;
	json_t *doc;

	CHECK(!strncmp(out, "ok", 2), "the guest's vanish reply: %s", out);
	free(out);
	doc = whole_check_but(g, "", "module loader's memory", &status);
	CHECK(status == 4, "check after vanish: exit %d", status);
	found_all("vanished from sysfs", doc, a);
	f = only_one(doc, "hidden_modules");
	CHECK(strstr(str(f, "what"), "neither on the modules list nor in /sys/module") &&
	      hexval(f, "target") <= a->hook && a->hook < hexval(f, "end"),
	      "the module hidden from sysfs too is found as %s, not as memory holding khrootkit's 0x%llx",
	      json_dumps(f, 0), a->hook);
	CHECK(strstr(str(status_of(doc, "hidden_modules"), "problem"),
		     "made no sense"),
	      "hidden_modules does not say the loader's areas were doctored: %s",
	      json_dumps(status_of(doc, "hidden_modules"), 0));
	json_decref(doc);
	printf("vanished from sysfs: found in the module loader's memory\n");
}

/*
 * Subscribes to the VM's changes with the checks, on keyholed at sock,
 * and waits for its first record (120 s at most): findings are changes
 * from a crawl before the attack, not in the first record.
 */
static int watch_checks(const char *sock, const struct guest *g)
{
	double end = broker_now() + 120;
	char request[256];
	json_t *reply, *msg;
	int fd = broker_connect(sock), first = 0;

	snprintf(request, sizeof(request),
		 "{\"execute\":\"watch\",\"arguments\":{\"vm\":\"%s\",\"hz\":2,\"records\":\"summary\",\"events\":true,\"check\":true},\"id\":\"w\"}",
		 g->name);
	reply = broker_call(fd, request);
	CHECK(json_integer_value(json_object_get(json_object_get(reply,
			"return"), "subscription")) > 0,
	      "watch with check: %s", json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	while (!first && (msg = broker_read(fd, end - broker_now(), NULL))) {
		first = !strcmp(str(msg, "event"), "record");
		if (first)
			CHECK(json_array_size(json_object_get(json_object_get(
				json_object_get(json_object_get(msg, "data"),
						"record"), "check"),
				"findings")) == 0,
			      "keyholed's first record of the clean guest has findings: %s",
			      json_dumps(msg, JSON_COMPACT));
		json_decref(msg);
	}
	CHECK(first, "keyholed sent no record within 120 s");
	return fd;
}

/* Waits (120 s at most) for a finding-appeared event of every check. */
static void findings_announced(int fd)
{
	static const char *const checks[] = {
		"hidden_processes", "hidden_modules", "syscalls", "kprobes",
		"ftrace", "netfilter", "malfind", "procfs", "tty", "idt",
	};
	double end = broker_now() + 120;
	int seen[NR_ATTACKS] = { 0 }, nr = 0, other = 0;
	json_t *msg, *change;
	unsigned int i;
	size_t k;

	while (nr < NR_ATTACKS && (msg = broker_read(fd, end - broker_now(), NULL))) {
		if (strcmp(json_string_value(json_object_get(msg, "event")) ?: "",
			   "changes")) {
			json_decref(msg);
			continue;
		}
		json_array_foreach(json_object_get(json_object_get(msg, "data"),
						   "changes"), k, change) {
			const char *kind = str(change, "kind");
			const char *check = str(json_object_get(change, "object"),
						"check");

			if (strcmp(kind, "finding-appeared"))
				continue;
			for (i = 0; i < NR_ATTACKS && strcmp(checks[i], check); i++)
				;
			if (i == NR_ATTACKS) {
				other++;
				continue;
			}
			nr += !seen[i];
			seen[i] = 1;
		}
		json_decref(msg);
	}
	for (i = 0; i < NR_ATTACKS; i++)
		CHECK(seen[i], "keyholed announced no %s finding within 120 s",
		      checks[i]);
	CHECK(!other, "keyholed announced %d findings of other checks", other);
	printf("keyholed: a finding-appeared event for each of the %d\n",
	       NR_ATTACKS);
}

/*
 * crawl --check: the record carries the 12 findings. A crawl of the
 * running guest may say it is incomplete (a process died under it) and
 * still exits 0, as crawl does; one whose check is whole is awaited,
 * five crawls at most.
 */
static void crawl_check(const struct guest *g)
{
	json_t *doc = NULL, *check = NULL;
	int status, i;
	char *out;

	for (i = 0; i < 5; i++) {
		json_decref(doc);
		out = run_capture(&status, "%s crawl --check --summary %d",
				  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
		doc = keyhole_doc(out, "crawl --check --summary");
		CHECK(status == 0, "crawl --check: exit %d: %s", status,
		      json_dumps(doc, 0));
		check = json_object_get(doc, "check");
		if (json_array_size(json_object_get(check, "findings")) ==
		    NR_FINDINGS)
			break;
	}
	CHECK(json_array_size(json_object_get(check, "findings")) == NR_FINDINGS,
	      "crawl --check: the record's check is %s", json_dumps(check, 0));
	json_decref(doc);
	printf("crawl --check: the record has the %d findings\n", NR_FINDINGS);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "", "pvreadv" };
	char sock[256], log[4096];
	pid_t daemon;
	struct attack a;
	int fd;
	struct guest g;
	json_t *doc;
	int status, i;
	char *out;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	clean(&g);
	snprintf(sock, sizeof(sock), "%s/ak.sock", g.rundir);
	snprintf(log, sizeof(log), "%s/attack-keyholed.log", g.rundir);
	unlink(sock);
	daemon = broker_start(sock, log);
	fd = watch_checks(sock, &g);
	attack(&g, &a);
	hidden_views(&g);
	findings_announced(fd);
	close(fd);
	kill(daemon, SIGTERM);
	CHECK(broker_wait_exit(daemon, 60) == 0,
	      "keyholed did not exit cleanly on SIGTERM; see %s", log);

	crawl_check(&g);
	for (i = 0; i < 2; i++) {
		doc = whole_check(&g, techniques[i], &status);
		CHECK(status == 4, "check after the attack (%s): exit %d",
		      techniques[i][0] ? techniques[i] : "default", status);
		found_all(techniques[i][0] ? techniques[i] : "default", doc, &a);
		if (!i)
			attacked_hooks(&g, doc, &a);
		json_decref(doc);
	}

	doc = check_doc(&g, "", "--only syscalls", &status);
	CHECK(status == 4 && json_array_size(json_object_get(doc, "findings")) == 1 &&
	      !json_is_true(json_object_get(status_of(doc, "malfind"), "ran")),
	      "check --only syscalls: exit %d: %s", status, json_dumps(doc, 0));
	json_decref(doc);

	out = run_capture(&status, "%s check %d",
			  env_or("KEYHOLE", "build/bin/keyhole"), g.pid);
	CHECK(status == 4 && strstr(out, "khrootkit (hidden)") &&
	      strstr(out, "kh-hidden") && strstr(out, "12 findings"),
	      "keyhole check's text: exit %d:\n%s", status, out);
	free(out);
	out = run_capture(&status, "%s check --only nosuch %d 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"), g.pid);
	CHECK(status == 2 && strstr(out, "nosuch"),
	      "check --only nosuch: exit %d: %s", status, out);
	free(out);
	vanished(&g, &a);
	return KH_PASS;
}
