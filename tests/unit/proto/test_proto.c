// SPDX-License-Identifier: GPL-2.0-only
/*
 * broker/proto: what keyholed accepts as a request and what it refuses,
 * with the id kept for the refusal whenever the line had one; that an
 * encoded message is exactly one line, whatever its strings hold; and
 * that a client refuses a daemon that greets with another protocol,
 * whose documents it would misread, and says which.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proto.h"

static int parse(const char *line, struct kh_proto_request *req, char *why)
{
	return kh_proto_parse_request(line, strlen(line), req, why, 256);
}

static void refused(const char *line, const char *because, int has_id)
{
	struct kh_proto_request req;
	char why[256];

	CHECK(parse(line, &req, why) == -EINVAL, "accepted: %s", line);
	CHECK(strstr(why, because), "%s: said '%s', not '%s'", line, why,
	      because);
	CHECK(!req.execute && !req.arguments, "%s: half a request", line);
	CHECK(!!req.id == has_id, "%s: id %s", line,
	      has_id ? "lost" : "invented");
	kh_proto_request_release(&req);
}

/*
 * kh_proto_connect() to a socket that greets with greeting (a line, as
 * keyholed would send it): its return, and why in why.
 */
static int connect_to(const char *greeting, char *why, size_t size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct kh_proto_conn conn;
	int server, client, ret, status;
	pid_t pid;

	snprintf(addr.sun_path, sizeof(addr.sun_path),
		 "/tmp/kh-test-proto.%d.sock", (int)getpid());
	unlink(addr.sun_path);
	server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(server >= 0 && !bind(server, (struct sockaddr *)&addr,
				   sizeof(addr)) && !listen(server, 1),
	      "listening socket %s", addr.sun_path);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		client = accept(server, NULL, NULL);
		_exit(client < 0 || write(client, greeting, strlen(greeting)) !=
			(ssize_t)strlen(greeting));
	}
	ret = kh_proto_connect(addr.sun_path, &conn, why, size);
	kh_proto_close(&conn);
	close(server);
	unlink(addr.sun_path);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "the greeter failed");
	return ret;
}

static void greetings(void)
{
	char line[256], why[256];

	snprintf(line, sizeof(line),
		 "{\"keyholed\":{\"version\":\"x\",\"protocol\":%d,\"capabilities\":[]}}\n",
		 KH_PROTO_VERSION);
	CHECK(!connect_to(line, why, sizeof(why)), "this protocol refused: %s",
	      why);
	CHECK(connect_to("{\"keyholed\":{\"version\":\"0.1\",\"protocol\":1,\"capabilities\":[]}}\n",
			 why, sizeof(why)) == -EPROTO &&
	      strstr(why, "protocol 1"), "protocol 1 accepted, or not named: %s",
	      why);
	CHECK(connect_to("{\"keyholed\":{\"version\":\"0.1\"}}\n", why,
			 sizeof(why)) == -EPROTO, "a greeting without protocol accepted");
	CHECK(connect_to("{\"QMP\":{}}\n", why, sizeof(why)) == -EPROTO &&
	      strstr(why, "did not greet"), "QMP's greeting accepted: %s", why);
}

int main(void)
{
	struct kh_proto_request req;
	char why[256], *line;
	size_t len;

	CHECK(!parse("{\"execute\":\"ps\",\"arguments\":{\"vm\":\"a\"},\"id\":[1,\"x\"]}",
		     &req, why), "valid request refused: %s", why);
	CHECK(!strcmp(req.execute, "ps"), "execute");
	CHECK(json_is_string(json_object_get(req.arguments, "vm")), "args");
	CHECK(json_is_array(req.id), "id kept as it came");
	kh_proto_request_release(&req);

	CHECK(!parse("{\"execute\":\"list\"}", &req, why), "%s", why);
	CHECK(json_is_object(req.arguments) && !json_object_size(req.arguments),
	      "absent arguments are {}");
	CHECK(!req.id, "no id");
	kh_proto_request_release(&req);

	refused("{\"execute\":", "not JSON", 0);
	refused("", "not JSON", 0);
	refused("[]", "object", 0);
	refused("\"ps\"", "not JSON", 0);
	refused("{\"id\":3}", "execute", 1);
	refused("{\"execute\":7,\"id\":3}", "execute", 1);
	refused("{\"execute\":\"ps\",\"arguments\":[],\"id\":3}", "arguments",
		1);
	refused("{\"execute\":\"ps\",\"argument\":{},\"id\":3}",
		"unknown key", 1);
	refused("{\"execute\":\"ps\",\"execute\":\"list\"}", "not JSON", 0);
	/* A NUL inside the line is not the end of it. */
	CHECK(kh_proto_parse_request("{\"execute\":\"ps\"}\0x", 18, &req, why,
				     sizeof(why)) == -EINVAL, "NUL accepted");
	kh_proto_request_release(&req);

	line = kh_proto_encode(kh_proto_error(KH_ERR_NO_VM, json_integer(9),
					      "line\nbreak \"%s\"", "q"), &len);
	CHECK(line && len == strlen(line) && line[len - 1] == '\n' &&
	      !memchr(line, '\n', len - 1), "not one line: %s", line);
	CHECK(strstr(line, "\"id\":9") && strstr(line, "VMNotFound"), "%s",
	      line);
	free(line);
	line = kh_proto_encode(kh_proto_event("goodbye", NULL), &len);
	CHECK(line && !strcmp(line, "{\"event\":\"goodbye\",\"data\":{}}\n"),
	      "event: %s", line);
	free(line);
	greetings();
	return KH_PASS;
}
