package server_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func link(r *response, rel string) string {
	links, _ := r.json["link"].([]any)
	for _, l := range links {
		m, _ := l.(map[string]any)
		if m["relation"] == rel {
			u, _ := m["url"].(string)
			return u
		}
	}
	return ""
}

func entryIDs(r *response) []string {
	var ids []string
	entries, _ := r.json["entry"].([]any)
	for _, e := range entries {
		res, _ := e.(map[string]any)["resource"].(map[string]any)
		ids = append(ids, fmt.Sprint(res["resourceType"], "/", res["id"]))
	}
	return ids
}

// A page's self link names that page: following it gives the same
// entries (it named the first page on every page of a search, a history
// and $everything).
func TestTrialSelfLinkNamesThePage(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "paging.db"))
	var tx strings.Builder
	tx.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:8f0e2a3c-1f1e-4c3b-9d5e-2a4c6b8d0e1f","resource":{"resourceType":"Patient","id":"x"},"request":{"method":"PUT","url":"Patient/pg"}}`)
	for i := range 7 {
		fmt.Fprintf(&tx, `,{"resource":{"resourceType":"Observation","status":"final","code":{"text":"n%d"},"subject":{"reference":"Patient/pg"},"performer":[{"reference":"Organization/org%d"}]},"request":{"method":"POST","url":"Observation"}}`, i, i%2)
	}
	tx.WriteString(`,{"resource":{"resourceType":"Organization","id":"org0","name":"Zero"},"request":{"method":"PUT","url":"Organization/org0"}}`)
	tx.WriteString(`,{"resource":{"resourceType":"Organization","id":"org1","name":"One"},"request":{"method":"PUT","url":"Organization/org1"}}]}`)
	do(t, "POST", base, fj, strings.Replace(tx.String(), `"id":"x"`, `"id":"pg"`, 1)).wantStatus(t, 200)

	for _, path := range []string{"/Observation?_count=3", "/Observation/_history?_count=3", "/Patient/pg/$everything?_count=3"} {
		first := do(t, "GET", base+path, "", "").wantStatus(t, 200)
		next := link(first, "next")
		if next == "" {
			t.Fatalf("%s: no next link", path)
		}
		second := do(t, "GET", next, "", "").wantStatus(t, 200)
		self := link(second, "self")
		if u, _ := url.Parse(self); u == nil || u.Query().Get("_cursor") == "" {
			t.Errorf("%s: page 2's self link %s has no cursor", path, self)
			continue
		}
		again := do(t, "GET", self, "", "").wantStatus(t, 200)
		if a, b := entryIDs(second), entryIDs(again); !slices.Equal(a, b) || slices.Equal(a, entryIDs(first)) {
			t.Errorf("%s: page 2 %v, its self link gives %v (page 1 %v)", path, a, b, entryIDs(first))
		}
	}
}

// $everything with _type returns only those types: it added the
// Organizations the Observations refer to whatever _type said.
func TestTrialEverythingTypeLimitsIncludes(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "everything.db"))
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Patient","id":"ev"},"request":{"method":"PUT","url":"Patient/ev"}},
	 {"resource":{"resourceType":"Organization","id":"lab","name":"Lab"},"request":{"method":"PUT","url":"Organization/lab"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/ev"},"performer":[{"reference":"Organization/lab"}]},"request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Condition","subject":{"reference":"Patient/ev"}},"request":{"method":"POST","url":"Condition"}}]}`
	do(t, "POST", base, fj, tx).wantStatus(t, 200)
	types := func(q string) []string {
		var out []string
		for _, id := range entryIDs(do(t, "GET", base+"/Patient/ev/$everything"+q, "", "").wantStatus(t, 200)) {
			typ, _, _ := strings.Cut(id, "/")
			if !slices.Contains(out, typ) {
				out = append(out, typ)
			}
		}
		slices.Sort(out)
		return out
	}
	for q, want := range map[string][]string{
		"":                                   {"Condition", "Observation", "Organization", "Patient"},
		"?_type=Observation":                 {"Observation"},
		"?_type=Observation,Organization":    {"Observation", "Organization"},
		"?_type=Observation&_type=Condition": {"Condition", "Observation"},
		"?_type=Condition,%20Patient":        {"Condition", "Patient"},
	} {
		if got := types(q); !slices.Equal(got, want) {
			t.Errorf("$everything%s: types %v, want %v", q, got, want)
		}
	}
}

// Issue 4 asks for next, previous and self links; there was no previous
// link (fhir-kit-client's prevPage found nothing). Walking forward with
// next and back with previous gives the same pages, on both stores, also
// sorted, and a page 1 has no previous link.
func TestTrialPreviousLink(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		for i := range 7 {
			do(t, "POST", base+"/Patient", fj, fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":"P%d"}],"birthDate":"19%d0-01-01"}`, i, 7-i)).wantStatus(t, 201)
		}
		for _, q := range []string{"/Patient?_count=2", "/Patient?_count=2&_sort=-birthdate", "/Patient?name=P&_count=3&_sort=family", "/Patient?_count=3&_sort=gender,-family"} {
			var pages []*response
			for r := do(t, "GET", base+q, "", "").wantStatus(t, 200); ; {
				pages = append(pages, r)
				next := link(r, "next")
				if next == "" {
					break
				}
				r = do(t, "GET", next, "", "").wantStatus(t, 200)
			}
			if len(pages) < 3 {
				t.Fatalf("%s: %d pages", q, len(pages))
			}
			if p := link(pages[0], "previous"); p != "" {
				t.Errorf("%s: page 1 has a previous link %s", q, p)
			}
			for i := len(pages) - 1; i > 0; i-- {
				prev := link(pages[i], "previous")
				if prev == "" {
					t.Fatalf("%s: page %d has no previous link", q, i+1)
				}
				back := do(t, "GET", prev, "", "").wantStatus(t, 200)
				if got, want := entryIDs(back), entryIDs(pages[i-1]); !slices.Equal(got, want) {
					t.Errorf("%s: previous of page %d gives %v, page %d was %v", q, i+1, got, i, want)
				}
				// and from there forward again
				if i > 0 {
					if fwd := link(back, "next"); fwd == "" || !slices.Equal(entryIDs(do(t, "GET", fwd, "", "").wantStatus(t, 200)), entryIDs(pages[i])) {
						t.Errorf("%s: next of the page before page %d is not page %d", q, i+1, i+1)
					}
				}
			}
		}
	})
}

// A cursor the server did not issue is a 400 that names _cursor and says
// to follow the next link (it read "search: invalid request: bad cursor").
func TestTrialBadCursor(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "cursor.db"))
	for _, q := range []string{"/Patient?_cursor=garbage", "/Patient?_sort=birthdate&_cursor=eyJrIjpbXSwiciI6MjE4MX0"} {
		r := do(t, "GET", base+q, "", "").wantStatus(t, 400)
		if d := r.diagnostics(); !strings.Contains(d, "_cursor") || !strings.Contains(d, "next link") {
			t.Errorf("%s: %s", q, d)
		}
	}
}

// A history parameter ignored under lenient handling is not in the links
// (the self link said ?foo=1 as if it had been used).
func TestTrialHistoryIgnoredParameterNotInLinks(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "hist.db"))
	do(t, "PUT", base+"/Patient/h", fj, `{"resourceType":"Patient","id":"h"}`).wantStatus(t, 201)
	do(t, "PUT", base+"/Patient/h", fj, `{"resourceType":"Patient","id":"h","active":true}`).wantStatus(t, 200)
	r := do(t, "GET", base+"/Patient/h/_history?foo=1&_count=1", "", "").wantStatus(t, 200)
	for _, rel := range []string{"self", "next"} {
		if l := link(r, rel); l == "" || strings.Contains(l, "foo") || !strings.Contains(l, "_count=1") {
			t.Errorf("%s link %q", rel, l)
		}
	}
	do(t, "GET", base+"/Patient/h/_history?foo=1", "", "", "Prefer", "handling=strict").wantStatus(t, 400)
}

// The previous link stays correct while data changes: matches written
// before the page meanwhile neither shift it nor repeat in it (it was a
// position, _offset, and went back to the wrong rows). Practitioners: a
// Patient would bring its EMPI master, of the same name, into the pages.
func TestPreviousLinkWhileDataChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		for i := range 7 {
			do(t, "POST", base+"/Practitioner", fj, fmt.Sprintf(`{"resourceType":"Practitioner","name":[{"family":"P%d"}]}`, i)).wantStatus(t, 201)
		}
		families := func(r *response) []string {
			var out []string
			for i := 0; r.str("entry", i) != ""; i++ {
				out = append(out, r.str("entry", i, "resource", "name", 0, "family"))
			}
			return out
		}
		p1 := do(t, "GET", base+"/Practitioner?name=P&_count=3&_sort=family", "", "").wantStatus(t, 200)
		p2 := do(t, "GET", link(p1, "next"), "", "").wantStatus(t, 200)
		p3 := do(t, "GET", link(p2, "next"), "", "").wantStatus(t, 200)
		if got := families(p3); !slices.Equal(got, []string{"P6"}) {
			t.Fatalf("page 3: %v (pages 1, 2: %v %v)", got, families(p1), families(p2))
		}
		// Two patients that sort into page 1, and one of page 1 deleted.
		do(t, "POST", base+"/Practitioner", fj, `{"resourceType":"Practitioner","name":[{"family":"P0a"}]}`).wantStatus(t, 201)
		do(t, "POST", base+"/Practitioner", fj, `{"resourceType":"Practitioner","name":[{"family":"P0b"}]}`).wantStatus(t, 201)
		do(t, "DELETE", base+"/Practitioner/"+p1.str("entry", 0, "resource", "id"), "", "").wantStatus(t, 204)
		back := do(t, "GET", link(p3, "previous"), "", "").wantStatus(t, 200)
		if got := families(back); !slices.Equal(got, []string{"P3", "P4", "P5"}) {
			t.Fatalf("previous of page 3 after changes before it: %v, want [P3 P4 P5]", got)
		}
		first := do(t, "GET", link(back, "previous"), "", "").wantStatus(t, 200)
		if got := families(first); !slices.Equal(got, []string{"P0b", "P1", "P2"}) {
			t.Fatalf("previous again: %v, want [P0b P1 P2]", got)
		}
		if link(first, "previous") == "" {
			t.Fatal("P0a is still before: a previous link is due")
		}
		if got := families(do(t, "GET", link(first, "previous"), "", "").wantStatus(t, 200)); !slices.Equal(got, []string{"P0a"}) {
			t.Fatalf("first page now: %v, want [P0a]", got)
		}
		if got := families(do(t, "GET", link(first, "next"), "", "").wantStatus(t, 200)); !slices.Equal(got, []string{"P3", "P4", "P5"}) {
			t.Fatalf("next after going back: %v", got)
		}
	})
}
