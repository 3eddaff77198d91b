// Package wordpiece is the tokenizer of the sentence-transformers model
// all-MiniLM-L6-v2 (BERT's uncased WordPiece), shared by Maestro's
// built-in embedders. It tokenizes exactly as the model's tokenizer.json
// does with Hugging Face tokenizers (checked in the tests).
//
// vocab.txt is the model's vocabulary, unchanged; all-MiniLM-L6-v2 is
// published by the sentence-transformers authors under the Apache License
// 2.0 (see similarity/staticembed/NOTICE and similarity/minilm/NOTICE).
package wordpiece

import (
	_ "embed" // the vocabulary
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// vocabFile is the model's vocab.txt: one token per line, line number =
// token id. A string: embedded data that nothing can modify.
//
//go:embed vocab.txt
var vocabFile string

// Vocab returns the embedded vocabulary of all-MiniLM-L6-v2, one token per
// line.
func Vocab() string { return vocabFile }

// ErrVocab reports a vocabulary without the special tokens BERT needs.
var ErrVocab = errors.New("wordpiece: vocabulary lacks a special token")

// maxWordChars is WordPiece's limit: a longer word becomes [UNK].
const maxWordChars = 100

// Tokenizer tokenizes text as the model's tokenizer.json does (Hugging
// Face's BertNormalizer with lowercasing and accent stripping,
// BertPreTokenizer, WordPiece with "##" continuations). Unknown words give
// [UNK]. It is read-only after New and safe for concurrent use.
type Tokenizer struct {
	vocab  map[string]int32
	tokens []string
	unk    int32
}

// New returns the Tokenizer of a vocabulary (one token per line, line
// number = token id, as Vocab returns). It reports ErrVocab when the
// vocabulary has no [UNK], [CLS] or [SEP].
func New(vocab string) (*Tokenizer, error) {
	tokens := strings.Split(strings.TrimSuffix(vocab, "\n"), "\n")
	t := &Tokenizer{vocab: make(map[string]int32, len(tokens)), tokens: tokens}
	for i, tok := range tokens {
		t.vocab[tok] = int32(i) // #nosec G115 -- a vocabulary line count fits int32
	}
	for _, special := range []string{"[UNK]", "[CLS]", "[SEP]"} {
		if _, ok := t.vocab[special]; !ok {
			return nil, fmt.Errorf("%w: %s", ErrVocab, special)
		}
	}
	t.unk = t.vocab["[UNK]"]
	return t, nil
}

// Len returns the size of the vocabulary.
func (w *Tokenizer) Len() int { return len(w.tokens) }

// Token returns the token of an id in [0, Len()).
func (w *Tokenizer) Token(id int32) string { return w.tokens[id] }

// ID returns the id of a token and whether the vocabulary has it.
func (w *Tokenizer) ID(token string) (int32, bool) {
	id, ok := w.vocab[token]
	return id, ok
}

// Tokenize emits the ids of text's tokens, without [CLS] and [SEP].
func (w *Tokenizer) Tokenize(text string, emit func(id int32)) {
	for _, word := range preTokenize(normalize(text)) {
		w.word(word, emit)
	}
}

// normalize applies BertNormalizer: drop NUL, U+FFFD and other control
// and format characters, turn white space into spaces, surround CJK
// ideographs with spaces, strip accents (NFD, then drop non-spacing marks)
// and lower-case.
func normalize(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r == 0 || r == unicode.ReplacementChar || isControl(r):
		case isWhitespace(r):
			b.WriteByte(' ')
		case isCJK(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	var out strings.Builder
	out.Grow(b.Len())
	for _, r := range norm.NFD.String(b.String()) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		out.WriteRune(unicode.ToLower(r))
	}
	return out.String()
}

// preTokenize splits on white space and isolates every punctuation
// character (BertPreTokenizer).
func preTokenize(text string) []string {
	var words []string
	start := -1
	for i, r := range text {
		switch {
		case isWhitespace(r):
			if start >= 0 {
				words = append(words, text[start:i])
				start = -1
			}
		case isPunctuation(r):
			if start >= 0 {
				words = append(words, text[start:i])
				start = -1
			}
			words = append(words, string(r))
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		words = append(words, text[start:])
	}
	return words
}

// word emits the WordPiece tokens of one word: greedy longest match
// first, "##" before every piece but the first; a word with a part that
// matches nothing, or longer than maxWordChars, is one [UNK].
func (w *Tokenizer) word(word string, emit func(id int32)) {
	runes := []rune(word)
	if len(runes) > maxWordChars {
		emit(w.unk)
		return
	}
	var ids []int32
	for start := 0; start < len(runes); {
		end := len(runes)
		found := int32(-1)
		for ; end > start; end-- {
			piece := string(runes[start:end])
			if start > 0 {
				piece = "##" + piece
			}
			if id, ok := w.vocab[piece]; ok {
				found = id
				break
			}
		}
		if found < 0 {
			emit(w.unk)
			return
		}
		ids = append(ids, found)
		start = end
	}
	for _, id := range ids {
		emit(id)
	}
}

// isWhitespace is Hugging Face's definition: tab, newline, carriage return
// and the Unicode White_Space property.
func isWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.White_Space, r)
}

// isControl reports characters of the Unicode "Other" categories (control,
// format, private use, surrogate, unassigned), except tab, newline and
// carriage return.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.C) ||
		!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isPunctuation reports ASCII punctuation (every printable ASCII character
// that is neither a letter, a digit nor a space) and Unicode punctuation.
func isPunctuation(r rune) bool {
	if r < 128 {
		return r > ' ' && r < 127 && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}
	return unicode.IsPunct(r)
}

// isCJK reports the CJK Unified Ideographs blocks that BERT splits into
// single characters.
func isCJK(r rune) bool {
	return 0x4E00 <= r && r <= 0x9FFF || 0x3400 <= r && r <= 0x4DBF || 0x20000 <= r && r <= 0x2A6DF ||
		0x2A700 <= r && r <= 0x2B73F || 0x2B740 <= r && r <= 0x2B81F || 0x2B820 <= r && r <= 0x2CEAF ||
		0xF900 <= r && r <= 0xFAFF || 0x2F800 <= r && r <= 0x2FA1F
}
