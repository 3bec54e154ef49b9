"""Where a model argument points: a training run's folder, a local folder, or a Hub id.

Offline first: anything that looks like a path is a path (``paths.looks_like_path``) and
never goes to the Hub, and a Hub id is only sent to the Hub after a quick check that it
answers. A training run's folder stands for its ``final/`` model.
"""

from __future__ import annotations

import os
from pathlib import Path

from embedtune.errors import EmbedtuneError
from embedtune.models.config import CONFIG_FILE

RUN_MARKERS = ("run.json", "metrics.jsonl", "checkpoints")


def resolve_run_folder(folder: Path) -> Path:
    """A run folder means its ``final/`` model; a run that has none is explained."""
    if (folder / CONFIG_FILE).is_file() or (folder / "config.json").is_file():
        return folder
    if (folder / "final" / CONFIG_FILE).is_file():
        return folder / "final"
    if any((folder / m).exists() for m in RUN_MARKERS):
        steps = (
            sorted(p.name for p in (folder / "checkpoints").glob("step-*"))
            if (folder / "checkpoints").is_dir()
            else []
        )
        saved = (
            f"; its checkpoints: {', '.join(steps)} (continue it with --resume)" if steps else ""
        )
        best = (
            f"; {folder / 'best'} holds its best model so far" if (folder / "best").is_dir() else ""
        )
        raise EmbedtuneError(
            f"{folder} is a training run without a final/ model (the run has not finished){saved}{best}"
        )
    return folder


def check_hub(name: str, names: str) -> bool:
    """Whether to load ``name`` from the local Hugging Face cache only (True) or from the
    Hub (False); an error, at once, when it is in neither."""
    from huggingface_hub import try_to_load_from_cache

    cached = isinstance(try_to_load_from_cache(name, "config.json"), str)
    where = f"{name!r} is not a named model ({names}) nor a local folder"
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False"):
        if cached:
            return True
        raise EmbedtuneError(f"{where}, and HF_HUB_OFFLINE is set with no cached copy")
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import RepositoryNotFoundError

        HfApi().model_info(name, timeout=5)
    except RepositoryNotFoundError:
        raise EmbedtuneError(f"{where}, and the Hugging Face Hub has no model by that id") from None
    except Exception as e:  # no network, a proxy, a timeout: the Hub cannot be asked
        if cached:
            return True
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EmbedtuneError(
            f"{where}, not in the Hugging Face cache, and the Hub is unreachable ({reason})"
        ) from None
    return False
