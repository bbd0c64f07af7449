/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * standalone.c - runs a libFuzzer harness without libFuzzer, as a
 * regression test for make check (gcc, optionally ASan+UBSan).
 *
 *   fuzz_NAME [-n RUNS] [-s SEED] [-d DICT] [PATH...]
 *
 * Every file of each PATH (a file, or a directory: its files in name order)
 * is run once, then RUNS deterministic mutations of them.  Without PATH the
 * seed corpus $IC_SRCDIR/tests/fuzz/corpus/NAME and the dictionary
 * $IC_SRCDIR/tests/fuzz/NAME.dict are used (IC_SRCDIR defaults to the
 * source tree the program was built from).
 * RUNS defaults to IC_FUZZ_RUNS or 10000; SEED to 1.  "-n 0 FILE" replays one
 * input, e.g. a crash file from libFuzzer.
 *
 * When a harness aborts (or a sanitizer reports), the input being run is
 * written to ./crash-fuzz_NAME.bin so that it can be replayed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xmalloc.h"

#ifndef IC_FUZZ_NAME
#error "compile with -DIC_FUZZ_NAME='\"name\"'"
#endif
#ifndef IC_FUZZ_SRCDIR
#define IC_FUZZ_SRCDIR "."
#endif

#define RUNS_DEFAULT 10000
#define INPUT_MAX (64 * 1024)	   /* mutations never grow an input beyond this */
#define FILE_MAX (4 * 1024 * 1024) /* a seed or replayed file */
#define TOKENS_MAX 512		   /* dictionary entries */
#define TOKEN_MAX 256		   /* bytes in one dictionary entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* From the sanitizer runtime when there is one (weak: absent otherwise). */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

struct buf {
	uint8_t *p;
	size_t len;
};

struct list {
	struct buf *v;
	size_t n, cap;
};

static struct list seeds, tokens;

/* The input being run, for the crash handler. */
static const uint8_t *cur_data;
static size_t cur_size;
static const char crash_name[] = "crash-fuzz_" IC_FUZZ_NAME ".bin";

/* --- crash capture (async-signal-safe: open/write/close only) --- */

static void say(const char *s)
{
	ssize_t rc = write(2, s, strlen(s));

	(void)rc;
}

static void save_current(void)
{
	int fd;
	size_t off = 0;

	if (cur_data == NULL)
		return;
	fd = open(crash_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	while (off < cur_size) {
		ssize_t n = write(fd, cur_data + off, cur_size - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	say("fuzz_" IC_FUZZ_NAME ": failing input written to ");
	say(crash_name);
	say("\n");
	cur_data = NULL;
}

static void on_fatal(int sig)
{
	save_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_crashes(void)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_fatal);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(save_current);
}

static void run_one(const uint8_t *data, size_t size)
{
	/* a private copy, so that ASan sees reads past the end */
	uint8_t *copy = xmalloc(size ? size : 1);

	memcpy(copy, data, size);
	cur_data = copy;
	cur_size = size;
	LLVMFuzzerTestOneInput(copy, size);
	cur_data = NULL;
	free(copy);
}

/* --- inputs --- */

static void list_add(struct list *l, uint8_t *p, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].p = p;
	l->v[l->n].len = len;
	l->n++;
}

static void list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].p);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* The whole file as a NEW buffer; -1 with errno if unreadable or too big. */
static int read_file_new(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	size_t n;
	int bad;

	if (f == NULL)
		return -1;
	p = xmalloc(FILE_MAX + 1);
	n = fread(p, 1, FILE_MAX + 1, f);
	bad = ferror(f) ? EIO : n > FILE_MAX ? EFBIG : 0;
	fclose(f);
	if (bad) {
		free(p);
		errno = bad;
		return -1;
	}
	out->p = xrealloc(p, n + 1);
	out->len = n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_file(const char *path)
{
	struct buf b;

	if (read_file_new(path, &b) < 0) {
		fprintf(stderr, "fuzz_%s: %s: %s\n", IC_FUZZ_NAME, path, strerror(errno));
		return -1;
	}
	list_add(&seeds, b.p, b.len);
	return 0;
}

/* Every regular file of dir, in name order. */
static int add_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "fuzz_%s: %s: %s\n", IC_FUZZ_NAME, dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		if (rc == 0 && add_file(names[i]) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

static int add_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "fuzz_%s: %s: %s\n", IC_FUZZ_NAME, path, strerror(errno));
		return -1;
	}
	return S_ISDIR(st.st_mode) ? add_dir(path) : add_file(path);
}

/* --- the dictionary (libFuzzer's format: [name=]"text" with \\ \" \xNN) --- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One entry of line, unescaped, into out; its length or -1 if none. */
static int dict_entry(const char *line, uint8_t *out)
{
	const char *s = strchr(line, '"');
	int n = 0;

	if (line[strspn(line, " \t")] == '#' || s == NULL)
		return -1;
	for (s++; *s != '\0' && *s != '"' && n < TOKEN_MAX; s++) {
		if (*s == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
			out[n++] = (uint8_t)(hexval(s[2]) * 16 + hexval(s[3]));
			s += 3;
		} else if (*s == '\\' && s[1] != '\0') {
			out[n++] = (uint8_t) * ++s;
		} else {
			out[n++] = (uint8_t)*s;
		}
	}
	return *s == '"' && n > 0 ? n : -1;
}

/* A missing dictionary is fine; entries that do not parse are skipped. */
static void load_dict(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4 * TOKEN_MAX + 64];
	uint8_t tok[TOKEN_MAX];

	if (f == NULL)
		return;
	while (tokens.n < TOKENS_MAX && fgets(line, sizeof(line), f) != NULL) {
		int n = dict_entry(line, tok);
		uint8_t *p;

		if (n < 0)
			continue;
		p = xmalloc((size_t)n);
		memcpy(p, tok, (size_t)n);
		list_add(&tokens, p, (size_t)n);
	}
	fclose(f);
}

/* --- deterministic mutations --- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: good enough, and the same sequence everywhere */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* 0 .. n-1 (n > 0) */
static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

static const uint8_t special[] = { 0, 0xff, 0x7f, 0x80, 0xc0, 0xed, 0xef, 0xf4, '\n', '\r', '"',
	'\\', '{', '}', '[', ']', ':', ',', ' ', '0', '9', '-', '=', ';', '#', '.', 'e' };

/* Insert n bytes at pos (the caller keeps len + n within INPUT_MAX). */
static void insert(struct buf *b, size_t pos, const uint8_t *src, size_t n)
{
	b->p = xrealloc(b->p, b->len + n + 1);
	memmove(b->p + pos + n, b->p + pos, b->len - pos);
	memcpy(b->p + pos, src, n);
	b->len += n;
}

static void erase(struct buf *b, size_t pos, size_t n)
{
	memmove(b->p + pos, b->p + pos + n, b->len - pos - n);
	b->len -= n;
}

static void mutate_once(struct buf *b)
{
	uint8_t tmp[TOKEN_MAX];
	const struct buf *t;
	size_t pos = below(b->len + 1), n, i;

	switch (below(9)) {
	case 0: /* flip a bit */
		if (b->len)
			b->p[below(b->len)] ^= (uint8_t)(1u << below(8));
		break;
	case 1: /* a byte that matters to some parser */
		if (b->len)
			b->p[below(b->len)] = special[below(sizeof(special))];
		break;
	case 2: /* delete a range */
		if (b->len) {
			pos = below(b->len);
			erase(b, pos, 1 + below(b->len - pos < 16 ? b->len - pos : 16));
		}
		break;
	case 3: /* insert random bytes */
		n = 1 + below(8);
		for (i = 0; i < n; i++)
			tmp[i] = (uint8_t)rnd();
		if (b->len + n <= INPUT_MAX)
			insert(b, pos, tmp, n);
		break;
	case 4: /* duplicate a range (repeats, nesting, long lines) */
		if (b->len) {
			size_t from = below(b->len);

			n = 1 + below(b->len - from);
			if (b->len + n <= INPUT_MAX) {
				uint8_t *copy = xmalloc(n);

				memcpy(copy, b->p + from, n);
				insert(b, pos, copy, n);
				free(copy);
			}
		}
		break;
	case 5: /* splice: our head, another seed's tail */
		t = &seeds.v[below(seeds.n)];
		if (t->len) {
			size_t from = below(t->len);

			n = t->len - from;
			if (pos + n <= INPUT_MAX) {
				b->len = pos;
				insert(b, pos, t->p + from, n);
			}
		}
		break;
	case 6: /* insert a dictionary token */
	case 7: /* overwrite with a dictionary token */
		if (tokens.n == 0)
			break;
		t = &tokens.v[below(tokens.n)];
		if (b->len + t->len > INPUT_MAX)
			break;
		if (b->len - pos >= t->len && below(2))
			erase(b, pos, t->len);
		insert(b, pos, t->p, t->len);
		break;
	default: /* truncate */
		b->len = pos;
		break;
	}
}

static void run_mutations(unsigned long runs)
{
	unsigned long r;

	for (r = 0; r < runs; r++) {
		const struct buf *s = &seeds.v[below(seeds.n)];
		struct buf b;
		size_t k, steps = 1 + below(4);

		b.len = s->len < INPUT_MAX ? s->len : INPUT_MAX;
		b.p = xmalloc(b.len + 1);
		memcpy(b.p, s->p, b.len);
		for (k = 0; k < steps; k++)
			mutate_once(&b);
		run_one(b.p, b.len);
		free(b.p);
	}
}

/* --- main --- */

static void usage(void)
{
	fprintf(stderr, "usage: fuzz_%s [-n RUNS] [-s SEED] [-d DICT] [PATH...]\n", IC_FUZZ_NAME);
	exit(2);
}

static unsigned long number(const char *s)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || s[0] == '-')
		usage();
	return n;
}

int main(int argc, char **argv)
{
	const char *env_runs = getenv("IC_FUZZ_RUNS");
	const char *srcdir = getenv("IC_SRCDIR");
	unsigned long runs = env_runs && *env_runs ? number(env_runs) : RUNS_DEFAULT;
	const char *dict = NULL;
	char *path;
	size_t i;
	int c, rc = 0;

	rng_state = 1;
	while ((c = getopt(argc, argv, "n:s:d:")) != -1) {
		switch (c) {
		case 'n':
			runs = number(optarg);
			break;
		case 's':
			rng_state = number(optarg);
			break;
		case 'd':
			dict = optarg;
			break;
		default:
			usage();
		}
	}
	if (srcdir == NULL || *srcdir == '\0')
		srcdir = IC_FUZZ_SRCDIR;
	if (optind == argc) {
		path = xasprintf("%s/tests/fuzz/corpus/%s", srcdir, IC_FUZZ_NAME);
		rc = add_path(path);
		free(path);
		if (dict == NULL) {
			path = xasprintf("%s/tests/fuzz/%s.dict", srcdir, IC_FUZZ_NAME);
			load_dict(path);
			free(path);
		}
	}
	for (i = (size_t)optind; i < (size_t)argc && rc == 0; i++)
		rc = add_path(argv[i]);
	if (dict != NULL)
		load_dict(dict);
	if (rc < 0 || seeds.n == 0) {
		fprintf(stderr, "fuzz_%s: no inputs\n", IC_FUZZ_NAME);
		return 1;
	}
	catch_crashes();
	for (i = 0; i < seeds.n; i++)
		run_one(seeds.v[i].p, seeds.v[i].len);
	run_mutations(runs);
	printf("fuzz_%s: %zu inputs, %lu mutations, %zu dictionary entries: no failure\n",
		IC_FUZZ_NAME, seeds.n, runs, tokens.n);
	list_free(&seeds);
	list_free(&tokens);
	return 0;
}
