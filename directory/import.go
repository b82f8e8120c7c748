package directory

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xietong/xietong/directory/vocab"
	"github.com/xietong/xietong/fhir/validate"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/store"
)

// Columns are the columns of a directory CSV file. The header names them
// (any order, each at most once, unknown names are an error); a row's
// kind says which it uses (see doc.go for the table).
var Columns = []string{
	"kind", "id", "name", "code", "uscc", "division", "type", "grade", "parent", "organization",
	"practitioner", "location", "role", "specialty", "licence", "gender", "birth_date", "title",
	"start", "end", "lat", "lon", "address", "city", "district", "phone", "available",
}

// Row kinds and the resource each becomes.
var rowKinds = map[string]string{
	"institution":  "Organization",
	"department":   "Organization",
	"cooperation":  "Organization",
	"member":       "OrganizationAffiliation",
	"practitioner": "Practitioner",
	"role":         "PractitionerRole",
	"location":     "Location",
	"service":      "HealthcareService",
	"pool":         "Group",
	"expert":       "PractitionerRole",
}

// RowError is one problem of one row. Row is the line number in the file
// (counting comment lines, so an editor's line number); Column is "" for a
// problem of the whole row.
type RowError struct {
	Row     int
	Column  string
	Message string
}

func (e RowError) String() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, column %s: %s", e.Row, e.Column, e.Message)
}

// Errors is every problem found in a file, in row order.
type Errors []RowError

func (es Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in the directory file:", problems(len(es)))
	for _, e := range es {
		b.WriteString("\n  ")
		b.WriteString(e.String())
	}
	return b.String()
}

// Lookup answers what the file refers to outside itself.
type Lookup interface {
	// Exists reports whether Type/id is a current resource.
	Exists(ctx context.Context, typ, id string) (bool, error)
	// Owner is the id of the resource of typ holding the identifier, "" if none.
	Owner(ctx context.Context, typ, system, value string) (string, error)
}

// StoreLookup looks up references in a store.
func StoreLookup(st store.Reader) Lookup { return storeLookup{st} }

type storeLookup struct{ st store.Reader }

func (l storeLookup) Exists(ctx context.Context, typ, id string) (bool, error) {
	_, err := l.st.Read(ctx, typ, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
		return false, nil
	}
	return err == nil, err
}

func (l storeLookup) Owner(ctx context.Context, typ, system, value string) (string, error) {
	res, err := l.st.Search(ctx, &store.Query{Types: []string{typ}, Count: 1, Total: store.TotalNone,
		Where: []store.Clause{{{Param: "identifier", Type: store.TypeToken, System: system, Code: value}}}})
	if err != nil || len(res.Matches) == 0 {
		return "", err
	}
	return res.Matches[0].ID, nil
}

// Plan is a checked file: one transaction Bundle that writes every row
// (PUT Type/id, so importing the same file again never duplicates), and the
// line of each entry.
type Plan struct {
	Bundle map[string]any
	Rows   []int          // Rows[i] is the line of Bundle.entry[i]
	Counts map[string]int // rows per kind
}

// RowOfEntry maps a message naming "Bundle.entry[N]" (as the server's
// transaction errors do) to the file's line, or 0.
func (p *Plan) RowOfEntry(msg string) int {
	m := entryRe.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	i, _ := strconv.Atoi(m[1])
	if i < 0 || i >= len(p.Rows) {
		return 0
	}
	return p.Rows[i]
}

var entryRe = regexp.MustCompile(`Bundle\.entry\[(\d+)\]`)

// row is one data row.
type row struct {
	line int
	kind string
	f    map[string]string
	res  map[string]any
}

func (r *row) get(c string) string { return r.f[c] }

// Parse reads and checks a directory CSV file. It returns every problem of
// every row as Errors (not just the first), or the Plan when there are
// none. lk may be nil when the file refers to nothing outside itself.
func Parse(ctx context.Context, in io.Reader, lk Lookup) (*Plan, error) {
	cr := csv.NewReader(in)
	cr.Comment = '#'
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if err == io.EOF {
		return nil, Errors{{Row: 1, Message: "the file is empty; it needs a header line naming the columns"}}
	}
	if err != nil {
		return nil, Errors{{Row: 1, Message: "the header line is not CSV: " + err.Error()}}
	}
	hline, _ := cr.FieldPos(0)
	var errs Errors
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case !slices.Contains(Columns, h):
			errs = append(errs, RowError{Row: hline, Column: h, Message: "unknown column; the columns are " + strings.Join(Columns, ", ")})
		case cols[h] > 0:
			errs = append(errs, RowError{Row: hline, Column: h, Message: "the column appears twice"})
		}
		cols[h] = i + 1
	}
	if cols["kind"] == 0 || cols["id"] == 0 {
		errs = append(errs, RowError{Row: hline, Message: "the header needs the columns kind and id"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var rows []*row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				errs = append(errs, RowError{Row: pe.StartLine, Message: fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))})
				continue
			}
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			errs = append(errs, RowError{Row: line, Message: "not valid CSV (" + err.Error() + "); the rest of the file was not read"})
			break
		}
		r := &row{line: line, f: map[string]string{}}
		empty := true
		for c, i := range cols {
			v := strings.TrimSpace(rec[i-1])
			if v != "" {
				empty = false
			}
			if !utf8.ValidString(v) {
				// A GBK (or other legacy) file: written on, its names
				// would turn into replacement characters.
				errs = append(errs, RowError{Row: line, Column: c, Message: "not UTF-8 text; save the file as UTF-8 (a GBK file must be converted first)"})
				v = strings.ToValidUTF8(v, "\uFFFD")
			}
			r.f[c] = v
		}
		if empty {
			continue
		}
		r.kind = strings.ToLower(r.get("kind"))
		rows = append(rows, r)
	}
	if len(rows) == 0 && len(errs) == 0 {
		errs = append(errs, RowError{Row: hline + 1, Message: "the file has no data rows"})
	}
	c := &checker{ctx: ctx, lk: lk, cols: cols, byID: map[string]*row{}, codes: map[string]int{}, licences: map[string]int{}, errs: errs}
	c.check(rows)
	c.poolMembers(rows)
	if len(c.errs) > 0 {
		slices.SortStableFunc(c.errs, func(a, b RowError) int { return a.Row - b.Row })
		return nil, c.errs
	}
	plan := &Plan{Counts: map[string]int{}}
	entries := make([]any, 0, len(rows))
	for _, r := range rows {
		typ := rowKinds[r.kind]
		entries = append(entries, map[string]any{
			"resource": r.res,
			"request":  map[string]any{"method": "PUT", "url": typ + "/" + r.get("id")},
		})
		plan.Rows = append(plan.Rows, r.line)
		plan.Counts[r.kind]++
	}
	plan.Bundle = map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}
	return plan, nil
}

type checker struct {
	ctx      context.Context
	lk       Lookup
	cols     map[string]int
	byID     map[string]*row // "Type/id" → row
	codes    map[string]int  // institution code → line
	licences map[string]int
	errs     Errors
	val      *validate.Validator
}

func (c *checker) fail(r *row, col, format string, args ...any) {
	c.errs = append(c.errs, RowError{Row: r.line, Column: col, Message: fmt.Sprintf(format, args...)})
}

var idRe = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func (c *checker) check(rows []*row) {
	// First pass: kinds and ids, so rows may refer to rows further down.
	for _, r := range rows {
		typ, ok := rowKinds[r.kind]
		if !ok {
			if r.kind == "" {
				c.fail(r, "kind", "empty; use one of institution, department, cooperation, member, practitioner, role, location, service, pool, expert")
			} else {
				c.fail(r, "kind", "unknown kind %q; use one of institution, department, cooperation, member, practitioner, role, location, service, pool, expert", r.get("kind"))
			}
			r.kind = ""
			continue
		}
		id := r.get("id")
		switch {
		case id == "":
			c.fail(r, "id", "required (the resource id, 1 to 64 of A-Z a-z 0-9 - .)")
		case !idRe.MatchString(id):
			c.fail(r, "id", "%q is not a valid resource id (1 to 64 of A-Z a-z 0-9 - .)", id)
		default:
			if prev := c.byID[typ+"/"+id]; prev != nil {
				c.fail(r, "id", "%s/%s is already defined on row %d", typ, id, prev.line)
			} else {
				c.byID[typ+"/"+id] = r
			}
		}
	}
	c.val = validate.New(validate.WithBestPractice(false))
	for _, r := range rows {
		if r.kind == "" {
			continue
		}
		before := len(c.errs)
		// Columns a kind does not use must be empty: a value there is a
		// mistake (a shifted column, a wrong kind), not something to drop.
		used := kindColumns[r.kind]
		for col := range c.cols {
			if r.get(col) != "" && !slices.Contains(used, col) && col != "kind" && col != "id" {
				c.fail(r, col, "%s %s row does not use this column (its columns: %s)", article(r.kind), r.kind, strings.Join(used, ", "))
			}
		}
		switch r.kind {
		case "institution":
			c.institution(r)
		case "department":
			c.department(r)
		case "cooperation":
			c.cooperation(r)
		case "member":
			c.member(r)
		case "practitioner":
			c.practitioner(r)
		case "role":
			c.role(r)
		case "location":
			c.location(r)
		case "service":
			c.service(r)
		case "pool":
			c.pool(r)
		case "expert":
			c.expert(r)
		}
		if len(c.errs) == before && r.res != nil {
			r.res["id"] = r.get("id")
			for _, is := range c.val.Resource(r.res) {
				if is.Severity == "error" || is.Severity == "fatal" {
					c.fail(r, "", "the %s would be invalid FHIR: %s (at %s)", rowKinds[r.kind], is.Message, is.Path)
				}
			}
		}
	}
}

// kindColumns are the columns each kind uses besides kind and id.
var kindColumns = map[string][]string{
	"institution":  {"name", "code", "uscc", "division", "type", "grade", "address", "city", "district", "phone"},
	"department":   {"name", "parent", "code"},
	"cooperation":  {"name", "type", "parent", "specialty", "start", "end"},
	"member":       {"parent", "organization", "role", "specialty", "start", "end"},
	"practitioner": {"name", "licence", "type", "gender", "birth_date", "title", "phone"},
	"role":         {"practitioner", "organization", "location", "specialty", "type", "start", "end", "phone"},
	"location":     {"name", "organization", "division", "lat", "lon", "address", "city", "district", "phone"},
	"service":      {"name", "organization", "location", "type", "specialty", "phone"},
	"pool":         {"name", "type", "specialty", "organization"},
	"expert":       {"parent", "practitioner", "organization", "location", "specialty", "available", "start", "end", "phone"},
}

func (c *checker) required(r *row, cols ...string) bool {
	ok := true
	for _, col := range cols {
		if r.get(col) == "" {
			c.fail(r, col, "required for %s %s row", article(r.kind), r.kind)
			ok = false
		}
	}
	return ok
}

func (c *checker) name(r *row) string {
	n := r.get("name")
	if n == "" {
		c.fail(r, "name", "required for %s %s row", article(r.kind), r.kind)
	} else if utf8.RuneCountInString(n) > 200 {
		c.fail(r, "name", "longer than 200 characters")
	}
	return n
}

// ref checks a reference column: the id of a row of one of the kinds in
// this file, else a resource of typ already in the store.
func (c *checker) ref(r *row, col, typ string, kinds ...string) map[string]any {
	id := r.get(col)
	if id == "" {
		return nil
	}
	if !idRe.MatchString(id) {
		if t, bare, ok := strings.Cut(id, "/"); ok && t == typ && idRe.MatchString(bare) {
			c.fail(r, col, "%q: write the id alone, %q (this column names %s ids)", id, bare, typ)
		} else {
			c.fail(r, col, "%q is not a valid resource id (1 to 64 of A-Z a-z 0-9 - .)", id)
		}
		return nil
	}
	if t := c.byID[typ+"/"+id]; t != nil {
		if !slices.Contains(kinds, t.kind) {
			c.fail(r, col, "%s/%s (row %d) is %s %s; this column names %s %s", typ, id, t.line, article(t.kind), t.kind, article(kinds[0]), strings.Join(kinds, " or "))
			return nil
		}
		return refTo(typ, id, t.get("name"))
	}
	if c.lk != nil {
		ok, err := c.lk.Exists(c.ctx, typ, id)
		if err != nil {
			c.fail(r, col, "could not look up %s/%s: %v", typ, id, err)
			return nil
		}
		if ok {
			return refTo(typ, id, "")
		}
	}
	c.fail(r, col, "unknown %s %q: not a row of this file (as %s %s) and not in the directory", typ, id, article(kinds[0]), strings.Join(kinds, " or "))
	return nil
}

func refTo(typ, id, display string) map[string]any {
	m := map[string]any{"reference": typ + "/" + id}
	if display != "" {
		m["display"] = display
	}
	return m
}

func (c *checker) code(r *row, col string, set map[string]string, what string) map[string]any {
	v := r.get(col)
	if v == "" {
		return nil
	}
	if set[v] == "" {
		c.fail(r, col, "unknown %s %q; use one of %s", what, v, keys(set))
		return nil
	}
	return map[string]any{"code": v, "display": set[v]}
}

func (c *checker) division(r *row, col string) string {
	d := r.get(col)
	if d == "" {
		return ""
	}
	if len(d) != 6 || !isDigits(d) {
		c.fail(r, col, "%q is not a GB/T 2260 division code (six digits, e.g. 110112)", d)
		return ""
	}
	if idnumber.ProvinceOf(d) == "" {
		// A range check (11 to 82) let 19…, 20…, 39… through.
		c.fail(r, col, "%q: %s is not a province code of GB/T 2260 (11 北京 … 65 新疆, 71 台湾, 81 香港, 82 澳门)", d, d[:2])
		return ""
	}
	return d
}

var deptRe = regexp.MustCompile(`^\d{2}(\.\d{2})?$`)

func (c *checker) specialty(r *row) []any {
	v := r.get("specialty")
	if v == "" {
		return nil
	}
	if !deptRe.MatchString(v) {
		c.fail(r, "specialty", "%q is not a clinical-department code (NN or NN.NN, e.g. 50 中医科, 03.04 心血管内科)%s", v, spreadsheetHint(v, 0))
		return nil
	}
	return []any{concept(vocab.Departments[v], coding(vocab.SystemDepartment, v, vocab.Departments[v]))}
}

func (c *checker) date(r *row, col string) string {
	v := r.get(col)
	if v == "" {
		return ""
	}
	if _, err := time.Parse("2006-01-02", v); err != nil {
		c.fail(r, col, "%q is not a date YYYY-MM-DD", v)
		return ""
	}
	return v
}

func (c *checker) period(r *row, startRequired bool) map[string]any {
	if startRequired {
		c.required(r, "start")
	}
	s, e := c.date(r, "start"), c.date(r, "end")
	p := map[string]any{}
	if s != "" {
		p["start"] = s
	}
	if e != "" {
		p["end"] = e
	}
	if s != "" && e != "" && e < s {
		c.fail(r, "end", "the period ends (%s) before it starts (%s)", e, s)
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

func (c *checker) telecom(r *row) []any {
	v := r.get("phone")
	if v == "" {
		return nil
	}
	for _, ch := range v {
		if !unicode.IsDigit(ch) && ch != '-' && ch != '+' && ch != ' ' {
			c.fail(r, "phone", "%q is not a phone number (digits, -, +)", v)
			return nil
		}
	}
	return []any{map[string]any{"system": "phone", "value": v, "use": "work"}}
}

func (c *checker) address(r *row, div string) map[string]any {
	a := map[string]any{"use": "work", "type": "physical", "country": "CN"}
	if line := r.get("address"); line != "" {
		a["text"] = line
		a["line"] = []any{line}
	}
	// The names the finder's city filter reads (a division code alone
	// names no city a resident would type).
	if v := r.get("city"); v != "" {
		a["city"] = v
	}
	if v := r.get("district"); v != "" {
		a["district"] = v
	}
	if div != "" {
		a["extension"] = []any{map[string]any{"url": vocab.ExtAddressDivision, "valueCoding": coding(vocab.SystemDivision, div, "")}}
	}
	if len(a) == 3 {
		return nil
	}
	return a
}

func (c *checker) institution(r *row) {
	name := c.name(r)
	c.required(r, "code", "uscc", "division", "type")
	div := c.division(r, "division")
	code := r.get("code")
	if code != "" {
		switch {
		case len(code) != 9 || !isDigits(code):
			c.fail(r, "code", "%q is not an institution code (the six-digit division code and a three-digit sequence, e.g. 110112001)%s", code, spreadsheetHint(code, 9))
		case div != "" && code[:6] != div:
			c.fail(r, "code", "the institution code %s does not start with the division code %s", code, div)
		default:
			if prev := c.codes[code]; prev > 0 {
				c.fail(r, "code", "the institution code %s is already used on row %d", code, prev)
			}
			c.codes[code] = r.line
			if c.lk != nil {
				owner, err := c.lk.Owner(c.ctx, "Organization", vocab.SystemInstitutionCode, code)
				if err != nil {
					c.fail(r, "code", "could not look up the institution code: %v", err)
				} else if owner != "" && owner != r.get("id") {
					c.fail(r, "code", "the institution code %s already belongs to Organization/%s", code, owner)
				}
			}
		}
	}
	uscc := strings.ToUpper(r.get("uscc"))
	if uscc != "" && !ValidUSCC(uscc) {
		c.fail(r, "uscc", "%q is not a unified social credit code (18 characters of 0-9 and A-Y without I O Z S V, with the GB 32100 check character last)", r.get("uscc"))
	}
	kind := c.code(r, "type", vocab.InstitutionKinds, "institution kind")
	grade := c.code(r, "grade", vocab.Grades, "grade")
	prov := coding(sysOrgType, "prov", "Healthcare Provider")
	if r.get("type") == "cdc" {
		prov = coding(sysOrgType, "govt", "Government")
	}
	types := []any{concept("", prov)}
	if kind != nil {
		types = append(types, concept(str(kind["display"]), coding(vocab.SystemInstitutionKind, str(kind["code"]), str(kind["display"]))))
	}
	if grade != nil {
		types = append(types, concept(str(grade["display"]), coding(vocab.SystemHospitalGrade, str(grade["code"]), str(grade["display"]))))
	}
	res := map[string]any{
		"resourceType": "Organization",
		"identifier": []any{
			map[string]any{"system": vocab.SystemInstitutionCode, "value": code, "type": concept("机构编码", coding(sysV2ID, "PRN", ""))},
			map[string]any{"system": vocab.SystemUSCC, "value": uscc, "type": concept("统一社会信用代码", coding(sysV2ID, "TAX", ""))},
		},
		"active": true,
		"type":   types,
		"name":   name,
	}
	if t := c.telecom(r); t != nil {
		res["telecom"] = t
	}
	if a := c.address(r, div); a != nil {
		res["address"] = []any{a}
	}
	r.res = res
}

func (c *checker) department(r *row) {
	name := c.name(r)
	c.required(r, "parent", "code")
	parent := c.ref(r, "parent", "Organization", "institution")
	code := r.get("code")
	if code != "" && !deptRe.MatchString(code) {
		c.fail(r, "code", "%q is not a clinical-department code (NN or NN.NN)%s", code, spreadsheetHint(code, 0))
	}
	r.res = map[string]any{
		"resourceType": "Organization",
		"active":       true,
		"type": []any{
			concept("", coding(sysOrgType, "dept", "Hospital Department")),
			concept(name, coding(vocab.SystemDepartment, code, "")),
		},
		"name":   name,
		"partOf": parent,
	}
}

func (c *checker) cooperation(r *row) {
	name := c.name(r)
	c.required(r, "type")
	kind := c.code(r, "type", vocab.CooperationKinds, "cooperation kind")
	period := c.period(r, true)
	res := map[string]any{
		"resourceType": "Organization",
		"active":       activeIn(period),
		"name":         name,
	}
	types := []any{concept("", coding(sysOrgType, "other", "Other"))}
	if kind != nil {
		types = append(types, concept(str(kind["display"]), coding(vocab.SystemCooperationKind, str(kind["code"]), str(kind["display"]))))
	}
	res["type"] = types
	if p := c.ref(r, "parent", "Organization", "cooperation", "institution"); p != nil {
		res["partOf"] = p
	}
	// An Organization has no period or specialty: they are the members'
	// (OrganizationAffiliation.period, .specialty).
	c.specialty(r)
	r.res = res
}

func (c *checker) member(r *row) {
	c.required(r, "parent", "organization", "role")
	coop := c.ref(r, "parent", "Organization", "cooperation")
	member := c.ref(r, "organization", "Organization", "institution")
	role := c.code(r, "role", vocab.AffiliationRoles, "member role")
	period := c.period(r, true)
	res := map[string]any{
		"resourceType":              "OrganizationAffiliation",
		"active":                    activeIn(period),
		"organization":              coop,
		"participatingOrganization": member,
	}
	if period != nil {
		res["period"] = period
	}
	if role != nil {
		res["code"] = []any{concept(str(role["display"]), coding(vocab.SystemAffiliationRole, str(role["code"]), str(role["display"])))}
	}
	if s := c.specialty(r); s != nil {
		res["specialty"] = s
	}
	r.res = res
}

func (c *checker) practitioner(r *row) {
	name := c.name(r)
	c.required(r, "licence")
	prof := r.get("type")
	if prof == "" {
		prof = "doctor"
	} else if vocab.Professions[prof] == "" {
		c.fail(r, "type", "unknown profession %q; use one of %s", prof, keys(vocab.Professions))
	}
	lic := r.get("licence")
	system, want, typ, typText := vocab.SystemPhysicianLicence, 15, "MD", "医师执业证书编码"
	if prof == "nurse" {
		system, want, typ, typText = vocab.SystemNurseLicence, 12, "RN", "护士执业证书编号"
	}
	if lic != "" {
		if len(lic) != want || !isDigits(lic) {
			c.fail(r, "licence", "%q is not a %s (%d digits)%s", lic, typText, want, spreadsheetHint(lic, want))
		} else if prev := c.licences[lic]; prev > 0 {
			c.fail(r, "licence", "the licence %s is already used on row %d", lic, prev)
		} else {
			c.licences[lic] = r.line
			if c.lk != nil {
				owner, err := c.lk.Owner(c.ctx, "Practitioner", system, lic)
				if err != nil {
					c.fail(r, "licence", "could not look up the licence: %v", err)
				} else if owner != "" && owner != r.get("id") {
					c.fail(r, "licence", "the licence %s already belongs to Practitioner/%s", lic, owner)
				}
			}
		}
	}
	res := map[string]any{
		"resourceType": "Practitioner",
		"identifier":   []any{map[string]any{"system": system, "value": lic, "type": concept(typText, coding(sysV2ID, typ, ""))}},
		"active":       true,
		"name":         []any{personName(name)},
	}
	switch g := r.get("gender"); g {
	case "":
	case "male", "female", "other", "unknown":
		res["gender"] = g
	case "男":
		res["gender"] = "male"
	case "女":
		res["gender"] = "female"
	default:
		c.fail(r, "gender", "%q is not male, female, other or unknown (男/女)", g)
	}
	if b := c.date(r, "birth_date"); b != "" {
		if b > time.Now().Format("2006-01-02") || b < "1900-01-01" {
			c.fail(r, "birth_date", "%s is not a plausible birth date", b)
		}
		res["birthDate"] = b
	}
	qual := map[string]any{"identifier": []any{map[string]any{"system": system, "value": lic}}}
	if t := c.code(r, "title", vocab.Titles, "professional title"); t != nil {
		qual["code"] = concept(str(t["display"]), coding(vocab.SystemTitle, str(t["code"]), str(t["display"])))
	} else {
		qual["code"] = concept(typText, coding(sysV2ID, typ, ""))
	}
	res["qualification"] = []any{qual}
	if t := c.telecom(r); t != nil {
		res["telecom"] = t
	}
	r.res = res
}

// personName splits a Chinese name into family (one character, or two
// for the common compound surnames) and given; other names stay text.
func personName(n string) map[string]any {
	m := map[string]any{"use": "official", "text": n}
	rs := []rune(n)
	han := len(rs) >= 2 && len(rs) <= 5
	for _, x := range rs {
		if !unicode.Is(unicode.Han, x) {
			han = false
		}
	}
	if han {
		k := 1
		if len(rs) >= 3 && slices.Contains(compoundSurnames, string(rs[:2])) {
			k = 2
		}
		m["family"] = string(rs[:k])
		m["given"] = []any{string(rs[k:])}
	}
	return m
}

var compoundSurnames = []string{"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "司徒", "尉迟", "长孙", "宇文", "夏侯", "公孙", "端木", "独孤"}

func (c *checker) role(r *row) {
	c.required(r, "practitioner", "organization")
	prac := c.ref(r, "practitioner", "Practitioner", "practitioner")
	org := c.ref(r, "organization", "Organization", "institution")
	kind := r.get("type")
	if kind == "" {
		kind = "primary"
	}
	kindName := map[string]string{"primary": "第一执业机构", "regional": "区域注册执业机构"}[kind]
	if kindName == "" {
		c.fail(r, "type", "unknown registration %q; use primary (第一执业机构) or regional (区域注册执业机构)", kind)
	}
	period := c.period(r, true)
	res := map[string]any{
		"resourceType": "PractitionerRole",
		"active":       activeIn(period),
		"practitioner": prac,
		"organization": org,
		"code":         []any{concept(kindName, coding(vocab.SystemPracticeKind, kind, kindName))},
	}
	if period != nil {
		res["period"] = period
	}
	if s := c.specialty(r); s != nil {
		res["specialty"] = s
	}
	if l := c.ref(r, "location", "Location", "location"); l != nil {
		res["location"] = []any{l}
	}
	if t := c.telecom(r); t != nil {
		res["telecom"] = t
	}
	r.res = res
}

func (c *checker) coordinate(r *row, col string, lim float64) (json.Number, bool) {
	v := r.get(col)
	if v == "" {
		return "", false
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < -lim || x > lim {
		c.fail(r, col, "%q is not a coordinate in decimal degrees from %g to %g%s", v, -lim, lim, spreadsheetHint(v, 0))
		return "", false
	}
	return json.Number(strconv.FormatFloat(x, 'f', -1, 64)), true
}

// China's extent, generously: from 3.5°N (the Zengmu Reef) to 54°N and
// from 73°E to 136°E. A directory of Chinese institutions has no place
// outside it; one there has a lost sign or digit, or swapped columns.
const minLat, maxLat, minLon, maxLon = 3.5, 54.0, 73.0, 136.0

func (c *checker) inChina(r *row, lat, lon json.Number) {
	la, _ := lat.Float64()
	lo, _ := lon.Float64()
	if la < minLat || la > maxLat || lo < minLon || lo > maxLon {
		c.fail(r, "lat", "(%s, %s) lies outside China (latitude %g to %g, longitude %g to %g): is a sign or a digit lost, or are lat and lon swapped?", lat, lon, minLat, maxLat, minLon, maxLon)
	}
}

func (c *checker) location(r *row) {
	name := c.name(r)
	c.required(r, "organization", "lat", "lon", "division")
	org := c.ref(r, "organization", "Organization", "institution", "department")
	div := c.division(r, "division")
	lat, okLat := c.coordinate(r, "lat", 90)
	lon, okLon := c.coordinate(r, "lon", 180)
	if okLat && okLon {
		c.inChina(r, lat, lon)
	}
	res := map[string]any{
		"resourceType":         "Location",
		"status":               "active",
		"name":                 name,
		"mode":                 "instance",
		"physicalType":         concept("", coding(sysLocPhys, "bu", "Building")),
		"managingOrganization": org,
	}
	if okLat && okLon {
		res["position"] = map[string]any{"latitude": lat, "longitude": lon}
	}
	if a := c.address(r, div); a != nil {
		res["address"] = a
	}
	if t := c.telecom(r); t != nil {
		res["telecom"] = t
	}
	r.res = res
}

func (c *checker) service(r *row) {
	name := c.name(r)
	c.required(r, "organization", "location", "type")
	org := c.ref(r, "organization", "Organization", "institution", "department")
	loc := c.ref(r, "location", "Location", "location")
	kind := c.code(r, "type", vocab.ServiceKinds, "service type")
	res := map[string]any{
		"resourceType": "HealthcareService",
		"active":       true,
		"providedBy":   org,
		"name":         name,
	}
	if loc != nil {
		res["location"] = []any{loc}
	}
	if kind != nil {
		res["category"] = []any{concept(str(kind["display"]), coding(vocab.SystemServiceKind, str(kind["code"]), str(kind["display"])))}
	}
	if s := c.specialty(r); s != nil {
		res["specialty"] = s
	}
	if t := c.telecom(r); t != nil {
		res["telecom"] = t
	}
	r.res = res
}

const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// ValidUSCC reports whether s is a unified social credit code (统一社会信用代码,
// GB 32100-2015): 18 characters of its 31-symbol alphabet whose last is
// the check character of the first 17.
func ValidUSCC(s string) bool {
	if len(s) != 18 {
		return false
	}
	sum := 0
	for i := 0; i < 18; i++ {
		v := strings.IndexByte(usccChars, s[i])
		if v < 0 {
			return false
		}
		if i < 17 {
			sum += v * usccWeights[i]
		}
	}
	return usccChars[(31-sum%31)%31] == s[17]
}

// problems is "1 problem", "2 problems" ...
func problems(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// pool is an expert pool (专家库): a Group of PractitionerRoles, as the
// demo region writes them. Its members are the expert rows naming it.
func (c *checker) pool(r *row) {
	name := c.name(r)
	c.required(r, "type")
	kind := c.code(r, "type", vocab.ExpertPoolKinds, "expert-pool kind")
	res := map[string]any{
		"resourceType": "Group",
		"active":       true,
		"type":         "practitioner",
		"actual":       true,
		"name":         name,
		"quantity":     json.Number("0"),
	}
	if kind != nil {
		res["code"] = concept(str(kind["display"]), coding(vocab.SystemExpertPoolKind, str(kind["code"]), str(kind["display"])))
	}
	if s := c.specialty(r); s != nil {
		res["characteristic"] = []any{map[string]any{
			"code":                 concept("专业", coding(vocab.SystemExpertPoolKind, "specialty", "专业")),
			"valueCodeableConcept": s[0],
			"exclude":              false,
		}}
	}
	if m := c.ref(r, "organization", "Organization", "institution", "cooperation"); m != nil {
		res["managingEntity"] = m
	}
	r.res = res
}

// expert is one expert of a pool: a PractitionerRole (the practitioner
// serving the pool for an institution, with the pool's kind as its code,
// a specialty and the hours available) that the pool's Group lists.
func (c *checker) expert(r *row) {
	c.required(r, "parent", "practitioner", "organization")
	if id := r.get("parent"); id != "" {
		if t := c.byID["Group/"+id]; t == nil || t.kind != "pool" {
			c.fail(r, "parent", "%q is not a pool row of this file: an expert names the pool row above or below it (a pool and its experts are imported together, since the pool row writes the pool's whole member list)", id)
		}
	}
	prac := c.ref(r, "practitioner", "Practitioner", "practitioner")
	org := c.ref(r, "organization", "Organization", "institution")
	period := c.period(r, false)
	res := map[string]any{
		"resourceType": "PractitionerRole",
		"active":       activeIn(period),
		"practitioner": prac,
		"organization": org,
	}
	if period != nil {
		res["period"] = period
	}
	if pool := c.byID["Group/"+r.get("parent")]; pool != nil && pool.kind == "pool" {
		if k := pool.get("type"); vocab.ExpertPoolKinds[k] != "" {
			name := strings.TrimSuffix(vocab.ExpertPoolKinds[k], "库") // 质控专家, 会诊专家
			res["code"] = []any{concept(name, coding(vocab.SystemExpertPoolKind, k, vocab.ExpertPoolKinds[k]))}
		}
		if r.get("specialty") == "" && pool.get("specialty") != "" && deptRe.MatchString(pool.get("specialty")) {
			v := pool.get("specialty")
			res["specialty"] = []any{concept(vocab.Departments[v], coding(vocab.SystemDepartment, v, vocab.Departments[v]))}
		}
	}
	if s := c.specialty(r); s != nil {
		res["specialty"] = s
	}
	if l := c.ref(r, "location", "Location", "location"); l != nil {
		res["location"] = []any{l}
	}
	if v := r.get("available"); v != "" {
		at, err := ParseAvailability(v)
		if err != nil {
			c.fail(r, "available", "%v", err)
		} else {
			res["availableTime"] = at
		}
	}
	if t := c.telecom(r); t != nil {
		res["telecom"] = t
	}
	r.res = res
}

// poolMembers lists each pool's experts (in file order) in its Group.
func (c *checker) poolMembers(rows []*row) {
	for _, r := range rows {
		if r.kind != "expert" || r.res == nil {
			continue
		}
		pool := c.byID["Group/"+r.get("parent")]
		if pool == nil || pool.kind != "pool" || pool.res == nil {
			continue
		}
		m := map[string]any{"entity": refTo("PractitionerRole", r.get("id"), "")}
		if p := obj(r.res["period"]); p != nil {
			m["period"] = p
		}
		if r.res["active"] == false {
			m["inactive"] = true
		}
		pool.res["member"] = append(list(pool.res["member"]), m)
		pool.res["quantity"] = json.Number(strconv.Itoa(len(list(pool.res["member"]))))
	}
}

var dayOrder = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

var hhmmRe = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)$`)

// ParseAvailability reads the available column: entries separated by
// semicolons, each days of the week (mon … sun, comma-separated, ranges
// with a hyphen: mon-fri) and optionally a time range HH:MM-HH:MM after a
// space (no time: all day). "mon-fri 08:00-12:00; sat 08:00-11:30"
// becomes two PractitionerRole.availableTime entries.
func ParseAvailability(s string) ([]any, error) {
	var out []any
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Fields(part)
		if len(fields) > 2 {
			return nil, fmt.Errorf("%q is not days and one time range (e.g. mon-fri 08:00-12:00)", part)
		}
		var days []any
		seen := map[int]bool{}
		for _, d := range strings.Split(strings.ToLower(fields[0]), ",") {
			from, to, isRange := strings.Cut(d, "-")
			i, j := slices.Index(dayOrder, from), slices.Index(dayOrder, to)
			if !isRange {
				j = i
			}
			if i < 0 || j < 0 || j < i {
				return nil, fmt.Errorf("%q is not days of the week (mon, tue, wed, thu, fri, sat, sun, comma-separated, ranges like mon-fri)", fields[0])
			}
			for k := i; k <= j; k++ {
				if !seen[k] {
					seen[k] = true
					days = append(days, dayOrder[k])
				}
			}
		}
		at := map[string]any{"daysOfWeek": days}
		if len(fields) == 1 {
			at["allDay"] = true
		} else {
			from, to, ok := strings.Cut(fields[1], "-")
			if !ok || !hhmmRe.MatchString(from) || !hhmmRe.MatchString(to) {
				return nil, fmt.Errorf("%q is not a time range HH:MM-HH:MM (24-hour, e.g. 08:00-12:00)", fields[1])
			}
			if to <= from {
				return nil, fmt.Errorf("the time range %s ends before it starts", fields[1])
			}
			at["availableStartTime"], at["availableEndTime"] = from+":00", to+":00"
		}
		out = append(out, at)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no days", s)
	}
	return out, nil
}

// activeIn says whether a relation with period (nil: open) is active: not
// ended, or ending today or later.
func activeIn(period map[string]any) bool {
	end := str(period["end"])
	return end == "" || end >= time.Now().Format("2006-01-02")
}

var (
	sciNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[eE][+]?[0-9]+$`)
	lostZero  = regexp.MustCompile(`^[1-9](\.[0-9]{2})?$`)
)

// spreadsheetHint names the damage a spreadsheet does to a file saved as
// CSV, when v shows it: a code turned into a number in scientific
// notation, a leading zero dropped (03.04 → 3.04; a code of digits one
// short of want), a decimal comma. It returns "" otherwise.
func spreadsheetHint(v string, want int) string {
	const asText = "; format the column as text in the spreadsheet and type it again"
	switch {
	case sciNumber.MatchString(v):
		return ": a spreadsheet turned it into a number" + asText
	case lostZero.MatchString(v):
		return ": a spreadsheet may have dropped its leading zero (03.04 became 3.04)" + asText
	case want > 0 && len(v) == want-1 && isDigits(v):
		return ": a spreadsheet may have dropped its leading zero" + asText
	case strings.Count(v, ",") == 1:
		if _, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64); err == nil {
			return ": write it with a decimal point (23.125), not a comma"
		}
	}
	return ""
}
