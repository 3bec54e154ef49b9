"""Training throughput at the study's model sizes: random weights with the architecture of
MiniCPM-2B or Gemma-2B (weights cannot be fetched here), the study's batch (60 triplets) and
LoRA (r 8, alpha 32, dropout 0.1 on q_proj/v_proj), bf16. Reports triplets/s, tokens/s, peak
GPU memory and model FLOPs utilisation against the card's bf16 peak.

    python benchmarks/gpu_throughput.py --arch gemma-2b --steps 10            # on a GPU
    python benchmarks/gpu_throughput.py --tiny --steps 2 --device cpu         # CI: keeps it from rotting
"""

from __future__ import annotations

import argparse
import json
import time

import torch

ARCHS = {
    # the published configs of the study's models, as transformers configs
    "minicpm-2b": dict(
        model_type="llama",
        hidden_size=2304,
        intermediate_size=5760,
        num_hidden_layers=40,
        num_attention_heads=36,
        num_key_value_heads=36,
        vocab_size=122753,
    ),
    "gemma-2b": dict(
        model_type="gemma",
        hidden_size=2048,
        intermediate_size=16384,
        num_hidden_layers=18,
        num_attention_heads=8,
        num_key_value_heads=1,
        head_dim=256,
        vocab_size=256000,
    ),
    "tiny": dict(
        model_type="llama",
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=1000,
    ),
}


def build(arch: str, dtype: torch.dtype, device: str):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModel

    spec = dict(ARCHS[arch])
    config = AutoConfig.for_model(spec.pop("model_type"), **spec, max_position_embeddings=512)
    with torch.device(device):
        model = AutoModel.from_config(config, dtype=dtype)
    lora = LoraConfig(
        r=8,
        lora_alpha=32,
        lora_dropout=0.1,
        target_modules=["q_proj", "v_proj"],
        init_lora_weights="gaussian",
    )
    return get_peft_model(model, lora), config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--arch", default="gemma-2b", choices=sorted(ARCHS))
    p.add_argument("--tiny", action="store_true", help="the tiny architecture (CI)")
    p.add_argument("--batch", type=int, default=60, help="triplets per step (the study: 60)")
    p.add_argument("--seq", type=int, default=32, help="tokens per text")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument(
        "--peak-tflops",
        type=float,
        default=989.0,
        help="the card's dense bf16 peak (H100 SXM: 989)",
    )
    args = p.parse_args()
    arch = "tiny" if args.tiny else args.arch
    model, config = build(arch, torch.bfloat16, args.device)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=5e-5)
    n_texts = 3 * args.batch  # anchor, positive, hard negative
    ids = torch.randint(0, config.vocab_size, (n_texts, args.seq), device=args.device)
    mask = torch.ones_like(ids)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(args.steps + 1):  # the first step warms up
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        h = model(input_ids=ids, attention_mask=mask).last_hidden_state[:, -1].float()  # last token
        h = torch.nn.functional.normalize(h, dim=-1)
        a, cand = h[: args.batch], h[args.batch :]
        loss = loss_fn(a @ cand.T / 0.05, torch.arange(args.batch, device=args.device))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
    sec = sorted(times)[len(times) // 2]
    non_embedding = sum(q.numel() for n, q in model.named_parameters() if "embed" not in n)
    tokens = n_texts * args.seq
    flops = (
        4 * non_embedding * tokens
    )  # forward 2N + backward to activations 2N (frozen base, LoRA grads negligible)
    result = {
        "arch": arch,
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "batch_triplets": args.batch,
        "seq": args.seq,
        "median_step_s": round(sec, 4),
        "triplets_per_s": round(args.batch / sec, 1),
        "tokens_per_s": round(tokens / sec, 1),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if args.device.startswith("cuda")
        else None,
        "mfu": round(flops / sec / (args.peak_tflops * 1e12), 4),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
