// Package staticembed is a semantic text embedder that runs anywhere with
// no service, no model files and no cgo: static token vectors distilled
// from the sentence-transformers model all-MiniLM-L6-v2, embedded in the
// package (about 8 MB).
//
// # How it was made
//
// tools/embedserver/distill.py ran every one of the model's 30,522
// WordPiece tokens through the full 6-layer model on its own
// ("[CLS] token [SEP]", mean-pooled as sentence-transformers does),
// centred the 384-dimension results, projected them onto their first 256
// principal components and stored them as int8 with one scale per token
// (vectors.bin, format version 1; the vocabulary, shared with
// similarity/minilm, is in similarity/internal/wordpiece).
// This is the idea of Model2Vec: a transformer's knowledge of what each
// token means, without running the transformer at query time.
//
// # How it embeds
//
// A text is tokenized exactly as the model's tokenizer.json does
// (lower-casing, accent stripping, punctuation splitting, WordPiece with
// "##" continuations; checked against Hugging Face tokenizers in the
// tests), and its vector is the mean of its tokens' vectors, L2-normalised.
// Unknown and special tokens are left out. Word order and context are not
// seen, so it is weaker than the model itself, yet it knows that
// "customers cancel their subscription" and "clients churn" are related,
// which a lexical embedder cannot.
//
// It is the best embedder that needs no service: close to the model itself
// in ranking, far ahead of lexical methods. Its cosine similarities run
// higher than the model's (unrelated texts average 0.36), so it carries its
// own overlap thresholds (similarity.Calibrated: modified from 0.60, reused
// from 0.90).
//
// Measured on Maestro's labelled specs (similarity/testdata/specs.json;
// docs/similarity.md has the commands):
//
//	                                       precision@3   MRR
//	all-MiniLM-L6-v2 itself (server)          0.681      0.813
//	staticembed (this package)                0.615      0.809
//	similarity.HashingEmbedder (lexical)      0.481      0.729
//	TF-IDF fitted on the same texts           0.459      0.716
//
// # Licence
//
// all-MiniLM-L6-v2 (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2)
// is published by the sentence-transformers authors under the Apache
// License 2.0; the vocabulary and vectors.bin are derived from it (see NOTICE).
package staticembed
