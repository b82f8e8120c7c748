package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xietong/xietong/directory"
	"github.com/xietong/xietong/recognition"
	"github.com/xietong/xietong/server"
)

const importUsage = `Usage: xietong import directory [--db DSN] [--source NAME] [--sync [--force] [--max-end SHARE]] [--dry-run] FILE.csv
       xietong import catalogue [--db DSN] FILE | --default

Checks a directory CSV file (institutions, departments, consortia and
alliances with their members, practitioners with their licences and
practice sites, expert pools with their experts and their hours, locations
with coordinates, services) and loads it into
the database in one transaction: every row or none. Every problem of
every row is reported with its line number and column. The columns are
documented in the directory package (go doc github.com/xietong/xietong/directory);
directory/testdata/directory.csv is a sample. Importing a file again
writes the same resources again (rows are written by id, never duplicated).

Every imported resource is tagged with its source (--source, default
"directory"). With --sync the file is the source's whole registry: the
source's records it no longer lists are ended in the same transaction
(active=false, a Location inactive, practice sites, memberships and
experts with period.end today; nothing deleted), and a row that comes back
is active again. Records written through the API are never ended. A sync
that would end more than --max-end of the source's active records (20 %)
is refused unless --force. --dry-run prints what would be added, changed
and ended, per kind, and writes nothing (decision 032).

`

// runImport implements "xietong import directory|catalogue".
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && args[0] == "directory":
		return runImportDirectory(ctx, args, stdout, stderr)
	case len(args) > 0 && args[0] == "catalogue":
		return runImportCatalogue(ctx, args, stdout, stderr)
	}
	fmt.Fprint(stderr, importUsage)
	return 2
}

// runImportDirectory implements "xietong import directory".
func runImportDirectory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import directory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importUsage); fs.PrintDefaults() }
	db := fs.String("db", envOr("XIETONG_DB", "./xietong.db"), "database: a SQLite file path or a postgres:// URL (env XIETONG_DB)")
	keys := fs.String("health-card-keys", envOr("XIETONG_HEALTH_CARD_KEYS", ""), "e-health card key file (env XIETONG_HEALTH_CARD_KEYS; default next to a SQLite database)")
	var opt directory.Options
	fs.StringVar(&opt.Source, "source", directory.DefaultSource, "the registry the file comes from: tagged on every imported resource; a sync ends only this source's records")
	fs.BoolVar(&opt.Sync, "sync", false, "the file is the source's whole registry: end the source's records it no longer lists")
	fs.BoolVar(&opt.DryRun, "dry-run", false, "print what would be added, changed and ended; write nothing")
	fs.BoolVar(&opt.Force, "force", false, "let a sync end more than --max-end of the source's active records")
	fs.Float64Var(&opt.MaxEndShare, "max-end", directory.DefaultMaxEndShare, "the largest share (0 to 1) of the source's active records a sync ends without --force")
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
	if opt.MaxEndShare <= 0 || opt.MaxEndShare > 1 {
		fmt.Fprintf(stderr, "xietong import directory: --max-end %g is not a share from 0 (exclusive) to 1\n", opt.MaxEndShare)
		return 2
	}
	if (opt.Force || opt.MaxEndShare != directory.DefaultMaxEndShare) && !opt.Sync {
		fmt.Fprintln(stderr, "xietong import directory: --force and --max-end only apply to --sync")
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
	rep, err := srv.SyncDirectory(ctx, f, opt)
	var errs directory.Errors
	if errors.As(err, &errs) {
		n := fmt.Sprintf("%d problems", len(errs))
		if len(errs) == 1 {
			n = "1 problem"
		}
		fmt.Fprintf(stderr, "%s: nothing imported; %s:\n", fs.Arg(0), n)
		for _, e := range errs {
			fmt.Fprintf(stderr, "  %s\n", e)
		}
		return 1
	}
	var stop *directory.TooManyEnded
	if errors.As(err, &stop) && opt.DryRun {
		printImportReport(stdout, fs.Arg(0), rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "xietong import directory: nothing imported: %v\n", err)
		return 1
	}
	printImportReport(stdout, fs.Arg(0), rep)
	return 0
}

// printImportReport prints the rows per kind and, for a sync or a dry
// run, what was (would be) added, changed, reactivated and ended.
func printImportReport(w io.Writer, file string, rep *directory.Report) {
	plan := rep.Plan
	rows := "rows"
	if len(plan.Rows) == 1 {
		rows = "row" // "imported 1 rows" (decision 025)
	}
	verb := "imported"
	if !rep.Written {
		verb = "dry run, nothing written: would import"
	}
	fmt.Fprintf(w, "%s %d %s from %s (source %s) in one transaction:\n", verb, len(plan.Rows), rows, file, rep.Source)
	kinds := map[string]bool{}
	for _, m := range []map[string]int{plan.Counts, rep.Ended} {
		for k := range m {
			kinds[k] = true
		}
	}
	fmt.Fprintf(w, "  %-13s %5s %5s %7s %9s %11s %5s\n", "kind", "rows", "added", "changed", "unchanged", "reactivated", "ended")
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(w, "  %-13s %5d %5d %7d %9d %11d %5d\n", k, plan.Counts[k], rep.Added[k], rep.Changed[k], rep.Unchanged[k], rep.Reactivated[k], rep.Ended[k])
	}
	for _, ref := range rep.EndedRefs {
		fmt.Fprintf(w, "  ended: %s\n", ref)
	}
}

// runImportCatalogue: xietong import catalogue [--db DSN] FILE|--default. The file
// (JSON, or CSV by its .csv extension; see recognition.ParseCatalogue) is
// written through an in-process node's API, so it is validated, indexed
// and audited like any write.
func runImportCatalogue(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import catalogue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", envOr("XIETONG_DB", "./xietong.db"), "database: a SQLite file path or a postgres:// URL (env XIETONG_DB)")
	def := fs.Bool("default", false, "import the shipped default catalogue (京津冀 lab and imaging lists)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var cat *recognition.Catalogue
	switch {
	case *def && fs.NArg() == 0:
		cat = recognition.Default()
	case !*def && fs.NArg() == 1:
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "xietong import catalogue: %v\n", err)
			return 1
		}
		format := "json"
		if strings.EqualFold(filepath.Ext(fs.Arg(0)), ".csv") {
			format = "csv"
		}
		if cat, err = recognition.ParseCatalogue(data, format); err != nil {
			fmt.Fprintf(stderr, "xietong import catalogue: %s: %v\n", fs.Arg(0), err)
			return 1
		}
	default:
		fmt.Fprintln(stderr, "usage: xietong import catalogue [--db DSN] FILE | --default")
		return 2
	}
	srv, err := server.New(ctx, server.Config{DB: *db, Logger: newLogger(stderr, "warn")})
	if err != nil {
		fmt.Fprintf(stderr, "xietong import catalogue: %v\n", err)
		return 1
	}
	defer srv.Close()
	n, err := srv.ImportCatalogue(ctx, cat)
	if err != nil {
		fmt.Fprintf(stderr, "xietong import catalogue: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %d programmes, %d memberships, %d EQA results (%d resources)\n", len(cat.Programmes), len(cat.Members), len(cat.EQA), n)
	return 0
}
