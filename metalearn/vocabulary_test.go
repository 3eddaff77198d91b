package metalearn

import (
	"slices"
	"testing"

	"github.com/maestro-ml/maestro/registry"
)

// TestVocabularyMatchesRegistry proves that the words metalearn's feature
// set reads are the registry's: its problem classes are exactly the
// registry's (a class added to one and not the other fails here, instead of
// silently encoding as "other"), and every registry experience level has a
// weight. The feature set keeps its own constants because their one-hot
// order is part of the serialised model's contract.
func TestVocabularyMatchesRegistry(t *testing.T) {
	t.Parallel()
	var reg []string
	for _, c := range registry.ProblemClasses() {
		reg = append(reg, string(c))
	}
	mine := ProblemClasses()
	slices.Sort(reg)
	slices.Sort(mine)
	if !slices.Equal(reg, mine) {
		t.Errorf("problem classes: registry %v, metalearn %v", reg, mine)
	}
	// Experience levels: the same words, ranked in the registry's order.
	for want, pair := range [][2]string{
		{string(registry.Junior), LevelJunior}, {string(registry.Mid), LevelMid},
		{string(registry.Senior), LevelSenior}, {string(registry.Principal), LevelPrincipal},
	} {
		if pair[0] != pair[1] {
			t.Errorf("experience level: registry %q, metalearn %q", pair[0], pair[1])
		}
		if got := levelRank(pair[0]); got != float64(want) {
			t.Errorf("levelRank(%q) = %v, want %d", pair[0], got, want)
		}
	}
	for _, c := range []string{ClassClassification, ClassRegression, ClassForecasting, ClassNLP,
		ClassComputerVision, ClassRecommendation, ClassAnomalyDetection, ClassOther} {
		if !registry.ProblemClass(c).Valid() {
			t.Errorf("metalearn's class %q is not a registry problem class", c)
		}
	}
}
