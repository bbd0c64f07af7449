# SPDX-License-Identifier: AGPL-3.0-or-later
"""A stand-in for the `ollama` Python client (PyPI cannot be reached on the
test machines): the part of `ollama.AsyncClient` that the public skill's
contribute.py uses, over Ollama's real HTTP API (httpx), so that the script
talks to tests/fake-ollama as it would to Ollama.

- `await AsyncClient(host).list()` -> an object with `.models`, each with
  `.model` and `.size` (ollama-python's ListResponse);
- `await AsyncClient(host).chat(**params)` -> with `stream` true (the
  default) an async iterator of the NDJSON objects as dicts (ollama-python's
  ChatResponse objects are subscriptable and have `.get`, as dicts do);
  else the one object.  An HTTP error raises `ResponseError`, as there.
"""
import json
from types import SimpleNamespace

import httpx

__all__ = ["AsyncClient", "ResponseError"]


class ResponseError(Exception):
    def __init__(self, error, status_code=-1):
        super().__init__(error)
        self.error = error
        self.status_code = status_code


def _base(host):
    host = host or "http://127.0.0.1:11434"
    if "://" not in host:
        host = "http://" + host
    return host.rstrip("/")


class AsyncClient:
    def __init__(self, host=None, **kwargs):
        self._base = _base(host)
        self._kwargs = kwargs

    async def list(self):
        async with httpx.AsyncClient(timeout=30) as c:
            r = await c.get(self._base + "/api/tags")
        if r.status_code != 200:
            raise ResponseError(r.text, r.status_code)
        models = [SimpleNamespace(model=m.get("model") or m.get("name"), size=m.get("size"))
                  for m in r.json().get("models", [])]
        return SimpleNamespace(models=models)

    async def chat(self, model="", messages=None, stream=True, **params):
        body = dict(params, model=model, messages=messages or [], stream=stream)
        if not stream:
            async with httpx.AsyncClient(timeout=None) as c:
                r = await c.post(self._base + "/api/chat", json=body)
            if r.status_code != 200:
                raise ResponseError(r.text, r.status_code)
            return r.json()
        return self._stream(body)

    async def _stream(self, body):
        async with httpx.AsyncClient(timeout=None) as c:
            async with c.stream("POST", self._base + "/api/chat", json=body) as r:
                if r.status_code != 200:
                    await r.aread()
                    raise ResponseError(r.text, r.status_code)
                async for line in r.aiter_lines():
                    if not line.strip():
                        continue
                    part = json.loads(line)
                    if "error" in part:
                        raise ResponseError(part["error"])
                    yield part
