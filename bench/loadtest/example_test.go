package loadtest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/maestro-ml/maestro/bench/loadtest"
)

// Run a 10-minute baseline of 50 users against a platform on this machine
// and print the report as Markdown. The admin password is the one the
// server was started with.
func ExampleRun() {
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		Target:    "http://127.0.0.1:8080",
		Admin:     loadtest.Credential{Username: "admin", Password: os.Getenv("MAESTRO_ADMIN_PASSWORD")},
		Profile:   loadtest.ProfileBaseline,
		Users:     50,
		Duration:  10 * time.Minute,
		ServerPID: 12345, // sample the server's memory and CPU
		Progress:  os.Stderr,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := rep.Markdown(os.Stdout); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("p99 %.1f ms, %d errors\n", rep.Overall.P99, rep.Overall.Errors)
}

// Only loopback targets are accepted unless the caller opts in.
func ExampleCheckTarget() {
	for _, target := range []string{"http://127.0.0.1:8080/", "http://[::1]:8080", "https://api.example.com"} {
		base, err := loadtest.CheckTarget(target, false)
		fmt.Printf("%q %v\n", base, errors.Is(err, loadtest.ErrNonLoopback))
	}
	// Output:
	// "http://127.0.0.1:8080" false
	// "http://[::1]:8080" false
	// "" true
}
