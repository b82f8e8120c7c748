// Command xietong is the Xietong (协同) regional health collaboration
// platform in one binary. Main only parses the command line and wires the
// packages together; all behaviour lives in them.
//
//	xietong serve   [--addr HOST:PORT] [--db DSN] [--demo]   run the server
//	xietong migrate [--db DSN]                              bring the database schema up to date
//	xietong reindex [--db DSN] [--type T]                   recompute the search index of stored resources
//	xietong fhirpath [--resource FILE|-] EXPRESSION         evaluate FHIRPath
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `xietong — the Xietong (协同) regional health collaboration platform

Usage:
  xietong serve    [--addr HOST:PORT] [--db DSN] [--demo [--demo-patients N]]
                   Serve the FHIR API at /fhir. With --demo, an empty
                   database is first filled with the generated demo region.
                   DSN is a SQLite file path (default ./xietong.db) or a
                   postgres:// URL. Settings also come from XIETONG_ADDR
                   and XIETONG_DB.
  xietong migrate  [--db DSN]
                   Apply pending database migrations and exit.
  xietong reindex  [--db DSN] [--type T] [--batch N] [--after CURSOR]
                   Recompute the search index of stored resources.
  xietong fhirpath [--resource FILE|-] EXPRESSION
                   Evaluate a FHIRPath expression and print the result.
  xietong demo generate --out DIR [--patients N] [--seed N]
                   Write the deterministic demo region as FHIR transaction Bundles.
  xietong import directory [--db DSN] FILE.csv
                   Check a directory CSV file and load it in one transaction.
  xietong import catalogue [--db DSN] FILE | --default
                   Import a recognition catalogue (JSON, or CSV by extension).
  xietong health-card-keys list|rotate|retire KID [--db DSN]
                   Manage the keys that sign e-health card codes.
  xietong bench ingest [--bundles DIR] [--concurrency N] [--db DSN]
                   Measure ingest speed against the storage floor.

Run "xietong COMMAND --help" for the options of a command.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "import":
		return runImport(ctx, args[1:], stdout, stderr)
	case "reindex":
		return runReindex(ctx, args[1:], stdout, stderr)
	case "health-card-keys":
		return runKeys(ctx, args[1:], stdout, stderr)
	case "fhirpath":
		return runFHIRPath(args[1:], stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "xietong: unknown command %q\n\n%s", args[0], usage)
	return 2
}
