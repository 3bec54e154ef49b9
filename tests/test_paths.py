from embedtune.paths import looks_like_path


def test_one_rule_for_paths_and_hub_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "root" / "nli").mkdir(parents=True)
    for path in ["./m", "/abs/m", "~/m", "a/b/c", "runs/x", r"dir\m"]:
        assert looks_like_path(path), path
    for hub_id in ["minilm-l12", "BAAI/bge-small-en-v1.5", "org/name", "nli/x"]:
        assert not looks_like_path(hub_id), hub_id
    # data: a file suffix, or a first folder under the data root, makes it a path
    assert looks_like_path("pairs.tsv", any_suffix=True)
    assert looks_like_path("nli/x", [tmp_path / "root"], any_suffix=True)
    assert not looks_like_path(
        "sentence-transformers/all-nli", [tmp_path / "root"], any_suffix=True
    )
