package minilm

import "github.com/maestro-ml/maestro/similarity/internal/wordpiece"

func vocabForTest() string { return wordpiece.Vocab() }
