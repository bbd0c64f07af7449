# SPDX-License-Identifier: AGPL-3.0-or-later
"""Start tests/fake-ollama/fake-ollama from a Python integration test.

    sys.path.insert(0, os.path.join(iclib.SRCDIR, "tests", "fake-ollama"))
    from fakeollama import FakeOllama

    with FakeOllama("--echo", "--tokens", "5") as fo:
        ... point the daemon at fo.url (http://127.0.0.1:PORT) ...
        fo.chat_bodies()        # JSON bodies that reached /api/chat
        fo.wait_cancelled(1)    # streams the client abandoned

See docs/fake-ollama.md for the flags.
"""
import json
import os
import subprocess
import sys
import tempfile


_INTEGRATION = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "integration")
sys.path.insert(0, _INTEGRATION)


import iclib  # noqa: E402


class FakeOllama:
    """fake-ollama on a free loopback port, recording what it receives."""

    def __init__(self, *args, record=True, name="fake-ollama", env=None):
        self.record_path = None
        argv = [iclib.binary("tests/fake-ollama/fake-ollama"),
                "--listen", "127.0.0.1:0"]
        if record:
            fd, self.record_path = tempfile.mkstemp(prefix="ic-fo-",
                                                    suffix=".jsonl")
            os.close(fd)
            argv += ["--record", self.record_path]
        argv += list(args)
        self.proc = iclib.Proc(name, argv, env=env, stdout=subprocess.PIPE)
        iclib.track(self)
        line = self.proc.p.stdout.readline().decode()
        if not line.startswith("PORT="):
            self.proc.p.wait(5)
            raise AssertionError("fake-ollama did not start (exit %s): %s"
                                 % (self.proc.poll(), self.proc.log()))
        self.port = int(line[5:])
        self.host = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.host

    def records(self):
        """Every line of the record file, parsed."""
        if self.record_path is None:
            return []
        with open(self.record_path) as f:
            return [json.loads(x) for x in f if x.endswith("\n")]

    def bodies(self, path="/api/chat"):
        """Request bodies received on path, oldest first."""
        return [r["body"] for r in self.records() if r.get("path") == path]

    def chat_bodies(self):
        return self.bodies("/api/chat")

    def cancelled(self):
        """Models of the chats the client abandoned, oldest first."""
        return [r["model"] for r in self.records()
                if r.get("event") == "cancelled"]

    def wait_cancelled(self, n=1, timeout=5.0):
        return iclib.wait_for(lambda: len(self.cancelled()) >= n and
                              self.cancelled(), timeout,
                              what="%d cancelled chat(s) in %s"
                              % (n, self.record_path))

    def stop(self):
        """SIGTERM; assert exit 0 and no sanitizer report."""
        self.proc.assert_clean_exit()

    def close(self):
        self.proc.p.stdout.close()
        self.proc.close()
        if self.record_path is not None:
            try:
                os.unlink(self.record_path)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


