package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/xietong/xietong/directory/vocab"
	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/store"
)

// DefaultSource names the import source when none is given.
const DefaultSource = "directory"

// DefaultMaxEndShare is the share of a source's active records a sync may
// end without Force: a truncated export must not wipe a region.
const DefaultMaxEndShare = 0.2

// syncedTypes are the resource types an import writes, so the ones a sync
// looks for records of the source in.
var syncedTypes = []string{"Organization", "OrganizationAffiliation", "Practitioner", "PractitionerRole", "Location", "HealthcareService", "Group"}

// Options say how Import treats the store beyond the file's rows.
type Options struct {
	// Source names the registry the file comes from (DefaultSource when
	// ""). Every resource the import writes carries it as a meta.tag of
	// vocab.SystemImportSource; only records carrying it are ever ended.
	Source string
	// Sync ends the source's records that the file no longer lists.
	Sync bool
	// DryRun reads and compares but writes nothing.
	DryRun bool
	// Force lets a sync end more than MaxEndShare of the source's
	// active records.
	Force bool
	// MaxEndShare is the largest share (0 to 1) of the source's active
	// records a sync ends without Force (DefaultMaxEndShare when 0).
	MaxEndShare float64
	// Today is the day endings are dated (YYYY-MM-DD; today's when "").
	Today string
}

// Report says what an import did (or, dry, would do). The maps count by
// row kind (institution, department, cooperation, member, practitioner,
// role, location, service, pool, expert).
type Report struct {
	Plan   *Plan
	Source string
	Added  map[string]int // rows whose resource did not exist
	// Changed rows whose resource existed with other content;
	// Reactivated are those of them that a sync or a file had ended.
	Changed, Reactivated, Unchanged map[string]int
	Ended                           map[string]int // records of the source the file no longer lists
	EndedRefs                       []string       // Type/id of each, sorted
	ActiveBefore                    int            // the source's active records before the import
	Written                         bool           // false for a dry run
}

// TooManyEnded is the safety stop: a sync would end more than the allowed
// share of the source's active records and Force was not given.
type TooManyEnded struct {
	Source        string
	Ended, Active int
	Max           float64
}

func (e *TooManyEnded) Error() string {
	return fmt.Sprintf("refused: the sync would end %d of the %d active records of source %q (%.0f%%, more than the %.0f%% allowed); "+
		"is the file truncated? Check it with --dry-run; if the records really closed, run again with --force",
		e.Ended, e.Active, e.Source, 100*float64(e.Ended)/float64(e.Active), 100*e.Max)
}

// TxFunc runs a transaction Bundle through the API (server.Transaction).
type TxFunc func(ctx context.Context, bundle map[string]any) (map[string]any, error)

// Import checks a directory CSV file against st, compares it with what st
// holds, and (unless opt.DryRun) writes it through tx as one transaction:
// the file's rows, tagged with the source, and with opt.Sync the endings
// of the source's records the file no longer lists. All or nothing. A
// file with problems is Errors; the safety stop is *TooManyEnded (also on
// a dry run, returned with the Report).
func Import(ctx context.Context, st store.Reader, tx TxFunc, in io.Reader, opt Options) (*Report, error) {
	if opt.Source == "" {
		opt.Source = DefaultSource
	}
	if !idRe.MatchString(opt.Source) {
		return nil, fmt.Errorf("the source %q is not a name of 1 to 64 of A-Z a-z 0-9 - .", opt.Source)
	}
	if opt.MaxEndShare == 0 {
		opt.MaxEndShare = DefaultMaxEndShare
	}
	if opt.Today == "" {
		opt.Today = time.Now().Format("2006-01-02")
	}
	plan, err := Parse(ctx, in, StoreLookup(st))
	if err != nil {
		return nil, err
	}
	rep := &Report{Plan: plan, Source: opt.Source, Added: map[string]int{}, Changed: map[string]int{},
		Reactivated: map[string]int{}, Unchanged: map[string]int{}, Ended: map[string]int{}}
	tag := map[string]any{"system": vocab.SystemImportSource, "code": opt.Source}
	entries := plan.Bundle["entry"].([]any)
	inFile := map[string]bool{}
	for _, e := range entries {
		res := obj(obj(e)["resource"])
		res["meta"] = map[string]any{"tag": []any{tag}}
		typ, id := str(res["resourceType"]), str(res["id"])
		inFile[typ+"/"+id] = true
		kind := kindOf(res)
		old, err := readCurrent(ctx, st, typ, id)
		switch {
		case err != nil:
			return nil, err
		case old == nil:
			rep.Added[kind]++
		case sameContent(old, res):
			rep.Unchanged[kind]++
		default:
			rep.Changed[kind]++
			if !isActive(old) && isActive(res) {
				rep.Reactivated[kind]++
			}
		}
	}
	for _, typ := range syncedTypes {
		err := eachOfSource(ctx, st, typ, opt.Source, func(v *store.Version, res map[string]any) {
			if !isActive(res) {
				return
			}
			rep.ActiveBefore++
			if !opt.Sync || inFile[typ+"/"+v.ID] {
				return
			}
			kind := kindOf(res)
			end(res, opt.Today)
			entries = append(entries, map[string]any{
				"resource": res,
				// A record an institution changed since it was read makes
				// the transaction fail rather than be overwritten.
				"request": map[string]any{"method": "PUT", "url": typ + "/" + v.ID, "ifMatch": `W/"` + strconv.FormatInt(v.VersionID, 10) + `"`},
			})
			rep.Ended[kind]++
			rep.EndedRefs = append(rep.EndedRefs, typ+"/"+v.ID)
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(rep.EndedRefs)
	plan.Bundle["entry"] = entries
	if n := len(rep.EndedRefs); n > 0 && !opt.Force && float64(n) > opt.MaxEndShare*float64(rep.ActiveBefore) {
		return rep, &TooManyEnded{Source: opt.Source, Ended: n, Active: rep.ActiveBefore, Max: opt.MaxEndShare}
	}
	if opt.DryRun {
		return rep, nil
	}
	if _, err := tx(ctx, plan.Bundle); err != nil {
		if oe := outcome.As(err); oe != nil && oe.Status < 500 {
			var errs Errors
			for _, is := range oe.Issues {
				errs = append(errs, RowError{Row: plan.RowOfEntry(is.Diagnostics), Message: is.Diagnostics})
			}
			return nil, errs
		}
		return nil, err
	}
	rep.Written = true
	return rep, nil
}

func readCurrent(ctx context.Context, st store.Reader, typ, id string) (map[string]any, error) {
	v, err := st.Read(ctx, typ, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return fhirjson.Decode(v.Body, fhirjson.Limits{})
}

// eachOfSource calls fn with every current resource of typ tagged with
// source.
func eachOfSource(ctx context.Context, st store.Reader, typ, source string, fn func(*store.Version, map[string]any)) error {
	q := &store.Query{Types: []string{typ}, Count: 1000, Total: store.TotalNone,
		Where: []store.Clause{{{Param: "_tag", Type: store.TypeToken, System: vocab.SystemImportSource, Code: source}}}}
	for {
		res, err := st.Search(ctx, q)
		if err != nil {
			return err
		}
		for _, v := range res.Matches {
			m, err := fhirjson.Decode(v.Body, fhirjson.Limits{})
			if err != nil {
				return err
			}
			fn(v, m)
		}
		if res.NextCursor == "" {
			return nil
		}
		q.Cursor = res.NextCursor
	}
}

// sameContent compares a stored resource with a row's, ignoring the
// version and time the store stamps.
func sameContent(stored, row map[string]any) bool {
	a := maps.Clone(stored)
	if m := obj(a["meta"]); m != nil {
		m = maps.Clone(m)
		delete(m, "versionId")
		delete(m, "lastUpdated")
		a["meta"] = m
	}
	b, err := json.Marshal(row)
	if err != nil {
		return false
	}
	rb, err := fhirjson.Decode(b, fhirjson.Limits{})
	if err != nil {
		return false
	}
	// Both sides are fhirjson trees (numbers json.Number, as written):
	// equal trees are equal JSON, without marshalling both again.
	return reflect.DeepEqual(a, rb)
}

// isActive says whether a directory record is in force: active not false
// (a Location: status not inactive).
func isActive(res map[string]any) bool {
	if str(res["resourceType"]) == "Location" {
		return str(res["status"]) != "inactive"
	}
	return res["active"] != false
}

// end ends a record the source no longer lists: inactive, and for the
// relations (practice sites, experts, memberships, pool members) a period
// ending on today (or on its start, if that is later: a period never ends
// before it starts). Nothing is deleted: history and references stay.
func end(res map[string]any, today string) {
	// The store stamps the new version and time; the tags (the source's
	// among them) stay.
	res["meta"] = map[string]any{"tag": list(obj(res["meta"])["tag"])}
	switch str(res["resourceType"]) {
	case "Location":
		res["status"] = "inactive"
	case "PractitionerRole", "OrganizationAffiliation":
		res["active"] = false
		res["period"] = endPeriod(obj(res["period"]), today)
	case "Group":
		res["active"] = false
		for _, m := range list(res["member"]) {
			mm := obj(m)
			mm["inactive"] = true
			mm["period"] = endPeriod(obj(mm["period"]), today)
		}
	default:
		res["active"] = false
	}
}

func endPeriod(p map[string]any, today string) map[string]any {
	out := maps.Clone(p)
	if out == nil {
		out = map[string]any{}
	}
	if e := str(out["end"]); e != "" && e <= today {
		return out
	}
	day := today
	if s := str(out["start"]); len(s) >= 10 && s[:10] > day {
		day = s[:10]
	}
	out["end"] = day
	return out
}

// kindOf names the row kind a directory resource comes from.
func kindOf(res map[string]any) string {
	switch str(res["resourceType"]) {
	case "Organization":
		switch {
		case hasSystemCode(res["type"], sysOrgType, "dept"):
			return "department"
		case hasSystemCode(res["type"], vocab.SystemCooperationKind, ""):
			return "cooperation"
		}
		return "institution"
	case "OrganizationAffiliation":
		return "member"
	case "Practitioner":
		return "practitioner"
	case "PractitionerRole":
		if hasSystemCode(res["code"], vocab.SystemExpertPoolKind, "") {
			return "expert"
		}
		return "role"
	case "Location":
		return "location"
	case "HealthcareService":
		return "service"
	case "Group":
		return "pool"
	}
	return str(res["resourceType"])
}

// hasSystemCode says whether a CodeableConcept or a list of them has a
// coding of system (and code, unless "").
func hasSystemCode(v any, system, code string) bool {
	ccs := list(v)
	if m := obj(v); m != nil {
		ccs = []any{m}
	}
	for _, cc := range ccs {
		for _, c := range list(obj(cc)["coding"]) {
			if str(obj(c)["system"]) == system && (code == "" || str(obj(c)["code"]) == code) {
				return true
			}
		}
	}
	return false
}
