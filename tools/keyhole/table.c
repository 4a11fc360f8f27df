// SPDX-License-Identifier: GPL-2.0-only
/*
 * The commands' tables, rendered by libsmartcols as lsblk and findmnt
 * render theirs: columns size themselves to their widest cell, and
 * keyhole's --output (which columns, in which order), --noheadings and
 * --raw apply to every table. A column is named by its header, in any
 * case, with '-' or '_' for a space ("used-by" is lsmod's "Used by").
 */
#include <ctype.h>
#include <errno.h>
#include <libsmartcols.h>
#include <string.h>

#include "keyhole.h"

#define TABLE_MAX_COLUMNS 32

static struct {
	const char *output;	/* "PID,COMM", or NULL: every column */
	bool noheadings, raw;
	bool threads;		/* TABLE_THREADS columns by default */
} table_opts;

struct table {
	struct libscols_table *tb;
	unsigned int nr_cols;
	/* Per column of the command, its place in tb, or -1 if not shown. */
	int at[TABLE_MAX_COLUMNS];
};

void table_setup(const struct options *opts)
{
	table_opts.output = opts->output;
	table_opts.noheadings = opts->noheadings;
	table_opts.raw = opts->raw;
}

void table_show_threads(bool threads)
{
	table_opts.threads = threads;
}

static int same_char(char a, char b)
{
	if (a == '-' || a == '_')
		a = ' ';
	if (b == '-' || b == '_')
		b = ' ';
	return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/* The column of cols that name (len bytes) names, or -1. */
static int column_named(const struct table_column *cols, const char *name,
			size_t len)
{
	unsigned int i;
	size_t j;

	for (i = 0; cols[i].name; i++) {
		if (strlen(cols[i].name) != len)
			continue;
		for (j = 0; j < len && same_char(cols[i].name[j], name[j]); j++)
			;
		if (j == len)
			return i;
	}
	return -1;
}

/*
 * Calls fn for each column --output names, in its order; -EINVAL with
 * the bad name in why if one names no column of cols.
 */
static int each_output(const struct table_column *cols,
		       void (*fn)(void *ctx, int col), void *ctx, char *why,
		       size_t size)
{
	const char *p = table_opts.output, *end;

	/* table_check() set output before anything else asked. */
	int col;

	while (p && *p) {
		end = strchrnul(p, ',');
		col = column_named(cols, p, end - p);
		if (col < 0) {
			snprintf(why, size, "no column '%.*s'", (int)(end - p),
				 p);
			return -EINVAL;
		}
		fn(ctx, col);
		p = *end ? end + 1 : end;
	}
	return 0;
}

static void nothing(void *ctx, int col)
{
}

int table_check(const struct options *opts,
		const struct table_column *cols, char *why, size_t size)
{
	size_t n;
	unsigned int i;

	if (!opts->output && !opts->noheadings && !opts->raw)
		return 0;
	if (!cols) {
		snprintf(why, size, "prints no table: --output, --noheadings and --raw do not apply");
		return -EINVAL;
	}
	if (!opts->output)
		return 0;
	table_opts.output = opts->output;
	if (!opts->output[0]) {
		snprintf(why, size, "--output names no column");
		return -EINVAL;
	}
	if (!each_output(cols, nothing, NULL, why, size))
		return 0;
	n = strlen(why);
	for (i = 0; cols[i].name && n < size; i++)
		n += snprintf(why + n, size - n, "%s%s", i ? ", " : " (its columns: ",
			      cols[i].name);
	if (n < size)
		snprintf(why + n, size - n, ")");
	return -EINVAL;
}

struct adding {
	struct table *t;
	const struct table_column *cols;
	int failed;
};

static void add_column(void *ctx, int col)
{
	struct adding *a = ctx;
	const struct table_column *c = &a->cols[col];
	int flags = 0;

	if (c->flags & TABLE_RIGHT)
		flags |= SCOLS_FL_RIGHT;
	if (c->flags & TABLE_TRUNC)
		flags |= SCOLS_FL_TRUNC;
	/* A column asked for twice is shown once. */
	if (a->t->at[col] >= 0)
		return;
	if (!scols_table_new_column(a->t->tb, c->name, 0, flags))
		a->failed = 1;
	a->t->at[col] = scols_table_get_ncols(a->t->tb) - 1;
}

/* The tree in the first of trees shown: set once the columns are made. */
static int draw_tree(struct table *t, const int *trees)
{
	struct libscols_column *cl;

	for (; trees && *trees >= 0; trees++) {
		if (t->at[*trees] < 0)
			continue;
		cl = scols_table_get_column(t->tb, t->at[*trees]);
		return cl ? scols_column_set_flags(cl, scols_column_get_flags(cl) |
						   SCOLS_FL_TREE) : -ENOMEM;
	}
	return 0;
}

struct table *table_new_tree(const struct table_column *cols,
			     const int *trees)
{
	struct table *t = calloc(1, sizeof(*t));
	struct adding a = { .t = t, .cols = cols };
	unsigned int i;
	char why[128];

	if (!t)
		return NULL;
	t->tb = scols_new_table();
	if (!t->tb) {
		free(t);
		return NULL;
	}
	for (i = 0; i < TABLE_MAX_COLUMNS; i++)
		t->at[i] = -1;
	for (t->nr_cols = 0; cols[t->nr_cols].name; t->nr_cols++)
		;
	if (table_opts.output) {
		/* table_check() found every name before anything was read. */
		each_output(cols, add_column, &a, why, sizeof(why));
	} else {
		for (i = 0; i < t->nr_cols; i++)
			if (!(cols[i].flags & TABLE_HIDDEN) &&
			    (!(cols[i].flags & TABLE_THREADS) ||
			     table_opts.threads))
				add_column(&a, i);
	}
	scols_table_enable_noheadings(t->tb, table_opts.noheadings);
	scols_table_enable_raw(t->tb, table_opts.raw);
	if (a.failed || draw_tree(t, trees)) {
		table_free(t);
		return NULL;
	}
	return t;
}

struct table_row *table_row_under(struct table *t, struct table_row *parent,
				  const char *const *cells)
{
	struct libscols_line *ln;
	unsigned int i;

	if (!t)
		return NULL;
	ln = scols_table_new_line(t->tb, (struct libscols_line *)parent);
	if (!ln)
		return NULL;
	for (i = 0; i < t->nr_cols; i++)
		if (t->at[i] >= 0 &&
		    scols_line_set_data(ln, t->at[i], cells[i] ?: ""))
			return NULL;
	return (struct table_row *)ln;
}

int table_row(struct table *t, const char *const *cells)
{
	return table_row_under(t, NULL, cells) ? 0 : -ENOMEM;
}

struct table *table_new(const struct table_column *cols)
{
	return table_new_tree(cols, NULL);
}

void table_print(struct table *t, FILE *out)
{
	if (!t) {
		fputs("keyhole: out of memory for a table\n", stderr);
		return;
	}
	scols_table_set_stream(t->tb, out);
	scols_print_table(t->tb);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	scols_unref_table(t->tb);
	free(t);
}
