#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawctl's options, command by command: every option help lists is
accepted by the parser, every option the parser accepts is listed, and
the bash completion offers exactly those (ctl/options.c makes the parser,
help and `help --list` from one declaration per command).

"Accepted" is seen from outside: with the option (and a value if help
names one) and the command's required options, idleclawctl gets as far as
connecting to a socket that is not there (exit 11, no daemon); --help and
--version exit 0.  "Not accepted" is exit 2 with "unknown option".  The
options tried on each command are every option of every command, the
global ones, those the man page names, and every letter as -X."""
import os
import re
import string

import pytest

import iclib
from ctllib import complete, run_ctl

NO_SOCKET = "/nonexistent/idleclawctl-options.sock"
EXIT_USAGE, EXIT_NO_DAEMON = 2, 11     # man/idleclawctl.1, EXIT STATUS
# "  -m, --model MODEL     the model..." or "      --think           ask..."
OPTION_LINE = re.compile(r"^  (?:-(\S), |    )--([a-z][a-z0-9-]*)(?: ([A-Z][A-Z_]*))?(?:\s|$)")
ENDS_RUN = {"help", "version"}


def listed(help_text):
    """The options of help's "Options:" part: {long: (short or None, value name or None)}."""
    lines = help_text.split("\n")
    assert "Options:" in lines, help_text
    opts = {}
    for line in lines[lines.index("Options:") + 1:]:
        if line == "":
            break
        m = OPTION_LINE.match(line)
        if m:
            opts[m.group(2)] = (m.group(1), m.group(3))
        else:
            assert line.startswith(" " * 8), ("not an option nor a continuation", line)
    assert "help" in opts, help_text
    return opts


def commands():
    r = run_ctl(["help", "--list"])
    assert r.returncode == 0, r
    return [line.split()[0] for line in r.stdout.splitlines()]


def required(usage_line, opts):
    """The options usage shows without brackets ("-m MODEL"), with a value."""
    words, args = usage_line.split(), []
    for i, w in enumerate(words):
        if w.startswith("-") and not w.startswith("["):
            name = [n for n, (s, _) in opts.items() if w in ("-%s" % s, "--%s" % n)]
            assert name, (w, usage_line)
            args += [w] + (["1"] if opts[name[0]][1] else [])
    return args


def candidates():
    """Every option name anyone might try: all commands', the global ones,
    the man page's, and -a..-Z."""
    longs = set(listed(run_ctl(["--help"]).stdout))
    for name in commands():
        longs |= set(listed(run_ctl(["help", name]).stdout))
    with open(os.path.join(iclib.SRCDIR, "man", "idleclawctl.1")) as f:
        man = f.read()
    longs |= set(re.findall(r"Fl Fl ([a-z][a-z0-9-]*)", man))
    shorts = set(string.ascii_letters) | set(re.findall(r"Fl ([A-Za-z])\b", man))
    return ["--" + n for n in sorted(longs)] + ["-" + c for c in sorted(shorts)]


def check(before, opts, after, words_of):
    """Run `before + option + after` for every candidate: accepted exactly
    when opts lists it.  words_of(word, value) are the option's words."""
    for word in candidates():
        name = word[2:] if word.startswith("--") else \
            next((n for n, (s, _) in opts.items() if s == word[1:]), None)
        if name not in opts:
            r = run_ctl(before + [word] + after, socket_path=NO_SOCKET, input="hi\n")
            assert r.returncode == EXIT_USAGE, (before, word, r)
            assert "unknown option '%s'" % word in r.stderr, (before, word, r.stderr)
            continue
        r = run_ctl(before + words_of(word, opts[name][1]) + after, socket_path=NO_SOCKET,
                    input="hi\n")
        if name in ENDS_RUN:
            assert r.returncode == 0 and r.stdout, (before, word, r)
        else:
            assert r.returncode == EXIT_NO_DAEMON, (before, word, r)


def with_value(word, value):
    return [word] + (["1"] if value else [])


@pytest.mark.parametrize("name", commands())
def test_command_options(name):
    r = run_ctl(["help", name])
    assert r.returncode == 0, r
    opts = listed(r.stdout)
    # the completion's list and what it offers
    table = {line.split()[0]: line.split()[1:] for line in
             run_ctl(["help", "--list"]).stdout.splitlines()}
    assert sorted(table[name]) == sorted("--" + n for n in opts), (table[name], opts)
    assert complete("idleclawctl %s --" % name) == sorted("--" + n for n in opts)
    assert complete("idleclawctl --socket /x %s -" % name) == sorted("--" + n for n in opts)
    # `NAME --help` is `help NAME`
    assert run_ctl([name, "--help"]).stdout == r.stdout
    usage = r.stdout.split("\n")[0]
    assert usage.startswith("usage: idleclawctl %s" % name), usage
    check([name] + required(usage, opts), opts, [], with_value)


def test_global_options():
    r = run_ctl(["--help"])
    assert r.returncode == 0, r
    opts = listed(r.stdout)
    got = run_ctl(["help", "--list-global"]).stdout.split()
    assert sorted(got) == sorted("--" + n for n in opts), (got, opts)
    assert complete("idleclawctl --") == sorted("--" + n for n in opts)
    check([], opts, ["status"], with_value)
