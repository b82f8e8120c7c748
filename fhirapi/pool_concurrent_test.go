package fhirapi_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// sendFrom is send for a goroutine other than the test's: a failed round
// trip is reported with t.Error (t.Fatal may only stop the test's own
// goroutine). gzipped sends the body gzip-encoded.
func sendFrom(t *testing.T, method, url, body string, gzipped bool) (int, map[string]any) {
	var rd io.Reader = strings.NewReader(body)
	if gzipped {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(body))
		zw.Close()
		rd = &b
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/fhir+json")
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	code, m, err := do(req)
	if err != nil {
		t.Error(err)
	}
	return code, m
}

// Concurrent writes (plain, gzip, Bundles) interleaved with failing
// bodies; every kept tree and every stored body still says its own name.
func TestPooledBodiesUnderConcurrentWrites(t *testing.T) {
	h := &keepHook{}
	base, _ := hookNode(t, h)
	patient := func(name string) string {
		return `{"resourceType":"Patient","name":[{"family":"` + name + `","given":["` + name + `"]}],"gender":"female"}`
	}
	var mu sync.Mutex
	locs := map[string]string{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				n := fmt.Sprintf("g%dn%03d%s", g, i, strings.Repeat("x", (i*37)%200))
				var code int
				var m map[string]any
				switch i % 4 {
				case 0:
					code, m = sendFrom(t, http.MethodPost, base+"/Patient", patient(n), false)
				case 1:
					code, m = sendFrom(t, http.MethodPost, base+"/Patient", patient(n), true)
				case 2:
					b := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + patient(n) +
						`,"request":{"method":"POST","url":"Patient"}}]}`
					code, m = sendFrom(t, http.MethodPost, base, b, false)
				case 3:
					// failing bodies of the same size
					sendFrom(t, http.MethodPost, base+"/Patient", patient(n)[:len(patient(n))-3]+`,,}`, false)
					sendFrom(t, http.MethodPost, base+"/Patient", strings.Replace(patient(n), "Patient", "Patientx", 1), false)
					continue
				}
				if code != 201 && code != 200 {
					t.Errorf("%s: %d %v", n, code, m)
					continue
				}
				var id string
				if m["resourceType"] == "Bundle" {
					e := m["entry"].([]any)[0].(map[string]any)
					loc := e["response"].(map[string]any)["location"].(string)
					id = strings.Split(loc, "/")[1]
				} else if m != nil {
					id, _ = m["id"].(string)
					if fam := m["name"].([]any)[0].(map[string]any)["family"]; fam != n {
						t.Errorf("response for %s says %v", n, fam)
					}
				}
				mu.Lock()
				locs[n] = id
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	h.mu.Lock()
	for _, tree := range h.trees {
		name := tree["name"].([]any)[0].(map[string]any)
		fam := name["family"].(string)
		if name["given"].([]any)[0] != fam {
			t.Errorf("kept tree mixed: %v", name)
		}
		if _, ok := locs[fam]; !ok {
			t.Errorf("kept tree names %q, never written", fam)
		}
	}
	h.mu.Unlock()
	for n, id := range locs {
		if id == "" {
			continue
		}
		code, m := send(t, http.MethodGet, base+"/Patient/"+id, "")
		if code != 200 {
			t.Errorf("read %s: %d", id, code)
			continue
		}
		if fam := m["name"].([]any)[0].(map[string]any)["family"]; fam != n {
			t.Errorf("stored %s says %v, want %s", id, fam, n)
		}
	}
	t.Logf("%d written, %d trees kept", len(locs), len(h.trees))
}
