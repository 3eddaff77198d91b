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

	mlbench "github.com/maestro-ml/maestro/bench/metalearn"
)

func main() {
	scale := flag.String("scale", "full", "quick, medium or full")
	export := flag.String("export", "", "write the compare.py scenarios under this directory")
	only := flag.String("only", "", "\"export\": only export, print nothing")
	flag.Parse()
	sc := mlbench.Full
	switch *scale {
	case "quick":
		sc = mlbench.Quick
	case "medium":
		sc = mlbench.Medium
	}
	ctx := context.Background()
	if *export != "" {
		if err := mlbench.Export(ctx, *export, mlbench.ExportScenarios, 500); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if *only == "export" {
		return
	}
	if err := mlbench.Print(ctx, os.Stdout, sc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
