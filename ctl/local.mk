# SPDX-License-Identifier: AGPL-3.0-or-later
# ctl/local.mk: idleclawctl, the control-socket client.
# The protocol itself is common/ctlproto.[ch] (common/ctlproto.mk).
bin_PROGRAMS += ctl/idleclawctl
# idleclawctl's commands, in the order help lists them.  Each
# ctl/cmd-NAME.c defines cmd_NAME_entry; ctl/cmd-table.c, generated from
# this list, is the table that dispatch, help and completion walk.
CTL_CMD_SOURCES = \
	ctl/cmd-status.c \
	ctl/cmd-models.c \
	ctl/cmd-chat.c \
	ctl/cmd-pause.c \
	ctl/cmd-resume.c \
	ctl/cmd-reload.c
ctl_idleclawctl_SOURCES = \
	ctl/idleclawctl.c ctl/ctl.h \
	ctl/call.c ctl/options.c \
	ctl/client.c ctl/client.h \
	$(CTL_CMD_SOURCES)
nodist_ctl_idleclawctl_SOURCES = ctl/cmd-table.c
ctl_idleclawctl_SOURCES += ctl/status-idle.c ctl/status-idle.h
ctl_idleclawctl_SOURCES += ctl/status-lend.c ctl/status-lend.h
# chat: the terminal's conversation (readline) and what goes to a terminal
ctl_idleclawctl_SOURCES += ctl/chat.h ctl/repl.c ctl/termout.c ctl/termout.h
ctl_idleclawctl_CFLAGS = $(AM_CFLAGS) $(READLINE_CFLAGS)
ctl_idleclawctl_LDADD = $(IC_COMMON_LIBS) $(READLINE_LIBS)

dist_man_MANS += man/idleclawctl.1

# bash completion: installed as "idleclawctl" where bash-completion looks
bashcompletiondir = $(datadir)/bash-completion/completions
bashcompletion_DATA = ctl/completion/idleclawctl
ctl/completion/idleclawctl: ctl/idleclawctl.bash-completion
	$(AM_V_GEN)$(MKDIR_P) ctl/completion && cp $(srcdir)/ctl/idleclawctl.bash-completion $@
CLEANFILES += ctl/completion/idleclawctl

# ctl/cmd-status.c -> cmd_status_entry
ctl/cmd-table.c: Makefile
	$(AM_V_GEN)$(MKDIR_P) ctl && { \
	  names=`for f in $(CTL_CMD_SOURCES); do basename $$f .c | sed 's/^cmd-//; s/-/_/g'; done`; \
	  echo '/* Generated from CTL_CMD_SOURCES in ctl/local.mk: edit that list. */'; \
	  echo '#include "ctl/ctl.h"'; \
	  echo; \
	  for n in $$names; do echo "extern const struct ctl_cmd_entry cmd_$${n}_entry;"; done; \
	  echo; \
	  echo 'const struct ctl_cmd_entry *const ctl_cmd_table[] = {'; \
	  for n in $$names; do printf '\t&cmd_%s_entry,\n' "$$n"; done; \
	  printf '\tNULL\n};\n'; \
	} > $@-t && mv -f $@-t $@
CLEANFILES += ctl/cmd-table.c
EXTRA_DIST += ctl/idleclawctl.bash-completion
EXTRA_DIST += docs/control.md

# ctl/termout.c's stripping, alone
check_PROGRAMS += tests/unit/test_termout
TESTS += tests/unit/test_termout
tests_unit_test_termout_SOURCES = tests/unit/test_termout.c ctl/termout.c
tests_unit_test_termout_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_termout_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)
