# SPDX-License-Identifier: AGPL-3.0-or-later
"""The limits the integration tests probe, read once per test run.

tests/integration/print-limits (built by `make`, from common/limits.h and
the few other headers it names) prints them as JSON, so the tests use the
numbers the programs under test were compiled with.

    from limits import LIMITS
    LIMITS["IC_MODEL_NAME_MAX"]
"""
import json
import subprocess

import iclib


def _load():
    exe = iclib.binary("tests/integration/print-limits")
    try:
        out = subprocess.run([exe], check=True, capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeError("cannot read the limits from %s (is %s built?): %s"
                           % (exe, iclib.BUILDDIR, e)) from None
    return json.loads(out)


LIMITS = _load()
