package server

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
	_ "time/tzdata" // LoadZone must work on machines without a zone database

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/validate"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/search"
)

func newIndexer(zone *time.Location) fhirapi.Indexer { return search.NewIndexer(zone) }

// LoadZone resolves a time-zone setting: an IANA name ("Asia/Shanghai",
// the default) or a fixed offset ("+08:00"). The zone database is embedded
// (time/tzdata), so this works on machines without one.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	if len(name) == 6 && (name[0] == '+' || name[0] == '-') && name[3] == ':' {
		h, err1 := strconv.Atoi(name[1:3])
		m, err2 := strconv.Atoi(name[4:6])
		if err1 == nil && err2 == nil && h <= 14 && m < 60 {
			off := h*3600 + m*60
			if name[0] == '-' {
				off = -off
			}
			return time.FixedZone(name, off), nil
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: want an IANA name such as Asia/Shanghai or an offset such as +08:00", name)
	}
	return loc, nil
}

// DefaultTimeZone is the zone of dates written without one: the platform
// serves Chinese regions.
const DefaultTimeZone = "Asia/Shanghai"

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
