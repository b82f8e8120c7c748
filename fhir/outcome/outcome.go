// Package outcome is the one error type of the FHIR API: an error that
// knows its HTTP status and the OperationOutcome issues a client sees.
// Every layer that rejects a request returns an *Error; the HTTP layer
// writes it in one place. Errors of any other type are internal failures:
// the client gets a 500 with a safe message and the cause goes to the log.
//
// It depends on the standard library only.
package outcome

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    string   // fatal, error, warning, information
	Code        string   // an IssueType code: invalid, structure, required, value, not-found, conflict ...
	Diagnostics string   // what a person should know to fix it
	Expression  []string // FHIRPath locations of the problem, when known
}

// Error is a request failure with its HTTP status.
type Error struct {
	Status int
	Issues []Issue
	cause  error
}

func (e *Error) Error() string {
	if len(e.Issues) == 0 {
		return http.StatusText(e.Status)
	}
	msg := e.Issues[0].Diagnostics
	if len(e.Issues) > 1 {
		msg += fmt.Sprintf(" (and %d more issues)", len(e.Issues)-1)
	}
	return msg
}

// Unwrap gives the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// New makes an error with one issue of severity "error".
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Issues: []Issue{{Severity: "error", Code: code, Diagnostics: fmt.Sprintf(format, args...)}}}
}

// Wrap is New with an underlying cause kept for errors.Is and logs.
func Wrap(cause error, status int, code, format string, args ...any) *Error {
	e := New(status, code, format, args...)
	e.cause = cause
	return e
}

// At sets the FHIRPath location of the (first) issue and returns e.
func (e *Error) At(expression ...string) *Error {
	if len(e.Issues) > 0 {
		e.Issues[0].Expression = expression
	}
	return e
}

// Common constructors.
func BadRequest(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "invalid", format, args...)
}
func NotFound(format string, args ...any) *Error {
	return New(http.StatusNotFound, "not-found", format, args...)
}
func Gone(format string, args ...any) *Error {
	return New(http.StatusGone, "deleted", format, args...)
}
func Conflict(format string, args ...any) *Error {
	return New(http.StatusConflict, "conflict", format, args...)
}
func PreconditionFailed(format string, args ...any) *Error {
	return New(http.StatusPreconditionFailed, "conflict", format, args...)
}
func Unprocessable(format string, args ...any) *Error {
	return New(http.StatusUnprocessableEntity, "processing", format, args...)
}

// NotSupported is a request for something this server does not do (an
// operation, a feature): a 400 with issue code not-supported, since the
// fix is on the client's side (ask for something else), and no 5xx ever
// answers a request a client got wrong.
func NotSupported(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "not-supported", format, args...)
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Internal is what a client sees for a failure that is not its fault.
func Internal(cause error) *Error {
	return Wrap(cause, http.StatusInternalServerError, "exception",
		"The server failed to process the request; the error has been logged. Try again, and report it to the operator if it persists.")
}

// Resource renders the issues as an OperationOutcome resource.
func (e *Error) Resource() map[string]any {
	return Resource(e.Issues...)
}

// Resource renders issues as an OperationOutcome resource.
func Resource(issues ...Issue) map[string]any {
	list := make([]any, 0, len(issues))
	for _, is := range issues {
		m := map[string]any{"severity": is.Severity, "code": is.Code}
		if is.Diagnostics != "" {
			// Diagnostics often quote client input, which may not be UTF-8.
			m["diagnostics"] = strings.ToValidUTF8(is.Diagnostics, "\uFFFD")
		}
		if len(is.Expression) > 0 {
			ex := make([]any, len(is.Expression))
			for i, s := range is.Expression {
				ex[i] = strings.ToValidUTF8(s, "\uFFFD")
			}
			m["expression"] = ex
		}
		list = append(list, m)
	}
	if len(list) == 0 {
		list = append(list, map[string]any{"severity": "information", "code": "informational", "diagnostics": "All OK"})
	}
	return map[string]any{"resourceType": "OperationOutcome", "issue": list}
}
