// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QEMU processes that libvirt runs; see qemu/libvirt.h.
 *
 * Each monitor or agent keyhole opens holds its own connection to libvirt
 * for as long as it lives: a pause holds one until it resumes, so resuming
 * never waits for a new connection, and nothing is shared between the
 * threads of a handle. Domains are looked up by UUID, never by name alone:
 * a name can be reused by a new domain between two calls, a UUID cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/libvirt.h"
#include "qemu/libvirt_rundir.h"

int kh_libvirt_claims(const struct kh_target *t, struct kh_err *err)
{
	int r;

	if (!t->monitor_by_fd || !t->uuid[0])
		return 0;
	r = kh_libvirt_pid_file(t->name, t->pid, geteuid());
	if (r == -EPERM)
		return kh_err_set(err, EPERM,
				  "QEMU pid %d calls itself libvirt domain %s, but libvirt runs that domain as another process",
				  (int)t->pid, t->name);
	return r != KH_LIBVIRT_NONE;
}

#ifdef KH_HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <pthread.h>

/* The agent's own deadline when the caller gives none, in seconds. */
#define AGENT_TIMEOUT_S		10

struct domain {
	virConnectPtr conn;
	virDomainPtr dom;
	int agent_timeout_s;
	const struct kh_target *t;	/* outlives every session */
};

/*
 * libvirt prints every error to stderr unless told otherwise, and the
 * setting is the process's. keyhole reports libvirt's errors itself, in
 * its own messages, so it silences the default printer once.
 */
static void quiet(void *opaque, virErrorPtr error)
{
}

static void silence_libvirt(void)
{
	virSetErrorFunc(NULL, quiet);
}

static const char *last_error(void)
{
	const char *msg = virGetLastErrorMessage();

	return msg ? msg : "unknown libvirt error";
}

static int connect_uri(const char *uri, int readonly, virConnectPtr *connp,
		       struct kh_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, silence_libvirt);
	*connp = readonly ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
	if (!*connp)
		return kh_err_set(err, ECONNREFUSED,
				  "cannot connect to libvirt at %s (is libvirtd running, and is the URI right?): %s",
				  uri, last_error());
	return 0;
}

static const char *state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return "running";
	case VIR_DOMAIN_SHUTDOWN:	/* shutting down: vCPUs still run */
		return "shutting down";
	case VIR_DOMAIN_PAUSED:
		return "paused";
	case VIR_DOMAIN_SHUTOFF:
		return "shut off";
	case VIR_DOMAIN_CRASHED:
		return "crashed";
	case VIR_DOMAIN_PMSUSPENDED:
		return "suspended";
	default:
		return "unknown";
	}
}

static int open_domain(const struct kh_target *t, struct domain *d,
		       struct kh_err *err)
{
	int ret = connect_uri(t->libvirt_uri, 0, &d->conn, err);

	if (ret)
		return ret;
	d->dom = virDomainLookupByUUIDString(d->conn, t->uuid);
	if (!d->dom) {
		ret = kh_err_set(err, ESRCH,
				 "libvirt domain %s (%s) is gone: %s",
				 t->libvirt_name, t->uuid, last_error());
		virConnectClose(d->conn);
		d->conn = NULL;
	}
	return ret;
}

static void close_domain(void *priv)
{
	struct domain *d = priv;

	if (!d)
		return;
	if (d->dom)
		virDomainFree(d->dom);
	if (d->conn)
		virConnectClose(d->conn);
	free(d);
}

static int domain_error(struct domain *d, const char *what,
			struct kh_err *err)
{
	virErrorPtr e = virSaveLastError();
	int state = 0, reason, code = e ? e->code : 0, ret;
	const char *name = virDomainGetName(d->dom);

	/* A domain that went away mid-operation is the usual cause. */
	if (code == VIR_ERR_NO_DOMAIN ||
	    (virDomainGetState(d->dom, &state, &reason, 0) == 0 &&
	     state == VIR_DOMAIN_SHUTOFF) ||
	    (virGetLastError() && virGetLastError()->code == VIR_ERR_NO_DOMAIN))
		ret = kh_err_set(err, ESRCH,
				 "%s: libvirt domain %s is gone (shut off or destroyed)",
				 what, name);
	else if (code == VIR_ERR_ARGUMENT_UNSUPPORTED &&
		 !strcmp(what, "virDomainQemuAgentCommand"))
		ret = kh_err_set(err, ENOENT,
				 "libvirt domain %s has no guest agent channel: add <channel type='unix'><target type='virtio' name='" KH_QGA_PORT_NAME "'/></channel> to its <devices> and run qemu-ga in the guest",
				 name);
	else if (code == VIR_ERR_AGENT_UNRESPONSIVE)
		ret = kh_err_set(err, ETIMEDOUT,
				 "the guest agent of libvirt domain %s does not answer (is qemu-ga running in the guest?)",
				 name);
	else
		ret = kh_err_set(err, EREMOTEIO, "%s of libvirt domain %s: %s",
				 what, name,
				 e && e->message ? e->message :
				 "unknown libvirt error");
	virFreeError(e);
	return ret;
}

static int query_status(struct domain *d, json_t **ret, struct kh_err *err)
{
	int state, reason;

	if (virDomainGetState(d->dom, &state, &reason, 0))
		return domain_error(d, "virDomainGetState", err);
	*ret = json_pack("{s:b, s:s}", "running",
			 state == VIR_DOMAIN_RUNNING ||
			 state == VIR_DOMAIN_BLOCKED ||
			 state == VIR_DOMAIN_SHUTDOWN,
			 "status", state_name(state));
	return *ret ? 0 : kh_err_set(err, ENOMEM, "out of memory");
}

/*
 * A pause must end even if libvirtd restarted meanwhile (an upgrade): the
 * session's connection is then dead, so a new one resumes.
 */
static int resume(struct domain *d, struct kh_err *err)
{
	struct domain fresh = { .t = d->t };
	int r;

	if (!virDomainResume(d->dom))
		return 0;
	if (virConnectIsAlive(d->conn) == 1)
		return domain_error(d, "virDomainResume", err);
	r = open_domain(d->t, &fresh, err);
	if (r)
		return kh_err_prefix(err, "cannot resume libvirt domain %s: its libvirt connection died",
				     d->t->libvirt_name);
	r = virDomainResume(fresh.dom) ?
	    domain_error(&fresh, "virDomainResume", err) : 0;
	/* The session goes on with the new connection. */
	virDomainFree(d->dom);
	virConnectClose(d->conn);
	d->dom = fresh.dom;
	d->conn = fresh.conn;
	return r;
}

/* dump-guest-memory paging=false protocol=file:PATH, libvirt's way. */
static int core_dump(struct domain *d, json_t *args, struct kh_err *err)
{
	const char *proto = json_string_value(json_object_get(args,
							      "protocol"));

	if (!proto || strncmp(proto, "file:", 5) ||
	    json_is_true(json_object_get(args, "paging")))
		return kh_err_set(err, ENOTSUP,
				  "keyhole asks libvirt for memory-only dumps to a file only");
	if (virDomainCoreDumpWithFormat(d->dom, proto + 5,
					VIR_DOMAIN_CORE_DUMP_FORMAT_RAW,
					VIR_DUMP_MEMORY_ONLY))
		return domain_error(d, "virDomainCoreDumpWithFormat", err);
	return 0;
}

/* {"return": X} or {"error": {"desc": ...}}, from QEMU or its agent. */
static int parse_reply(struct domain *d, const char *who, const char *cmd,
		       const char *text, json_t **ret, struct kh_err *err)
{
	json_t *reply = json_loads(text, 0, NULL), *val, *e;
	int r = 0;

	if (!json_is_object(reply)) {
		json_decref(reply);
		return kh_err_set(err, EPROTO,
				  "libvirt passed on a reply to %s from %s that is not a JSON object",
				  cmd, who);
	}
	e = json_object_get(reply, "error");
	val = json_object_get(reply, "return");
	if (e)
		r = kh_err_set(err, EREMOTEIO, "%s refused %s: %s", who, cmd,
			       json_string_value(json_object_get(e, "desc")) ?:
			       "(no description)");
	else if (!val)
		r = kh_err_set(err, EPROTO,
			       "the reply of %s to %s has neither return nor error",
			       who, cmd);
	else if (ret)
		*ret = json_incref(val);
	json_decref(reply);
	return r;
}

static char *command_text(const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:s}", "execute", cmd);
	char *text;

	if (req && args)
		json_object_set(req, "arguments", args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	return text;
}

static int monitor_execute(void *priv, const char *cmd, json_t *args,
			   json_t **ret, struct kh_err *err)
{
	struct domain *d = priv;
	char *text = NULL, *reply = NULL;
	int r;

	if (ret)
		*ret = NULL;
	/* Where libvirt has an API, its view of the domain stays true. */
	if (!strcmp(cmd, "stop")) {
		r = virDomainSuspend(d->dom) ?
		    domain_error(d, "virDomainSuspend", err) : 0;
	} else if (!strcmp(cmd, "cont")) {
		r = resume(d, err);
	} else if (!strcmp(cmd, "query-status")) {
		r = query_status(d, ret, err);
	} else if (!strcmp(cmd, "dump-guest-memory")) {
		r = core_dump(d, args, err);
	} else {
		text = command_text(cmd, args);
		if (!text)
			r = kh_err_set(err, ENOMEM, "out of memory");
		else if (virDomainQemuMonitorCommand(d->dom, text, &reply, 0))
			r = domain_error(d, "virDomainQemuMonitorCommand",
					 err);
		else
			r = parse_reply(d, "QEMU", cmd, reply, ret, err);
	}
	json_decref(args);
	free(text);
	free(reply);
	return r;
}

static int monitor_execute_fd(void *priv, const char *cmd, json_t *args,
			      int fd, json_t **ret, struct kh_err *err)
{
	struct domain *d = priv;
	char *text = command_text(cmd, args), *reply = NULL;
	int files[1] = { fd };
	int r;

	if (ret)
		*ret = NULL;
	json_decref(args);
	if (!text)
		return kh_err_set(err, ENOMEM, "out of memory");
	if (virDomainQemuMonitorCommandWithFiles(d->dom, text, 1, files,
						 NULL, NULL, &reply, 0))
		r = domain_error(d, "virDomainQemuMonitorCommandWithFiles", err);
	else
		r = parse_reply(d, "QEMU", cmd, reply, ret, err);
	free(text);
	free(reply);
	return r;
}

static int agent_execute(void *priv, const char *cmd, json_t *args,
			 json_t **ret, struct kh_err *err)
{
	struct domain *d = priv;
	char *text = command_text(cmd, args), *reply = NULL;
	int r;

	if (ret)
		*ret = NULL;
	json_decref(args);
	if (!text)
		return kh_err_set(err, ENOMEM, "out of memory");
	reply = virDomainQemuAgentCommand(d->dom, text, d->agent_timeout_s, 0);
	if (!reply)
		r = domain_error(d, "virDomainQemuAgentCommand", err);
	else
		r = parse_reply(d, "the guest agent", cmd, reply, ret, err);
	free(text);
	free(reply);
	return r;
}

static int open_passthrough(const struct kh_target *t,
			    struct kh_passthrough *pt, struct kh_err *err)
{
	struct domain *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return kh_err_set(err, ENOMEM, "out of memory");
	d->t = t;
	ret = open_domain(t, d, err);
	if (ret) {
		free(d);
		return ret;
	}
	pt->close = close_domain;
	pt->priv = d;
	snprintf(pt->what, sizeof(pt->what), "libvirt domain %s (%s)",
		 t->libvirt_name, t->libvirt_uri);
	return 0;
}

int kh_libvirt_built(void)
{
	return 1;
}

int kh_libvirt_monitor(const struct kh_target *t, struct kh_qmp **qmpp,
		       struct kh_err *err)
{
	struct kh_passthrough pt = { .execute = monitor_execute,
				     .execute_fd = monitor_execute_fd };
	int ret = open_passthrough(t, &pt, err);

	*qmpp = NULL;
	return ret ?: kh_qmp_open_passthrough(&pt, t->pid, qmpp, err);
}

int kh_libvirt_agent(const struct kh_target *t, int timeout_ms,
		     struct kh_qga **qgap, struct kh_err *err)
{
	struct kh_passthrough pt = { .execute = agent_execute };
	int ret = open_passthrough(t, &pt, err);

	*qgap = NULL;
	if (ret)
		return ret;
	((struct domain *)pt.priv)->agent_timeout_s =
		timeout_ms > 0 ? (timeout_ms + 999) / 1000 : AGENT_TIMEOUT_S;
	return kh_qga_open_passthrough(&pt, timeout_ms, qgap, err);
}

int kh_libvirt_bind(struct kh_target *t, const char *uri,
		    struct kh_err *err)
{
	virConnectPtr conn;
	virDomainPtr dom;
	int ret, state = 0, reason;
	const char *name;

	if (!uri)
		uri = KH_LIBVIRT_DEFAULT_URI;
	if (strlen(uri) >= sizeof(t->libvirt_uri))
		return kh_err_set(err, ENAMETOOLONG,
				  "libvirt URI %.64s... is too long", uri);
	/* keyhole reads QEMU's memory: the domain must run here. */
	if (strstr(uri, "://") && strstr(uri, "://")[3] != '/')
		return kh_err_set(err, EINVAL,
				  "libvirt URI %s names another host: keyhole introspects the domains of this host only",
				  uri);
	ret = connect_uri(uri, 1, &conn, err);
	if (ret)
		return kh_err_prefix(err, "QEMU pid %d is libvirt domain %s",
				     (int)t->pid, t->name);
	dom = virDomainLookupByUUIDString(conn, t->uuid);
	name = dom ? virDomainGetName(dom) : NULL;
	if (!dom || !name || strcmp(name, t->name)) {
		ret = kh_err_set(err, ENOENT,
				 "QEMU pid %d is libvirt domain %s by its pid file, but libvirt at %s has no domain of that name with its UUID %s",
				 (int)t->pid, t->name, uri, t->uuid);
		goto out_dom;
	}
	if (virDomainGetState(dom, &state, &reason, 0) ||
	    virDomainIsActive(dom) != 1) {
		ret = kh_err_set(err, ESRCH, "libvirt domain %s is %s", name,
				 state_name(state));
		goto out_dom;
	}
	snprintf(t->libvirt_name, sizeof(t->libvirt_name), "%s", name);
	snprintf(t->libvirt_uri, sizeof(t->libvirt_uri), "%s", uri);
out_dom:
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
	return ret;
}

int kh_libvirt_explain_missing(const char *uri, const char *spec,
			       struct kh_err *err)
{
	struct kh_err lv_err = { 0 };
	char was[sizeof(err->msg)];
	int state = 0, reason, ret, code;
	virConnectPtr conn;
	virDomainPtr dom;

	if (!err)
		return -ENOENT;
	code = err->code ? err->code : ENOENT;
	if (!uri)
		uri = KH_LIBVIRT_DEFAULT_URI;
	snprintf(was, sizeof(was), "%s", err->msg);
	if (connect_uri(uri, 1, &conn, &lv_err))
		return kh_err_set(err, code, "%s; and %s", was, lv_err.msg);
	dom = virDomainLookupByName(conn, spec);
	if (!dom)
		dom = virDomainLookupByUUIDString(conn, spec);
	if (!dom) {
		ret = kh_err_set(err, code,
				 "%s; and libvirt at %s has no domain named '%s'",
				 was, uri, spec);
	} else {
		if (virDomainGetState(dom, &state, &reason, 0))
			state = VIR_DOMAIN_NOSTATE;
		ret = kh_err_set(err, ESRCH,
				 "libvirt domain %s at %s is %s: there is no QEMU process to look into",
				 virDomainGetName(dom), uri,
				 virDomainIsActive(dom) == 1 ?
				 state_name(state) : "shut off");
		virDomainFree(dom);
	}
	virConnectClose(conn);
	return ret;
}

#else /* !KH_HAVE_LIBVIRT */

#define WITHOUT "keyhole was built without libvirt (install libvirt-dev and rebuild)"

int kh_libvirt_built(void)
{
	return 0;
}

int kh_libvirt_bind(struct kh_target *t, const char *uri,
		    struct kh_err *err)
{
	return kh_err_set(err, ENOTSUP,
			  "QEMU pid %d's monitor is held by another process (libvirt?), and " WITHOUT,
			  (int)t->pid);
}

int kh_libvirt_explain_missing(const char *uri, const char *spec,
			       struct kh_err *err)
{
	return err && err->code ? -err->code : -ENOENT;
}



int kh_libvirt_monitor(const struct kh_target *t, struct kh_qmp **qmpp,
		       struct kh_err *err)
{
	*qmpp = NULL;
	return kh_err_set(err, ENOTSUP, WITHOUT);
}

int kh_libvirt_agent(const struct kh_target *t, int timeout_ms,
		     struct kh_qga **qgap, struct kh_err *err)
{
	*qgap = NULL;
	return kh_err_set(err, ENOTSUP, WITHOUT);
}

#endif /* KH_HAVE_LIBVIRT */
