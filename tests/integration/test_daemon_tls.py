#!/usr/bin/python3
"""idleclawd over TLS: the router behind Caddy (tls internal), reached as
https:// and wss://.  The daemon trusts the router only with Caddy's root
in ca_file (the system store does not have it; skip_install_trust keeps
Caddy from adding it)."""
import os
import shutil
import subprocess
import tempfile
import time

import routerlib
import daemonlib as dl
from daemonlib import iclib

MODEL = "llama3.2:latest"


class Caddy(iclib.Proc):
    def __init__(self, upstream_port):
        self.dir = tempfile.mkdtemp(prefix="ic-caddy-")
        self.port = iclib.free_port()
        conf = os.path.join(self.dir, "Caddyfile")
        with open(conf, "w") as f:
            f.write("{\n\tskip_install_trust\n\tadmin off\n\tauto_https disable_redirects\n"
                    "\tstorage file_system %s/data\n}\n"
                    "https://localhost:%d {\n\ttls internal\n"
                    "\treverse_proxy 127.0.0.1:%d\n}\n" % (self.dir, self.port, upstream_port))
        env = {"HOME": self.dir, "XDG_DATA_HOME": self.dir, "XDG_CONFIG_HOME": self.dir}
        super().__init__("caddy", ["caddy", "run", "--config", conf, "--adapter", "caddyfile"],
                         env=env)
        iclib.wait_port(self.port, timeout=20, proc=self)
        self.root = os.path.join(self.dir, "data", "pki", "authorities", "local", "root.crt")
        iclib.wait_for(lambda: os.path.exists(self.root), what="caddy root certificate")

    def close(self):
        super().stop()
        super().close()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_wss_and_https_with_ca_file():
    router = routerlib.Router()
    caddy = Caddy(router.port)
    fo = dl.FakeOllama("--echo")
    url = "https://localhost:%d" % caddy.port
    d = dl.Daemon(url, fo.url, ca_file=caddy.root).wait_ready()
    d2 = None
    try:
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
        certdir = tempfile.mkdtemp(prefix="ic-certs-")
        shutil.copy(caddy.root, os.path.join(certdir, "caddy-root.pem"))
        subprocess.run(["openssl", "rehash", certdir], check=True, capture_output=True)
        d2 = dl.Daemon(url, fo.url, node_id="system-store",
                       env={"SSL_CERT_DIR": certdir}).wait_ready()
        c2 = d2.ctl()
        iclib.wait_for(lambda: c2.call("status")["router"]["state"] == "connected",
                       timeout=20, what="registered, trusting the system store")
        c2.close()
        time.sleep(0.5)
    except Exception:
        print(d.log()[-3000:])
        if d2:
            print(d2.log()[-3000:])
        raise
    finally:
        try:
            d.assert_clean_exit()
            if d2:
                d2.assert_clean_exit()
        finally:
            d.close()
            if d2:
                d2.close()
            fo.proc.stop()
            caddy.close()
            router.close()


if __name__ == "__main__":
    if not shutil.which("caddy") or not os.path.exists(iclib.binary("router/idleclaw-routerd")):
        raise SystemExit(iclib.SKIP)
    iclib.run_tests([test_wss_and_https_with_ca_file])
