/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd-chat.c - `idleclawctl chat -m MODEL [--think] [--system TEXT]
 * [MESSAGE...]`: send a chat into the IdleClaw network through idleclawd
 * and print the answer as it streams in.
 *
 * The message comes from the operands, else from stdin; on a terminal with
 * no operands it is a conversation (one line a turn, history kept within
 * the network's limits).  Content goes to stdout; thinking, tool progress
 * and errors to stderr (thinking dimmed on a terminal).  Ctrl-C while an
 * answer streams sends `cancel` for it and exits 130.
 *
 * Signals: SIGINT is blocked while a turn runs and let through only inside
 * ppoll(), so the flag is never missed between a check and a wait.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatmsg.h"
#include "ctl.h"
#include "jsonutil.h"
#include "limits.h"
#include "xmalloc.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted++;
}

struct chat {
	struct ctl_ctx *ctx;
	const struct ctl_cmd_entry *self;
	struct ctl_client *client;
	const char *model;
	const char *system;
	bool think;
	bool dim;	      /* stderr is a terminal: dim the thinking */
	bool conn_lost;	      /* the connection broke: no more turns */
	bool output_failed;   /* stdout cannot be written (closed pipe) */
	json_object *history; /* the conversation so far, user and assistant
				 * messages (owned); --system is added on sending */
	/* the answer being streamed */
	char *answer;
	size_t answer_len;
	size_t answer_cap;
	int last_out;	  /* last byte written to stdout, or -1 */
	bool in_thinking; /* stderr has an unfinished line of thinking */
	char finish_reason[32];
};

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

/* --- printing what streams in --- */

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

static void end_thinking(struct chat *ch)
{
	if (!ch->in_thinking)
		return;
	fputs(ch->dim ? "\033[0m\n" : "\n", stderr);
	ch->in_thinking = false;
}

static void on_content(struct chat *ch, const char *text)
{
	size_t n = strlen(text);

	if (n == 0)
		return;
	end_thinking(ch);
	/* A reader that went away (`| head`): stop the answer, see stream_turn. */
	if (fwrite(text, 1, n, stdout) != n || fflush(stdout) != 0)
		ch->output_failed = true;
	ch->last_out = (unsigned char)text[n - 1];
	answer_add(ch, text, n);
}

static void on_thinking(struct chat *ch, const char *text)
{
	if (text[0] == '\0')
		return;
	if (!ch->in_thinking && ch->dim)
		fputs("\033[2m", stderr);
	ch->in_thinking = true;
	fputs(text, stderr);
}

static void on_event(struct chat *ch, const struct ctl_message *m)
{
	const char *text = ic_json_get_string(m->root, CTL_E_TEXT);
	const char *s;

	switch (m->event) {
	case CTL_EV_CONTENT:
		if (text != NULL)
			on_content(ch, text);
		break;
	case CTL_EV_THINKING:
		if (text != NULL)
			on_thinking(ch, text);
		break;
	case CTL_EV_TOOL:
		end_thinking(ch);
		s = ic_json_get_string(m->root, CTL_E_NAME);
		fprintf(stderr, "[%s: ", s != NULL ? s : "?");
		s = ic_json_get_string(m->root, CTL_E_TOOL_STATUS);
		fprintf(stderr, "%s", s != NULL ? s : "?");
		s = ic_json_get_string(m->root, CTL_E_TOOL_REASON);
		fprintf(stderr, s != NULL ? ": %s]\n" : "]\n", s != NULL ? s : "");
		break;
	case CTL_EV_ERROR:
		end_thinking(ch);
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
	end_thinking(ch);
	if (ch->last_out >= 0 && ch->last_out != '\n')
		putchar('\n');
	fflush(stdout);
	if (ch->finish_reason[0] != '\0' && strcmp(ch->finish_reason, "stop") != 0)
		fprintf(stderr, "[finished: %s]\n", ch->finish_reason);
}

/* --- one turn --- */

/*
 * The messages to send: the history, with --system's text in front of the
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

/* Ctrl-C or a closed stdout: cancel the chat and wait briefly for it to end. */
static void cancel_turn(struct chat *ch, const char *chat_id, const sigset_t *waitmask)
{
	char err[IC_ERRBUF_MAX], cancel_id[CTL_ID_MAX + 1];
	json_object *args = json_object_new_object(), *req;
	struct ctl_message m;

	end_answer(ch);
	snprintf(cancel_id, sizeof(cancel_id), "%s", ctl_client_next_id(ch->client));
	json_object_object_add(args, CTL_A_TARGET, json_object_new_string(chat_id));
	req = ctl_request_new(cancel_id, CTL_CMD_CANCEL, args);
	interrupted = 0; /* a second Ctrl-C stops the waiting below */
	if (ctl_client_send(ch->client, req, CTL_CANCEL_WAIT_MS, err, sizeof(err)) == 0) {
		while (ctl_client_recv(ch->client, &m, CTL_CANCEL_WAIT_MS, waitmask, &interrupted,
			       err, sizeof(err)) == CTL_RECV_OK) {
			bool end = m.kind == CTL_MSG_REPLY && m.id != NULL &&
				strcmp(m.id, chat_id) == 0;

			ctl_message_clear(&m);
			if (end)
				break;
		}
	}
	json_object_put(req);
	ch->conn_lost = true;
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
			ch->client, &m, timeout, waitmask, &interrupted, err, sizeof(err));

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
	return code;
}

static int run_turn(struct chat *ch, const char *text)
{
	char err[IC_ERRBUF_MAX], id[CTL_ID_MAX + 1];
	sigset_t block, waitmask;
	json_object *req;
	int code;

	history_trim(ch->history,
		strlen(text) +
			(ch->system != NULL ? strlen(ch->system) + strlen(IC_SYSTEM_SEP) : 0));
	json_object_array_add(ch->history, message_new("user", text));
	ch->answer_len = 0;
	ch->last_out = -1;
	ch->finish_reason[0] = '\0';
	interrupted = 0;

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
	while (!interrupted && ppoll(&p, 1, NULL, &waitmask) < 0 && errno == EINTR)
		;
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	return !interrupted;
}

/* A conversation on a terminal: one line a turn. */
static int repl(struct chat *ch)
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
			code = (errno == EINTR || interrupted) ? CTL_EXIT_INTERRUPTED : CTL_EXIT_OK;
			break;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (strcmp(line, "/bye") == 0)
			break;
		code = run_turn(ch, line);
		if (code == CTL_EXIT_INTERRUPTED || ch->conn_lost)
			break;
		code = 0; /* a refused turn does not end the conversation */
	}
	free(line);
	return code;
}

/* --- the command --- */

static int parse_options(struct chat *ch, int argc, char **argv, int *first)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "think", no_argument, NULL, 'T' },
		{ "system", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+m:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			ch->model = optarg;
			break;
		case 'T':
			ch->think = true;
			break;
		case 'S':
			ch->system = optarg;
			break;
		case 'j':
			ch->ctx->json = true;
			break;
		case 'h':
			ctl_print_cmd_help(ch->ctx, ch->self);
			return CTL_EXIT_OK;
		default:
			ctl_errorf(ch->ctx, "chat: unknown option or missing value: '%s'.",
				argv[optind - 1]);
			return ctl_usage(ch->ctx, ch->self);
		}
	}
	if (ch->model == NULL || ch->model[0] == '\0') {
		ctl_errorf(ch->ctx, "chat: which model?  Give -m MODEL ('%s models' lists them).",
			ch->ctx->progname);
		return ctl_usage(ch->ctx, ch->self);
	}
	if (ch->system != NULL && ch->system[0] == '\0') {
		ctl_errorf(ch->ctx, "chat: --system needs a non-empty TEXT.");
		return ctl_usage(ch->ctx, ch->self);
	}
	*first = optind;
	return -1;
}

static int chat_exec(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv)
{
	struct chat ch = { .ctx = ctx, .self = self, .last_out = -1 };
	struct sigaction sa;
	char *text = NULL;
	int first = 0, code;

	code = parse_options(&ch, argc, argv, &first);
	if (code >= 0)
		return code;
	if (first < argc) {
		text = join_words_new(argc - first, argv + first);
	} else if (!isatty(STDIN_FILENO)) {
		text = read_stdin_new(&ch);
		if (text == NULL)
			return CTL_EXIT_USAGE;
		if (text[0] == '\0') {
			free(text);
			ctl_errorf(ctx, "chat: nothing to send (stdin was empty).");
			return CTL_EXIT_USAGE;
		}
	}
	ch.dim = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL;
	ch.client = ctl_open(ctx, &code);
	if (ch.client == NULL) {
		free(text);
		return code;
	}
	/* no SA_RESTART: Ctrl-C at the prompt must end getline() */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);

	ch.history = json_object_new_array();
	code = text != NULL ? run_turn(&ch, text) : repl(&ch);
	free(text);
	free(ch.answer);
	json_object_put(ch.history);
	ctl_client_free(ch.client);
	return code;
}

const struct ctl_cmd_entry cmd_chat_entry = {
	.name = "chat",
	.proto = CTL_CMD_CHAT,
	.usage = "-m MODEL [--think] [--system TEXT] [MESSAGE...]",
	.options = "--model --think --system",
	.summary = "ask a model on the network; no MESSAGE: read stdin, or talk (terminal)",
	.exec = chat_exec,
};
