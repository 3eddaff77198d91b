package similarity

import (
	"context"

	"github.com/maestro-ml/maestro/metalearn"
)

var _ metalearn.SimilarFinder = (*Indexer)(nil)

// FindSimilar implements metalearn.SimilarFinder, so that an Indexer can be
// given to metalearn.WithSimilarFinder: projects similar to q.ProjectID
// (Similar) or, without one, to q.Spec (SimilarSpec), at most q.Limit of
// them (metalearn.DefaultSimilarLimit when not positive, at most
// MaxResults). Pending project writes are indexed first, as for every
// query; while the embedder is down it fails with ErrUnavailable, which
// fails the recommendation. A query with neither a project nor a spec
// finds nothing.
func (ix *Indexer) FindSimilar(ctx context.Context, q metalearn.SimilarQuery) ([]metalearn.SimilarProject, error) {
	k := q.Limit
	if k < 1 {
		k = metalearn.DefaultSimilarLimit
	}
	k = min(k, MaxResults)
	var (
		ms  []Match
		err error
	)
	switch {
	case q.ProjectID != "":
		ms, err = ix.Similar(ctx, q.ProjectID, k)
	case !q.Spec.IsZero():
		ms, err = ix.SimilarSpec(ctx, "", q.Spec, k)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]metalearn.SimilarProject, len(ms))
	for i, m := range ms {
		out[i] = metalearn.SimilarProject{ProjectID: m.ProjectID, Name: m.Name, Similarity: m.Similarity}
	}
	return out, nil
}
