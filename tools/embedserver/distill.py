#!/usr/bin/env python3
"""Distil all-MiniLM-L6-v2 into static token vectors for Maestro's
similarity/staticembed package (the built-in offline embedder).

Each of the model's 30,522 WordPiece tokens is run through the full model
on its own, as "[CLS] token [SEP]", and mean-pooled exactly as the server
embeds a sentence (the idea of Model2Vec). The vectors are centred on their
mean, projected onto their first DIMS principal components, and stored as
int8 with one float32 scale per token:

    offset  size          field
    0       4             magic "MSTE"
    4       4             format version, uint32 little-endian (1)
    8       4             vocabulary size V, uint32
    12      4             dimensions D, uint32
    16      4*V           per-token scale, float32
    16+4V   V*D           components, int8 (value = int8 * scale)

The vocabulary (one token per line, line number = token id) is the model's
vocab.txt, copied beside the vectors. The run takes a few minutes on one
CPU core and is deterministic.

Usage: distill.py OUT_DIR [--dims 256]
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import server  # noqa: E402

MAGIC = b"MSTE"
VERSION = 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args(argv)
    model_dir = server.default_model_dir()
    model = server.MiniLM(model_dir)
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    n = len(vocab)
    cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
    vecs = np.empty((n, model.dimensions), dtype=np.float32)
    t0 = time.monotonic()
    for start in range(0, n, args.batch):
        ids = list(range(start, min(start + args.batch, n)))
        vecs[ids] = model._forward([[cls_id, i, sep_id] for i in ids])
        print(f"\r{start + len(ids)}/{n} tokens, {time.monotonic() - t0:.0f}s", end="", file=sys.stderr)
    print(file=sys.stderr)
    mean = vecs.mean(axis=0)
    centred = (vecs - mean).astype(np.float64)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = (centred @ vt[: args.dims].T).astype(np.float32)
    scale = np.abs(proj).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(proj / scale[:, None]), -127, 127).astype(np.int8)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with open(args.out_dir / "vectors.bin", "wb") as f:
        f.write(MAGIC + struct.pack("<III", VERSION, n, args.dims))
        f.write(scale.astype("<f4").tobytes())
        f.write(q.tobytes())
    shutil.copyfile(model_dir / "vocab.txt", args.out_dir / "vocab.txt")
    print(f"wrote {n} x {args.dims} vectors to {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
