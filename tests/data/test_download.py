"""download() against a local HTTP server with Range support, and safe extraction."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ssl4rec.data.download import download, extract_archive, sha256_file
from ssl4rec.errors import DataError

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    honour_range = True
    ranges: list[str | None] = []

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        header = self.headers.get("Range")
        type(self).ranges.append(header)
        if header and self.honour_range:
            start = int(header.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
            chunk = body[start:]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            chunk = body
            self.send_response(200)
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    handler = type("Handler", (_Handler,), {"files": {"/data.bin": PAYLOAD}, "ranges": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_checksum_ok(server, tmp_path):
    handler, base = server
    dest = download(
        f"{base}/data.bin", tmp_path / "sub" / "data.bin", sha256=PAYLOAD_SHA, progress=False
    )
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "data.bin.part").exists()
    assert handler.ranges == [None]
    # present with the right checksum: nothing is requested again
    download(f"{base}/data.bin", dest, sha256=PAYLOAD_SHA, progress=False)
    assert handler.ranges == [None]


def test_checksum_mismatch_keeps_cache_and_removes_part(server, tmp_path):
    _, base = server
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"the good old file")
    wrong = "0" * 64
    with pytest.raises(
        DataError,
        match=rf"checksum mismatch for {base}/data\.bin: expected sha256 0{{64}}, got {PAYLOAD_SHA}",
    ):
        download(f"{base}/data.bin", dest, sha256=wrong, progress=False)
    assert dest.read_bytes() == b"the good old file"
    assert not (tmp_path / "data.bin.part").exists()


def test_resume_uses_range(server, tmp_path):
    handler, base = server
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:3000])
    download(f"{base}/data.bin", dest, sha256=PAYLOAD_SHA, progress=False)
    assert handler.ranges == ["bytes=3000-"]
    assert dest.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts(server, tmp_path):
    handler, base = server
    handler.honour_range = False
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(b"garbage that must be dropped")
    download(f"{base}/data.bin", dest, sha256=PAYLOAD_SHA, progress="always")
    assert handler.ranges == ["bytes=28-"]
    assert dest.read_bytes() == PAYLOAD


def test_unsatisfiable_range_restarts(server, tmp_path):
    handler, base = server
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD + b"extra")
    download(f"{base}/data.bin", tmp_path / "data.bin", sha256=PAYLOAD_SHA, progress=False)
    assert handler.ranges == [f"bytes={len(PAYLOAD) + 5}-", None]


def test_http_error_names_url(server, tmp_path):
    _, base = server
    with pytest.raises(DataError, match=rf"download of {base}/missing failed: HTTP 404"):
        download(f"{base}/missing", tmp_path / "m", progress=False)


def test_no_checksum_still_downloads(server, tmp_path):
    _, base = server
    dest = download(f"{base}/data.bin", tmp_path / "d", progress=False)
    assert sha256_file(dest) == PAYLOAD_SHA


# ---------------------------------------------------------------------- extraction
def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_extract_zip_replaces_target(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"top/x.txt": b"x", "top/sub/y.txt": b"y"})
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    extract_archive(archive, target)
    assert (target / "top" / "sub" / "y.txt").read_bytes() == b"y"
    assert not (target / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "out"]


def test_extract_tar_gz(tmp_path):
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("d/f.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out" / "d" / "f.txt").read_bytes() == b"abc"


@pytest.mark.parametrize("name", ["../evil.txt", "ok/../../evil.txt", "/abs/evil.txt"])
def test_extract_refuses_escaping_paths(tmp_path, name):
    archive = _zip(tmp_path / "bad.zip", {"fine.txt": b"ok", name: b"evil"})
    with pytest.raises(DataError, match="refus"):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]


def test_extract_refuses_tar_links(tmp_path):
    archive = tmp_path / "l.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(DataError, match=r"'link' is a link"):
        extract_archive(archive, tmp_path / "out")


def test_extract_not_an_archive(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"plain")
    with pytest.raises(DataError, match=r"x\.bin: not a zip or tar archive"):
        extract_archive(path, tmp_path / "out")
