package staticembed_test

import (
	"context"
	"fmt"
	"log"

	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/staticembed"
)

func ExampleNew() {
	emb, err := staticembed.New()
	if err != nil {
		log.Fatal(err)
	}
	v, err := emb.Embed(context.Background(), []string{
		"Predict which customers will cancel their subscription",
		"Estimate which clients are likely to churn",
		"Detect cracks in steel sheets from camera images",
	})
	if err != nil {
		log.Fatal(err)
	}
	related, _ := similarity.Cosine(v[0], v[1])
	unrelated, _ := similarity.Cosine(v[0], v[2])
	fmt.Println(emb.Model(), emb.Dimensions())
	fmt.Println("related texts closer:", related > unrelated)
	// Output:
	// maestro-static-minilm-l6-v2-256-v1 256
	// related texts closer: true
}
