// Command gen writes the generated files of package model from the official
// FHIR R4 definitions (the Bundle-*.json files of the hl7.fhir.r4.examples
// 4.0.1 package, kept in ../shared/fhir/r4/definitions).
//
// Usage: go run ./internal/gen -shared DIR -out DIR
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type structureDef struct {
	ResourceType   string `json:"resourceType"`
	ID             string `json:"id"`
	URL            string `json:"url"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Type           string `json:"type"`
	BaseDefinition string `json:"baseDefinition"`
	Derivation     string `json:"derivation"`
	Snapshot       struct {
		Element []elementDef `json:"element"`
	} `json:"snapshot"`
}

type elementDef struct {
	Path             string `json:"path"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	Type             []struct {
		Code          string   `json:"code"`
		TargetProfile []string `json:"targetProfile"`
		Extension     []struct {
			URL      string `json:"url"`
			ValueURL string `json:"valueUrl"`
		} `json:"extension"`
	} `json:"type"`
	Base struct {
		Path string `json:"path"`
	} `json:"base"`
	Binding *struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	} `json:"binding"`
	IsSummary  bool `json:"isSummary"`
	IsModifier bool `json:"isModifier"`
	Constraint []struct {
		Key        string `json:"key"`
		Severity   string `json:"severity"`
		Human      string `json:"human"`
		Expression string `json:"expression"`
	} `json:"constraint"`
}

type genType struct {
	Name, Base  string
	Kind        string
	Abstract    bool
	Elements    []*genElement
	Constraints []genConstraint
}

type genElement struct {
	Name, Path           string
	Min, Max             int
	Types                []string
	Choice               bool
	Targets              []string
	BindStrength, BindVS string
	Summary, Modifier    bool
	Constraints          []genConstraint
}

type genConstraint struct{ Key, Severity, Human, Expression string }

func main() {
	shared := flag.String("shared", "../../../shared/fhir/r4/definitions", "folder with the Bundle-*.json definitions")
	out := flag.String("out", ".", "output folder (package model)")
	flag.Parse()

	types := map[string]*genType{}
	var sds []*structureDef
	var rawResources []json.RawMessage
	for _, f := range []string{"Bundle-types.json", "Bundle-resources.json"} {
		for _, raw := range readBundle(filepath.Join(*shared, f)) {
			var head struct{ ResourceType string }
			must(json.Unmarshal(raw, &head))
			rawResources = append(rawResources, raw)
			if head.ResourceType != "StructureDefinition" {
				continue
			}
			var sd structureDef
			must(json.Unmarshal(raw, &sd))
			if sd.Kind == "logical" {
				continue
			}
			sds = append(sds, &sd)
		}
	}
	requiredVS := map[string]bool{}
	for _, sd := range sds {
		buildTypes(sd, types, requiredVS)
	}
	// Base has no definition of its own in R4's bundles; Element and
	// Resource are the roots.
	var b bytes.Buffer
	writeTypes(&b, types)
	writeFile(filepath.Join(*out, "types_gen.go"), b.Bytes())

	b.Reset()
	writeSearchParams(&b, readBundle(filepath.Join(*shared, "Bundle-searchParams.json")), types)
	writeCompartments(&b, rawResources)
	writeFile(filepath.Join(*out, "search_gen.go"), b.Bytes())

	b.Reset()
	writeValueSets(&b, requiredVS, filepath.Join(*shared, "Bundle-valuesets.json"), filepath.Join(*shared, "Bundle-v3-valuesets.json"), filepath.Join(*shared, "Bundle-v2-valuesets.json"))
	writeFile(filepath.Join(*out, "valuesets_gen.go"), b.Bytes())
}

func readBundle(path string) []json.RawMessage {
	data, err := os.ReadFile(path)
	must(err)
	var bd bundle
	must(json.Unmarshal(data, &bd))
	out := make([]json.RawMessage, len(bd.Entry))
	for i, e := range bd.Entry {
		out[i] = e.Resource
	}
	return out
}

func buildTypes(sd *structureDef, types map[string]*genType, requiredVS map[string]bool) {
	name := sd.ID
	if sd.Derivation == "constraint" {
		// Profiles such as SimpleQuantity: named types that specialise
		// their base for FHIRPath purposes.
		name = sd.ID
	}
	kind := map[string]string{"primitive-type": "KindPrimitive", "complex-type": "KindComplex", "resource": "KindResource"}[sd.Kind]
	root := &genType{Name: name, Kind: kind, Abstract: sd.Abstract, Base: lastSegment(sd.BaseDefinition)}
	types[name] = root

	els := sd.Snapshot.Element
	// Children of each path; a path with children is a backbone type.
	hasChildren := map[string]bool{}
	for _, e := range els {
		if i := strings.LastIndexByte(e.Path, '.'); i > 0 {
			hasChildren[e.Path[:i]] = true
		}
	}
	rootPath := els[0].Path
	for _, c := range els[0].Constraint {
		if c.Key == "ele-1" || c.Expression == "" {
			continue
		}
		root.Constraints = append(root.Constraints, genConstraint{c.Key, c.Severity, c.Human, c.Expression})
	}
	for _, e := range els[1:] {
		parentPath := e.Path[:strings.LastIndexByte(e.Path, '.')]
		parentName := parentPath
		if parentPath == rootPath {
			parentName = name
		}
		parent := types[parentName]
		if parent == nil {
			log.Fatalf("%s: parent %s not seen before", e.Path, parentPath)
		}
		elName := e.Path[len(parentPath)+1:]
		if sd.Kind == "primitive-type" && elName == "value" {
			continue
		}
		ge := &genElement{Path: e.Path, Min: e.Min, Summary: e.IsSummary, Modifier: e.IsModifier}
		if strings.HasSuffix(elName, "[x]") {
			ge.Choice = true
			elName = strings.TrimSuffix(elName, "[x]")
		}
		ge.Name = elName
		if e.Max == "*" {
			ge.Max = -1
		} else {
			n, err := strconv.Atoi(e.Max)
			must(err)
			ge.Max = n
		}
		switch {
		case e.ContentReference != "":
			ge.Types = []string{strings.TrimPrefix(e.ContentReference, "#")}
		case hasChildren[e.Path]:
			// An inline (backbone) element: a type of its own named by path.
			base := "BackboneElement"
			if len(e.Type) > 0 {
				base = e.Type[0].Code
			}
			types[e.Path] = &genType{Name: e.Path, Kind: "KindComplex", Base: base}
			ge.Types = []string{e.Path}
		default:
			for _, t := range e.Type {
				code := t.Code
				if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
					code = fhirTypeFor(e, t.Extension)
				}
				ge.Types = append(ge.Types, code)
				for _, tp := range t.TargetProfile {
					if name := lastSegment(tp); !contains(ge.Targets, name) {
						ge.Targets = append(ge.Targets, name)
					}
				}
			}
		}
		if len(ge.Types) == 0 {
			log.Fatalf("%s: no type", e.Path)
		}
		if e.Binding != nil && e.Binding.ValueSet != "" {
			ge.BindStrength = e.Binding.Strength
			ge.BindVS = strings.SplitN(e.Binding.ValueSet, "|", 2)[0]
			if ge.BindStrength == "required" {
				requiredVS[ge.BindVS] = true
			}
		}
		for _, c := range e.Constraint {
			if c.Key == "ele-1" || c.Expression == "" || isInherited(e) {
				continue
			}
			ge.Constraints = append(ge.Constraints, genConstraint{c.Key, c.Severity, c.Human, c.Expression})
		}
		parent.Elements = append(parent.Elements, ge)
	}
}

// isInherited keeps invariants inherited from a base element (say
// Extension's ext-1 on every extension element) from being repeated on each
// use: only invariants declared where the element is defined stay.
func isInherited(e elementDef) bool { return e.Base.Path != "" && e.Base.Path != e.Path }

// fhirTypeFor names the FHIR type of an element typed with a FHIRPath
// System type in the snapshot (Resource.id, Element.id, Extension.url).
func fhirTypeFor(e elementDef, ext []struct {
	URL      string `json:"url"`
	ValueURL string `json:"valueUrl"`
}) string {
	if e.Base.Path == "Resource.id" {
		return "id" // R4 says id; the snapshot's fhir-type extension says string
	}
	for _, x := range ext {
		if x.URL == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type" && x.ValueURL != "" {
			return x.ValueURL
		}
	}
	return "string"
}

func lastSegment(url string) string {
	if url == "" {
		return ""
	}
	return url[strings.LastIndexByte(url, '/')+1:]
}

func writeTypes(b *bytes.Buffer, types map[string]*genType) {
	header(b)
	names := sortedKeys(types)
	fmt.Fprintf(b, "var types = map[string]*Type{\n")
	for _, n := range names {
		t := types[n]
		fmt.Fprintf(b, "%q: {Name: %q, Kind: %s, Abstract: %v, Base: %q,\n", n, t.Name, t.Kind, t.Abstract, t.Base)
		writeConstraints(b, t.Constraints)
		b.WriteString("Elements: []*Element{\n")
		for _, e := range t.Elements {
			fmt.Fprintf(b, "{Name: %q, Path: %q, Min: %d, Max: %d, Types: %#v", e.Name, e.Path, e.Min, e.Max, e.Types)
			if e.Choice {
				b.WriteString(", Choice: true")
			}
			if len(e.Targets) > 0 {
				fmt.Fprintf(b, ", Targets: %#v", e.Targets)
			}
			if e.Summary {
				b.WriteString(", Summary: true")
			}
			if e.Modifier {
				b.WriteString(", Modifier: true")
			}
			if e.BindVS != "" {
				fmt.Fprintf(b, ", Binding: &Binding{Strength: %q, ValueSet: %q}", e.BindStrength, e.BindVS)
			}
			if len(e.Constraints) > 0 {
				b.WriteString(",\n")
				writeConstraints(b, e.Constraints)
			}
			b.WriteString("},\n")
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n")
}

func writeConstraints(b *bytes.Buffer, cs []genConstraint) {
	if len(cs) == 0 {
		return
	}
	b.WriteString("Constraints: []Constraint{\n")
	for _, c := range cs {
		fmt.Fprintf(b, "{Key: %q, Severity: %q, Human: %q, Expression: %q},\n", c.Key, c.Severity, c.Human, c.Expression)
	}
	b.WriteString("},\n")
}

type searchParamDef struct {
	URL        string   `json:"url"`
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Type       string   `json:"type"`
	Expression string   `json:"expression"`
	Target     []string `json:"target"`
	Component  []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

func writeSearchParams(b *bytes.Buffer, raws []json.RawMessage, types map[string]*genType) {
	header(b)
	b.WriteString("var searchParams = []*SearchParam{\n")
	for _, raw := range raws {
		var p searchParamDef
		must(json.Unmarshal(raw, &p))
		fmt.Fprintf(b, "{Code: %q, URL: %q, Base: %#v, Type: %q, Expression: %q", p.Code, p.URL, p.Base, p.Type, p.Expression)
		if len(p.Target) > 0 {
			fmt.Fprintf(b, ", Target: %#v", p.Target)
		}
		if len(p.Base) > 1 && p.Expression != "" {
			per := perBase(p.Expression, p.Base)
			if len(per) > 0 {
				b.WriteString(", PerBase: map[string]string{")
				for _, k := range sortedKeys(per) {
					fmt.Fprintf(b, "%q: %q, ", k, per[k])
				}
				b.WriteString("}")
			}
		}
		if len(p.Component) > 0 {
			b.WriteString(", Components: []SearchComponent{")
			for _, c := range p.Component {
				fmt.Fprintf(b, "{Definition: %q, Expression: %q}, ", c.Definition, c.Expression)
			}
			b.WriteString("}")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")
}

// perBase splits a union expression into the terms for each base type: the
// top-level "|" terms whose first name (after any opening parentheses) is
// that type.
func perBase(expr string, bases []string) map[string]string {
	terms := splitUnion(expr)
	out := map[string]string{}
	for _, base := range bases {
		var mine []string
		for _, t := range terms {
			s := strings.TrimLeft(t, "( ")
			if strings.HasPrefix(s, base+".") || s == base {
				mine = append(mine, t)
			}
		}
		if len(mine) > 0 {
			out[base] = strings.Join(mine, " | ")
		}
	}
	return out
}

func splitUnion(expr string) []string {
	var terms []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == '|' && depth == 0:
			terms = append(terms, strings.TrimSpace(expr[start:i]))
			start = i + 1
		}
	}
	return append(terms, strings.TrimSpace(expr[start:]))
}

func writeCompartments(b *bytes.Buffer, raws []json.RawMessage) {
	b.WriteString("var compartments = map[string]map[string][]string{\n")
	for _, raw := range raws {
		var cd struct {
			ResourceType string
			Code         string
			Resource     []struct {
				Code  string   `json:"code"`
				Param []string `json:"param"`
			} `json:"resource"`
		}
		var head struct{ ResourceType string }
		must(json.Unmarshal(raw, &head))
		if head.ResourceType != "CompartmentDefinition" {
			continue
		}
		must(json.Unmarshal(raw, &cd))
		fmt.Fprintf(b, "%q: {\n", cd.Code)
		for _, r := range cd.Resource {
			if len(r.Param) > 0 {
				fmt.Fprintf(b, "%q: %#v,\n", r.Code, r.Param)
			}
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
}

type concept struct {
	Code    string    `json:"code"`
	Concept []concept `json:"concept"`
}

type codeSystem struct {
	ResourceType string    `json:"resourceType"`
	URL          string    `json:"url"`
	Concept      []concept `json:"concept"`
	Content      string    `json:"content"`
	Compose      *struct {
		Include []struct {
			System   string            `json:"system"`
			Concept  []concept         `json:"concept"`
			ValueSet []string          `json:"valueSet"`
			Filter   []json.RawMessage `json:"filter"`
		} `json:"include"`
		Exclude []json.RawMessage `json:"exclude"`
	} `json:"compose"`
}

func writeValueSets(b *bytes.Buffer, required map[string]bool, files ...string) {
	header(b)
	systems := map[string][]string{}
	valueSets := map[string]*codeSystem{}
	for _, f := range files {
		for _, raw := range readBundle(f) {
			var cs codeSystem
			must(json.Unmarshal(raw, &cs))
			switch cs.ResourceType {
			case "CodeSystem":
				if cs.Content == "complete" {
					systems[cs.URL] = flatten(cs.Concept, nil)
				}
			case "ValueSet":
				c := cs
				valueSets[cs.URL] = &c
			}
		}
	}
	var expand func(url string, depth int) ([]string, bool)
	expand = func(url string, depth int) ([]string, bool) {
		vs := valueSets[url]
		if vs == nil || vs.Compose == nil || len(vs.Compose.Exclude) > 0 || depth > 5 {
			return nil, false
		}
		var codes []string
		for _, inc := range vs.Compose.Include {
			if len(inc.Filter) > 0 {
				return nil, false
			}
			for _, sub := range inc.ValueSet {
				c, ok := expand(sub, depth+1)
				if !ok {
					return nil, false
				}
				codes = append(codes, c...)
			}
			switch {
			case len(inc.Concept) > 0:
				codes = append(codes, flatten(inc.Concept, nil)...)
			case inc.System != "":
				c, ok := systems[inc.System]
				if !ok {
					return nil, false
				}
				codes = append(codes, c...)
			}
		}
		return codes, len(codes) > 0
	}
	b.WriteString("var requiredValueSets = map[string][]string{\n")
	for _, url := range sortedKeys(required) {
		codes, ok := expand(url, 0)
		if !ok {
			continue
		}
		sort.Strings(codes)
		fmt.Fprintf(b, "%q: %#v,\n", url, dedupe(codes))
	}
	b.WriteString("}\n")
}

func flatten(cs []concept, out []string) []string {
	for _, c := range cs {
		out = append(out, c.Code)
		out = flatten(c.Concept, out)
	}
	return out
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func header(b *bytes.Buffer) {
	if b.Len() == 0 {
		b.WriteString("// Code generated by fhir/model/internal/gen from the FHIR R4 4.0.1 definitions. DO NOT EDIT.\n\npackage model\n\n")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func writeFile(path string, src []byte) {
	out, err := format.Source(src)
	if err != nil {
		os.WriteFile(path+".broken", src, 0o644)
		log.Fatalf("format %s: %v", path, err)
	}
	must(os.WriteFile(path, out, 0o644))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
