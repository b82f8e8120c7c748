package server

import (
	"net/url"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/validate"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/search"
)

func newIndexer() fhirapi.Indexer { return search.NewIndexer() }

// validatorAdapter turns validation issues into OperationOutcome issues.
type validatorAdapter struct{ v *validate.Validator }

func newValidator() fhirapi.Validator {
	return validatorAdapter{validate.New(validate.WithBestPractice(false))}
}

func (a validatorAdapter) Validate(res map[string]any) []outcome.Issue {
	issues := a.v.Resource(res)
	if len(issues) == 0 {
		return nil
	}
	out := make([]outcome.Issue, len(issues))
	for i, is := range issues {
		out[i] = outcome.Issue{Severity: is.Severity, Code: is.Code, Diagnostics: is.Message}
		if is.Path != "" {
			out[i].Expression = []string{is.Path}
		}
	}
	return out
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
