/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd-chat.c - `idleclawctl chat -m MODEL [--think] [--hidethinking]
 * [--system TEXT] [MESSAGE...]`: send a chat into the IdleClaw network
 * through idleclawd and print the answer as it streams in.
 *
 * The message comes from the operands, else from stdin; with no operands
 * on a terminal it is a conversation (history kept within the network's
 * limits).  Two ways to print:
 *
 * - plain (stdin or stdout is not a terminal, or --json): content to
 *   stdout; thinking, tool progress and errors to stderr (thinking dimmed
 *   when stderr is a terminal); a conversation reads one line a turn.
 *   Ctrl-C while an answer streams sends `cancel` for it and exits 130.
 * - on a terminal (stdin and stdout): repl.c's readline conversation, the
 *   answer wrapped at the terminal's width, thinking dimmed between
 *   "Thinking..." and "...done thinking.", a tool round one dim line;
 *   Ctrl-C cancels the answer and returns to the prompt.
 *
 * Either way, what came from the network is stripped of terminal controls
 * when it goes to a terminal, unless --raw (termout.h).
 *
 * Signals: SIGINT is blocked while a turn runs and let through only inside
 * ppoll(), so the flag is never missed between a check and a wait.
 */
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "chatmsg.h"
#include "jsonutil.h"
#include "limits.h"
#include "utf8.h"
#include "xmalloc.h"

volatile sig_atomic_t ctl_chat_sigint;

static void on_sigint(int sig)
{
	(void)sig;
	ctl_chat_sigint++;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- history --- */

static json_object *message_new(const char *role, const char *content)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "role", json_object_new_string(role));
	json_object_object_add(m, "content", json_object_new_string(content));
	return m;
}

static size_t history_bytes(json_object *h)
{
	size_t i, n = json_object_array_length(h), total = 0;

	for (i = 0; i < n; i++) {
		const char *c = ic_json_get_string(json_object_array_get_idx(h, i), "content");

		total += c != NULL ? strlen(c) : 0;
	}
	return total;
}

/*
 * Make room for one more message of `incoming` bytes: drop the oldest
 * messages until the network's limits hold.  Bytes stand in for
 * characters: never fewer than the real count.
 */
static void history_trim(json_object *h, size_t incoming)
{
	while (json_object_array_length(h) > 0 &&
		(json_object_array_length(h) + 1 > IC_MESSAGES_MAX ||
			history_bytes(h) + incoming > IC_TOTAL_CHARS_MAX))
		json_object_array_del_idx(h, 0, 1);
	/* a conversation starts with a question */
	while (json_object_array_length(h) > 0 &&
		strcmp(ic_json_get_string(json_object_array_get_idx(h, 0), "role"), "user") != 0)
		json_object_array_del_idx(h, 0, 1);
}

void chat_forget(struct chat *ch)
{
	json_object_put(ch->history);
	ch->history = json_object_new_array();
}

/* Bytes of the first max_chars code points of s (UTF-8 from the daemon). */
static size_t prefix_chars(const char *s, size_t len, size_t max_chars)
{
	size_t i, chars = 0;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (chars == max_chars)
				return i;
			chars++;
		}
	}
	return len;
}

static void answer_add(struct chat *ch, const char *text, size_t n)
{
	/* The history keeps at most one message's worth; printing has no limit. */
	size_t cap = (size_t)IC_MESSAGE_CHARS_MAX * 4;

	if (ch->answer_len + n > cap)
		n = cap - ch->answer_len;
	if (ch->answer_len + n + 1 > ch->answer_cap) {
		ch->answer_cap = (ch->answer_len + n + 1) * 2;
		ch->answer = xrealloc(ch->answer, ch->answer_cap);
	}
	memcpy(ch->answer + ch->answer_len, text, n);
	ch->answer_len += n;
	ch->answer[ch->answer_len] = '\0';
}

/* --- printing what streams in: plain --- */

/*
 * fputs() of network text, stripped when f is a terminal (and no --raw).
 * false if the write failed; *last (may be NULL) becomes the last byte
 * written, if any.
 */
static bool put_net(FILE *f, bool strip, const char *text, int *last)
{
	size_t n = strlen(text);
	char *copy = NULL;
	bool ok;

	if (strip) {
		copy = xstrdup(text);
		n = ctl_strip_controls(copy);
		text = copy;
	}
	ok = fwrite(text, 1, n, f) == n;
	if (n > 0 && last != NULL)
		*last = (unsigned char)text[n - 1];
	free(copy);
	return ok;
}

static void end_thinking(struct chat *ch)
{
	if (!ch->in_thinking)
		return;
	fputs(ch->dim ? "\033[0m\n" : "\n", stderr);
	ch->in_thinking = false;
}

static void plain_content(struct chat *ch, const char *text)
{
	end_thinking(ch);
	/* A reader that went away (`| head`): stop the answer, see stream_turn. */
	if (!put_net(stdout, ch->strip_out, text, &ch->last_out) || fflush(stdout) != 0)
		ch->output_failed = true;
}

static void plain_thinking(struct chat *ch, const char *text)
{
	if (!ch->in_thinking && ch->dim)
		fputs("\033[2m", stderr);
	ch->in_thinking = true;
	put_net(stderr, ch->strip_err, text, NULL);
}

static void plain_tool(struct chat *ch, const struct ctl_message *m)
{
	const char *name = ic_json_get_string(m->root, CTL_E_NAME);
	const char *st = ic_json_get_string(m->root, CTL_E_TOOL_STATUS);
	const char *reason = ic_json_get_string(m->root, CTL_E_TOOL_REASON);

	end_thinking(ch);
	ctl_fprintf_strip(
		stderr, ch->strip_err, "[%s: %s", name != NULL ? name : "?", st != NULL ? st : "?");
	if (reason != NULL)
		ctl_fprintf_strip(stderr, ch->strip_err, ": %s]\n", reason);
	else
		fputs("]\n", stderr);
}

/* --- printing what streams in: on a terminal --- */

/* Thinking or a tool line is on the screen: end it before the answer. */
static void fancy_settle(struct chat *ch)
{
	struct termout *t = &ch->term;

	if (ch->tool_open) {
		termout_endline(t);
		ch->tool_open = false;
	}
	if (ch->in_thinking) {
		termout_endline(t);
		if (!ch->hide_thinking) {
			termout_dim(t, true);
			termout_puts(t, "...done thinking.\n\n");
		}
		ch->in_thinking = false;
	}
	termout_dim(t, false);
}

/* What is on the screen ends here: the terminal's line settled and
 * flushed, or plain output's thinking closed. */
static void finish_output(struct chat *ch)
{
	if (ch->fancy) {
		fancy_settle(ch);
		termout_endline(&ch->term);
		termout_flush(&ch->term);
	} else {
		end_thinking(ch);
	}
}

static void fancy_content(struct chat *ch, const char *text)
{
	fancy_settle(ch);
	termout_puts(&ch->term, text);
	if (!termout_flush(&ch->term))
		ch->output_failed = true;
}

static void fancy_thinking(struct chat *ch, const char *text)
{
	struct termout *t = &ch->term;

	if (ch->hide_thinking) {
		ch->in_thinking = true;
		return;
	}
	if (ch->tool_open) {
		termout_endline(t);
		ch->tool_open = false;
	}
	termout_dim(t, true);
	if (!ch->in_thinking) {
		termout_endline(t);
		termout_puts(t, "Thinking...\n");
		ch->in_thinking = true;
	}
	termout_puts(t, text);
	termout_flush(t);
}

/* "searching the web" for the network's one tool; others by name. */
static void tool_label(struct chat *ch, const char *name)
{
	char cut[48];

	if (name != NULL && strcmp(name, "web_search") == 0) {
		snprintf(ch->tool_label, sizeof(ch->tool_label), "searching the web");
		return;
	}
	name = name != NULL && name[0] != '\0' ? name : "?";
	snprintf(cut, sizeof(cut), "%.*s",
		(int)ic_utf8_prefix_bytes(name, strlen(name), sizeof(cut) - 1), name);
	snprintf(ch->tool_label, sizeof(ch->tool_label), "tool %s", cut);
}

/*
 * A tool round is one dim line: "[searching the web: …]" while it runs,
 * rewritten in place to "[searching the web: done]" (or the error) when
 * it ends.
 */
static void fancy_tool(struct chat *ch, const struct ctl_message *m)
{
	const char *st = ic_json_get_string(m->root, CTL_E_TOOL_STATUS);
	const char *reason = ic_json_get_string(m->root, CTL_E_TOOL_REASON);
	struct termout *t = &ch->term;
	bool running = st != NULL && strcmp(st, "executing") == 0;

	if (ch->tool_open && !running)
		termout_rewrite_line(t);
	else
		termout_endline(t);
	tool_label(ch, ic_json_get_string(m->root, CTL_E_NAME));
	termout_dim(t, true);
	termout_puts(t, "[");
	termout_puts(t, ch->tool_label);
	termout_puts(t, ": ");
	if (running) {
		termout_puts(t, "…]");
	} else {
		termout_puts(t, st != NULL && st[0] != '\0' ? st : "?");
		if (reason != NULL) {
			termout_puts(t, ": ");
			termout_puts(t, reason);
		}
		termout_puts(t, "]\n");
	}
	ch->tool_open = running;
	termout_dim(t, ch->in_thinking && !ch->hide_thinking);
	termout_flush(t);
}

/* --- events --- */

static void on_text(struct chat *ch, enum ctl_event ev, const char *text)
{
	long long now = now_ms();

	if (text[0] == '\0')
		return;
	if (ch->t_first == 0)
		ch->t_first = now;
	if (ev == CTL_EV_THINKING) {
		if (ch->fancy)
			fancy_thinking(ch, text);
		else
			plain_thinking(ch, text);
		return;
	}
	if (ch->t_content == 0)
		ch->t_content = now;
	ch->content_deltas++;
	if (ch->fancy)
		fancy_content(ch, text);
	else
		plain_content(ch, text);
	answer_add(ch, text, strlen(text));
}

static void on_event(struct chat *ch, const struct ctl_message *m)
{
	const char *text = ic_json_get_string(m->root, CTL_E_TEXT);
	const char *s;

	switch (m->event) {
	case CTL_EV_CONTENT:
	case CTL_EV_THINKING:
		if (text != NULL)
			on_text(ch, m->event, text);
		break;
	case CTL_EV_TOOL:
		if (ch->fancy)
			fancy_tool(ch, m);
		else
			plain_tool(ch, m);
		break;
	case CTL_EV_ERROR:
		finish_output(ch);
		ctl_errorf(ch->ctx, "error from the network: %s",
			m->detail != NULL ? m->detail : "(no detail)");
		break;
	case CTL_EV_DONE:
		s = ic_json_get_string(m->root, CTL_E_FINISH_REASON);
		snprintf(ch->finish_reason, sizeof(ch->finish_reason), "%s", s ? s : "");
		break;
	default:
		break; /* an event of a newer daemon */
	}
}

/* The answer is over: finish the line and say why it stopped if unusual. */
static void end_answer(struct chat *ch)
{
	finish_output(ch);
	if (!ch->fancy) {
		if (ch->last_out >= 0 && ch->last_out != '\n')
			putchar('\n');
		fflush(stdout);
	}
	if (ch->finish_reason[0] != '\0' && strcmp(ch->finish_reason, "stop") != 0)
		ctl_fprintf_strip(stderr, ch->strip_err, "[finished: %s]\n", ch->finish_reason);
}

/* /set verbose: what the network lets us measure (it sends no token
 * counts: a content delta is about one token). */
static void print_stats(struct chat *ch, long long t_end)
{
	double total = (double)(t_end - ch->t_sent) / 1000.0;
	double span = ch->t_content > 0 ? (double)(t_end - ch->t_content) / 1000.0 : 0;

	fprintf(stderr, "time to first token:  ");
	if (ch->t_first > 0)
		fprintf(stderr, "%.3fs\n", (double)(ch->t_first - ch->t_sent) / 1000.0);
	else
		fprintf(stderr, "(none)\n");
	fprintf(stderr, "total duration:       %.3fs\n", total);
	fprintf(stderr,
		"content deltas:       %ld (estimated tokens: the network sends no "
		"token counts)\n",
		ch->content_deltas);
	if (span > 0)
		fprintf(stderr, "delta rate:           %.2f/s (estimated tokens/s)\n",
			(double)ch->content_deltas / span);
	else
		fprintf(stderr, "delta rate:           (not measurable)\n");
}

/* --- one turn --- */

/*
 * The messages to send: the history, with the system text in front of the
 * first question (the network's chat API has no system role).  NEW array.
 */
static json_object *messages_new(struct chat *ch)
{
	return ic_messages_with_system_new(ch->history, ch->system);
}

static json_object *chat_args_new(struct chat *ch)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, CTL_A_MODEL, json_object_new_string(ch->model));
	json_object_object_add(args, CTL_A_MESSAGES, messages_new(ch));
	if (ch->think)
		json_object_object_add(args, CTL_A_THINK, json_object_new_boolean(true));
	return args;
}

/*
 * Ctrl-C or a closed stdout: cancel the chat and wait briefly for its
 * reply.  The connection stays usable unless it broke: a late event of
 * the cancelled chat carries its id and is skipped by the next turn.
 */
static void cancel_turn(struct chat *ch, const char *chat_id, const sigset_t *waitmask)
{
	char err[IC_ERRBUF_MAX], cancel_id[CTL_ID_MAX + 1];
	json_object *args = json_object_new_object(), *req;
	struct ctl_message m;
	enum ctl_recv r = CTL_RECV_OK;

	end_answer(ch);
	snprintf(cancel_id, sizeof(cancel_id), "%s", ctl_client_next_id(ch->client));
	json_object_object_add(args, CTL_A_TARGET, json_object_new_string(chat_id));
	req = ctl_request_new(cancel_id, CTL_CMD_CANCEL, args);
	ctl_chat_sigint = 0; /* a second Ctrl-C stops the waiting below */
	if (ctl_client_send(ch->client, req, CTL_CANCEL_WAIT_MS, err, sizeof(err)) < 0) {
		ch->conn_lost = true;
	} else {
		while ((r = ctl_client_recv(ch->client, &m, CTL_CANCEL_WAIT_MS, waitmask,
				&ctl_chat_sigint, err, sizeof(err))) == CTL_RECV_OK) {
			bool end = m.kind == CTL_MSG_REPLY && m.id != NULL &&
				strcmp(m.id, chat_id) == 0;

			ctl_message_clear(&m);
			if (end)
				break;
		}
		if (r == CTL_RECV_EOF || r == CTL_RECV_ERROR || r == CTL_RECV_BAD)
			ch->conn_lost = true;
	}
	ctl_chat_sigint = 0;
	json_object_put(req);
}

/* Read events and the reply of chat_id.  Returns the exit code. */
static int stream_turn(struct chat *ch, const char *chat_id, const sigset_t *waitmask)
{
	int timeout = ch->ctx->timeout_set ? ch->ctx->timeout_ms : CTL_CHAT_IDLE_TIMEOUT_S * 1000;
	char err[IC_ERRBUF_MAX];
	struct ctl_message m;
	int code;

	for (;;) {
		enum ctl_recv r = ctl_client_recv(
			ch->client, &m, timeout, waitmask, &ctl_chat_sigint, err, sizeof(err));

		if (r == CTL_RECV_INTERRUPTED) {
			cancel_turn(ch, chat_id, waitmask);
			return CTL_EXIT_INTERRUPTED;
		}
		if (r != CTL_RECV_OK) {
			end_answer(ch);
			ch->conn_lost = true;
			return ctl_report_recv(ch->ctx, r, err);
		}
		if (ch->ctx->json)
			puts(json_object_to_json_string_ext(m.root, IC_JSON_WIRE));
		if (m.kind == CTL_MSG_EVENT && m.id != NULL && strcmp(m.id, chat_id) == 0) {
			if (!ch->ctx->json)
				on_event(ch, &m);
			ctl_message_clear(&m);
			if (ch->output_failed) {
				cancel_turn(ch, chat_id, waitmask);
				ch->conn_lost = true;
				ctl_errorf(ch->ctx,
					"cannot write the answer to standard "
					"output; chat cancelled.");
				return CTL_EXIT_FAILED;
			}
			continue;
		}
		if (m.kind == CTL_MSG_REPLY && (m.id == NULL || strcmp(m.id, chat_id) == 0))
			break;
		ctl_message_clear(&m);
	}
	end_answer(ch);
	code = ctl_report(ch->ctx, ch->self, &m);
	ctl_message_clear(&m);
	if (code == 0 && ch->verbose)
		print_stats(ch, now_ms());
	return code;
}

static void turn_reset(struct chat *ch)
{
	ch->answer_len = 0;
	ch->last_out = -1;
	ch->in_thinking = false;
	ch->tool_open = false;
	ch->finish_reason[0] = '\0';
	ch->t_sent = now_ms();
	ch->t_first = ch->t_content = 0;
	ch->content_deltas = 0;
	termout_init(&ch->term, stdout, ch->strip_out, ch->wordwrap, ch->color);
	ctl_chat_sigint = 0;
}

int chat_turn(struct chat *ch, const char *text)
{
	char err[IC_ERRBUF_MAX], id[CTL_ID_MAX + 1];
	sigset_t block, waitmask;
	json_object *req;
	int code;

	history_trim(ch->history,
		strlen(text) +
			(ch->system != NULL ? strlen(ch->system) + strlen(IC_SYSTEM_SEP) : 0));
	json_object_array_add(ch->history, message_new("user", text));
	turn_reset(ch);

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	snprintf(id, sizeof(id), "%s", ctl_client_next_id(ch->client));
	req = ctl_request_new(id, CTL_CMD_CHAT, chat_args_new(ch));
	if (ctl_client_send(ch->client, req, ch->ctx->timeout_ms, err, sizeof(err)) < 0) {
		ctl_errorf(ch->ctx, "%s.", err);
		ch->conn_lost = true;
		code = CTL_EXIT_FAILED;
	} else {
		code = stream_turn(ch, id, &waitmask);
	}
	json_object_put(req);
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	if (code == 0 && ch->answer_len > 0) {
		size_t n = prefix_chars(ch->answer, ch->answer_len, IC_MESSAGE_CHARS_MAX);

		ch->answer[n] = '\0';
		json_object_array_add(ch->history, message_new("assistant", ch->answer));
	} else if (code != 0) {
		/* the question was not answered: do not keep it */
		json_object_array_del_idx(
			ch->history, json_object_array_length(ch->history) - 1, 1);
	}
	return code;
}

int chat_request(struct chat *ch, const char *cmd, json_object *args, struct ctl_message *reply)
{
	char err[IC_ERRBUF_MAX], id[CTL_ID_MAX + 1];
	sigset_t block, waitmask;
	json_object *req;
	enum ctl_recv r = CTL_RECV_OK;

	snprintf(id, sizeof(id), "%s", ctl_client_next_id(ch->client));
	req = ctl_request_new(id, cmd, args);
	ctl_chat_sigint = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	if (ctl_client_send(ch->client, req, ch->ctx->timeout_ms, err, sizeof(err)) < 0) {
		r = CTL_RECV_ERROR;
		ch->conn_lost = true;
	} else {
		while ((r = ctl_client_recv(ch->client, reply, ch->ctx->timeout_ms, &waitmask,
				&ctl_chat_sigint, err, sizeof(err))) == CTL_RECV_OK) {
			if (reply->kind == CTL_MSG_REPLY &&
				(reply->id == NULL || strcmp(reply->id, id) == 0))
				break;
			ctl_message_clear(reply);
		}
		if (r == CTL_RECV_EOF || r == CTL_RECV_ERROR || r == CTL_RECV_BAD)
			ch->conn_lost = true;
	}
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	ctl_chat_sigint = 0;
	json_object_put(req);
	if (r == CTL_RECV_OK)
		return 0;
	if (r == CTL_RECV_INTERRUPTED) {
		fputc('\n', stdout);
		return CTL_EXIT_INTERRUPTED;
	}
	return ctl_report_recv(ch->ctx, r, err);
}

/* --- where the message comes from --- */

/* All of stdin into a NEW string; NULL (and a message) if too long. */
static char *read_stdin_new(struct chat *ch)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	size_t n;

	while ((n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += n;
		if (len > (size_t)CTL_STDIN_MAX) {
			ctl_errorf(ch->ctx,
				"chat: the message on stdin is longer than %d bytes "
				"(a message may have %d characters).",
				CTL_STDIN_MAX, IC_MESSAGE_CHARS_MAX);
			free(buf);
			return NULL;
		}
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return buf;
}

static char *join_words_new(int argc, char **argv)
{
	size_t len = 0;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = xmalloc(len + 1);
	s[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/*
 * Wait for a line on the terminal, or Ctrl-C.  SIGINT is blocked except
 * inside ppoll(), as during a turn: a Ctrl-C that lands between printing the
 * prompt and reading would otherwise leave getline() blocked for good.
 * true when input (or EOF, or an error for getline() to report) is there.
 */
static bool wait_for_input(void)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	sigset_t block, waitmask;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	while (!ctl_chat_sigint && ppoll(&p, 1, NULL, &waitmask) < 0 && errno == EINTR)
		;
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	return !ctl_chat_sigint;
}

/* A conversation with stdin a terminal but stdout not: one line a turn. */
static int plain_repl(struct chat *ch)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int code = 0;

	/* Unbuffered: a line stdio read ahead would be invisible to ppoll(). */
	setvbuf(stdin, NULL, _IONBF, 0);
	fprintf(stderr,
		"Chatting with %s through idleclawd.  Ctrl-D or /bye ends; "
		"Ctrl-C stops an answer and quits.\n",
		ch->model);
	for (;;) {
		fputs(">>> ", stdout);
		fflush(stdout);
		if (!wait_for_input()) {
			putchar('\n');
			code = CTL_EXIT_INTERRUPTED;
			break;
		}
		errno = 0;
		n = getline(&line, &cap, stdin);
		if (n < 0) {
			putchar('\n');
			code = (errno == EINTR || ctl_chat_sigint) ? CTL_EXIT_INTERRUPTED
								   : CTL_EXIT_OK;
			break;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (strcmp(line, "/bye") == 0)
			break;
		code = chat_turn(ch, line);
		if (code == CTL_EXIT_INTERRUPTED || ch->conn_lost)
			break;
		code = 0; /* a refused turn does not end the conversation */
	}
	free(line);
	return code;
}

/* --- the command --- */

enum { OPT_MODEL = CTL_OPT_OWN, OPT_THINK, OPT_HIDETHINKING, OPT_SYSTEM };

/* chat's own options (every command also takes --json and --help). */
static const struct ctl_option chat_options[] = {
	{ .name = "model",
		.short_name = 'm',
		.arg = "MODEL",
		.required = true,
		.key = OPT_MODEL,
		.help = "the model to ask ('idleclawctl models' lists them)" },
	{ .name = "think", .key = OPT_THINK, .help = "ask the model to think first" },
	{ .name = "hidethinking",
		.key = OPT_HIDETHINKING,
		.help = "ask it to think, but do not show the thinking" },
	{ .name = "system",
		.arg = "TEXT",
		.key = OPT_SYSTEM,
		.help = "put TEXT before the first question" },
	{ .name = "raw",
		.key = CTL_OPT_RAW,
		.help = "network text to a terminal as it came (escapes\nand all)" },
	{ 0 },
};

struct chat_opts {
	struct chat *ch;
	const char *model, *system;
};

static int chat_option(void *arg, const struct ctl_option *o, const char *value)
{
	struct chat_opts *p = arg;

	switch (o->key) {
	case OPT_MODEL:
		p->model = value;
		break;
	case OPT_THINK:
		p->ch->think = true;
		break;
	case OPT_HIDETHINKING:
		/* as Ollama's: the model still thinks, we do not show it */
		p->ch->think = true;
		p->ch->hide_thinking = true;
		break;
	case OPT_SYSTEM:
		p->system = value;
		break;
	}
	return -1;
}

static int parse_options(struct chat *ch, int argc, char **argv, int *first)
{
	struct chat_opts p = { .ch = ch };
	const char *model, *system;
	int code = ctl_cmd_options(ch->ctx, ch->self, argc, argv, chat_option, &p, first);

	if (code >= 0)
		return code;
	model = p.model;
	system = p.system;
	if (model == NULL || model[0] == '\0') {
		ctl_errorf(ch->ctx, "chat: which model?  Give -m MODEL ('%s models' lists them).",
			ch->ctx->progname);
		return ctl_usage(ch->ctx, ch->self);
	}
	if (system != NULL && system[0] == '\0') {
		ctl_errorf(ch->ctx, "chat: --system needs a non-empty TEXT.");
		return ctl_usage(ch->ctx, ch->self);
	}
	ch->model = xstrdup(model);
	ch->system = system != NULL ? xstrdup(system) : NULL;
	return -1;
}

/* How to print: the terminal's way needs stdin and stdout on one. */
static void choose_output(struct chat *ch)
{
	bool no_color = getenv("NO_COLOR") != NULL;

	ch->fancy = !ch->ctx->json && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	ch->wordwrap = true;
	ch->color = ch->fancy && !no_color;
	ch->dim = isatty(STDERR_FILENO) && !no_color;
	ch->strip_out = ctl_strip_for(ch->ctx, stdout);
	ch->strip_err = ctl_strip_for(ch->ctx, stderr);
	/* readline and the width of what we print need the characters */
	if (ch->fancy)
		setlocale(LC_CTYPE, "");
}

static void chat_free(struct chat *ch)
{
	free(ch->answer);
	free(ch->model);
	free(ch->system);
	json_object_put(ch->history);
	ctl_client_free(ch->client);
}

static int chat_exec(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv)
{
	struct chat ch = { .ctx = ctx, .self = self, .last_out = -1 };
	struct sigaction sa;
	char *text = NULL;
	int first = 0, code;

	code = parse_options(&ch, argc, argv, &first);
	if (code >= 0) {
		chat_free(&ch);
		return code;
	}
	if (first < argc) {
		text = join_words_new(argc - first, argv + first);
	} else if (!isatty(STDIN_FILENO)) {
		text = read_stdin_new(&ch);
		if (text == NULL || text[0] == '\0') {
			if (text != NULL)
				ctl_errorf(ctx, "chat: nothing to send (stdin was empty).");
			free(text);
			chat_free(&ch);
			return CTL_EXIT_USAGE;
		}
	}
	choose_output(&ch);
	ch.client = ctl_open(ctx, &code);
	if (ch.client == NULL) {
		free(text);
		chat_free(&ch);
		return code;
	}
	/* no SA_RESTART: Ctrl-C at the prompt must end getline() */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);

	ch.history = json_object_new_array();
	if (text != NULL)
		code = chat_turn(&ch, text);
	else if (ch.fancy)
		code = chat_repl(&ch);
	else
		code = plain_repl(&ch);
	free(text);
	chat_free(&ch);
	return code;
}

const struct ctl_cmd_entry cmd_chat_entry = {
	.name = "chat",
	.proto = CTL_CMD_CHAT,
	.options = chat_options,
	.operands = "[MESSAGE...]",
	.summary = "ask a model on the network; no MESSAGE: read stdin, or talk (terminal)",
	.exec = chat_exec,
};
