package metalearn

import (
	"sort"
)

// Bounds of the artifact associations a Model keeps.
const (
	// minArtifactUses is the number of projects of a class that must have
	// used an artifact (and not used it) before it is associated.
	minArtifactUses = 2
	// maxArtifactsPerClass bounds the associations kept per class.
	maxArtifactsPerClass = 20
)

// artifactStat compares, within one problem class of the training history,
// the mean success score of projects that used an artifact with that of
// projects that did not.
type artifactStat struct {
	class       string
	id          string
	name        string
	withN       int
	withMean    float64
	withoutN    int
	withoutMean float64
}

func (a artifactStat) lift() float64 { return a.withMean - a.withoutMean }

// artifactAssociations computes, per problem class, the artifacts used by at
// least minArtifactUses projects (with at least as many projects not using
// them) whose users had a higher mean success score, best lift first,
// keeping at most maxArtifactsPerClass per class. Ties break by id, so the
// result is deterministic.
func artifactAssociations(records []Record) []artifactStat {
	byClass := map[string][]int{}
	for i, r := range records {
		byClass[r.Features.ProblemClass] = append(byClass[r.Features.ProblemClass], i)
	}
	var out []artifactStat
	for _, class := range problemClasses {
		idx := byClass[class]
		if len(idx) < 2*minArtifactUses {
			continue
		}
		total := 0.0
		for _, i := range idx {
			total += records[i].Outcome.SuccessScore
		}
		type acc struct {
			name string
			n    int
			sum  float64
		}
		uses := map[string]*acc{}
		for _, i := range idx {
			names := map[string]string{}
			for _, a := range records[i].Features.Artifacts {
				if a.ID != "" && names[a.ID] == "" {
					names[a.ID] = a.Name
					if names[a.ID] == "" {
						names[a.ID] = a.ID
					}
				}
			}
			for id, name := range names {
				u := uses[id]
				if u == nil {
					u = &acc{name: name}
					uses[id] = u
				}
				u.n++
				u.sum += records[i].Outcome.SuccessScore
			}
		}
		var stats []artifactStat
		for id, u := range uses {
			without := len(idx) - u.n
			if u.n < minArtifactUses || without < minArtifactUses {
				continue
			}
			st := artifactStat{
				class: class, id: id, name: u.name,
				withN: u.n, withMean: u.sum / float64(u.n),
				withoutN: without, withoutMean: (total - u.sum) / float64(without),
			}
			if st.lift() > 0 {
				stats = append(stats, st)
			}
		}
		sort.Slice(stats, func(a, b int) bool {
			if stats[a].lift() != stats[b].lift() {
				return stats[a].lift() > stats[b].lift()
			}
			return stats[a].id < stats[b].id
		})
		if len(stats) > maxArtifactsPerClass {
			stats = stats[:maxArtifactsPerClass]
		}
		out = append(out, stats...)
	}
	return out
}
