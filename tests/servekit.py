"""Helpers for the serve and browser tests: a real uvicorn server in a background thread, and the load driver."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def thread_server(app, timeout: float = 30) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 and a free port in a daemon thread; yields the base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def serve_load():
    """``benchmarks/serve_load.py`` as a module (the load test runs exactly what the benchmark runs)."""
    if "serve_load" not in sys.modules:
        spec = importlib.util.spec_from_file_location("serve_load", ROOT / "benchmarks" / "serve_load.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["serve_load"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["serve_load"]
