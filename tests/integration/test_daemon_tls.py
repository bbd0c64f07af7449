#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawd over TLS: the router behind Caddy (tls internal), reached as
https:// and wss://.  The daemon trusts the router only with Caddy's root
in ca_file (the system store does not have it; skip_install_trust keeps
Caddy from adding it)."""
import os
import shutil
import subprocess
import time

import routerlib
import daemonlib as dl
from daemonlib import iclib

MODEL = "llama3.2:latest"


# Caddy (the `caddy` fixture, iclib.Caddy) in front of the router's port.
CADDYFILE = """{
	skip_install_trust
	admin off
	auto_https disable_redirects
	storage file_system %%(dir)s/data
}
https://localhost:%%(port)d {
	tls internal
	reverse_proxy 127.0.0.1:%(rport)d
}
"""


def test_wss_and_https_with_ca_file(caddy, tmp_path):
    router = routerlib.Router()
    caddy = caddy(CADDYFILE % {"rport": router.port}, tls=True)
    fo = dl.FakeOllama("--echo")
    url = "https://localhost:%d" % caddy.port
    d = dl.Daemon(url, fo.url, ca_file=caddy.root).wait_ready()
    c = d.ctl()
    iclib.wait_for(lambda: c.call("status")["router"]["state"] == "connected",
                   timeout=20, what="registered over wss")
    rid = c.send("chat", {"model": MODEL, "messages": [
        {"role": "user", "content": "over tls"}]})
    events, reply = c.until_reply(rid)
    assert reply["status"] == "ok", (events, reply)
    assert "".join(e["text"] for e in events if e["event"] == "content") == "over tls"
    c.close()
    # without Caddy's root the router is not trusted
    d2 = dl.Daemon(url, fo.url, node_id="untrusting").wait_ready()
    c2 = d2.ctl()
    st = iclib.wait_for(lambda: (lambda s: s["router"].get("last_error") and s)(
        c2.call("status")), timeout=20, what="TLS failure in status")
    assert st["router"]["state"] != "connected", st
    assert "TLS" in st["router"]["last_error"], st
    c2.close()
    d2.assert_clean_exit()
    d2.close()
    # the system store is read as a hashed directory ($SSL_CERT_DIR):
    # with Caddy's root there, no ca_file is needed
    certdir = str(tmp_path)
    shutil.copy(caddy.root, os.path.join(certdir, "caddy-root.pem"))
    subprocess.run(["openssl", "rehash", certdir], check=True, capture_output=True)
    d2 = dl.Daemon(url, fo.url, node_id="system-store",
                   env={"SSL_CERT_DIR": certdir}).wait_ready()
    c2 = d2.ctl()
    iclib.wait_for(lambda: c2.call("status")["router"]["state"] == "connected",
                   timeout=20, what="registered, trusting the system store")
    c2.close()
    time.sleep(0.5)
    d.assert_clean_exit()
    d2.assert_clean_exit()
