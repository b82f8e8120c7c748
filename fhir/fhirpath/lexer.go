package fhirpath

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tDelimIdent // `...`
	tString
	tNumber
	tLongNumber
	tDate
	tDateTime
	tTime
	tExtConst // %name or %`name` or %'name'
	tSpecial  // $this $index $total
	tOp       // punctuation / operators
)

type token struct {
	kind tokKind
	text string // identifier / string value (unescaped) / literal text / operator
	pos  int    // byte offset in the source
}

// lexer turns an expression into tokens. It does not allocate per token
// beyond the token slice and unescaped strings.
type lexer struct {
	src  string
	pos  int
	toks []token
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src}
	for {
		if err := l.skipSpace(); err != nil {
			return nil, err
		}
		if l.pos >= len(l.src) {
			l.toks = append(l.toks, token{kind: tEOF, pos: l.pos})
			return l.toks, nil
		}
		if err := l.next(); err != nil {
			return nil, err
		}
	}
}

func (l *lexer) skipSpace() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			l.pos++
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '*':
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return l.errAt(l.pos, "unterminated comment")
			}
			l.pos += end + 4
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) errAt(pos int, msg string) error {
	return newSyntaxError(l.src, pos, msg)
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) emit(k tokKind, text string, pos int) {
	l.toks = append(l.toks, token{kind: k, text: text, pos: pos})
}

func (l *lexer) next() error {
	start := l.pos
	c := l.src[l.pos]
	switch {
	case isIdentStart(c):
		for l.pos < len(l.src) && (isIdentStart(l.src[l.pos]) || isDigit(l.src[l.pos])) {
			l.pos++
		}
		l.emit(tIdent, l.src[start:l.pos], start)
		return nil
	case isDigit(c):
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
		if l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
			l.pos++
			for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
				l.pos++
			}
		} else if l.pos < len(l.src) && l.src[l.pos] == 'L' && (l.pos+1 >= len(l.src) || !(isIdentStart(l.src[l.pos+1]) || isDigit(l.src[l.pos+1]))) {
			l.pos++
			l.emit(tLongNumber, l.src[start:l.pos-1], start)
			return nil
		}
		l.emit(tNumber, l.src[start:l.pos], start)
		return nil
	case c == '\'' || c == '`':
		s, err := l.quoted(c)
		if err != nil {
			return err
		}
		if c == '`' {
			l.emit(tDelimIdent, s, start)
		} else {
			l.emit(tString, s, start)
		}
		return nil
	case c == '@':
		return l.dateTime()
	case c == '%':
		l.pos++
		if l.pos >= len(l.src) {
			return l.errAt(start, "expected a name after %")
		}
		c2 := l.src[l.pos]
		switch {
		case c2 == '`' || c2 == '\'':
			s, err := l.quoted(c2)
			if err != nil {
				return err
			}
			l.emit(tExtConst, s, start)
		case isIdentStart(c2):
			b := l.pos
			for l.pos < len(l.src) && (isIdentStart(l.src[l.pos]) || isDigit(l.src[l.pos])) {
				l.pos++
			}
			l.emit(tExtConst, l.src[b:l.pos], start)
		default:
			return l.errAt(start, "expected a name after %")
		}
		return nil
	case c == '$':
		l.pos++
		b := l.pos
		for l.pos < len(l.src) && (isIdentStart(l.src[l.pos]) || isDigit(l.src[l.pos])) {
			l.pos++
		}
		name := l.src[b:l.pos]
		switch name {
		case "this", "index", "total":
			l.emit(tSpecial, name, start)
			return nil
		}
		return l.errAt(start, "unknown special variable $"+name)
	}
	// operators
	two := ""
	if l.pos+1 < len(l.src) {
		two = l.src[l.pos : l.pos+2]
	}
	switch two {
	case "<=", ">=", "!=", "!~":
		l.pos += 2
		l.emit(tOp, two, start)
		return nil
	}
	switch c {
	case '.', '[', ']', '(', ')', '{', '}', ',', '+', '-', '*', '/', '&', '|', '<', '>', '=', '~':
		l.pos++
		l.emit(tOp, string(c), start)
		return nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return l.errAt(start, "unexpected character "+strconv.QuoteRune(r))
}

// quoted reads a string or delimited identifier, handling FHIRPath escapes.
func (l *lexer) quoted(q byte) (string, error) {
	start := l.pos
	l.pos++
	var sb *strings.Builder
	seg := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == q {
			var s string
			if sb == nil {
				s = l.src[seg:l.pos]
			} else {
				sb.WriteString(l.src[seg:l.pos])
				s = sb.String()
			}
			l.pos++
			return s, nil
		}
		if c != '\\' {
			l.pos++
			continue
		}
		if sb == nil {
			sb = &strings.Builder{}
		}
		sb.WriteString(l.src[seg:l.pos])
		if l.pos+1 >= len(l.src) {
			break
		}
		e := l.src[l.pos+1]
		l.pos += 2
		switch e {
		case '\'', '"', '`', '\\', '/':
			sb.WriteByte(e)
		case 'r':
			sb.WriteByte('\r')
		case 'n':
			sb.WriteByte('\n')
		case 't':
			sb.WriteByte('\t')
		case 'f':
			sb.WriteByte('\f')
		case 'u':
			if l.pos+4 > len(l.src) {
				return "", l.errAt(l.pos-2, "invalid unicode escape")
			}
			n, err := strconv.ParseUint(l.src[l.pos:l.pos+4], 16, 32)
			if err != nil {
				return "", l.errAt(l.pos-2, "invalid unicode escape")
			}
			l.pos += 4
			r := rune(n)
			// surrogate pair
			if r >= 0xD800 && r < 0xDC00 && l.pos+6 <= len(l.src) && l.src[l.pos] == '\\' && l.src[l.pos+1] == 'u' {
				if n2, err := strconv.ParseUint(l.src[l.pos+2:l.pos+6], 16, 32); err == nil && n2 >= 0xDC00 && n2 < 0xE000 {
					r = (r-0xD800)<<10 + (rune(n2) - 0xDC00) + 0x10000
					l.pos += 6
				}
			}
			sb.WriteRune(r)
		default:
			return "", l.errAt(l.pos-2, "invalid escape \\"+string(e))
		}
		seg = l.pos
	}
	return "", l.errAt(start, "unterminated string")
}

// dateTime lexes @YYYY[-MM[-DD]][T[hh[:mm[:ss[.fff]]]][tz]] and @Thh[:mm[:ss[.fff]]].
func (l *lexer) dateTime() error {
	start := l.pos
	l.pos++
	src := l.src
	digits := func(n int) bool {
		if l.pos+n > len(src) {
			return false
		}
		for i := 0; i < n; i++ {
			if !isDigit(src[l.pos+i]) {
				return false
			}
		}
		l.pos += n
		return true
	}
	timePart := func() error {
		if !digits(2) {
			return l.errAt(start, "invalid time literal")
		}
		if l.pos+2 < len(src) && src[l.pos] == ':' && isDigit(src[l.pos+1]) {
			l.pos++
			if !digits(2) {
				return l.errAt(start, "invalid time literal")
			}
			if l.pos+2 < len(src) && src[l.pos] == ':' && isDigit(src[l.pos+1]) {
				l.pos++
				if !digits(2) {
					return l.errAt(start, "invalid time literal")
				}
				if l.pos+1 < len(src) && src[l.pos] == '.' && isDigit(src[l.pos+1]) {
					l.pos++
					for l.pos < len(src) && isDigit(src[l.pos]) {
						l.pos++
					}
				}
			}
		}
		return nil
	}
	tz := func() error {
		if l.pos < len(src) && src[l.pos] == 'Z' {
			l.pos++
			return nil
		}
		if l.pos+5 < len(src)+0 && (src[l.pos] == '+' || src[l.pos] == '-') && isDigit(src[l.pos+1]) {
			l.pos++
			if !digits(2) || l.pos >= len(src) || src[l.pos] != ':' {
				return l.errAt(start, "invalid timezone")
			}
			l.pos++
			if !digits(2) {
				return l.errAt(start, "invalid timezone")
			}
		}
		return nil
	}
	if l.pos < len(src) && src[l.pos] == 'T' {
		l.pos++
		if err := timePart(); err != nil {
			return err
		}
		if l.pos < len(src) && (src[l.pos] == 'Z' || ((src[l.pos] == '+' || src[l.pos] == '-') && l.pos+1 < len(src) && isDigit(src[l.pos+1]))) {
			return l.errAt(start, "a time literal cannot have a timezone")
		}
		l.emit(tTime, src[start+2:l.pos], start)
		return nil
	}
	if !digits(4) {
		return l.errAt(start, "invalid date literal")
	}
	if l.pos+1 < len(src) && src[l.pos] == '-' && isDigit(src[l.pos+1]) {
		l.pos++
		if !digits(2) {
			return l.errAt(start, "invalid date literal")
		}
		if l.pos+1 < len(src) && src[l.pos] == '-' && isDigit(src[l.pos+1]) {
			l.pos++
			if !digits(2) {
				return l.errAt(start, "invalid date literal")
			}
		}
	}
	if l.pos < len(src) && src[l.pos] == 'T' {
		l.pos++
		if l.pos < len(src) && isDigit(src[l.pos]) {
			if err := timePart(); err != nil {
				return err
			}
			if err := tz(); err != nil {
				return err
			}
		} else if l.pos < len(src) && src[l.pos] == 'Z' {
			l.pos++
		}
		l.emit(tDateTime, src[start+1:l.pos], start)
		return nil
	}
	if l.pos < len(src) && (src[l.pos] == 'Z') {
		// @2015Z is not a valid literal
		return l.errAt(start, "invalid date literal")
	}
	l.emit(tDate, src[start+1:l.pos], start)
	return nil
}
