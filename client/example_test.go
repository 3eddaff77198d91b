package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/client"
)

// exampleServer starts a platform for an Example: on SQLite in a fresh
// directory, on a loopback port, with the user admin's password known.
func exampleServer() *testServer {
	ts, err := startServer()
	if err != nil {
		log.Fatal(err)
	}
	return ts
}

// Log in, create a project with an experiment and a run, log the run's
// metrics in one batch and read a metric's history back.
func Example() {
	ts := exampleServer()
	defer ts.close()
	ctx := context.Background()

	c, err := client.New(ts.url, client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.CreateProject(ctx, client.ProjectInput{Name: "churn", ProblemClass: "classification", ComplexityScore: 5, TeamSize: 3})
	if err != nil {
		log.Fatal(err)
	}
	exp, err := c.CreateExperiment(ctx, p.ID, client.ExperimentInput{Name: "baseline"})
	if err != nil {
		log.Fatal(err)
	}
	run, err := c.CreateRun(ctx, exp.ID, client.RunInput{Name: "lr-0.1", Params: map[string]string{"lr": "0.1"}})
	if err != nil {
		log.Fatal(err)
	}
	var points []client.MetricPoint
	for step := range 100 {
		points = append(points, client.MetricPoint{Key: "val/loss", Value: 1 / float64(step+1), Step: step})
	}
	if err := c.LogMetrics(ctx, run.ID, points); err != nil {
		log.Fatal(err)
	}
	h, err := c.MetricHistory(ctx, run.ID, "val/loss", 3)
	if err != nil {
		log.Fatal(err)
	}
	for _, pt := range h.Points {
		fmt.Printf("step %d: %.3f\n", pt.Step, pt.Value)
	}
	// Output:
	// step 0: 1.000
	// step 49: 0.020
	// step 99: 0.010
}

// Train the tenant's meta-model on its completed projects, wait for the
// job, and ask the model for a recommendation.
func ExampleClient_WaitTrainingJob() {
	ts := exampleServer()
	defer ts.close()
	ctx := context.Background()

	c, err := client.New(ts.url, client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		log.Fatal(err)
	}
	// Training needs the outcome of at least 20 completed projects.
	if _, err := seedHistory(ctx, c, 24); err != nil {
		log.Fatal(err)
	}
	job, err := c.TrainMetaModel(ctx)
	if err != nil {
		log.Fatal(err)
	}
	job, err = c.WaitTrainingJob(ctx, job.ID, 50*time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Status, "model", job.Model.Version, "trained on", job.Model.NProjects, "projects")

	size := 4
	rec, err := c.Recommend(ctx, client.RecommendationRequest{ProblemClass: "classification", ComplexityScore: ptr(3.0), TeamSize: &size})
	if err != nil {
		log.Fatal(err)
	}
	in := *rec.Interval.Low <= rec.PredictedSuccessScore && rec.PredictedSuccessScore <= *rec.Interval.High
	fmt.Println("model", rec.ModelVersion, "predicts within its interval:", in)
	// Output:
	// succeeded model 1 trained on 24 projects
	// model 1 predicts within its interval: true
}

// Errors are *client.Error values that match the package's sentinels with
// errors.Is; errors.As gives the problem's fields.
func ExampleError() {
	ts := exampleServer()
	defer ts.close()
	ctx := context.Background()

	c, err := client.New(ts.url, client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.GetProject(ctx, "00000000-0000-0000-0000-000000000000")
	fmt.Println(errors.Is(err, client.ErrNotFound))

	_, err = c.CreateProject(ctx, client.ProjectInput{Name: "x", ProblemClass: "classification", ComplexityScore: 50, TeamSize: 1})
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.Errors[0].Field)
	}
	// Output:
	// true
	// 422 validation_failed complexity_score
}

// ListProjectsAll follows the pages' cursors; a loop reads every project
// a filter selects, however many pages they take.
func ExampleClient_ListProjectsAll() {
	ts := exampleServer()
	defer ts.close()
	ctx := context.Background()

	c, err := client.New(ts.url, client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		log.Fatal(err)
	}
	for i := range 5 {
		if _, err := c.CreateProject(ctx, client.ProjectInput{Name: fmt.Sprintf("p%d", i), ProblemClass: "nlp",
			ComplexityScore: 2, TeamSize: 2, Tags: []string{"demo"}}); err != nil {
			log.Fatal(err)
		}
	}
	n := 0
	for p, err := range c.ListProjectsAll(ctx, client.ProjectFilter{Tags: []string{"demo"}, PageRequest: client.PageRequest{Limit: 2}}) {
		if err != nil {
			log.Fatal(err)
		}
		n++
		_ = p
	}
	fmt.Println(n, "projects")
	// Output:
	// 5 projects
}

// Artifact content streams both ways: the upload reads an io.Reader, the
// download is an io.ReadCloser the caller bounds and closes.
func ExampleClient_UploadArtifactContent() {
	ts := exampleServer()
	defer ts.close()
	ctx := context.Background()

	c, err := client.New(ts.url, client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		log.Fatal(err)
	}
	a, err := c.CreateArtifact(ctx, client.ArtifactInput{Name: "tokenizer", Type: "feature_pipeline", Version: "1.0.0"})
	if err != nil {
		log.Fatal(err)
	}
	if a, err = c.UploadArtifactContent(ctx, a.ID, strings.NewReader("def tokenize(s): return s.split()\n")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.SizeBytes, "bytes stored")

	rc, err := c.DownloadArtifactContent(ctx, a.ID)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(os.Stdout, io.LimitReader(rc, 1<<20)); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 34 bytes stored
	// def tokenize(s): return s.split()
}

// SearchRunsAll finds the runs of an experiment by their metrics' latest
// values, parameters and tags, in the order asked, following the pages.
func ExampleClient_SearchRunsAll() {
	ts := exampleServer()
	defer ts.close()
	ctx := context.Background()

	c, err := client.New(ts.url, client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.CreateProject(ctx, client.ProjectInput{Name: "churn", ProblemClass: "classification", ComplexityScore: 5, TeamSize: 3})
	if err != nil {
		log.Fatal(err)
	}
	exp, err := c.CreateExperiment(ctx, p.ID, client.ExperimentInput{Name: "sweep"})
	if err != nil {
		log.Fatal(err)
	}
	for i, lr := range []string{"0.1", "0.01", "0.001"} {
		run, err := c.CreateRun(ctx, exp.ID, client.RunInput{Name: "lr-" + lr, Params: map[string]string{"lr": lr}})
		if err != nil {
			log.Fatal(err)
		}
		if err := c.LogMetrics(ctx, run.ID, []client.MetricPoint{{Key: "accuracy", Value: 0.7 + 0.1*float64(i), Step: 10}}); err != nil {
			log.Fatal(err)
		}
		if _, err := c.SetRunTag(ctx, run.ID, "stage", "candidate"); err != nil {
			log.Fatal(err)
		}
	}
	search := client.RunSearch{
		Filter: []client.RunClause{
			client.MetricClause("accuracy", ">=", 0.75),
			client.TagClause("stage", "=", "candidate"),
		},
		OrderBy: []client.RunOrder{{Metric: "accuracy", Direction: "desc"}},
		Limit:   1, // one run a page: the iterator follows the cursors
	}
	for r, err := range c.SearchRunsAll(ctx, exp.ID, search) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Name, r.Params["lr"])
	}
	// Output:
	// lr-0.001 0.001
	// lr-0.01 0.01
}

// DeleteRun is soft: the run leaves ListRuns, and RunFilter's Lifecycle
// lists it again ("deleted", or "all" for both) until RestoreRun brings it
// back.
func ExampleClient_ListRunsAll() {
	ts := exampleServer()
	defer ts.close()
	ctx := context.Background()

	c, err := client.New(ts.url, client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.CreateProject(ctx, client.ProjectInput{Name: "churn", ProblemClass: "classification", ComplexityScore: 5, TeamSize: 3})
	if err != nil {
		log.Fatal(err)
	}
	exp, err := c.CreateExperiment(ctx, p.ID, client.ExperimentInput{Name: "sweep"})
	if err != nil {
		log.Fatal(err)
	}
	var runs []*client.Run
	for _, name := range []string{"lr-0.1", "lr-0.01"} {
		run, err := c.CreateRun(ctx, exp.ID, client.RunInput{Name: name})
		if err != nil {
			log.Fatal(err)
		}
		runs = append(runs, run)
	}
	if err := c.DeleteRun(ctx, runs[0].ID); err != nil {
		log.Fatal(err)
	}
	for _, lifecycle := range []string{"", "deleted", "all"} {
		var names []string
		for r, err := range c.ListRunsAll(ctx, exp.ID, client.RunFilter{Lifecycle: lifecycle}) {
			if err != nil {
				log.Fatal(err)
			}
			names = append(names, r.Name+" ("+r.Lifecycle+")")
		}
		fmt.Printf("%q: %s\n", lifecycle, strings.Join(names, ", "))
	}
	// Output:
	// "": lr-0.01 (active)
	// "deleted": lr-0.1 (deleted)
	// "all": lr-0.1 (deleted), lr-0.01 (active)
}
