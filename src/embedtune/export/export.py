"""Export a trained embedder so other tools load it: a sentence-transformers folder, a plain
Hugging Face folder, the LoRA adapter alone, or one ONNX graph for ONNX Runtime.

Peer tools embed with the tokenizer's own special tokens and no position-id fix, so the
export makes them agree with embedtune: the LoRA is merged into the base weights, the
tokenizer appends the EOS itself (last-token pooling) and pads on the right, and the pooling
and normalisation become sentence-transformers modules. The folder also keeps
``embedtune.json``, so ``Embedder.load(DIR)`` reads it too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from embedtune.atomic import atomic_dir
from embedtune.dtypes import check_dtype, torch_dtype
from embedtune.errors import ConfigError, EmbedtuneError
from embedtune.export.onnx import export_onnx
from embedtune.log import log
from embedtune.models import Embedder
from embedtune.models.pooling import ST_POOLING
from embedtune.models.rotation import save_rotation
from embedtune.models.sources import resolve_run_folder

FORMATS = ("sentence-transformers", "hf", "adapter", "onnx")


def make_tokenizer_append_eos(tokenizer) -> None:
    """Have the tokenizer add EOS after every text, as embedtune does before pooling."""
    from tokenizers import processors

    eos, eos_id = tokenizer.eos_token, tokenizer.eos_token_id
    probe = tokenizer("x")["input_ids"]
    if probe and probe[-1] == eos_id:
        return  # it already does
    bos_id = tokenizer.bos_token_id
    starts_with_bos = bool(probe) and bos_id is not None and probe[0] == bos_id
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise EmbedtuneError(
            "this tokenizer has no fast backend; cannot make it append EOS for export"
        )
    head = f"{tokenizer.bos_token}:0 " if starts_with_bos else ""
    specials = [(eos, eos_id)] + ([(tokenizer.bos_token, bos_id)] if starts_with_bos else [])
    backend.post_processor = processors.TemplateProcessing(
        single=f"{head}$A:0 {eos}:0",
        pair=f"{head}$A:0 {eos}:0 $B:1 {eos}:1",
        special_tokens=specials,
    )
    # transformers rebuilds the template from these flags when it reloads the tokenizer
    if hasattr(tokenizer, "add_eos_token"):
        tokenizer.add_eos_token = True
    if hasattr(tokenizer, "add_bos_token"):
        tokenizer.add_bos_token = starts_with_bos


def _model_card(emb: Embedder, source: str, fmt: str) -> str:
    lines = [
        f"# Embedding model exported by embedtune ({fmt})",
        "",
        f"- base model: `{emb.config.base_model}`",
        f"- pooling: `{emb.config.pooling}`"
        + (" (EOS appended to every text)" if emb.config.append_eos else ""),
        f"- prompt: `{emb.config.prompt}`",
        *(
            [f"- query prompt: `{emb.config.query_prompt}` (`encode_query`)"]
            if emb.config.query_prompt
            else []
        ),
        *(
            [f"- document prompt: `{emb.config.document_prompt}` (`encode_document`)"]
            if emb.config.document_prompt
            else []
        ),
        f"- normalised: {emb.config.normalize}",
        f"- max length: {emb.config.max_length} tokens",
        *(
            [f"- Matryoshka-trained sizes: {emb.config.matryoshka_dims} (truncate, re-normalise)"]
            if emb.config.matryoshka_dims
            else []
        ),
        *(
            [
                f"- rotated so the first dimensions carry the most variance ({emb.config.rotation})"
                + ("; embedtune applies `rotation.npy`" if fmt in ("hf", "adapter") else "")
            ]
            if emb.config.rotation
            else []
        ),
        f"- exported from: `{source}`",
        "",
    ]
    run = Path(source).parent
    if (run / "run.json").is_file():
        saved = json.loads((run / "run.json").read_text())
        cfg = saved["config"]
        keys = ("batch_size", "lr", "max_steps", "lora_r", "lora_alpha", "lora_dropout")
        keys += ("temperature", "hard_negatives", "dtype")
        # the file the run actually read (the quickstart passes its data in directly, so
        # the config's `data` key can name a file the run never saw)
        recipe = {"data": saved.get("data_source", cfg.get("data"))}
        recipe.update({k: cfg[k] for k in keys if k in cfg})
        lines += ["## Training recipe", "", "```json", json.dumps(recipe, indent=2), "```", ""]
    if (run / "report.md").is_file():
        lines += ["## Evaluation", "", (run / "report.md").read_text().split("\n", 2)[-1]]
    use = {
        "onnx": [
            "from embedtune.models import Embedder  # runs model.onnx in ONNX Runtime",
            "model = Embedder.load('PATH')",
        ],
    }.get(
        fmt,
        [
            "from sentence_transformers import SentenceTransformer",
            "model = SentenceTransformer('PATH')",
        ],
    )
    lines += [
        "## Use",
        "",
        "```python",
        *use,
        "vectors = model.encode(['A man plays a guitar.'])",
        "```",
    ]
    return "\n".join(lines) + "\n"


def export(
    source: str,
    output: str,
    fmt: str = "sentence-transformers",
    merge: bool = False,
    dtype: str = "fp32",
    trust_remote_code: bool | None = None,
    truncate_dim: int | None = None,
) -> Path:
    """Write ``source`` (an embedder folder or a run folder) into ``output`` as ``fmt``, with
    weights in ``dtype`` (bf16 halves the folder: 0.54 GB instead of 1.07 GB for
    gemma3-270m). ``truncate_dim``: sentence-transformers keeps only this prefix of each
    embedding (its ``truncate_dim``, read at load; meant for a Matryoshka-trained size). The
    folder is written beside ``output`` and renamed into place once it has been checked, so a
    failed export leaves nothing behind."""
    if fmt not in FORMATS:
        raise ConfigError(f"`format` must be one of {FORMATS}, got {fmt!r}")
    check_dtype(dtype)
    if Path(source).is_dir():
        source = str(resolve_run_folder(Path(source)))
    emb = Embedder.load(source, dtype="fp32", trust_remote_code=trust_remote_code)
    out = Path(output)
    _check_truncate_dim(emb, truncate_dim, fmt)
    if fmt == "adapter" and not emb.config.adapter:
        raise ConfigError(
            f"{source} holds full weights, not a LoRA adapter; use --format hf or sentence-transformers"
        )
    if fmt != "adapter" and emb.config.adapter:
        if not merge:
            log.info("merging the LoRA adapter into the base weights (full-weight formats need it)")
        emb.backbone = emb.backbone.merge_and_unload()
        emb.config.adapter = False
    if fmt != "adapter" and emb.tokenizer.pad_token is None:
        # Llama, Mistral and Phi tokenizers have none; embedtune pads with EOS (the attention
        # mask hides it), and peers refuse to pad a batch at all without one
        emb.tokenizer.pad_token = emb.tokenizer.eos_token
    if fmt == "onnx" and dtype != "fp32":
        raise ConfigError("--format onnx writes float32 weights (ONNX Runtime's CPU kernels)")
    if fmt != "adapter":
        emb.backbone.to(torch_dtype(dtype))
    nbytes = sum(p.numel() * p.element_size() for p in emb.parameters())
    with atomic_dir(out, nbytes, f"export to {out}") as tmp:
        if fmt == "sentence-transformers":
            _write_sentence_transformers(emb, tmp, truncate_dim)
            emb.backbone.float()
            cos = sentence_transformers_agreement(emb, tmp, truncate_dim)
            least = 0.9999 if dtype == "fp32" else 0.99
            if cos < least:
                raise EmbedtuneError(
                    f"the exported model embeds differently in sentence-transformers (min cosine "
                    f"{cos:.6f} < {least}); export with --format hf"
                )
        elif fmt == "onnx":
            export_onnx(emb, tmp)
        else:
            emb.save(tmp)
        (tmp / "README.md").write_text(_model_card(emb, source, fmt))
        curve = Path(source).parent / "learning_curve.png"
        if curve.is_file():  # the card's evaluation section links it
            shutil.copy2(curve, tmp / curve.name)
    return out


def sentence_transformers_agreement(
    emb: Embedder, folder: Path, truncate_dim: int | None = None
) -> float:
    """Least cosine between embedtune's and sentence-transformers' embeddings of the check
    texts (so padding, the pad token and the EOS all take part); with ``truncate_dim``, of
    the prefixes."""
    from sentence_transformers import SentenceTransformer

    from embedtune.export.checks import least_agreement

    trust = emb.config.trust_remote_code
    model = SentenceTransformer(str(folder), device="cpu", trust_remote_code=trust)
    return least_agreement(
        lambda texts: emb.encode(texts, batch_size=len(texts))[:, :truncate_dim],
        lambda texts: model.encode(texts, batch_size=len(texts), convert_to_numpy=True),
    )


def _check_truncate_dim(emb: Embedder, truncate_dim: int | None, fmt: str) -> None:
    if truncate_dim is None:
        return
    if fmt != "sentence-transformers" or not 1 <= truncate_dim <= emb.dim:
        raise ConfigError(
            f"--truncate-dim must be in [1, {emb.dim}] and goes with --format sentence-transformers"
        )
    trained = emb.config.matryoshka_dims or []
    if truncate_dim not in trained and truncate_dim != emb.dim:
        log.info(
            f"truncating to {truncate_dim} dimensions, not one of the Matryoshka-trained sizes "
            f"{trained or '(none: this model was not trained for truncation)'}"
        )


def _drop_chat_template(folder: Path) -> None:
    """sentence-transformers wraps texts in the tokenizer's chat template when it has one
    (SmolLM2-Instruct does); embedtune embeds plain text, so the export must too."""
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = folder / "tokenizer_config.json"
    if config.is_file():
        raw = json.loads(config.read_text())
        if raw.pop("chat_template", None) is not None:
            config.write_text(json.dumps(raw, indent=2))


def _write_sentence_transformers(
    emb: Embedder, folder: Path, truncate_dim: int | None = None
) -> None:
    try:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import (
            Dense,
            Normalize,
            Pooling,
            Transformer,
        )
    except ImportError:
        raise EmbedtuneError(
            "exporting for sentence-transformers needs it installed: pip install sentence-transformers"
        ) from None
    cfg = emb.config
    prefixes = {}  # sentence-transformers prompt name -> prefix
    for name, template in (
        ("default", cfg.prompt),
        ("query", cfg.query_prompt),
        ("document", cfg.document_prompt),
    ):
        if template is None:
            continue
        prefix, _, suffix = template.partition("{}")
        if suffix:
            raise ConfigError(
                f"sentence-transformers prompts are prefixes; {template!r} has text after the {{}}: use --format hf"
            )
        if prefix:
            prefixes[name] = prefix
    if cfg.append_eos:
        make_tokenizer_append_eos(emb.tokenizer)
    emb.tokenizer.padding_side = (
        "right"  # ST passes no position ids: right padding keeps them right
    )
    hf_dir = folder / ".hf"
    emb.save(hf_dir)
    _drop_chat_template(hf_dir)
    trust = {"trust_remote_code": True} if cfg.trust_remote_code else {}
    modules = [
        Transformer(
            str(hf_dir),
            max_seq_length=cfg.max_length,
            model_kwargs=trust,
            processor_kwargs=trust,
            config_kwargs=trust,
        ),
        Pooling(emb.dim, pooling_mode=ST_POOLING[cfg.pooling][0]),
    ]
    if emb.rotation is not None:  # x @ R.T is a bias-free linear layer with weight R
        weight = emb.rotation.detach().float().cpu()
        modules.append(
            Dense(emb.dim, emb.dim, bias=False, activation_function=None, init_weight=weight)
        )
    if cfg.normalize:
        modules.append(Normalize())
    st = SentenceTransformer(modules=modules, device="cpu", truncate_dim=truncate_dim)
    if prefixes:
        # encode() uses "default"; encode_query() / encode_document() use "query" / "document"
        st.prompts = prefixes
        st.default_prompt_name = "default" if "default" in prefixes else None
    st.save(str(folder))
    shutil.rmtree(hf_dir)
    cfg.save(folder)  # Embedder.load(DIR) reads the same folder
    if emb.rotation is not None:
        save_rotation(folder, emb.rotation.cpu().numpy())
