package minilm

import (
	_ "embed" // the weights
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/maestro-ml/maestro/similarity/internal/wordpiece"
)

// weightsFile is the model, written by tools/minilmconvert/convert.py. A
// string, not a byte slice: embedded data that nothing can modify.
//
//go:embed weights.bin
var weightsFile string

// The architecture of all-MiniLM-L6-v2 (its config.json).
const (
	hidden    = 384
	heads     = 12
	headDim   = hidden / heads
	ffn       = 1536
	numLayers = 6
	vocabSize = 30522
	maxTokens = 256 // sentence-transformers' max_seq_length, [CLS] and [SEP] included
	lnEps     = 1e-12
)

// File format of weights.bin (see tools/minilmconvert/convert.py).
const (
	magic         = "MSTM"
	formatVersion = 1
	kindFloat32   = 0
	kindInt8Rows  = 1
)

// ErrFormat reports weight data of an unknown format version, with a
// missing tensor or with inconsistent sizes.
var ErrFormat = errors.New("minilm: unknown or corrupt weight data")

// layer is one encoder layer; matrices are row-major (out, in), as the
// linear layers of PyTorch store them.
type layer struct {
	qkvW, qkvB     []float32 // (3*hidden, hidden): query, key and value fused
	attnW, attnB   []float32 // (hidden, hidden)
	ln1W, ln1B     []float32
	interW, interB []float32 // (ffn, hidden)
	outW, outB     []float32 // (hidden, ffn)
	ln2W, ln2B     []float32
}

// model is the decoded weight set and the tokenizer. It is read-only once
// built and shared by every Embedder.
type model struct {
	tok       *wordpiece.Tokenizer
	cls, sep  int32
	word      string    // vocabSize*hidden int8 components, dequantised on lookup
	wordScale []float32 // one per token
	pos       []float32 // (maxTokens, hidden)
	typ       []float32 // token type 0
	lnW, lnB  []float32
	layers    [numLayers]layer
}

// loadModel decodes the embedded weights once per process. The result is
// never modified, so sharing it is safe (about 43 MB of float32 encoder
// weights; the int8 word embeddings stay in the embedded data).
var loadModel = sync.OnceValues(func() (*model, error) { return parse(wordpiece.Vocab(), weightsFile) })

// tensor is one entry of weights.bin.
type tensor struct {
	kind       byte
	rows, cols int
	scales     []float32
	data       string // raw little-endian float32 or int8 components
}

// float32s returns the tensor's components as float32, dequantising int8
// rows.
func (t tensor) float32s() []float32 {
	out := make([]float32, t.rows*t.cols)
	if t.kind == kindFloat32 {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32([]byte(t.data[4*i : 4*i+4])))
		}
		return out
	}
	for r := range t.rows {
		s := t.scales[r]
		row := t.data[r*t.cols : (r+1)*t.cols]
		for c := range t.cols {
			out[r*t.cols+c] = s * float32(int8(row[c])) // #nosec G115 -- reinterpreting the stored byte as a signed int8 weight is the format
		}
	}
	return out
}

// readTensors splits a weights.bin image into its named tensors.
func readTensors(bin string) (map[string]tensor, error) {
	if len(bin) < 12 || bin[:4] != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if v := binary.LittleEndian.Uint32([]byte(bin[4:8])); v != formatVersion {
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrFormat, v, formatVersion)
	}
	count := int(binary.LittleEndian.Uint32([]byte(bin[8:12])))
	if count > 1000 {
		return nil, fmt.Errorf("%w: %d tensors", ErrFormat, count)
	}
	off := 12
	need := func(n int) error {
		if n < 0 || len(bin)-off < n {
			return fmt.Errorf("%w: truncated at byte %d", ErrFormat, off)
		}
		return nil
	}
	out := make(map[string]tensor, count)
	for range count {
		if err := need(2); err != nil {
			return nil, err
		}
		nl := int(binary.LittleEndian.Uint16([]byte(bin[off:])))
		off += 2
		if err := need(nl + 9); err != nil {
			return nil, err
		}
		name := bin[off : off+nl]
		off += nl
		t := tensor{kind: bin[off]}
		t.rows = int(binary.LittleEndian.Uint32([]byte(bin[off+1:])))
		t.cols = int(binary.LittleEndian.Uint32([]byte(bin[off+5:])))
		off += 9
		if t.rows <= 0 || t.cols <= 0 || t.rows > vocabSize || t.cols > ffn*3 {
			return nil, fmt.Errorf("%w: %s is %dx%d", ErrFormat, name, t.rows, t.cols)
		}
		n := t.rows * t.cols
		switch t.kind {
		case kindFloat32:
			if err := need(4 * n); err != nil {
				return nil, err
			}
			t.data = bin[off : off+4*n]
			off += 4 * n
		case kindInt8Rows:
			if err := need(4*t.rows + n); err != nil {
				return nil, err
			}
			t.scales = make([]float32, t.rows)
			for r := range t.rows {
				t.scales[r] = math.Float32frombits(binary.LittleEndian.Uint32([]byte(bin[off+4*r:])))
			}
			off += 4 * t.rows
			t.data = bin[off : off+n]
			off += n
		default:
			return nil, fmt.Errorf("%w: %s has kind %d", ErrFormat, name, t.kind)
		}
		out[name] = t
	}
	if off != len(bin) {
		return nil, fmt.Errorf("%w: %d bytes after the last tensor", ErrFormat, len(bin)-off)
	}
	return out, nil
}

// parse builds the model from a vocabulary and a weights.bin image.
func parse(vocab, bin string) (*model, error) {
	tok, err := wordpiece.New(vocab)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if tok.Len() != vocabSize {
		return nil, fmt.Errorf("%w: vocabulary of %d tokens, want %d", ErrFormat, tok.Len(), vocabSize)
	}
	ts, err := readTensors(bin)
	if err != nil {
		return nil, err
	}
	get := func(name string, kind byte, rows, cols int) (tensor, error) {
		t, ok := ts[name]
		if !ok {
			return t, fmt.Errorf("%w: no tensor %s", ErrFormat, name)
		}
		if t.kind != kind || t.rows != rows || t.cols != cols {
			return t, fmt.Errorf("%w: %s is kind %d %dx%d, want kind %d %dx%d", ErrFormat, name, t.kind, t.rows, t.cols, kind, rows, cols)
		}
		return t, nil
	}
	var firstErr error
	f32 := func(name string, kind byte, rows, cols int) []float32 {
		t, err := get(name, kind, rows, cols)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return nil
		}
		return t.float32s()
	}
	m := &model{tok: tok}
	m.cls, _ = tok.ID("[CLS]")
	m.sep, _ = tok.ID("[SEP]")
	word, err := get("embeddings.word_embeddings.weight", kindInt8Rows, vocabSize, hidden)
	if err != nil {
		return nil, err
	}
	m.word, m.wordScale = word.data, word.scales
	m.pos = f32("embeddings.position_embeddings.weight", kindFloat32, maxTokens, hidden)
	m.typ = f32("embeddings.token_type_embeddings.weight", kindFloat32, 1, hidden)
	m.lnW = f32("embeddings.LayerNorm.weight", kindFloat32, 1, hidden)
	m.lnB = f32("embeddings.LayerNorm.bias", kindFloat32, 1, hidden)
	for i := range m.layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		l := &m.layers[i]
		l.qkvW = f32(p+"attention.self.qkv.weight", kindInt8Rows, 3*hidden, hidden)
		l.qkvB = f32(p+"attention.self.qkv.bias", kindFloat32, 1, 3*hidden)
		l.attnW = f32(p+"attention.output.dense.weight", kindInt8Rows, hidden, hidden)
		l.attnB = f32(p+"attention.output.dense.bias", kindFloat32, 1, hidden)
		l.ln1W = f32(p+"attention.output.LayerNorm.weight", kindFloat32, 1, hidden)
		l.ln1B = f32(p+"attention.output.LayerNorm.bias", kindFloat32, 1, hidden)
		l.interW = f32(p+"intermediate.dense.weight", kindInt8Rows, ffn, hidden)
		l.interB = f32(p+"intermediate.dense.bias", kindFloat32, 1, ffn)
		l.outW = f32(p+"output.dense.weight", kindInt8Rows, hidden, ffn)
		l.outB = f32(p+"output.dense.bias", kindFloat32, 1, hidden)
		l.ln2W = f32(p+"output.LayerNorm.weight", kindFloat32, 1, hidden)
		l.ln2B = f32(p+"output.LayerNorm.bias", kindFloat32, 1, hidden)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return m, nil
}
