"""The documentation cannot drift from the code: the config-key table is generated from
TrainConfig, and every page the README links to exists."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_config_table_matches_the_dataclass():
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "config_table.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    from embedtune.config import TrainConfig

    text = (ROOT / "docs" / "training.md").read_text()
    assert all(f"`{name}`" in text for name in TrainConfig.__dataclass_fields__)


def test_readme_links_point_at_files_and_it_stays_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert "../shared" not in readme
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert links and all((ROOT / link).exists() for link in links if "://" not in link)


def test_every_results_path_the_docs_cite_exists():
    """A figure's raw data must stay where RESULTS.md and docs/ say it is (results/ has one
    folder per probe; a move that forgets a reference fails here)."""
    pages = [ROOT / "benchmarks" / "RESULTS.md", *sorted((ROOT / "docs").glob("*.md"))]
    cited = set()
    for page in pages:
        for path in re.findall(r"(?:benchmarks/)?results/[\w./*\-]+", page.read_text()):
            cited.add(path.rstrip(".").removeprefix("benchmarks/"))
    assert len(cited) > 20
    bench = ROOT / "benchmarks"
    missing = sorted(
        p for p in cited if not (any(bench.glob(p)) if "*" in p else (bench / p).exists())
    )
    assert not missing, missing
