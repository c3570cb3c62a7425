"""`callgate serve` over HTTP: pages, filters, blobs with ranges, read-only and loopback rules."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from callgate.store.blobs import BlobStore
from callgate.web.blobs import BadRange, parse_range
from callgate.web.server import UIServer, make_server
from report.handmade import EVIL, Hand, make_store
from support.synthetic_scores import write_gate


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hand, UIServer]]:
    root = tmp_path_factory.mktemp("web")
    hand = make_store(root / "store")
    write_gate(hand.gate, root / "gates" / "ci")
    server = make_server(hand.root, host="127.0.0.1", port=0, gate_roots=[root / "gates"])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield hand, server
    finally:
        server.shutdown()  # our own handle: stops serve_forever, then close the socket
        server.server_close()
        thread.join(5)


def get(
    server: UIServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_index_lists_runs_and_comparisons(served: tuple[Hand, UIServer]) -> None:
    hand, server = served
    status, headers, body = get(server, "/")
    html = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"]
    assert f'href="/run/{hand.run_id}"' in html and "BLOCK" in html and "gate.json" in html
    assert server.url.startswith("http://127.0.0.1:") and server.port > 0


def test_run_page_filters(served: tuple[Hand, UIServer]) -> None:
    hand, server = served

    def matched(query: str) -> set[str]:
        _, _, body = get(server, f"/run/{hand.run_id}?{query}")
        html = body.decode()
        table = html.split('<table id="calls"', 1)[1].split("</table>", 1)[0]
        return set(re_calls(table))

    assert matched("") == {"fb01", "fc01", "bb01", "bc01", "tb01", "tc01"}
    assert matched("status=failed") == {"fc01", "bb01", "bc01"}
    assert matched("status=regressed") == {"fc01"}
    assert matched("cause=timing") == {"bc01"}
    assert matched("tag=accent%3Dscottish") == {"bb01", "bc01"}
    assert matched("tag=accent%3Dscottish&variant=candidate") == {"bc01"}
    assert matched("metric=asr_wer&op=ge&value=0.4") == {"fc01", "bb01", "bc01"}
    assert matched("metric=asr_wer&op=le&value=0") == {"fb01", "tb01", "tc01"}
    _, _, body = get(server, f"/run/{hand.run_id}?value=abc&status=weird")
    assert b"is not a number" in body and b"unknown status" in body


def re_calls(table: str) -> list[str]:
    import re

    return re.findall(r'<tr data-call="([^"]+)"', table)


def test_call_page_reuses_the_report_detail(served: tuple[Hand, UIServer]) -> None:
    hand, server = served
    status, _, body = get(server, f"/run/{hand.run_id}/call/fc01")
    html = body.decode()
    assert status == 200
    assert 'class="call-detail" id="call-fc01"' in html and "data-seek=" in html
    trace = hand.traces["fc01"]
    assert trace.caller_audio is not None
    assert f'src="/blob/{trace.caller_audio.sha256}.flac"' in html
    assert f'href="/run/{hand.run_id}/call/fb01"' in html  # the paired baseline call
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert get(server, f"/run/{hand.run_id}/call/nope")[0] == 404
    assert get(server, "/run/nope")[0] == 404


def test_gate_page(served: tuple[Hand, UIServer]) -> None:
    hand, server = served
    _, _, body = get(server, "/")
    key = body.decode().split('href="/gate/', 1)[1].split('"', 1)[0]
    status, _, body = get(server, f"/gate/{key}")
    html = body.decode()
    assert status == 200 and '<svg id="forest-plot"' in html and "decision BLOCK" in html
    assert EVIL not in html and f"/run/{hand.run_id}?base=baseline" in html
    assert get(server, "/gate/000000000000")[0] == 404


def test_blobs_with_ranges(served: tuple[Hand, UIServer]) -> None:
    hand, server = served
    ref = hand.traces["fc01"].agent_audio
    assert ref is not None
    data = BlobStore(hand.root / "blobs").path(ref.sha256).read_bytes()
    url = f"/blob/{ref.sha256}.flac"
    status, headers, body = get(server, url)
    assert (status, headers["content-type"], body) == (200, "audio/flac", data)
    assert headers["accept-ranges"] == "bytes"
    status, headers, body = get(server, url, headers={"Range": "bytes=10-19"})
    assert status == 206 and body == data[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(data)}"
    status, _, body = get(server, url, headers={"Range": "bytes=-5"})
    assert status == 206 and body == data[-5:]
    status, headers, _ = get(server, url, headers={"Range": f"bytes={len(data)}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"
    status, headers, body = get(server, url, method="HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == str(len(data))
    for bad in ("/blob/../../callgate.db", "/blob/" + quote("../callgate.db"), "/blob/abc.flac"):
        assert get(server, bad)[0] == 404


def test_read_only_and_loopback_host(served: tuple[Hand, UIServer]) -> None:
    _, server = served
    assert get(server, "/", method="POST")[0] == 405
    assert get(server, "/", method="DELETE")[0] == 405
    assert get(server, "/", headers={"Host": "attacker.example:80"})[0] == 404
    assert get(server, "/", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_parse_range() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-", 100) == (0, 99)
    assert parse_range("bytes=90-200", 100) == (90, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=0-1,5-9", 100) is None  # whole file
    assert parse_range("items=0-1", 100) is None
    for bad in ("bytes=100-", "bytes=5-2", "bytes=-", "bytes=-0"):
        with pytest.raises(BadRange):
            parse_range(bad, 100)


def test_serve_cli_rejects_bad_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, stderr = cli("serve", "--store", str(tmp_path / "none"), "--port", "0")
    assert code == 2 and "no callgate store" in stderr
    code, _, stderr = cli("serve", "--port", "70000")
    assert code == 2 and "--port" in stderr


def test_ctrl_c_stops_the_server(tmp_path: Path) -> None:
    """`callgate serve --port 0` prints its URL, serves, and exits 0 on SIGINT (Ctrl-C)."""
    import re
    import signal
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "callgate"
    if not exe.exists():
        pytest.skip("the callgate console script is not installed beside this Python")
    hand = make_store(tmp_path / "store", with_audio=False)
    proc = subprocess.Popen(
        [str(exe), "serve", "--store", str(hand.root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child of a shell job may inherit SIGINT ignored; Ctrl-C must reach it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        conn = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=5)
        conn.request("GET", f"/run/{hand.run_id}")
        assert conn.getresponse().status == 200  # the keep-alive connection stays open
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()  # our own child, by its handle
            proc.wait()
