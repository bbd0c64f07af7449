#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The licence as the programs and the tree state it: --version prints the
GNU-style licence lines, COPYING is the AGPL-3.0 text; the SPDX tags are
scripts/check-spdx's, a step of scripts/test."""
import os
import subprocess

import pytest

import iclib

PROGRAMS = ["daemon/idleclawd", "router/idleclaw-routerd", "ctl/idleclawctl"]


@pytest.mark.parametrize("prog", PROGRAMS)
def test_version_names_the_licence(prog):
    r = subprocess.run([iclib.binary(prog), "--version"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(os.path.basename(prog) + " "), lines
    assert "License AGPLv3+: GNU AGPL version 3 or later" in r.stdout, r.stdout
    assert "There is NO WARRANTY, to the extent permitted by law." in r.stdout


def test_copying_is_the_agpl_3():
    with open(os.path.join(iclib.SRCDIR, "COPYING")) as f:
        text = f.read()
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in text
    assert "Version 3, 19 November 2007" in text

