// Package demo generates the deterministic demo region of issue 7: a
// regional health collaboration modelled on 通武廊 (Tongzhou, Wuqing,
// Langfang), as standard FHIR R4 resources in transaction Bundles, for
// `xietong serve --demo` (which loads it into an empty database) and
// `xietong demo generate --out DIR` (which writes it as files).
//
// The same Config (and so the same seed) always gives byte-identical
// Bundles: every random choice comes from math/rand/v2 PCG streams seeded
// from Config.Seed (one for the directory, one per patient for the plan of
// care and one per patient for the results), "today" is fixed at
// 2026-11-01 (+08:00), and nothing reads the clock, the environment or
// map iteration order. Go does not promise that math/rand/v2's derived
// distributions (IntN, NormFloat64) never change between releases; a
// golden digest of the Small region (testdata/small.sha256) would show
// such a change, as it shows any change to the generator.
//
// The package depends on the standard library only; fhir/validate and the
// server are used by its tests, never by its code, and it knows nothing of
// storage or HTTP. Names, institutions and numbers are invented; any
// resemblance to real institutions or people is accidental.
//
// # What the region contains
//
// The directory: 41 institutions in the GB/T 2260 divisions 110112 通州区
// (北京), 120114 武清区 (天津), and in 131000 廊坊市 the districts 131003
// 广阳区 and 131002 安次区 and the "北三县" 131082 三河市, 131028
// 大厂回族自治县 and 131024 香河县: general hospitals (three tertiary, six
// district/county), six TCM hospitals, eight community health centres
// (社区卫生服务中心), seven township centres (乡镇卫生院), a CDC for each
// of 通州, 武清 and 廊坊 plus the three counties, four elderly-care
// institutions and one independent lab; their departments as Organizations
// partOf them; one Location with coordinates and one HealthcareService per
// service (outpatient, emergency, lab, imaging, TCM clinic / 国医堂,
// acupuncture, family doctor, vaccination ...). Cooperations are
// Organizations of their kind under the region's organization
// (demo-region-twl): a regional 医联体 and a district one, three county
// 医共体, four 专科联盟 (cardiology, TCM, sleep, primary-care specialties),
// a 医养结合联盟, five 手拉手 pairings and one 托管; each member is an
// OrganizationAffiliation (organization = the cooperation,
// participatingOrganization = the member, code = lead / member /
// supporting / supported, period, network = the region).
//
// Staff: Config.Practitioners practitioners spread by institution size,
// each with a primary PractitionerRole (department as specialty); about
// one hospital physician in eight has a second role at an institution of
// another area, coded "regional" (医师区域注册). Expert pools are Groups
// (type practitioner, actual, code quality-control or consultation, a
// specialty characteristic, managingEntity = the region) whose members are
// PractitionerRoles, so a pool member is named with the institution they
// serve for.
//
// Patients: Config.Patients residents with surnames at census-like
// frequencies, one- or two-character given names in the fashion of their
// birth year, GB 11643 ID numbers agreeing with sex and birth date (the
// home division code, one in ten born elsewhere), mobile numbers with real
// carrier prefixes, a home address with its division code, an
// e-health-card id, one medical record number per institution they have
// been seen at, and for 60% a contracted family-doctor centre
// (generalPractitioner).
//
// Results: Config.Months months up to 2026-11-01 of Encounters with lab
// DiagnosticReports (CBC, basic metabolic, liver, lipids, HbA1c, TSH,
// tumour markers, HBsAg) and their Observations (LOINC codes and UCUM
// units of the facts file, a reference range, an interpretation, values
// around the patient's own level so repeats agree, chronic conditions
// giving realistic abnormal values), and ImagingStudies (DX, CT, MR, US,
// DICOM UIDs under 2.25) with a radiology DiagnosticReport and a Chinese
// conclusion. Every patient has results from at least two institutions;
// about 30% have the same panel repeated at another hospital within 30
// days and 20% again later, and a quarter of the imaged patients have a
// repeat study, so that recognition (互认) has work to do. Primary centres
// run basic panels themselves and send the rest to the independent lab.
//
// # Decisions
//
// Ids and requests: every resource has a stable id starting "demo-" and
// is written with PUT Type/id, so loading is idempotent (a load cut short
// can be run again), ids are the same on every machine, and links in
// documentation stay valid. References are literal "Type/id", which also
// works across Bundles (patients and their results are in different
// Bundles). Every entry still has a fullUrl, "urn:uuid:" + a name-based
// (version 5) UUID of "Type/id", for tools that require one; nothing
// refers to it. Id scheme: Organization demo-org-<institution code>,
// departments demo-org-<code>-d<department code>, cooperations
// demo-coop-*, demo-oa-*, demo-loc-<code>, demo-hcs-<code>-<service>,
// demo-pr-NNNN, demo-prr-NNNN-K, demo-pool-*, demo-pat-NNNNNN,
// demo-enc-<patient>-<nn>, demo-dr-<patient>-<nn>-<k> (-img for imaging),
// demo-obs-<patient>-<nn>-<k>-<j>, demo-img-<patient>-<nn>.
//
// Bundles: at most MaxEntries (500) entries, an encounter never split:
// directory, practitioners, then per 250 patients one patients Bundle and
// their results Bundles. WriteDir names the files
// NNNN-<section>-NNNN.json (e.g. 0001-directory-0001.json,
// 0004-patients-0001.json); POST them to [base] in name order.
//
// Identifiers (systems under https://xietong.dev/fhir/sid/):
//   - resident-id: 居民身份证号码, type v2-0203 NI. Generated with the GB
//     11643 check character by a private helper (ids.go); it should move
//     to identity/idnumber when that package lands.
//   - ehc: e-health-card id, 64 upper-case hex characters (the length seen
//     in provincial QR payloads), SHA-256 of the seed and the ID number.
//   - mrn/<institution code>: one system per institution, each with its
//     own prefix; Identifier.assigner names the institution.
//   - institution-code: the project's institution code, the division code
//     and a three-digit sequence (110112001), type v2-0203 PRN.
//   - uscc: 统一社会信用代码 per GB 32100-2015: registration authority and
//     category (12 public institution, 52 private non-enterprise, 91
//     enterprise), division code, a GB 11714 organisation code with its
//     check character, and the GB 32100 check character (weights 1 3 9 27
//     19 26 16 17 20 29 25 13 8 24 10 30 28 modulo 31 over the 31-symbol
//     alphabet without I O Z S V). Type TAX.
//   - physician-licence: 医师执业证书编码-shaped, 15 digits (level,
//     category 1 clinical / 2 TCM / 4 public health, division, year,
//     sequence), type MD; nurse-licence: 12 digits, type RN;
//     staff-number/<institution code> for technologists.
//
// Code systems (https://xietong.dev/fhir/CodeSystem/, to be published by
// the terminology service): institution-kind, hospital-grade (3A 三级甲等,
// 3B, 2A, 2B, 1A, 1), cooperation-kind, affiliation-role,
// clinical-department (codes after the 医疗机构诊疗科目名录, e.g. 03.04
// 心血管内科 — to be verified against the catalogue), service-kind,
// professional-title, practice-registration (primary / regional),
// expert-pool-kind, lab-panel (for the AFP+CEA panel, which has no LOINC
// panel), gbt-2260. Standard systems where they fit: LOINC, UCUM, SNOMED
// CT (body sites, HBsAg positive/negative), DICOM DCM modalities, HL7
// organization-type, practitioner-role, v2-0203, v2-0074, v3-ActCode,
// v3-ObservationInterpretation, location-physical-type. LOINC codes
// without a † in the facts file, and the imaging procedure codes
// (36643-5, 24627-2, 24558-9, 24725-4, 24590-2), are to be verified.
//
// Addresses carry the division as Address.district (name) plus the
// extension https://xietong.dev/fhir/StructureDefinition/address-division
// (valueCoding in gbt-2260); city and state are the prefecture and the
// province or municipality.
//
// # Left for later issues
//
// One-code uses: every encounter of the last three months (since
// 2026-08-01) opens with the patient's e-health card scanned at the
// institution, recorded as the card service (package healthcard) records
// a resolve: an AuditEvent demo-use-<patient>-<nn> of type health-card,
// subtype resolve, with the institution, its city code, a channel (counter
// 30%, kiosk 20%, doctor workstation 25%, official-account app 15%,
// mini-program 10%, chosen by a hash of the encounter id) and the care
// step registration (carduse.go). $health-card-usage counts them.
//
// E-health cards: a card belongs to the person, not to an institution's
// record, so the generated Patients carry none; CardID derives each
// resident's card id from the seed and the ID number, and the loader of
// `serve --demo` (server.LoadDemo) writes it on the resident's EMPI master,
// as the card service's $issue-health-card does. The card-use records name
// the same id.
//
// Near-duplicates (duplicates.go): one resident in 40 is registered a
// second time at a hospital of another area (demo-dup-NNNNNN) with a
// registration slip: with the ID number and a homophone in the name (the
// EMPI links it), or without ID number and phone, after a move, with a
// misheard name and a swapped or mistyped birth date (the EMPI puts it in
// the review queue).
//
// Recognition qualifications (recognition.go): the hospitals of grade 2
// and above are members of the 京津冀 lab and imaging programmes, the
// independent lab of the lab programme (OrganizationAffiliation
// demo-rp-<programme>-<institution>, coded with the programme; tertiary
// hospitals since 2023-01-01, secondary ones since a year before demo
// today), and every lab member passed the EQA (室间质评) of each catalogue
// item the results use in 2025 and 2026 (Basic demo-eqa-<institution>-
// <year>-<item>). With the catalogue in, the recognition engine marks
// their results HR (decision 011).
//
// Recognition decisions (decisions.go): Repeats names every repeated lab
// panel (the patient, the institution that ordered it again, the moment,
// the catalogue item) with what the clinician decided (four in five
// accept a recognisable prior result, the others re-test with one of the
// nine reasons of 国卫医发〔2022〕6号, by a hash of the id). Whether a prior
// result is recognisable is the recognition engine's judgement, so the
// loader of `serve --demo` asks the engine's check at each repeat of the
// last six months and records the decision Task (demo-dec-*) only where
// the check found one.
//
// TODO(referrals, notifications): referrals and consultations between the
// cooperating institutions and infectious-disease reports are not
// generated yet.
package demo
