/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * chat.h - what `idleclawctl chat` (cmd-chat.c) and its terminal REPL
 * (repl.c) share: the conversation, its settings, and one turn.
 */
#ifndef IC_CTL_CHAT_H
#define IC_CTL_CHAT_H

#include <signal.h>
#include <stdbool.h>
#include <json-c/json.h>

#include "ctl.h"
#include "termout.h"

/* Set by the SIGINT handler; a wait that sees it stops. */
extern volatile sig_atomic_t ctl_chat_sigint;

struct chat {
	struct ctl_ctx *ctx;
	const struct ctl_cmd_entry *self;
	struct ctl_client *client;
	char *model;  /* owned */
	char *system; /* owned, or NULL; put before the first question */
	bool think;   /* ask for thinking */
	bool hide_thinking;
	/* stdin and stdout are a terminal: the readline REPL, answers
	 * wrapped and thinking dimmed on stdout (term) */
	bool fancy;
	bool wordwrap;	      /* fancy: wrap at the terminal's width */
	bool verbose;	      /* fancy: timings after each answer */
	bool color;	      /* fancy: dim allowed (no NO_COLOR) */
	bool dim;	      /* plain: stderr is a terminal, dim the thinking */
	bool strip_out;	      /* stdout is a terminal and no --raw */
	bool strip_err;	      /* stderr is a terminal and no --raw */
	bool conn_lost;	      /* the connection broke: no more turns */
	bool output_failed;   /* stdout cannot be written (closed pipe) */
	json_object *history; /* the conversation so far, user and assistant
				 * messages (owned); system is added on sending */
	struct termout term;  /* fancy: stdout */
	/* the answer being streamed */
	char *answer;
	size_t answer_len;
	size_t answer_cap;
	int last_out;	  /* plain: last byte written to stdout, or -1 */
	bool in_thinking; /* thinking is being shown */
	bool tool_open;	  /* fancy: a tool line waits for its outcome */
	char tool_label[96];
	char finish_reason[32];
	/* for /set verbose: monotonic ms */
	long long t_sent;
	long long t_first;   /* first content or thinking, or 0 */
	long long t_content; /* first content, or 0 */
	long content_deltas;
};

/* Send text as the next question and stream the answer.  Returns the
 * exit code of the turn (0, or why it failed, already printed). */
int chat_turn(struct chat *ch, const char *text);

/* Forget the conversation (the system text stays). */
void chat_forget(struct chat *ch);

/*
 * Send cmd with args (taken over; NULL = {}) on the chat's connection and
 * wait for its reply (Ctrl-C gives up).  0 with *reply filled (any
 * status: ctl_message_clear() it), or an exit code after printing why.
 */
int chat_request(struct chat *ch, const char *cmd, json_object *args, struct ctl_message *reply);

/* The conversation on a terminal (repl.c): readline, commands, """.
 * Returns the exit code. */
int chat_repl(struct chat *ch);

#endif
