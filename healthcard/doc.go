// Package healthcard is the e-health card one-code (电子健康卡 一码通): it
// issues a card to a regional master Patient, signs the card's QR codes so
// that a terminal can verify them offline, resolves a scanned code at an
// institution to the master Patient and the institution's own record
// number (creating that record on a first visit), revokes cards, records
// every use as an AuditEvent and counts the uses.
//
// It depends on the store (reads), fhir/fhirjson, fhir/outcome and access
// (the acting principal), and writes only through a Transactor the node
// supplies (the FHIR API's own transaction path). It must not depend on
// fhirapi, server or any engine; the EMPI is optional (see "Masters").
//
// # Card ids and codes
//
// A card id is 64 upper-case hexadecimal characters (256 random bits;
// the length provincial platforms show in QR payloads). The card is an
// identifier of the master Patient: system https://xietong.dev/fhir/sid/ehc,
// use official, period.start the issue time; a revoked card keeps its
// identifier with use old and period.end the revocation time, so reads and
// history show the card's life.
//
// A code's plain text is the e-health-card shape: static "<id>:1", dynamic
// "<id>:0:<validUntil>" with validUntil in Unix seconds (default 60 s
// after signing, server.Config.HealthCardTTL). It travels as a compact JWS
// (RFC 7515): base64url header {"alg":"EdDSA","kid":"<kid>","typ":"xt-ehc"},
// the plain text as payload, an Ed25519 signature (RFC 8032) over both;
// about 230 characters, a version-10 QR code. A terminal verifies it with
// Verify and the keys of the published JWKS (ParseJWKS): structure, kid,
// signature, shape and expiry, offline. A static code stays valid until
// its card is revoked.
//
// # Revocations
//
// Revoking a card writes its revoke record (the AuditEvent below) in the
// same transaction as the Patient's changed identifier, so the records
// list every revoked card. GET /.well-known/health-card-revocations
// serves them as a signed revocation list: a compact JWS (typ
// xt-ehc-revocations, signed with the code-signing key) whose payload is
// {"issued": time, "revoked": [{"card": hex SHA-256 of the card id,
// "at": time}]}, sorted by hash; card ids themselves are not published.
// It is rebuilt at most once a minute (at once after a revocation on the
// node). A terminal fetches it with the JWKS, checks it with
// VerifyRevocations (signature, typ, and an age limit it chooses) and
// refuses the codes of listed cards while offline; the platform checks
// revocation on every resolve regardless.
//
// # Keys
//
// The Ed25519 keys are a Keyring in a JSON file with mode 0600 (by default
// next to the SQLite database: <db>.health-card-keys.json; for PostgreSQL
// in the user's configuration folder; server.Config.HealthCardKeyFile to
// choose), created with one key on first start. Each key has a kid (the
// first 16 base64url characters of the SHA-256 of its public key); Rotate
// adds a key and signs with it from then on, older keys keep verifying
// until Retire removes them. The public keys are published as a JWKS
// (RFC 7517/8037, kty OKP, crv Ed25519) at GET /.well-known/health-card-keys.
//
// # Masters
//
// Cards belong to master Patients (decision 004): a Patient whose link
// type refer names another is a source record and its master is that
// other; a Patient without such a link is its own master (so the package
// works before, and without, the EMPI). Resolving at an institution with
// institution code C finds the institution's record number (identifier
// system https://xietong.dev/fhir/sid/mrn/C) on the master itself, else on
// a Patient linking refer to the master; when there is none it writes, in
// one transaction, a source Patient (id "ehc-" + 40 hex digits and MRN
// "HC" + 16 hex digits, both from the SHA-256 of master id and C, so
// concurrent first visits write the same record; the master's name,
// gender, birth date, telecom and address; managingOrganization and
// identifier.assigner the institution; link refer → master) and the
// master with a seealso link to it and the patient-role master tag,
// guarded by If-Match on the master's version. With Config.FirstVisits and
// a journal folder (a SQLite node, decision 031) the resolve answers once
// that record's intent is fsynced to a segment <journal>/visits-<n>.jsonl
// (decision 034), and an applier goroutine writes it right behind the
// answer through the same Transactor (a record already in the store is left alone; a master merged
// meanwhile is followed to its successor, a deleted one gets no record);
// a resolve of the same pair meanwhile answers from the intent, and
// Service.AwaitFirstVisits lets a reader wait for the pending records.
// The card's holder is
// found with a search on the card identifier; when one Patient holds it,
// later resolves read that Patient by id instead and search again when it
// no longer carries the card (decision 020). Every resolve checks the
// card's period on the Patients it reads (the holder and its master), so
// a revocation is refused at once.
//
// # Operations
//
//	POST [base]/Patient/[id]/$issue-health-card    → Parameters (cardId, status, patient, issued,
//	                                                  staticCode, staticText, dynamicCode, dynamicText,
//	                                                  dynamicValidUntil, keyId)
//	POST [base]/Patient/[id]/$revoke-health-card   (reason) → Parameters (status revoked)
//	GET  [base]/Patient/[id]/$health-card-qr       code=static|dynamic, format=png|svg → the image
//	POST [base]/Patient/$resolve-health-card       code, institution, channel, careStep → Parameters
//	                                                  (patient, master, localPatient, mrn, created,
//	                                                  cardId, codeType, institution, city)
//	GET  [base]/AuditEvent/$health-card-usage      from, to, city, institution, event, by, _format=csv
//	GET  /.well-known/health-card-keys             the JWKS
//	GET  /.well-known/health-card-revocations      the signed revocation list
//
// Errors of $resolve-health-card: no code or institution 400 required;
// unknown channel or care step 400 code-invalid; a code that is not a
// compact JWS, or whose plain text is not of the card shape, 400
// structure; an altered code, a forged one or one signed by an unknown key
// 400 security; an expired dynamic code 400 expired; a revoked card 410
// business-rule; a genuine code whose card no Patient holds 404 not-found;
// an institution that is not in the directory 422 not-found, one without
// an institution code or inactive 422 business-rule. An institution, once
// found, is reused for 30 s, so a directory change reaches resolving
// within that time.
//
// # Uses
//
// Every issue, revoke and resolve is an AuditEvent: type
// audit-event-type|health-card, subtype health-card-event|issue, revoke or
// resolve, recorded the time, agent the institution (reference and
// institution-code identifier, requestor) and the acting principal,
// source.observer the institution, source.site the city (prefecture) code
// (CityCode of the institution's GB/T 2260 division: 110112 → 110100),
// source.type the channel (health-card-channel: 0100 counter, 0200
// kiosk, 0300 doctor workstation, 0401 official-account app, 0402
// mini-program), purposeOfEvent the care step (care-step: registration,
// consultation, examination, payment, pharmacy, report, admission,
// discharge, other), entity the master Patient (detail card-id and
// code-type) and the institution's record. The code systems are under
// https://xietong.dev/fhir/CodeSystem/. They are written in batches (see
// Service) and counted by $health-card-usage per institution, city,
// channel, month (in the server's zone), event and care step. On a
// SQLite node the batches go through a journal next to the database
// (<db>.health-card-uses): synced every 200 ms, written as AuditEvents
// every 2 s, each use named by its meta.source
// (https://xietong.dev/fhir/health-card/uses#<uuid>, searchable as
// _source) so that the uses a crash left in the journal are written at
// the next start once each (decision 024).
package healthcard
