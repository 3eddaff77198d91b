package similarity

// Test-only exports for the external test package (quality of embedders in
// sub-packages, which import this one).
var (
	LoadLabelled      = loadLabelled
	LoadHeldout       = loadHeldout
	RetrievalPerQuery = retrievalPerQuery
	// CachedNeuralEmbedder is the neural server's embedder with a cache of
	// this test binary's vectors; it skips (or fails under
	// MAESTRO_REQUIRE_SERVICES=1) without the server.
	CachedNeuralEmbedder = cachedNeuralEmbedder
	LabelledTexts        = labelledTexts
	RetrievalScores      = retrievalScores
	TFIDFVectors         = tfidfVectors
)

// LabelledSpec is labelledSpec, exported for tests.
type LabelledSpec = labelledSpec

// PairStats and LogPairStats are pairStats and logPairStats for tests.
var (
	PairStats    = pairStats
	LogPairStats = logPairStats
)

// OnCompare sets the Service's hook that is told the pairs an overlap
// report compares for each item.
func OnCompare(s *Service, f func(pairs int)) { s.onCompare = f }

// QueryScores is queryScores, exported for tests.
type QueryScores = queryScores

// ShippedCalibrations is shippedCalibrations, for tests.
var ShippedCalibrations = shippedCalibrations
