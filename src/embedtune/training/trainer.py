"""The training loop: LoRA + InfoNCE with in-batch and hard negatives, the study's recipe.

A step (``Trainer.train_step``) reads top to bottom in phases: lr, forward, backward, clip,
step; the loop around it logs, evaluates and checkpoints. The batch order and lr are pure
functions of (seed, step), and checkpoints hold the RNG state, so a resumed run ends with the
same weights as an uninterrupted one. Set-up checks come from ``state.py``, the tokenized
triplets from ``encoded.py``, everything written for people from ``outputs.py``.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from pathlib import Path

import torch
from tqdm.auto import tqdm

from embedtune import devices, parallel
from embedtune.atomic import atomic_dir
from embedtune.config import TrainConfig
from embedtune.data.batching import batch_stream, rank_share
from embedtune.data.sts import STSData
from embedtune.data.triplets import Triplets
from embedtune.errors import TrainingError
from embedtune.log import log
from embedtune.models import Embedder
from embedtune.models.compiling import check_compiler
from embedtune.training import checkpoint as ckpt
from embedtune.training import gradcache
from embedtune.training import model as setup_model
from embedtune.training.averaging import averager_for
from embedtune.training.encoded import EncodedTriplets
from embedtune.training.evaluations import dev_score, evaluate_dev, evaluate_final, metric_name
from embedtune.training.outputs import MetricsLog, finish_run, metrics_row, say_time_limit
from embedtune.training.schedule import lr_at
from embedtune.training.state import TrainState, preflight

MAX_BAD_STEPS = 5  # consecutive non-finite steps before giving up


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
        self.loss_fn = setup_model.loss_for(cfg)
        self.metrics = MetricsLog(self.out)
        self.masked = 0  # false-negative candidates masked since the last metrics row

    def setup(self) -> None:
        """Everything before the first step: checks, model, the untrained score, LoRA,
        optimizer, tokenized data, and the state of a resumed run. ``train`` calls it; the
        speed probes in benchmarks/ call it and then ``train_step``."""
        cfg = self.cfg
        self.device = devices.local_device(cfg.device)
        parallel.init_from_env(self.device)
        checkpoints, self.fingerprint = preflight(cfg, self.triplets, self.out)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        if self.embedder is None:
            self.embedder = setup_model.build_embedder(cfg, self.device)
        else:
            self.embedder.to(self.device)
        setup_model.check_model(self.embedder, cfg)
        # refused here, before any work, if unsafe or impossible
        self.embedder.pack_texts(cfg.pack_tokens or None)
        if cfg.compile:
            check_compiler(self.device.type)
        before = self.out / "before.json"
        if checkpoints:
            self.before = json.loads(before.read_text()) if before.is_file() else None
        else:
            self.before = evaluate_final(self, "before") if cfg.eval_before else None
        self.params = setup_model.make_trainable(self.embedder, cfg)
        self.optimizer = setup_model.optimizer_for(self.params, cfg)
        self.data = EncodedTriplets(self.triplets, self.embedder, cfg)
        per_epoch = len(self.triplets) // cfg.batch_size
        self.total_steps = cfg.max_steps or max(1, math.floor(cfg.epochs * per_epoch))
        self.state = TrainState()
        ckpt.remove_partial(self.out / "checkpoints")
        if checkpoints:
            saved = ckpt.load_checkpoint(checkpoints[-1], self.embedder, self.optimizer)
            saved.pop("fingerprint", None)
            self.state = TrainState(**saved)
            self.state.resumes += 1
            log.info(f"resuming from {checkpoints[-1]} (step {self.state.step})")
        self.metrics.start(self.state.step if checkpoints else None)
        self.averager = averager_for(cfg, self.embedder, self.out, self.state.step)
        parallel.barrier()  # nobody starts before the main process has cleaned up

    # -- one step -------------------------------------------------------------------------
    def micro_batch_backward(self, idx: list[int], scale: float) -> tuple[float, int]:
        """Loss of one micro-batch (this process's share), backpropagated; returns the
        loss averaged over processes, and the tokens this process embedded.

        Each process embeds its own anchors and candidates, then scores its anchors against
        the positives and hard negatives of every process (gathered with gradients). With
        ``mini_batch_size`` the embeddings are computed by gradient caching.
        """
        cfg, emb = self.cfg, self.embedder
        anchor_ids, cand_ids = self.data.texts_of(idx)
        cached = cfg.mini_batch_size is not None and cfg.mini_batch_size < len(cand_ids)
        mini = cfg.mini_batch_size if cached else None
        anchors, finish_anchors = gradcache.embed(emb, anchor_ids, mini)  # (B, D)
        cands, finish_cands = gradcache.embed(emb, cand_ids, mini)  # (B, D) or (2B, D)
        positives, negatives = cands[: len(idx)], cands[len(idx) :]
        all_positives = parallel.gather_with_grad(positives)  # (P*B, D)
        all_negatives = parallel.gather_with_grad(negatives) if len(negatives) else None
        offset = parallel.rank() * len(idx)
        mask = self.data.false_negatives(idx, offset)
        if mask is not None:
            self.masked += int(mask.sum())
            mask = mask.to(anchors.device)
        loss = self.loss_fn(anchors, all_positives, all_negatives, offset, mask)
        (loss * scale).backward()
        finish_anchors()  # GradCache: replay each mini-batch with its cached gradient
        finish_cands()
        tokens = sum(len(x) for x in anchor_ids) + sum(len(x) for x in cand_ids)
        return parallel.all_reduce_sum(loss.item()) / parallel.world_size(), tokens

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
            loss, n_tok = self.micro_batch_backward(mine, 1.0 / cfg.grad_accum)
            loss_sum += loss / cfg.grad_accum
            tokens += n_tok
        parallel.average_gradients(self.params)
        # clip; a non-finite loss or gradient skips the step
        norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm or float("inf"))
        if math.isfinite(loss_sum) and torch.isfinite(norm):
            st.bad_in_row = 0
            # step
            self.optimizer.step()
        else:
            st.bad_in_row += 1
            st.skipped_steps += 1
            warnings.warn(
                f"step {st.step}: non-finite loss or gradient, step skipped ({st.bad_in_row} in a row)",
                stacklevel=2,
            )
            if st.bad_in_row >= MAX_BAD_STEPS:
                self.optimizer.zero_grad(set_to_none=True)
                raise TrainingError(
                    f"{st.bad_in_row} non-finite steps in a row at step {st.step}; stopping (try a lower --lr or --dtype fp32)"
                )
        self.optimizer.zero_grad(set_to_none=True)
        return loss_sum, tokens, lr

    # -- the loop -------------------------------------------------------------------------
    def train(self) -> dict:
        start = time.perf_counter()
        self.setup()
        cfg, st = self.cfg, self.state
        self._wall_start = start - st.wall_seconds
        self.embedder.train()
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
        window = [time.perf_counter(), 0, 0]  # start, triplets, tokens since the last row
        stop_reason = "max_steps"
        batches = batch_stream(
            self.data.lengths,
            cfg.batch_size,
            cfg.seed,
            cfg.group_by_length,
            st.epoch,
            st.batch_in_epoch,
        )
        for epoch, index, batch in batches:
            if st.step >= self.total_steps:
                break
            if st.next_step_passes(cfg.max_minutes):
                stop_reason = "max_minutes"
                break
            step_start = time.perf_counter()
            loss, tokens, lr = self.train_step(batch)
            st.step, st.epoch, st.batch_in_epoch = st.step + 1, epoch, index + 1
            st.train_seconds += time.perf_counter() - step_start
            window[1] += len(batch)
            window[2] += tokens
            bar.update(1)
            # log
            if cfg.log_every and (st.step % cfg.log_every == 0 or st.step == self.total_steps):
                row = metrics_row(self, loss, lr, window)
                bar.set_postfix(
                    loss=f"{loss:.4f}", lr=f"{lr:.2e}", tps=f"{row['triplets_per_s']:.1f}"
                )
                window = [time.perf_counter(), 0, 0]
            # evaluate
            if cfg.eval_every and self.dev is not None and st.step % cfg.eval_every == 0:
                self._eval_and_track()
                window[0] = time.perf_counter()
            if cfg.eval_tasks_at and st.step in cfg.eval_tasks_at:
                evaluate_final(self, f"at-step-{st.step}")
                window[0] = time.perf_counter()
            if self.averager is not None:
                self.averager.after_step(st.step)
            # checkpoint
            if cfg.save_every and st.step % cfg.save_every == 0:
                self._checkpoint()
        bar.close()
        if stop_reason == "max_minutes" and parallel.is_main():
            say_time_limit(cfg.max_minutes, st.step, self.total_steps)
        if self.dev is not None and (not st.eval_history or st.eval_history[-1]["step"] != st.step):
            self._eval_and_track()
        if self.averager is not None:
            steps = self.averager.apply(st.step)
            if self.dev is not None:
                self._eval_and_track(averaged=steps)
        final = self._save_embedder("final")
        after = evaluate_final(self, "after")
        return finish_run(self, stop_reason, after, final, self._wall_start)

    # -- evaluation, saving -----------------------------------------------------------------
    def _eval_and_track(self, averaged: list[int] | None = None) -> None:
        """The dev set now: a metrics row, the history, and best/ when it is the best so far
        (``averaged``: the steps whose weights are averaged into the model now)."""
        st, row = self.state, evaluate_dev(self)
        if averaged:
            row["averaged"] = averaged
        st.eval_history.append(row)
        self.metrics.write({"step": st.step, "eval": {row["task"]: row["score"]}})
        if st.best is None or row["score"] > dev_score(st.best):
            st.best = row
            self._save_embedder("best")
        if parallel.is_main():
            log.info(
                f"step {st.step}: {row['task']} {metric_name(row)} {row['score']:.2f} "
                f"(best {dev_score(st.best):.2f} at step {st.best['step']})"
            )

    def _save_embedder(self, name: str) -> Path:
        """Save the embedder into out/name atomically; the main process writes, the others
        wait for it."""
        target = self.out / name
        if parallel.is_main():
            with atomic_dir(target) as tmp:
                self.embedder.save(tmp)
        parallel.barrier()
        return target

    def _checkpoint(self) -> None:
        st = self.state
        if parallel.is_main():
            st.wall_seconds = time.perf_counter() - self._wall_start
            state = {k: getattr(st, k) for k in TrainState.__dataclass_fields__}
            state["fingerprint"] = self.fingerprint
            folder = self.out / "checkpoints" / f"step-{st.step}"
            ckpt.save_checkpoint(folder, self.embedder, self.optimizer, state)
            best_step = st.best["step"] if st.best else None
            ckpt.prune_checkpoints(self.out / "checkpoints", self.cfg.keep_checkpoints, best_step)
        parallel.barrier()
