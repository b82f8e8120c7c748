package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/xietong/xietong/fhir/model"
)

func mapPtr(m map[string]any) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&m)) }

// ---- regular expressions ----

var regexCache sync.Map // pattern -> *regexp.Regexp or error

func compileRegex(pat string, full bool) (*regexp.Regexp, error) {
	key := pat
	if full {
		key = "\x00" + pat
	}
	if r, ok := regexCache.Load(key); ok {
		if re, ok := r.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, r.(error)
	}
	p := "(?s)" + pat
	if full {
		p = "(?s)^(?:" + pat + ")$"
	}
	re, err := regexp.Compile(p)
	if err != nil {
		e := execErr("invalid regular expression %q: %v", pat, err)
		regexCache.Store(key, error(e))
		return nil, e
	}
	regexCache.Store(key, re)
	return re, nil
}

func fnMatches(full bool) funcImpl {
	return func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
		s, ok, err := strInput(in, "matches")
		if err != nil || !ok {
			return nil, err
		}
		pat, ok, err := strArg(c, args[0], focus)
		if err != nil || !ok {
			return nil, err
		}
		re, err := compileRegex(pat, full)
		if err != nil {
			return nil, err
		}
		return boolColl(re.MatchString(s)), nil
	}
}

var dollarGroup = regexp.MustCompile(`\$(\d+)`)

func fnReplaceMatches(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "replaceMatches")
	if err != nil || !ok {
		return nil, err
	}
	pat, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	rep, ok, err := strArg(c, args[1], focus)
	if err != nil || !ok {
		return nil, err
	}
	if pat == "" {
		return Collection{stringValue(s)}, nil
	}
	re, err := compileRegex(pat, false)
	if err != nil {
		return nil, err
	}
	rep = dollarGroup.ReplaceAllString(rep, "$${$1}")
	return Collection{stringValue(re.ReplaceAllString(s, rep))}, nil
}

// ---- encoding ----

func fnEncode(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "encode")
	if err != nil || !ok {
		return nil, err
	}
	enc, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	switch enc {
	case "base64":
		return Collection{stringValue(base64.StdEncoding.EncodeToString([]byte(s)))}, nil
	case "urlbase64":
		return Collection{stringValue(base64.URLEncoding.EncodeToString([]byte(s)))}, nil
	case "hex":
		return Collection{stringValue(hex.EncodeToString([]byte(s)))}, nil
	}
	return nil, execErr("unknown encoding %q", enc)
}

func fnDecode(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "decode")
	if err != nil || !ok {
		return nil, err
	}
	enc, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	var b []byte
	switch enc {
	case "base64":
		b, err = base64.StdEncoding.DecodeString(s)
	case "urlbase64":
		b, err = base64.URLEncoding.DecodeString(s)
	case "hex":
		b, err = hex.DecodeString(s)
	default:
		return nil, execErr("unknown encoding %q", enc)
	}
	if err != nil {
		return nil, nil
	}
	return Collection{stringValue(string(b))}, nil
}

func fnEscape(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "escape")
	if err != nil || !ok {
		return nil, err
	}
	kind, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	switch kind {
	case "html":
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
		return Collection{stringValue(r.Replace(s))}, nil
	case "json":
		b, _ := json.Marshal(s)
		out := string(b[1 : len(b)-1])
		out = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(out)
		return Collection{stringValue(out)}, nil
	}
	return nil, execErr("unknown escape %q", kind)
}

func fnUnescape(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "unescape")
	if err != nil || !ok {
		return nil, err
	}
	kind, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	switch kind {
	case "html":
		return Collection{stringValue(html.UnescapeString(s))}, nil
	case "json":
		var out string
		if err := json.Unmarshal([]byte(`"`+strings.ReplaceAll(s, `"`, `\"`)+`"`), &out); err != nil {
			return nil, nil
		}
		return Collection{stringValue(out)}, nil
	}
	return nil, execErr("unknown escape %q", kind)
}

// ---- precision and boundaries ----

func temporalDigits(t *temporal) int {
	if t.kind == kTime {
		return [...]int{0, 0, 0, 0, 2, 4, 6, 9}[t.prec]
	}
	return [...]int{0, 4, 6, 8, 10, 12, 14, 17}[t.prec]
}

func precFromDigits(kind tkind, n int64) (uint8, bool) {
	if kind == kTime {
		switch n {
		case 2:
			return pHour, true
		case 4:
			return pMinute, true
		case 6:
			return pSecond, true
		case 9:
			return pMilli, true
		}
		return 0, false
	}
	switch n {
	case 4:
		return pYear, true
	case 6:
		return pMonth, true
	case 8:
		return pDay, true
	case 10:
		return pHour, true
	case 12:
		return pMinute, true
	case 14:
		return pSecond, true
	case 17:
		return pMilli, true
	}
	return 0, false
}

func fnPrecision(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	v, ok, err := single(in, "precision")
	if err != nil || !ok {
		return nil, err
	}
	s, ok := system(v)
	if !ok {
		return nil, nil
	}
	switch x := s.v.(type) {
	case *decimal:
		return Collection{intValue(int64(x.scale))}, nil
	case int64:
		return Collection{intValue(0)}, nil
	case *temporal:
		return Collection{intValue(int64(temporalDigits(x)))}, nil
	}
	return nil, nil
}

func fnBoundary(high bool) funcImpl {
	return func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
		v, ok, err := single(in, "boundary")
		if err != nil || !ok {
			return nil, err
		}
		var prec int64 = noPrecision
		if len(args) == 1 {
			p, ok, err := intArg(c, args[0], focus)
			if err != nil || !ok {
				return nil, err
			}
			prec = p
		}
		s, ok := system(v)
		if !ok {
			if q, ok := asQuantity(v); ok {
				s = Value{v: q}
			} else {
				return nil, nil
			}
		}
		switch x := s.v.(type) {
		case int64:
			d, ok := decBoundary(decimalFromInt(x), prec, high)
			if !ok {
				return nil, nil
			}
			return Collection{decimalValue(d)}, nil
		case *decimal:
			d, ok := decBoundary(x, prec, high)
			if !ok {
				return nil, nil
			}
			return Collection{decimalValue(d)}, nil
		case *quantity:
			d, ok := decBoundary(x.val, prec, high)
			if !ok {
				return nil, nil
			}
			return Collection{{v: &quantity{val: d, unit: x.unit}}}, nil
		case *temporal:
			t, ok := temporalBoundary(x, prec, high)
			if !ok {
				return nil, nil
			}
			return Collection{temporalValue(t)}, nil
		}
		return nil, nil
	}
}

const noPrecision = -1 << 40

func decBoundary(d *decimal, prec int64, high bool) (*decimal, bool) {
	if prec == noPrecision {
		prec = divScale
	}
	if prec < 0 {
		return nil, false
	}
	if prec > 31 {
		return nil, false
	}
	// half a unit in the last written place
	half := &decimal{u: decimalFromInt(5).u, scale: d.scale + 1}
	var b *decimal
	if high {
		b = d.add(half)
	} else {
		b = d.sub(half)
	}
	p := int32(prec)
	if b.abs().cmp(&decimal{u: decimalFromInt(1).u, scale: p}) < 0 && d.abs().cmp(&decimal{u: decimalFromInt(1).u, scale: p}) < 0 {
		// the value vanishes at this precision: a signed zero
		return &decimal{u: decimalFromInt(0).u, scale: p, negZero: d.sign() < 0}, true
	}
	if p >= b.scale {
		return &decimal{u: b.rescale(p), scale: p}, true
	}
	// round toward the boundary's side
	t := b.truncate(p)
	if high && b.cmp(t) > 0 {
		t = t.add(&decimal{u: decimalFromInt(1).u, scale: p})
	}
	if !high && b.cmp(t) < 0 {
		t = t.sub(&decimal{u: decimalFromInt(1).u, scale: p})
	}
	return t, true
}

func temporalBoundary(t *temporal, prec int64, high bool) (*temporal, bool) {
	if prec == noPrecision {
		if t.kind == kTime {
			prec = 9
		} else if t.kind == kDate {
			prec = 8
		} else {
			prec = 17
		}
	}
	p, ok := precFromDigits(t.kind, prec)
	if !ok {
		return nil, false
	}
	if t.kind == kDate && p > pDay {
		return nil, false
	}
	r := *t
	from := t.prec
	if t.kind == kDateTime && from == pHour && p > pHour {
		// "T08" is not a FHIR time: it means 08:00
		from = pMinute
	}
	// fill the missing components
	for lvl := from + 1; lvl <= p; lvl++ {
		switch lvl {
		case pMonth:
			r.mo = 1
			if high {
				r.mo = 12
			}
		case pDay:
			r.d = 1
			if high {
				r.d = daysIn(r.y, r.mo)
			}
		case pHour:
			r.h = 0
			if high {
				r.h = 23
			}
		case pMinute:
			r.mi = 0
			if high {
				r.mi = 59
			}
		case pSecond:
			r.s = 0
			if high {
				r.s = 59
			}
		case pMilli:
			r.ns = 0
			if high {
				r.ns = 999000000
			}
			r.fdig = 3
		}
	}
	if t.prec == pMilli && p == pMilli {
		r.fdig = 3
	}
	r.prec = p
	r.clearBeyondPrecision()
	if r.kind == kDateTime && p >= pHour && !t.hasTZ {
		r.hasTZ = true
		if high {
			r.tzOff = -12 * 3600
		} else {
			r.tzOff = 14 * 3600
		}
	}
	if p < pHour {
		r.hasTZ, r.tzOff = false, 0
	}
	return &r, true
}

func fnComparable(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := single(in, "comparable")
	if err != nil || !ok {
		return nil, err
	}
	o, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	w, ok, err := single(o, "comparable")
	if err != nil || !ok {
		return nil, err
	}
	a, ok1 := asQuantity(v)
	b, ok2 := asQuantity(w)
	if !ok1 || !ok2 {
		return nil, execErr("comparable() expects quantities")
	}
	_, _, cmpOK := quantityRats(a, b)
	return boolColl(cmpOK), nil
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
