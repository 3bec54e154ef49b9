"""The benchmark scripts must keep running (tiny sizes, CPU) so they cannot rot."""

import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).parents[1] / "benchmarks"


def test_gpu_throughput_runs_tiny_on_cpu():
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH / "gpu_throughput.py"),
            "--tiny",
            "--steps",
            "2",
            "--batch",
            "4",
            "--seq",
            "8",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["arch"] == "tiny" and result["triplets_per_s"] > 0


def test_gpu_training_scripts_run_tiny_on_cpu(tiny_decoder, triplet_file, tmp_path):
    """gpu_training.py and gpu_step_profile.py on the tiny architecture, CPU, a few steps:
    the random-weight model folder, the real trainer path and the summaries they print."""
    data = tmp_path / "data"
    (data / "nli").mkdir(parents=True)
    (data / "nli" / "triplets.tsv").write_text(triplet_file.read_text())
    common = ["--tokenizer-from", str(tiny_decoder), "--arch", "tiny", "--work", str(tmp_path)]
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH / "gpu_training.py"),
            *common,
            "--data-dir",
            str(data),
            "--tasks",
            "",
            "--batches",
            "4,8/4",
            "--steps",
            "5",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(x) for x in (tmp_path / "out" / "summary.jsonl").read_text().splitlines()]
    assert [x["run"] for x in rows] == ["batch-4", "batch-8-gradcache-4"]
    assert all(x["steps"] == 5 and x["median_triplets_per_s"] > 0 for x in rows)
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH / "gpu_step_profile.py"),
            *common,
            "--data",
            str(triplet_file),
            "--batch",
            "4",
            "--steps",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "median ms" in r.stdout and "aten::mm" in r.stdout  # times, then the profile


def test_allocator_probe_runs_tiny_on_cpu(tiny_decoder, triplet_file, tmp_path):
    """allocator_aging.py with glibc on the tiny decoder: encode, train in windows, encode
    again, and the medians it prints (other allocators need their library installed)."""
    data = tmp_path / "data"
    (data / "nli").mkdir(parents=True)
    (data / "nli" / "triplets.tsv").write_text(triplet_file.read_text())
    (data / "sts" / "stsb").mkdir(parents=True)
    rows = [("a man plays a guitar", "a man plays music", 4.2), ("a cat sleeps", "a dog runs", 0.4)]
    (data / "sts" / "stsb" / "test.tsv").write_text(
        "sentence1\tsentence2\tscore\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in rows)
    )
    out = tmp_path / "probe.json"
    cmd = [sys.executable, str(BENCH / "allocator_aging.py"), "--model", str(tiny_decoder)]
    cmd += ["--batch-size", "2", "--steps", "4", "--every", "2", "--tasks", "stsb"]
    cmd += ["--allocators", "glibc", "--data-dir", str(data), "--output", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=BENCH.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    run = json.loads(out.read_text())["runs"]["glibc"][0]
    assert list(run["encode_text_per_s"]) == ["0", "2", "4"]  # before, then after each window
    assert list(run["train_tokens_per_s"]) == ["2", "4"]
    assert all(v > 0 for v in run["encode_text_per_s"].values())
    assert "glibc     encode @0:" in r.stdout


def _load_benchmark(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses, and the report's `from reproduce import`, look there
    spec.loader.exec_module(module)
    return module


def _reproduce():
    """benchmarks/reproduce.py: the grid and its runner."""
    return _load_benchmark("reproduce")


def _report():
    """benchmarks/reproduce_report.py: docs/reproduction.md from the run folders."""
    _reproduce()
    return _load_benchmark("reproduce_report")


def _fake_run(
    folder: Path,
    average: float,
    steps: int = 360,
    before: float | None = None,
    model: str = "gemma3-270m",
    train_seconds: float = 600.0,
):
    def result(a):
        return {"tasks": {"stsb": {"spearman": a, "pearson": a, "n": 10}}, "average": a, "std": 0.0}

    folder.mkdir(parents=True)
    report = {
        "model": model,
        "steps": steps,
        "train_seconds": train_seconds,
        "after": result(average),
        "before": result(before) if before is not None else None,
        "eval_history": [],
    }
    (folder / "report.json").write_text(json.dumps(report))
    (folder / "run.json").write_text(json.dumps({"wall_seconds": 900.0}))


def test_reproduce_skips_finished_runs_and_selects_cells(tmp_path):
    rep = _reproduce()
    todo = rep.select("hard_negatives", tmp_path)
    assert [r.name for r in todo][:2] == ["with-seed42", "without-seed42"] and len(todo) == 6
    _fake_run(tmp_path / "hard_negatives" / "with-seed42", 80.0)
    assert [r.name for r in rep.select("hard_negatives", tmp_path)][0] == "without-seed42"
    assert [r.key for r in rep.select("main/minilm-l6", tmp_path)] == ["main/minilm-l6"]
    cmd = todo[0].command(tmp_path / "runs")
    assert cmd[:4] == ["embedtune", "train", "--config", rep.BASE_CONFIG] and "--resume" in cmd
    # the batch-size cell keeps the number of triplets seen fixed, and its long-step runs
    # checkpoint as often (in triplets) as the recipe, so a stop loses minutes, not the run
    for r in rep.grid()["batch_size"]:
        b = int(r.flags[r.flags.index("--batch-size") + 1])
        steps = int(r.flags[r.flags.index("--max-steps") + 1])
        assert b * steps == rep.TRIPLETS_SEEN
        cmd = r.command(tmp_path / "runs")
        every = int(cmd[cmd.index("--save-every") + 1])
        assert 1 <= every < steps and every * b <= 60 * 32


def test_reproduce_model_trains_committed_runs_whose_weights_are_missing(tmp_path, monkeypatch):
    """A fresh clone holds beyond/mean's results but not its weights: ``run`` skips it, while
    ``model`` (what retrieval_finetune.sh asks for) trains it, once, and copies nothing."""
    rep = _reproduce()
    assert rep.finished(rep.Run("beyond", "mean"))  # committed in benchmarks/results
    calls = []
    monkeypatch.setattr(rep, "RUNS", tmp_path)
    monkeypatch.setattr(rep.subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr(rep, "keep_light_files", lambda *a: calls.append("copied"))
    monkeypatch.setenv("EMBEDTUNE_DATA_DIR", str(tmp_path))
    rep.run_grid("beyond/mean", dry=False)
    assert calls == []
    rep.run_grid("beyond/mean", dry=False, models_only=True)
    assert len(calls) == 1 and calls[0][calls[0].index("--output-dir") + 1] == str(
        tmp_path / "beyond" / "mean"
    )
    (tmp_path / "beyond" / "mean" / "final").mkdir(parents=True)
    rep.run_grid("beyond/mean", dry=False, models_only=True)
    assert len(calls) == 1


def test_reproduce_report_is_generated_from_run_folders(tmp_path):
    rep = _report()
    for seed, (w, wo) in zip((42, 1, 2), [(80.0, 77.0), (80.5, 77.4), (79.8, 76.9)]):
        _fake_run(tmp_path / "hard_negatives" / f"with-seed{seed}", w)
        _fake_run(tmp_path / "hard_negatives" / f"without-seed{seed}", wo)
    _fake_run(tmp_path / "main" / "gemma3-270m", 80.07, before=19.21)
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "**Finding: confirmed** at this scale" in text
    assert "80.10 +- 0.36" in text and "77.10 +- 0.26" in text  # mean +- std over seeds
    assert "from 19.21 to 80.07" in text
    assert "`learning_rate/lr-5e-3`" in text  # listed as not run yet
    assert (tmp_path / "reproduction-main.png").is_file()  # plots go beside the report


def test_reproduce_report_shows_a_single_seed_pair_without_a_verdict(tmp_path):
    rep = _report()
    _fake_run(tmp_path / "hard_negatives" / "with-seed42", 80.21)
    _fake_run(tmp_path / "hard_negatives" / "without-seed42", 76.86)
    _fake_run(tmp_path / "hard_negatives" / "with-seed1", 80.0)  # its pair is not run yet
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "so far: seed 42: +3.35." in text
    assert "## 2. Hard negatives add about 2 points" in text
    assert text.count("**Finding: not measured yet** (needs at least two seeds") == 1


def test_reproduce_report_reads_the_learning_curve_and_its_schedule(tmp_path):
    rep = _report()
    folder = tmp_path / "learning_curve" / "500-steps"
    _fake_run(folder, 81.5, steps=500)
    report = json.loads((folder / "report.json").read_text())
    report["eval_history"] = [
        {"step": s, "task": "stsb-dev", "spearman": v}
        for s, v in [(20, 70.0), (100, 83.0), (200, 84.5), (300, 85.0), (500, 85.2)]
    ]
    (folder / "report.json").write_text(json.dumps(report))
    for step, average in [(100, 78.0), (200, 79.5)]:
        (folder / f"at-step-{step}.json").write_text(json.dumps({"average": average}))
    lrs = [(10, 0.00015), (20, 0.0003), (200, 0.00021), (500, 0.0)]
    (folder / "metrics.jsonl").write_text(
        "".join(json.dumps({"step": s, "lr": lr}) + "\n" for s, lr in lrs)
        + json.dumps({"step": 200, "eval": "stsb-dev"})  # a row without lr is ignored
    )
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "**Finding: confirmed.** STS-B dev 70.00 at step 20, 84.50 at step 200" in text
    assert "(+0.70 after step 200" in text
    assert "Nine-task average 78.00 at step 100, 79.50 at step 200, 81.50 at step 500." in text
    assert "the learning rate is still 70% of its peak" in text
    assert "| 200 | 84.50 | 79.50 |" in text and "| 300 | 85.00 | not run |" in text
    assert (tmp_path / "reproduction-learning-curve.png").is_file()
    assert rep.curve_verdict(1.5) == "refuted" and rep.curve_verdict(-2.0) == "confirmed"


def test_reproduce_learning_rate_cell_waits_for_all_three_runs(tmp_path):
    rep = _report()
    _fake_run(tmp_path / "hard_negatives" / "with-seed42", 80.2)
    _fake_run(tmp_path / "learning_rate" / "lr-5e-3", 75.08)
    _fake_run(tmp_path / "learning_rate" / "lr-5e-4", 79.0)
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "| 3e-4 (the recipe: `hard_negatives/with-*`, 1 seeds) | 80.20 +- 0.00 | - |" in text
    assert "**Finding: not measured yet** (needs all three runs)." in text
    _fake_run(tmp_path / "learning_rate" / "lr-5e-5", 77.5)
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "**Finding: 5e-4 and 5e-5 alike confirmed** (79.00 vs 77.50, +1.50" in text
    assert "**5e-3 collapse refuted** (75.08" in text
    assert rep.lr_verdicts({"5e-3": 60.0, "5e-4": 79.0, "5e-5": 76.0}) == ("refuted", "confirmed")


def test_reproduce_prompts_cell_compares_spreads_and_the_rerun(tmp_path):
    rep = _report()
    _fake_run(tmp_path / "hard_negatives" / "with-seed42", 80.21)
    _fake_run(tmp_path / "prompts" / "none", 80.21, before=19.2)
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert (
        "scores 80.21 against 80.21 (+0.00; largest difference on one task 0.00)" in text
    )  # the same training, run twice
    assert "**Finding: not measured yet** (needs all four runs)." in text
    for name, before, after in [
        ("one-word", 45.0, 81.0),
        ("means", 40.0, 79.6),
        ("is", 30.0, 80.5),
    ]:
        _fake_run(tmp_path / "prompts" / name, after, before=before)
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert '| `This sentence: "{}" means in one word: "` | 45.00 | 81.00 | 10.0 / 15.0 |' in text
    assert "**Finding: confirmed.** Spread over the four prompts: 25.80 points before" in text
    assert "1.40 after" in text and (tmp_path / "reproduction-prompts.png").is_file()
    assert rep.prompt_verdict(2.5) == "refuted"


def test_reproduce_batch_cell_judges_the_gain_over_batch_8(tmp_path):
    rep = _report()
    for b, after in [(8, 77.0), (32, 80.2), (128, 80.9)]:
        _fake_run(tmp_path / "batch_size" / f"batch-{b}", after, steps=rep.TRIPLETS_SEEN // b)
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "| 512 | 24 | not run | - |" in text and "| 128 | 96 | 80.90 | 10.0 / 15.0 |" in text
    assert "**Finding: not measured yet** (needs all four runs)." in text
    _fake_run(tmp_path / "batch_size" / "batch-512", 76.0, steps=24)
    run_json = tmp_path / "batch_size" / "batch-512" / "run.json"
    run_json.write_text(json.dumps({"wall_seconds": 1200.0, "resumes": 1}))  # stopped once
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "| 512 | 24 | 76.00 | 10.0 / 20.0 (resumed 1x) |" in text
    assert "**Finding: confirmed.** Best of 128 / 512 minus batch 8: +3.90 points" in text
    assert "(batch 32, the recipe, minus batch 8: +3.20)" in text
    assert (
        "peaks at batch 128 and falls after it (8: 77.00, 32: 80.20, 128: 80.90, 512: 76.00)"
        in text
    )
    assert "batch 512, with 24 optimizer steps, is 4.90 points below batch 128" in text
    assert "here batch 8 scores 3.20 below batch 32." in text
    rising = {8: 77.0, 32: 78.0, 128: 79.0, 512: 79.5}
    assert rep.batch_shape(rising).startswith("The score rises with the batch up to the largest")
    assert [rep.batch_verdict(g) for g in (-0.5, 1.0, 2.5)] == [
        "refuted",
        "inconclusive",
        "confirmed",
    ]


def test_best_recipe_is_the_top_gemma_run_inside_30_minutes(tmp_path):
    """Runs over the 30-minute budget or of another model never count as the best recipe."""
    rep = _report()
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "No finished gemma3-270m run trained within 30 minutes yet." in text
    _fake_run(tmp_path / "main" / "minilm-l6", 82.0, before=80.16, model="minilm-l6")
    _fake_run(tmp_path / "prompts" / "is", 80.9, train_seconds=1990.0)  # over budget
    _fake_run(tmp_path / "main" / "smollm2-135m", 81.0, model="smollm2-135m")
    _fake_run(tmp_path / "learning_rate" / "lr-5e-4", 79.3)
    _fake_run(tmp_path / "batch_size" / "batch-128", 80.5, train_seconds=1626.0)
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "Of 2 finished gemma3-270m runs that trained within 30 minutes, the best is " in text
    assert "`batch_size/batch-128`: 80.50 in 27.1 minutes of training" in text
    assert "--batch-size 128 --max-steps 96" in text and "--max-minutes" not in text
    # the bar is MTEB's published 80.20, not embedtune's own measurement (80.16)
    assert "Against all-MiniLM-L6-v2 as published (80.20 on MTEB): +0.30, stretch goal met." in text


def test_hard_negative_verdict_needs_a_gain_near_the_studys():
    rep = _report()
    assert rep.hard_negative_verdict(2.0, 0.3) == "confirmed"
    assert rep.hard_negative_verdict(0.4, 0.1) == "refuted"  # real, but far under 2 points
    assert rep.hard_negative_verdict(-1.0, 0.2) == "refuted"
    assert rep.hard_negative_verdict(1.0, 0.8) == "inconclusive"


def test_every_benchmark_script_parses_its_arguments():
    """The scripts that need real models and minutes of CPU run outside CI; this at least
    keeps their imports and argument parsing from rotting."""
    import pytest

    scripts = sorted(BENCH.glob("*.py"))
    assert len(scripts) >= 8
    for script in scripts:
        r = subprocess.run(
            [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
        )
        if r.returncode != 0:
            pytest.fail(f"{script.name} --help: {r.stderr[-1500:]}")


def test_beyond_cell_selects_on_dev_only(tmp_path):
    """The "beyond the study" factors are judged on STS-B dev (the final history row), never
    on the nine test tasks: a factor with a better test average but a worse dev is not
    selected; selection waits for every run of the cell."""
    rep = _report()
    names = [r.name for r in rep.grid()["beyond"]]
    assert names[0] == "baseline" and "bidirectional-mean" in names and "average-last-4" in names
    for r in rep.grid()["beyond"]:
        assert "--max-minutes" not in r.flags  # each factor keeps the recipe's 30 minutes
    dev = {"baseline": 86.0, "mean": 86.5, "weighted-mean": 86.2}  # +0.5 and +0.2
    for name in names:
        _fake_run(tmp_path / "beyond" / name, 81.0 if name == "weighted-mean" else 80.0)
        report = tmp_path / "beyond" / name / "report.json"
        data = json.loads(report.read_text())
        data["eval_history"] = [
            {"step": 60, "spearman": 50.0},
            {"step": 360, "spearman": dev.get(name, 85.0)},
        ]
        report.write_text(json.dumps(data))
        if name == "weighted-mean":
            text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
            assert "**Selection: not made yet**" in text
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert (
        "| `mean` | mean pooling instead of the EOS state | 86.50 | +0.50 | 80.00 | 360 |" in text
    )
    assert "| `weighted-mean` | position-weighted mean pooling | 86.20 | +0.20 | 81.00 |" in text
    assert "**Selected on dev (more than 0.3 over the baseline): `mean`.**" in text
    assert "not recorded: `baseline`, `mean`" in text  # fake runs name no CPU


def _fake_beyond(tmp_path, dev: dict[str, float]):
    """Every "beyond" run finished, STS-B dev 85.0 unless named in ``dev``."""
    for r in _reproduce().grid(tmp_path)["beyond"]:
        _fake_run(tmp_path / "beyond" / r.name, 80.0)
        report = tmp_path / "beyond" / r.name / "report.json"
        data = json.loads(report.read_text())
        data["eval_history"] = [{"step": 360, "spearman": dev.get(r.name, 85.0)}]
        report.write_text(json.dumps(data))


def test_combined_cell_runs_the_selected_factors_with_three_seeds(tmp_path):
    """Nothing is planned before the selection; then the winners' flags together, seeds 42,
    1, 2, each reading the recipe's 30 minutes and dev curve."""
    rep = _reproduce()
    assert rep.grid(tmp_path)["combined"] == []
    _fake_beyond(tmp_path, {"mean": 85.5, "batch-128": 85.4, "weighted-mean": 85.2})
    assert rep.selected(tmp_path) == ["mean", "batch-128"]
    runs = rep.grid(tmp_path)["combined"]
    assert [r.name for r in runs] == ["seed-42", "seed-1", "seed-2"]
    flags = runs[1].flags
    assert flags[-2:] == ["--seed", "1"] and "--max-minutes" not in flags
    assert "--pooling" in flags and "--mini-batch-size" in flags and "weighted_mean" not in flags
    assert [r.key for r in rep.select("combined", tmp_path)][0] == "combined/seed-42"


def test_combined_cell_with_no_winner_is_the_recipe_and_reuses_the_baseline(tmp_path):
    """No factor beats the baseline by more than the margin: the combination is the recipe,
    seed 42 is beyond/baseline, and the report says there is no gain by construction."""
    rep = _report()
    _fake_beyond(tmp_path, {"mean": 85.3})  # +0.3: not more than the margin
    runs = rep.grid(tmp_path)["combined"]
    assert [r.name for r in runs] == ["seed-1", "seed-2"]
    assert runs[0].flags == ["--no-eval-before", "--eval-every", "60", "--seed", "1"]
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "**Selected on dev (more than 0.3 over the baseline): none.**" in text
    assert "**Finding: not measured yet** (1 of 3 seeds)." in text
    for name, a in (("seed-1", 80.4), ("seed-2", 80.0)):
        _fake_run(tmp_path / "combined" / name, a)
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "Nine-task average: **80.13 +- 0.23** (3 seeds; 2 standard errors 0.27)" in text
    assert "none by construction" in text and "goal not met" in text
    assert "the 3 seeds differ by up to 0.40 points on one task (stsb)" in text
    # the best single run is picked on the test tasks: the seeds' mean is shown beside it
    assert "the best is `combined/seed-1`: 80.40" in text
    assert (
        "Today's recipe, rerun with 3 seeds (cells `beyond` and `combined`): 80.13 +- 0.23" in text
    )


def test_beyond_cell_names_each_runs_machine(tmp_path):
    """Steps per minute differ several-fold between CPU kinds, so the cell lists which runs
    ran where: from run.json's versions.cpu, or a machine.txt beside an older run."""
    rep = _report()
    _fake_run(tmp_path / "beyond" / "baseline", 80.0)
    (tmp_path / "beyond" / "baseline" / "machine.txt").write_text("CPU A (avx512_bf16)\n")
    _fake_run(tmp_path / "beyond" / "mean", 80.0)
    run = tmp_path / "beyond" / "mean" / "run.json"
    run.write_text(json.dumps({"wall_seconds": 1.0, "versions": {"cpu": "CPU B (amx_bf16)"}}))
    text = rep.write_report(tmp_path, tmp_path / "reproduction.md")
    assert "CPU A (avx512_bf16): `baseline`; CPU B (amx_bf16): `mean`" in text


def test_cost_growth_runs_quick_on_a_tiny_model(tiny_decoder, triplet_file, tmp_path):
    """One cell of each table (training step, encode, scoring) on the tiny decoder."""
    data = tmp_path / "data"
    (data / "nli").mkdir(parents=True)
    (data / "nli" / "triplets.tsv").write_text(triplet_file.read_text())
    out = tmp_path / "cost.json"
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH / "cost_growth.py"),
            "--quick",
            "--model",
            str(tiny_decoder),
            "--data-dir",
            str(data),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [c["length"] for c in result["train"]] == [None, 16]
    assert all(c["step_s"] > 0 and c["tokens"] > 0 for c in result["train"])
    # a 16-token cell embeds exactly 16 tokens per text: 4 triplets x 3 texts
    assert result["train"][1]["tokens"] == 4 * 3 * 16
    assert result["encode"][0]["texts_per_s"] > 0 and result["scoring"][0]["docs"] == 10000


def test_load_test_accounts_for_every_share_of_the_cpu():
    """The serving benchmark splits cores x wall time into the server's model threads, its
    event loop, the clients and idle: this process's own main thread is seen, and no thread
    is counted above one core."""
    import os

    import psutil

    lt = _load_benchmark("load_test_server")
    me = psutil.Process()
    before = lt.cpu_seconds(me)
    start = time.perf_counter()
    while time.process_time() - before["clients"] < 0.3:  # 0.3 s of CPU on the main thread
        pass
    after = lt.cpu_seconds(me)
    shares = lt.cpu_shares(before, after, time.perf_counter() - start)
    assert set(shares) == {"cpu_event_loop", "cpu_model", "cpu_clients", "cpu_idle"}
    cores = len(os.sched_getaffinity(0))
    # one thread uses at most one core (+ the kernel's 10 ms ticks over 0.3 s); the process's
    # time includes its main thread's
    assert 0 < shares["cpu_event_loop"] <= 1 / cores + 0.1
    assert shares["cpu_clients"] >= shares["cpu_event_loop"] - 0.04  # ticks against exact
    assert shares["cpu_idle"] >= 0
