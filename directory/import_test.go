package directory

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/xietong/xietong/directory/vocab"
)

// fakeLookup knows a few resources "already in the store".
type fakeLookup map[string]string // "Type/id" → "", or "Type|system|value" → owner id

func (f fakeLookup) Exists(_ context.Context, typ, id string) (bool, error) {
	_, ok := f[typ+"/"+id]
	return ok, nil
}

func (f fakeLookup) Owner(_ context.Context, typ, system, value string) (string, error) {
	return f[typ+"|"+system+"|"+value], nil
}

func TestParseSample(t *testing.T) {
	f, err := os.Open("testdata/directory.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	plan, err := Parse(context.Background(), f, fakeLookup{})
	if err != nil {
		t.Fatalf("sample file: %v", err)
	}
	want := map[string]int{"institution": 6, "location": 6, "department": 2, "service": 8, "cooperation": 2, "member": 6, "practitioner": 3, "role": 5, "pool": 2, "expert": 2}
	for k, n := range want {
		if plan.Counts[k] != n {
			t.Errorf("%d %s rows, want %d", plan.Counts[k], k, n)
		}
	}
	entries := plan.Bundle["entry"].([]any)
	if len(entries) != 42 || len(plan.Rows) != 42 || plan.Rows[0] != 3 {
		t.Fatalf("%d entries, rows %v", len(entries), plan.Rows)
	}
	first := entries[0].(map[string]any)
	if first["request"].(map[string]any)["url"] != "Organization/cd-jinjiang-1" {
		t.Fatalf("first entry %v", first["request"])
	}
	org := first["resource"].(map[string]any)
	if org["identifier"].([]any)[0].(map[string]any)["value"] != "510104001" || len(org["type"].([]any)) != 3 {
		t.Fatalf("institution %v", org)
	}
	if got := plan.RowOfEntry("Bundle.entry[1]: something"); got != 4 {
		t.Errorf("RowOfEntry = %d, want 4", got)
	}
}

// Every problem of every row is reported with its line and column.
func TestParseErrors(t *testing.T) {
	const header = "kind,id,name,code,uscc,division,type,grade,parent,organization,practitioner,location,role,specialty,licence,gender,birth_date,title,start,end,lat,lon,address,phone\n"
	good := "institution,h1,甲医院,510104001,12510104450000008X,510104,general-hospital,3A,,,,,,,,,,,,,,,,\n"
	file := header + good +
		"institution,h2,乙医院,51010400,12510104450000008Y,510104,hospital,4A,,,,,,,,,,,,,,,,\n" + // line 3: code, uscc, type, grade
		"institution,h1,丙医院,510104001,12510104450000008X,990104,general-hospital,,,,,,,,,,,,,,,,,\n" + // 4: duplicate id, division, duplicate code
		"location,l1,甲院区,,,510104,,,,h1,,,,,,,,,,,91,104.1,,\n" + // 5: lat
		"location,l2,乙院区,,,510104,,,,nowhere,,,,,,,,,,,30.1,104.1,,\n" + // 6: unknown institution
		"service,s1,甲门诊,,,,tcm-clinic,,,h1,,l9,,,,,,,,,,,,\n" + // 7: unknown location
		"member,m1,,,,,,,,h1,,,boss,,,,,,2025-13-01,,,,,\n" + // 8: parent missing, role, start date
		"practitioner,p1,张三,,,,,,,,,,,,12345,martian,2099-01-01,,,,,,,\n" + // 9: licence, gender, birth date
		"role,r1,,,,,,,,h1,p1,,,,,,,,2025-01-01,2024-01-01,,,,\n" + // 10: end before start
		"spaceship,x1,,,,,,,,,,,,,,,,,,,,,,\n" + // 11: kind
		"department,d1,心内科,3.4,,,,,h1,,,,,,,,,,,,,,,\n" + // 12: code
		"cooperation,c1,联盟,,,,specialty-alliance,,,,,,,,,,,,,,,,,\n" + // 13: start required
		"member,m2,,,,,,,,c1,,,lead,,,,,,2025-01-01,,,,,\n" + // 14: parent required; organization c1 is a cooperation
		"institution,h3,丁医院,510104003,12510104450000008X,510104,general-hospital,,,,,,,,,,,,,,30.1,,,\n" + // 15: lat on an institution
		"institution,h4,戊医院,510104004,12510104450000008X,510104,cdc,,,,,,,,,,,,,,,,,\n" + // 16: code owned in store
		"a,b,c\n" + // 17: field count
		"institution,h5,\xbc\xd7\xd2\xbd\xd4\xba,510104005,,510104,general-hospital,,,,,,,,,,,,,,,,,\n" + // 18: 甲医院 in GBK
		"institution,h6,己\"医院,510104006,,510104,general-hospital,,,,,,,,,,,,,,,,,\n" // 19: a bare quote: the file stops here
	_, err := Parse(context.Background(), strings.NewReader(file), fakeLookup{"Organization|" + vocab.SystemInstitutionCode + "|510104004": "other-org"})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []struct {
		row int
		col string
	}{
		{3, "code"}, {3, "uscc"}, {3, "type"}, {3, "grade"},
		{4, "id"}, {4, "division"},
		{5, "lat"}, {6, "organization"}, {7, "location"},
		{8, "parent"}, {8, "role"}, {8, "start"},
		{9, "licence"}, {9, "gender"}, {9, "birth_date"},
		{10, "end"}, {11, "kind"}, {12, "code"}, {13, "start"},
		{14, "parent"}, {14, "organization"}, {15, "lat"}, {16, "code"}, {17, ""},
		{18, "name"}, {19, ""},
	}
	has := func(row int, col string) bool {
		for _, e := range errs {
			if e.Row == row && e.Column == col {
				return true
			}
		}
		return false
	}
	for _, w := range want {
		if !has(w.row, w.col) {
			t.Errorf("no error for row %d column %q", w.row, w.col)
		}
	}
	for _, e := range errs {
		if e.Row == 2 {
			t.Errorf("the good row got an error: %s", e)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Log(errs.Error())
	}
}

// Expert pools are Groups of PractitionerRoles; each expert row is a
// PractitionerRole with the pool's kind, a specialty and its hours, and a
// member of its pool.
func TestParsePools(t *testing.T) {
	f, err := os.Open("testdata/directory.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	plan, err := Parse(context.Background(), f, fakeLookup{})
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]map[string]any{}
	for _, e := range plan.Bundle["entry"].([]any) {
		e := e.(map[string]any)
		byURL[e["request"].(map[string]any)["url"].(string)] = e["resource"].(map[string]any)
	}
	pool := byURL["Group/cdmz-pool-consult-tcm"]
	if pool == nil {
		t.Fatal("no pool Group")
	}
	if pool["type"] != "practitioner" || pool["actual"] != true || str(obj(list(obj(pool["code"])["coding"])[0])["code"]) != "consultation" ||
		str(obj(pool["managingEntity"])["reference"]) != "Organization/cdmz-tcm-alliance" || len(list(pool["characteristic"])) != 1 {
		t.Errorf("pool %v", pool)
	}
	members := list(pool["member"])
	if len(members) != 1 || str(obj(obj(members[0])["entity"])["reference"]) != "PractitionerRole/cdmz-pool-consult-tcm-ouyang-lan" ||
		str(obj(obj(members[0])["period"])["end"]) != "2026-12-31" || string(pool["quantity"].(json.Number)) != "1" {
		t.Errorf("members %v", members)
	}
	ex := byURL["PractitionerRole/cdmz-pool-consult-tcm-ouyang-lan"]
	at := list(ex["availableTime"])
	if len(at) != 2 || len(list(obj(at[0])["daysOfWeek"])) != 5 || obj(at[1])["availableEndTime"] != "11:30:00" {
		t.Errorf("availableTime %v", at)
	}
	// The cardiology expert takes the pool's specialty.
	qc := byURL["PractitionerRole/cdmz-pool-qc-cardio-zhang-wei"]
	if sp := list(qc["specialty"]); len(sp) != 1 || str(obj(list(obj(sp[0])["coding"])[0])["code"]) != "03.04" {
		t.Errorf("specialty %v", qc["specialty"])
	}
	if c := list(qc["code"]); len(c) != 1 || str(obj(list(obj(c[0])["coding"])[0])["code"]) != "quality-control" {
		t.Errorf("code %v", qc["code"])
	}
}

func TestParsePoolErrors(t *testing.T) {
	const header = "kind,id,name,type,specialty,parent,organization,practitioner,available,start,end\n"
	file := header +
		"institution,h1,甲医院,general-hospital,,,,,,,\n" + // 2: institution without code etc. (not this test's concern)
		"pool,p1,质控专家库,quality-control,03.04,,h1,,,,\n" + // 3: good
		"pool,p2,,audit,3.4,,,,,,\n" + // 4: name, type, specialty
		"expert,e1,,,,p1,h1,nobody,mon-fri 08:00-12:00,,\n" + // 5: unknown practitioner
		"expert,e2,,,,p9,h1,,monday 8-12,,\n" + // 6: parent not a pool row, practitioner required, available
		"expert,e3,,,,p1,h1,,fri-mon,,\n" + // 7: practitioner required, available days backwards
		"expert,e4,,,,p1,h1,,sat 12:00-08:00,2025-01-01,2024-01-01\n" + // 8: times backwards, end before start
		"pool,p3,专家库,consultation,,,,,mon,,\n" + // 9: available on a pool
		"expert,e5,,,,pool 1,h1,,,,\n" // 10: a parent that is no row id at all
	_, err := Parse(context.Background(), strings.NewReader(file), fakeLookup{})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	for _, w := range []struct {
		row int
		col string
	}{
		{4, "name"}, {4, "type"}, {4, "specialty"}, {5, "practitioner"},
		{6, "parent"}, {6, "practitioner"}, {6, "available"}, {7, "practitioner"}, {7, "available"},
		{8, "available"}, {8, "end"}, {9, "available"}, {10, "parent"},
	} {
		found := false
		for _, e := range errs {
			found = found || (e.Row == w.row && e.Column == w.col)
		}
		if !found {
			t.Errorf("no error for row %d column %q", w.row, w.col)
		}
	}
	for _, e := range errs {
		if e.Row == 3 {
			t.Errorf("the good pool row got an error: %s", e)
		}
	}
	if t.Failed() {
		t.Log(errs.Error())
	}
}

func TestParseAvailability(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"mon-fri 08:00-17:00", `[{"availableEndTime":"17:00:00","availableStartTime":"08:00:00","daysOfWeek":["mon","tue","wed","thu","fri"]}]`},
		{"sat,sun", `[{"allDay":true,"daysOfWeek":["sat","sun"]}]`},
		{"Tue 14:00-16:30;thu 09:00-11:00", `[{"availableEndTime":"16:30:00","availableStartTime":"14:00:00","daysOfWeek":["tue"]},{"availableEndTime":"11:00:00","availableStartTime":"09:00:00","daysOfWeek":["thu"]}]`},
		{"mon,mon-tue", `[{"allDay":true,"daysOfWeek":["mon","tue"]}]`},
		{"", "error"}, {";", "error"}, {"funday", "error"}, {"mon 8:00-12:00", "error"}, {"mon 24:00-25:00", "error"},
		{"mon 12:00-12:00", "error"}, {"mon 08:00-12:00 extra", "error"}, {"sun-mon", "error"},
	} {
		got, err := ParseAvailability(c.in)
		s := "error"
		if err == nil {
			b, _ := json.Marshal(got)
			s = string(b)
		}
		if s != c.want {
			t.Errorf("ParseAvailability(%q) = %s, want %s", c.in, s, c.want)
		}
	}
}

func TestParseHeader(t *testing.T) {
	for name, file := range map[string]string{
		"empty":          "",
		"unknown column": "kind,id,colour\n",
		"no kind":        "id,name\n",
		"twice":          "kind,id,id\n",
		"no rows":        "kind,id,name\n",
	} {
		if _, err := Parse(context.Background(), strings.NewReader(file), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestUSCC(t *testing.T) {
	if !ValidUSCC("12510104450000008X") || ValidUSCC("12510104450000008Y") || ValidUSCC("1251010445000000I8") {
		t.Fatal("ValidUSCC")
	}
}

func FuzzParse(f *testing.F) {
	data, _ := os.ReadFile("testdata/directory.csv")
	f.Add(string(data))
	f.Add("kind,id\ninstitution,x\n")
	f.Fuzz(func(t *testing.T, s string) {
		plan, err := Parse(context.Background(), strings.NewReader(s), fakeLookup{})
		if err == nil && len(plan.Rows) == 0 {
			t.Fatal("a plan without rows")
		}
	})
}
