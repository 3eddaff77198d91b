#!/usr/bin/env python3
"""Write reference embeddings of all-MiniLM-L6-v2 for similarity/minilm's tests.

Asks the reference server (tools/embedserver/server.py, OpenAI-compatible)
for the embeddings of a fixed set of varied texts - short, long up to the
256-token window, punctuation, Unicode, numbers - and writes them with the
texts to a JSON file.

Usage:

    python3 tools/minilmconvert/golden.py http://127.0.0.1:8088/v1 \
        similarity/minilm/testdata/golden.json
"""

from __future__ import annotations

import json
import sys
import urllib.request

SPEC = ("Predict which customers will cancel their subscription next month from usage logs, "
        "billing history and support tickets. Features: days since last login, number of seats, "
        "plan tier, failed payments, ticket sentiment. Target: churned (binary). Metric: ROC AUC "
        "on a time-based split; the model is retrained weekly and scores are written back to the CRM.")
LONG = " ".join([SPEC, SPEC.replace("customers", "subscribers").replace("weekly", "nightly"),
                 "Data quality checks run before training: null rates, schema drift, and label leakage."])
VERY_LONG = " ".join(["The pipeline ingests sensor readings from turbines, resamples them to one minute,",
                      "computes rolling statistics over windows of 5, 15 and 60 minutes, and predicts",
                      "bearing failure within the next 48 hours."] * 5)

TEXTS = [
    "hello",
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "churn prediction",
    "Forecast daily sales for each store and product for the next 28 days.",
    "Detect fraudulent credit-card transactions in real time (latency < 50ms).",
    "Classify support tickets into billing, technical, and account categories.",
    "Recommend similar products to users based on their browsing history.",
    "Image classification of X-ray scans: pneumonia vs. normal; 5,216 training images.",
    "Numbers: 3.14159, 2.71828, 1e-9, 42, -17, 1,000,000 and 0x1F.",
    "Punctuation!!! ??? ... --- ((nested)) [brackets] {braces} <angle> \"quotes\" 'single' `back`",
    "naïve café résumé façade Zürich São Paulo",
    "Модель прогнозирует отток клиентов.",
    "日本語のテキスト分類モデル",
    "中文文本相似度计算",
    "emoji 🚀🔥 and symbols ™ © ® € £ ¥",
    "e-mail: data-team@example.com, URL: https://example.com/path?q=1&r=2#frag",
    "snake_case_identifier camelCaseIdentifier SCREAMING_CASE kebab-case",
    "SELECT customer_id, COUNT(*) FROM orders WHERE created_at > '2024-01-01' GROUP BY 1;",
    "def train(model, data):\n    return model.fit(data.X, data.y)",
    "tabs\tand\nnewlines\r\nmixed   spaces",
    "a",
    "I I I I I I I I I I I I I I I I I I I I",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    SPEC,
    LONG,
    VERY_LONG,
    "Time-series anomaly detection on server CPU and memory metrics with seasonal decomposition.",
    "Named entity recognition for legal contracts: parties, dates, amounts, jurisdictions.",
    "Unit: kg/m², temperature 23°C ± 0.5, pressure 101.3 kPa, angle 45°.",
    "Spam or ham? Binary text classifier for SMS messages, TF-IDF + logistic regression baseline.",
]


def main(argv: list[str]) -> int:
    url, out = argv[1].rstrip("/") + "/embeddings", argv[2]
    body = json.dumps({"model": "all-MiniLM-L6-v2", "input": TEXTS}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:  # noqa: S310 - a local reference server
        resp = json.load(r)
    cases = [{"text": t, "embedding": [round(x, 7) for x in d["embedding"]]}
             for t, d in zip(TEXTS, sorted(resp["data"], key=lambda d: d["index"]))]
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"model": resp["model"], "source": "tools/embedserver/server.py via tools/minilmconvert/golden.py",
                   "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"wrote {len(cases)} cases, {resp['usage']['prompt_tokens']} tokens", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
