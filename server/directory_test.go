package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xietong/xietong/directory"
	"github.com/xietong/xietong/directory/vocab"
	"github.com/xietong/xietong/server"
)

func directoryNode(t *testing.T, db string) (*server.Server, string) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DB: db, HealthCardKeyFile: filepath.Join(t.TempDir(), "keys.json"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return srv, hs.URL + "/fhir"
}

// The sample directory imports in one transaction on both stores; a file
// with a bad row imports nothing; the finder sorts services by distance.
func TestDirectoryImportAndFind(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			srv, base := directoryNode(t, st.dsn(t))
			ctx := context.Background()
			f, err := os.Open("../directory/testdata/directory.csv")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			plan, err := srv.ImportDirectory(ctx, f)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if len(plan.Rows) != 42 {
				t.Fatalf("%d rows imported", len(plan.Rows))
			}
			org := do(t, "GET", base+"/Organization/cd-jinjiang-1", "", "").wantStatus(t, 200)
			if org.str("identifier", 0, "value") != "510104001" || org.str("type", 1, "coding", 0, "code") != "general-hospital" {
				t.Fatalf("institution: %s", org.body)
			}
			// Regional registration: one practitioner, roles in two cities
			// (and a third as an expert of a pool).
			roles := do(t, "GET", base+"/PractitionerRole?practitioner=Practitioner/pr-zhang-wei", "", "").wantStatus(t, 200)
			if roles.str("total") != "3" {
				t.Fatalf("roles: %s", roles.body)
			}
			// Both identifiers, the division, kind and grade; departments
			// partOf their institution; a pairing's two sides with their
			// roles and period; Locations found by near.
			if org.str("identifier", 1, "system") != vocab.SystemUSCC || org.str("identifier", 1, "value") != "12510104450000008X" ||
				org.str("address", 0, "extension", 0, "valueCoding", "code") != "510104" || org.str("type", 2, "coding", 0, "code") != "3A" {
				t.Fatalf("institution: %s", org.body)
			}
			depts := do(t, "GET", base+"/Organization?partof=Organization/cd-jinjiang-1", "", "").wantStatus(t, 200)
			if depts.str("total") != "1" || depts.str("entry", 0, "resource", "id") != "cd-jinjiang-1-d0304" {
				t.Fatalf("departments: %s", depts.body)
			}
			pairing := do(t, "GET", base+"/OrganizationAffiliation?primary-organization=Organization/cd-zy-pairing&_sort=_id", "", "").wantStatus(t, 200)
			if pairing.str("total") != "2" || pairing.str("entry", 0, "resource", "code", 0, "coding", 0, "code") != "supporting" ||
				pairing.str("entry", 1, "resource", "code", 0, "coding", 0, "code") != "supported" || pairing.str("entry", 1, "resource", "period", "end") != "2027-12-31" {
				t.Fatalf("pairing: %s", pairing.body)
			}
			near := do(t, "GET", base+"/Location?near=30.660|104.060|2|km", "", "").wantStatus(t, 200)
			if near.str("total") != "1" || near.str("entry", 0, "resource", "id") != "cd-qingyang-tcm-loc" {
				t.Fatalf("Locations within 2 km: %s", near.body)
			}
			if near := do(t, "GET", base+"/Location?near=30.660|104.060|3|km", "", "").wantStatus(t, 200); near.str("total") != "3" {
				t.Fatalf("Locations within 3 km: %s", near.body)
			}

			// Expert pools: a Group of experts with their hours.
			pools := do(t, "GET", base+"/Group?code="+vocab.SystemExpertPoolKind+"|consultation", "", "").wantStatus(t, 200)
			if pools.str("total") != "1" || pools.str("entry", 0, "resource", "member", 0, "entity", "reference") != "PractitionerRole/cdmz-pool-consult-tcm-ouyang-lan" {
				t.Fatalf("consultation pools: %s", pools.body)
			}
			expert := do(t, "GET", base+"/PractitionerRole/cdmz-pool-consult-tcm-ouyang-lan", "", "").wantStatus(t, 200)
			if expert.str("availableTime", 1, "daysOfWeek", 0) != "sat" || expert.str("specialty", 0, "coding", 0, "code") != "50" {
				t.Fatalf("expert: %s", expert.body)
			}
			members := do(t, "GET", base+"/OrganizationAffiliation?primary-organization=Organization/cdmz-tcm-alliance", "", "").wantStatus(t, 200)
			if members.str("total") != "4" {
				t.Fatalf("alliance members: %s", members.body)
			}

			// All or nothing: a file whose last row names an unknown
			// institution writes none of its rows.
			bad := "kind,id,name,code,uscc,division,type,organization,lat,lon\n" +
				"institution,new-h,新医院,510104009,12510104450000008X,510104,general-hospital,,,\n" +
				"location,new-loc,新院区,,,510104,,no-such-org,30.6,104.0\n"
			_, err = srv.ImportDirectory(ctx, strings.NewReader(bad))
			var errs directory.Errors
			if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Row != 3 || errs[0].Column != "organization" {
				t.Fatalf("bad file: %v", err)
			}
			do(t, "GET", base+"/Organization/new-h", "", "").wantStatus(t, 404)
			// An institution code already taken by another Organization.
			dup := "kind,id,name,code,uscc,division,type\ninstitution,other-h,另一医院,510104001,12510104450000008X,510104,general-hospital\n"
			if _, err = srv.ImportDirectory(ctx, strings.NewReader(dup)); !errors.As(err, &errs) || errs[0].Column != "code" {
				t.Fatalf("duplicate code: %v", err)
			}

			// The finder: TCM clinics near 青羊 (30.660, 104.060).
			find := func(q string) *response {
				return do(t, "GET", base+"/HealthcareService/$find?lat=30.660&lon=104.060&"+q, "", "").wantStatus(t, 200)
			}
			matches := func(r *response) (ids []string, dists []float64) {
				for i := 0; r.str("entry", i) != ""; i++ {
					if r.str("entry", i, "search", "mode") != "match" {
						continue
					}
					ids = append(ids, r.str("entry", i, "resource", "id"))
					d, err := strconv.ParseFloat(r.str("entry", i, "search", "extension", 0, "valueDistance", "value"), 64)
					if err != nil || r.str("entry", i, "search", "extension", 0, "url") != directory.ExtLocationDistance {
						t.Fatalf("entry %d has no distance: %s", i, r.body)
					}
					dists = append(dists, d)
				}
				return
			}
			r := find("type=tcm-clinic")
			ids, dists := matches(r)
			want := []string{"cd-qingyang-tcm-tcm-clinic", "cd-jinjiang-1-tcm-clinic", "cd-qingyang-chc-tcm-clinic"}
			if strings.Join(ids, ",") != strings.Join(want, ",") {
				t.Fatalf("TCM clinics within 50 km: %v, want %v", ids, want)
			}
			if dists[0] < 1.4 || dists[0] > 1.7 || dists[1] < 2.0 || dists[1] > 2.4 || dists[2] < 2.7 || dists[2] > 3.1 {
				t.Fatalf("distances %v", dists)
			}
			if !strings.Contains(string(r.body), `"resourceType":"Location"`) || r.str("total") != "3" {
				t.Fatalf("no included Locations: %s", r.body)
			}
			// A wider radius reaches 眉山 (about 73 km); kind and city filter.
			if ids, _ := matches(find("type=tcm-clinic&radius=100")); len(ids) != 4 || ids[3] != "ms-dongpo-tcm-tcm-clinic" {
				t.Fatalf("radius 100: %v", ids)
			}
			if ids, _ := matches(find("type=tcm-clinic&radius=100&kind=tcm-hospital")); strings.Join(ids, ",") != "cd-qingyang-tcm-tcm-clinic,ms-dongpo-tcm-tcm-clinic" {
				t.Fatalf("kind tcm-hospital: %v", ids)
			}
			if ids, _ := matches(find("radius=200&city=511400")); strings.Join(ids, ",") != "ms-dongpo-tcm-tcm-clinic" {
				t.Fatalf("city 511400: %v", ids)
			}
			// _pretty is every interaction's, $find's too (it was refused as unknown).
			if ids, _ := matches(find("radius=200&city=511400&_pretty=true")); strings.Join(ids, ",") != "ms-dongpo-tcm-tcm-clinic" {
				t.Fatalf("city 511400, _pretty: %v", ids)
			}
			if ids, _ := matches(find("specialty=50&count=2")); len(ids) != 2 || ids[0] != "cd-qingyang-tcm-acupuncture" && ids[0] != "cd-qingyang-tcm-tcm-clinic" {
				t.Fatalf("specialty 50, count 2: %v", ids)
			}
			for _, q := range []string{"lat=30.6", "lat=100&lon=104", "lat=30&lon=abc", "lat=30&lon=104&kind=castle", "lat=30&lon=104&count=0", "lat=30&lon=104&radius=-1"} {
				do(t, "GET", base+"/HealthcareService/$find?"+q, "", "").wantStatus(t, 400)
			}
		})
	}
}
