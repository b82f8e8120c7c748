// Package empi is the regional master patient index (EMPI, issue 5) as
// the server runs it: the identity stage of the write path, which links
// every Patient an institution writes to a regional master Patient; the
// in-memory identity/match index those decisions and Patient/$match use;
// and the identity operations (Patient/$match, Patient/$ihe-pix,
// Patient/[id]/$link and $unlink, Patient/$merge, Task/[id]/$decide).
// Decisions: docs/decisions/004 and 010.
//
// It depends on store, search (to find a master's sources inside a
// transaction), access, fhir/* and identity/*; it must not depend on
// fhirapi or server (server/empi.go adapts the Engine to fhirapi.Hook).
//
// # Masters and sources
//
// A master is a Patient tagged patient-role|master, owned by the EMPI:
// clients cannot write or delete one (422). It has a link seealso to each
// source (an institution's Patient), each with the extension
// empi-link-basis saying why (id-number, probabilistic, new, asserted,
// manual, document), and the extension empi-not-linked for each source a person
// decided is not this person. Each source has a link refer to its master,
// written into the resource by Prepare on every write (institutions
// overwrite their records; their own links of other kinds, and refer links
// to non-masters, are kept). A master left without sources (merged,
// emptied by moves or unlinks) is retired: active false and, when its
// records went to one other master, link replaced-by that master.
//
// # Linking (Prepare, under one mutex)
//
//   - Resident ID numbers (system resident-id or urn:oid:2.16.156.10011.1.1)
//     that fail GB 11643 (check character, impossible or future date,
//     length, characters, province) reject the write with a 422; a legacy
//     15-digit number is upgraded, the old form kept with use old. A valid
//     number that contradicts birthDate or gender is kept but links nothing
//     by itself (identity/match: inconsistent).
//   - Travel documents (systems in documents.go: passport/{ISO 3166
//     alpha-3}, hk-macao-permit, taiwan-permit,
//     foreign-permanent-residence) are validated with identity/identifier
//     (422 naming the identifier) and normalised in place. A record
//     carrying a document that another institution's record carries is
//     linked to that record's master (basis document), read from the
//     store before the decision, unless a person decided against it or
//     the master holds a different valid ID number: one document, one
//     holder, whatever the names (陳偉強, CHAN Wai Keung) say.
//   - A refer link to a live master other than the current one (the
//     one-code service creating an institution's record, or an
//     institution's own knowledge) is trusted, unless that master holds a
//     different valid ID number or a person decided against it.
//   - A new source: the best candidate master that is a Link (the same
//     valid ID number, or a score at or above AutoLink with identifying
//     evidence) takes it; otherwise it gets a new master, and when some
//     candidates score between Review and AutoLink, a review Task
//     (task-kind|identity-review, focus the source, for its new master,
//     one input per candidate with its score and grade). Own master rather
//     than no link: every source always has exactly one master, so that
//     searches and PIXm never miss a record; a reviewer's link then moves
//     it.
//   - A known source (rewritten) is matched again without its old self:
//     it stays while its master's other records still link with it, or
//     still score in the review band, or the link was manual; it moves to
//     another master when that one is a Link and its own is not; it splits
//     off to a new master when it no longer reaches the review threshold
//     against its master's other records or holds a different valid ID
//     number. A source alone on its master joins another master that is a
//     Link (the old master is retired).
//   - Masters that a person decided are not this source (empi-not-linked)
//     and retired masters are never candidates.
//
// The decision is registered in the index at once (pending), so that a
// second institution writing the same person a moment later, before the
// first write commits, finds it and gets the same master: two concurrent
// writes of one person never make two masters. A pending decision whose
// write never commits is dropped after two minutes.
//
// # Follow-ups (Written, in the write's transaction)
//
// The master a source refers to, and the one it left, are recomputed from
// their sources as read inside the transaction (a search on Patient.link;
// for the master a written source refers to, the master's seealso links
// and that source read by id, which name the same set: decision 020)
// and written in the same transaction, conditional on the version read (or
// on being absent), so a crash never leaves a source without its master or
// a master without its link; a concurrent change of the same master
// conflicts, and fhirapi retries the single write. Review Tasks are
// written there too. Committed then applies every Patient version to the
// index. A node's index is rebuilt at start from every current Patient
// (a keyset scan of the Patient history in pages of 50,000, the next page
// read while this one is decoded and prepared on every core; decision 015). Config.SyncEvery makes it also catch up with
// the Patient history written by others (a second node on PostgreSQL).
//
// # The golden record
//
// A master's demographics are computed from its sources, ranked: sources
// with a valid resident ID number consistent with their record first, then
// the most recently updated, then by id. name, gender, birthDate, address,
// maritalStatus and communication come from the first ranked source that
// has them; gender and birthDate from the first source's valid ID number
// when it has one; deceased from the first that says so; telecom is the
// union. A master's own identifiers (e-health cards) stay on it, and
// when it is retired (merged, or its last record linked elsewhere) they
// go to the master its records went to, so a card in a resident's hand
// keeps resolving. Sources' identifiers are not copied: conditional
// creates and updates by identifier (If-None-Exist, PUT
// Patient?identifier=) must keep finding the institution's one record. A master is found by any of its sources'
// identifiers with the chained search Patient?link:Patient.identifier=s|v
// (and a source's master with _include=Patient:link); PIXm gives all the
// identifiers at once.
//
// # Manual operations
//
// $link, $unlink, $merge and $decide run in one transaction each, retried
// on conflicts. Besides the operation's own access check, each write is
// checked (and so audited) as an update or create by the acting principal
// with the operation's name. Manual links are sticky: automatic matching
// does not move them, unless a different valid ID number appears.
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
// $match answers master Patients (one per person), graded by the master's
// best-scoring source, read in one query and written into the Bundle as
// stored. onlyCertainMatches returns only certain matches,
// and none when two masters are certain (R4: the server should not answer
// with several potential matches under the flag).
package empi
