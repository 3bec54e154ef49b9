"""Re-measure the study's findings at CPU scale: one command runs the grid, one writes the report.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/reproduce.py run            # the whole grid
    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/reproduce.py run --only hard_negatives
    python benchmarks/reproduce.py plan                                             # what is left
    python benchmarks/reproduce.py report                                           # docs/reproduction.md
    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/reproduce.py model --only beyond/mean

Every run is ``embedtune train --config configs/cpu-gemma3-270m.yaml`` plus the flags of its
cell, in ``runs/reproduce/<cell>/<run>`` (a checkpoint about every 1,920 triplets: every 60
steps of the recipe, 15 at batch 128, 3 at 512; so an interrupted run resumes where it
stopped). When a run finishes, its light files (report, metrics, config, versions, evaluations)
are copied to ``benchmarks/results/reproduce/<cell>/<run>/``; a run whose folder there holds
``report.json`` is finished and skipped. The report is generated only from those folders: no
number in docs/reproduction.md is typed by hand. ``model`` trains the chosen runs' model
folders into ``runs/`` whether or not their results are committed (a fresh clone has the
results, not the weights), for scripts that start from one of them; it copies nothing and
leaves the report.

The grid (gemma3-270m unless named; the recipe's 360 steps of 32 triplets unless named):
1. ``main``: before / after per task for gemma3-270m (the 30-minute recipe), smollm2-135m (same
   recipe) and minilm-l6 (fully fine-tuned, mean pooling);
2. ``hard_negatives``: with and without, seeds 42, 1, 2;
3. ``learning_curve``: 500 steps, STS-B dev every 20 steps, nine tasks at 100, 200 and 500;
4. ``learning_rate``: 5e-3, 5e-4, 5e-5;
5. ``prompts``: none and the three templates, before and after;
6. ``batch_size``: 8, 32, 128, 512 (GradCache, 32 texts at a time, above 32), 12,288
   triplets seen by each (not the same ones: benchmarks/batch_subsets.py counts the overlap);
7. ``beyond``: levers the study did not try (``BEYOND``), one at a time against the recipe,
   each inside its 30 minutes, selected on STS-B dev only;
8. ``combined``: the selected factors together, seeds 42, 1 and 2 (planned once ``beyond``
   is finished).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = "configs/cpu-gemma3-270m.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "reproduce"
RUNS = ROOT / "runs" / "reproduce"
DOC = ROOT / "docs" / "reproduction.md"
LIGHT_FILES = ("report.json", "run.json", "metrics.jsonl", "before.json", "after.json")
FIXED = ["--max-minutes", "600"]  # grid runs are fixed-step, not time-capped
NO_BEFORE = ["--no-eval-before"]  # the untrained gemma3-270m is scored once, in main
PROMPTS = {
    "none": "{}",
    "one-word": 'This sentence: "{}" means in one word: "',
    "means": "This sentence {} means: ",
    "is": "{} is: ",
}
TRIPLETS_SEEN = 32 * 384  # divisible by 8, 32, 128 and 512
ALL_LINEAR = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
# "Beyond the study": one factor at a time against today's recipe, each inside the recipe's
# 30 minutes of training (no FIXED: the time cap stays), STS-B dev every 60 steps for
# selection; the baseline is rerun here so every factor meets it on the same machine.
BEYOND = [
    ("baseline", [], "today's recipe, rerun beside the factors"),
    ("mean", ["--pooling", "mean"], "mean pooling instead of the EOS state"),
    ("weighted-mean", ["--pooling", "weighted_mean"], "position-weighted mean pooling"),
    (
        "bidirectional-mean",
        # packing keeps texts apart through the causal mask this lifts, so it is off here
        ["--attention", "bidirectional", "--pooling", "mean", "--pack-tokens", "0"],
        "causal mask lifted (no MNTP warm-up), mean pooling",
    ),
    (
        "lora-all-r16",
        ["--lora-target-modules", ALL_LINEAR, "--lora-r", "16"],
        "LoRA r 16 on every linear layer",
    ),
    ("no-fn-mask", ["--no-mask-false-negatives"], "false negatives left in the denominator"),
    ("random-batches", ["--no-group-by-length"], "batches not grouped by length"),
    (
        "batch-128",
        ["--batch-size", "128", "--mini-batch-size", "32", "--max-steps", "90"]
        + ["--warmup-steps", "5"],
        "128 triplets a step (GradCache), the same 11,520 triplets",
    ),
    ("600-steps", ["--max-steps", "600"], "600 steps: more triplets, if the minutes allow"),
    (
        "full-epoch",
        ["--max-steps", "909"],
        "every triplet once (909 steps), which the packed, compiled step fits in 30 minutes",
    ),
    (
        "average-last-4",
        ["--average-last", "4", "--average-every", "30"],
        "final weights: the mean of steps 270, 300, 330, 360",
    ),
]


DEV_MARGIN = 0.3  # STS-B dev points a factor must gain over the baseline to be selected
SEEDS = (42, 1, 2)  # the combined recipe's seeds (42: the recipe's own)


@dataclass
class Run:
    cell: str
    name: str
    flags: list[str] = field(default_factory=list)
    what: str = ""
    save_every: int = 60  # steps; checkpoints hold no state that changes the training

    @property
    def key(self) -> str:
        return f"{self.cell}/{self.name}"

    def command(self, runs: Path) -> list[str]:
        out = runs / self.cell / self.name
        return ["embedtune", "train", "--config", BASE_CONFIG, *self.flags] + [
            "--save-every",
            str(self.save_every),
            "--output-dir",
            str(out),
            "--resume",
        ]


def final_dev(report: dict | None) -> float | None:
    """STS-B dev Spearman of a run's final weights (its report's last history row: after
    averaging, the averaged model's); None for a run not finished or scored on no dev set."""
    history = (report or {}).get("eval_history") or []
    return history[-1]["spearman"] if history else None


def selected(results: Path = RESULTS) -> list[str] | None:
    """The "beyond" factors whose final STS-B dev beats the baseline's by more than
    ``DEV_MARGIN`` (the nine test tasks are never read); None until every run has a dev
    score."""
    reports = {name: results / "beyond" / name / "report.json" for name, _, _ in BEYOND}
    dev = {
        name: final_dev(json.loads(path.read_text()) if path.is_file() else None)
        for name, path in reports.items()
    }
    if any(v is None for v in dev.values()):
        return None
    return [n for n, v in dev.items() if n != "baseline" and v > dev["baseline"] + DEV_MARGIN]


def combined(results: Path = RESULTS) -> list[Run]:
    """The selected factors together (flags in the grid's order, a later one overriding an
    earlier one), one run per seed; none until the selection is made. With no factor
    selected the combination is the recipe itself, whose seed-42 run is beyond/baseline, so
    only the other seeds run."""
    winners = selected(results)
    if winners is None:
        return []
    flags = [f for name, fl, _ in BEYOND if name in winners for f in fl]
    what = " + ".join(winners) if winners else "the recipe (no factor selected)"
    return [
        Run(
            "combined",
            f"seed-{seed}",
            [*NO_BEFORE, "--eval-every", "60", *flags] + ["--seed", str(seed)],
            f"{what}, seed {seed}",
        )
        for seed in SEEDS
        if winners or seed != 42
    ]


def grid(results: Path = RESULTS) -> dict[str, list[Run]]:
    """Every cell; the last one, ``combined``, exists once ``beyond`` is finished (read from
    ``results``)."""
    cells: dict[str, list[Run]] = {
        "main": [
            Run("main", "gemma3-270m", [], "the 30-minute recipe"),
            Run("main", "smollm2-135m", ["--model", "smollm2-135m"], "same recipe"),
            Run(
                "main",
                "minilm-l6",
                [
                    "--model",
                    "minilm-l6",
                    "--full-finetune",
                    "--pooling",
                    "mean",
                    "--lr",
                    "2e-5",
                    "--attn-implementation",
                    "sdpa",
                ],
                "every weight trained, mean pooling, lr 2e-5",
            ),
        ],
        "hard_negatives": [
            Run(
                "hard_negatives",
                f"{'with' if hn else 'without'}-seed{seed}",
                [*FIXED, *NO_BEFORE, "--eval-every", "0", "--seed", str(seed)]
                + ([] if hn else ["--no-hard-negatives"]),
                f"{'with' if hn else 'without'} hard negatives, seed {seed}",
            )
            for seed in (42, 1, 2)
            for hn in (True, False)
        ],
        "learning_curve": [
            Run(
                "learning_curve",
                "500-steps",
                [*FIXED, *NO_BEFORE, "--max-steps", "500", "--eval-every", "20"]
                + ["--eval-tasks-at", "100,200"],
                "STS-B dev every 20 steps; nine tasks at 100, 200, 500",
            )
        ],
        "learning_rate": [
            Run(
                "learning_rate",
                f"lr-{lr}",
                [*FIXED, *NO_BEFORE, "--eval-every", "0", "--lr", lr],
                f"peak lr {lr}",
            )
            for lr in ("5e-3", "5e-4", "5e-5")
        ],
        "prompts": [
            Run("prompts", name, [*FIXED, "--eval-every", "0", "--prompt", template], template)
            for name, template in PROMPTS.items()
        ],
        "batch_size": [
            Run(
                "batch_size",
                f"batch-{b}",
                [*FIXED, *NO_BEFORE, "--eval-every", "0", "--batch-size", str(b)]
                + ["--max-steps", str(TRIPLETS_SEEN // b)]
                + ["--warmup-steps", str(max(1, 20 * 32 // b))]
                + (["--mini-batch-size", "32"] if b > 32 else []),
                f"{b} triplets a step, {TRIPLETS_SEEN // b} steps",
                save_every=60 * 32 // b,
            )
            for b in (8, 32, 128, 512)
        ],
        "beyond": [
            Run(
                "beyond",
                name,
                [*NO_BEFORE, "--eval-every", "60", *flags],
                what,
            )
            for name, flags, what in BEYOND
        ],
        "combined": combined(results),
    }
    return cells


def finished(run: Run, results: Path = RESULTS) -> bool:
    return (results / run.cell / run.name / "report.json").is_file()


def select(only: str | None, results: Path = RESULTS, skip_finished: bool = True) -> list[Run]:
    """The runs of the chosen cells (all when ``only`` is None) not finished yet (or all)."""
    cells = grid(results)
    names = only.split(",") if only else list(cells)
    unknown = [n for n in names if n not in cells and "/" not in n]
    if unknown:
        raise SystemExit(f"unknown cell {', '.join(unknown)}; cells: {', '.join(cells)}")
    chosen = []
    for name in names:
        if "/" in name:  # one run: cell/run
            cell, _, run = name.partition("/")
            matches = [r for r in cells.get(cell, []) if r.name == run]
            if not matches:
                raise SystemExit(f"unknown run {name}")
            chosen += matches
        else:
            chosen += cells[name]
    return [r for r in chosen if not (skip_finished and finished(r, results))]


def keep_light_files(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    names = list(LIGHT_FILES) + [p.name for p in src.glob("at-step-*.json")]
    for name in names:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)


def run_grid(only: str | None, dry: bool, models_only: bool = False) -> None:
    """Train the selected runs; ``models_only``: every selected run whose model folder
    (``runs/.../final``) is missing, results committed or not, and keep no light files."""
    todo = select(only, skip_finished=not models_only)
    if models_only:
        todo = [r for r in todo if not (RUNS / r.cell / r.name / "final").is_dir()]
    if not todo:
        print(
            "nothing to run: every selected "
            + ("model is trained" if models_only else "run is finished")
        )
        return
    env = dict(os.environ)
    if not env.get("EMBEDTUNE_DATA_DIR"):
        raise SystemExit("set EMBEDTUNE_DATA_DIR to the data folder (nli/ and sts/)")
    for i, run in enumerate(todo, 1):
        cmd = run.command(RUNS)
        print(f"[reproduce] {i}/{len(todo)} {run.key}: {' '.join(cmd)}", flush=True)
        if dry:
            continue
        subprocess.run(cmd, check=True, cwd=ROOT, env=env)
        if not models_only:
            keep_light_files(RUNS / run.cell / run.name, RESULTS / run.cell / run.name)


# -- report ---------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("action", choices=["run", "plan", "report", "model"])
    p.add_argument("--only", help="cells or cell/run names, comma-separated (e.g. hard_negatives)")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = p.parse_args()
    from reproduce_report import write_report  # the report reads this module's grid

    if args.action == "plan":
        todo = select(args.only)
        print("\n".join(f"{r.key}: {' '.join(r.command(RUNS))}" for r in todo) or "all finished")
    elif args.action == "run":
        run_grid(args.only, args.dry_run)
        write_report()
    elif args.action == "model":
        if not args.only:
            raise SystemExit("model needs --only (the runs whose model folders a script needs)")
        run_grid(args.only, args.dry_run, models_only=True)
    else:
        write_report()
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
