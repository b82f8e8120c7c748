package fhirpath

import (
	"strconv"
	"strings"
)

type nodeKind uint8

const (
	nLiteral  nodeKind = iota + 1 // lit
	nEmpty                        // {}
	nMember                       // left.name, or name on the focus when left is nil
	nFunc                         // left.name(args), or name(args) on the focus
	nThis                         // $this
	nIndexVar                     // $index
	nTotal                        // $total
	nExtConst                     // %name
	nIndexer                      // left[right]
	nUnary                        // op left
	nBinary                       // left op right
	nTypeOp                       // left is/as typeName
	nParen                        // (left)
)

type astNode struct {
	kind     nodeKind
	pos      int
	op       string
	name     string
	left     *astNode
	right    *astNode
	args     []*astNode
	lit      Value
	typeName string // for nTypeOp: "FHIR.Patient", "Quantity", ...
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

const maxDepth = 400

func parse(src string) (*astNode, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "unexpected "+describe(t))
	}
	return n, nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "string " + strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, msg string) error { return newSyntaxError(p.src, t.pos, msg) }

func (p *parser) expectOp(op string) error {
	t := p.peek()
	if t.kind == tOp && t.text == op {
		p.i++
		return nil
	}
	return p.errAt(t, "expected "+strconv.Quote(op)+", found "+describe(t))
}

// binary operator precedence, higher binds tighter.
func binPrec(t token) int {
	switch t.kind {
	case tOp:
		switch t.text {
		case "*", "/":
			return 9
		case "+", "-", "&":
			return 8
		case "|":
			return 6
		case "<", ">", "<=", ">=":
			return 5
		case "=", "~", "!=", "!~":
			return 4
		}
	case tIdent:
		switch t.text {
		case "div", "mod":
			return 9
		case "is", "as":
			return 7
		case "in", "contains":
			return 3
		case "and":
			return 2
		case "or", "xor":
			return 1
		case "implies":
			return 0
		}
	}
	return -1
}

func (p *parser) expr(minPrec int) (*astNode, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errAt(p.peek(), "expression nested too deeply")
	}
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec := binPrec(t)
		if prec < 0 || prec < minPrec {
			return left, nil
		}
		p.i++
		if prec == 7 { // is / as
			name, err := p.typeSpecifier()
			if err != nil {
				return nil, err
			}
			left = &astNode{kind: nTypeOp, pos: t.pos, op: t.text, left: left, typeName: name}
			continue
		}
		right, err := p.expr(prec + 1)
		if err != nil {
			return nil, err
		}
		left = &astNode{kind: nBinary, pos: t.pos, op: t.text, left: left, right: right}
	}
}

func (p *parser) typeSpecifier() (string, error) {
	t := p.advance()
	if t.kind != tIdent && t.kind != tDelimIdent {
		return "", p.errAt(t, "expected a type name, found "+describe(t))
	}
	name := t.text
	for {
		n := p.peek()
		if n.kind == tOp && n.text == "." && p.i+1 < len(p.toks) && (p.toks[p.i+1].kind == tIdent || p.toks[p.i+1].kind == tDelimIdent) {
			// qualified identifier, e.g. FHIR.Patient or a backbone path
			p.i++
			name += "." + p.advance().text
			continue
		}
		return name, nil
	}
}

func (p *parser) unary() (*astNode, error) {
	t := p.peek()
	if t.kind == tOp && (t.text == "+" || t.text == "-") {
		p.i++
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, p.errAt(t, "expression nested too deeply")
		}
		operand, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &astNode{kind: nUnary, pos: t.pos, op: t.text, left: operand}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (*astNode, error) {
	n, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp {
			return n, nil
		}
		switch t.text {
		case ".":
			p.i++
			inv, err := p.invocation()
			if err != nil {
				return nil, err
			}
			if inv.kind != nMember && inv.kind != nFunc {
				return nil, p.errAt(t, "expected a name or function after '.'")
			}
			inv.left = n
			n = inv
		case "[":
			p.i++
			idx, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			n = &astNode{kind: nIndexer, pos: t.pos, left: n, right: idx}
		default:
			return n, nil
		}
	}
}

func (p *parser) invocation() (*astNode, error) {
	t := p.peek()
	switch t.kind {
	case tIdent, tDelimIdent:
		p.i++
		if t.kind == tIdent {
			if nt := p.peek(); nt.kind == tOp && nt.text == "(" {
				p.i++
				args, err := p.argList()
				if err != nil {
					return nil, err
				}
				return &astNode{kind: nFunc, pos: t.pos, name: t.text, args: args}, nil
			}
		}
		return &astNode{kind: nMember, pos: t.pos, name: t.text}, nil
	case tSpecial:
		p.i++
		switch t.text {
		case "this":
			return &astNode{kind: nThis, pos: t.pos}, nil
		case "index":
			return &astNode{kind: nIndexVar, pos: t.pos}, nil
		default:
			return &astNode{kind: nTotal, pos: t.pos}, nil
		}
	}
	return nil, p.errAt(t, "expected a name, found "+describe(t))
}

func (p *parser) argList() ([]*astNode, error) {
	var args []*astNode
	if t := p.peek(); t.kind == tOp && t.text == ")" {
		p.i++
		return args, nil
	}
	for {
		a, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		t := p.advance()
		if t.kind == tOp && t.text == ")" {
			return args, nil
		}
		if t.kind != tOp || t.text != "," {
			return nil, p.errAt(t, "expected ',' or ')', found "+describe(t))
		}
	}
}

var calendarUnits = map[string]string{
	"year": "year", "years": "year", "month": "month", "months": "month",
	"week": "week", "weeks": "week", "day": "day", "days": "day",
	"hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
	"second": "second", "seconds": "second", "millisecond": "millisecond", "milliseconds": "millisecond",
}

func (p *parser) term() (*astNode, error) {
	t := p.peek()
	switch t.kind {
	case tNumber:
		p.i++
		var num Value
		if strings.IndexByte(t.text, '.') >= 0 {
			d, ok := parseDecimal(t.text)
			if !ok {
				return nil, p.errAt(t, "invalid number")
			}
			num = decimalValue(d)
		} else {
			n, err := strconv.ParseInt(t.text, 10, 32)
			if err != nil {
				// too large for Integer: treat as Decimal per the grammar's NUMBER
				d, ok := parseDecimal(t.text)
				if !ok {
					return nil, p.errAt(t, "invalid number")
				}
				num = decimalValue(d)
			} else {
				num = intValue(n)
			}
		}
		// quantity?
		u := p.peek()
		if u.kind == tString {
			p.i++
			q, ok := newQuantity(num, u.text)
			if !ok {
				return nil, p.errAt(u, "invalid quantity")
			}
			return &astNode{kind: nLiteral, pos: t.pos, lit: q}, nil
		}
		if u.kind == tIdent {
			if cu, ok := calendarUnits[u.text]; ok {
				p.i++
				q, _ := newQuantity(num, cu)
				return &astNode{kind: nLiteral, pos: t.pos, lit: q}, nil
			}
		}
		return &astNode{kind: nLiteral, pos: t.pos, lit: num}, nil
	case tLongNumber:
		p.i++
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errAt(t, "invalid long number")
		}
		return &astNode{kind: nLiteral, pos: t.pos, lit: intValue(n)}, nil
	case tString:
		p.i++
		return &astNode{kind: nLiteral, pos: t.pos, lit: stringValue(t.text)}, nil
	case tDate, tDateTime, tTime:
		p.i++
		var v Value
		var ok bool
		switch t.kind {
		case tDate:
			v, ok = parseDateValue(t.text)
		case tDateTime:
			v, ok = parseDateTimeValue(t.text)
		default:
			v, ok = parseTimeValue(t.text)
		}
		if !ok {
			return nil, p.errAt(t, "invalid date/time literal")
		}
		return &astNode{kind: nLiteral, pos: t.pos, lit: v}, nil
	case tExtConst:
		p.i++
		return &astNode{kind: nExtConst, pos: t.pos, name: t.text}, nil
	case tOp:
		switch t.text {
		case "(":
			p.i++
			e, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return &astNode{kind: nParen, pos: t.pos, left: e}, nil
		case "{":
			p.i++
			if err := p.expectOp("}"); err != nil {
				return nil, err
			}
			return &astNode{kind: nEmpty, pos: t.pos}, nil
		}
	case tIdent:
		switch t.text {
		case "true", "false":
			p.i++
			return &astNode{kind: nLiteral, pos: t.pos, lit: boolValue(t.text == "true")}, nil
		}
		return p.invocation()
	case tDelimIdent, tSpecial:
		return p.invocation()
	}
	return nil, p.errAt(t, "unexpected "+describe(t))
}
