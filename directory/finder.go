package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/xietong/xietong/directory/vocab"
	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
	"github.com/xietong/xietong/store"
)

// ExtLocationDistance is the standard R4 extension on Bundle.entry.search
// carrying the distance of a near search (valueDistance).
const ExtLocationDistance = "http://hl7.org/fhir/StructureDefinition/location-distance"

// Finder answers "which services are near me": HealthcareServices of the
// store with a Location that has coordinates, filtered and sorted by
// great-circle distance.
type Finder struct {
	st store.Reader
	// Base is the absolute FHIR base for fullUrl ("" derives it from the
	// request).
	Base string
}

// NewFinder builds a Finder over a store.
func NewFinder(st store.Reader) *Finder { return &Finder{st: st} }

// FindQuery is a finder request.
type FindQuery struct {
	Lat, Lon  float64
	Type      string  // a service category or type code (e.g. tcm-clinic), "" for any
	Specialty string  // a specialty code (e.g. 50 中医科), "" for any
	City      string  // a GB/T 2260 code (a prefecture code ending 00 matches its districts) or a city or district name
	Kind      string  // the providing institution's kind (e.g. tcm-hospital), "" for any
	RadiusKm  float64 // 0: DefaultRadiusKm
	Count     int     // 0: DefaultCount
}

// Limits of the finder.
const (
	DefaultRadiusKm = 50
	MaxRadiusKm     = 20000
	DefaultCount    = 10
	MaxCount        = 100
)

// Found is one answer.
type Found struct {
	Service      map[string]any
	Location     map[string]any
	Organization map[string]any // nil when not in the store
	DistanceKm   float64
}

// HaversineKm is the great-circle distance in kilometres between two
// points given in degrees (mean Earth radius 6371.0088 km).
func HaversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// Find runs a query: every active HealthcareService matching the type and
// specialty (an indexed search), with its Locations and providing
// Organization (included in the same query), is kept when a Location lies
// within the radius and matches the city and the Organization the kind;
// the nearest first (ties by name), at most Count.
func (f *Finder) Find(ctx context.Context, q FindQuery) ([]Found, error) {
	if q.RadiusKm <= 0 {
		q.RadiusKm = DefaultRadiusKm
	}
	if q.Count <= 0 {
		q.Count = DefaultCount
	}
	sq := &store.Query{Types: []string{"HealthcareService"}, Count: 1000, Total: store.TotalNone,
		Include: []store.Include{
			{SourceType: "HealthcareService", Param: "location", TargetType: "Location"},
			{SourceType: "HealthcareService", Param: "organization", TargetType: "Organization"},
		}}
	if q.Type != "" {
		sq.Where = append(sq.Where, store.Clause{
			{Param: "service-category", Type: store.TypeToken, AnySystem: true, Code: q.Type},
			{Param: "service-type", Type: store.TypeToken, AnySystem: true, Code: q.Type},
		})
	}
	if q.Specialty != "" {
		sq.Where = append(sq.Where, store.Clause{{Param: "specialty", Type: store.TypeToken, AnySystem: true, Code: q.Specialty}})
	}
	var out []Found
	for {
		res, err := f.st.Search(ctx, sq)
		if err != nil {
			return nil, err
		}
		inc := map[string]map[string]any{}
		for _, v := range res.Included {
			m, err := fhirjson.Decode(v.Body, fhirjson.Limits{})
			if err != nil {
				return nil, err
			}
			inc[v.Type+"/"+v.ID] = m
		}
		for _, v := range res.Matches {
			svc, err := fhirjson.Decode(v.Body, fhirjson.Limits{})
			if err != nil {
				return nil, err
			}
			if svc["active"] == false {
				continue
			}
			org := inc[str(obj(svc["providedBy"])["reference"])]
			if org["active"] == false {
				// A closed institution's services (a sync ends them too,
				// but a file may still list them) are not offered.
				continue
			}
			if q.Kind != "" && !hasCode(org, q.Kind) {
				continue
			}
			best := Found{DistanceKm: math.Inf(1)}
			for _, x := range list(svc["location"]) {
				loc := inc[str(obj(x)["reference"])]
				if loc == nil || str(loc["status"]) == "inactive" || str(loc["status"]) == "suspended" {
					continue
				}
				lat, lon, ok := position(loc)
				if !ok || (q.City != "" && !inCity(loc, q.City)) {
					continue
				}
				if d := HaversineKm(q.Lat, q.Lon, lat, lon); d <= q.RadiusKm && d < best.DistanceKm {
					best = Found{Service: svc, Location: loc, Organization: org, DistanceKm: d}
				}
			}
			if best.Service != nil {
				out = append(out, best)
			}
		}
		if res.NextCursor == "" {
			break
		}
		sq.Cursor = res.NextCursor
	}
	slices.SortFunc(out, func(a, b Found) int {
		if a.DistanceKm != b.DistanceKm {
			if a.DistanceKm < b.DistanceKm {
				return -1
			}
			return 1
		}
		return strings.Compare(str(a.Service["name"])+str(a.Service["id"]), str(b.Service["name"])+str(b.Service["id"]))
	})
	if len(out) > q.Count {
		out = out[:q.Count]
	}
	return out, nil
}

func position(loc map[string]any) (lat, lon float64, ok bool) {
	p := obj(loc["position"])
	la, err1 := num(p["latitude"])
	lo, err2 := num(p["longitude"])
	return la, lo, err1 == nil && err2 == nil
}

func num(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case float64:
		return x, nil
	}
	return 0, strconv.ErrSyntax
}

// hasCode reports whether a resource's type (CodeableConcepts) has code.
func hasCode(res map[string]any, code string) bool {
	for _, t := range list(res["type"]) {
		for _, c := range list(obj(t)["coding"]) {
			if str(obj(c)["code"]) == code {
				return true
			}
		}
	}
	return false
}

// inCity matches a Location's address against a division code or a name.
func inCity(loc map[string]any, city string) bool {
	addr := obj(loc["address"])
	if isDigits(city) && len(city) == 6 {
		div := ""
		for _, e := range list(addr["extension"]) {
			if ext := obj(e); str(ext["url"]) == vocab.ExtAddressDivision {
				div = str(obj(ext["valueCoding"])["code"])
			}
		}
		if div == "" {
			return false
		}
		switch {
		case strings.HasSuffix(city, "0000"): // a province
			return div[:2] == city[:2]
		case strings.HasSuffix(city, "00"): // a prefecture
			return div[:4] == city[:4]
		}
		return div == city
	}
	return str(addr["city"]) == city || str(addr["district"]) == city
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Operation serves GET [base]/HealthcareService/$find with lat and lon
// (decimal degrees, required), type, specialty, city, kind, radius (km,
// default 50) and count (default 10, at most 100). The answer is a
// searchset Bundle of HealthcareServices, nearest first; each match entry
// carries its distance in km in the location-distance extension of
// entry.search, and the Location it was measured to (and the providing
// Organization) follow as include entries. An empty answer to a type that
// is none of the directory's service kinds carries an OperationOutcome
// entry (search.mode outcome) saying so.
func (f *Finder) Operation(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "HealthcareService/$find is read with GET.")
	}
	if id != "" {
		return outcome.NotSupported("$find is a type-level operation: GET [base]/HealthcareService/$find?lat=..&lon=..")
	}
	q, err := parseFind(r.URL.Query())
	if err != nil {
		return err
	}
	found, err := f.Find(r.Context(), q)
	if err != nil {
		return err
	}
	base := strings.TrimRight(f.Base, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		p := r.URL.Path
		if i := strings.LastIndex(p, "/HealthcareService/"); i >= 0 {
			p = p[:i]
		}
		base = scheme + "://" + r.Host + p
	}
	var entries, included []any
	seen := map[string]bool{}
	add := func(res map[string]any) {
		if res == nil {
			return
		}
		k := str(res["resourceType"]) + "/" + str(res["id"])
		if seen[k] {
			return
		}
		seen[k] = true
		included = append(included, map[string]any{"fullUrl": base + "/" + k, "resource": res, "search": map[string]any{"mode": "include"}})
	}
	for _, x := range found {
		d := math.Round(x.DistanceKm*1000) / 1000
		entries = append(entries, map[string]any{
			"fullUrl":  base + "/HealthcareService/" + str(x.Service["id"]),
			"resource": x.Service,
			"search": map[string]any{
				"mode": "match",
				"extension": []any{map[string]any{"url": ExtLocationDistance, "valueDistance": map[string]any{
					"value": json.Number(strconv.FormatFloat(d, 'f', -1, 64)), "unit": "km", "system": "http://unitsofmeasure.org", "code": "km"}}},
			},
		})
	}
	for _, x := range found {
		add(x.Location)
		add(x.Organization)
	}
	if len(found) == 0 && q.Type != "" && vocab.ServiceKinds[q.Type] == "" {
		// A misspelt type (tcm-clnic) must not read as "no such service
		// here"; a region's own code stays searchable, so this is a
		// warning beside the empty answer, not a 400.
		included = append(included, map[string]any{"resource": map[string]any{
			"resourceType": "OperationOutcome",
			"issue": []any{map[string]any{"severity": "warning", "code": "not-found", "expression": []any{"type"},
				"diagnostics": fmt.Sprintf("No service has the type %q; the directory's service kinds are %s.", q.Type, keys(vocab.ServiceKinds))}},
		}, "search": map[string]any{"mode": "outcome"}})
	}
	b := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(found)}
	if all := append(entries, included...); len(all) > 0 {
		b["entry"] = all
	}
	return respond.Resource(w, r, http.StatusOK, b)
}

// findParams are the parameters of $find (_format and _pretty: the API's
// own, taken by every interaction).
var findParams = []string{"lat", "lon", "type", "specialty", "city", "kind", "radius", "count", "_format", "_pretty"}

func parseFind(v url.Values) (FindQuery, error) {
	var q FindQuery
	for n, vs := range v {
		if !slices.Contains(findParams, n) {
			// a new user's _count or distance silently did nothing
			return q, outcome.BadRequest("$find has no parameter %q; its parameters are %s.", n, strings.Join(findParams, ", ")).At(n)
		}
		if len(vs) > 1 {
			return q, outcome.BadRequest("The parameter %s is given more than once.", n).At(n)
		}
	}
	float := func(name string, lo, hi float64, required bool) (float64, error) {
		s := v.Get(name)
		if s == "" {
			if required {
				return 0, outcome.New(http.StatusBadRequest, "required", "The parameter %s (decimal degrees) is required.", name).At(name)
			}
			return 0, nil
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || x < lo || x > hi {
			return 0, outcome.BadRequest("%s must be a number from %g to %g, not %q.", name, lo, hi, s).At(name)
		}
		return x, nil
	}
	var err error
	if q.Lat, err = float("lat", -90, 90, true); err != nil {
		return q, err
	}
	if q.Lon, err = float("lon", -180, 180, true); err != nil {
		return q, err
	}
	if q.RadiusKm, err = float("radius", 0, MaxRadiusKm, false); err != nil {
		return q, err
	}
	if s := v.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, outcome.BadRequest("count must be a positive whole number, not %q.", s).At("count")
		}
		q.Count = min(n, MaxCount)
	}
	q.Type, q.Specialty, q.City, q.Kind = v.Get("type"), v.Get("specialty"), v.Get("city"), v.Get("kind")
	if q.Kind != "" && vocab.InstitutionKinds[q.Kind] == "" {
		return q, outcome.New(http.StatusBadRequest, "code-invalid", "Unknown institution kind %q; use one of %s.", q.Kind, keys(vocab.InstitutionKinds)).At("kind")
	}
	return q, nil
}
