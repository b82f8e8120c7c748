// Package recognition is the engine of 检查检验结果互认 (mutual recognition
// of lab and imaging results between institutions, 国卫医发〔2022〕6号): a
// catalogue of recognised items per programme, the qualifications of the
// issuing institutions (programme membership, level, external quality
// assessment), the "HR" mark on qualifying results, the check at the
// point of ordering, the clinician's recorded decision and the statistics
// a commission watches. Decision 011 explains the choices.
//
// Everything it keeps is a standard FHIR resource written through the
// node's API (see Resources for the mapping): programmes are
// PlanDefinitions, items ActivityDefinitions, memberships
// OrganizationAffiliations, EQA results Basic resources, decisions Tasks.
// The one thing it keeps beside the resources is a compact projection of
// every result (Observation, DiagnosticReport) in its own table
// (recognition_result, created by its own migrations through
// store.EngineTx), written in the same transaction as the result by the
// engine's fhirapi.Hook, so that the check answers from a few index
// probes whatever the size of the store.
//
// It depends on store (and its optional store.EngineSQL capability),
// search (to build store queries), fhir/outcome and fhirapi's Hook types.
// It must not depend on server, the console or another engine: the EMPI's
// master links are read from the Patient resources themselves.
package recognition
