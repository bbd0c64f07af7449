#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A request to Ollama that fails inside the call that starts it
(daemon/ollama.c): evhttp reports a connection it cannot even begin (no
descriptor left: socket() fails with EMFILE) through the request's
callback before evhttp_make_request() returns.  Its callbacks must run
from the loop, never inside ollama_chat(): relay_start() would otherwise
write into the relay its failure callback has just freed (a
heap-use-after-free that the ASan build reports).

The daemon's descriptor limit is lowered while it runs (prlimit(2), as
`prlimit --pid` does) below every descriptor it already holds, so the
next socket() fails at once; raising it again must bring it back.
"""
import resource

import daemonlib as dl
from daemonlib import iclib

MODEL = "llama3.2:latest"


def lower_nofile(pid):
    """No new descriptor for pid: 0, 1 and 2 are always open, so a soft
    limit of 3 makes every socket() fail with EMFILE.  Returns the old
    limits."""
    old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (3, old[1]))
    return old


def test_sync_connect_failure_reported_from_the_loop():
    r = dl.StandInRouter(features=["models_update", "available"])
    fo = dl.FakeOllama("--echo")
    # model_refresh long: no read of Ollama's models between the steps
    d = dl.Daemon(r.url, fo.url, model_refresh=3600).wait_ready()
    r.wait_type("register")
    r.wait_type("heartbeat")
    old = lower_nofile(d.pid)
    try:
        r.request("rq-emfile", dl.chat_params(content="no descriptor"))
        frames = r.wait_reply("rq-emfile")
        assert [f["type"] for f in frames] == ["inference_error"], frames
        assert frames[0]["error"] == "ollama_unavailable", frames
        # the kernel's reason reaches the log
        iclib.wait_for(lambda: "cannot connect to Ollama: Too many open files" in d.log(),
                       what="the failure logged")
        assert d.poll() is None, d.log()
    finally:
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, old)
    # descriptors again: Ollama is read anew and the next chat relays

    def relayed():
        r.request("rq-%d" % relayed.n, dl.chat_params(content="back again"))
        rid = "rq-%d" % relayed.n
        relayed.n += 1
        frames = r.wait_reply(rid)
        return dl.text_of(frames) == "back again"
    relayed.n = 0
    iclib.wait_for(relayed, timeout=30, interval=0.5, what="a chat relayed after the limit")
    d.assert_clean_exit()
    fo.proc.stop()
    r.stop()
