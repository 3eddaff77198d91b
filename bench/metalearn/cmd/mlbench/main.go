// Command mlbench prints every planning-time figure of docs/metalearn.md
// ("Planning-time evaluation") and, with -export, writes the scenarios'
// data for bench/metalearn/compare.py.
//
//	go run ./bench/metalearn/cmd/mlbench                 # full scale, about 10–20 min on 2 cores
//	go run ./bench/metalearn/cmd/mlbench -scale quick    # seconds
//	go run ./bench/metalearn/cmd/mlbench -export bench/metalearn/data/planning -only export
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	mlbench "github.com/maestro-ml/maestro/bench/metalearn"
)

func main() {
	scale := flag.String("scale", "full", "quick, medium or full")
	export := flag.String("export", "", "write the compare.py scenarios under this directory")
	only := flag.String("only", "", "\"export\": only export, print nothing; \"coverage\": only the coverage table; \"small\": only the small-history table; \"teamsize\": only the team-size table; \"artifacts\": only the artifact table")
	history := flag.Int("history", 0, "history size of the team-size and artifact figures (0: the scale's)")
	tenants := flag.Int("tenants", 0, "tenants of the artifact figure (0: the scale's)")
	sizes := flag.String("sizes", "", "comma-separated history sizes of the coverage table (empty: the scale's)")
	worlds := flag.String("worlds", "", "comma-separated worlds of the coverage table: base, confounded, drift (empty: all)")
	reps := flag.Int("reps", 0, "histories per cell of the coverage table (0: the scale's; the small-history table uses 3 times as many)")
	seed := flag.Uint64("seed", 0, "added to the seeds of the coverage and small-history histories (0: the documented figures)")
	flag.Parse()
	sc := mlbench.Full
	switch *scale {
	case "quick":
		sc = mlbench.Quick
	case "medium":
		sc = mlbench.Medium
	}
	if *history > 0 {
		sc.History = *history
	}
	if *reps > 0 {
		sc.Reps = *reps
	}
	sc.Seed = *seed
	if *tenants > 0 {
		sc.Tenants = *tenants
	}
	if *sizes != "" {
		sc.Sizes = nil
		for _, f := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 10 {
				fmt.Fprintf(os.Stderr, "mlbench: -sizes: %q is not a history size of at least 10\n", f)
				os.Exit(2)
			}
			sc.Sizes = append(sc.Sizes, n)
		}
	}
	if *worlds != "" {
		sc.Worlds = strings.Split(*worlds, ",")
	}
	ctx := context.Background()
	if *export != "" {
		if err := mlbench.Export(ctx, *export, mlbench.ExportScenarios, 500); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	switch *only {
	case "export":
		return
	case "coverage":
		if err := mlbench.PrintCoverage(ctx, os.Stdout, sc); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	case "small":
		if err := mlbench.PrintSmall(ctx, os.Stdout, sc); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	case "teamsize":
		if err := mlbench.PrintTeamSize(ctx, os.Stdout, sc); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	case "artifacts":
		if err := mlbench.PrintArtifacts(ctx, os.Stdout, sc); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := mlbench.Print(ctx, os.Stdout, sc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
