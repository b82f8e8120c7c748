package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/xietong/xietong/demo"
)

const demoUsage = `Usage: xietong demo generate --out DIR [--patients N] [--practitioners N] [--months N] [--seed N]

Writes the deterministic demo region (modelled on 通武廊: about 40
institutions with their consortia and alliances, practitioners, patients
and months of lab and imaging results) into DIR as numbered FHIR R4
transaction Bundles. POST them to a server's FHIR base in name order.
The same options always give byte-identical files.

`

// runDemo implements "xietong demo".
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "generate" {
		fmt.Fprint(stderr, demoUsage)
		return 2
	}
	def := demo.Default()
	fs := flag.NewFlagSet("demo generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage); fs.PrintDefaults() }
	out := fs.String("out", "", "folder to write the Bundles into (created if missing)")
	patients := fs.Int("patients", def.Patients, "number of patients")
	practitioners := fs.Int("practitioners", def.Practitioners, "number of practitioners")
	months := fs.Int("months", def.Months, "months of results before demo today (2026-11-01)")
	seed := fs.Uint64("seed", def.Seed, "seed of every random choice")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 || *patients < 1 || *practitioners < 1 || *months < 1 || *seed == 0 {
		fs.Usage()
		return 2
	}
	cfg := demo.Config{Patients: *patients, Practitioners: *practitioners, Months: *months, Seed: *seed}
	start := time.Now()
	st, err := demo.WriteDirStats(ctx, cfg, *out)
	if err != nil {
		fmt.Fprintf(stderr, "xietong demo generate: %v\n", err)
		return 1
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "wrote %d bundles, %d resources, %.1f MB to %s in %.1f s\n",
		st.Bundles, st.Resources, float64(st.Bytes)/1e6, *out, elapsed.Seconds())
	types := make([]string, 0, len(st.ByType))
	for t := range st.ByType {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		fmt.Fprintf(stdout, "  %-24s %8d\n", t, st.ByType[t])
	}
	return 0
}
