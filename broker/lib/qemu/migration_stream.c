// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A reader for the RAM of a QEMU migration stream (format version 3, as
 * QEMU 7.2 writes it for precopy and background snapshots).
 *
 * The stream is a header ("QEVM", version), a configuration section with
 * the machine type, then sections. RAM is the iterative section "ram": its
 * start lists the RAM blocks (name, length), and each part is a run of
 * records, a big-endian u64 holding a page offset in a block and flags in
 * its low 12 bits: a whole page, a page filled with one byte (zero pages),
 * or the end of the part. A record without RAM_SAVE_FLAG_CONTINUE names
 * its block first. Device state follows as sections whose length is not
 * in the stream; it is never needed, so reading stops when the RAM is
 * complete: its end section (precopy), or the first device section (a
 * background snapshot, which has no end section), or EOF.
 *
 * The stream is untrusted: every length and offset is checked against the
 * block it names, the stream can only be read forward, and anything this
 * reader does not know (compressed or XBZRLE pages, RDMA hooks, unknown
 * subsections, a postcopy or ignore-shared stream) is refused by name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qemu/ram_layout_parse.h"
#include "qemu/migration_stream.h"

#define QEMU_VM_FILE_VERSION	3
#define QEMU_VM_EOF		0x08
#define QEMU_VM_SECTION_START	0x01
#define QEMU_VM_SECTION_PART	0x02
#define QEMU_VM_SECTION_END	0x03
#define QEMU_VM_SECTION_FULL	0x04
#define QEMU_VM_SUBSECTION	0x05
#define QEMU_VM_COMMAND		0x06
#define QEMU_VM_CONFIGURATION	0x07
#define QEMU_VM_SECTION_FOOTER	0x7e

#define RAM_SAVE_FLAG_FULL	0x01
#define RAM_SAVE_FLAG_ZERO	0x02
#define RAM_SAVE_FLAG_MEM_SIZE	0x04
#define RAM_SAVE_FLAG_PAGE	0x08
#define RAM_SAVE_FLAG_EOS	0x10
#define RAM_SAVE_FLAG_CONTINUE	0x20
#define RAM_SAVE_FLAG_XBZRLE	0x40
#define RAM_SAVE_FLAG_HOOK	0x80
#define RAM_SAVE_FLAG_COMPRESS	0x100
#define RAM_SAVE_FLAG_MULTIFD_FLUSH 0x200	/* QEMU 8.0+: no payload */

#define PAGE_SIZE	4096u
#define MAX_BLOCKS	64
#define BUF_SIZE	(1u << 20)

struct block {
	char id[256];
	uint64_t length;
};

struct stream {
	int fd;
	int copy_fd;		/* gets every byte read, or -1 */
	const char *copy_name;
	const char *name;
	uint8_t *buf;
	size_t pos, len;
	uint64_t consumed;	/* bytes before buf[0], for messages */
	int eof;
};

struct loader {
	struct stream s;
	char machine[256];
	unsigned int nr_blocks;
	struct block blocks[MAX_BLOCKS];
	int main_block;		/* index, or -1 */
	uint8_t *ram;		/* the main block's pages */
	uint8_t *written;	/* bitmap: pages of ram written so far */
	int last_block;		/* of the previous record, across parts */
	uint32_t ram_section;	/* section id of "ram" */
	int have_ram;
	int ram_done;
	/* Whose progress to tell (receive only), and pages received. */
	const struct kh_access *acc;
	uint64_t pages;
};

/* Every 64 MiB of the main block's pages received once, and the last. */
#define PROGRESS_PAGES	(16384u)

static void tell_progress(const struct loader *l)
{
	if (l->acc && l->main_block >= 0)
		kh_access_progress(l->acc, l->pages * PAGE_SIZE,
				   l->blocks[l->main_block].length, 0);
}

static int copy_out(struct stream *s, const uint8_t *data, size_t len,
		    struct kh_err *err)
{
	ssize_t n;

	while (len) {
		n = write(s->copy_fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int code = n < 0 ? errno : EIO;

			return kh_err_set(err, code,
					  "cannot write the migration stream to %s: %s",
					  s->copy_name, strerror(code));
		}
		data += n;
		len -= n;
	}
	return 0;
}

static int fill(struct stream *s, struct kh_err *err)
{
	ssize_t n;

	memmove(s->buf, s->buf + s->pos, s->len - s->pos);
	s->consumed += s->pos;
	s->len -= s->pos;
	s->pos = 0;
	while (s->len < BUF_SIZE) {
		n = read(s->fd, s->buf + s->len, BUF_SIZE - s->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return kh_err_set(err, ETIMEDOUT,
					  "%s: QEMU sent nothing for %d s",
					  s->name, KH_MIGSTREAM_IDLE_S);
		if (n < 0)
			return kh_err_set(err, errno, "reading %s: %s",
					  s->name, strerror(errno));
		if (!n) {
			s->eof = 1;
			break;
		}
		if (s->copy_fd >= 0 && copy_out(s, s->buf + s->len, n, err))
			return -EIO;
		s->len += n;
	}
	return 0;
}

/* n bytes of the stream (n <= BUF_SIZE), or an error at its end. */
static int get(struct stream *s, void *out, size_t n, struct kh_err *err)
{
	int r;

	if (s->len - s->pos < n && !s->eof) {
		r = fill(s, err);
		if (r)
			return r;
	}
	if (s->len - s->pos < n)
		return kh_err_set(err, EINVAL,
				  "migration stream %s ends early, at byte %" PRIu64,
				  s->name, s->consumed + s->len);
	if (out)
		memcpy(out, s->buf + s->pos, n);
	s->pos += n;
	return 0;
}

/* The next byte without consuming it; -ENODATA at the end. */
static int peek(struct stream *s, struct kh_err *err)
{
	int r;

	if (s->pos == s->len && !s->eof) {
		r = fill(s, err);
		if (r)
			return r;
	}
	return s->pos < s->len ? s->buf[s->pos] : -ENODATA;
}

static int get_u8(struct stream *s, uint8_t *v, struct kh_err *err)
{
	return get(s, v, 1, err);
}

static int get_be(struct stream *s, unsigned int bytes, uint64_t *v,
		  struct kh_err *err)
{
	uint8_t b[8];
	unsigned int i;
	int r = get(s, b, bytes, err);

	*v = 0;
	for (i = 0; !r && i < bytes; i++)
		*v = *v << 8 | b[i];
	return r;
}

/* A string with a one-byte length, NUL-terminated into out[256]. */
static int get_idstr(struct stream *s, char *out, struct kh_err *err)
{
	uint8_t len;
	int r = get_u8(s, &len, err);

	if (!r)
		r = get(s, out, len, err);
	out[r ? 0 : len] = '\0';
	return r;
}

/* The configuration section: the machine type and known subsections. */
static int read_configuration(struct loader *l, struct kh_err *err)
{
	struct stream *s = &l->s;
	uint64_t len, version, n, i;
	char id[256];
	int r;

	r = get_be(s, 4, &len, err);
	if (r)
		return r;
	if (len >= sizeof(l->machine))
		return kh_err_set(err, EINVAL,
				  "migration stream %s names a machine type of %" PRIu64 " bytes",
				  s->name, len);
	r = get(s, l->machine, len, err);
	if (r)
		return r;
	l->machine[len] = '\0';
	while (peek(s, err) == QEMU_VM_SUBSECTION) {
		get_u8(s, NULL, err);
		r = get_idstr(s, id, err) ?: get_be(s, 4, &version, err);
		if (r)
			return r;
		if (!strcmp(id, "configuration/target-page-bits")) {
			r = get_be(s, 4, &n, err);
			if (!r && n != 12)
				r = kh_err_set(err, ENOTSUP,
					       "migration stream %s has %" PRIu64 "-bit target pages, not 4 KiB",
					       s->name, n);
		} else if (!strcmp(id, "configuration/uuid")) {
			r = get(s, NULL, 16, err);
		} else if (!strcmp(id, "configuration/capabilities")) {
			r = get_be(s, 4, &n, err);
			for (i = 0; !r && i < n; i++) {
				r = get_idstr(s, id, err);
				if (!r && !strcmp(id, "x-ignore-shared"))
					r = kh_err_set(err, ENOTSUP,
						       "migration stream %s was saved with x-ignore-shared: shared RAM is not in it",
						       s->name);
			}
		} else {
			r = kh_err_set(err, ENOTSUP,
				       "migration stream %s has an unknown configuration subsection '%s'",
				       s->name, id);
		}
		if (r)
			return r;
	}
	return 0;
}

static int find_block(struct loader *l, const char *id)
{
	unsigned int i;

	for (i = 0; i < l->nr_blocks; i++)
		if (!strcmp(l->blocks[i].id, id))
			return i;
	return -1;
}

static int read_blocks(struct loader *l, uint64_t total, struct kh_err *err)
{
	struct stream *s = &l->s;
	struct block *b;
	int r;

	if (l->nr_blocks)
		return kh_err_set(err, EINVAL,
				  "migration stream %s lists its RAM blocks twice",
				  s->name);
	while (total) {
		if (l->nr_blocks == MAX_BLOCKS)
			return kh_err_set(err, E2BIG,
					  "migration stream %s has more than %d RAM blocks",
					  s->name, MAX_BLOCKS);
		b = &l->blocks[l->nr_blocks];
		r = get_idstr(s, b->id, err) ?: get_be(s, 8, &b->length, err);
		if (r)
			return r;
		if (!b->length || b->length > total ||
		    b->length % PAGE_SIZE || find_block(l, b->id) >= 0)
			return kh_err_set(err, EINVAL,
					  "migration stream %s: RAM block '%s' has a bad or repeated length 0x%" PRIx64,
					  s->name, b->id, b->length);
		total -= b->length;
		l->nr_blocks++;
	}
	return 0;
}

/*
 * Guest RAM is the block called pc.ram (no memory backend), else the
 * largest: the others are ROMs, video RAM and firmware, megabytes each.
 */
static int choose_main_block(struct loader *l, struct kh_err *err)
{
	unsigned int i;
	int best = find_block(l, "pc.ram");
	void *ram;

	for (i = 0; best < 0 && i < l->nr_blocks; i++)
		if (best < 0 || l->blocks[i].length > l->blocks[best].length)
			best = i;
	if (best < 0)
		return kh_err_set(err, EINVAL,
				  "migration stream %s has no RAM blocks",
				  l->s.name);
	for (i = 0; i < l->nr_blocks; i++)
		if (l->blocks[i].length > l->blocks[best].length)
			best = i;
	/* Untouched pages stay unallocated: zero pages cost nothing. */
	ram = mmap(NULL, l->blocks[best].length, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		return kh_err_set(err, errno,
				  "cannot reserve %" PRIu64 " MiB for the RAM of %s: %s",
				  l->blocks[best].length >> 20, l->s.name,
				  strerror(errno));
	l->written = calloc(l->blocks[best].length / PAGE_SIZE / 8 + 1, 1);
	if (!l->written) {
		munmap(ram, l->blocks[best].length);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	l->main_block = best;
	l->ram = ram;
	return 0;
}

static int was_written(const struct loader *l, uint64_t offset)
{
	return l->written[offset / PAGE_SIZE / 8] >> (offset / PAGE_SIZE % 8) & 1;
}

/* Records of one part of the ram section, up to its EOS. */
static int read_ram_records(struct loader *l, struct kh_err *err)
{
	struct stream *s = &l->s;
	int block = l->last_block, r;
	uint64_t word, flags, offset;
	char id[256];
	uint8_t fill_byte;

	for (;;) {
		r = get_be(s, 8, &word, err);
		if (r)
			return r;
		flags = word & (PAGE_SIZE - 1);
		offset = word & ~(uint64_t)(PAGE_SIZE - 1);
		if (flags & RAM_SAVE_FLAG_MEM_SIZE) {
			r = read_blocks(l, offset, err);
			if (!r)
				r = choose_main_block(l, err);
			if (r)
				return r;
			continue;
		}
		if (flags & RAM_SAVE_FLAG_EOS) {
			l->last_block = block;
			return 0;
		}
		if (flags == RAM_SAVE_FLAG_MULTIFD_FLUSH)
			continue;
		if (flags & (RAM_SAVE_FLAG_XBZRLE | RAM_SAVE_FLAG_HOOK |
			     RAM_SAVE_FLAG_COMPRESS | RAM_SAVE_FLAG_FULL) ||
		    !(flags & (RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_PAGE)))
			return kh_err_set(err, ENOTSUP,
					  "migration stream %s has a RAM record with flags 0x%" PRIx64 " (compressed, XBZRLE or RDMA pages are not supported)",
					  s->name, flags);
		if (!l->ram)
			return kh_err_set(err, EINVAL,
					  "migration stream %s has RAM pages before its RAM block list",
					  s->name);
		if (!(flags & RAM_SAVE_FLAG_CONTINUE)) {
			r = get_idstr(s, id, err);
			if (r)
				return r;
			block = find_block(l, id);
			if (block < 0)
				return kh_err_set(err, EINVAL,
						  "migration stream %s has a page of unknown RAM block '%s'",
						  s->name, id);
		} else if (block < 0) {
			return kh_err_set(err, EINVAL,
					  "migration stream %s continues a RAM block it never named",
					  s->name);
		}
		if (offset >= l->blocks[block].length)
			return kh_err_set(err, EINVAL,
					  "migration stream %s has a page at 0x%" PRIx64 ", past the end of RAM block '%s'",
					  s->name, offset, l->blocks[block].id);
		if (flags & RAM_SAVE_FLAG_ZERO) {
			r = get_u8(s, &fill_byte, err);
			/*
			 * A zero page never sent before is zero already:
			 * writing it would allocate host memory for nothing.
			 * One sent before was dirtied and sent again.
			 */
			if (!r && block == l->main_block &&
			    (fill_byte || was_written(l, offset)))
				memset(l->ram + offset, fill_byte, PAGE_SIZE);
		} else {
			r = get(s, block == l->main_block ? l->ram + offset :
				NULL, PAGE_SIZE, err);
		}
		if (r)
			return r;
		if (block == l->main_block && !was_written(l, offset)) {
			l->written[offset / PAGE_SIZE / 8] |=
				1u << (offset / PAGE_SIZE % 8);
			if (!(++l->pages % PROGRESS_PAGES))
				tell_progress(l);
		}
	}
}

static int read_footer(struct loader *l, uint64_t section,
		       struct kh_err *err)
{
	uint64_t id;
	int r;

	/* Footers exist since QEMU 2.4 machine types; older ones lack them. */
	if (peek(&l->s, err) != QEMU_VM_SECTION_FOOTER)
		return 0;
	get_u8(&l->s, NULL, err);
	r = get_be(&l->s, 4, &id, err);
	if (!r && id != section)
		r = kh_err_set(err, EINVAL,
			       "migration stream %s: footer of section %" PRIu64 " closes section %" PRIu64,
			       l->s.name, id, section);
	return r;
}

static int read_sections(struct loader *l, struct kh_err *err)
{
	struct stream *s = &l->s;
	uint64_t section, instance, version, cmd, len;
	char id[256];
	uint8_t type;
	int r;

	while (!l->ram_done) {
		r = peek(s, err);
		/*
		 * RAM ends with its end section (precopy), the first device
		 * section (a background snapshot has no end section) or EOF:
		 * a stream that stops before any of them was cut short.
		 */
		if (r == -ENODATA)
			return kh_err_set(err, EINVAL,
					  "migration stream %s ends before its RAM is complete",
					  s->name);
		if (r < 0)
			return r;
		get_u8(s, &type, err);
		switch (type) {
		case QEMU_VM_EOF:
			l->ram_done = 1;
			break;
		case QEMU_VM_COMMAND:
			r = get_be(s, 2, &cmd, err) ?: get_be(s, 2, &len, err) ?:
			    get(s, NULL, len, err);
			if (r)
				return r;
			break;
		case QEMU_VM_SECTION_START:
			r = get_be(s, 4, &section, err) ?: get_idstr(s, id, err) ?:
			    get_be(s, 4, &instance, err) ?:
			    get_be(s, 4, &version, err);
			if (r)
				return r;
			if (strcmp(id, "ram") || l->have_ram)
				return kh_err_set(err, ENOTSUP,
						  "migration stream %s has iterative section '%s' besides RAM (block migration or dirty bitmaps are not supported)",
						  s->name, id);
			if (version != 4)
				return kh_err_set(err, ENOTSUP,
						  "migration stream %s has RAM section version %" PRIu64 ", not 4",
						  s->name, version);
			l->have_ram = 1;
			l->ram_section = section;
			r = read_ram_records(l, err) ?:
			    read_footer(l, section, err);
			if (r)
				return r;
			break;
		case QEMU_VM_SECTION_PART:
		case QEMU_VM_SECTION_END:
			r = get_be(s, 4, &section, err);
			if (r)
				return r;
			if (!l->have_ram || section != l->ram_section)
				return kh_err_set(err, EINVAL,
						  "migration stream %s continues section %" PRIu64 ", which it never started",
						  s->name, section);
			r = read_ram_records(l, err) ?:
			    read_footer(l, section, err);
			if (r)
				return r;
			l->ram_done = type == QEMU_VM_SECTION_END;
			break;
		case QEMU_VM_SECTION_FULL:
			/* Device state: all RAM came before it. */
			l->ram_done = 1;
			break;
		default:
			return kh_err_set(err, EINVAL,
					  "migration stream %s has an unknown section type 0x%x at byte %" PRIu64,
					  s->name, type, s->consumed + s->pos - 1);
		}
	}
	if (!l->have_ram || !l->ram)
		return kh_err_set(err, EINVAL,
				  "migration stream %s holds no guest RAM",
				  s->name);
	return 0;
}

/* Ranges of the main block as the live VM has them, or by the split. */
static int place_ram(struct loader *l, struct kh_snap *snap,
		     const struct kh_layout *live, struct kh_err *err)
{
	const struct block *b = &l->blocks[l->main_block];
	struct kh_layout split;
	const struct kh_layout *layout = live;
	uint64_t base = 0, below, above;
	unsigned int i;
	int r;

	if (live) {
		/* A single backend: offsets follow QEMU's own addresses. */
		const struct kh_ram_range *zero = kh_layout_find(live, 0);

		if (!zero)
			return kh_err_set(err, EINVAL,
					  "the VM has no RAM at guest-physical 0 to place the stream's RAM by");
		base = zero->hva;
	} else {
		r = kh_ram_split(l->machine, b->length, 0, &below, &above,
				 err) ?:
		    kh_layout_from_split(0, below, above, &split, err);
		if (r)
			return kh_err_prefix(err, "migration stream %s",
					     l->s.name);
		layout = &split;
	}
	for (i = 0; i < layout->nr; i++) {
		const struct kh_ram_range *rr = &layout->range[i];
		uint64_t offset = rr->hva - base;

		if (rr->hva < base || offset > b->length ||
		    rr->size > b->length - offset)
			return kh_err_set(err, EINVAL,
					  "guest RAM at 0x%" PRIx64 " lies outside RAM block '%s' of migration stream %s",
					  rr->gpa, b->id, l->s.name);
		r = kh_snap_add_range(snap, rr->gpa, rr->size,
				      l->ram + offset, 0);
		if (r)
			return kh_err_set(err, -r,
					  "migration stream %s: overlapping or too many RAM ranges",
					  l->s.name);
	}
	return 0;
}

static int load(struct kh_snap *snap, int fd, const char *name,
		const struct kh_layout *live, int copy_fd, const char *copy_name,
		const struct kh_access *acc, int drain, struct kh_err *err)
{
	struct loader *l;
	uint64_t magic, version;
	uint8_t type;
	int r;

	memset(snap, 0, sizeof(*snap));
	snap->format = "migration";
	l = calloc(1, sizeof(*l));
	if (l)
		l->s.buf = malloc(BUF_SIZE);
	if (!l || !l->s.buf) {
		free(l);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	l->s.fd = fd;
	l->s.copy_fd = copy_fd;
	l->s.copy_name = copy_name;
	l->s.name = name;
	l->main_block = -1;
	l->last_block = -1;
	l->acc = acc;
	r = get_be(&l->s, 4, &magic, err) ?: get_be(&l->s, 4, &version, err);
	if (r)
		goto out;
	if (magic != 0x5145564d || version != QEMU_VM_FILE_VERSION) {
		r = kh_err_set(err, EINVAL,
			       "%s is not a QEMU migration stream of version %d",
			       name, QEMU_VM_FILE_VERSION);
		goto out;
	}
	if (peek(&l->s, err) == QEMU_VM_CONFIGURATION) {
		get_u8(&l->s, &type, err);
		r = read_configuration(l, err);
		if (r)
			goto out;
	}
	r = read_sections(l, err) ?: place_ram(l, snap, live, err);
	if (!r)
		tell_progress(l);
	/* The sender finishes only once all it sent was read. */
	while (!r && drain && !l->s.eof) {
		l->s.pos = l->s.len;
		r = fill(&l->s, err);
	}
	if (!r)
		r = kh_snap_add_map(snap, l->ram,
				    l->blocks[l->main_block].length);
	if (!r)
		l->ram = NULL;	/* snap owns it now */
out:
	if (l->ram)
		munmap(l->ram, l->blocks[l->main_block].length);
	if (r)
		snap->nr = 0;	/* ranges pointed into l->ram */
	free(l->written);
	free(l->s.buf);
	free(l);
	return r;
}

int kh_migstream_load(struct kh_snap *snap, int fd, const char *name,
		      const struct kh_layout *live, struct kh_err *err)
{
	if (lseek(fd, 0, SEEK_SET))
		return kh_err_set(err, errno, "cannot seek in %s: %s", name,
				  strerror(errno));
	return load(snap, fd, name, live, -1, NULL, NULL, 0, err);
}

int kh_migstream_receive(struct kh_snap *snap, int fd, const char *name,
			 const struct kh_layout *live, int copy_fd,
			 const char *copy_name, const struct kh_access *acc,
			 struct kh_err *err)
{
	return load(snap, fd, name, live, copy_fd, copy_name, acc, 1, err);
}
