package store

import "context"

// Reindexer is an optional capability of a Tx (find it by type assertion:
// tx.(store.Reindexer)): replacing the search-index entries of a stored
// resource without writing a version, for `xietong reindex` after the
// indexer has learnt something new (composites, canonical units, the
// token entries' patient).
type Reindexer interface {
	// Reindex replaces the index entries of the resource's current
	// version with x if that is still version and not a deletion;
	// otherwise it changes nothing and reports false (a newer version,
	// written meanwhile, was indexed by its own write).
	Reindex(ctx context.Context, typ, id string, version int64, x *Index) (bool, error)
}

// Index holds the search-index entries of one resource version, computed by
// the search package from the resource and the R4 SearchParameter
// definitions. Values arrive normalised; the store only persists and
// compares them. Param is the search parameter's code ("name", "code",
// "subject"), scoped by the resource type of the Write.
type Index struct {
	Strings    []StringEntry
	Tokens     []TokenEntry
	References []ReferenceEntry
	Dates      []DateEntry
	Numbers    []NumberEntry
	Quantities []QuantityEntry
	URIs       []URIEntry
	Composites []CompositeEntry
}

// Len is the number of entries.
func (x *Index) Len() int {
	return len(x.Strings) + len(x.Tokens) + len(x.References) + len(x.Dates) +
		len(x.Numbers) + len(x.Quantities) + len(x.URIs) + len(x.Composites)
}

// StringEntry indexes a string parameter. Norm is the value folded for the
// default and :contains matches (lower case, accents removed, white space
// collapsed); Exact is the value as written, for :exact.
type StringEntry struct {
	Param string
	Norm  string
	Exact string
}

// TokenEntry indexes a token parameter: a code with its system (System may
// be empty), and the display text used by :text.
type TokenEntry struct {
	Param  string
	System string
	Code   string
	Text   string
}

// ReferenceEntry indexes a reference parameter. A local reference has
// TargetType and TargetID ("Patient", "123"); an absolute or canonical one
// has URL (and a version, if any, stays in URL).
type ReferenceEntry struct {
	Param      string
	TargetType string
	TargetID   string
	URL        string
}

// DateEntry indexes a date parameter as the closed range [Low, High] of
// Unix microseconds (UTC) the value covers at its precision: 2024-03 covers
// 2024-03-01T00:00:00 up to 2024-03-31T23:59:59.999999.
type DateEntry struct {
	Param string
	Low   int64
	High  int64
}

// NumberEntry indexes a number parameter as the closed range its precision
// implies: 1.5 covers [1.45, 1.55].
type NumberEntry struct {
	Param string
	Value float64
	Low   float64
	High  float64
}

// QuantityEntry indexes a quantity parameter. When the unit converts to a
// canonical UCUM unit, CanonicalCode/CanonicalLow/CanonicalHigh hold it too,
// so comparisons work across units (mg and g).
type QuantityEntry struct {
	Param         string
	System        string
	Code          string
	Low           float64
	High          float64
	CanonicalCode string
	CanonicalLow  float64
	CanonicalHigh float64
}

// URIEntry indexes a uri parameter.
type URIEntry struct {
	Param string
	URI   string
}

// CompositeEntry indexes one value of a composite parameter: its
// components (at most MaxComponents) taken from the same element
// (Observation code with value, one component's code with its value).
// A component is stored in the form of its type: token and uri as System
// and Code (a uri in Code), string as Code (normalised) and System (as
// written), reference as System (target type, "" for a URL) and Code
// (target id or URL), and date, number and quantity as the closed range
// Low..High (dates in Unix microseconds) with a quantity's unit system
// and code in System and Code.
type CompositeEntry struct {
	Param string
	Parts [MaxComponents]CompositePart
}

// CompositePart is one component of a CompositeEntry.
type CompositePart struct {
	System string
	Code   string
	Low    float64
	High   float64
}

// MaxComponents is the most components an R4 composite parameter has
// (MolecularSequence's coordinates have three).
const MaxComponents = 3

// NearLat and NearLon are the parameters of the two number entries (Low =
// High = the value, in degrees) that index a Location's position for the
// near parameter (TypeNear).
const (
	NearLat = "near:lat"
	NearLon = "near:lon"
)

// PatientParam is the reference parameter whose Patient target is copied
// onto the resource's token entries (PatientKey): the "patient" parameter
// every patient-related R4 resource defines.
const PatientParam = "patient"

// PatientMany is the patient part of a PatientKey whose resource points at
// several Patients ("*" is never part of a FHIR id).
const PatientMany = "*"

// PatientKey is what the stores write on every token entry of a resource
// of type typ (migration 0004, column pat): "" when its "patient" reference
// parameter points at no Patient (no local reference entry of target type
// Patient), typ + "/" + the Patient's id when at one, and typ + "/*" when at
// several. A reverse chain from a patient's resources by a code
// (Patient?_has:Observation:patient:code=...) then reads the patients
// straight from the token index, without looking up any matching
// resource (docs/decisions/014-search-at-scale.md). Migration 0004 fills
// existing rows by the same rule in SQL.
func (x *Index) PatientKey(typ string) string {
	key := ""
	for i := range x.References {
		e := &x.References[i]
		if e.Param != PatientParam || e.TargetType != "Patient" || e.TargetID == "" {
			continue
		}
		switch key {
		case "":
			key = e.TargetID
		case e.TargetID:
		default:
			return typ + "/" + PatientMany
		}
	}
	if key == "" {
		return ""
	}
	return typ + "/" + key
}
