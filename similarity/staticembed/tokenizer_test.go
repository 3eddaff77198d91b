package staticembed

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestTokenizerMatchesReference compares with the tokens Hugging Face's
// tokenizers library produces from the model's tokenizer.json
// (testdata/tokens.json).
func TestTokenizerMatchesReference(t *testing.T) {
	t.Parallel()
	e := newTestEmbedder(t)
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
		e.wp.tokenize(c.Text, func(id int32) { got = append(got, e.tokens[id]) })
		if strings.Join(got, " ") != strings.Join(c.Tokens, " ") {
			t.Errorf("tokenize(%q)\n got %q\nwant %q", c.Text, got, c.Tokens)
		}
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"Hello, World!", "naïve", "日本語", "\xff\xfe", strings.Repeat("x", 150)} {
		f.Add(s)
	}
	e := newTestEmbedder(f)
	f.Fuzz(func(t *testing.T, s string) {
		e.wp.tokenize(s, func(id int32) {
			if id < 0 || int(id) >= len(e.tokens) {
				t.Fatalf("token id %d out of range for %q", id, s)
			}
		})
	})
}
