// Command ferretdb-runner embeds FerretDB v1.24.2 (SQLite backend) for local tests.
//
// Building FerretDB's own cmd/ferretdb via `go install` panics at start-up (missing
// build/version/version.txt, FerretDB#2982); a main package in our own module avoids that.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27117", "TCP listen address (127.0.0.1:0 = random port)")
	handler := flag.String("handler", "sqlite", "sqlite | postgresql")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URI: EXISTING directory, must end with '/'")
	pgURL := flag.String("postgresql-url", "postgres://127.0.0.1:5432/ferretdb", "PostgreSQL URL")
	level := flag.String("log-level", "warn", "debug|info|warn|error")
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       *handler,
		SQLiteURL:     *sqliteURL,
		PostgreSQLURL: *pgURL,
	})
	if err != nil {
		logger.Error("start failed", slog.Any("error", err))
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The listener is bound inside New(), so the URI is known now: print it as the readiness marker.
	fmt.Println("READY", f.MongoDBURI())
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		logger.Error("run failed", slog.Any("error", err))
		os.Exit(1)
	}
}
