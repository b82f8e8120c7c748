package store

// Query is a parsed, validated FHIR search, ready for a store to run. The
// search package builds it from a request; a store translates it to its own
// query language with bound parameters only (never by concatenating values).
//
// A resource matches when every Clause in Where matches; a Clause matches
// when any of its Predicates does (FHIR: repeated parameters are AND,
// comma-separated values are OR).
type Query struct {
	// Types are the resource types searched: one for a type search, several
	// (or none, meaning all) for a system search with _type.
	Types []string
	Where []Clause
	Sort  []Sort
	// Count is the page size (0: the store default, 50). Offset skips that
	// many matches; Cursor, when set, is a page's NextCursor (the page
	// after it) or PrevCursor (the page before it) and takes precedence
	// over Offset. A cursor is
	// valid only with the Sort it was issued for (ErrInvalid otherwise);
	// cursor pages are keyset pages, so concurrent writes do not shift them.
	Count  int
	Offset int
	Cursor string
	// Total says how to count all matches (Result.Total). The SQL stores
	// count exactly for TotalEstimate too.
	Total TotalMode
	// CountOnly (_summary=count): return no resources, only Total.
	CountOnly bool
	// Include and RevInclude list _include and _revinclude.
	Include    []Include
	RevInclude []Include
}

// TotalMode is _total.
type TotalMode int

const (
	TotalAccurate TotalMode = iota // the default: count every match
	TotalNone                      // do not count
	TotalEstimate                  // a cheap estimate is fine
)

// Clause is a disjunction of predicates.
type Clause []Predicate

// ParamType is the type of a search parameter.
type ParamType string

const (
	TypeString    ParamType = "string"
	TypeToken     ParamType = "token"
	TypeReference ParamType = "reference"
	TypeDate      ParamType = "date"
	TypeNumber    ParamType = "number"
	TypeQuantity  ParamType = "quantity"
	TypeURI       ParamType = "uri"
	// TypeComposite: Components hold one predicate per component, all of
	// which one composite entry (CompositeEntry) must match.
	TypeComposite ParamType = "composite"
	// TypeNear is Location's near: Near holds the point and distance.
	TypeNear ParamType = "near"
)

// Special parameter codes answered from the resource itself rather than
// from index entries: "_id" (TypeToken, Code holds the id) and
// "_lastUpdated" (TypeDate).
const (
	ParamID          = "_id"
	ParamLastUpdated = "_lastUpdated"
)

// Prefix is a comparison prefix of date, number and quantity parameters.
//
// Stores compare ranges, as R4 defines the prefixes
// (http://hl7.org/fhir/R4/search.html#prefix), for all three types alike:
// the target value covers [lo, hi] (a DateEntry's Low..High, a
// NumberEntry's or QuantityEntry's Low..High) and the search value
// [sl, sh] (DateLow..DateHigh or NumLow..NumHigh). A resource matches when
// any of its entries does:
//
//	eq  sl <= lo && hi <= sh          (the search range contains the value)
//	ne  !(sl <= lo && hi <= sh)
//	gt  hi > sh                       (the range above the search value overlaps)
//	lt  lo < sl
//	ge  gt || eq
//	le  lt || eq
//	sa  lo > sh                       (starts after the search range)
//	eb  hi < sl                       (ends before it)
//	ap  lo <= sh+d && hi >= sl-d      (overlaps the widened search range)
//
// where d, the ap leeway, is 10% of the distance between now and the value
// for dates, and 10% of the value for numbers and quantities. An empty
// Prefix means eq.
type Prefix string

const (
	PrefixEq Prefix = "eq"
	PrefixNe Prefix = "ne"
	PrefixGt Prefix = "gt"
	PrefixLt Prefix = "lt"
	PrefixGe Prefix = "ge"
	PrefixLe Prefix = "le"
	PrefixSa Prefix = "sa"
	PrefixEb Prefix = "eb"
	PrefixAp Prefix = "ap"
)

// StringMatch is how a string parameter compares.
type StringMatch int

const (
	StringStartsWith StringMatch = iota // the default: Norm starts with the value
	StringExact                         // :exact: Exact equals the value
	StringContains                      // :contains: Norm contains the value
)

// Predicate is one condition on one parameter. Which fields apply depends
// on Type; the search package fills only those.
type Predicate struct {
	Param string
	Type  ParamType
	// Also names parameters whose entries count as Param's: a parameter
	// defined as the union of others has no entries of its own (the
	// search package leaves them out: Observation's combo-code is code |
	// component-code), and its predicates match the others' entries.
	Also []string

	// Missing, when set, is :missing=true (*Missing) or :missing=false; the
	// value fields are then ignored.
	Missing *bool
	// Not negates a token predicate (:not): resources with no entry that
	// matches, including resources with no entry at all.
	Not bool

	// String: the value (already normalised for StringStartsWith and
	// StringContains) and how it matches.
	String string
	Match  StringMatch

	// Token: System is compared only when AnySystem is false; an empty
	// System with AnySystem false means "no system" (the "|code" form).
	// Code "" with a system set matches any code in that system ("system|").
	// TextSearch (:text) matches Text against the normalised String field.
	System     string
	AnySystem  bool
	Code       string
	TextSearch bool
	// CodeSet, when set, makes a token predicate match any of Codings
	// instead of System/Code (an expanded :in, :below or :above; an empty
	// Codings then matches nothing, and with Not everything).
	CodeSet bool
	Codings []Coding

	// Reference: a local target (TargetType may be empty to mean any type,
	// or a type modifier like subject:Patient), or an absolute URL.
	TargetType string
	TargetID   string
	URL        string

	// Date, number, quantity: the prefix and the closed range the search
	// value covers at its precision (dates in Unix microseconds, numbers as
	// float64). For quantities, System and Code restrict the unit when set,
	// and Canonical says the range is in the canonical UCUM unit.
	Prefix    Prefix
	DateLow   int64
	DateHigh  int64
	NumLow    float64
	NumHigh   float64
	Canonical bool

	// URI: exact match, or with Below the indexed uri starts with URI
	// (:below). (:above is an OR of exact matches on URI's parents.)
	URI   string
	Below bool

	// Composite: one predicate per component, in the definition's order
	// (their Param is unused); a resource matches when one of its
	// composite entries matches all of them.
	Components []Predicate

	// Near: the resource's position lies within Near.Km of the point.
	Near *Near

	// Chain, when set, makes this a chained predicate: Param is a reference
	// parameter and the referenced resource (of one of Chain.Types) must
	// match Chain.Where.
	Chain *Chain
	// Has, when set, is a reverse chain (_has): some resource of Has.Type
	// whose reference parameter Has.Param points at this one matches
	// Has.Where. Param and Type are then unused.
	Has *Has
}

// Coding is a system and code.
type Coding struct {
	System string
	Code   string
}

// Near is a point and a distance: WGS84 degrees and kilometres.
type Near struct {
	Lat, Lon float64
	Km       float64
}

// Chain is the target side of a chained search.
type Chain struct {
	Types []string
	Where []Clause
}

// Has is a reverse chain.
type Has struct {
	Type  string
	Param string
	Where []Clause
}

// Sort is one _sort key. A resource with several values sorts by its
// lowest ascending and its highest descending (dates: the earliest Low,
// the latest High); resources without a value come last in both
// directions; ties are broken by the store's row order, so paging is
// deterministic. Stores sort on _id, _lastUpdated and string, token (by
// code), uri, date, number and quantity parameters; any other type fails
// with ErrUnsupported.
type Sort struct {
	Param string // a parameter code, or "_id" / "_lastUpdated"
	Type  ParamType
	Desc  bool
	Also  []string // as Predicate.Also
}

// Include is one _include or _revinclude.
type Include struct {
	SourceType string // the resource type holding the reference ("" for *)
	Param      string // the reference parameter ("*" for all)
	TargetType string // restricts the target type; "" for any
	Iterate    bool
}

// SearchResult is one page of a search.
type SearchResult struct {
	Matches  []*Version // current versions, in sort order
	Included []*Version // resources added by Include and RevInclude
	// Total is the number of matches ignoring paging, or -1 when not
	// counted (TotalNone).
	Total int
	// NextCursor continues with the next page; "" on the last page.
	NextCursor string
	// PrevCursor goes back to the page before this one (the count matches
	// that sort just before its first match, as they are now); "" on the
	// first page.
	PrevCursor string
}
