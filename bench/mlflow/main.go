// Command mlflowbench measures MLflow REST API calls against several
// tracking servers in one run, with one client thread over plain HTTP, so
// that every server pays the same client cost. run.sh installs and starts
// the peers (FastTrackML, MLflow's own server) and Maestro's platform and
// runs it; see docs/mlflow.md, "Benchmarks".
//
//	mlflowbench -target maestro=http://127.0.0.1:18401 -token-env maestro=MAESTRO_TOKEN \
//	    -target fasttrackml=http://127.0.0.1:18402 -target mlflow=http://127.0.0.1:18403 -n 200 -n-for mlflow=50
//
// The operations: create a run, log one metric, log a batch of 1,000
// points, read a 1,000-point metric history, and search 1,000 runs with a
// metric filter and a metric order. Each is repeated n times after a
// warm-up; the table gives the median and the 95th percentile in
// milliseconds.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

type target struct {
	name, base, token string
	n                 int
}

type client struct {
	t    target
	http *http.Client
}

func (c *client) call(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.t.base+"/api/2.0/mlflow/"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.t.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.t.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

type runResp struct {
	Run struct {
		Info struct {
			RunID string `json:"run_id"`
		} `json:"info"`
	} `json:"run"`
}

func (c *client) createRun(exp string) (string, error) {
	var r runResp
	err := c.call("POST", "runs/create", map[string]any{"experiment_id": exp, "start_time": time.Now().UnixMilli(),
		"run_name": fmt.Sprintf("run-%d", time.Now().UnixNano())}, &r) // mlflow.start_run names runs client-side
	return r.Run.Info.RunID, err
}

func batch(key string, n int, value func(i int) float64) map[string]any {
	ms := make([]map[string]any, n)
	now := time.Now().UnixMilli()
	for i := range ms {
		ms[i] = map[string]any{"key": key, "value": value(i), "timestamp": now + int64(i), "step": i}
	}
	return map[string]any{"metrics": ms}
}

type op struct {
	name string
	do   func() error
}

// setup creates the experiment and the data the read operations need: a
// run with a 1,000-point history and 1,000 runs with a metric each.
func (c *client) setup(runs int) ([]op, error) {
	var e struct {
		ID string `json:"experiment_id"`
	}
	if err := c.call("POST", "experiments/create", map[string]any{"name": fmt.Sprintf("bench-%d", time.Now().UnixNano())}, &e); err != nil {
		return nil, err
	}
	hist, err := c.createRun(e.ID)
	if err != nil {
		return nil, err
	}
	b := batch("loss", 1000, func(i int) float64 { return 1 / float64(i+1) })
	b["run_id"] = hist
	if err := c.call("POST", "runs/log-batch", b, nil); err != nil {
		return nil, err
	}
	var s struct {
		ID string `json:"experiment_id"`
	}
	if err := c.call("POST", "experiments/create", map[string]any{"name": fmt.Sprintf("bench-search-%d", time.Now().UnixNano())}, &s); err != nil {
		return nil, err
	}
	for i := range runs {
		id, err := c.createRun(s.ID)
		if err != nil {
			return nil, err
		}
		if err := c.call("POST", "runs/log-metric", map[string]any{"run_id": id, "key": "acc", "value": float64(i%997) / 997,
			"timestamp": time.Now().UnixMilli(), "step": 0}, nil); err != nil {
			return nil, err
		}
	}
	writeRun, err := c.createRun(e.ID)
	if err != nil {
		return nil, err
	}
	step := 0
	return []op{
		{"create run", func() error { _, err := c.createRun(e.ID); return err }},
		{"log one metric", func() error {
			step++
			return c.call("POST", "runs/log-metric", map[string]any{"run_id": writeRun, "key": "m", "value": 0.5,
				"timestamp": time.Now().UnixMilli(), "step": step}, nil)
		}},
		{"log batch of 1,000 points", func() error {
			step++
			b := batch(fmt.Sprintf("b%d", step), 1000, func(i int) float64 { return float64(i) })
			b["run_id"] = writeRun
			return c.call("POST", "runs/log-batch", b, nil)
		}},
		{"read a 1,000-point history", func() error {
			var h struct {
				Metrics []json.RawMessage `json:"metrics"`
			}
			if err := c.call("GET", "metrics/get-history?run_id="+hist+"&metric_key=loss", nil, &h); err != nil {
				return err
			}
			if len(h.Metrics) != 1000 {
				return fmt.Errorf("history: %d points, want 1000", len(h.Metrics))
			}
			return nil
		}},
		{fmt.Sprintf("search %d runs: metric filter + order, 100 results", runs), func() error {
			var r struct {
				Runs []json.RawMessage `json:"runs"`
			}
			if err := c.call("POST", "runs/search", map[string]any{"experiment_ids": []string{s.ID},
				"filter": "metrics.acc > 0.5", "order_by": []string{"metrics.acc DESC"}, "max_results": 100}, &r); err != nil {
				return err
			}
			if len(r.Runs) != 100 {
				return fmt.Errorf("search: %d runs, want 100", len(r.Runs))
			}
			return nil
		}},
	}, nil
}

func measure(o op, warm, n int) ([]time.Duration, error) {
	for range warm {
		if err := o.do(); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		if err := o.do(); err != nil {
			return nil, err
		}
		out[i] = time.Since(start)
	}
	slices.Sort(out)
	return out, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

type multi map[string]string

func (m multi) String() string { return fmt.Sprint(map[string]string(m)) }
func (m multi) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return errors.New("want name=value")
	}
	m[k] = v
	return nil
}

func main() {
	var (
		targets, tokens, ns = multi{}, multi{}, multi{}
		order               []string
	)
	flag.Func("target", "name=base URL of a tracking server (repeatable, measured in this order)", func(s string) error {
		if err := targets.Set(s); err != nil {
			return err
		}
		order = append(order, strings.SplitN(s, "=", 2)[0])
		return nil
	})
	flag.Var(tokens, "token-env", "name=environment variable holding the target's bearer token")
	flag.Var(ns, "n-for", "name=repetitions for that target (default -n)")
	n := flag.Int("n", 200, "repetitions of each operation")
	warm := flag.Int("warm", 5, "warm-up calls of each operation")
	runs := flag.Int("runs", 1000, "runs in the searched experiment")
	tsv := flag.Bool("tsv", false, "print one tab-separated line per target and operation (target, operation, median ms, p95 ms, n) instead of the table")
	flag.Parse()
	if len(order) == 0 {
		fmt.Fprintln(os.Stderr, "mlflowbench: no -target")
		os.Exit(2)
	}
	var ops []string
	results := map[string]map[string][]time.Duration{}
	for _, name := range order {
		t := target{name: name, base: strings.TrimRight(targets[name], "/"), n: *n}
		if env := tokens[name]; env != "" {
			t.token = os.Getenv(env)
		}
		if v := ns[name]; v != "" {
			if _, err := fmt.Sscan(v, &t.n); err != nil || t.n < 1 {
				fmt.Fprintf(os.Stderr, "mlflowbench: bad -n-for %s\n", v)
				os.Exit(2)
			}
		}
		c := &client{t: t, http: &http.Client{Timeout: 2 * time.Minute}}
		fmt.Fprintf(os.Stderr, "mlflowbench: %s: setting up\n", name)
		list, err := c.setup(*runs)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mlflowbench: %s: setup: %v\n", name, err)
			os.Exit(1)
		}
		results[name] = map[string][]time.Duration{}
		for _, o := range list {
			if !slices.Contains(ops, o.name) {
				ops = append(ops, o.name)
			}
			fmt.Fprintf(os.Stderr, "mlflowbench: %s: %s x%d\n", name, o.name, t.n)
			d, err := measure(o, *warm, t.n)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mlflowbench: %s: %s: %v\n", name, o.name, err)
				os.Exit(1)
			}
			results[name][o.name] = d
		}
	}
	if *tsv {
		for _, name := range order {
			for _, o := range ops {
				d := results[name][o]
				fmt.Printf("%s\t%s\t%s\t%s\t%d\n", name, o, ms(d[len(d)/2]), ms(d[(len(d)*95)/100]), len(d))
			}
		}
		return
	}
	fmt.Printf("| operation |")
	for _, name := range order {
		fmt.Printf(" %s median / p95 (ms) |", name)
	}
	fmt.Printf("\n|---|")
	for range order {
		fmt.Printf("---|")
	}
	fmt.Println()
	for _, o := range ops {
		fmt.Printf("| %s |", o)
		for _, name := range order {
			d := results[name][o]
			fmt.Printf(" %s / %s (n=%d) |", ms(d[len(d)/2]), ms(d[(len(d)*95)/100]), len(d))
		}
		fmt.Println()
	}
}
