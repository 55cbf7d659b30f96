"""Downloads from a Hub that runs on this machine (tests/helpers/fake_hub.py): where the token goes,
what a gated repository's refusal says, pins that refuse a wrong file, resuming, the endpoint and
the models folder chosen by setting, environment or option, and the command's licence question."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from joytag_desktop import paths
from joytag_desktop.cli.main import main
from joytag_desktop.taggers import pins, recognise
from joytag_desktop.taggers.hub import DownloadError, download_model
from joytag_desktop.taggers.installed import installed_models, resolve_model_path
from tests.helpers.fake_hub import FakeHub, running

FIXTURES = Path(__file__).parent / "fixtures"
CAMIE = FIXTURES / "camie-format/v2-onnx"
REPO = "Camais03/camie-tagger-v2"
FILES = ("camie-tagger-v2.onnx", "camie-tagger-v2-metadata.json")


@pytest.fixture(autouse=True)
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")  # conftest sets it; this Hub is on loopback


@pytest.fixture
def hub() -> FakeHub:
    """camie-tagger v2's repository with the tiny fixture's files, the ONNX one through the CDN."""
    fake = FakeHub()
    fake.add_folder(REPO, CAMIE, lfs_suffixes=(".onnx",))
    return fake


@pytest.fixture
def pinned_to_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue's pins, but for the fixture's files (the real ones are hundreds of MB)."""
    for name in FILES:
        content = (CAMIE / name).read_bytes()
        pin = pins.Pin(len(content), hashlib.sha256(content).hexdigest(), "the test fixture")
        monkeypatch.setitem(pins.PINS, (REPO, name), pin)


def test_the_token_goes_to_the_hub_and_not_to_the_cdn(
    hub: FakeHub, pinned_to_fixture: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.gated[REPO] = "hf_secret"
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    lines: list[str] = []
    with running(hub):
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)  # the mirror setting of huggingface_hub
        folder = download_model("camie-v2", report=lines.append)
    assert folder == paths.models_dir() / "camie-v2"
    assert recognise(folder).family.name == "camie"
    assert {p.name for p in folder.iterdir()} == set(FILES)
    assert hub.hub_seen and all(seen.headers.get("authorization") == "Bearer hf_secret" for seen in hub.hub_seen)
    assert [seen.path.split("?")[0] for seen in hub.cdn_seen] == [f"/blobs/{REPO}/camie-tagger-v2.onnx"]
    assert all("authorization" not in seen.headers for seen in hub.cdn_seen)
    assert all(f"/resolve/{pins_revision()}/" in seen.path for seen in hub.hub_seen)
    assert lines == [f"{name}: {(CAMIE / name).stat().st_size:,} bytes, SHA-256 matches the pin" for name in FILES]
    assert installed_models() == [folder]  # no staging folder left


def pins_revision() -> str:
    from joytag_desktop.taggers.catalogue import entry

    found = entry("camie-v2")
    assert found is not None
    return found.revision


def test_the_login_stored_by_hf_auth_login_is_used(
    hub: FakeHub, pinned_to_fixture: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hub.gated[REPO] = "hf_stored"
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "token").write_text("hf_stored\n")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with running(hub):
        download_model("camie-v2", endpoint=hub.endpoint)
    assert hub.hub_seen[0].headers["authorization"] == "Bearer hf_stored"


def test_a_gated_repository_without_a_token_says_what_to_do(hub: FakeHub) -> None:
    hub.gated[REPO] = "hf_secret"
    with running(hub), pytest.raises(DownloadError) as refused:
        download_model("camie-v2", endpoint=hub.endpoint)
    message = str(refused.value)
    assert "\n" not in message
    assert "(401)" in message and "`hf auth login`" in message and "HF_TOKEN" in message
    assert f"accept the licence at {hub.endpoint}/{REPO}" in message
    assert not (paths.models_dir() / "camie-v2").exists()
    assert not hub.cdn_seen


def test_a_wrong_token_is_refused_with_the_same_advice(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.gated[REPO] = "hf_secret"
    monkeypatch.setenv("HF_TOKEN", "hf_other")
    with running(hub), pytest.raises(DownloadError, match=r"refused your token for .*\(403\).*accept the licence"):
        download_model("camie-v2", endpoint=hub.endpoint)


def test_a_file_that_is_not_the_pinned_one_is_deleted_and_refused(hub: FakeHub) -> None:
    """The real pins (788,983,561 bytes for the ONNX file) against the tiny fixture's file."""
    with running(hub), pytest.raises(DownloadError) as refused:
        download_model("camie-v2", endpoint=hub.endpoint)
    message = str(refused.value)
    assert "\n" not in message
    assert "camie-tagger-v2.onnx from Camais03/camie-tagger-v2 is not the published file" in message
    assert "pinned: 788,983,561 bytes, SHA-256 ab0aaf253e3d5460" in message and "deleted" in message
    staging = paths.models_dir() / ".camie-v2.partial"
    assert not [p for p in staging.rglob("*") if p.is_file()]
    assert not (paths.models_dir() / "camie-v2").exists()


def test_a_wrong_sha_of_the_right_size_is_refused(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    content = (CAMIE / FILES[1]).read_bytes()
    monkeypatch.setitem(pins.PINS, (REPO, FILES[1]), pins.Pin(len(content), "0" * 64))
    with running(hub), pytest.raises(DownloadError, match=r"not the published file.*deleted"):
        download_model("camie-v2", endpoint=hub.endpoint)


def test_an_unpinned_file_is_checked_against_what_the_hub_states(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """No pin: the LFS file's X-Linked-Size and X-Linked-Etag are the check; a CDN that serves
    other bytes than the Hub states is caught."""
    for name in FILES:
        monkeypatch.delitem(pins.PINS, (REPO, name))
    lines: list[str] = []
    with running(hub):
        download_model("camie-v2", endpoint=hub.endpoint, report=lines.append)
        assert "matches what the Hub states (not pinned)" in lines[0]
        assert "not checked" in lines[1]  # a small file: the Hub states no SHA-256 for it
        real = hub.files[(REPO, FILES[0])]
        hub.cdn_serves[FILES[0]] = real[:-1] + bytes([real[-1] ^ 1])
        with pytest.raises(DownloadError, match=r"stated by the Hub.*deleted"):
            download_model("camie-v2", endpoint=hub.endpoint)


def test_an_interrupted_download_resumes_where_it_stopped(hub: FakeHub, pinned_to_fixture: None) -> None:
    size = (CAMIE / FILES[0]).stat().st_size
    hub.break_after[FILES[0]] = size // 2
    with running(hub):
        with pytest.raises(DownloadError, match=r"broke off.*run it again to resume"):
            download_model("camie-v2", endpoint=hub.endpoint)
        part = paths.models_dir() / ".camie-v2.partial" / f"{FILES[0]}.part"
        assert part.stat().st_size == size // 2
        assert installed_models() == []  # a half download is never taken for a model
        folder = download_model("camie-v2", endpoint=hub.endpoint)
    assert hub.cdn_seen[-1].headers["range"] == f"bytes={size // 2}-"
    assert (folder / FILES[0]).read_bytes() == (CAMIE / FILES[0]).read_bytes()


def test_a_token_never_follows_a_redirect_to_another_port(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from joytag_desktop.taggers.hub_access import same_host

    endpoint = "https://huggingface.co"
    assert same_host("https://huggingface.co/x/resolve/main/f", endpoint)
    assert same_host("https://HuggingFace.co:443/x", endpoint)
    assert not same_host("https://huggingface.co:8443/x", endpoint)
    assert not same_host("http://huggingface.co/x", endpoint)
    assert not same_host("https://cas-bridge.xethub.hf.co/x", endpoint)
    assert not same_host("https://huggingface.co.evil.example/x", endpoint)


def test_the_endpoint_setting_beats_hf_endpoint(
    hub: FakeHub, pinned_to_fixture: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with running(hub):
        paths.save_shared_setting(paths.HUB_ENDPOINT_SETTING, hub.endpoint)
        download_model("camie-v2")
    assert hub.hub_seen


def test_the_models_folder_of_the_users_choice(
    hub: FakeHub, pinned_to_fixture: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    big_drive = tmp_path / "big drive" / "models"
    paths.save_shared_setting(paths.MODELS_FOLDER_SETTING, str(big_drive))
    assert json.loads((paths.data_dir() / paths.SETTINGS_FILE).read_text()) == {"models_folder": str(big_drive)}
    with running(hub):
        folder = download_model("camie-v2", endpoint=hub.endpoint)
    assert folder == big_drive / "camie-v2"
    assert resolve_model_path("camie-v2") == folder
    assert not (paths.default_models_dir() / "camie-v2").exists()
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path / "elsewhere"))  # the environment wins for a run
    assert paths.models_dir() == tmp_path / "elsewhere"


def test_the_command_asks_for_a_gpl_licence_and_downloads_with_accept_licence(
    hub: FakeHub, pinned_to_fixture: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with running(hub):
        code = main(["models", "download", "camie-v2", "--endpoint", hub.endpoint])
        err = capsys.readouterr()
        assert code == 2
        assert "GPL-3.0" in err.out and "--accept-licence" in err.err
        assert not hub.hub_seen  # nothing fetched before the licence is accepted
        target = tmp_path / "models here"
        code = main(
            ["models", "download", "camie-v2", "--accept-licence", "--endpoint", hub.endpoint,
             "--models-dir", str(target)]
        )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Licence: GPL-3.0" in out and "SHA-256 matches the pin" in out
    assert recognise(target / "camie-v2").family.name == "camie"


def test_models_list_says_how_each_file_is_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--pins"]) == 0
    out = capsys.readouterr().out
    assert "camie-tagger-v2.onnx: pinned, 788,983,561 bytes, SHA-256 ab0aaf253e3d5460" in out
    assert "pinned by size only (1,796,716,928 bytes): SHA-256 unverified" in out
    assert "checked after download: 2 of 2 files pinned by SHA-256" in out  # camie-v2
    assert "0 of 3 files pinned by SHA-256" in out  # camie-v1: none found


def test_a_pin_by_sha_alone_checks_the_sha(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Hub's pages round sizes ("378 MB"): such a pin holds the SHA-256 only, and it decides."""
    for name in FILES:
        content = (CAMIE / name).read_bytes()
        monkeypatch.setitem(pins.PINS, (REPO, name), pins.Pin(None, hashlib.sha256(content).hexdigest()))
    lines: list[str] = []
    with running(hub):
        download_model("camie-v2", endpoint=hub.endpoint, report=lines.append)
        assert all(line.endswith("SHA-256 matches the pin") for line in lines)
        monkeypatch.setitem(pins.PINS, (REPO, FILES[0]), pins.Pin(None, "1" * 64))
        with pytest.raises(DownloadError, match=r"pinned: .* bytes, SHA-256 1111111111111111"):
            download_model("camie-v2", endpoint=hub.endpoint)
    assert (paths.models_dir() / "camie-v2" / FILES[0]).exists()  # the earlier install stays


def test_no_answer_says_what_to_do_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DownloadError) as refused:
        download_model("wd-vit-v3", endpoint="http://127.0.0.1:9")  # nothing listens on port 9
    message = str(refused.value)
    assert "could not reach 127.0.0.1" in message and "--model DIR" in message and "selected_tags.csv" in message
    assert installed_models() == []


def test_a_part_the_server_cannot_continue_is_fetched_again(hub: FakeHub, pinned_to_fixture: None) -> None:
    """A run killed between the last byte and the rename leaves a whole .part: the server answers
    416 to "the rest of it", and the file is fetched from the start."""
    staging = paths.models_dir() / ".camie-v2.partial"
    staging.mkdir(parents=True)
    (staging / f"{FILES[0]}.part").write_bytes((CAMIE / FILES[0]).read_bytes())
    with running(hub):
        folder = download_model("camie-v2", endpoint=hub.endpoint)
    assert [seen.headers.get("range") for seen in hub.cdn_seen] == [f"bytes={(CAMIE / FILES[0]).stat().st_size}-", None]
    assert (folder / FILES[0]).read_bytes() == (CAMIE / FILES[0]).read_bytes()


class _RawServer:
    """A server on loopback that answers every request with ``answer`` as raw bytes, then (``stream``
    MiB) an endless-looking body, counting what it managed to send: a hostile or broken mirror."""

    def __init__(self, answer: bytes, stream: int = 0) -> None:
        import socket
        import threading

        self.answer, self.stream, self.sent = answer, stream, 0
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                try:
                    connection.recv(65536)
                    connection.sendall(self.answer)
                    for _ in range(self.stream):
                        connection.sendall(b"x" * (1 << 20))
                        self.sent += 1 << 20
                except OSError:
                    pass

    def close(self) -> None:
        self.socket.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",  # a header line over http.client's limit
        b"HTTP/1.1 200 OK\r\n" + b"X: a\r\n" * 200 + b"\r\n",  # too many headers
        b"not http at all\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # a broken chunk
    ],
    ids=["long-header", "many-headers", "not-http", "bad-chunk"],
)
def test_a_server_that_does_not_speak_http_gives_one_line(answer: bytes) -> None:
    server = _RawServer(answer)
    try:
        with pytest.raises(DownloadError) as refused:
            download_model("camie-v2", endpoint=server.endpoint)
    finally:
        server.close()
    assert "\n" not in str(refused.value)
    assert installed_models() == []


def test_a_redirect_to_a_local_file_is_never_followed(tmp_path: Path) -> None:
    """A mirror's redirect to file:// (urllib would open it) must not read this machine's files."""
    secret = tmp_path / "token"
    secret.write_text("hf_local_secret")
    server = _RawServer(f"HTTP/1.1 302 Found\r\nLocation: file://{secret}\r\nContent-Length: 0\r\n\r\n".encode())
    try:
        with pytest.raises(DownloadError, match=r"redirect.*file") as refused:
            download_model("camie-v2", endpoint=server.endpoint)
    finally:
        server.close()
    assert "\n" not in str(refused.value)
    staging = paths.models_dir() / ".camie-v2.partial"
    assert not [p for p in staging.rglob("*") if p.is_file() and b"hf_local_secret" in p.read_bytes()]


def test_an_endless_body_stops_at_the_pinned_size(pinned_to_fixture: None) -> None:
    """A body without Content-Length that never ends is cut off once past the pin, not written on
    until the disk is full."""
    server = _RawServer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", stream=256)
    try:
        with pytest.raises(DownloadError, match="larger than") as refused:
            download_model("camie-v2", endpoint=server.endpoint)
    finally:
        server.close()
    assert "\n" not in str(refused.value)
    staging = paths.models_dir() / ".camie-v2.partial"
    assert sum(p.stat().st_size for p in staging.rglob("*") if p.is_file()) < 8 << 20
    assert installed_models() == []


def test_a_models_folder_that_cannot_be_one_is_refused_and_not_saved(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A file given as the models folder would break every later command that looks for models."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    assert main(["models", "config", "--models-dir", str(a_file)]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(a_file) in err
    assert paths.MODELS_FOLDER_SETTING not in paths.shared_settings()
    assert main(["models", "config"]) == 0
