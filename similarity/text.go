package similarity

import (
	"strings"
	"unicode"

	"github.com/maestro-ml/maestro/registry"
)

// Section labels of the composed project text, in the order they appear.
const (
	LabelName                      = "Project"
	LabelDescription               = "Description"
	LabelUserStories               = "User stories"
	LabelFunctionalRequirements    = "Functional requirements"
	LabelNonFunctionalRequirements = "Non-functional requirements"
	LabelDataModels                = "Data models"
	LabelEndpoints                 = "Endpoints"
)

// ComposeText returns the text that represents a project for embedding. It
// lists, in this order and each only when non-empty:
//
//	Project: <name>
//	Description: <description>
//	User stories:
//	- <story>
//	Functional requirements:
//	- <requirement>
//	Non-functional requirements:
//	- <requirement>
//	Data models:
//	- <entity>: <field>, <field>
//	Endpoints:
//	- <METHOD> <path>: <purpose>
//
// Whitespace inside every item is collapsed to single spaces and blank
// items are skipped, so formatting differences do not change the text (or
// its content hash). The same spec always yields the same text.
func ComposeText(name, description string, spec registry.Spec) string {
	var b strings.Builder
	line := func(label, v string) {
		if v = clean(v); v != "" {
			b.WriteString(label)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	list := func(label string, items []string) {
		head := false
		for _, it := range items {
			if it = clean(it); it == "" {
				continue
			}
			if !head {
				b.WriteString(label)
				b.WriteString(":\n")
				head = true
			}
			b.WriteString("- ")
			b.WriteString(it)
			b.WriteByte('\n')
		}
	}
	line(LabelName, name)
	line(LabelDescription, description)
	list(LabelUserStories, spec.UserStories)
	list(LabelFunctionalRequirements, spec.FunctionalRequirements)
	list(LabelNonFunctionalRequirements, spec.NonFunctionalRequirements)
	list(LabelDataModels, dataModelTexts(spec.DataModels))
	list(LabelEndpoints, endpointTexts(spec.APIEndpoints))
	return strings.TrimSuffix(b.String(), "\n")
}

// dataModelTexts renders each data model as "Entity: field, field".
func dataModelTexts(ms []registry.DataModel) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		fields := make([]string, 0, len(m.Fields))
		for _, f := range m.Fields {
			if f = clean(f); f != "" {
				fields = append(fields, f)
			}
		}
		s := clean(m.Entity)
		if len(fields) > 0 {
			if s != "" {
				s += ": "
			}
			s += strings.Join(fields, ", ")
		}
		out = append(out, s)
	}
	return out
}

// endpointTexts renders each endpoint as "METHOD /path: purpose".
func endpointTexts(es []registry.APIEndpoint) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		s := strings.TrimSpace(strings.ToUpper(clean(e.Method)) + " " + clean(e.Path))
		if p := clean(e.Purpose); p != "" {
			if s != "" {
				s += ": "
			}
			s += p
		}
		out = append(out, s)
	}
	return out
}

// clean collapses runs of white space to one space and trims the ends.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// minChunkTokens is the smallest chunk budget: room for the two markers
// and a few characters.
const minChunkTokens = 8

// approxTokens estimates, on the high side, how many tokens a subword
// tokenizer (WordPiece, BPE) makes of s: a common word is one token and a
// long or rare one several, so every run of letters and digits counts one
// token per started three characters; every other visible character (and
// every CJK character) counts one; two more stand for the model's start and
// end markers. English prose comes out at about 1.3 to 1.6 times the true
// count: chunks sized by this estimate fit the model's window.
func approxTokens(s string) int {
	n, run := 2, 0
	flush := func() {
		if run > 0 {
			n += (run + 2) / 3
			run = 0
		}
	}
	for _, r := range s {
		switch {
		case isCJK(r):
			flush()
			n++
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			run++
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			n++
		}
	}
	flush()
	return n
}

// chunkText splits text into pieces of at most maxTokens approximate
// tokens, preferring line boundaries, then word boundaries; a single word
// longer than the budget is cut between characters. Nothing is dropped:
// joining the chunks with white space gives back every word of text. A
// non-positive maxTokens or a short text yields the text itself; budgets
// below minChunkTokens are raised to it.
func chunkText(text string, maxTokens int) []string {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	if maxTokens > 0 && maxTokens < minChunkTokens {
		maxTokens = minChunkTokens
	}
	if maxTokens <= 0 || approxTokens(text) <= maxTokens {
		return []string{text}
	}
	var units []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if approxTokens(line) <= maxTokens {
			units = append(units, line)
			continue
		}
		units = append(units, splitWords(line, maxTokens)...)
	}
	// Units are joined by a line break, which ends a word, so their
	// content tokens add up; the two marker tokens count once per chunk.
	return pack(units, "\n", maxTokens)
}

// pack joins consecutive units with sep into chunks of at most maxTokens
// approximate tokens. Each unit must fit on its own.
func pack(units []string, sep string, maxTokens int) []string {
	var chunks, cur []string
	tokens := 2
	for _, u := range units {
		t := approxTokens(u) - 2
		if len(cur) > 0 && tokens+t > maxTokens {
			chunks = append(chunks, strings.Join(cur, sep))
			cur, tokens = cur[:0], 2
		}
		cur = append(cur, u)
		tokens += t
	}
	if len(cur) > 0 {
		chunks = append(chunks, strings.Join(cur, sep))
	}
	return chunks
}

// splitWords splits one line into pieces within maxTokens.
func splitWords(line string, maxTokens int) []string {
	var words []string
	for _, w := range strings.Fields(line) {
		for approxTokens(w) > maxTokens {
			head, tail := cutWord(w, maxTokens)
			words = append(words, head)
			w = tail
		}
		words = append(words, w)
	}
	return pack(words, " ", maxTokens)
}

// cutWord returns the longest prefix of w within maxTokens (at least one
// character) and the rest; w must exceed maxTokens. It counts as
// approxTokens does, in one pass.
func cutWord(w string, maxTokens int) (string, string) {
	n, run := 2, 0
	for i, r := range w {
		switch {
		case isCJK(r):
			n += (run+2)/3 + 1
			run = 0
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			run++
		default:
			n += (run+2)/3 + 1
			run = 0
		}
		if i > 0 && n+(run+2)/3 > maxTokens {
			return w[:i], w[i:]
		}
	}
	return w, ""
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}
