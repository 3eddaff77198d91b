package metalearn

import (
	"time"
)

// Defaults of the training options.
const (
	// DefaultFolds is the number of cross-validation folds.
	DefaultFolds = 5
	// SmallHistoryFolds is the number of folds used instead of DefaultFolds
	// on histories of fewer than SmallHistorySize projects (unless
	// WithFolds sets the number): fold models then train on about 90 % of
	// the history rather than 80 %, so their errors, which calibrate the
	// intervals, are closer to the final model's on a steep learning curve.
	SmallHistoryFolds = 10
	// SmallHistorySize is the history size below which SmallHistoryFolds
	// applies.
	SmallHistorySize = 100
	// DefaultCoverage is the nominal coverage of prediction intervals.
	DefaultCoverage = 0.8
	// DefaultMinHistory is the minimum number of completed projects.
	DefaultMinHistory = 20
	// DefaultSeed seeds every shuffle (folds, subsets, permutations).
	DefaultSeed uint64 = 0x6d61657374726f31
	// DefaultGPMaxPoints bounds the rows a GP's posterior mean conditions
	// on (its predictive variance uses at most the first 500 of them).
	DefaultGPMaxPoints = 1000
	// DefaultGPHyperPoints bounds the rows used to fit GP hyperparameters.
	DefaultGPHyperPoints = 200
	// DefaultGPRestarts is the number of deterministic L-BFGS starts.
	DefaultGPRestarts = 2
	// DefaultGPMaxIterations bounds L-BFGS iterations per start.
	DefaultGPMaxIterations = 60
	// DefaultTopFactors is the number of top factors per prediction.
	DefaultTopFactors = 5
	// MaxGPPoints is the largest GP conditioning set a model may hold.
	MaxGPPoints = 3000
)

// config holds the training configuration; Option values modify it.
type config struct {
	folds       int
	foldsSet    bool // WithFolds was given: no small-history adjustment
	coverage    float64
	minHistory  int
	seed        uint64
	kinds       []ModelKind
	gpMaxPoints int
	gpHyper     int
	gpRestarts  int
	gpMaxIter   int
	now         func() time.Time
	forward     bool
	// noArtifacts skips the artifact associations (the forward-validation
	// model never suggests any).
	noArtifacts bool
	// progress, when set, receives the share of the training done, and
	// progressBase and progressSpan map this train call's share onto the
	// whole (forward validation trains a second time).
	progress     func(done float64)
	progressBase float64
	progressSpan float64
}

func defaultConfig() config {
	return config{
		folds:        DefaultFolds,
		coverage:     DefaultCoverage,
		minHistory:   DefaultMinHistory,
		seed:         DefaultSeed,
		kinds:        AllKinds(),
		gpMaxPoints:  DefaultGPMaxPoints,
		gpHyper:      DefaultGPHyperPoints,
		gpRestarts:   DefaultGPRestarts,
		gpMaxIter:    DefaultGPMaxIterations,
		now:          time.Now,
		forward:      true,
		progressSpan: 1,
	}
}

func newConfig(opts []Option) config {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

func (c config) fit() fitConfig {
	return fitConfig{seed: c.seed, gpMaxPoints: c.gpMaxPoints, gpHyperPoint: c.gpHyper, gpRestarts: c.gpRestarts, gpMaxIter: c.gpMaxIter}
}

// Option configures Train (and the Retrainer, which passes its options on).
type Option func(*config)

// WithFolds sets the number of cross-validation folds (at least 2; other
// values are ignored). Without it, histories of fewer than
// SmallHistorySize projects use up to SmallHistoryFolds folds (at most a
// third of the history) and larger ones DefaultFolds.
func WithFolds(k int) Option {
	return func(c *config) {
		if k >= 2 {
			c.folds = k
			c.foldsSet = true
		}
	}
}

// WithCoverage sets the nominal coverage of prediction intervals, strictly
// between 0 and 1 (other values are ignored).
func WithCoverage(p float64) Option {
	return func(c *config) {
		if p > 0 && p < 1 {
			c.coverage = p
		}
	}
}

// WithMinHistory sets the minimum number of completed projects training
// needs; it is never lowered below the number of folds plus one.
func WithMinHistory(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.minHistory = n
		}
	}
}

// WithSeed sets the seed of every shuffle. The seed is stored in the model,
// so a model is reproducible from its history and options.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithKinds restricts the candidate model kinds. KindMean is always
// evaluated, as the baseline; unknown kinds are ignored.
func WithKinds(kinds ...ModelKind) Option {
	return func(c *config) {
		out := []ModelKind{KindMean}
		for _, k := range AllKinds()[1:] {
			for _, want := range kinds {
				if want == k {
					out = append(out, k)
					break
				}
			}
		}
		c.kinds = out
	}
}

// WithGPPoints bounds the Gaussian process: its posterior mean conditions
// on at most maxPoints rows (never more than MaxGPPoints, the most
// DecodeModel accepts) and hyperparameters are fitted on at most
// hyperPoints of them (subset of data, chosen by a seeded shuffle); the
// predictive variance uses the first 500 of the maxPoints rows.
// Non-positive values keep the defaults. Training and decoding a model
// cost grows with maxPoints³ (one Cholesky factorization per fit),
// training also with hyperPoints³ per optimizer step, and a prediction
// linearly with maxPoints.
func WithGPPoints(maxPoints, hyperPoints int) Option {
	return func(c *config) {
		if maxPoints > 0 {
			c.gpMaxPoints = min(maxPoints, MaxGPPoints)
		}
		if hyperPoints > 0 {
			c.gpHyper = hyperPoints
		}
	}
}

// WithGPOptimizer sets the number of deterministic L-BFGS starting points
// (1 to 5) and the iteration limit per start. Non-positive values keep the
// defaults.
func WithGPOptimizer(restarts, maxIterations int) Option {
	return func(c *config) {
		if restarts > 0 {
			c.gpRestarts = min(restarts, 5)
		}
		if maxIterations > 0 {
			c.gpMaxIter = maxIterations
		}
	}
}

// WithClock sets the clock that stamps TrainedAt (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithForwardValidation turns forward-in-time validation on (the default)
// or off. Off, Train is about twice as fast and the metrics' forward
// fields are nil.
func WithForwardValidation(on bool) Option { return func(c *config) { c.forward = on } }

// WithProgress sets a function Train calls, from its own goroutine, with
// the share of the work done (0 to 1, non-decreasing) after each target
// of each training pass; it must return quickly. A nil function reports
// nothing.
func WithProgress(report func(done float64)) Option { return func(c *config) { c.progress = report } }

// report passes the share done of this pass, mapped onto the whole, to
// the progress function.
func (c config) report(share float64) {
	if c.progress != nil {
		c.progress(c.progressBase + c.progressSpan*share)
	}
}

// foldsFor returns the number of folds for a history of n projects: the
// configured number, raised on small histories when WithFolds was not
// given (see SmallHistoryFolds).
func (c config) foldsFor(n int) int {
	if c.foldsSet || n >= SmallHistorySize {
		return c.folds
	}
	return max(c.folds, min(SmallHistoryFolds, n/3))
}
