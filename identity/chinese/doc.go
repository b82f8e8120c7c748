// Package chinese compares personal names written in Chinese the way a
// master patient index needs: it folds full-width forms, spacing and the
// middle dots of minority and foreign names; maps traditional characters to
// simplified ones; reads characters as toneless pinyin so that homophones
// (names typed through a pinyin input method) compare close; and grades the
// similarity of two names as exact, homophone, typo or different.
//
// The character tables are generated (tables_gen.go, by gen.go through
// go generate) from pinyin-pro and OpenCC's data; see
// docs/decisions/002-chinese-name-data.md for sources and licences.
//
// The package depends on the standard library only: no store, no HTTP, no
// FHIR types. Its callers (identity/match) hand it plain strings.
package chinese

//go:generate go run gen.go
