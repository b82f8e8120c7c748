package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xietong/xietong/recognition"
	"github.com/xietong/xietong/server"
)

// runImport: xietong import catalogue [--db DSN] FILE|--default. The file
// (JSON, or CSV by its .csv extension; see recognition.ParseCatalogue) is
// written through an in-process node's API, so it is validated, indexed
// and audited like any write.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "catalogue" {
		fmt.Fprintln(stderr, "usage: xietong import catalogue [--db DSN] FILE | --default")
		return 2
	}
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
