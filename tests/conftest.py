"""Shared fixtures: keep every test's data and results out of the checkout; count host
syncs; fake the weights hub; a local HTTP server standing in for the data mirror."""
from __future__ import annotations

import http.server
import threading

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Point D2L_DATA_DIR / D2L_RESULTS_DIR at a per-test temporary folder."""
    monkeypatch.setenv("D2L_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("D2L_RESULTS_DIR", str(tmp_path / "results"))
    yield
    import sys
    if "matplotlib.pyplot" in sys.modules:  # no figures leak from one test into the next
        sys.modules["matplotlib.pyplot"].close("all")


SYNC_METHODS = ("tolist", "item", "cpu", "__bool__", "__float__", "__int__")


@pytest.fixture
def count_host_syncs(monkeypatch):
    """``count_host_syncs(fn, *args, **kwargs)``: run ``fn`` and return how many times it
    read a tensor back to the host (``.item()``, ``.tolist()``, ``.cpu()``, ``bool()``, ...),
    the calls that make the CPU wait for the GPU."""
    import torch

    def run(fn, *args, **kwargs) -> int:
        calls = {"n": 0}
        with monkeypatch.context() as m:
            for name in SYNC_METHODS:
                original = getattr(torch.Tensor, name)

                def counting(self, *a, _original=original, **kw):
                    calls["n"] += 1
                    return _original(self, *a, **kw)
                m.setattr(torch.Tensor, name, counting)
            fn(*args, **kwargs)
        return calls["n"]
    return run


@pytest.fixture
def fake_hub(monkeypatch):
    """``fake_hub(result)``: replace the network fetch behind torchvision's
    ``Weights.get_state_dict`` by one that returns ``result`` (or raises it, when it is an
    exception); returns the list of URLs asked for."""
    def install(result):
        calls = []

        def load_state_dict_from_url(url, *args, **kwargs):
            calls.append(url)
            if isinstance(result, BaseException):
                raise result
            return result

        import torchvision.models._api as api
        monkeypatch.setattr(api, "load_state_dict_from_url", load_state_dict_from_url)
        return calls
    return install


class Server:
    """A threaded HTTP server on 127.0.0.1 serving ``files``; names in ``cut`` are cut off."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                server.requests.append(name)
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if name in server.cut:  # promise everything, send half, hang up
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.thread.join()
            self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    """A :class:`Server` on 127.0.0.1 that ``D2L_DATA_URL`` points at (the book's mirror)."""
    srv = Server()
    monkeypatch.setenv("D2L_DATA_URL", srv.url)
    yield srv
    srv.stop()
