package fhirpath

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xietong/xietong/internal/sharedtest"
)

// sharedDir locates ../shared beside the module root (see sharedtest).
func sharedDir(t testing.TB) string {
	t.Helper()
	return sharedtest.Dir(t)
}

type suiteXML struct {
	Groups []struct {
		Name  string      `xml:"name,attr"`
		Tests []suiteCase `xml:"test"`
	} `xml:"group"`
}

type suiteCase struct {
	Name       string `xml:"name,attr"`
	InputFile  string `xml:"inputfile,attr"`
	Predicate  string `xml:"predicate,attr"`
	Mode       string `xml:"mode,attr"`
	Ordered    string `xml:"ordered,attr"`
	Expression struct {
		Text    string `xml:",chardata"`
		Invalid string `xml:"invalid,attr"`
		Mode    string `xml:"mode,attr"`
	} `xml:"expression"`
	Outputs []struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"output"`
}

// suitePassBar is the acceptance bar for the official R4 suite.
const suitePassBar = 917

func loadDisputed(t *testing.T) map[string]string {
	m := map[string]string{}
	f, err := os.Open(filepath.Join("testdata", "suite-disputed.txt"))
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, ":")
		m[strings.TrimSpace(name)] = strings.TrimSpace(reason)
	}
	return m
}

func TestFHIRPathR4Suite(t *testing.T) {
	shared := sharedDir(t)
	base := filepath.Join(shared, "fhirpath", "r4")
	raw, err := os.ReadFile(filepath.Join(base, "tests-fhir-r4.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var suite suiteXML
	if err := xml.Unmarshal(raw, &suite); err != nil {
		t.Fatal(err)
	}
	disputed := loadDisputed(t)
	inputs := map[string]any{}
	loadInput := func(name string) (any, error) {
		if name == "" {
			return nil, nil
		}
		if v, ok := inputs[name]; ok {
			return v, nil
		}
		jn := strings.TrimSuffix(name, filepath.Ext(name)) + ".json"
		b, err := os.ReadFile(filepath.Join(base, "inputs-json", jn))
		if err != nil {
			return nil, err
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		inputs[name] = v
		return v, nil
	}
	passed, failed := 0, 0
	var report []string
	for _, g := range suite.Groups {
		for i, tc := range g.Tests {
			name := tc.Name
			if name == "" {
				name = fmt.Sprintf("%s#%d", g.Name, i)
			}
			ok, got := runSuiteCase(tc, loadInput)
			if ok {
				passed++
				continue
			}
			failed++
			var exp []string
			for _, o := range tc.Outputs {
				exp = append(exp, o.Type+":"+o.Text)
			}
			if tc.Expression.Invalid != "" {
				exp = append(exp, "error("+tc.Expression.Invalid+")")
			}
			line := fmt.Sprintf("FAIL %s/%s\n    expr: %s\n    want: %s\n    got:  %s", g.Name, name, strings.TrimSpace(tc.Expression.Text), strings.Join(exp, ", "), got)
			if r, ok := disputed[name]; ok {
				line += "\n    disputed: " + r
			}
			report = append(report, line)
		}
	}
	for _, l := range report {
		t.Log(l)
	}
	summary := fmt.Sprintf("fhirpath-r4: %d passed, %d failed", passed, failed)
	t.Log(summary)
	fmt.Println(summary)
	if passed < suitePassBar {
		t.Fatalf("%d tests passed, the bar is %d", passed, suitePassBar)
	}
}

func runSuiteCase(tc suiteCase, load func(string) (any, error)) (bool, string) {
	expr := strings.TrimSpace(tc.Expression.Text)
	var opts []CompileOption
	if tc.Mode == "strict" || tc.Expression.Mode == "strict" {
		opts = append(opts, Strict())
	}
	invalid := tc.Expression.Invalid
	e, err := Compile(expr, opts...)
	if err != nil {
		if invalid != "" {
			return true, "compile error: " + err.Error()
		}
		return false, "compile error: " + err.Error()
	}
	if invalid == "syntax" {
		return false, "compiled without a syntax error"
	}
	input, err := load(tc.InputFile)
	if err != nil {
		return false, "input: " + err.Error()
	}
	out, err := e.Evaluate(input, nil)
	if err != nil {
		if invalid != "" {
			return true, "error: " + err.Error()
		}
		return false, "error: " + err.Error()
	}
	if invalid != "" {
		return false, "no error, result " + renderCollection(out)
	}
	if tc.Predicate == "true" {
		// the expression is used as a predicate: its result is exists()
		out = Collection{boolValue(len(out) > 0)}
	}
	got := renderCollection(out)
	if len(out) != len(tc.Outputs) {
		return false, got
	}
	match := func(o struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	}, v Value) bool {
		want := o.Text
		have := v.String()
		if sv, ok := system(v); ok {
			if tv, ok := sv.v.(*temporal); ok {
				have = tv.literal()
				if tv.kind == kDateTime && !strings.HasSuffix(want, "T") {
					have = strings.TrimSuffix(have, "T")
				}
				if !strings.HasPrefix(want, "@") {
					have = tv.String()
				}
			}
		}
		if want != have {
			return false
		}
		if o.Type != "" {
			_, tn, _ := strings.Cut(v.TypeName(), ".")
			if !strings.EqualFold(tn, o.Type) {
				return false
			}
		}
		return true
	}
	if tc.Ordered == "false" {
		used := make([]bool, len(out))
	outer:
		for _, o := range tc.Outputs {
			for j, v := range out {
				if !used[j] && match(o, v) {
					used[j] = true
					continue outer
				}
			}
			return false, got
		}
		return true, got
	}
	for i, o := range tc.Outputs {
		if !match(o, out[i]) {
			return false, got
		}
	}
	return true, got
}

func renderCollection(c Collection) string {
	parts := make([]string, 0, len(c))
	for _, v := range c {
		s := v.String()
		if sv, ok := system(v); ok {
			if tv, ok := sv.v.(*temporal); ok {
				s = tv.literal()
			}
		}
		parts = append(parts, v.TypeName()+":"+s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
