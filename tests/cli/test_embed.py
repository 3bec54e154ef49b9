import json

import numpy as np

from embedtune.cli import main
from embedtune.models import Embedder
from tests.conftest import SENTENCES


def test_embed_keeps_order_and_ids(tiny_decoder, tmp_path):
    src = tmp_path / "in.jsonl"
    ids = [f"doc-{i}" for i in reversed(range(len(SENTENCES)))]
    src.write_text(
        "".join(
            json.dumps({"id": i, "text": t}) for i, t in zip(ids, SENTENCES, strict=True)
        ).replace("}{", "}\n{")
    )
    out = tmp_path / "vec" / "out.npy"
    assert (
        main(
            [
                "embed",
                "--model",
                str(tiny_decoder),
                "--input",
                str(src),
                "--output",
                str(out),
                "--dtype",
                "fp32",
                "--batch-size",
                "3",
                "--batch-tokens",
                "16",  # passes of one to three texts: the vectors must not change
            ]
        )
        == 0
    )
    vectors = np.load(out)
    expected = Embedder.load(tiny_decoder).encode(SENTENCES)
    assert np.abs(vectors - expected).max() <= 1e-5
    assert out.with_suffix(".ids.txt").read_text().split() == ids
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "out.ids.txt",
        "out.npy",
    ]  # no temp files left


def test_plain_text_ids_are_line_numbers(tiny_encoder, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a cat\n\na dog\n")
    out = tmp_path / "o.npy"
    assert (
        main(["embed", "--model", str(tiny_encoder), "--input", str(src), "--output", str(out)])
        == 0
    )
    assert np.load(out).shape == (2, 32) and out.with_suffix(".ids.txt").read_text().split() == [
        "1",
        "3",
    ]


def test_embed_as_queries_uses_the_query_prompt(tiny_encoder, tmp_path):
    Embedder.load(tiny_encoder, query_prompt="query: {}").save(tmp_path / "m")
    src = tmp_path / "in.txt"
    src.write_text("\n".join(SENTENCES) + "\n")
    for role in ("query", None):
        out = tmp_path / f"{role}.npy"
        flags = ["--role", role] if role else []
        args = ["embed", "--model", str(tmp_path / "m"), "--input", str(src), "--output", str(out)]
        assert main(args + ["--dtype", "fp32", *flags]) == 0
        want = Embedder.load(tmp_path / "m").encode(SENTENCES, role=role)
        assert np.abs(np.load(out) - want).max() <= 1e-5
    assert np.abs(np.load(tmp_path / "query.npy") - np.load(tmp_path / "None.npy")).max() > 1e-3


def test_a_token_bound_below_one_is_exit_2_before_anything_is_written(
    tiny_encoder, tmp_path, capsys
):
    src = tmp_path / "in.txt"
    src.write_text("a cat\n")
    out = tmp_path / "o.npy"
    args = ["embed", "--model", str(tiny_encoder), "--input", str(src), "--output", str(out)]
    assert main([*args, "--batch-tokens", "0"]) == 2
    assert "batch_tokens" in capsys.readouterr().err and not out.exists()


def test_packed_embedding_matches_and_an_encoder_is_refused(
    tiny_decoder, tiny_encoder, tmp_path, capsys
):
    """`--pack-tokens`: the padded vectors from packed passes; a model whose mask would let
    packed texts see each other is exit 2 naming the key, before anything is written."""
    src = tmp_path / "in.txt"
    src.write_text("\n".join(SENTENCES) + "\n")
    for model, name in ((tiny_decoder, "dec.npy"), (tiny_encoder, "enc.npy")):
        out = tmp_path / name
        args = ["embed", "--model", str(model), "--input", str(src), "--output", str(out)]
        code = main([*args, "--dtype", "fp32", "--batch-size", "4", "--pack-tokens", "24"])
        if model == tiny_encoder:
            assert code == 2 and "pack_tokens" in capsys.readouterr().err
            assert not out.exists()
        else:
            assert code == 0
            expected = Embedder.load(tiny_decoder).encode(SENTENCES)
            assert np.abs(np.load(out) - expected).max() <= 1e-5
