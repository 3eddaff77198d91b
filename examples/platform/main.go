package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/maestro-ml/maestro/platform"
	"github.com/maestro-ml/maestro/secrets"
)

// defaultAddr is where serve listens unless --addr says otherwise.
const defaultAddr = "127.0.0.1:8080"

const usage = `usage: platform [command] [flags]

commands:
  serve [--addr HOST:PORT] [--mlflow]
                             serve the platform (the default; address 127.0.0.1:8080);
                             --mlflow also serves MLflow's REST API (docs/mlflow.md)
  init-db                    prepare PostgreSQL: migrations as MAESTRO_DATABASE_OWNER_URL,
                             the application role of MAESTRO_DATABASE_URL, grants, RLS

Configuration comes from the environment (each secret also as NAME_FILE);
see docs/platform.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(os.Getenv("MAESTRO_LOG_LEVEL"))}))
	if err := run(ctx, os.Args[1:], secrets.Env(), log, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		log.Error("platform failed", slog.String("error", err.Error()))
		stop()
		os.Exit(1)
	}
}

// logLevel parses MAESTRO_LOG_LEVEL: debug, info, warn or error; anything
// else is info.
func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// run executes the command line args with the configuration read from p.
// It returns when the command is done or, for serve, when ctx is cancelled
// and the server has shut down.
func run(ctx context.Context, args []string, p secrets.Provider, log *slog.Logger, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("platform "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	addr := defaultAddr
	mlflow := false
	switch cmd {
	case "serve":
		fs.StringVar(&addr, "addr", defaultAddr, "listen address HOST:PORT")
		fs.BoolVar(&mlflow, "mlflow", false, "also serve MLflow's REST API under /api/2.0/mlflow")
	case "init-db":
	case "help":
		fs.Usage()
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg, err := platform.ConfigFromEnv(ctx, p)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log.Info("configuration", slog.Any("config", cfg))
	if cmd == "init-db" {
		return platform.InitDB(ctx, cfg, platform.WithLogger(log))
	}
	opts := []platform.Option{platform.WithLogger(log)}
	if mlflow {
		opts = append(opts, platform.WithMLflow())
	}
	return serve(ctx, cfg, addr, opts...)
}

// serve builds the platform and serves it on addr until ctx is done.
func serve(ctx context.Context, cfg platform.Config, addr string, opts ...platform.Option) error {
	srv, err := platform.New(ctx, cfg, opts...)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return srv.Serve(ctx, ln)
}
