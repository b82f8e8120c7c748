package empi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/empi"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/store"
)

// The golden record: the source with a valid, consistent ID number ranks
// first; gender and birth date come from its number; telecom is the
// union; identifiers are not copied; every source is a seealso link.
func TestGolden(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	id := idnumber.Generate("110112", born, 123)
	newer := map[string]any{"resourceType": "Patient", "id": "b", "name": []any{map[string]any{"text": "张 伟"}},
		"gender": "female", "birthDate": "1980-07-03", "telecom": []any{map[string]any{"system": "phone", "value": "1"}}}
	verified := map[string]any{"resourceType": "Patient", "id": "a", "name": []any{map[string]any{"text": "张伟"}},
		"identifier": []any{map[string]any{"system": empi.SystemResidentID, "value": id}},
		"telecom":    []any{map[string]any{"system": "phone", "value": "2"}, map[string]any{"system": "phone", "value": "1"}}}
	vs := []*store.Version{{ID: "b", LastUpdated: now}, {ID: "a", LastUpdated: now.Add(-time.Hour)}}
	g := empi.Golden("m", vs, []map[string]any{newer, verified}, empi.BasisManual, now)
	if !empi.IsMaster(g) || g["id"] != "m" || g["active"] != true {
		t.Fatalf("not a master: %v", g)
	}
	if name := g["name"].([]any)[0].(map[string]any)["text"]; name != "张伟" {
		t.Errorf("name %v, want the verified source's", name)
	}
	if g["gender"] != "male" || g["birthDate"] != "1980-03-07" {
		t.Errorf("gender %v birthDate %v, want the ID number's", g["gender"], g["birthDate"])
	}
	if len(g["telecom"].([]any)) != 2 || g["identifier"] != nil {
		t.Errorf("telecom %v identifier %v", g["telecom"], g["identifier"])
	}
	links := g["link"].([]any)
	if len(links) != 2 || !strings.Contains(toJSON(links), `"valueCode":"manual"`) {
		t.Errorf("links %v", links)
	}
	empty := empi.Golden("m", nil, nil, empi.BasisNew, now)
	if empty["active"] != false || empty["link"] != nil {
		t.Errorf("a master without sources: %v", empty)
	}
}

func toJSON(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				b.WriteString(`"` + k + `":`)
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		case string:
			b.WriteString(`"` + x + `"`)
		}
	}
	walk(v)
	return b.String()
}

func TestCheckIdentifiers(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	id := idnumber.Generate("110112", born, 123)
	p := func(v string) map[string]any {
		return map[string]any{"resourceType": "Patient", "gender": "female", "birthDate": "1999-01-01",
			"identifier": []any{map[string]any{"system": "urn:other", "value": "x"}, map[string]any{"system": empi.SystemResidentIDOID, "value": v}}}
	}
	for _, bad := range []string{id[:17] + "0", "11011219800230123X", "1101121980030712", "990112198003071234", "11011220300307123X"} {
		if bad == id {
			continue
		}
		err := empi.CheckIdentifiers(p(bad), now)
		if oe := outcome.As(err); oe == nil || oe.Status != 422 || oe.Issues[0].Expression[0] != "Patient.identifier[1].value" {
			t.Errorf("%s: %v", bad, err)
		}
	}
	// Valid but not this record's (birth date, sex): accepted.
	if err := empi.CheckIdentifiers(p(id), now); err != nil {
		t.Errorf("an inconsistent valid number is rejected: %v", err)
	}
	legacy := p(strings.ToLower(idnumber.Legacy(id)))
	if err := empi.CheckIdentifiers(legacy, now); err != nil {
		t.Fatal(err)
	}
	ids := legacy["identifier"].([]any)
	if len(ids) != 3 || ids[1].(map[string]any)["value"] != id || ids[2].(map[string]any)["use"] != "old" {
		t.Errorf("legacy upgrade: %v", ids)
	}
	// Sent back as stored: unchanged.
	if err := empi.CheckIdentifiers(legacy, now); err != nil || len(legacy["identifier"].([]any)) != 3 {
		t.Errorf("second pass: %v %v", err, legacy["identifier"])
	}
}
