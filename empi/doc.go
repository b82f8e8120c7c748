// Package empi is the regional master patient index (issue 5) as the
// server sees it. This first slice answers Patient/$match (FHIR R4
// Patient-match, IHE PDQm ITI-119) from an in-memory identity/match.Index
// of the store's current Patients; linking Patients to master records,
// the review queue and PIXm come later (docs/decisions/004).
//
// # Index
//
// A Matcher keeps every current Patient of the store in a match.Index,
// each Patient its own master (so that $match answers Patients, not
// persons). Before each answer it catches up with the store under one
// mutex: the first call reads the whole Patient history, later calls the
// history since the newest lastUpdated seen, less Settle (one minute),
// because the API stamps lastUpdated before the transaction commits.
// Versions already applied are skipped by versionId; a deletion removes
// the Patient. A version that commits more than Settle after its stamp
// would be missed until the Patient is written again.
//
// # From Patient to match.Record
//
//   - Source: Patient.id.
//   - Name: the official HumanName, else usual, else one without use,
//     else temp; old, maiden, nickname and anonymous names and names
//     whose period has ended are not used. Of a name, text is taken when
//     it holds Han characters (Chinese systems usually fill text) or when
//     there is neither family nor given; otherwise family then given,
//     joined without spaces when Han (张 + 伟 = 张伟), with one space
//     otherwise (pinyin "Zhang Wei").
//   - Birth: birthDate when it is a full date; a partial date (1980,
//     1980-03) counts as unknown rather than as the first of the month.
//   - Sex: gender male or female; other and unknown are unknown.
//   - IDNumber: the resident ID number, from the first current identifier
//     (use not old, period not ended) of system SystemResidentID or
//     SystemResidentIDOID (urn:oid:2.16.156.10011.1.1), as written: the
//     matcher itself grades invalid numbers. Failing those, an identifier
//     whose type has the code NI or NNCHN and whose value is a valid
//     number (identity/idnumber): such types are used for other national
//     identifiers too, so an invalid value there is not taken.
//   - MRN and Institution: the first identifier of type MR, and its
//     system; Institution is managingOrganization.reference when there is
//     one. Matching does not compare them yet.
//   - Phones: telecom of system phone or sms whose period has not ended.
//   - Division and Address: of the home address (else one without use,
//     else any but old and billing), the GB/T 2260 code from the extension
//     ExtAddressDivision (valueCoding.code), else Address.district when it
//     is six digits; postalCode is not used, because a postal code
//     (101100) is not a division code (110112) and comparing one with the
//     other would count as a disagreement. The address text is
//     Address.text, else state, city, district (when not a code) and the
//     lines, concatenated.
//
// # Grades and scores
//
// The index's decision becomes the match-grade extension: Link (the same
// valid ID number, or a score at or above Model.AutoLink with evidence of
// the person) is certain; Review probable; a score of zero or more
// possible; a different valid ID number or a negative score is
// certainly-not and not returned. search.score maps the log2 likelihood
// ratio into the grade's band (possible [0,0.5), probable [0.5,0.9),
// certain [0.9,1]), so that ordering by score orders by grade first; it
// is a rank, not a calibrated probability.
//
// onlyCertainMatches returns only certain matches, and none when the
// certain matches are not all one person (two of them would not link
// with each other): R4 says the server should not answer with several
// potential matches under the flag, while several Patients of one person
// in several institutions are one answer in a regional index.
package empi
