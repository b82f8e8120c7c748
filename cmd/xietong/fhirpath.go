package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xietong/xietong/fhir/fhirpath"
)

const fhirpathUsage = `Usage: xietong fhirpath [--resource FILE|-] [--var NAME=VALUE]... EXPRESSION

Evaluates a FHIRPath expression over a FHIR JSON resource (a file, or
standard input with -) or over nothing, and prints the result collection
as JSON: one object per item with its type and value, e.g.
  [{"type":"FHIR.HumanName","value":{"family":"Chalmers"}}]

  --resource FILE   the resource to evaluate over ("-" for standard input)
  --var NAME=VALUE  an external constant %NAME (a string); repeatable

Exit status: 0 on success, 1 if the expression or the resource is
invalid or evaluation fails, 2 on a usage error.
`

type varFlags map[string]any

func (v varFlags) String() string { return "" }

func (v varFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return errors.New("expected NAME=VALUE")
	}
	v[name] = value
	return nil
}

// runFHIRPath implements "xietong fhirpath".
func runFHIRPath(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fhirpath", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, fhirpathUsage) }
	resourcePath := fs.String("resource", "", "")
	vars := varFlags{}
	fs.Var(vars, "var", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, fhirpathUsage)
		return 2
	}
	expr, err := fhirpath.Compile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var input any
	if *resourcePath != "" {
		var data []byte
		if *resourcePath == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(*resourcePath)
		}
		if err != nil {
			fmt.Fprintln(stderr, "fhirpath: reading the resource:", err)
			return 1
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		if err := d.Decode(&input); err != nil {
			fmt.Fprintln(stderr, "fhirpath: the resource is not valid JSON:", err)
			return 1
		}
		if _, ok := input.(map[string]any); !ok {
			fmt.Fprintln(stderr, "fhirpath: the resource must be a JSON object")
			return 1
		}
	}
	out, err := expr.Evaluate(input, &fhirpath.EvalOptions{
		Variables: vars,
		Trace: func(name string, items fhirpath.Collection) {
			fmt.Fprintf(stderr, "trace %s: %s\n", name, renderItems(items))
		},
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, renderItems(out))
	return 0
}

type fhirpathItem struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

func renderItems(c fhirpath.Collection) string {
	items := make([]fhirpathItem, len(c))
	for i, v := range c {
		items[i] = fhirpathItem{Type: v.TypeName(), Value: v.Interface()}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(items); err != nil {
		return "[]"
	}
	return strings.TrimSpace(b.String())
}
