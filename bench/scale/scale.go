package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// namespace of the scaled ids: UUIDv5(namespace, "<copy>|<original fullUrl>").
var namespace = uuid.MustParse("7f3c2a10-5b1e-4c55-9a0e-0c0ffee00001")

// srcEntry is one resource of a source transaction Bundle.
type srcEntry struct {
	FullURL string // urn:uuid:...
	Type    string
	Raw     []byte
}

type srcBundle struct {
	Name    string
	Entries []srcEntry
	// For the query phase: what the bundle's patient has.
	PatientURL string
	Family     string
	Obs        []obsFact
	Encounters int
}

type obsFact struct {
	System, Code string
	Effective    string // effectiveDateTime as written
}

// loadSource reads every *.json transaction Bundle of dir, sorted by name.
func loadSource(dir string) ([]*srcBundle, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json bundles in %s", dir)
	}
	sort.Strings(files)
	var out []*srcBundle
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var b struct {
			Type  string `json:"type"`
			Entry []struct {
				FullURL  string          `json:"fullUrl"`
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		sb := &srcBundle{Name: filepath.Base(f)}
		for _, e := range b.Entry {
			var head struct {
				ResourceType string          `json:"resourceType"`
				Name         json.RawMessage `json:"name"`
				Code         struct {
					Coding []struct {
						System string `json:"system"`
						Code   string `json:"code"`
					} `json:"coding"`
				} `json:"code"`
				EffectiveDateTime string `json:"effectiveDateTime"`
			}
			if err := json.Unmarshal(e.Resource, &head); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if !strings.HasPrefix(e.FullURL, "urn:uuid:") {
				return nil, fmt.Errorf("%s: fullUrl %q is not a urn:uuid", f, e.FullURL)
			}
			sb.Entries = append(sb.Entries, srcEntry{FullURL: e.FullURL, Type: head.ResourceType, Raw: e.Resource})
			switch head.ResourceType {
			case "Patient":
				if sb.PatientURL == "" {
					sb.PatientURL = e.FullURL
					var names []struct {
						Family string `json:"family"`
					}
					if json.Unmarshal(head.Name, &names) == nil && len(names) > 0 {
						sb.Family = names[0].Family
					}
				}
			case "Observation":
				if len(head.Code.Coding) > 0 && head.EffectiveDateTime != "" {
					c := head.Code.Coding[0]
					sb.Obs = append(sb.Obs, obsFact{System: c.System, Code: c.Code, Effective: head.EffectiveDateTime})
				}
			case "Encounter":
				sb.Encounters++
			}
		}
		out = append(out, sb)
	}
	return out, nil
}

// newID is the id of the original fullUrl's resource in copy c.
func newID(c int, fullURL string) string {
	return uuid.NewSHA1(namespace, []byte(fmt.Sprintf("%d|%s", c, fullURL))).String()
}

// unit is one source bundle in one copy: the work of one worker step.
type unit struct {
	Copy   int
	Bundle *srcBundle
	// Skip marks entries already produced in this copy (the same
	// Organization or Practitioner appears in several source bundles).
	Skip []bool
}

// plan lists the units to generate until at least want resources, copy by
// copy, bundle by bundle (so the first N patients in generation order are
// the ones loaded). Resources repeated across bundles are produced once per
// copy.
func plan(src []*srcBundle, want int) (units []unit, total int) {
	for c := 0; total < want; c++ {
		seen := map[string]bool{}
		for _, b := range src {
			if total >= want {
				break
			}
			u := unit{Copy: c, Bundle: b, Skip: make([]bool, len(b.Entries))}
			for i, e := range b.Entries {
				if seen[e.FullURL] {
					u.Skip[i] = true
					continue
				}
				seen[e.FullURL] = true
				total++
			}
			units = append(units, u)
		}
	}
	return units, total
}

// rewrite replaces urn:uuid references with Type/id of this copy.
func rewrite(node any, refs map[string]string) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if k == "reference" {
				if s, ok := v.(string); ok && strings.HasPrefix(s, "urn:uuid:") {
					if r, ok := refs[s]; ok {
						n[k] = r
					}
					continue
				}
			}
			rewrite(v, refs)
		}
	case []any:
		for _, v := range n {
			rewrite(v, refs)
		}
	}
}
