// Package match links patient records that describe the same person: the
// matching engine of the regional master patient index (EMPI, issue 5).
//
// Matching runs in three steps:
//
//  1. Deterministic rules. Two records whose resident ID numbers are both
//     valid and consistent with their own birth date and sex (see
//     identity/idnumber) are the same person when the numbers are equal
//     (a legacy 15-digit number counts as its upgraded form), and never the
//     same person when they differ, whatever the names say.
//  2. Blocking. An Index keeps, for every record, a few blocking keys (the
//     ID number, each phone, surname pinyin + birth year and month,
//     full-name pinyin, birth date; a query also tries its birth date with
//     day and month swapped) in hash maps, so the candidates for a new
//     record are the union of a handful of small blocks, found in time
//     proportional to their size rather than to the number of patients.
//     Keys are pinyin rather than characters so that homophones and
//     traditional forms meet in one block.
//  3. Fellegi–Sunter scoring. Each candidate is compared field by field
//     (name, birth date, sex, ID number, phone, address); every field
//     comparison yields an agreement level, and each level has a weight
//     log2(m/u), m and u being the probabilities of that level among
//     matching and non-matching pairs. The sum is compared with two
//     thresholds: at or above AutoLink the record links automatically;
//     at or above Review it goes to a review queue (when a field besides
//     birth date and sex agrees: those two alone are any stranger's born
//     that day); below, no link. An
//     automatic link also needs identifying evidence (Comparison.Identifying):
//     phones, addresses and often birth dates are shared within a family,
//     and the independence assumption of Fellegi–Sunter would otherwise
//     link twins.
//
// The default m- and u-probabilities (DefaultModel) are estimated with
// Estimate from generated data with known truth (identity/match/synth,
// seed 1; go generate writes model_gen.go); the accuracy test runs on data
// of another seed. See docs/BENCHMARKS.md, "Identity matching". We
// estimate from labelled pairs rather than by EM because the generated
// data come with their truth, which makes the estimates exact for that
// population and the fit reproducible; a region replaces them with
// Estimate over its own adjudicated pairs (the review queue's decisions),
// or with EM over its unlabelled records, once it has enough of either.
//
// The Index is in memory and rebuilt from the records at start-up; a
// store-backed index keeps the same blocking keys (hashKey values) in an
// index table, and the same comparison runs on the candidate rows.
//
// The package depends on the standard library and its sibling identity
// packages only: no store, no HTTP, no FHIR types. The EMPI maps Patient
// resources to Records and master patients to MasterIDs.
package match

//go:generate go run gen_model.go
