"""``callgate serve``: a read-only local web UI over a store, on the standard library alone.

Safety: it only answers GET and HEAD, binds 127.0.0.1 by default, refuses requests whose Host is
not the loopback name it was reached by (a DNS-rebinding page cannot read it), serves blobs only
by their sha256 name and sends a Content-Security-Policy that forbids anything not inline.
The store is opened read-only (SQLite ``mode=ro``), once per request: sqlite3 objects must stay in
the thread that made them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from callgate.errors import UsageError
from callgate.gate.model import GateReport, load_gate
from callgate.production.signals.model import SignalsReport, SignalsSettings
from callgate.report.data import RunView, load_run
from callgate.store.blobs import BlobStore
from callgate.store.reader import StoreReader
from callgate.web import pages
from callgate.web.blobs import BadRange, is_sha, parse_range
from callgate.web.filters import CallFilter

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; media-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
_CHUNK = 256 * 1024


class NotFound(Exception):
    pass


class UIServer(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C must not wait for a player holding a connection open
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store_root: Path, gate_roots: list[Path]):
        self.store_root = store_root
        self.gate_roots = gate_roots
        self.blobs = BlobStore(store_root / "blobs")
        self._views: dict[tuple[str, str, str], tuple[tuple[int, int], RunView]] = {}
        self._signals: dict[str, tuple[list[tuple[int, int]], SignalsReport]] = {}
        self._lock = threading.Lock()
        super().__init__(address, Handler)

    @property
    def host(self) -> str:
        host = self.server_address[0]
        return host.decode() if isinstance(host, bytes) else str(host)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/"

    def loopback_only(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def open_store(self) -> StoreReader:
        """The store for one request, read-only: the UI cannot change a store, and serves one
        in a folder it may not write. Per request, as sqlite3 objects stay in their thread."""
        return StoreReader.open(self.store_root)

    def view(self, store: StoreReader, run_id: str, base: str, cand: str) -> RunView:
        """A run's rows, cached until the run grows or is re-scored."""
        run = store.run(run_id)
        version = store.run_version(run.run_id)
        key = (run.run_id, base, cand)
        with self._lock:
            hit = self._views.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        view = load_run(
            store, run.run_id, baseline=base or None, candidate=cand or None, keep=lambda r: False
        )
        with self._lock:
            self._views[key] = (version, view)
        return view

    def signals(self, store: StoreReader, settings: SignalsSettings) -> SignalsReport:
        """Production signals, cached until one of their runs grows or is re-scored."""
        from callgate.production.signals.compute import compute_signals, imported_runs

        runs = [r.run_id for r in imported_runs(store, settings.runs)]
        version = [store.run_version(r) for r in runs]
        key = settings.model_copy(update={"runs": runs}).model_dump_json()
        with self._lock:
            hit = self._signals.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        report = compute_signals(store, settings)
        with self._lock:
            self._signals[key] = (version, report)
        return report

    def gates(self) -> list[tuple[str, Path, GateReport | str]]:
        out: list[tuple[str, Path, GateReport | str]] = []
        for path in find_gates(self.gate_roots):
            key = hashlib.sha256(str(path).encode()).hexdigest()[:12]
            try:
                out.append((key, path, load_gate(path)))
            except UsageError as exc:
                out.append((key, path, exc.message))
        return out


class Handler(BaseHTTPRequestHandler):
    server: UIServer
    # HTTP/1.1 keeps the connection open between a player's range requests.
    protocol_version = "HTTP/1.1"

    _head = False  # set per request: HEAD sends the headers only

    def version_string(self) -> str:
        return "callgate"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: errors are reported on their own

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def _not_allowed(self) -> None:
        self.close_connection = True  # a body we did not read must not look like a request
        page = pages.error_page(405, "read-only: GET and HEAD only")
        self._send_html(HTTPStatus.METHOD_NOT_ALLOWED, page, {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed

    def _host_ok(self) -> bool:
        if not self.server.loopback_only():
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in _LOOPBACK_NAMES

    def _dispatch(self, *, head: bool) -> None:
        self._head = head
        try:
            if not self._host_ok():
                raise NotFound("unknown host: open the URL `callgate serve` printed")
            self._route()
        except (NotFound, UsageError) as exc:
            msg = exc.one_line() if isinstance(exc, UsageError) else str(exc)
            self._send_html(HTTPStatus.NOT_FOUND, pages.error_page(404, msg))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away (a player seeking elsewhere): nothing to answer
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._send_html(HTTPStatus.INTERNAL_SERVER_ERROR, pages.error_page(500, "error"))

    def _route(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        qs = parse_qs(url.query, keep_blank_values=True)
        if not parts:
            with self._store() as store:
                html = pages.index_page(store.runs(), self.server.gates())
            return self._send_html(HTTPStatus.OK, html)
        if parts == ["signals"]:
            settings = pages.signals_settings(qs)
            with self._store() as store:
                report = self.server.signals(store, settings)
            return self._send_html(HTTPStatus.OK, pages.signals_page(report, qs))
        if parts[0] == "blob" and len(parts) == 2:
            return self._blob(parts[1])
        if parts[0] == "gate" and len(parts) == 2:
            for key, path, gate in self.server.gates():
                if key == parts[1] and not isinstance(gate, str):
                    with self._store() as store:
                        known = {r.run_id for r in store.runs()}
                    html = pages.gate_page(key, path, gate, known)
                    return self._send_html(HTTPStatus.OK, html)
            raise NotFound("no such comparison")
        if parts[0] == "run" and len(parts) in (2, 4):
            base, cand = (qs.get("base") or [""])[-1], (qs.get("cand") or [""])[-1]
            with self._store() as store:
                view = self.server.view(store, parts[1], base, cand)
                if len(parts) == 2:
                    html = pages.run_page(
                        view, CallFilter.from_query(qs), {"base": base, "cand": cand}
                    )
                    return self._send_html(HTTPStatus.OK, html)
                if parts[2] != "call":
                    raise NotFound("no such page")
                trace = store.call(view.run.run_id, parts[3])
                scores = store.call_scores(view.run.run_id, trace.call_id)
            html = pages.call_page(
                trace, scores, view.by_id.get(trace.call_id), self.server.blobs.has
            )
            return self._send_html(HTTPStatus.OK, html)
        raise NotFound("no such page")

    def _store(self) -> StoreReader:
        return self.server.open_store()

    def _headers(self, status: int, ctype: str, length: int, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()

    def _send_html(self, status: int, html: str, extra: dict[str, str] | None = None) -> None:
        data = html.encode("utf-8")
        headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", **(extra or {})}
        self._headers(status, "text/html; charset=utf-8", len(data), headers)
        if not self._head:
            self.wfile.write(data)

    def _blob(self, name: str) -> None:
        sha = name.removesuffix(".flac")
        if not name.endswith(".flac") or not is_sha(sha) or not self.server.blobs.has(sha):
            raise NotFound("no such audio")
        path = self.server.blobs.path(sha)
        size = path.stat().st_size
        # Blobs are named by content: the same URL always has the same bytes.
        extra = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=86400"}
        try:
            span = parse_range(self.headers.get("Range"), size)
        except BadRange:
            extra["Content-Range"] = f"bytes */{size}"
            self._headers(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "text/plain", 0, extra)
            return
        start, end = span if span is not None else (0, size - 1)
        status = HTTPStatus.OK
        if span is not None:
            status = HTTPStatus.PARTIAL_CONTENT
            extra["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        self._headers(status, "audio/flac", length, extra)
        if self._head:
            return
        with path.open("rb") as fh:
            fh.seek(start)
            remaining = length
            while remaining > 0:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


def find_gates(roots: list[Path], depth: int = 2) -> list[Path]:
    """gate.json files in these folders and up to ``depth`` levels below."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
            continue
        patterns = ["gate.json"] + [
            "/".join(["*"] * i + ["gate.json"]) for i in range(1, depth + 1)
        ]
        for pattern in patterns:
            found += sorted(p for p in root.glob(pattern) if p.is_file())
    return list(dict.fromkeys(p.resolve() for p in found))


def make_server(
    store_root: Path, *, host: str = "127.0.0.1", port: int = 8765, gate_roots: list[Path]
) -> UIServer:
    StoreReader.open(store_root).close()  # a missing store is a usage error, up front
    try:
        return UIServer((host, port), store_root, gate_roots)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror})", field="--port"
        ) from None


def serve_forever(server: UIServer, announce: Any = print) -> None:
    """Serve until Ctrl-C, then close the socket (threads are daemons: nothing to wait for)."""
    announce(f"callgate UI on {server.url} (read-only; Ctrl-C stops)")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
