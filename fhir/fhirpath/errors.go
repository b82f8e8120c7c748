package fhirpath

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorKind classifies an Error.
type ErrorKind uint8

const (
	// SyntaxError: the expression does not follow the FHIRPath grammar.
	SyntaxError ErrorKind = iota + 1
	// SemanticError: the expression is well formed but meaningless, e.g. an
	// unknown function, a wrong number of arguments, or an unknown type.
	SemanticError
	// ExecutionError: evaluation failed, e.g. a singleton was expected but the
	// collection had several items, or operands had incompatible types.
	ExecutionError
)

func (k ErrorKind) String() string {
	switch k {
	case SyntaxError:
		return "syntax error"
	case SemanticError:
		return "semantic error"
	case ExecutionError:
		return "execution error"
	}
	return "error"
}

// Error is the only error type returned by this package. Compile returns
// SyntaxError and SemanticError with a position; Evaluate returns
// ExecutionError (with the position of the failing sub-expression when known)
// or errors from caller-supplied callbacks wrapped in an ExecutionError.
type Error struct {
	Kind   ErrorKind
	Msg    string
	Offset int // byte offset in the expression, -1 if unknown
	Line   int // 1-based, 0 if unknown
	Column int // 1-based, in runes, 0 if unknown
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fhirpath: ")
	b.WriteString(e.Kind.String())
	if e.Line > 0 {
		fmt.Fprintf(&b, " at %d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsKind reports whether err is an *Error of the given kind.
func IsKind(err error, k ErrorKind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

func position(src string, off int) (line, col int) {
	if off < 0 {
		return 0, 0
	}
	if off > len(src) {
		off = len(src)
	}
	line, col = 1, 1
	for _, r := range src[:off] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

func newSyntaxError(src string, off int, msg string) *Error {
	l, c := position(src, off)
	return &Error{Kind: SyntaxError, Msg: msg, Offset: off, Line: l, Column: c}
}

func newSemanticError(src string, off int, msg string) *Error {
	l, c := position(src, off)
	return &Error{Kind: SemanticError, Msg: msg, Offset: off, Line: l, Column: c}
}

// execErr builds an execution error; the position is filled in by the node
// that reports it (see withPos).
func execErr(format string, args ...any) *Error {
	return &Error{Kind: ExecutionError, Msg: fmt.Sprintf(format, args...), Offset: -1}
}
