package minilm_test

import (
	"context"
	"fmt"
	"log"

	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/minilm"
)

// The built-in transformer needs no service: embed two paraphrases and an
// unrelated text and compare them.
func Example() {
	e, err := minilm.New()
	if err != nil {
		log.Fatal(err)
	}
	v, err := e.Embed(context.Background(), []string{
		"predict which customers will cancel their subscription",
		"churn model for subscribers",
		"detect defects in photos of welds",
	})
	if err != nil {
		log.Fatal(err)
	}
	related, _ := similarity.Cosine(v[0], v[1])
	unrelated, _ := similarity.Cosine(v[0], v[2])
	fmt.Println(e.Model(), e.Dimensions(), related > unrelated+0.2)
	// Output: all-MiniLM-L6-v2 384 true
}
