package console_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// itemID finds the ActivityDefinition of a catalogue item.
func itemID(t *testing.T, code string) string {
	t.Helper()
	b := api(t, "/ActivityDefinition?_count=1000")
	for _, e := range b["entry"].([]any) {
		r := e.(map[string]any)["resource"].(map[string]any)
		for _, c := range r["code"].(map[string]any)["coding"].([]any) {
			co := c.(map[string]any)
			if co["system"] == "https://xietong.dev/fhir/CodeSystem/recognition-item" && co["code"] == code {
				return r["id"].(string)
			}
		}
	}
	t.Fatalf("no catalogue item %s", code)
	return ""
}

// apiPut writes a resource as the demo administrator.
func apiPut(t *testing.T, path string, res map[string]any) {
	t.Helper()
	body, _ := json.Marshal(res)
	req, _ := http.NewRequest(http.MethodPut, node(t).URL+"/fhir"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %d", path, resp.StatusCode)
	}
}

// itemRule reads windowDays or the price of an item from the API.
func itemRule(ad map[string]any, name string) string {
	for _, e := range ad["extension"].([]any) {
		for _, x := range e.(map[string]any)["extension"].([]any) {
			xo := x.(map[string]any)
			if xo["url"] == name {
				switch name {
				case "windowDays":
					return xo["valueInteger"].(json.Number).String()
				case "price":
					return xo["valueMoney"].(map[string]any)["value"].(json.Number).String()
				}
			}
		}
	}
	return ""
}

func TestCatalogueEditing(t *testing.T) {
	id := itemID(t, "US-THYROID")
	orig := api(t, "/ActivityDefinition/"+id)
	t.Cleanup(func() {
		cur := api(t, "/ActivityDefinition/"+id)
		orig["meta"] = cur["meta"]
		apiPut(t, "/ActivityDefinition/"+id, orig)
	})

	t.Run("read only for other roles", func(t *testing.T) {
		for _, role := range []string{"clinician", "commission", "viewer"} {
			b := newBrowser(t).as(role, "demo-org-110112001")
			d := b.page("/recognition")
			d.one(t, "#catalogue tr[data-item="+id+"] a[href=/recognition/items/"+id+"]")
			if len(d.all("#catalogue a.edit")) != 0 {
				t.Errorf("%s: edit links on the catalogue", role)
			}
			d = b.page("/recognition/items/" + id)
			if len(d.all("form#item-form")) != 0 {
				t.Errorf("%s: the item form is offered", role)
			}
			d.one(t, "#item-facts dd.window")
			if resp := b.post("/recognition/items/"+id, url.Values{"windowDays": {"1"}, "price": {"1"}, "codes": {"http://loinc.org|1-1"}}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s posts an item: %d, want 403", role, resp.StatusCode)
			}
			if resp := b.post("/recognition/memberships", url.Values{"org": {"demo-org-110112001"}, "programme": {"jjj-lab"}, "start": {"2026-01-01"}}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s adds a membership: %d, want 403", role, resp.StatusCode)
			}
			if resp := b.post("/recognition/eqa", url.Values{"org": {"demo-org-110112001"}, "item": {"K"}, "year": {"2026"}, "outcome": {"fail"}, "date": {"2026-10-01"}}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s records an EQA result: %d, want 403", role, resp.StatusCode)
			}
			if d := b.page("/recognition/qualifications"); len(d.all("form[method=post]")) != 0 {
				t.Errorf("%s: forms that change qualifications", role)
			}
		}
		if got := itemRule(api(t, "/ActivityDefinition/"+id), "windowDays"); got != itemRule(orig, "windowDays") {
			t.Errorf("a refused post changed the window to %s", got)
		}
	})

	admin := newBrowser(t).as("admin", "")
	t.Run("bad input is explained and the values kept", func(t *testing.T) {
		for _, tc := range []struct {
			name                 string
			window, price, codes string
		}{
			{"window not a number", "thirty", "40", "http://loinc.org|24467-3"},
			{"negative price", "30", "-5", "http://loinc.org|24467-3"},
			{"code line without a system", "30", "40", "24467-3"},
			{"no codes", "30", "40", "  \n "},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body, _ := admin.get("/recognition/items/" + id) // the form is there
				if status != 200 || !strings.Contains(body, `id="item-form"`) {
					t.Fatalf("item page: %d", status)
				}
				req, _ := http.NewRequest(http.MethodPost, admin.base+"/recognition/items/"+id, strings.NewReader(url.Values{"windowDays": {tc.window}, "price": {tc.price}, "codes": {tc.codes}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp := admin.do(req)
				defer resp.Body.Close()
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", resp.StatusCode)
				}
				d := parseHTML(t, buf.String())
				if len(d.all("#form-errors li")) == 0 {
					t.Error("no error shown")
				}
				if v, _ := attr(d.one(t, "input#item-window"), "value"); v != tc.window {
					t.Errorf("window field %q, want the typed %q", v, tc.window)
				}
				if v, _ := attr(d.one(t, "input#item-price"), "value"); v != tc.price {
					t.Errorf("price field %q, want the typed %q", v, tc.price)
				}
			})
		}
		if got := itemRule(api(t, "/ActivityDefinition/"+id), "windowDays"); got != itemRule(orig, "windowDays") {
			t.Errorf("a rejected form changed the window to %s", got)
		}
	})

	t.Run("an administrator changes window, price and codes", func(t *testing.T) {
		resp := admin.post("/recognition/items/"+id, url.Values{"windowDays": {"45"}, "price": {"88.5"}, "codes": {"http://loinc.org|24467-3\nhttps://xietong.dev/fhir/CodeSystem/local-imaging|US-THY\n"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/recognition/items/"+id+"?saved=1" {
			t.Fatalf("save: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		ad := api(t, "/ActivityDefinition/"+id)
		if itemRule(ad, "windowDays") != "45" || itemRule(ad, "price") != "88.5" {
			t.Errorf("stored window %s, price %s", itemRule(ad, "windowDays"), itemRule(ad, "price"))
		}
		var codes []string
		for _, c := range ad["code"].(map[string]any)["coding"].([]any) {
			co := c.(map[string]any)
			codes = append(codes, co["system"].(string)+"|"+co["code"].(string))
		}
		if len(codes) != 3 || codes[0] != "https://xietong.dev/fhir/CodeSystem/recognition-item|US-THYROID" || codes[2] != "https://xietong.dev/fhir/CodeSystem/local-imaging|US-THY" {
			t.Errorf("stored codes %v", codes)
		}
		d := admin.page("/recognition/items/" + id + "?saved=1")
		d.one(t, "#item-saved")
		d = admin.page("/recognition")
		if got := text(d.one(t, "#catalogue tr[data-item="+id+"] td.window")); got != "45" {
			t.Errorf("catalogue shows window %q", got)
		}
	})
}

func TestQualificationsEditing(t *testing.T) {
	admin := newBrowser(t).as("admin", "")
	d := admin.page("/recognition/qualifications")
	d.one(t, "form#member-form")
	d.one(t, "form#eqa-form")
	if len(d.all("#memberships tr.membership")) == 0 {
		t.Fatal("no programme members listed")
	}
	// an institution in no programme (a community centre in the demo)
	org := ""
	for _, o := range d.all("select#member-org option") {
		if v, _ := attr(o, "value"); v != "" && len(d.all("#memberships tr.membership[data-org="+v+"]")) == 0 {
			org = v
			break
		}
	}
	if org == "" {
		t.Fatal("every institution is a member already")
	}

	t.Run("bad membership form", func(t *testing.T) {
		resp := admin.post("/recognition/memberships", url.Values{"org": {org}, "programme": {"jjj-lab"}, "start": {"2026-13-40"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("bad date: %d, want 400", resp.StatusCode)
		}
		resp = admin.post("/recognition/memberships", url.Values{"org": {org}, "programme": {"no-such"}, "start": {"2026-01-01"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("unknown programme: %d, want 400", resp.StatusCode)
		}
	})

	resp := admin.post("/recognition/memberships", url.Values{"org": {org}, "programme": {"jjj-lab"}, "start": {"2026-03-01"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add member: %d", resp.StatusCode)
	}
	d = admin.page("/recognition/qualifications?done=added")
	d.one(t, "#qual-done[data-done=added]")
	row := d.one(t, "#memberships tr.membership[data-org="+org+"][data-programme=jjj-lab]")
	oaID, _ := attr(row, "data-id")
	oa := api(t, "/OrganizationAffiliation/"+oaID)
	if oa["period"].(map[string]any)["start"] != "2026-03-01" {
		t.Errorf("stored period %v", oa["period"])
	}

	if resp := admin.post("/recognition/memberships/"+oaID+"/withdraw", url.Values{"end": {"2026-02-01"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("withdraw before joining: %d, want 400", resp.StatusCode)
	}
	if resp := admin.post("/recognition/memberships/"+oaID+"/withdraw", url.Values{"end": {"2026-09-30"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", resp.StatusCode)
	}
	if end := api(t, "/OrganizationAffiliation/"+oaID)["period"].(map[string]any)["end"]; end != "2026-09-30" {
		t.Errorf("stored end %v", end)
	}

	if resp := admin.post("/recognition/eqa", url.Values{"org": {org}, "item": {"K"}, "year": {"20x6"}, "outcome": {"pass"}, "date": {"2026-10-01"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad year: %d, want 400", resp.StatusCode)
	}
	resp = admin.post("/recognition/eqa", url.Values{"org": {org}, "item": {"K"}, "year": {"2026"}, "outcome": {"pass"}, "date": {"2026-10-01"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("record EQA: %d", resp.StatusCode)
	}
	d = admin.page(resp.Header.Get("Location"))
	if got := text(d.one(t, "#eqa-summary[data-org="+org+"] b.pass")); got != "1" {
		t.Errorf("EQA passes of %s: %q", org, got)
	}
	if got := text(d.one(t, "#eqa-results tbody tr td.outcome")); got != "合格" {
		t.Errorf("EQA outcome %q", got)
	}
}
