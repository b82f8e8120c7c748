package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/server"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
)

const reindexUsage = `Usage: xietong reindex [--db DSN] [--type T[,T...]] [--batch N] [--after CURSOR]

Recomputes the search-index entries of the stored resources (current
versions) with this binary's indexer and replaces them, in batches of N
resources per transaction, printing progress after each batch. Run it
after an upgrade that indexes more (composite parameters, Location
positions, canonical UCUM units), for example on resources loaded by an
older version. Versions and bodies are not changed. It is safe to run
again, and beside a running server: a resource written meanwhile keeps
the entries its write computed. An interrupted run resumes with
--after and the cursor of its last progress line.

`

// runReindex implements "xietong reindex".
func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reindexUsage); fs.PrintDefaults() }
	db := fs.String("db", envOr("XIETONG_DB", "./xietong.db"), "database: a SQLite file path or a postgres:// URL (env XIETONG_DB)")
	types := fs.String("type", "", "comma-separated resource types to reindex (default: all)")
	batch := fs.Int("batch", 500, "resources per transaction")
	after := fs.String("after", "", "resume after this cursor (printed with the progress)")
	timeZone := fs.String("timezone", envOr("XIETONG_TIMEZONE", server.DefaultTimeZone), "local time zone for dates written without one, as the server's (env XIETONG_TIMEZONE)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || *batch < 1 {
		fs.Usage()
		return 2
	}
	zone, err := server.LoadZone(*timeZone)
	if err != nil {
		fmt.Fprintf(stderr, "xietong reindex: %v\n", err)
		return 2
	}
	var only []string
	if *types != "" {
		only = strings.Split(*types, ",")
	}
	st, err := open.Open(ctx, *db, open.WithMigrate())
	if err != nil {
		fmt.Fprintf(stderr, "xietong reindex: %v\n", err)
		return 1
	}
	defer st.Close()
	// The run reads every resource body: it is recorded in the audit
	// trail as the system's own maintenance access.
	audit := func(reason string) error {
		al, ok := st.(store.AuditLog)
		if !ok {
			return fmt.Errorf("%w: the store keeps no audit trail", store.ErrUnsupported)
		}
		return al.AppendAudit(ctx, []store.AuditRecord{{Time: time.Now(), Subject: "system/reindex", Role: "system",
			Action: "read", ResourceType: *types, Operation: "reindex", Source: "xietong reindex", Allowed: true, Reason: reason}})
	}
	if err := audit("recompute the search index"); err != nil {
		fmt.Fprintf(stderr, "xietong reindex: recording the run in the audit trail: %v\n", err)
		return 1
	}
	p, err := search.Reindex(ctx, st, search.NewIndexer(zone), search.ReindexOptions{Types: only, Batch: *batch, After: *after,
		Progress: func(p search.ReindexProgress) {
			rate := float64(p.Scanned) / max(p.Elapsed.Seconds(), 1e-9)
			fmt.Fprintf(stdout, "%d read, %d reindexed, %d skipped, %.0f/s; resume with --after %s\n", p.Scanned, p.Reindexed, p.Skipped, rate, p.Cursor)
		}})
	for _, f := range p.Failed {
		fmt.Fprintf(stderr, "not indexed: %s\n", f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "xietong reindex: %v\n", err)
		_ = audit("recompute the search index: stopped: " + err.Error()) // the start is recorded already
		return 1
	}
	fmt.Fprintf(stdout, "done: %d resources reindexed, %d skipped, in %s\n", p.Reindexed, p.Skipped, p.Elapsed.Round(time.Millisecond))
	return 0
}
