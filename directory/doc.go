// Package directory is the regional directory's intake and finder (IHE
// mCSD-shaped, issue 5): `xietong import directory FILE.csv` reads
// institutions, departments, cooperations (consortia, alliances,
// pairings, trusteeships) with their members, practitioners, their
// practice sites, expert pools with their experts, locations and services
// from one CSV file, checks every
// row and turns the file into one FHIR transaction (all or nothing); the
// finder answers HealthcareService/$find, services sorted by distance.
//
// A file is one source's registry (decision 032): every resource an
// import writes carries the source (Options.Source, default "directory")
// as a meta.tag of vocab.SystemImportSource. With Options.Sync (`import
// directory --sync`) the source's records the file no longer lists are
// ended in the same transaction, never deleted: Organization, Practitioner,
// HealthcareService and Group active=false (a Group's members inactive),
// Location status inactive, PractitionerRole and OrganizationAffiliation
// active=false with period.end the import day; each with If-Match, so an
// institution's concurrent change fails the import instead of being lost.
// Records without the source's tag (written through the API, or by another
// source) are never ended; a row that comes back is active again, as its
// row says. A sync that would end more than Options.MaxEndShare (20 %) of
// the source's active records is refused (TooManyEnded) unless
// Options.Force; Options.DryRun compares and counts but writes nothing.
//
// The resources are shaped exactly as the demo region's (package demo):
// the same identifier systems, code systems and extensions, so imported
// and generated directories are one directory. It depends on store
// (reads), fhir/validate, fhir/fhirjson and fhir/outcome; it must not
// depend on fhirapi, server or any engine.
//
// # The CSV file
//
// UTF-8, comma-separated, a header line naming the columns (any order,
// each once; unknown names are an error), lines starting with # are
// comments, blank rows are skipped. Each row has a kind and an id (the
// resource id, 1–64 of A-Z a-z 0-9 - .; rows are written with PUT
// Type/id, so importing a file again updates the same resources and never
// duplicates them). Reference columns
// hold the id of another row of the file or of a resource already in the
// store. A row may leave a column it does not use empty; a value in a
// column its kind does not use is an error. Required columns are marked *.
//
//	kind          resource                  columns
//	institution   Organization              name*, code* (institution code: the six-digit division
//	                                        code and a three-digit sequence, unique), uscc* (统一社会
//	                                        信用代码, GB 32100 check character), division* (GB/T 2260),
//	                                        type* (institution kind), grade, address, city,
//	                                        district (the names the finder's city filter reads,
//	                                        e.g. 广州市, 天河区), phone
//	department    Organization (partOf)     name*, parent* (an institution), code* (clinical
//	                                        department: NN or NN.NN, e.g. 03.04 心血管内科)
//	cooperation   Organization              name*, type* (cooperation kind), start*, end, parent
//	                                        (a cooperation or institution above it), specialty
//	member        OrganizationAffiliation   parent* (the cooperation), organization* (the member
//	                                        institution), role* (lead, member, supporting,
//	                                        supported), start*, end, specialty
//	practitioner  Practitioner              name*, licence* (医师执业证书编码, 15 digits; a nurse's
//	                                        护士执业证书编号, 12 digits; unique), type (profession:
//	                                        doctor, tcm-doctor, public-health, nurse), gender
//	                                        (male/female or 男/女), birth_date, title, phone
//	role          PractitionerRole          practitioner*, organization*, start*, end, location,
//	                                        specialty, type (primary 第一执业机构 or regional
//	                                        区域注册执业机构: regional registration is one
//	                                        practitioner with roles at several institutions), phone
//	location      Location                  name*, organization*, division*, lat*, lon* (decimal
//	                                        degrees, WGS 84, within China), address, city,
//	                                        district, phone
//	service       HealthcareService         name*, organization*, location*, type* (service kind,
//	                                        e.g. tcm-clinic), specialty, phone
//	pool          Group (expert pool)       name*, type* (quality-control 质控专家库 or consultation
//	                                        会诊专家库), specialty, organization (the institution or
//	                                        cooperation that manages it)
//	expert        PractitionerRole          parent* (a pool row of this file), practitioner*,
//	                                        organization* (the institution the expert serves from),
//	                                        location, specialty (default the pool's), available,
//	                                        start, end, phone
//
// An expert is a PractitionerRole coded with its pool's kind, and its
// pool's Group (type practitioner, actual, code the kind, a specialty
// characteristic, managingEntity) lists every expert row naming it as a
// member (period from start and end), in file order; a pool and its
// experts are imported together, since the pool row writes the whole
// member list. available is when the expert can be called on, as
// PractitionerRole.availableTime: entries separated by ;, each days of
// the week (mon … sun, comma-separated, ranges mon-fri) and optionally a
// 24-hour time range (mon-fri 08:00-12:00; sat 08:00-11:30); days alone
// mean all day. The demo region writes its pools the same way.
//
// Codes: institution kinds general-hospital, tcm-hospital,
// maternal-child-health, specialty-hospital, community-health-centre,
// township-health-centre, cdc, elderly-care, independent-lab; grades 3A
// 3B 2A 2B 1A 1; cooperation kinds regional-collaboration,
// medical-consortium, county-medical-community, specialty-alliance,
// elderly-care-alliance, pairing, trusteeship; service kinds and titles
// as the demo's (vocab.ServiceKinds, vocab.Titles). Dates are YYYY-MM-DD.
//
// Parse checks every row and reports every problem with its line number
// and column (Errors), not only the first; the FHIR validator checks each
// resource too. Nothing is written unless the whole file is clean, and
// then in one transaction. testdata/directory.csv is a sample (invented
// institutions of 成德眉资).
//
// # The finder
//
// GET [base]/HealthcareService/$find?lat=&lon= with optional type (a
// service category or type code), specialty, city (a GB/T 2260 code — a
// prefecture code ending in 00 covers its districts, a province code
// ending in 0000 its prefectures — or a city or district name), kind (the
// providing institution's kind), radius (km, default 50) and count
// (default 10, at most 100). It computes the haversine distance from the
// point to each candidate service's Locations (position), keeps the
// nearest Location within the radius, and answers a searchset Bundle of
// HealthcareServices nearest first, each entry's search carrying mode
// match and the standard extension
// http://hl7.org/fhir/StructureDefinition/location-distance (valueDistance
// in km, UCUM), followed by the Locations and Organizations as include
// entries. Candidates come from one indexed search (type and specialty)
// with the Locations and Organizations included, so a call reads the
// matching services once; there is no spatial index (a region has
// thousands of services, not millions).
package directory
