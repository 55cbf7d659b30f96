"""A Hugging Face Hub on this machine for download tests: no network.

Two real HTTP servers on loopback. The *Hub* (``http://127.0.0.1:<port>``) answers
``/<repo>/resolve/<revision>/<path>`` as huggingface.co does: small files directly, large ones
(``lfs``) with a 302 to the *CDN* on another host name (``http://localhost:<port>``), carrying
``X-Linked-Size`` and ``X-Linked-Etag``; a gated repository answers 401 without a token and
403 with a wrong one. Both record every request's headers, so a test sees where a token went.
The CDN honours ``Range`` and can be told to break off a file part-way.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class FakeHub:
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (repo, path) -> content
    lfs: set[str] = field(default_factory=set)  # paths served through the CDN
    gated: dict[str, str] = field(default_factory=dict)  # repo -> the token it accepts
    break_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before the CDN hangs up
    cdn_serves: dict[str, bytes] = field(default_factory=dict)  # path -> other bytes than the Hub states
    hub_seen: list[Seen] = field(default_factory=list)
    cdn_seen: list[Seen] = field(default_factory=list)
    endpoint: str = ""
    cdn: str = ""

    def add_folder(self, repo: str, folder: Path, prefix: str = "", lfs_suffixes: tuple[str, ...] = ()) -> None:
        for path in folder.iterdir():
            if path.is_file():
                name = prefix + path.name
                self.files[(repo, name)] = path.read_bytes()
                if path.suffix in lfs_suffixes:
                    self.lfs.add(name)


def _handler(hub: FakeHub, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            seen = Seen(self.path, {key.lower(): value for key, value in self.headers.items()})
            (hub.hub_seen if role == "hub" else hub.cdn_seen).append(seen)
            if role == "hub":
                self._hub()
            else:
                self._cdn()

        def _find(self, path: str) -> tuple[str, str, bytes] | None:
            for (repo, name), content in hub.files.items():
                if path.startswith(f"/{repo}/resolve/") and path.split("/", 5)[-1] == name:
                    return repo, name, content
            return None

        def _hub(self) -> None:
            found = self._find(self.path.split("?")[0])
            if found is None:
                self.send_error(404)
                return
            repo, name, content = found
            if repo in hub.gated:
                given = self.headers.get("Authorization")
                if given is None:
                    self.send_error(401)
                    return
                if given != f"Bearer {hub.gated[repo]}":
                    self.send_error(403)
                    return
            if name in hub.lfs:
                self.send_response(302)
                self.send_header("Location", f"{hub.cdn}/blobs/{repo}/{name}?signed=1")
                self.send_header("X-Linked-Size", str(len(content)))
                self.send_header("X-Linked-Etag", f'"{hashlib.sha256(content).hexdigest()}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(content, name)

        def _cdn(self) -> None:
            wanted = self.path.split("?")[0].removeprefix("/blobs/")
            for (repo, name), content in hub.files.items():
                if wanted == f"{repo}/{name}":
                    self._send(hub.cdn_serves.get(name, content), name)
                    return
            self.send_error(404)

        def _send(self, content: bytes, name: str) -> None:
            start = 0
            ranged = self.headers.get("Range", "")
            if ranged.startswith("bytes=") and ranged.endswith("-"):
                start = int(ranged[6:-1])
                if start >= len(content):
                    self.send_error(416)
                    return
            body = content[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cut = hub.break_after.pop(name, None)
            self.wfile.write(body[:cut] if cut is not None else body)
            if cut is not None:
                self.close_connection = True

    return Handler


@contextmanager
def running(hub: FakeHub) -> Iterator[FakeHub]:
    """Serve ``hub`` (the Hub on 127.0.0.1, the CDN on localhost) for the ``with`` block."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub, role)) for role in ("hub", "cdn")]
    hub.endpoint = f"http://127.0.0.1:{servers[0].server_address[1]}"
    hub.cdn = f"http://localhost:{servers[1].server_address[1]}"
    threads = [threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    try:
        yield hub
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
