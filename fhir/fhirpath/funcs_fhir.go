package fhirpath

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"github.com/xietong/xietong/fhir/model"
)

// The FHIR additions: extension, hasValue, getValue, resolve, memberOf,
// conformsTo, htmlChecks.

func fnExtension(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	url, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	var out Collection
	for _, it := range in {
		exts, err := child(c, nil, it, "extension")
		if err != nil {
			return nil, err
		}
		for _, e := range exts {
			if m, ok := e.v.(map[string]any); ok && m["url"] == url {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func fnHasValue(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) != 1 {
		return falseColl, nil
	}
	it := in[0]
	if it.t != nil && it.t.primitive() {
		return boolColl(it.v != nil), nil
	}
	if it.t == nil {
		switch it.v.(type) {
		case map[string]any, nil:
			return falseColl, nil
		}
		return trueColl, nil
	}
	return falseColl, nil
}

func fnGetValue(c *evalCtx, in Collection, a []evalFunc, f Collection) (Collection, error) {
	if r, _ := fnHasValue(c, in, a, f); len(r) == 1 && r[0].v == true {
		s, ok := system(in[0])
		if ok {
			return Collection{s}, nil
		}
	}
	return nil, nil
}

func fnGetReferenceKey(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for _, it := range in {
		m, ok := it.v.(map[string]any)
		if !ok {
			continue
		}
		ref, _ := m["reference"].(string)
		if ref == "" {
			continue
		}
		parts := strings.Split(ref, "/")
		if len(parts) >= 2 {
			for i := len(parts) - 2; i >= 0; i-- {
				if parts[i] == "_history" {
					continue
				}
				if fhirType(parts[i]) != nil && i+1 < len(parts) {
					out = append(out, stringValue(parts[i]+"/"+parts[i+1]))
					break
				}
			}
		}
	}
	return out, nil
}

// ---- resolve ----

func fnResolve(c *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for _, it := range in {
		var ref string
		var refType string
		switch x := it.v.(type) {
		case string:
			ref = x
		case map[string]any:
			ref, _ = x["reference"].(string)
			refType, _ = x["type"].(string)
		}
		if ref == "" {
			continue
		}
		r, err := c.resolve(ref, refType)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, jsonValue(r, nil))
		}
	}
	return out, nil
}

func (c *evalCtx) resolve(ref, refType string) (map[string]any, error) {
	if strings.HasPrefix(ref, "#") {
		for _, res := range [2]Collection{c.resource, c.rootResource} {
			if len(res) != 1 {
				continue
			}
			m, ok := res[0].v.(map[string]any)
			if !ok {
				continue
			}
			if ref == "#" {
				return m, nil
			}
			cont, _ := m["contained"].([]any)
			for _, x := range cont {
				if cm, ok := x.(map[string]any); ok && cm["id"] == ref[1:] {
					return cm, nil
				}
			}
		}
		return nil, nil
	}
	// entries of an enclosing Bundle
	for _, res := range [2]Collection{c.rootResource, c.context} {
		if len(res) != 1 {
			continue
		}
		m, ok := res[0].v.(map[string]any)
		if !ok || m["resourceType"] != "Bundle" {
			continue
		}
		entries, _ := m["entry"].([]any)
		for _, e := range entries {
			em, _ := e.(map[string]any)
			if em == nil {
				continue
			}
			rm, _ := em["resource"].(map[string]any)
			if rm == nil {
				continue
			}
			if fu, _ := em["fullUrl"].(string); fu != "" && (fu == ref || strings.HasSuffix(fu, "/"+ref)) {
				return rm, nil
			}
			if rt, _ := rm["resourceType"].(string); rt != "" {
				if id, _ := rm["id"].(string); id != "" && ref == rt+"/"+id {
					return rm, nil
				}
			}
		}
	}
	if c.opts.Resolver != nil {
		r, err := c.opts.Resolver.Resolve(ref)
		if err != nil {
			return nil, &Error{Kind: ExecutionError, Msg: "resolve(" + strconv.Quote(ref) + ")", Offset: -1, Err: err}
		}
		if r != nil {
			return r, nil
		}
	}
	// Without the target, a literal reference still tells its type and id:
	// return a stub so that `resolve() is Patient` works as in search
	// parameter indexing.
	rt, id := referenceTypeID(ref)
	if rt == "" && refType != "" && fhirType(refType) != nil {
		rt = refType
	}
	if rt != "" {
		stub := map[string]any{"resourceType": rt}
		if id != "" {
			stub["id"] = id
		}
		return stub, nil
	}
	return nil, nil
}

// referenceTypeID extracts Type and id from "Type/id", "base/Type/id" or
// "base/Type/id/_history/v".
func referenceTypeID(ref string) (string, string) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	if strings.HasPrefix(ref, "urn:") {
		return "", ""
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return "", ""
	}
	rt, id := parts[len(parts)-2], parts[len(parts)-1]
	if fhirType(rt) == nil || !isResourceTypeName(rt) || id == "" {
		return "", ""
	}
	return rt, id
}

func isResourceTypeName(n string) bool {
	t := fhirType(n)
	return t != nil && t.kind == model.KindResource && !t.abstract
}

// ---- terminology ----

func fnMemberOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := single(in, "memberOf")
	if err != nil || !ok {
		return nil, err
	}
	vs, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	if c.opts.Terminology == nil {
		return nil, nil
	}
	type sc struct{ system, code string }
	var codes []sc
	switch x := v.v.(type) {
	case string:
		codes = append(codes, sc{"", x})
	case map[string]any:
		if code, ok := x["code"].(string); ok {
			sys, _ := x["system"].(string)
			codes = append(codes, sc{sys, code})
		}
		if cs, ok := x["coding"].([]any); ok {
			for _, cd := range cs {
				if cm, ok := cd.(map[string]any); ok {
					code, _ := cm["code"].(string)
					sys, _ := cm["system"].(string)
					if code != "" {
						codes = append(codes, sc{sys, code})
					}
				}
			}
		}
	}
	if len(codes) == 0 {
		return nil, nil
	}
	anyKnown := false
	for _, cd := range codes {
		in, known, err := c.opts.Terminology.Contains(vs, cd.system, cd.code)
		if err != nil {
			return nil, &Error{Kind: ExecutionError, Msg: "memberOf", Offset: -1, Err: err}
		}
		if known {
			anyKnown = true
			if in {
				return trueColl, nil
			}
		}
	}
	if !anyKnown {
		return nil, nil
	}
	return falseColl, nil
}

// ValueSets is a Terminology over ValueSet resources held in memory
// (JSON trees): codes listed in expansion.contains (recursively) and in
// compose.include.concept. Includes of whole code systems or filters are
// not expanded; a value set that has them answers known=false for codes it
// does not list.
type ValueSets struct {
	sets map[string]*valueSetCodes
}

type valueSetCodes struct {
	codes    map[[2]string]bool
	complete bool
}

var _ Terminology = (*ValueSets)(nil)

// NewValueSets indexes ValueSet resources by url.
func NewValueSets(valueSets ...map[string]any) *ValueSets {
	vs := &ValueSets{sets: map[string]*valueSetCodes{}}
	for _, r := range valueSets {
		url, _ := r["url"].(string)
		if url == "" {
			continue
		}
		set := &valueSetCodes{codes: map[[2]string]bool{}, complete: true}
		var walk func(items []any)
		walk = func(items []any) {
			for _, it := range items {
				m, _ := it.(map[string]any)
				if m == nil {
					continue
				}
				code, _ := m["code"].(string)
				sys, _ := m["system"].(string)
				if code != "" {
					set.codes[[2]string{sys, code}] = true
				}
				if sub, ok := m["contains"].([]any); ok {
					walk(sub)
				}
			}
		}
		if exp, ok := r["expansion"].(map[string]any); ok {
			c, _ := exp["contains"].([]any)
			walk(c)
		} else if comp, ok := r["compose"].(map[string]any); ok {
			incs, _ := comp["include"].([]any)
			for _, inc := range incs {
				im, _ := inc.(map[string]any)
				if im == nil {
					continue
				}
				sys, _ := im["system"].(string)
				concepts, ok := im["concept"].([]any)
				if !ok {
					set.complete = false
					continue
				}
				for _, cc := range concepts {
					if cm, ok := cc.(map[string]any); ok {
						if code, _ := cm["code"].(string); code != "" {
							set.codes[[2]string{sys, code}] = true
						}
					}
				}
			}
		}
		vs.sets[url] = set
	}
	return vs
}

// Contains implements Terminology. A code without a system matches any
// system.
func (v *ValueSets) Contains(valueSet, system, code string) (bool, bool, error) {
	if i := strings.IndexByte(valueSet, '|'); i >= 0 {
		valueSet = valueSet[:i]
	}
	set, ok := v.sets[valueSet]
	if !ok {
		return false, false, nil
	}
	if system != "" {
		if set.codes[[2]string{system, code}] {
			return true, true, nil
		}
	} else {
		for k := range set.codes {
			if k[1] == code {
				return true, true, nil
			}
		}
	}
	return false, set.complete, nil
}

// ---- conformance ----

const coreSDPrefix = "http://hl7.org/fhir/StructureDefinition/"

func fnConformsTo(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := single(in, "conformsTo")
	if err != nil || !ok {
		return nil, err
	}
	url, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	if name, ok := strings.CutPrefix(url, coreSDPrefix); ok && fhirType(name) != nil {
		if v.t == nil {
			return falseColl, nil
		}
		return boolColl(v.t.isA(name)), nil
	}
	if c.opts.Profiles != nil {
		if m, ok := v.v.(map[string]any); ok {
			r, known, err := c.opts.Profiles.ConformsTo(m, url)
			if err != nil {
				return nil, &Error{Kind: ExecutionError, Msg: "conformsTo", Offset: -1, Err: err}
			}
			if known {
				return boolColl(r), nil
			}
		}
	}
	return nil, execErr("conformsTo(): unknown profile %q", url)
}

// ---- narrative ----

var forbiddenHTML = map[string]bool{
	"script": true, "object": true, "applet": true, "embed": true, "form": true, "iframe": true,
	"input": true, "button": true, "select": true, "textarea": true, "frame": true, "frameset": true,
	"link": true, "meta": true, "style": true, "base": true, "head": true, "body": true, "html": true,
}

// htmlChecks verifies the FHIR narrative rules: a single xhtml div, well
// formed, with no active content, event attributes or non-local images.
func fnHTMLChecks(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	v, ok, err := single(in, "htmlChecks")
	if err != nil || !ok {
		return nil, err
	}
	s, ok := v.v.(string)
	if !ok {
		return falseColl, nil
	}
	return boolColl(checkXHTML(s)), nil
}

func checkXHTML(s string) bool {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	depth := 0
	roots := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if t.Name.Local != "div" || t.Name.Space != "http://www.w3.org/1999/xhtml" {
					return false
				}
			}
			if forbiddenHTML[strings.ToLower(t.Name.Local)] {
				return false
			}
			for _, a := range t.Attr {
				n := strings.ToLower(a.Name.Local)
				if strings.HasPrefix(n, "on") {
					return false
				}
				if t.Name.Local == "img" && n == "src" && !strings.HasPrefix(a.Value, "#") && !strings.HasPrefix(a.Value, "data:") {
					return false
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(t)) != "" {
				return false
			}
		}
	}
	return roots == 1 && depth == 0
}
