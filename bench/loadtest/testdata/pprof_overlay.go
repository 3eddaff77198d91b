// This file is not part of any package in the module: it lives under
// testdata, which the go tool ignores. bench/loadtest/pprof/build.sh adds
// it to examples/platform with go build -overlay, without touching the
// server's sources, to make a profiling build: with LOADTEST_PPROF_ADDR set
// to a loopback address, the server also serves net/http/pprof there.

package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

func init() {
	addr := os.Getenv("LOADTEST_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		slog.Error("LOADTEST_PPROF_ADDR must be a loopback HOST:PORT; pprof not started")
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil {
			slog.Error("pprof server stopped", "error", err.Error())
		}
	}()
}
