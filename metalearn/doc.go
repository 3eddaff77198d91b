// Package metalearn learns from a tenant's own completed projects which
// projects succeed, and answers for a new project: its predicted success
// score, deployment days and compute cost with calibrated intervals, the
// features behind each prediction and which inputs it knew, a team-size
// what-if, and library artifacts associated with success in similar work.
//
// # Data
//
// A Record is one completed project: its ProjectFeatures (problem class,
// complexity, team size, the team's experience levels and roles, the
// library artifacts it used with their impact, and process metrics such as
// the latest pipeline success rate and commits per week) and its Outcome.
// RegistryHistory extracts records from the registry package (it satisfies
// HistorySource), each described as it stood at a cut-off: by default the
// project's start (CutoffPlanning), so a model trained on them sees what a
// planning-time prediction sees; hosts with other storage build records
// themselves.
//
// Feature set version 1 (FeatureSetVersion) encodes the problem class
// one-hot and twelve numeric features standardized with training
// statistics, missing values taking the training mean. A feature the
// training history never recorded is ignored at prediction (listed in
// Prediction.IgnoredInputs), never read as a standardized value. A feature
// the history (nearly) always had but a project lacks is marginalised: the
// interval is the central part of the mixture of the predictions over the
// values the history recorded and the cross-validated errors, so it is
// calibrated on the inputs as they are missing (Prediction.MissingInputs). FeatureNames and FeatureDescriptions list
// the features; docs/metalearn.md documents each.
//
// # Training
//
// Train fits one model per Target. For each it compares, by k-fold
// cross-validation on the same folds, the mean baseline (KindMean), ridge
// regression (KindRidge), ridge regression with all products and squares
// of the numeric features (KindRidgeQuadratic) and Gaussian-process
// regression with one length scale per encoded column (KindGP), whose
// hyperparameters maximise the log marginal likelihood with analytic
// gradients under L-BFGS from deterministic starting points. The kind
// with the lowest held-out MAE wins and is refitted on all records.
// Metrics reports cv_mae, cv_spearman and baseline_mae for each target.
// Besides, records are ordered by CompletedAt and the whole procedure is
// trained on the earliest 80 % and scored on the latest 20 %
// (forward_mae, forward_coverage); Metrics.Reliability is "low" when the
// history is small or uniform. Deployment days and compute cost are
// modelled on a log scale.
//
// Above DefaultGPMaxPoints records the GP is a subset-of-data GP (a seeded
// subset of up to 1,000 rows conditions the posterior mean, its first 500
// rows the predictive variance, and 200 fit the hyperparameters), so
// training on 2,000 projects takes seconds and a prediction well under a
// millisecond.
//
// # Intervals, importances, explanations
//
// Prediction intervals are cross-conformal: the held-out residuals of the
// selected kind, divided by the model's predictive standard deviation (the
// GP's; 1 for the others) and weighted by recency (half-life
// max(MinCalibrationHalfLife, n/2) projects), give the quantile that scales the final model's
// standard deviation into an interval of nominal coverage (DefaultCoverage,
// 80%; WithCoverage). When the history is too small for the coverage the
// interval is unbounded (nil ends, JSON null); its half-width has a floor,
// so identical outcomes do not give a zero-width interval.
// Prediction.RelativeWidth compares its width with the mean baseline's; it
// is a ratio, not a probability. Coverage on held-out projects is measured
// in the tests and in docs/metalearn.md. Feature importances are permutation
// importances on the held-out folds; each prediction's top factors are the
// changes in the prediction when one feature is set to its training mean.
//
// # Models over time
//
// A Model is immutable, safe for concurrent use and deterministic: the
// same input gives the same output. MarshalBinary writes a versioned,
// checksummed binary format that DecodeModel reads back, refusing unknown
// format or feature-set versions; the format holds numbers and strings
// only, so loading never executes anything. Store keeps each tenant's
// models in the database (table metalearn_models, created by Migrate) with
// their metadata; predictions use the pinned version or else the latest,
// and Rollback pins the previous one. Retrainer trains when enough new
// outcomes have arrived (WithMinNewOutcomes), at most one training per
// tenant at a time.
//
// # Recommendations
//
// Recommender combines the active model's Forecast, a team-size what-if
// (BestTeamSize: the planned size is kept unless another is better with
// posterior probability MinTeamChangeProbability, allowing for team size
// having no effect at all; an association, not a cause), artifacts whose
// users in the same problem class did better than a model that does not
// know the projects' artifacts expected from their other features
// (SuggestArtifacts: a permutation test within the class, evidence of at
// least MinArtifactEvidence standard errors and a Benjamini–Hochberg
// q-value of at most ArtifactFDR over all the artifacts tested, with a
// reason stating the counts, p and q), and
// similar past projects from a SimilarFinder such as *similarity.Indexer
// (any other search adapts with SimilarFinderFunc).
//
// Every function that reads or writes tenant data takes the tenant from
// its context (tenancy.WithTenant) and fails with tenancy.ErrNoTenant
// without one.
package metalearn
