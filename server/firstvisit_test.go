package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/server"
)

// fileCardNode starts a node on a SQLite file (so it has the first-visit
// journal, decision 031) and returns its FHIR base and a stop function.
func fileCardNode(t *testing.T, db string) (string, func()) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	return hs.URL + "/fhir", func() { hs.Close(); srv.Close() }
}

// An intent a crash left in the first-visit journal (the resolve
// answered, the record never reached the store) is written when the node
// starts, through the API with the EMPI: the record and the master's
// seealso link are in the store exactly once, and stay so over another
// start.
func TestFirstVisitJournalRecoveredAtStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "node.db")
	base, stop := fileCardNode(t, db)
	org := do(t, "POST", base+"/Organization", fj, institution("110112001", "110112", "通州区人民医院")).wantStatus(t, 201).str("id")
	p := do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","name":[{"text":"李娜"}],"gender":"female","birthDate":"1990-05-06"}`).wantStatus(t, 201).str("id")
	mid := masterOf(t, base, p)
	static := paramStr(do(t, "POST", base+"/Patient/"+p+"/$issue-health-card", "", "").wantStatus(t, 200), "staticCode", "valueString")
	stop()

	// What a resolve journals before it answers, as the crash left it
	// (healthcard.localIdentity: the record's id and MRN from the master
	// and the institution code).
	sum := sha256.Sum256([]byte(mid + "|110112001"))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	local, mrn := "ehc-"+strings.ToLower(h[:40]), "HC"+h[:16]
	line, _ := json.Marshal(map[string]any{"op": "intent", "intent": map[string]any{
		"id": "crash-1", "master": mid, "masterVersion": 1, "org": org, "orgName": "通州区人民医院", "instCode": "110112001",
		"mrnSystem": "https://xietong.dev/fhir/sid/mrn/110112001", "local": local, "mrn": mrn,
		"principal": map[string]any{"Subject": "his-110112001", "Role": "clinician", "Organization": org}, "at": time.Now().UTC()}})
	dir := db + ".health-card-uses"
	if err := os.WriteFile(filepath.Join(dir, "visits.jsonl"), append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}

	for start := range 2 {
		base, stop := fileCardNode(t, db)
		lp := do(t, "GET", base+"/Patient/"+local, "", "").wantStatus(t, 200)
		if lp.str("identifier", 0, "value") != mrn || lp.str("link", 0, "other", "reference") != "Patient/"+mid || lp.str("meta", "versionId") != "1" {
			t.Fatalf("start %d: the recovered record: %s", start, lp.body)
		}
		if hist := do(t, "GET", base+"/Patient/"+local+"/_history", "", "").wantStatus(t, 200); hist.str("total") != "1" {
			t.Fatalf("start %d: the record's history: %s", start, hist.body)
		}
		m := do(t, "GET", base+"/Patient/"+mid, "", "").wantStatus(t, 200)
		if n := strings.Count(strings.Join(links(m, "seealso"), " "), "Patient/"+local); n != 1 {
			t.Fatalf("start %d: the master links the record %d times: %s", start, n, m.body)
		}
		if all := do(t, "GET", base+"/Patient?identifier=https://xietong.dev/fhir/sid/mrn/110112001|"+mrn, "", "").wantStatus(t, 200); all.str("total") != "1" {
			t.Fatalf("start %d: search by the MRN: %s", start, all.body)
		}
		r := do(t, "POST", base+"/Patient/$resolve-health-card", fj, resolveBody(static, "110112001")).wantStatus(t, 200)
		if paramStr(r, "created", "valueBoolean") != "false" || paramStr(r, "localPatient", "valueReference") != "Patient/"+local || paramStr(r, "mrn", "valueIdentifier") != mrn {
			t.Fatalf("start %d: resolve after recovery: %s", start, r.body)
		}
		stop()
	}
}

// Right after a first visit answers, a client reads the record, finds it
// by its MRN and posts an Observation about it: the reads wait for the
// pending record (firstVisitReads), and the write is accepted whether or
// not the record is in the store yet (no write path refuses a reference to
// a Patient it does not hold).
func TestFirstVisitRecordUsableRightAfterTheAnswer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "node.db")
	base, stop := fileCardNode(t, db)
	defer stop()
	do(t, "POST", base+"/Organization", fj, institution("110112001", "110112", "通州区人民医院")).wantStatus(t, 201)
	for i, name := range []string{"张伟", "王芳", "刘洋", "陈静"} {
		p := do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","name":[{"text":"`+name+`"}],"gender":"male","birthDate":"198`+string(rune('0'+i))+`-01-02"}`).wantStatus(t, 201).str("id")
		static := paramStr(do(t, "POST", base+"/Patient/"+p+"/$issue-health-card", "", "").wantStatus(t, 200), "staticCode", "valueString")
		r := do(t, "POST", base+"/Patient/$resolve-health-card", fj, resolveBody(static, "110112001")).wantStatus(t, 200)
		local, mrn := paramStr(r, "localPatient", "valueReference"), paramStr(r, "mrn", "valueIdentifier")
		if paramStr(r, "created", "valueBoolean") != "true" {
			t.Fatalf("first visit: %s", r.body)
		}
		obs := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"` + local + `"},"valueQuantity":{"value":13.2,"unit":"g/dL"}}`
		do(t, "POST", base+"/Observation", fj, obs).wantStatus(t, 201)
		do(t, "GET", base+"/"+local, "", "").wantStatus(t, 200)
		if all := do(t, "GET", base+"/Patient?identifier=https://xietong.dev/fhir/sid/mrn/110112001|"+mrn, "", "").wantStatus(t, 200); all.str("total") != "1" {
			t.Fatalf("search by the MRN right after the answer: %s", all.body)
		}
	}
}
