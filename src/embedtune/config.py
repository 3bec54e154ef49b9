"""Training configuration: one dataclass, loaded from YAML, every key overridable from the CLI.

Unknown keys, wrong types and out-of-range values fail with the key's name (and the YAML
file), never silently.

>>> TrainConfig(lr=-1)
Traceback (most recent call last):
embedtune.errors.ConfigError: `lr` must be > 0, got -1
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from embedtune.devices import check_device_name
from embedtune.dtypes import check_dtype
from embedtune.errors import ConfigError
from embedtune.losses.matryoshka import check_dims


def check_pack_tokens(value: int | None) -> int | None:
    """The packed row size a training run or an encoder uses: None when packing is off (unset
    or 0, so a recipe's packing can be undone from the command line)."""
    if value is not None and value < 0:
        raise ConfigError(f"`pack_tokens` must be >= 0 (0: off), got {value}")
    return value or None


def _f(default, help: str):
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    # model
    model: str = _f("gemma3-270m", "named model, folder or Hub id of the backbone")
    pooling: str | None = _f(None, "last_token | mean | weighted_mean | cls (default: the model's)")
    prompt: str = _f("{}", "template with one {} for the text")
    query_prompt: str | None = _f(
        None, "template for the query side (anchors; retrieval queries); default: prompt"
    )
    document_prompt: str | None = _f(
        None, "template for the document side (positives, negatives, corpora); default: prompt"
    )
    attention: str | None = _f(
        None, "bidirectional: lift a decoder's causal mask, as LLM2Vec (default: the model's own)"
    )
    max_length: int = _f(128, "truncate training texts to this many tokens")
    dtype: str = _f("bf16", "bf16 (autocast, fp32 LoRA weights) or fp32")
    attn_implementation: str | None = _f(None, "eager | sdpa (default: transformers' choice)")
    trust_remote_code: bool = _f(
        False,
        "run modelling code shipped with the model (auto_map in its config.json, e.g. MiniCPM); "
        "only for models you trust; saved with the trained model",
    )
    device: str = _f(
        "auto", "auto | cpu | cuda | cuda:N (auto: this process's GPU when CUDA is there, else CPU)"
    )
    # LoRA (the study: r 8, alpha 32, dropout 0.1 on q_proj/v_proj)
    lora: bool = _f(True, "train a LoRA adapter; false trains every weight (small encoders)")
    lora_r: int = _f(8, "LoRA rank")
    lora_alpha: int = _f(32, "LoRA alpha")
    lora_dropout: float = _f(0.1, "LoRA dropout")
    lora_target_modules: list[str] | None = _f(
        None, "modules to adapt (default: per-architecture table)"
    )
    # data
    data: str = _f(
        "nli/triplets.tsv",
        "triplet file (relative paths are tried under the data dir too), a BEIR split as "
        "FOLDER:SPLIT (e.g. retrieval/scifact:train: query, relevant-document pairs), or Hub id",
    )
    data_dir: str | None = _f(None, "data root for STS evaluation (default: $EMBEDTUNE_DATA_DIR)")
    columns: list[str] | None = _f(None, "anchor, positive[, negative] column names")
    header: bool | None = _f(
        None,
        "whether the data file's first line names its columns (default: detect; without a "
        "header the columns are anchor, positive[, negative] in that order)",
    )
    skip_bad_rows: bool = _f(False, "skip and count malformed rows instead of stopping")
    hard_negatives: bool = _f(True, "score anchors against in-batch hard negatives too (Eq. 3)")
    group_by_length: bool = _f(True, "batch triplets of similar length together (less padding)")
    mask_false_negatives: bool = _f(
        True,
        "leave out of each anchor's negatives any candidate with its own or its positive's text, "
        "and the positives of rows with the same anchor (they are not negatives)",
    )
    # optimisation (the study: batch 60, lr 5e-5, 100 warmup steps, cosine, 1 epoch)
    batch_size: int = _f(
        60, "triplets per optimizer step, over all processes (each takes an equal share)"
    )
    grad_accum: int = _f(
        1, "micro-batches per step; each micro-batch has its own in-batch negatives"
    )
    mini_batch_size: int | None = _f(
        None,
        "GradCache: embed the contrastive batch this many texts at a time (same gradient, less memory)",
    )
    pack_tokens: int | None = _f(
        None,
        "lay each pass's texts end to end in rows of about this many tokens (no padding "
        "computed, same embeddings; decoders with causal attention); 0 or unset: padded",
    )
    compile: bool = _f(
        False,
        "torch.compile each transformer layer (fuses the element-wise work; the first run "
        "on a machine compiles for about 40 s, later runs load inductor's disk cache)",
    )
    epochs: float = _f(1.0, "passes over the data (when max_steps is not set)")
    max_steps: int | None = _f(None, "stop after this many steps (sets the schedule length)")
    max_minutes: float | None = _f(
        None, "also stop before a step that would end past this much training time"
    )
    lr: float = _f(5e-5, "peak learning rate")
    warmup_steps: int = _f(100, "linear warmup steps")
    min_lr_ratio: float = _f(0.0, "cosine floor as a fraction of lr")
    weight_decay: float = _f(1e-4, "AdamW weight decay")
    max_grad_norm: float = _f(1.0, "gradient clipping (0 disables)")
    temperature: float = _f(0.05, "InfoNCE temperature")
    matryoshka_dims: list[int] | None = _f(
        None,
        "Matryoshka: also train these nested prefixes of the embedding (strictly descending, "
        "e.g. 640,320,160,80,40; the first at most the model's size), so truncated vectors work",
    )
    matryoshka_weights: list[float] | None = _f(
        None, "Matryoshka: the weight of each prefix's loss (default: 1 each)"
    )
    gradient_checkpointing: bool = _f(False, "recompute activations in backward to save memory")
    seed: int = _f(42, "seed for data order, LoRA init and dropout")
    # bookkeeping
    output_dir: str = _f("runs/latest", "where checkpoints, metrics and reports go")
    log_every: int = _f(10, "log a metrics row every N steps")
    eval_every: int = _f(100, "evaluate the dev set every N steps (0 disables)")
    dev_task: str | None = _f(
        None,
        "the dev set scored during training: stsb-dev (default), or FOLDER:SPLIT for the "
        "held-out queries of a BEIR split (the default when `data` is one; use it with mined "
        "triplets of that split)",
    )
    dev_queries: int = _f(
        100, "BEIR training data: queries of the split held out as the dev set (0: none)"
    )
    dev_corpus: int = _f(
        2000,
        "BEIR dev set: documents besides the held-out queries' relevant ones (0: the corpus)",
    )
    save_every: int = _f(0, "checkpoint every N steps (0 disables)")
    average_last: int | None = _f(
        None,
        "final/ holds the mean of the trainable weights at the last N snapshots (every "
        "`average_every` steps, the final step included): a model soup along the run",
    )
    average_every: int = _f(10, "with average_last: snapshot the trainable weights every N steps")
    keep_checkpoints: int = _f(2, "newest checkpoints kept (the best is never deleted)")
    eval_tasks: str = _f("all", "tasks for the before/after table ('' skips it)")
    eval_before: bool = _f(
        True, "score the untrained model on eval_tasks first (off when that score is known)"
    )
    eval_tasks_at: list[int] | None = _f(
        None, "also score eval_tasks at these steps (at-step-N.json), e.g. for a learning curve"
    )
    eval_batch_size: int = _f(64, "batch size when encoding for evaluation")
    eval_in_subprocess: bool = _f(
        True,
        "score the final model in a fresh child process (as fast as `embedtune evaluate`; "
        "in the training process it ran ~1.5x slower); single-process runs only",
    )
    resume: bool = _f(False, "continue from the newest complete checkpoint in output_dir")

    def __post_init__(self) -> None:
        positive = [
            "max_length",
            "lora_r",
            "lora_alpha",
            "batch_size",
            "grad_accum",
            "lr",
            "temperature",
            "eval_batch_size",
        ]
        for name in positive:
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(f"`{name}` must be > 0, got {value}")
        non_negative = [
            "warmup_steps",
            "weight_decay",
            "max_grad_norm",
            "log_every",
            "eval_every",
            "save_every",
            "min_lr_ratio",
        ]
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ConfigError(f"`{name}` must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.lora_dropout < 1:
            raise ConfigError(f"`lora_dropout` must be in [0, 1), got {self.lora_dropout}")
        if self.mini_batch_size is not None and self.mini_batch_size < 1:
            raise ConfigError(f"`mini_batch_size` must be >= 1, got {self.mini_batch_size}")
        check_pack_tokens(self.pack_tokens)
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"`max_steps` must be >= 1, got {self.max_steps}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError(f"`max_minutes` must be > 0, got {self.max_minutes}")
        if self.epochs <= 0:
            raise ConfigError(f"`epochs` must be > 0, got {self.epochs}")
        check_dims(self.matryoshka_dims, self.matryoshka_weights)  # the model's size: at setup
        check_device_name(self.device)
        check_dtype(self.dtype)
        if self.batch_size % self.grad_accum:
            raise ConfigError(
                f"`batch_size` ({self.batch_size}) must be divisible by `grad_accum` ({self.grad_accum})"
            )
        if self.average_last is not None and self.average_last < 2:
            raise ConfigError(f"`average_last` must be >= 2 (or unset), got {self.average_last}")
        if self.average_every < 1:
            raise ConfigError(f"`average_every` must be >= 1, got {self.average_every}")
        if self.keep_checkpoints < 1:
            raise ConfigError(f"`keep_checkpoints` must be >= 1, got {self.keep_checkpoints}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _as_float(v):
    """1 and "0.5" are floats in a list of floats; anything else is left for the check."""
    if isinstance(v, (int, float, str)) and not isinstance(v, bool):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def _check_type(name: str, value, annotation, where: str):
    """Coerce YAML scalars to the field's type (1 -> 1.0 for floats); reject the rest."""
    hint = typing.get_type_hints(TrainConfig)[name]
    args = typing.get_args(hint)
    optional = type(None) in args
    base = (
        next((a for a in args if a is not type(None)), hint)
        if args and (typing.get_origin(hint) in (typing.Union, types.UnionType))
        else hint
    )
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where}`{name}` must not be empty")
    origin = typing.get_origin(base)
    if origin is list:
        item = typing.get_args(base)[0]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
            if item is int and all(v.lstrip("-").isdigit() for v in value):
                value = [int(v) for v in value]
        if item is float and isinstance(value, list):
            value = [_as_float(v) for v in value]
        ok = isinstance(value, list) and all(
            isinstance(v, item) and not isinstance(v, bool) for v in value
        )
        if not ok:
            raise ConfigError(f"{where}`{name}` must be a list of {item.__name__}s, got {value!r}")
        return value
    if base is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}`{name}` must be true or false, got {value!r}")
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base is float and isinstance(value, str):
        try:
            return float(value)  # YAML reads 5e-5 as a string
        except ValueError:
            pass
    if base is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base is str and isinstance(value, str):
        return value
    raise ConfigError(
        f"{where}`{name}` must be {base.__name__}, got {value!r} ({type(value).__name__})"
    )


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> TrainConfig:
    """Read a YAML recipe (if any) and apply ``overrides`` (CLI values; None means unset)."""
    values: dict = {}
    names = {f.name for f in fields(TrainConfig)}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{line}: invalid YAML ({getattr(e, 'problem', e)})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of keys to values")
        for key, value in raw.items():
            if key not in names:
                raise ConfigError(
                    f"{path}: unknown key `{key}`; known keys: {', '.join(sorted(names))}"
                )
            values[key] = _check_type(key, value, None, f"{path}: ")
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in names:
            raise ConfigError(f"unknown option `{key}`")
        values[key] = _check_type(key, value, None, "")
    try:
        return TrainConfig(**values)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}" if path else str(e)) from None
