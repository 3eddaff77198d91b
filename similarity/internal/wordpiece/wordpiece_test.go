package wordpiece

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestTokenizerMatchesReference compares with the tokens Hugging Face's
// tokenizers library produces from the model's tokenizer.json
// (testdata/tokens.json).
func TestTokenizerMatchesReference(t *testing.T) {
	t.Parallel()
	e := newTestTokenizer(t)
	b, err := os.ReadFile("testdata/tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Text   string   `json:"text"`
			Tokens []string `json:"tokens"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Cases {
		var got []string
		e.Tokenize(c.Text, func(id int32) { got = append(got, e.Token(id)) })
		if strings.Join(got, " ") != strings.Join(c.Tokens, " ") {
			t.Errorf("tokenize(%q)\n got %q\nwant %q", c.Text, got, c.Tokens)
		}
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"Hello, World!", "naïve", "日本語", "\xff\xfe", strings.Repeat("x", 150)} {
		f.Add(s)
	}
	e := newTestTokenizer(f)
	f.Fuzz(func(t *testing.T, s string) {
		e.Tokenize(s, func(id int32) {
			if id < 0 || int(id) >= e.Len() {
				t.Fatalf("token id %d out of range for %q", id, s)
			}
		})
	})
}

func newTestTokenizer(tb testing.TB) *Tokenizer {
	tb.Helper()
	w, err := New(Vocab())
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func TestNewRejectsVocabWithoutSpecialTokens(t *testing.T) {
	t.Parallel()
	if _, err := New("[PAD]\n[UNK]\nhello\n"); !errors.Is(err, ErrVocab) {
		t.Errorf("New(no [CLS]) = %v, want ErrVocab", err)
	}
	w := newTestTokenizer(t)
	if id, ok := w.ID("[CLS]"); !ok || w.Token(id) != "[CLS]" {
		t.Errorf("ID([CLS]) = %d, %v", id, ok)
	}
}
