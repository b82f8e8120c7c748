package fhirapi

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"":                         false,
		"gzip":                     true,
		"gzip, deflate, br":        true,
		"deflate, gzip;q=0":        false,
		"gzip;q=0.5":               true,
		"GZIP":                     true,
		"x-gzip":                   false,
		"deflate, gzip ;q=0":       false,
		"br;q=1, gzip;level=1;q=0": false,
		", gzip":                   true,
		"identity":                 false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// A version's headers are exact, and each value is its own: adding to one
// leaves the others as they were (they share one backing slice).
func TestVersionHeaders(t *testing.T) {
	at := time.Date(2026, 12, 6, 19, 3, 39, 30593000, time.FixedZone("CST", 8*3600))
	h := http.Header{}
	versionHeaders(h, 12, at, 831)
	want := map[string]string{"Etag": `W/"12"`, "Last-Modified": "Sun, 06 Dec 2026 11:03:39 GMT", "Content-Length": "831"}
	for k, v := range want {
		if got := h[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	h.Add("Etag", "x")
	h.Add("Last-Modified", "y")
	if h.Get("Last-Modified") != want["Last-Modified"] || h.Get("Content-Length") != want["Content-Length"] || len(h["Etag"]) != 2 {
		t.Errorf("after adding values: %v", h)
	}
	h = http.Header{}
	setVersionHeaders(headerWriter(h), 3, at)
	if h.Get("Etag") != `W/"3"` || h.Get("Last-Modified") != want["Last-Modified"] || h["Content-Length"] != nil {
		t.Errorf("setVersionHeaders: %v", h)
	}
}

type headerWriter http.Header

func (h headerWriter) Header() http.Header         { return http.Header(h) }
func (h headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (h headerWriter) WriteHeader(int)             {}

func TestJSONPatch(t *testing.T) {
	doc := func() any {
		var v any
		json.Unmarshal([]byte(`{"a":{"b":[1,2,3]},"c":"x"}`), &v)
		return v
	}
	tests := []struct {
		patch, want string
		fails       bool
	}{
		{`[{"op":"add","path":"/a/b/1","value":9}]`, `{"a":{"b":[1,9,2,3]},"c":"x"}`, false},
		{`[{"op":"add","path":"/a/b/-","value":9}]`, `{"a":{"b":[1,2,3,9]},"c":"x"}`, false},
		{`[{"op":"remove","path":"/a/b/0"}]`, `{"a":{"b":[2,3]},"c":"x"}`, false},
		{`[{"op":"replace","path":"/c","value":"y"}]`, `{"a":{"b":[1,2,3]},"c":"y"}`, false},
		{`[{"op":"move","from":"/c","path":"/d"}]`, `{"a":{"b":[1,2,3]},"d":"x"}`, false},
		{`[{"op":"copy","from":"/a/b","path":"/e"}]`, `{"a":{"b":[1,2,3]},"c":"x","e":[1,2,3]}`, false},
		{`[{"op":"test","path":"/c","value":"x"},{"op":"remove","path":"/c"}]`, `{"a":{"b":[1,2,3]}}`, false},
		{`[{"op":"test","path":"/c","value":"z"}]`, ``, true},
		{`[{"op":"replace","path":"/nope","value":1}]`, ``, true},
		{`[{"op":"remove","path":"/a/b/3"}]`, ``, true},
		{`[{"op":"add","path":"/a/b/01","value":1}]`, ``, true},
		{`[{"op":"move","from":"/a","path":"/a/x"}]`, ``, true},
		{`[{"op":"frobnicate","path":"/c"}]`, ``, true},
		{`{"op":"add"}`, ``, true},
	}
	for _, tt := range tests {
		got, err := applyJSONPatch(doc(), []byte(tt.patch))
		if tt.fails {
			if err == nil {
				t.Errorf("%s: applied, want an error", tt.patch)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.patch, err)
			continue
		}
		var want any
		json.Unmarshal([]byte(tt.want), &want)
		if !jsonEqual(normalize(got), want) {
			b, _ := json.Marshal(got)
			t.Errorf("%s: got %s, want %s", tt.patch, b, tt.want)
		}
	}
}

// normalize round-trips through JSON so numbers compare as float64.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}
