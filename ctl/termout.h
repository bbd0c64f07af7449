/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * termout.h - what idleclawctl writes to a terminal.
 *
 * Text from the network may carry escape sequences that a terminal obeys
 * instead of showing (a title, a cleared screen, a clipboard write): on a
 * terminal they are taken out, unless --raw; to a pipe or a file every byte
 * goes as the network sent it.  And an answer on a terminal is wrapped at
 * its width without breaking words, as `ollama run` does.
 */
#ifndef IC_CTL_TERMOUT_H
#define IC_CTL_TERMOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>

struct ctl_ctx;

/*
 * Take out of s, in place, what a terminal would obey rather than show:
 * C0 controls except newline and tab, ESC among them, DEL, and the C1
 * controls U+0080..U+009F; a byte that is not part of valid UTF-8 becomes
 * '?' (in a Latin-1 terminal 0x9B is CSI).  Returns the new length.
 */
size_t ctl_strip_controls(char *s);

/* ctl_strip_controls() on every string value of a JSON tree, in place. */
void ctl_json_strip(json_object *o);

/* true when network text written to f must be stripped: f is a terminal
 * and --raw was not given. */
bool ctl_strip_for(const struct ctl_ctx *ctx, FILE *f);

/* fprintf() whose result is stripped when strip is set (for lines that mix
 * our words with the network's). */
void ctl_fprintf_strip(FILE *f, bool strip, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Bytes of a word that can be moved whole to the next line. */
#define TERMOUT_WORD_MAX 256

/*
 * A stream of text to a terminal: stripped (strip), wrapped at the
 * terminal's width between words (wrap), and dimmed on request (color).
 * The width is read from the terminal at each write, so a resized window
 * wraps at its new width from the next word on.
 */
struct termout {
	FILE *f;
	bool strip;
	bool wrap;
	bool color;
	bool failed; /* a write failed (the terminal went away) */
	bool dim;    /* the dim attribute is on */
	int col;     /* display column of the cursor */
	/* the word being written: its bytes, columns and start column */
	char word[TERMOUT_WORD_MAX];
	size_t word_len;
	int word_cols;
	int word_start;
};

void termout_init(struct termout *t, FILE *f, bool strip, bool wrap, bool color);

/* Write n bytes of text (from the network or ours). */
void termout_write(struct termout *t, const char *s, size_t n);
void termout_puts(struct termout *t, const char *s);

/* Turn the dim attribute on or off (nothing without color). */
void termout_dim(struct termout *t, bool on);

/* End the line unless the cursor is at its start. */
void termout_endline(struct termout *t);

/* Go back to the start of the current line and clear it (to rewrite a
 * progress line); only for lines shorter than the terminal's width. */
void termout_rewrite_line(struct termout *t);

/* Flush; false if a write has failed. */
bool termout_flush(struct termout *t);

#endif
