package similarity

import ("testing";"fmt";"github.com/maestro-ml/maestro/internal/testenv")

func TestExp(t *testing.T) {
	specs := loadLabelled(t)
	url, model := testenv.Embeddings(t)
	e, _ := NewOpenAIEmbedder(url, model)
	for _, c := range []int{64, 128, 192, 256, 320} {
		evalEmbedder(t, fmt.Sprint("chunk", c), specs, e, c)
	}
}
