"""Tests of server.py that need no model weights (run in the server's venv):

    python -m unittest discover -s tools/embedserver
"""

import json
import math
import threading
import unittest
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import numpy as np

import server


class FakeModel:
    """Stands in for MiniLM: 384-dim vectors, token count = characters."""

    dimensions = 384

    def encode(self, texts):
        if any(len(t) > 1000 for t in texts):
            raise server.InputTooLong(0, 1001)
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, len(t) % 384] = 1.0
        return out, sum(len(t) for t in texts)


class ParseRequestTest(unittest.TestCase):
    def test_valid(self):
        texts, model, fmt = server.parse_request(b'{"model":"all-MiniLM-L6-v2","input":"hi"}')
        self.assertEqual((texts, model, fmt), (["hi"], "all-MiniLM-L6-v2", "float"))
        texts, _, fmt = server.parse_request(
            b'{"model":"sentence-transformers/all-MiniLM-L6-v2","input":["a","b"],"encoding_format":"base64","dimensions":384}')
        self.assertEqual((texts, fmt), (["a", "b"], "base64"))

    def test_invalid(self):
        cases = {
            b"not json": 400,
            b"[]": 400,
            b'{"input":"x"}': 400,
            b'{"model":"gpt","input":"x"}': 404,
            b'{"model":"all-MiniLM-L6-v2","input":[1,2]}': 400,
            b'{"model":"all-MiniLM-L6-v2","input":[]}': 400,
            b'{"model":"all-MiniLM-L6-v2","input":["ok"," "]}': 400,
            b'{"model":"all-MiniLM-L6-v2","input":"x","encoding_format":"int8"}': 400,
            b'{"model":"all-MiniLM-L6-v2","input":"x","dimensions":128}': 400,
            json.dumps({"model": "all-MiniLM-L6-v2", "input": ["x"] * 2049}).encode(): 400,
        }
        for body, status in cases.items():
            with self.subTest(body=body[:60]):
                with self.assertRaises(server.APIError) as cm:
                    server.parse_request(body)
                self.assertEqual(int(cm.exception.status), status)


class GeluTest(unittest.TestCase):
    def test_matches_exact_gelu(self):
        x = np.linspace(-8, 8, 2001, dtype=np.float32).reshape(1, 1, -1)
        want = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.ravel().astype(np.float64)])
        got = server._gelu(x.copy()).ravel()
        self.assertEqual(got.dtype, np.float32)
        self.assertLess(float(np.abs(got - want).max()), 1e-5)


class HTTPTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ThreadingHTTPServer(("127.0.0.1", 0), server.make_handler(FakeModel()))
        cls.base = "http://127.0.0.1:%d" % cls.srv.server_address[1]
        threading.Thread(target=cls.srv.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()

    def post(self, body):
        req = urllib.request.Request(self.base + "/v1/embeddings", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def test_embeddings(self):
        status, body = self.post(b'{"model":"all-MiniLM-L6-v2","input":["ab","abc"]}')
        self.assertEqual(status, 200)
        self.assertEqual([d["index"] for d in body["data"]], [0, 1])
        self.assertEqual(len(body["data"][0]["embedding"]), 384)
        self.assertEqual(body["usage"], {"prompt_tokens": 5, "total_tokens": 5})

    def test_base64(self):
        status, body = self.post(b'{"model":"all-MiniLM-L6-v2","input":"ab","encoding_format":"base64"}')
        self.assertEqual(status, 200)
        import base64
        vec = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
        self.assertEqual(vec.shape, (384,))
        self.assertEqual(vec[2], 1.0)

    def test_errors(self):
        status, body = self.post(b'{"model":"all-MiniLM-L6-v2","input":"' + b"x" * 1001 + b'"}')
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["code"], "context_length_exceeded")
        status, body = self.post(b"{")
        self.assertEqual(status, 400)
        self.assertIn("message", body["error"])

    def test_get(self):
        with urllib.request.urlopen(self.base + "/health") as r:
            self.assertEqual(json.load(r)["status"], "ok")
        with urllib.request.urlopen(self.base + "/v1/models") as r:
            self.assertEqual(json.load(r)["data"][0]["id"], "all-MiniLM-L6-v2")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(self.base + "/nope")
        self.assertEqual(cm.exception.code, 404)


if __name__ == "__main__":
    unittest.main()
