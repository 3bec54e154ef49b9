from embedtune.cli import main


def test_checks_pass_on_a_sound_decoder(tiny_decoder, capsys):
    assert main(["check", "--model", str(tiny_decoder)]) == 0
    out = capsys.readouterr().out
    assert "PASS  eos" in out and "PASS  padding" in out and "FAIL" not in out


def test_checks_pass_on_an_encoder(tiny_encoder, capsys):
    assert main(["check", "--model", str(tiny_encoder)]) == 0
    assert "not needed (mean pooling)" in capsys.readouterr().out


def test_last_token_without_eos_fails_with_a_reason(tiny_decoder, capsys):
    assert main(["check", "--model", str(tiny_decoder), "--no-append-eos"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  eos" in out and "state of the last word" in out
