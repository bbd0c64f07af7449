# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for the web chat's tests: a web root laid out as `make install`
lays it (the page's files copied, vendor/ links to Debian's JavaScript as
web/vendor.links lists them) and headless Chromium through Debian's
python3-selenium and chromium-driver.

Browser() skips the test (pytest.skip) where chromium, chromedriver or
selenium is missing; everything else fails loudly.
"""
import json
import os
import shutil
import tempfile
import time

import pytest

import iclib

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGE_FILES = ("index.html", "app.js", "api.js", "history.js", "render.js",
              "style.css", "favicon.svg")


def vendor_links():
    """[(name, Debian path)] from web/vendor.links."""
    out = []
    with open(os.path.join(iclib.SRCDIR, "web", "vendor.links")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, target = line.split()
                out.append((name, target))
    return out


class WebRoot:
    """A temporary web root as installed; removed by the harness."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="ic-web-")
        for f in PAGE_FILES:
            shutil.copy(os.path.join(iclib.SRCDIR, "web", f), self.path)
        os.mkdir(os.path.join(self.path, "vendor"))
        for name, target in vendor_links():
            if not os.path.exists(target):
                pytest.skip("%s missing (scripts/deps installs it)" % target)
            os.symlink(target, os.path.join(self.path, "vendor", name))
        iclib.track(self)

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Browser:
    """Headless Chromium (one per test) with its console and network logs."""

    def __init__(self, width=1200, height=900):
        if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
            pytest.skip("chromium or chromium-driver not installed")
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            pytest.skip("python3-selenium not installed")
        self.profile = tempfile.mkdtemp(prefix="ic-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                  "--disable-gpu", "--no-first-run", "--disable-extensions",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps", "--mute-audio",
                  "--window-size=%d,%d" % (width, height),
                  "--user-data-dir=" + self.profile):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.set_script_timeout(30)
        self.console = []
        self.network = []
        iclib.track(self)

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def emulate(self, width, height, mobile=True):
        """A phone's viewport (a headless window is at least 500 px wide)."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    # --- logs ---

    def logs(self):
        """Console entries so far (each {'level', 'message', ...})."""
        self.console += self.driver.get_log("browser")
        return self.console

    def errors(self):
        """Console entries of level SEVERE (errors, CSP violations)."""
        return [e for e in self.logs() if e["level"] == "SEVERE"]

    def net_events(self):
        """Chrome's Network.* events so far (the performance log)."""
        for e in self.driver.get_log("performance"):
            m = json.loads(e["message"])["message"]
            if m["method"].startswith("Network."):
                self.network.append(m)
        return self.network

    def transfers(self, port):
        """{url: (status, bytes on the wire)} of the requests to the router
        on port since the
        last call (Network.responseReceived and loadingFinished; the status
        on the wire from responseReceivedExtraInfo: a revalidated response
        shows as 200 elsewhere)."""
        start = len(self.network)
        events = self.net_events()[start:]
        status, size, url, wire = {}, {}, {}, {}
        for e in events:
            p = e["params"]
            if e["method"] == "Network.responseReceived":
                url[p["requestId"]] = p["response"]["url"]
                status[p["requestId"]] = p["response"]["status"]
            elif e["method"] == "Network.responseReceivedExtraInfo":
                wire[p["requestId"]] = p["statusCode"]
            elif e["method"] == "Network.loadingFinished":
                size[p["requestId"]] = int(p["encodedDataLength"])
        mine = "http://127.0.0.1:%d/" % port   # not the browser's own pages
        return {url[r]: (wire.get(r, status[r]), size.get(r, 0)) for r in url
                if url[r].startswith(mine)}

    # --- the page ---

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def js_async(self, script, *args):
        return self.driver.execute_async_script(script, *args)

    def wait(self, predicate, timeout=20.0, what="condition"):
        """Poll predicate() until it returns something true."""
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
            time.sleep(0.05)

    def open(self, port, path="/"):
        self.driver.get("http://127.0.0.1:%d%s" % (port, path))
        self.wait(lambda: self.js("return document.readyState") == "complete",
                  what="the page to load")

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]);"
                       "return e ? e.innerText : null;", css)
