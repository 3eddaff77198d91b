package platform

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/maestro-ml/maestro/registry"
)

// Chart bounds: the points per curve asked of the registry's downsampling
// (first and last kept), and the runs drawn on one chart.
const (
	chartPoints   = 200
	chartMaxRuns  = 8
	chartMaxKeys  = 12
	chartWidth    = 640
	chartHeight   = 280
	chartPadLeft  = 56
	chartPadRight = 12
	chartPadTop   = 12
	chartPadBot   = 32
)

// chart is a line chart drawn as inline SVG by the server.
type chart struct {
	Title  string
	Series []chartSeries
	XTicks []chartTick
	YTicks []chartTick
	Width  int
	Height int
	Left   int
	Right  int // x of the plot's right edge
	Top    int
	Bottom int // y of the plot's bottom edge
	Empty  bool
}

// chartSeries is one curve: its polyline and legend.
type chartSeries struct {
	Name   string
	Class  string // series-N: the stylesheet gives its colour
	Points string // "x,y x,y ..."
	Count  int
	Last   float64
}

// chartTick is an axis label at a position.
type chartTick struct {
	Pos   float64
	Label string
}

// curve is one run's downsampled history of a metric.
type curve struct {
	name   string
	points []registry.MetricValue
}

// drawChart scales the curves into one chart: x is the step, y the value.
func drawChart(title string, curves []curve) chart {
	c := chart{Title: title, Width: chartWidth, Height: chartHeight, Left: chartPadLeft, Top: chartPadTop,
		Right: chartWidth - chartPadRight, Bottom: chartHeight - chartPadBot}
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, cv := range curves {
		for _, p := range cv.points {
			minX, maxX = math.Min(minX, float64(p.Step)), math.Max(maxX, float64(p.Step))
			minY, maxY = math.Min(minY, p.Value), math.Max(maxY, p.Value)
		}
	}
	if math.IsInf(minX, 1) {
		c.Empty = true
		return c
	}
	if maxX == minX {
		maxX = minX + 1
	}
	if maxY == minY {
		minY, maxY = minY-0.5, maxY+0.5
	}
	pad := (maxY - minY) * 0.05
	minY, maxY = minY-pad, maxY+pad
	sx := func(x float64) float64 { return float64(c.Left) + (x-minX)/(maxX-minX)*float64(c.Right-c.Left) }
	sy := func(y float64) float64 { return float64(c.Bottom) - (y-minY)/(maxY-minY)*float64(c.Bottom-c.Top) }
	for i, cv := range curves {
		var b strings.Builder
		for j, p := range cv.points {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", sx(float64(p.Step)), sy(p.Value))
		}
		s := chartSeries{Name: cv.name, Class: fmt.Sprintf("series-%d", i%chartMaxRuns), Points: b.String(), Count: len(cv.points)}
		if n := len(cv.points); n > 0 {
			s.Last = cv.points[n-1].Value
		}
		c.Series = append(c.Series, s)
	}
	for _, x := range niceTicks(minX, maxX, 5) {
		c.XTicks = append(c.XTicks, chartTick{Pos: sx(x), Label: strconv.FormatFloat(x, 'f', -1, 64)})
	}
	for _, y := range niceTicks(minY, maxY, 5) {
		c.YTicks = append(c.YTicks, chartTick{Pos: sy(y), Label: strconv.FormatFloat(y, 'g', 4, 64)})
	}
	return c
}

// niceTicks returns about n round values (steps of 1, 2 or 5 times a
// power of ten) from lo to hi.
func niceTicks(lo, hi float64, n int) []float64 {
	raw := (hi - lo) / float64(n)
	if raw <= 0 || math.IsInf(raw, 0) || math.IsNaN(raw) {
		return nil
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 5} {
		if raw <= m*mag {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		t := math.Round(v/step) * step // no 0.30000000000000004
		if t == 0 {
			t = 0 // not -0
		}
		out = append(out, t)
	}
	return out
}

// runRow is a run beside the others: its parameters and latest metrics in
// the experiment's columns.
type runRow struct {
	Run      registry.Run
	Params   []string
	Metrics  []string
	Selected bool
}

// experimentView is the data of an experiment's page.
type experimentView struct {
	Experiment *registry.Experiment
	Project    *registry.Project
	ParamKeys  []string
	MetricKeys []string
	Rows       []runRow
	Key        string
	Chart      chart
	MoreRuns   bool
}

// pageExperiment shows an experiment's runs side by side (parameters and
// latest metric values) and the curves of one metric for the chosen runs
// on one chart, each downsampled by the registry.
func (s *Server) pageExperiment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "id", "experiment")
	if err != nil {
		return err
	}
	e, err := s.reg.reg.GetExperiment(ctx, id)
	if err != nil {
		return err
	}
	p, err := s.reg.reg.GetProject(ctx, e.ProjectID)
	if err != nil {
		return err
	}
	runs, err := s.reg.reg.ListRuns(ctx, id, registry.PageRequest{Limit: 100})
	if err != nil {
		return err
	}
	v := experimentView{Experiment: e, Project: p, MoreRuns: runs.NextCursor != ""}
	params, metrics := map[string]bool{}, map[string]bool{}
	latest := make([]map[string]float64, len(runs.Items))
	for i, run := range runs.Items {
		for k := range run.Params {
			params[k] = true
		}
		ms, err := s.reg.reg.ListMetrics(ctx, run.ID, registry.PageRequest{Limit: 100})
		if err != nil {
			return err
		}
		latest[i] = map[string]float64{}
		for _, m := range ms.Items {
			metrics[m.Key] = true
			latest[i][m.Key] = m.LastValue
		}
	}
	v.ParamKeys, v.MetricKeys = sortedKeys(params), sortedKeys(metrics)
	q := r.URL.Query()
	v.Key = q.Get("key")
	if !metrics[v.Key] && len(v.MetricKeys) > 0 {
		v.Key = v.MetricKeys[0]
	}
	chosen := q["run"]
	var curves []curve
	for i, run := range runs.Items {
		row := runRow{Run: run}
		for _, k := range v.ParamKeys {
			row.Params = append(row.Params, run.Params[k])
		}
		for _, k := range v.MetricKeys {
			if x, ok := latest[i][k]; ok {
				row.Metrics = append(row.Metrics, strconv.FormatFloat(x, 'g', 5, 64))
			} else {
				row.Metrics = append(row.Metrics, "—")
			}
		}
		row.Selected = len(curves) < chartMaxRuns && (len(chosen) == 0 || slices.Contains(chosen, run.ID))
		if row.Selected && v.Key != "" {
			if _, has := latest[i][v.Key]; has {
				pts, err := s.reg.reg.MetricHistory(ctx, run.ID, v.Key, chartPoints)
				if err != nil {
					return err
				}
				curves = append(curves, curve{name: run.Name, points: pts})
			}
		}
		v.Rows = append(v.Rows, row)
	}
	if v.Key != "" {
		v.Chart = drawChart(v.Key, curves)
	}
	s.render(w, r, http.StatusOK, "experiment", e.Name, v)
	return nil
}

// runView is the data of a run's page.
type runView struct {
	Run        *registry.Run
	Experiment *registry.Experiment
	Params     [][2]string
	Metrics    []registry.MetricSummary
	Charts     []chart
}

// pageRun shows a run's parameters, metric summaries and a curve per
// metric.
func (s *Server) pageRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "id", "run")
	if err != nil {
		return err
	}
	run, err := s.reg.reg.GetRun(ctx, id)
	if err != nil {
		return err
	}
	e, err := s.reg.reg.GetExperiment(ctx, run.ExperimentID)
	if err != nil {
		return err
	}
	ms, err := s.reg.reg.ListMetrics(ctx, id, registry.PageRequest{Limit: 100})
	if err != nil {
		return err
	}
	v := runView{Run: run, Experiment: e, Metrics: ms.Items}
	for _, k := range sortedKeys(boolSet(run.Params)) {
		v.Params = append(v.Params, [2]string{k, run.Params[k]})
	}
	for i, m := range ms.Items {
		if i == chartMaxKeys {
			break
		}
		pts, err := s.reg.reg.MetricHistory(ctx, id, m.Key, chartPoints)
		if err != nil {
			return err
		}
		v.Charts = append(v.Charts, drawChart(m.Key, []curve{{name: run.Name, points: pts}}))
	}
	s.render(w, r, http.StatusOK, "run", run.Name, v)
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// boolSet returns the keys of m as a set.
func boolSet(m map[string]string) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
