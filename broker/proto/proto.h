/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The keyholed socket protocol, the one piece that keyholed and its
 * clients (the keyhole command) both link, so that the two can never
 * disagree about a message (Documentation/broker-protocol.md).
 *
 * Messages are JSON objects, one per line ("\n" ends each, none inside),
 * over a unix stream socket. The daemon greets first, as QMP does; then
 * the client sends {"execute": NAME, "arguments": {...}, "id": ANY} and
 * the daemon answers {"return": VALUE, "id": ANY} or {"error": {"class":
 * CLASS, "desc": TEXT}, "id": ANY}, the id copied back as it came. Events
 * are {"event": NAME, "data": {...}} and carry no id.
 */
#ifndef KH_PROTO_H
#define KH_PROTO_H

#include <jansson.h>
#include <stddef.h>

/*
 * 2: every query's document an object that says how its reads went, a
 * list under its command's name; crawl records' parts named so too.
 */
#define KH_PROTO_VERSION	2
#define KH_PROTO_SOCKET		"/run/keyhole/keyholed.sock"
/* A request line longer than this is refused and the connection closed. */
#define KH_PROTO_MAX_REQUEST	(1u << 20)
/* A reply line longer than this is refused by a client reading it. */
#define KH_PROTO_MAX_REPLY	(256u << 20)

/* Error classes: what a client can act on, not which function failed. */
#define KH_ERR_GENERIC		"GenericError"
#define KH_ERR_BAD_REQUEST	"BadRequest"		/* not a request */
#define KH_ERR_NO_COMMAND	"CommandNotFound"
#define KH_ERR_BAD_ARGUMENT	"InvalidArgument"
#define KH_ERR_NO_VM		"VMNotFound"
#define KH_ERR_DENIED		"PermissionDenied"
#define KH_ERR_TOO_LARGE	"TooLarge"
#define KH_ERR_VM_GONE		"VMExited"
#define KH_ERR_OVER_BUDGET	"OverBudget"		/* a crawl's time or memory */
#define KH_ERR_SHUTDOWN		"ShuttingDown"

struct kh_proto_request {
	json_t *root;		/* owns the rest */
	const char *execute;
	json_t *arguments;	/* an object, {} when absent */
	json_t *id;		/* NULL when absent */
};

/* {"keyholed": {"version", "protocol", "capabilities" [...]}} */
json_t *kh_proto_greeting(const char *version, const char *const *caps);

/*
 * Parses one line (without its "\n"). 0, or -EINVAL with why saying what
 * is wrong with it; req->id is set whenever the line had a usable one, so
 * that even a refusal can be matched to its request.
 */
int kh_proto_parse_request(const char *line, size_t len,
			   struct kh_proto_request *req, char *why,
			   size_t why_size);
void kh_proto_request_release(struct kh_proto_request *req);

/* Replies; each steals value/data and copies id (which may be NULL). */
json_t *kh_proto_return(json_t *value, const json_t *id);
json_t *kh_proto_error(const char *klass, const json_t *id,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
json_t *kh_proto_event(const char *name, json_t *data);

/*
 * The line to send for msg, "\n" included, malloc'd; steals msg. NULL if
 * jansson cannot encode it.
 */
char *kh_proto_encode(json_t *msg, size_t *len);

/*
 * A client's connection: the line reader and the round trip. Errors
 * are -errno with why.
 */
#define KH_PROTO_MAX_FDS 4

struct kh_proto_conn {
	int fd;
	char *buf;
	size_t start, len, size;	/* unread bytes: buf[start..len) */
	json_t *greeting;
	/* Descriptors keyholed passed (the "ram" reply), oldest first. */
	int fds[KH_PROTO_MAX_FDS];
	unsigned int nr_fds;
};

int kh_proto_connect(const char *path, struct kh_proto_conn *conn,
		     char *why, size_t why_size);
void kh_proto_close(struct kh_proto_conn *conn);
/* The next message from the daemon (a reply or an event). */
int kh_proto_receive(struct kh_proto_conn *conn, json_t **msg, char *why,
		     size_t why_size);
/*
 * Takes up to max of the descriptors received so far (the caller closes
 * them); how many. Those left are closed by kh_proto_close().
 */
unsigned int kh_proto_take_fds(struct kh_proto_conn *conn, int *fds,
			       unsigned int max);
/* Sends {"execute", "arguments", "id"}; steals arguments. */
int kh_proto_send(struct kh_proto_conn *conn, const char *execute,
		  json_t *arguments, json_int_t id, char *why,
		  size_t why_size);

#endif
