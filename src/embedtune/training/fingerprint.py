"""What makes two runs the same run, so ``--resume`` cannot continue a different one.

A checkpoint stores the batch position and the RNG state of one particular run: the data,
the batch size, the model, the seed and the schedule decide what that position means. A
resume with any of them changed would go on silently from a mismatched place, so the
checkpoint keeps a fingerprint and a resume compares it, key by key.

>>> fingerprint({"batch_size": 32, "max_minutes": 30, "data": "a.tsv"}, "ab12")
{'batch_size': 32, 'data_sha256': 'ab12'}
"""

from __future__ import annotations

import json

from embedtune.errors import ConfigError

# keys that change how a run is watched, stopped or where it computes, not what it computes
# at a given step; `data` is a path (the same file may be named two ways): its sha256 counts
HARMLESS = {
    "max_minutes",
    "log_every",
    "eval_every",
    "save_every",
    "keep_checkpoints",
    "eval_tasks",
    "eval_before",
    "eval_tasks_at",
    "eval_batch_size",
    "eval_in_subprocess",
    "resume",
    "output_dir",
    "data_dir",
    "device",
    "attn_implementation",
    "compile",
    "data",
    # what final/ is averaged from, not the trajectory (snapshot files are named by step)
    "average_last",
    "average_every",
}


def fingerprint(config: dict, data_sha256: str) -> dict:
    """The config's defining keys and the training data's checksum."""
    kept = {k: v for k, v in sorted(config.items()) if k not in HARMLESS}
    return json.loads(json.dumps({**kept, "data_sha256": data_sha256}))  # as a checkpoint holds it


def check_same_run(saved: dict | None, current: dict, where: str) -> None:
    """Refuse to resume when a defining key differs (``saved`` None: a checkpoint from
    before fingerprints, accepted as it is)."""
    if saved is None:
        return
    changed = [k for k in sorted(set(saved) | set(current)) if saved.get(k) != current.get(k)]
    if changed:
        detail = "; ".join(f"`{k}` {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        raise ConfigError(
            f"cannot resume from {where}: it belongs to a different run ({detail}). "
            "Resume with the settings it was trained with, or choose another --output-dir"
        )
