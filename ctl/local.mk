# ctl/local.mk: idleclawctl, the control-socket client (issue 4).
# The protocol itself is common/ctlproto.[ch] (common/ctlproto.mk).
bin_PROGRAMS += ctl/idleclawctl
ctl_idleclawctl_SOURCES = \
	ctl/idleclawctl.c ctl/ctl.h \
	ctl/call.c \
	ctl/client.c ctl/client.h \
	ctl/cmd-status.c \
	ctl/cmd-models.c \
	ctl/cmd-chat.c \
	ctl/cmd-pause.c \
	ctl/cmd-resume.c \
	ctl/cmd-reload.c
ctl_idleclawctl_SOURCES += ctl/status-idle.c ctl/status-idle.h
ctl_idleclawctl_CPPFLAGS = $(AM_CPPFLAGS) -DIC_VERSION='"$(PACKAGE_VERSION)"'
ctl_idleclawctl_LDADD = $(IC_COMMON_LIBS)

dist_man_MANS += man/idleclawctl.1

# bash completion: installed as "idleclawctl" where bash-completion looks
bashcompletiondir = $(datadir)/bash-completion/completions
bashcompletion_DATA = ctl/completion/idleclawctl
ctl/completion/idleclawctl: ctl/idleclawctl.bash-completion
	$(AM_V_GEN)$(MKDIR_P) ctl/completion && cp $(srcdir)/ctl/idleclawctl.bash-completion $@
CLEANFILES += ctl/completion/idleclawctl
EXTRA_DIST += ctl/idleclawctl.bash-completion
EXTRA_DIST += docs/control.md

# test_ctl.py: idleclawctl alone and against a fake daemon;
# test_ctl_daemon.py: against the real idleclawd, routerd and fake-ollama.
CTL_TESTS = tests/integration/test_ctl.py tests/integration/test_ctl_daemon.py
TESTS += $(CTL_TESTS)
EXTRA_DIST += $(CTL_TESTS) tests/integration/ctllib.py
