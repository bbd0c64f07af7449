/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * repl.c - `idleclawctl chat` on a terminal: a conversation as `ollama run`
 * has it.  GNU readline edits the line (arrows, Ctrl-A/E/K/U/W, Ctrl-L,
 * Ctrl-R, bracketed paste); the history lives in memory for the session
 * only.  Lines starting with '/' are commands (the table below), `"""`
 * starts and ends a message of several lines, Ctrl-C drops the line being
 * typed (twice at an empty prompt: leave), Ctrl-D leaves.
 *
 * readline's callback interface, so that the wait for a key is our
 * ppoll() with SIGINT and SIGWINCH let through only there, as a turn's
 * wait for the daemon lets SIGINT through only in its ppoll() (chat.h):
 * a signal is never missed between a check and a wait.  While an answer
 * streams the terminal is in its normal mode without echo, so Ctrl-C is a
 * signal and what is typed ahead waits, unseen, for the next prompt.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "chat.h"
#include "jsonutil.h"
#include "validate.h"
#include "xmalloc.h"

/* Lines of history kept (in memory only, never written anywhere). */
#define REPL_HISTORY_MAX 1000
#define REPL_PROMPT ">>> "
#define REPL_PROMPT_MORE "... "
#define REPL_QUOTES "\"\"\""

struct repl {
	struct chat *ch;
	char *line;	/* what readline's handler got (NEW), NULL at EOF */
	bool have_line; /* the handler ran */
	char *multi;	/* a """ message so far (NEW), or NULL */
	bool armed;	/* the last key was Ctrl-C at an empty prompt */
	bool quit;	/* /bye */
};

/* readline's line handler has no context argument. */
static struct repl *the_repl;
static volatile sig_atomic_t got_winch;

static void on_winch(int sig)
{
	(void)sig;
	got_winch = 1;
}

/* --- reading a line --- */

enum read_result { READ_LINE, READ_EOF, READ_INTERRUPT };

static void on_line(char *line)
{
	the_repl->line = line;
	the_repl->have_line = true;
	/* no new prompt until the line has been dealt with */
	rl_callback_handler_remove();
}

/* Ctrl-C at the prompt: drop what was typed, show ^C, end the line. */
static void drop_line(void)
{
	rl_callback_sigcleanup();
	rl_free_line_state();
	rl_point = rl_end;
	rl_redisplay();
	rl_echo_signal_char(SIGINT);
	rl_replace_line("", 0);
	rl_callback_handler_remove();
	fputc('\n', stdout);
	fflush(stdout);
}

/*
 * One line with prompt.  READ_LINE: *line is NEW (free it); READ_EOF:
 * Ctrl-D on an empty line or the terminal went away; READ_INTERRUPT:
 * Ctrl-C, with *was_empty whether nothing had been typed.
 */
static enum read_result read_line(struct repl *r, const char *prompt, char **line, bool *was_empty)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	sigset_t block, waitmask;
	enum read_result res;

	r->line = NULL;
	r->have_line = false;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGWINCH);
	ctl_chat_sigint = 0;
	rl_callback_handler_install(prompt, on_line);
	for (;;) {
		if (ctl_chat_sigint) {
			*was_empty = rl_end == 0;
			drop_line();
			res = READ_INTERRUPT;
			break;
		}
		if (got_winch) {
			got_winch = 0;
			rl_resize_terminal();
		}
		if (ppoll(&p, 1, NULL, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			rl_callback_handler_remove();
			res = READ_EOF;
			break;
		}
		if ((p.revents & POLLIN) == 0 && (p.revents & (POLLHUP | POLLERR)) != 0) {
			rl_callback_handler_remove(); /* the terminal went away */
			res = READ_EOF;
			break;
		}
		if (p.revents == 0)
			continue;
		rl_callback_read_char();
		if (r->have_line) {
			res = r->line != NULL ? READ_LINE : READ_EOF;
			break;
		}
	}
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	ctl_chat_sigint = 0;
	*line = r->line;
	return res;
}

static void remember(const char *line)
{
	HIST_ENTRY *last =
		history_length > 0 ? history_get(history_base + history_length - 1) : NULL;

	if (line[0] != '\0' && (last == NULL || strcmp(last->line, line) != 0))
		add_history(line);
}

/* --- a turn --- */

/* The answer streams with the terminal's echo off: keys typed ahead stay
 * queued for the next prompt, where readline shows them. */
static void ask(struct repl *r, const char *text)
{
	struct termios saved, quiet;
	bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
	int code;

	if (restore) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	code = chat_turn(r->ch, text);
	if (restore)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	(void)code; /* printed already; a refused turn does not end the talk */
	fputc('\n', stdout);
	fflush(stdout);
}

/* Without newlines at its ends; NULL if nothing is left.  NEW. */
static char *trimmed_new(const char *s)
{
	size_t n;

	while (*s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '\n')
		n--;
	return n > 0 ? xstrndup(s, n) : NULL;
}

static void send_text(struct repl *r, const char *text)
{
	char *t = trimmed_new(text);

	if (t != NULL)
		ask(r, t);
	free(t);
}

/* --- commands --- */

struct repl_cmd {
	const char *name;
	const char *usage; /* shown after the name in /? */
	const char *help;
	void (*run)(struct repl *r, char *args);
};

static const struct repl_cmd repl_cmds[];

/* The next word of *s (NUL-terminated in place), or NULL. */
static char *next_word(char **s)
{
	char *w = *s + strspn(*s, " \t"), *end;

	if (*w == '\0')
		return NULL;
	end = w + strcspn(w, " \t");
	if (*end != '\0')
		*end++ = '\0';
	*s = end;
	return w;
}

static void help_commands(void)
{
	const struct repl_cmd *c;

	printf("Available Commands:\n");
	for (c = repl_cmds; c->name != NULL; c++) {
		char head[32];

		if (c->help == NULL)
			continue;
		snprintf(head, sizeof(head), "%s%s%s", c->name, c->usage[0] ? " " : "", c->usage);
		printf("  %-15s %s\n", head, c->help);
	}
	printf("  %-15s %s\n\n", "/? shortcuts", "Help for keyboard shortcuts");
	printf("Use \"\"\" to begin a multi-line message.\n\n");
}

static void help_shortcuts(void)
{
	printf("Available keyboard shortcuts:\n"
	       "  Ctrl + a            Move to the beginning of the line (Home)\n"
	       "  Ctrl + e            Move to the end of the line (End)\n"
	       "   Alt + b            Move back (left) one word\n"
	       "   Alt + f            Move forward (right) one word\n"
	       "  Ctrl + k            Delete the sentence after the cursor\n"
	       "  Ctrl + u            Delete the sentence before the cursor\n"
	       "  Ctrl + w            Delete the word before the cursor\n"
	       "  Up, Down            Earlier and later lines (this session only)\n"
	       "  Ctrl + r            Search the earlier lines\n"
	       "\n"
	       "  Ctrl + l            Clear the screen\n"
	       "  Ctrl + c            Stop the model from responding\n"
	       "  Ctrl + d            Exit (/bye)\n"
	       "  Ctrl + c, Ctrl + c  Exit, at an empty prompt\n\n");
}

static void help_set(void)
{
	printf("Available Commands:\n"
	       "  /set system <string>   Set system message\n"
	       "  /set wordwrap          Enable wordwrap\n"
	       "  /set nowordwrap        Disable wordwrap\n"
	       "  /set verbose           Show timings and an estimate of tokens\n"
	       "  /set quiet             Disable timings\n"
	       "  /set think             Enable thinking\n"
	       "  /set nothink           Disable thinking\n\n");
}

static void help_show(void)
{
	printf("Available Commands:\n"
	       "  /show info         Show details for this model\n"
	       "  /show system       Show system message\n\n");
}

static void unknown(const char *what)
{
	printf("Unknown command '%s'. Type /? for help\n", what);
}

static void cmd_help(struct repl *r, char *args)
{
	char *w = next_word(&args);

	(void)r;
	if (w == NULL)
		help_commands();
	else if (strcmp(w, "shortcuts") == 0 || strcmp(w, "shortcut") == 0)
		help_shortcuts();
	else if (strcmp(w, "set") == 0 || strcmp(w, "/set") == 0)
		help_set();
	else if (strcmp(w, "show") == 0 || strcmp(w, "/show") == 0)
		help_show();
	else
		help_commands();
}

static void cmd_bye(struct repl *r, char *args)
{
	(void)args;
	r->quit = true;
}

static void cmd_clear(struct repl *r, char *args)
{
	(void)args;
	chat_forget(r->ch);
	printf("Cleared session context\n");
}

/* /set's switches: name, the flag, its value. */
static const struct {
	const char *name;
	size_t offset;
	bool value;
} set_flags[] = {
	{ "think", offsetof(struct chat, think), true },
	{ "nothink", offsetof(struct chat, think), false },
	{ "wordwrap", offsetof(struct chat, wordwrap), true },
	{ "nowordwrap", offsetof(struct chat, wordwrap), false },
	{ "verbose", offsetof(struct chat, verbose), true },
	{ "quiet", offsetof(struct chat, verbose), false },
};

static void cmd_set(struct repl *r, char *args)
{
	char *w = next_word(&args);
	size_t i;

	if (w == NULL) {
		help_set();
		return;
	}
	if (strcmp(w, "system") == 0) {
		char *text = args + strspn(args, " \t");

		if (*text == '\0') {
			printf("Usage: /set system <string>\n");
			return;
		}
		free(r->ch->system);
		r->ch->system = xstrdup(text);
		printf("Set system message.\n");
		return;
	}
	for (i = 0; i < sizeof(set_flags) / sizeof(set_flags[0]); i++) {
		if (strcmp(w, set_flags[i].name) == 0) {
			*(bool *)((char *)r->ch + set_flags[i].offset) = set_flags[i].value;
			printf("Set '%s' mode.\n", w);
			return;
		}
	}
	printf("Unknown command '/set %s'. Type /? for help\n", w);
}

/* The network's models and capabilities (the `models` reply), or NULL
 * (said why).  NEW reference. */
static json_object *network_models_new(struct repl *r)
{
	struct ctl_message reply;
	json_object *root;

	if (chat_request(r->ch, CTL_CMD_MODELS, NULL, &reply) != 0)
		return NULL;
	if (ctl_report(r->ch->ctx, r->ch->self, &reply) != 0) {
		ctl_message_clear(&reply);
		return NULL;
	}
	root = json_object_get(reply.root);
	ctl_message_clear(&reply);
	return root;
}

static bool offers(json_object *models, const char *name)
{
	json_object *arr = NULL;
	size_t i, n;

	if (!json_object_object_get_ex(models, CTL_R_MODELS, &arr) ||
		!json_object_is_type(arr, json_type_array))
		return false;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));

		if (s != NULL && strcmp(s, name) == 0)
			return true;
	}
	return false;
}

static void show_capabilities(json_object *models, const char *name)
{
	json_object *caps = NULL, *mine = NULL;
	bool b;

	printf("  Capabilities\n");
	if (models == NULL) {
		printf("    (unknown: the network's models could not be read)\n");
		return;
	}
	if (!offers(models, name)) {
		printf("    (the network does not offer this model now)\n");
		return;
	}
	if (!json_object_object_get_ex(models, CTL_R_CAPABILITIES, &caps) ||
		!json_object_object_get_ex(caps, name, &mine)) {
		printf("    completion\n    (more unknown: idleclawd did not say)\n");
		return;
	}
	printf("    completion\n");
	if (ic_json_get_bool(mine, "thinking", &b) && b)
		printf("    thinking\n");
	if (ic_json_get_bool(mine, "tool_calls", &b) && b)
		printf("    tools\n");
}

static void show_info(struct repl *r)
{
	struct ctl_message reply;
	json_object *models, *router = NULL;
	const char *url = NULL;
	bool have_status = chat_request(r->ch, CTL_CMD_STATUS, NULL, &reply) == 0;

	if (have_status && json_object_object_get_ex(reply.root, CTL_R_ROUTER, &router))
		url = ic_json_get_string(router, CTL_R_URL);
	models = r->ch->conn_lost ? NULL : network_models_new(r);
	printf("  Model\n");
	printf("    %-16s%s\n", "name", r->ch->model);
	ctl_fprintf_strip(stdout, r->ch->strip_out, "    %-16s%s\n\n", "router",
		url != NULL ? url : "(unknown)");
	show_capabilities(models, r->ch->model);
	printf("\n  Session\n");
	printf("    %-16s%s\n", "thinking",
		!r->ch->think		       ? "off"
			: r->ch->hide_thinking ? "on (hidden)"
					       : "on");
	printf("    %-16s%s\n\n", "system message", r->ch->system != NULL ? "set" : "none");
	json_object_put(models);
	if (have_status)
		ctl_message_clear(&reply);
}

static void cmd_show(struct repl *r, char *args)
{
	char *w = next_word(&args);

	if (w == NULL)
		help_show();
	else if (strcmp(w, "info") == 0)
		show_info(r);
	else if (strcmp(w, "system") == 0)
		printf("%s\n",
			r->ch->system != NULL ? r->ch->system : "No system message was specified.");
	else
		printf("Unknown command '/show %s'. Type /? for help\n", w);
}

/* /load MODEL: another model, a new conversation: nothing is kept. */
static void cmd_load(struct repl *r, char *args)
{
	char *name = next_word(&args);
	json_object *models;

	if (name == NULL) {
		printf("Usage: /load <model>\n");
		return;
	}
	if (!ic_valid_model_name(name)) {
		printf("'%s' is not a model name.\n", name);
		return;
	}
	models = network_models_new(r);
	if (models != NULL && !offers(models, name)) {
		printf("The network does not offer '%s' now ('idleclawctl models' lists "
		       "them).\n",
			name);
		json_object_put(models);
		return;
	}
	json_object_put(models);
	free(r->ch->model);
	r->ch->model = xstrdup(name);
	free(r->ch->system);
	r->ch->system = NULL;
	chat_forget(r->ch);
	printf("Loaded model '%s': a new conversation.\n", name);
}

static const struct repl_cmd repl_cmds[] = {
	{ "/set", "", "Set session variables", cmd_set },
	{ "/show", "", "Show model information", cmd_show },
	{ "/load", "<model>", "Load a model (a new conversation)", cmd_load },
	{ "/clear", "", "Clear session context", cmd_clear },
	{ "/bye", "", "Exit", cmd_bye },
	{ "/?, /help", "", "Help for a command", NULL },
	{ "/?", "", NULL, cmd_help },
	{ "/help", "", NULL, cmd_help },
	{ NULL, NULL, NULL, NULL },
};

static void run_command(struct repl *r, char *line)
{
	char *rest = line, *name = next_word(&rest);
	const struct repl_cmd *c;

	for (c = repl_cmds; c->name != NULL; c++) {
		if (c->run != NULL && strcmp(c->name, name) == 0) {
			c->run(r, rest);
			return;
		}
	}
	unknown(name);
}

/* --- lines --- */

static bool ends_with_quotes(const char *s, size_t n)
{
	return n >= 3 && memcmp(s + n - 3, REPL_QUOTES, 3) == 0;
}

static void multi_add(struct repl *r, const char *s, size_t n, bool newline)
{
	size_t have = r->multi != NULL ? strlen(r->multi) : 0;

	r->multi = xrealloc(r->multi, have + n + 2);
	memcpy(r->multi + have, s, n);
	if (newline)
		r->multi[have + n++] = '\n';
	r->multi[have + n] = '\0';
}

/* A line inside """: the closing """ ends the message. */
static void more_line(struct repl *r, const char *line)
{
	size_t n = strlen(line);
	char *text;

	if (!ends_with_quotes(line, n)) {
		multi_add(r, line, n, true);
		return;
	}
	multi_add(r, line, n - 3, false);
	text = r->multi;
	r->multi = NULL;
	send_text(r, text);
	free(text);
}

static void handle_line(struct repl *r, char *line)
{
	size_t n;

	remember(line);
	if (r->multi != NULL) {
		more_line(r, line);
		return;
	}
	if (strncmp(line, REPL_QUOTES, 3) == 0) {
		line += 3;
		n = strlen(line);
		if (ends_with_quotes(line, n)) { /* """one line""" */
			line[n - 3] = '\0';
			send_text(r, line);
			return;
		}
		multi_add(r, line, n, true);
		return;
	}
	if (line[0] == '/') {
		run_command(r, line);
		fflush(stdout);
		return;
	}
	if (line[strspn(line, " \t\n")] == '\0')
		return;
	send_text(r, line);
}

/* Ctrl-C at the prompt: drop what is being typed; at an empty prompt
 * twice in a row, leave.  true to leave. */
static bool interrupted(struct repl *r, bool was_empty)
{
	if (r->multi != NULL || !was_empty) {
		free(r->multi);
		r->multi = NULL;
		r->armed = false;
		return false;
	}
	if (r->armed)
		return true;
	r->armed = true;
	printf("Use Ctrl + d or /bye to exit, or Ctrl + c again.\n");
	fflush(stdout);
	return false;
}

static void setup_readline(void)
{
	struct sigaction sa;

	rl_readline_name = "idleclawctl"; /* for $if in ~/.inputrc */
	rl_instream = stdin;
	rl_outstream = stdout;
	/* signals are ours (read_line); readline must not set LINES/COLUMNS */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0;
	/* Debian 12's libedit has none: the reason for GNU readline.  On by
	 * default; ~/.inputrc may still turn it off. */
	rl_variable_bind("enable-bracketed-paste", "on");
	rl_initialize();
	/* no file names to complete in a chat: Tab is a character */
	rl_bind_key('\t', rl_insert);
	using_history();
	stifle_history(REPL_HISTORY_MAX);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
}

int chat_repl(struct chat *ch)
{
	struct repl r = { .ch = ch };
	int code = CTL_EXIT_OK;

	the_repl = &r;
	setup_readline();
	fprintf(stderr, "Chatting with %s through idleclawd; /? for help, /bye to exit.\n",
		ch->model);
	while (!r.quit && !ch->conn_lost) {
		bool was_empty = false;
		char *line = NULL;
		enum read_result res = read_line(
			&r, r.multi != NULL ? REPL_PROMPT_MORE : REPL_PROMPT, &line, &was_empty);

		if (res == READ_EOF) {
			fputc('\n', stdout);
			break;
		}
		if (res == READ_INTERRUPT) {
			if (interrupted(&r, was_empty))
				break;
			continue;
		}
		r.armed = false;
		handle_line(&r, line);
		free(line);
	}
	if (ch->conn_lost)
		code = CTL_EXIT_FAILED;
	fflush(stdout);
	free(r.multi);
	clear_history();
	the_repl = NULL;
	return code;
}
