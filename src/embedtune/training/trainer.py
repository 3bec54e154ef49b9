"""The training loop: LoRA + InfoNCE with in-batch and hard negatives, the study's recipe.

A step (``Trainer.train_step``) reads top to bottom in phases: lr, forward, backward, clip,
step; the loop around it logs, evaluates and checkpoints. The batch order and lr are pure
functions of (seed, step), and checkpoints hold the RNG state, so a resumed run ends with the
same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from embedtune import devices, parallel
from embedtune.atomic import atomic_dir
from embedtune.config import TrainConfig
from embedtune.data.batching import epoch_batches, rank_share
from embedtune.data.sts import STSData
from embedtune.data.triplets import Triplets
from embedtune.errors import TrainingError
from embedtune.evaluation.child import evaluate_in_child
from embedtune.evaluation.run import result_json
from embedtune.evaluation.sts import evaluate_sts
from embedtune.losses import InfoNCELoss
from embedtune.losses.false_negatives import false_negative_mask, text_keys
from embedtune.models import Embedder
from embedtune.models.lora import apply_lora, check_targets
from embedtune.training import checkpoint as ckpt
from embedtune.training import gradcache
from embedtune.training.fingerprint import check_same_run, fingerprint
from embedtune.training.report import plot_learning_curve, versions, write_report
from embedtune.training.schedule import lr_at

MAX_BAD_STEPS = 5  # consecutive non-finite steps before giving up


def _describe(device: torch.device) -> str:
    """'cuda:0 (NVIDIA H100 80GB HBM3)' or 'cpu': run.json says what the timings ran on."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def _peak_gpu_gib(device: torch.device) -> float | None:
    """Most GPU memory torch held at once in this process (None on CPU): what a user sizing
    --batch-size / --mini-batch-size for their card needs to know."""
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 2)


@dataclass
class TrainState:
    """Everything besides weights/optimizer/RNG that a resume needs."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    train_seconds: float = 0.0
    # wall-clock seconds up to the last checkpoint, summed over resumes, so a run stopped and
    # resumed reports the time it took rather than the time since the last start
    wall_seconds: float = 0.0
    resumes: int = 0
    eval_history: list[dict] = field(default_factory=list)
    best: dict | None = None
    skipped_steps: int = 0
    bad_in_row: int = 0  # consecutive non-finite steps, so a resume keeps counting them


def weight_dtype(cfg: TrainConfig) -> str:
    """Base weights in bf16 under LoRA (they are frozen), fp32 for full fine-tuning (they
    are the master weights; compute still autocasts)."""
    return cfg.dtype if cfg.lora else "fp32"


def build_embedder(cfg: TrainConfig, device: torch.device | str = "cpu") -> Embedder:
    """The backbone for training, in :func:`weight_dtype`, computing in ``cfg.dtype``."""
    embedder = Embedder.load(
        cfg.model,
        pooling=cfg.pooling,
        prompt=cfg.prompt,
        dtype=weight_dtype(cfg),
        device=device,
        attn_implementation=cfg.attn_implementation,
        trust_remote_code=cfg.trust_remote_code,
    )
    embedder.compute_dtype = cfg.dtype
    return embedder


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        triplets: Triplets,
        dev: STSData | None = None,
        final_tasks: list[STSData] | None = None,
        data_label: str = "local",
        embedder: Embedder | None = None,
    ):
        self.cfg = cfg
        self.triplets = triplets
        self.dev = dev
        self.final_tasks = final_tasks or []
        self.data_label = data_label
        self.out = Path(cfg.output_dir)
        self.embedder = embedder
        self.loss_fn = InfoNCELoss(cfg.temperature, cfg.hard_negatives)
        self._tb = None  # TensorBoard writer, made on first log when tensorboard is installed
        self.masked = 0  # false-negative candidates masked since the last metrics row

    # -- set-up ---------------------------------------------------------------------------
    def _prepare(self) -> None:
        cfg = self.cfg
        self.device = devices.local_device(cfg.device)
        parallel.init_from_env(self.device)
        world = parallel.world_size()
        if cfg.batch_size % (world * cfg.grad_accum):
            raise TrainingError(
                f"`batch_size` {cfg.batch_size} must split evenly over {world} processes x {cfg.grad_accum} accumulation steps"
            )
        # everything that can be checked without the model is checked before it loads, and
        # before the (minutes-long) evaluation of the untrained model writes anything
        per_epoch = len(self.triplets) // cfg.batch_size
        if per_epoch == 0:
            raise TrainingError(
                f"{self.triplets.source}: {len(self.triplets)} triplets are fewer than one batch "
                f"of {cfg.batch_size}; lower --batch-size"
            )
        checkpoints = ckpt.list_checkpoints(self.out / "checkpoints")
        if checkpoints and not cfg.resume:
            raise TrainingError(
                f"{self.out} already holds checkpoints; pass --resume to continue or choose another --output-dir"
            )
        self.fingerprint = fingerprint(cfg.to_dict(), self.triplets.sha256)
        if cfg.resume and checkpoints:
            saved = json.loads((checkpoints[-1] / "state.json").read_text())
            check_same_run(saved.get("fingerprint"), self.fingerprint, str(checkpoints[-1]))
        if self.out.exists() and not self.out.is_dir():
            raise TrainingError(f"--output-dir {self.out} is a file, not a folder")
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        if self.embedder is None:
            self.embedder = build_embedder(cfg, self.device)
        else:
            self.embedder.to(self.device)
        if cfg.lora:
            check_targets(self.embedder.backbone, cfg.lora_target_modules)
        if cfg.resume and checkpoints:
            self.before = self._saved_before()
        else:
            self.before = self._evaluate_final("before") if cfg.eval_before else None
        torch.manual_seed(cfg.seed)  # LoRA init does not depend on what evaluation did
        if cfg.lora:
            apply_lora(
                self.embedder, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_target_modules
            )
        if cfg.gradient_checkpointing:
            self.embedder.backbone.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )
            if cfg.lora:
                self.embedder.backbone.enable_input_require_grads()
        self.params = [p for p in self.embedder.parameters() if p.requires_grad]
        # fused: one kernel for all parameters (a full fine-tune of minilm-l6 spends a
        # visible part of each step in the per-tensor optimizer otherwise)
        self.optimizer = torch.optim.AdamW(
            self.params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True
        )
        # tokenize once; batches reuse the ids
        tok = self.embedder.token_ids
        t = self.triplets
        self.anchor_ids = tok(t.anchors, cfg.max_length)
        self.positive_ids = tok(t.positives, cfg.max_length)
        self.negative_ids = (
            tok(t.negatives, cfg.max_length) if t.negatives and cfg.hard_negatives else None
        )
        self.lengths = [len(a) + len(p) for a, p in zip(self.anchor_ids, self.positive_ids)]
        # texts as stable hashes: which candidates are duplicates of an anchor's positive
        self.keys = None
        if cfg.mask_false_negatives:
            negatives = t.negatives if self.negative_ids is not None else None
            self.keys = [text_keys(x) if x else None for x in (t.anchors, t.positives, negatives)]
        self.total_steps = cfg.max_steps or max(1, math.floor(cfg.epochs * per_epoch))
        self.state = TrainState()
        ckpt.remove_partial(self.out / "checkpoints")
        if cfg.resume and checkpoints:
            latest = checkpoints[-1]
            saved = ckpt.load_checkpoint(latest, self.embedder, self.optimizer)
            saved.pop("fingerprint", None)
            self.state = TrainState(**saved)
            self.state.resumes += 1
            print(f"[embedtune] resuming from {latest} (step {self.state.step})", flush=True)
            self._rewrite_metrics(self.state.step)
        elif parallel.is_main() and (self.out / "metrics.jsonl").exists():
            (self.out / "metrics.jsonl").unlink()
        parallel.barrier()  # nobody starts before the main process has cleaned up

    def _saved_before(self) -> dict | None:
        path = self.out / "before.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def _rewrite_metrics(self, upto: int) -> None:
        """Keep the metric rows up to the resumed step; drop a row cut off by a kill."""
        path = self.out / "metrics.jsonl"
        if not path.is_file():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= upto:
                    kept.append(line)
            except (ValueError, KeyError):
                continue
        path.write_text("".join(r + "\n" for r in kept))

    # -- pieces of a step -----------------------------------------------------------------
    def _micro_batch_backward(self, idx: list[int], scale: float) -> tuple[float, int]:
        """Loss of one micro-batch (this process's share), backpropagated; returns the
        loss averaged over processes, and the tokens this process embedded.

        Each process embeds its own anchors and candidates, then scores its anchors against
        the positives and hard negatives of every process (gathered with gradients). With
        ``mini_batch_size`` the embeddings are computed by gradient caching.
        """
        cfg, emb = self.cfg, self.embedder
        anchor_ids = [self.anchor_ids[i] for i in idx]
        cand_ids = [self.positive_ids[i] for i in idx]
        if self.negative_ids is not None:
            cand_ids += [self.negative_ids[i] for i in idx]
        cached = cfg.mini_batch_size is not None and cfg.mini_batch_size < len(cand_ids)
        if cached:
            anchors, anchor_plan = gradcache.embed_without_graph(
                emb, anchor_ids, cfg.mini_batch_size
            )
            cands, cand_plan = gradcache.embed_without_graph(emb, cand_ids, cfg.mini_batch_size)
            anchors.requires_grad_(True)
            cands.requires_grad_(True)
        else:
            anchors = emb(emb.collate(anchor_ids))  # (B, D)
            cands = emb(emb.collate(cand_ids))  # (B, D) or (2B, D)
        positives, negatives = cands[: len(idx)], cands[len(idx) :]
        all_positives = parallel.gather_with_grad(positives)  # (P*B, D)
        all_negatives = parallel.gather_with_grad(negatives) if len(negatives) else None
        offset = parallel.rank() * len(idx)
        mask = self._false_negatives(idx, offset)
        if mask is not None:
            self.masked += int(mask.sum())
            mask = mask.to(anchors.device)
        loss = self.loss_fn(anchors, all_positives, all_negatives, offset, mask)
        (loss * scale).backward()
        if cached:  # replay each mini-batch with autograd and push its cached gradient in
            gradcache.replay_with_graph(emb, anchor_ids, anchor_plan, anchors.grad)
            gradcache.replay_with_graph(emb, cand_ids, cand_plan, cands.grad)
        tokens = sum(len(x) for x in anchor_ids) + sum(len(x) for x in cand_ids)
        return parallel.all_reduce_sum(loss.item()) / parallel.world_size(), tokens

    def _false_negatives(self, idx: list[int], offset: int) -> torch.Tensor | None:
        """(B, P+N) mask of this process's anchors' candidates that are duplicates, from the
        text keys of every process's rows (None when masking is off)."""
        if self.keys is None:
            return None
        rows = torch.as_tensor(idx)
        a, p, n = (k[rows] if k is not None else None for k in self.keys)
        gather = parallel.all_gather
        return false_negative_mask(
            a, p, gather(a), gather(p), gather(n) if n is not None else None, offset
        )

    def train_step(self, batch: list[int]) -> tuple[float, int, float]:
        """One optimizer step on ``batch`` at ``state.step``; returns (loss, tokens, lr).

        Phases: lr, seeded dropout, forward + backward per micro-batch (this process's share),
        gradient average, clip, then AdamW, or a skip when the loss or gradient is not finite.
        The loop and the speed probes in benchmarks/ call this one method, so a probe times
        exactly what training runs. The caller advances ``state.step``.
        """
        cfg, st = self.cfg, self.state
        # lr: a pure function of the step
        lr = lr_at(st.step, cfg.lr, cfg.warmup_steps, self.total_steps, cfg.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        # dropout draws are a pure function of (seed, rank, step): exact resume
        torch.manual_seed(cfg.seed * 1_000_003 + parallel.rank() * 10_007 + st.step)
        # forward + backward, one micro-batch at a time, this process's share of each
        micro = cfg.batch_size // cfg.grad_accum
        loss_sum, tokens = 0.0, 0
        for k in range(cfg.grad_accum):
            micro_batch = batch[k * micro : (k + 1) * micro]
            mine = rank_share(micro_batch, parallel.rank(), parallel.world_size())
            loss, n_tok = self._micro_batch_backward(mine, 1.0 / cfg.grad_accum)
            loss_sum += loss / cfg.grad_accum
            tokens += n_tok
        parallel.average_gradients(self.params)
        # clip; a non-finite loss or gradient skips the step
        norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm or float("inf"))
        if not (math.isfinite(loss_sum) and torch.isfinite(norm)):
            self.optimizer.zero_grad(set_to_none=True)
            st.bad_in_row += 1
            st.skipped_steps += 1
            warnings.warn(
                f"step {st.step}: non-finite loss or gradient, step skipped ({st.bad_in_row} in a row)",
                stacklevel=2,
            )
            if st.bad_in_row >= MAX_BAD_STEPS:
                raise TrainingError(
                    f"{st.bad_in_row} non-finite steps in a row at step {st.step}; stopping (try a lower --lr or --dtype fp32)"
                )
        else:
            st.bad_in_row = 0
            # step
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        return loss_sum, tokens, lr

    def _log(self, row: dict) -> None:
        if not parallel.is_main():
            return
        with (self.out / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")
        writer = self._tensorboard()
        if writer:
            scalars = {
                **{k: v for k, v in row.items() if k != "step" and isinstance(v, (int, float))},
                **{f"eval/{k}": v for k, v in row.get("eval", {}).items()},
            }
            for key, value in scalars.items():
                writer.add_scalar(key, value, row["step"])
            writer.flush()

    def _tensorboard(self):
        """A TensorBoard writer into out/tensorboard when tensorboard is installed, else None."""
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.out / "tensorboard"))
            except ImportError:
                self._tb = False
        return self._tb or None

    def _evaluate_dev(self) -> dict | None:
        if self.dev is None:
            return None
        result = evaluate_sts(
            self.embedder, [self.dev], batch_size=self.cfg.eval_batch_size, show_progress=False
        )
        score = result["tasks"][self.dev.key]["spearman"]
        return {"step": self.state.step, "task": self.dev.key, "spearman": round(score, 4)}

    def _evaluate_final(self, when: str) -> dict | None:
        if not self.final_tasks:
            return None
        if parallel.is_main():
            print(
                f"[embedtune] evaluating {when} training on {', '.join(t.key for t in self.final_tasks)}",
                flush=True,
            )
        cfg = self.cfg
        if when == "after" and cfg.eval_in_subprocess and parallel.world_size() == 1:
            scores = evaluate_in_child(
                self.out / "final",
                self.final_tasks,
                cfg.eval_batch_size,
                cfg.dtype,
                dtype=weight_dtype(cfg),
                device=str(self.device),
                attn_implementation=cfg.attn_implementation,
            )
        else:
            scores = evaluate_sts(self.embedder, self.final_tasks, batch_size=cfg.eval_batch_size)
        result = result_json(self.embedder, cfg.model, scores)
        if parallel.is_main():
            (self.out / f"{when}.json").write_text(json.dumps(result, indent=2) + "\n")
        return result

    def _save_embedder(self, name: str) -> Path:
        """Save the embedder into out/name atomically (temp folder, then rename); the main
        process writes, the others wait for it."""
        target = self.out / name
        if not parallel.is_main():
            parallel.barrier()
            return target
        with atomic_dir(target) as tmp:
            self.embedder.save(tmp)
        parallel.barrier()
        return target

    # -- the loop -------------------------------------------------------------------------
    def train(self) -> dict:
        start = time.perf_counter()
        self._prepare()
        cfg, st, emb = self.cfg, self.state, self.embedder
        self._wall_start = start - st.wall_seconds
        emb.train()
        if st.step == 0 and cfg.eval_every and self.dev is not None:
            self._eval_and_track()  # step 0: the curve starts from the untrained model
        bar = tqdm(
            total=self.total_steps,
            initial=st.step,
            desc="train",
            unit="step",
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
            disable=not parallel.is_main(),
        )
        window_start, window_triplets, window_tokens = time.perf_counter(), 0, 0
        stop_reason = "max_steps"
        while st.step < self.total_steps:
            batches = epoch_batches(
                self.lengths, cfg.batch_size, cfg.seed, st.epoch, cfg.group_by_length
            )
            while st.batch_in_epoch < len(batches) and st.step < self.total_steps:
                if cfg.max_minutes is not None and st.train_seconds >= cfg.max_minutes * 60:
                    stop_reason = "max_minutes"
                    break
                step_start = time.perf_counter()
                batch = batches[st.batch_in_epoch]
                loss_sum, tokens, lr = self.train_step(batch)
                st.step += 1
                st.batch_in_epoch += 1
                st.train_seconds += time.perf_counter() - step_start
                window_triplets += len(batch)
                window_tokens += tokens
                bar.update(1)
                # log
                if cfg.log_every and (st.step % cfg.log_every == 0 or st.step == self.total_steps):
                    elapsed = max(time.perf_counter() - window_start, 1e-9)
                    window_tokens = int(parallel.all_reduce_sum(window_tokens))  # every rank's
                    row = {
                        "step": st.step,
                        "loss": round(loss_sum, 6),
                        "lr": lr,
                        "triplets_per_s": round(window_triplets / elapsed, 2),
                        "tokens": window_tokens,  # since the last row, all processes
                        "masked": int(parallel.all_reduce_sum(self.masked)),  # false negatives
                        "tokens_per_s": round(window_tokens / elapsed, 1),
                        "train_seconds": round(st.train_seconds, 1),
                    }
                    self._log(row)
                    bar.set_postfix(
                        loss=f"{loss_sum:.4f}", lr=f"{lr:.2e}", tps=f"{row['triplets_per_s']:.1f}"
                    )
                    window_start, window_triplets, window_tokens = time.perf_counter(), 0, 0
                    self.masked = 0
                # evaluate
                if cfg.eval_every and self.dev is not None and st.step % cfg.eval_every == 0:
                    self._eval_and_track()
                    window_start = time.perf_counter()
                if cfg.eval_tasks_at and st.step in cfg.eval_tasks_at:
                    self._evaluate_final(f"at-step-{st.step}")
                    window_start = time.perf_counter()
                # checkpoint
                if cfg.save_every and st.step % cfg.save_every == 0:
                    self._checkpoint()
            else:
                st.epoch += 1
                st.batch_in_epoch = 0
                continue
            break
        bar.close()
        if stop_reason == "max_minutes" and parallel.is_main():
            print(
                f"[embedtune] stopped by the time limit (max_minutes {cfg.max_minutes:g}) after "
                f"{st.step} of {self.total_steps} planned steps; the lr schedule was planned for "
                f"{self.total_steps}, so it ended above its floor",
                flush=True,
            )
        if self.dev is not None and (not st.eval_history or st.eval_history[-1]["step"] != st.step):
            self._eval_and_track()
        final = self._save_embedder("final")
        after = self._evaluate_final("after")
        report = {
            "model": cfg.model,
            "data": self.data_label,
            "train_data": self.triplets.source,
            "train_triplets": len(self.triplets),
            "steps": st.step,
            "stop_reason": stop_reason,
            "train_seconds": round(st.train_seconds, 1),
            "skipped_steps": st.skipped_steps,
            "before": self.before,
            "after": after,
            "best": st.best,
            "eval_history": st.eval_history,
            "final": str(final),
        }
        if not parallel.is_main():
            return report
        plot_learning_curve(
            st.eval_history,
            self.out / "learning_curve.png",
            f"{cfg.model}: {self.dev.name if self.dev else ''}",
        )
        write_report(self.out, report)
        run = {
            "config": cfg.to_dict(),
            "versions": versions(),
            "seed": cfg.seed,
            "data_sha256": self.triplets.sha256,
            "data_source": self.triplets.source,
            "skipped_rows": len(self.triplets.skipped),
            "steps": st.step,
            "device": _describe(self.device),
            "peak_gpu_gib": _peak_gpu_gib(self.device),
            "train_seconds": round(st.train_seconds, 1),
            "wall_seconds": round(time.perf_counter() - self._wall_start, 1),
            "resumes": st.resumes,
            "argv": sys.argv,
        }
        (self.out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        return report

    def _eval_and_track(self) -> None:
        st = self.state
        row = self._evaluate_dev()
        if row is None:
            return
        st.eval_history.append(row)
        self._log({"step": st.step, "eval": {row["task"]: row["spearman"]}})
        if st.best is None or row["spearman"] > st.best["spearman"]:
            st.best = row
            self._save_embedder("best")
        if not parallel.is_main():
            return
        print(
            f"[embedtune] step {st.step}: {row['task']} Spearman {row['spearman']:.2f} (best {st.best['spearman']:.2f} at step {st.best['step']})",
            flush=True,
        )

    def _checkpoint(self) -> None:
        st = self.state
        if not parallel.is_main():
            parallel.barrier()
            return
        st.wall_seconds = time.perf_counter() - self._wall_start
        state = {k: getattr(st, k) for k in TrainState.__dataclass_fields__}
        state["fingerprint"] = self.fingerprint
        ckpt.save_checkpoint(
            self.out / "checkpoints" / f"step-{st.step}", self.embedder, self.optimizer, state
        )
        best_step = st.best["step"] if st.best else None
        ckpt.prune_checkpoints(
            self.out / "checkpoints", self.cfg.keep_checkpoints, protect=best_step
        )
        parallel.barrier()
