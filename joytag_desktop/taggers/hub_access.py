"""Talking to the Hugging Face Hub (or a mirror): the endpoint, the user's token, one file's bytes.

The token is sent to the Hub's own host only: a redirect to another host (the Hub hands large
files to a CDN with a signed address) goes there without it, as do redirects to other ports or
schemes. A file is written to ``<name>.part`` and resumed from there with a range request, so an
interrupted download continues and a half file is never taken for the whole.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from joytag_desktop import __version__, paths
from joytag_desktop.errors import JoyTagError

DEFAULT_ENDPOINT = "https://huggingface.co"
ENDPOINT_ENV = "HF_ENDPOINT"
TOKEN_ENVS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")  # the second: older huggingface_hub releases
MAX_REDIRECTS = 10
CHUNK = 1 << 20
TIMEOUT_S = 60


class DownloadError(JoyTagError):
    """The model could not be downloaded (no network, hub error, bad files)."""


class UnreachableError(DownloadError):
    """No answer from the Hub's host (offline, a firewall, a wrong mirror address)."""


def hub_endpoint(given: str | None = None) -> str:
    """Where the Hub is: ``given`` (--endpoint), the app's setting, $HF_ENDPOINT, or huggingface.co."""
    chosen = (
        given
        or paths.shared_settings().get(paths.HUB_ENDPOINT_SETTING)
        or os.environ.get(ENDPOINT_ENV)
        or DEFAULT_ENDPOINT
    )
    parts = urllib.parse.urlsplit(chosen.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"the Hub endpoint must be an http(s) address such as {DEFAULT_ENDPOINT}, not {chosen!r}")
    return chosen.strip().rstrip("/")


def _stored_token_file() -> Path:
    """Where ``hf auth login`` keeps the token (huggingface_hub's own rule: $HF_TOKEN_PATH, else
    ``token`` in $HF_HOME, else in ``huggingface`` under $XDG_CACHE_HOME or ~/.cache)."""
    if os.environ.get("HF_TOKEN_PATH"):
        return Path(os.environ["HF_TOKEN_PATH"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    home = os.environ.get("HF_HOME") or os.path.join(cache, "huggingface")
    return Path(home).expanduser() / "token"


def hub_token() -> str | None:
    """The user's Hugging Face token: $HF_TOKEN, else the one ``hf auth login`` stored; None without."""
    for name in TOKEN_ENVS:
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    try:
        stored = _stored_token_file().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return stored or None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def same_host(url: str, endpoint: str) -> bool:
    """Whether ``url`` is on the Hub endpoint's own scheme, host and port (where the token may go)."""
    return _origin(url) == _origin(endpoint)


def file_url(endpoint: str, repo: str, revision: str, path: str) -> str:
    quoted = urllib.parse.quote(path)
    return f"{endpoint}/{repo}/resolve/{urllib.parse.quote(revision, safe='')}/{quoted}"


def repo_page(endpoint: str, repo: str) -> str:
    return f"{endpoint}/{repo}"


class _RangeRefused(Exception):
    """416: the part left by an earlier run is not a prefix the server can continue."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as responses: we follow them ourselves, deciding where the token goes."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Fetched:
    """A finished file: its size and SHA-256, and what the Hub stated about it (LFS files only)."""

    size: int
    sha256: str
    stated_size: int | None
    stated_sha256: str | None


def _stated(headers: Message, stated: dict[str, Any]) -> None:
    """The Hub's own word on an LFS file (``X-Linked-Size``, ``X-Linked-Etag``: its SHA-256)."""
    size = headers.get("X-Linked-Size")
    if size and size.isdigit():
        stated["size"] = int(size)
    etag = (headers.get("X-Linked-Etag") or "").strip('"').removeprefix("W/").strip('"').lower()
    if len(etag) == 64 and all(c in "0123456789abcdef" for c in etag):
        stated["sha256"] = etag


def _open(url: str, endpoint: str, token: str | None, start: int, repo: str) -> tuple[Any, dict[str, Any]]:
    """The response with the file's bytes after following redirects; the token only on the Hub's host."""
    stated: dict[str, Any] = {}
    for _ in range(MAX_REDIRECTS):
        request = urllib.request.Request(url, headers={"User-Agent": f"joytag-desktop/{__version__}"})
        if start:
            request.add_header("Range", f"bytes={start}-")
        if token and same_host(url, endpoint):
            request.add_header("Authorization", f"Bearer {token}")
        try:
            response = _OPENER.open(request, timeout=TIMEOUT_S)
        except urllib.error.HTTPError as exc:
            if exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                _stated(exc.headers, stated)
                url = urllib.parse.urljoin(url, exc.headers["Location"])
                exc.close()
                if urllib.parse.urlsplit(url).scheme not in ("http", "https"):  # urllib would open file://
                    scheme = urllib.parse.urlsplit(url).scheme or "?"
                    raise DownloadError(
                        f"a redirect sent {repo} to a {scheme}: address, not http(s): refused"
                    ) from None
                continue
            if exc.code == 416 and start:
                exc.close()
                raise _RangeRefused from None
            raise _refused(exc, url, endpoint, token, repo) from None
        _stated(response.headers, stated)
        return response, stated
    raise DownloadError(f"the Hub sent {repo} through more than {MAX_REDIRECTS} redirects: stopped")


def _refused(exc: urllib.error.HTTPError, url: str, endpoint: str, token: str | None, repo: str) -> DownloadError:
    code = exc.code
    exc.close()
    page = repo_page(endpoint, repo)
    if code in (401, 403) and same_host(url, endpoint):
        said = "refused your token for" if token else "needs a login for"
        return DownloadError(
            f"The Hugging Face Hub {said} {repo} ({code}): log in with `hf auth login` or set HF_TOKEN, "
            f"and accept the licence at {page}"
        )
    if code == 404:
        return DownloadError(f"{url} is not on the Hub (404): is {repo} spelled right, and the revision there?")
    return DownloadError(f"the server refused {url} ({code} {exc.reason})")


def fetch_file(
    url: str,
    endpoint: str,
    target: Path,
    repo: str,
    token: str | None,
    progress: Callable[[int, int | None], Any] | None = None,
    limit: int | None = None,
) -> Fetched:
    """Download ``url`` into ``target`` by way of ``target.part`` (resumed where one is left) and
    return what was written; ``progress(bytes, total)`` after each chunk (it may raise to cancel).
    A body past ``limit`` (the pinned size, else the size the Hub states) is cut off: a server that
    never stops must not fill the disk."""
    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    done = part.stat().st_size if part.exists() else 0
    if done:
        with part.open("rb") as earlier:
            while chunk := earlier.read(CHUNK):
                digest.update(chunk)
    try:
        try:
            response, stated = _open(url, endpoint, token, done, repo)
        except _RangeRefused:  # the part cannot be continued (already whole, or stale): start over
            part.unlink(missing_ok=True)
            done, digest = 0, hashlib.sha256()
            response, stated = _open(url, endpoint, token, 0, repo)
    except urllib.error.URLError as exc:
        host = urllib.parse.urlsplit(url).hostname
        raise UnreachableError(f"could not reach {host} ({exc.reason}): no network connection?") from None
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, a server that is not HTTP
        raise DownloadError(f"downloading {url} failed: {_one_line(exc)}") from None
    limit = limit if limit is not None else stated.get("size")
    with response:
        if done and response.status != 206:  # the server sent the whole file: start over
            done, digest = 0, hashlib.sha256()
        length = response.headers.get("Content-Length")
        total = done + int(length) if length and length.isdigit() else stated.get("size")
        with part.open("ab" if done else "wb") as out:
            try:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if limit is not None and done > limit:
                        raise DownloadError(f"{url} is larger than the {limit:,} bytes expected: stopped")
                    if progress is not None:
                        progress(done, total)
            except (OSError, http.client.HTTPException) as exc:
                raise DownloadError(
                    f"the download of {url} broke off ({_one_line(exc)}); run it again to resume"
                ) from None
    if total is not None and done < total:
        raise DownloadError(f"the download of {url} broke off at {done:,} of {total:,} bytes; run it again to resume")
    part.replace(target)
    return Fetched(done, digest.hexdigest(), stated.get("size"), stated.get("sha256"))


def _one_line(exc: BaseException) -> str:
    """An exception's text cut to one short line (http.client quotes whole header lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"
