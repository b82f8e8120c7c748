package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/directory"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/healthcard"
	"github.com/xietong/xietong/server"
)

func TestRunImportDirectory(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	var out, errb bytes.Buffer
	if code := runImport(context.Background(), []string{"directory", "--db", db, "../../directory/testdata/directory.csv"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "imported 42 rows") || !strings.Contains(out.String(), "institution       6") {
		t.Errorf("summary: %s", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("kind,id,name,parent,code\ndepartment,dx,科,nowhere,03\ndepartment,dy,,cd-jinjiang-1,3\n"), 0o600)
	out.Reset()
	errb.Reset()
	if code := runImport(context.Background(), []string{"directory", "--db", db, bad}, &out, &errb); code != 1 {
		t.Fatalf("bad file: exit %d", code)
	}
	for _, want := range []string{"nothing imported; 3 problems", "row 2, column parent", "row 3, column name", "row 3, column code"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("missing %q in:\n%s", want, errb.String())
		}
	}
	for _, args := range [][]string{nil, {"people"}, {"directory"}, {"directory", "a.csv", "b.csv"}} {
		if code := runImport(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("runImport(%q) = %d, want 2", args, code)
		}
	}
}

func TestRunHealthCardKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runKeys(context.Background(), append(args, "--health-card-keys", file), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run("list"); code != 0 || strings.Count(out, "(active)") != 1 {
		t.Fatalf("list: %d %s", code, out)
	}
	code, out := run("rotate")
	if code != 0 || !strings.Contains(out, "new active key") || strings.Count(out, "\n  ") != 2 {
		t.Fatalf("rotate: %d %s", code, out)
	}
	// The key that is not active any more (the listing's order is the
	// key ids', which are random).
	first := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  ") && !strings.Contains(line, "(active)") {
			first = strings.Fields(line)[0]
		}
	}
	if first == "" {
		t.Fatalf("rotate listed no retired key: %s", out)
	}
	if code, out := run("retire", first); code != 0 || strings.Contains(out, first+"\n") && strings.Count(out, "\n  ") != 1 {
		t.Fatalf("retire: %d %s", code, out)
	}
	// Key ids are base64url: one starting with "-" is a key id, not a flag.
	if code, out := run("retire", "-bYcv9PNwqsX24sq"); code != 1 || !strings.Contains(out, "-bYcv9PNwqsX24sq") {
		t.Fatalf("retire a key id starting with '-': %d %s", code, out)
	}
	if code, _ := run("retire", "unknown"); code != 1 {
		t.Fatalf("retire unknown: %d", code)
	}
	if code, _ := run("dance"); code != 2 {
		t.Fatalf("unknown verb: %d", code)
	}
}

// syncFixture imports the sample with --sync into a fresh database and
// adds an Organization through the API (an institution's own record, not
// the import's). It returns the database and a file lacking lines.
func syncFixture(t *testing.T, drop ...string) (db, short string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "x.db")
	if code, out := importDir(t, "--db", db, "--sync", "../../directory/testdata/directory.csv"); code != 0 {
		t.Fatalf("first sync: %d %s", code, out)
	}
	withServer(t, db, func(srv *server.Server) {
		_, err := srv.Transaction(context.Background(), map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
			map[string]any{"resource": map[string]any{"resourceType": "Organization", "id": "api-org", "active": true, "name": "机构自建"},
				"request": map[string]any{"method": "PUT", "url": "Organization/api-org"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	})
	data, err := os.ReadFile("../../directory/testdata/directory.csv")
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(string(data), "\n") {
		if !slices.ContainsFunc(drop, func(p string) bool { return strings.HasPrefix(line, p) }) {
			keep = append(keep, line)
		}
	}
	short = filepath.Join(dir, "short.csv")
	os.WriteFile(short, []byte(strings.Join(keep, "\n")), 0o600)
	return db, short
}

func importDir(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runImport(context.Background(), append([]string{"directory"}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

func withServer(t *testing.T, db string, fn func(*server.Server)) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DB: db, HealthCardKeyFile: filepath.Join(filepath.Dir(db), "keys.json"), Logger: newLogger(io.Discard, "warn")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fn(srv)
}

// read returns the current resource and its version.
func read(t *testing.T, srv *server.Server, typ, id string) (map[string]any, int64) {
	t.Helper()
	v, err := srv.Store().Read(context.Background(), typ, id)
	if err != nil {
		t.Fatalf("%s/%s: %v", typ, id, err)
	}
	var m map[string]any
	if err := json.Unmarshal(v.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m, v.VersionID
}

// A weekly export without a service, a consortium member and an expert:
// --dry-run says so and writes nothing; --sync ends exactly those (never
// the API's record), dated today, in the pool too; the full file again
// brings them back.
func TestImportDirectorySync(t *testing.T) {
	db, short := syncFixture(t, "service,cd-jinjiang-1-tcm-clinic,", "member,cd-zy-pairing-zy,", "expert,cdmz-pool-qc-cardio-zhang-wei,")
	today := time.Now().Format("2006-01-02")

	code, out := importDir(t, "--db", db, "--sync", "--dry-run", short)
	if code != 0 || !strings.Contains(out, "dry run, nothing written") || !strings.Contains(out, "ended: HealthcareService/cd-jinjiang-1-tcm-clinic") {
		t.Fatalf("dry run: %d %s", code, out)
	}
	if !regexp.MustCompile(`(?m)^  service +7 +0 +0 +7 +0 +1$`).MatchString(out) || !regexp.MustCompile(`(?m)^  expert +1 +0 +0 +1 +0 +1$`).MatchString(out) {
		t.Errorf("dry run counts:\n%s", out)
	}
	withServer(t, db, func(srv *server.Server) {
		if svc, v := read(t, srv, "HealthcareService", "cd-jinjiang-1-tcm-clinic"); v != 1 || svc["active"] != true {
			t.Errorf("the dry run wrote: version %d %v", v, svc["active"])
		}
	})

	if code, out := importDir(t, "--db", db, "--sync", short); code != 0 || strings.Count(out, "ended: ") != 3 {
		t.Fatalf("sync: %d %s", code, out)
	}
	withServer(t, db, func(srv *server.Server) {
		if svc, _ := read(t, srv, "HealthcareService", "cd-jinjiang-1-tcm-clinic"); svc["active"] != false {
			t.Errorf("service not ended: %v", svc)
		}
		mem, _ := read(t, srv, "OrganizationAffiliation", "cd-zy-pairing-zy")
		if mem["active"] != false || mem["period"].(map[string]any)["end"] != today || mem["period"].(map[string]any)["start"] != "2025-01-01" {
			t.Errorf("member not ended today: %v %v", mem["active"], mem["period"])
		}
		ex, _ := read(t, srv, "PractitionerRole", "cdmz-pool-qc-cardio-zhang-wei")
		if ex["active"] != false || ex["period"].(map[string]any)["end"] != today {
			t.Errorf("expert not ended: %v %v", ex["active"], ex["period"])
		}
		if pool, _ := read(t, srv, "Group", "cdmz-pool-qc-cardio"); pool["member"] != nil {
			t.Errorf("the pool still lists %v", pool["member"])
		}
		if org, v := read(t, srv, "Organization", "api-org"); v != 1 || org["active"] != true {
			t.Errorf("the API's record was touched: version %d %v", v, org)
		}
		if svc, _ := read(t, srv, "HealthcareService", "cd-jinjiang-1-outpatient"); svc["active"] != true {
			t.Errorf("a listed service was ended")
		}
		found, err := directory.NewFinder(srv.Store()).Find(context.Background(), directory.FindQuery{Lat: 30.657, Lon: 104.083, Type: "tcm-clinic", RadiusKm: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			if f.Service["id"] == "cd-jinjiang-1-tcm-clinic" {
				t.Errorf("$find offers the ended service")
			}
		}
		if len(found) == 0 {
			t.Errorf("$find found nothing near 锦江")
		}
	})

	code, out = importDir(t, "--db", db, "--sync", "../../directory/testdata/directory.csv")
	if code != 0 || !regexp.MustCompile(`(?m)^  service +8 +0 +1 +7 +1 +0$`).MatchString(out) {
		t.Fatalf("full file again: %d %s", code, out)
	}
	withServer(t, db, func(srv *server.Server) {
		mem, _ := read(t, srv, "OrganizationAffiliation", "cd-zy-pairing-zy")
		if mem["active"] != true || mem["period"].(map[string]any)["end"] != "2027-12-31" {
			t.Errorf("member not reactivated: %v %v", mem["active"], mem["period"])
		}
		if svc, _ := read(t, srv, "HealthcareService", "cd-jinjiang-1-tcm-clinic"); svc["active"] != true {
			t.Errorf("service not reactivated")
		}
		if pool, _ := read(t, srv, "Group", "cdmz-pool-qc-cardio"); len(pool["member"].([]any)) != 1 {
			t.Errorf("the pool lacks its expert again: %v", pool["member"])
		}
	})

	// Another source's sync ends none of this source's records.
	data, _ := os.ReadFile("../../directory/testdata/directory.csv")
	city := filepath.Join(t.TempDir(), "city.csv")
	os.WriteFile(city, []byte(strings.Join(strings.SplitN(string(data), "\n", 5)[:4], "\n")), 0o600)
	if code, out := importDir(t, "--db", db, "--sync", "--source", "city", city); code != 0 || strings.Contains(out, "ended: ") || !strings.Contains(out, "(source city)") {
		t.Fatalf("another source: %d %s", code, out)
	}
}

// Without --sync nothing is ended; a sync that would end more than the
// allowed share is refused and writes nothing, and --force lets it through.
func TestImportDirectorySyncSafetyStop(t *testing.T) {
	db, short := syncFixture(t, "service,", "location,")
	if code, out := importDir(t, "--db", db, short); code != 0 || strings.Contains(out, "ended: ") {
		t.Fatalf("plain import: %d %s", code, out)
	}
	withServer(t, db, func(srv *server.Server) {
		if svc, _ := read(t, srv, "HealthcareService", "dy-jingyang-1-emergency"); svc["active"] != true {
			t.Errorf("an import without --sync ended a service")
		}
	})
	code, out := importDir(t, "--db", db, "--sync", "--dry-run", short)
	if code != 1 || !strings.Contains(out, "dry run, nothing written") || !strings.Contains(out, "ended: Location/cd-jinjiang-1-loc") || !strings.Contains(out, "refused") {
		t.Errorf("dry run past the safety stop: %d %s", code, out)
	}
	code, out = importDir(t, "--db", db, "--sync", short)
	if code != 1 || !strings.Contains(out, "refused: the sync would end 14 of the 42 active records") || !strings.Contains(out, "--force") {
		t.Fatalf("safety stop: %d %s", code, out)
	}
	withServer(t, db, func(srv *server.Server) {
		if loc, v := read(t, srv, "Location", "cd-jinjiang-1-loc"); loc["status"] != "active" || v != 1 {
			t.Errorf("the refused sync wrote: %v version %d", loc["status"], v)
		}
	})
	if code, out := importDir(t, "--db", db, "--sync", "--max-end", "0.5", short); code != 0 {
		t.Fatalf("--max-end 0.5: %d %s", code, out)
	}
	withServer(t, db, func(srv *server.Server) {
		if loc, _ := read(t, srv, "Location", "cd-jinjiang-1-loc"); loc["status"] != "inactive" {
			t.Errorf("location not ended: %v", loc["status"])
		}
	})
	if code, _ := importDir(t, "--db", db, "--force", short); code != 2 {
		t.Errorf("--force without --sync: %d", code)
	}
}

// An institution updating a record between the sync's reading and its
// writing makes the whole sync fail (If-Match), leaving no row of the file
// and no other ending written.
func TestImportDirectorySyncAllOrNothing(t *testing.T) {
	db, short := syncFixture(t, "service,cd-jinjiang-1-tcm-clinic,", "service,dy-jingyang-1-emergency,")
	data, _ := os.ReadFile(short)
	changed := strings.Replace(string(data), "成都锦城第一医院门诊", "成都锦城第一医院门诊部", 1)
	withServer(t, db, func(srv *server.Server) {
		ctx := context.Background()
		tx := func(ctx context.Context, b map[string]any) (map[string]any, error) {
			svc, _ := read(t, srv, "HealthcareService", "dy-jingyang-1-emergency")
			svc["name"] = "德阳旌湖人民医院急诊科"
			if _, err := srv.Transaction(ctx, map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
				map[string]any{"resource": svc, "request": map[string]any{"method": "PUT", "url": "HealthcareService/dy-jingyang-1-emergency"}}}}); err != nil {
				t.Fatal(err)
			}
			return srv.Transaction(ctx, b)
		}
		rep, err := directory.Import(ctx, srv.Store(), tx, strings.NewReader(changed), directory.Options{Sync: true})
		if err == nil {
			t.Fatalf("the sync overwrote a record changed under it: %v", rep.EndedRefs)
		}
		if svc, _ := read(t, srv, "HealthcareService", "cd-jinjiang-1-tcm-clinic"); svc["active"] != true {
			t.Errorf("half-applied: one ending written")
		}
		if svc, _ := read(t, srv, "HealthcareService", "cd-jinjiang-1-outpatient"); svc["name"] != "成都锦城第一医院门诊" {
			t.Errorf("half-applied: a row of the file written: %v", svc["name"])
		}
		if svc, _ := read(t, srv, "HealthcareService", "dy-jingyang-1-emergency"); svc["active"] != true || svc["name"] != "德阳旌湖人民医院急诊科" {
			t.Errorf("the institution's change was lost: %v", svc)
		}
	})
}

// A closed institution (its row gone, the rest of the file as before) is
// ended by a sync: the one-code resolve there answers 422, and $find no
// longer offers its services, though the file still lists them.
func TestImportDirectorySyncClosedInstitution(t *testing.T) {
	db, short := syncFixture(t, "institution,cd-jinjiang-1,")
	var static string
	withServer(t, db, func(srv *server.Server) {
		ctx := context.Background()
		if _, err := srv.Transaction(ctx, map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
			map[string]any{"resource": map[string]any{"resourceType": "Patient", "id": "p1", "name": []any{map[string]any{"text": "王芳"}}, "gender": "female", "birthDate": "1990-02-03"},
				"request": map[string]any{"method": "PUT", "url": "Patient/p1"}}}}); err != nil {
			t.Fatal(err)
		}
		card, err := srv.HealthCards().Issue(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		static = card.Static
		if _, err := srv.HealthCards().Resolve(ctx, healthcard.ResolveRequest{Code: static, Institution: "510104001"}); err != nil {
			t.Fatalf("resolve at the open institution: %v", err)
		}
	})
	if code, out := importDir(t, "--db", db, "--sync", short); code != 0 || !strings.Contains(out, "ended: Organization/cd-jinjiang-1\n") || strings.Count(out, "ended: ") != 1 {
		t.Fatalf("sync: %d %s", code, out)
	}
	withServer(t, db, func(srv *server.Server) {
		ctx := context.Background()
		_, err := srv.HealthCards().Resolve(ctx, healthcard.ResolveRequest{Code: static, Institution: "510104001"})
		if oe := outcome.As(err); oe == nil || oe.Status != 422 || !strings.Contains(oe.Error(), "not active") {
			t.Errorf("resolve at the closed institution: %v", err)
		}
		found, err := directory.NewFinder(srv.Store()).Find(ctx, directory.FindQuery{Lat: 30.657, Lon: 104.083, RadiusKm: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			if f.Organization["id"] == "cd-jinjiang-1" {
				t.Errorf("$find offers %v of the closed institution", f.Service["id"])
			}
		}
		if len(found) == 0 {
			t.Errorf("$find found nothing near 成都")
		}
	})
}
