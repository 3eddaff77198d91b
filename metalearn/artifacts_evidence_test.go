package metalearn

import (
	"strings"
	"testing"
)

// TestSuggestArtifactsNeedEvidence checks that suggestions are not chance
// findings: in the synthetic history only each class's "good" artifact has
// an effect (+10 points); the 12 shared artifacts have none. Ranking by
// evidence alone and keeping every positive difference suggested about half
// of the null artifacts of every class (roughly 6 per class); with the
// evidence threshold and Benjamini–Hochberg at most a chance few remain,
// and every suggestion's reason states its evidence. Since 2026-12-07
// (artifact-blind residuals, permutation p-values) 7 of 8 good artifacts
// are suggested and 1 without an effect; before, 5 and 0.
func TestSuggestArtifactsNeedEvidence(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	p := synthHistory(1, 77)[0].Features
	p.Artifacts = nil
	good, null := 0, 0
	for _, c := range ProblemClasses() {
		q := p
		q.ProblemClass = c
		for _, s := range m.SuggestArtifacts(q, 20) {
			if s.Evidence < MinArtifactEvidence {
				t.Errorf("%s: suggested %s with evidence %.2f below %.1f", c, s.ArtifactID, s.Evidence, MinArtifactEvidence)
			}
			if s.QValue == nil || *s.QValue > ArtifactFDR || s.PValue == nil || *s.PValue > *s.QValue {
				t.Errorf("%s: suggested %s with p %v q %v (FDR %.2f)", c, s.ArtifactID, s.PValue, s.QValue, ArtifactFDR)
			}
			if !strings.Contains(s.Reason, "evidence") || !strings.Contains(s.Reason, "Benjamini–Hochberg q") {
				t.Errorf("reason %q does not state the evidence", s.Reason)
			}
			if s.ArtifactID == "a-"+c+"-good" {
				good++
			} else {
				null++
			}
		}
	}
	t.Logf("suggested: %d good artifacts of 8, %d artifacts without an effect", good, null)
	// Benjamini–Hochberg at 10 % over the ~100 artifacts tested: 7 of 8
	// (5 before 2026-12-07).
	if good < 6 {
		t.Errorf("only %d of 8 good artifacts suggested", good)
	}
	if null > 1 {
		t.Errorf("%d artifacts without an effect suggested across 8 classes", null)
	}
}
