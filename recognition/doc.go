// Package recognition is the engine of 检查检验结果互认 (mutual recognition
// of lab and imaging results between institutions, 国卫医发〔2022〕6号): a
// catalogue of recognised items per programme, the qualifications of the
// issuing institutions (programme membership, level, external quality
// assessment), the "HR" mark on qualifying results, the check at the
// point of ordering, the clinician's recorded decision and the statistics
// a commission watches. Decisions 011 and 012 explain the choices.
//
// Everything it keeps is a standard FHIR resource written through the
// node's API (see Resources for the mapping): programmes are
// PlanDefinitions, items ActivityDefinitions, memberships
// OrganizationAffiliations, EQA results Basic resources, decisions Tasks.
// What it keeps beside the resources are compact projections in its own
// tables (created by its own migrations through store.EngineTx): every
// result (Observation, DiagnosticReport) in recognition_result, and the
// links to the images of imaging results (an ImagingStudy's UID and
// endpoints, Media, DocumentReferences, a report's presentedForm) in
// recognition_image, written in the same transaction as the resource by
// the engine's fhirapi.Hook, so that the check answers from a few index
// probes whatever the size of the store.
//
// It depends on store (and its optional store.EngineSQL capability),
// search (to build store queries), fhir/outcome and fhirapi's Hook types.
// It must not depend on server, the console or another engine: the EMPI's
// master links are read from the Patient resources themselves.
package recognition
