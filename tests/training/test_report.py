"""run.json names the CPU and its bf16 features: timings on CPU depend on them several-fold."""

from embedtune.training.report import cpu_description

CPUINFO = """processor\t: 0
model name\t: Example CPU 9000
flags\t\t: fpu sse avx512f {extra}

processor\t: 1
model name\t: Example CPU 9000
flags\t\t: fpu sse avx512f {extra}
"""


def test_names_the_model_and_bf16_features(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(CPUINFO.format(extra="avx512_bf16 amx_bf16 amx_tile"))
    assert cpu_description(str(info)) == "Example CPU 9000 (avx512_bf16, amx_bf16)"


def test_says_when_there_is_no_bf16_matmul(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(CPUINFO.format(extra=""))
    assert cpu_description(str(info)) == "Example CPU 9000 (no bf16 matmul)"


def test_a_missing_cpuinfo_is_not_an_error(tmp_path):
    assert isinstance(cpu_description(str(tmp_path / "absent")), str)
