package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/xietong/xietong/directory"
	"github.com/xietong/xietong/server"
)

const importUsage = `Usage: xietong import directory [--db DSN] FILE.csv

Checks a directory CSV file (institutions, departments, consortia and
alliances with their members, practitioners with their licences and
practice sites, locations with coordinates, services) and loads it into
the database in one transaction: every row or none. Every problem of
every row is reported with its line number and column. The columns are
documented in the directory package (go doc github.com/xietong/xietong/directory);
directory/testdata/directory.csv is a sample. Importing a file again
writes the same resources again (rows are written by id, never duplicated).

`

// runImport implements "xietong import".
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "directory" {
		fmt.Fprint(stderr, importUsage)
		return 2
	}
	fs := flag.NewFlagSet("import directory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importUsage); fs.PrintDefaults() }
	db := fs.String("db", envOr("XIETONG_DB", "./xietong.db"), "database: a SQLite file path or a postgres:// URL (env XIETONG_DB)")
	keys := fs.String("health-card-keys", envOr("XIETONG_HEALTH_CARD_KEYS", ""), "e-health card key file (env XIETONG_HEALTH_CARD_KEYS; default next to a SQLite database)")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "xietong import directory: %v\n", err)
		return 1
	}
	defer f.Close()
	srv, err := server.New(ctx, server.Config{DB: *db, HealthCardKeyFile: *keys, Logger: newLogger(stderr, "warn")})
	if err != nil {
		fmt.Fprintf(stderr, "xietong import directory: %v\n", err)
		return 1
	}
	defer srv.Close()
	plan, err := srv.ImportDirectory(ctx, f)
	var errs directory.Errors
	if errors.As(err, &errs) {
		fmt.Fprintf(stderr, "%s: nothing imported; %d problems:\n", fs.Arg(0), len(errs))
		for _, e := range errs {
			fmt.Fprintf(stderr, "  %s\n", e)
		}
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "xietong import directory: nothing imported: %v\n", err)
		return 1
	}
	kinds := make([]string, 0, len(plan.Counts))
	for k := range plan.Counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	fmt.Fprintf(stdout, "imported %d rows from %s in one transaction:\n", len(plan.Rows), fs.Arg(0))
	for _, k := range kinds {
		fmt.Fprintf(stdout, "  %-13s %5d\n", k, plan.Counts[k])
	}
	return 0
}
