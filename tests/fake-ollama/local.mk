# SPDX-License-Identifier: AGPL-3.0-or-later
# tests/fake-ollama/local.mk: a stand-in for Ollama's HTTP API, used by the
# integration tests and benchmarks (docs/fake-ollama.md).  Built by `make`
# so that benchmarks and hand testing find it too.
noinst_PROGRAMS += tests/fake-ollama/fake-ollama
tests_fake_ollama_fake_ollama_SOURCES = \
	tests/fake-ollama/fake-ollama.c tests/fake-ollama/fake-ollama.h \
	tests/fake-ollama/options.c \
	tests/fake-ollama/reply.c \
	tests/fake-ollama/record.c \
	tests/fake-ollama/api.c \
	tests/fake-ollama/chat.c
tests_fake_ollama_fake_ollama_LDADD = $(IC_COMMON_LIBS) $(LIBEVENT_LIBS)

EXTRA_DIST += docs/fake-ollama.md tests/fake-ollama/fakeollama.py
