package directory

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// A 广佛肇 directory written by the trial of session 5 (decision 025), with
// the mistakes a hospital's spreadsheet has. Three went through: a
// division code of no province (19…), a location in the southern
// hemisphere (latitude's sign lost) and one in Libya (longitude's first
// digit lost). And the finder's city filter by name found nothing in an
// imported directory, whose addresses had no city or district names.
func TestTrial5ImportCatchesPlacesOutsideChina(t *testing.T) {
	const header = "kind,id,name,code,uscc,division,type,grade,parent,organization,lat,lon,address,city,district\n"
	file := header +
		"institution,b2,坏医院二,191234001,12440106455000002W,191234,general-hospital,3A,,,,,,,\n" +
		"institution,h1,天河中医医院,440106001,12440106455000002W,440106,tcm-hospital,3A,,,,,天河区天河路600号,广州市,天河区\n" +
		"location,l1,院区一,,,440106,,,,h1,-23.125,113.361,,,\n" +
		"location,l2,院区二,,,440106,,,,h1,23.125,13.361,,,\n" +
		"location,l3,院区三,,,440106,,,,h1,23.125,113.361,天河区天河路600号,广州市,天河区\n"
	wantRowErrors(t, file, map[string]string{"division@2": "19 is not a province code", "lat@4": "outside China", "lat@5": "outside China"}, true)
}

// wantRowErrors parses file and checks that it is refused with an error
// saying want[column@row] for each key (and no other error, when only).
func wantRowErrors(t *testing.T, file string, want map[string]string, only bool) {
	t.Helper()
	_, err := Parse(context.Background(), strings.NewReader(file), fakeLookup{})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want row errors, got %v", err)
	}
	for _, e := range errs {
		k := e.Column + "@" + strconv.Itoa(e.Row)
		if w, ok := want[k]; ok && strings.Contains(e.Message, w) {
			delete(want, k)
		} else if only {
			t.Errorf("unexpected %s", e)
		}
	}
	for k, w := range want {
		t.Errorf("%s: no error saying %q (errors: %v)", k, w, errs)
	}
}

// Address names from the city and district columns land where the
// finder's city filter reads them.
func TestTrial5ImportWritesCityAndDistrict(t *testing.T) {
	const header = "kind,id,name,code,uscc,division,type,organization,lat,lon,address,city,district\n"
	file := header +
		"institution,h1,天河中医医院,440106001,12440106455000002W,440106,tcm-hospital,,,,天河区天河路600号,广州市,天河区\n" +
		"location,l1,院区一,,,440106,,h1,23.125,113.361,天河路600号,广州市,天河区\n"
	plan, err := Parse(context.Background(), strings.NewReader(file), fakeLookup{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range plan.Bundle["entry"].([]any) {
		res := e.(map[string]any)["resource"].(map[string]any)
		a := res["address"]
		if l, ok := a.([]any); ok {
			a = l[0]
		}
		addr := a.(map[string]any)
		if addr["city"] != "广州市" || addr["district"] != "天河区" {
			t.Errorf("%s address %v, want city 广州市 and district 天河区", res["resourceType"], addr)
		}
		if res["resourceType"] == "Location" && (!inCity(res, "广州市") || !inCity(res, "天河区") || inCity(res, "佛山市")) {
			t.Errorf("%s: inCity by name wrong", res["resourceType"])
		}
	}
}

// A file saved from a spreadsheet: the institution code turned into
// 4.40106E+08, the leading zero of 03.04 and of a licence dropped, and
// coordinates written with a decimal comma. Each was reported, but in
// words that left the cause to be guessed.
func TestTrial5SpreadsheetDamageIsNamed(t *testing.T) {
	file := "\ufeffkind,id,name,code,uscc,division,type,grade,parent,organization,licence,lat,lon\r\n" +
		"institution,x1,某医院,4.40106E+08,12440106455000002W,440106,general-hospital,3A,,,,,\r\n" +
		"department,x1-d,心内科,3.04,,,,,x1,,,,\r\n" +
		"practitioner,p1,某医生,,,,doctor,,,,44010600012345,,\r\n" +
		"location,x1-l,某医院,,,440106,,,,x1,,\"23,125\",\"113,361\"\r\n"
	wantRowErrors(t, file, map[string]string{"code@2": "spreadsheet", "code@3": "leading zero", "licence@4": "leading zero", "lat@5": "decimal point", "lon@5": "decimal point"}, false)
}
