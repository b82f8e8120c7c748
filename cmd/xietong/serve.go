package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/xietong/xietong/demo"
	"github.com/xietong/xietong/server"
	"github.com/xietong/xietong/store/open"
)

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("XIETONG_ADDR", "127.0.0.1:8080"), "listen address HOST:PORT (env XIETONG_ADDR)")
	db := fs.String("db", envOr("XIETONG_DB", "./xietong.db"), "database: a SQLite file path or a postgres:// URL (env XIETONG_DB)")
	demoMode := fs.Bool("demo", false, "demo mode: on an empty database, first generate and load the demo region (通武廊); choose a role in the console, no login")
	demoPatients := fs.Int("demo-patients", demo.Default().Patients, "patients in the generated demo region")
	maxBody := fs.Int64("max-body", 32<<20, "largest accepted request body in bytes")
	queryTimeout := fs.Duration("query-timeout", 10*time.Second, "time budget of one search")
	logLevel := fs.String("log-level", envOr("XIETONG_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	timeZone := fs.String("timezone", envOr("XIETONG_TIMEZONE", server.DefaultTimeZone), "local time zone for dates written without one: an IANA name or an offset like +08:00 (env XIETONG_TIMEZONE)")
	publicURL := fs.String("public-url", envOr("XIETONG_PUBLIC_URL", ""), "absolute FHIR base URL for links, e.g. https://region.example/fhir (env XIETONG_PUBLIC_URL; default: from each request's Host)")
	healthCardKeys := fs.String("health-card-keys", envOr("XIETONG_HEALTH_CARD_KEYS", ""), "e-health card signing key file, created on first start (env XIETONG_HEALTH_CARD_KEYS; default next to a SQLite database, else in the user's config folder; nodes of one region share it)")
	healthCardTTL := fs.Duration("health-card-ttl", 60*time.Second, "validity of a dynamic e-health card code")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := newLogger(stderr, *logLevel)
	srv, err := server.New(ctx, server.Config{
		Addr: *addr, DB: *db, Demo: *demoMode, MaxBodyBytes: *maxBody, QueryTimeout: *queryTimeout, Logger: log,
		TimeZone: *timeZone, PublicURL: *publicURL,
		HealthCardKeyFile: *healthCardKeys, HealthCardTTL: *healthCardTTL,
	})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	defer srv.Close()
	if *demoMode {
		empty, err := srv.Empty(ctx)
		if err != nil {
			log.Error("cannot inspect the database", "err", err)
			return 1
		}
		if empty {
			// Serve at once and fill the region in the background: the API
			// answers (with what has landed so far) while the demo loads.
			cfg := demo.Default()
			cfg.Patients = *demoPatients
			loaded := make(chan struct{})
			lctx, stopLoader := context.WithCancel(ctx)
			// The loader writes through the API in process: it must be done
			// before the store and the audit trail close.
			defer func() { stopLoader(); <-loaded }()
			go func() {
				defer close(loaded)
				log.Info("empty database: generating and loading the demo region in the background", "patients", cfg.Patients)
				if err := srv.LoadDemo(lctx, cfg); err != nil && lctx.Err() == nil {
					log.Error("demo region", "err", err)
				}
			}()
		}
	}
	// The recognition catalogue ships with the binary: written on first start.
	if err := srv.EnsureRecognitionCatalogue(ctx); err != nil {
		log.Error("recognition catalogue", "err", err)
		return 1
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", envOr("XIETONG_DB", "./xietong.db"), "database: a SQLite file path or a postgres:// URL (env XIETONG_DB)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := open.Migrate(ctx, *db); err != nil {
		fmt.Fprintf(stderr, "xietong migrate: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "database schema is up to date")
	return 0
}
