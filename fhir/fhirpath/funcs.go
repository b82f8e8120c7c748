package fhirpath

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// funcImpl implements a function. in is the input collection, args the
// compiled arguments (evaluated by the implementation: once against focus,
// or per item for expression arguments such as where's criteria), focus
// the context the arguments are evaluated against.
type funcImpl func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error)

type funcDef struct {
	min, max int
	impl     funcImpl
}

var functions map[string]funcDef

func init() {
	functions = map[string]funcDef{
		// existence
		"empty":      {0, 0, fnEmpty},
		"exists":     {0, 1, fnExists},
		"all":        {1, 1, fnAll},
		"allTrue":    {0, 0, boolAgg(true, true)},
		"anyTrue":    {0, 0, boolAgg(false, true)},
		"allFalse":   {0, 0, boolAgg(true, false)},
		"anyFalse":   {0, 0, boolAgg(false, false)},
		"subsetOf":   {1, 1, fnSubsetOf},
		"supersetOf": {1, 1, fnSupersetOf},
		"count":      {0, 0, fnCount},
		"distinct":   {0, 0, fnDistinct},
		"isDistinct": {0, 0, fnIsDistinct},
		// filtering and projection
		"where":  {1, 1, fnWhere},
		"select": {1, 1, fnSelect},
		"repeat": {1, 1, fnRepeat},
		// subsetting
		"single":    {0, 0, fnSingle},
		"first":     {0, 0, fnFirst},
		"last":      {0, 0, fnLast},
		"tail":      {0, 0, fnTail},
		"skip":      {1, 1, fnSkip},
		"take":      {1, 1, fnTake},
		"intersect": {1, 1, fnIntersect},
		"exclude":   {1, 1, fnExclude},
		// combining
		"union":   {1, 1, fnUnion},
		"combine": {1, 1, fnCombine},
		// conversion
		"iif":                {2, 3, fnIif},
		"toBoolean":          {0, 0, convFn(convBoolean, false)},
		"convertsToBoolean":  {0, 0, convFn(convBoolean, true)},
		"toInteger":          {0, 0, convFn(convInteger, false)},
		"convertsToInteger":  {0, 0, convFn(convInteger, true)},
		"toLong":             {0, 0, convFn(convInteger, false)},
		"convertsToLong":     {0, 0, convFn(convInteger, true)},
		"toDecimal":          {0, 0, convFn(convDecimal, false)},
		"convertsToDecimal":  {0, 0, convFn(convDecimal, true)},
		"toString":           {0, 0, convFn(convString, false)},
		"convertsToString":   {0, 0, convFn(convString, true)},
		"toDate":             {0, 0, convFn(convDate, false)},
		"convertsToDate":     {0, 0, convFn(convDate, true)},
		"toDateTime":         {0, 0, convFn(convDateTime, false)},
		"convertsToDateTime": {0, 0, convFn(convDateTime, true)},
		"toTime":             {0, 0, convFn(convTime, false)},
		"convertsToTime":     {0, 0, convFn(convTime, true)},
		"toQuantity":         {0, 1, fnToQuantity(false)},
		"convertsToQuantity": {0, 1, fnToQuantity(true)},
		// string
		"indexOf":        {1, 1, fnIndexOf},
		"lastIndexOf":    {1, 1, fnLastIndexOf},
		"substring":      {1, 2, fnSubstring},
		"startsWith":     {1, 1, strPred(strings.HasPrefix)},
		"endsWith":       {1, 1, strPred(strings.HasSuffix)},
		"contains":       {1, 1, strPred(strings.Contains)},
		"upper":          {0, 0, strMap(upper)},
		"lower":          {0, 0, strMap(strings.ToLower)},
		"trim":           {0, 0, strMap(strings.TrimSpace)},
		"replace":        {2, 2, fnReplace},
		"matches":        {1, 1, fnMatches(false)},
		"matchesFull":    {1, 1, fnMatches(true)},
		"replaceMatches": {2, 2, fnReplaceMatches},
		"length":         {0, 0, fnLength},
		"toChars":        {0, 0, fnToChars},
		"split":          {1, 1, fnSplit},
		"join":           {0, 1, fnJoin},
		"encode":         {1, 1, fnEncode},
		"decode":         {1, 1, fnDecode},
		"escape":         {1, 1, fnEscape},
		"unescape":       {1, 1, fnUnescape},
		// math
		"abs":      {0, 0, fnAbs},
		"ceiling":  {0, 0, fnCeiling},
		"floor":    {0, 0, fnFloor},
		"truncate": {0, 0, fnTruncate},
		"round":    {0, 1, fnRound},
		"exp":      {0, 0, floatFn(math.Exp)},
		"ln":       {0, 0, floatFn(math.Log)},
		"sqrt":     {0, 0, floatFn(math.Sqrt)},
		"log":      {1, 1, fnLog},
		"power":    {1, 1, fnPower},
		// tree navigation
		"children":    {0, 0, fnChildren},
		"descendants": {0, 0, fnDescendants},
		// utility
		"trace":          {1, 2, fnTrace},
		"now":            {0, 0, fnNow},
		"today":          {0, 0, fnToday},
		"timeOfDay":      {0, 0, fnTimeOfDay},
		"not":            {0, 0, fnNot},
		"aggregate":      {1, 2, fnAggregate},
		"sum":            {0, 0, fnSum},
		"min":            {0, 0, fnMinMax(-1)},
		"max":            {0, 0, fnMinMax(1)},
		"avg":            {0, 0, fnAvg},
		"sort":           {0, 16, nil}, // compiled specially
		"lowBoundary":    {0, 1, fnBoundary(false)},
		"highBoundary":   {0, 1, fnBoundary(true)},
		"precision":      {0, 0, fnPrecision},
		"comparable":     {1, 1, fnComparable},
		"type":           {0, 0, fnType},
		"defineVariable": {1, 2, nil}, // compiled specially
		// FHIR
		"extension":       {1, 1, fnExtension},
		"hasValue":        {0, 0, fnHasValue},
		"getValue":        {0, 0, fnGetValue},
		"resolve":         {0, 0, fnResolve},
		"memberOf":        {1, 1, fnMemberOf},
		"conformsTo":      {1, 1, fnConformsTo},
		"htmlChecks":      {0, 0, fnHTMLChecks},
		"htmlChecks2":     {0, 0, fnHTMLChecks},
		"hasTemplateIdOf": {1, 1, func(*evalCtx, Collection, []evalFunc, Collection) (Collection, error) { return falseColl, nil }},
		"getReferenceKey": {0, 1, fnGetReferenceKey},
	}
}

func (cp *compiler) compileFunc(n *astNode) (evalFunc, error) {
	var left evalFunc
	if n.left != nil {
		var err error
		if left, err = cp.compile(n.left); err != nil {
			return nil, err
		}
	}
	switch n.name {
	case "is", "as", "ofType":
		if len(n.args) != 1 {
			return nil, cp.semErr(n, "%s() takes 1 argument, got %d", n.name, len(n.args))
		}
		name, ok := typeNameOf(n.args[0])
		if !ok {
			return nil, cp.semErr(n.args[0], "%s() expects a type name", n.name)
		}
		ts, err := cp.resolveType(n.args[0], name)
		if err != nil {
			return nil, err
		}
		in := inputOf(left)
		switch n.name {
		case "is":
			return cp.wrap(n, isFunc(in, ts)), nil
		case "as":
			return cp.wrap(n, asFunc(in, ts, true)), nil
		}
		return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
			v, err := in(c, focus)
			if err != nil {
				return nil, err
			}
			return ofType(v, ts), nil
		}), nil
	case "defineVariable":
		return cp.compileDefineVariable(n, left)
	case "sort":
		return cp.compileSort(n, left)
	}
	def, ok := functions[n.name]
	if !ok {
		return nil, cp.semErr(n, "unknown function %s()", n.name)
	}
	if len(n.args) < def.min || len(n.args) > def.max {
		if def.min == def.max {
			return nil, cp.semErr(n, "%s() takes %d argument(s), got %d", n.name, def.min, len(n.args))
		}
		return nil, cp.semErr(n, "%s() takes %d to %d arguments, got %d", n.name, def.min, def.max, len(n.args))
	}
	args := make([]evalFunc, len(n.args))
	for i, a := range n.args {
		f, err := cp.compile(a)
		if err != nil {
			return nil, err
		}
		args[i] = f
	}
	impl := def.impl
	in := inputOf(left)
	return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
		input, err := in(c, focus)
		if err != nil {
			return nil, err
		}
		return impl(c, input, args, focus)
	}), nil
}

func inputOf(left evalFunc) evalFunc {
	if left != nil {
		return left
	}
	return func(_ *evalCtx, focus Collection) (Collection, error) { return focus, nil }
}

// typeNameOf extracts a type specifier from an argument written as an
// identifier or qualified identifier.
func typeNameOf(n *astNode) (string, bool) {
	switch n.kind {
	case nMember:
		if n.left == nil {
			return n.name, true
		}
		l, ok := typeNameOf(n.left)
		if !ok {
			return "", false
		}
		return l + "." + n.name, true
	case nParen:
		return typeNameOf(n.left)
	}
	return "", false
}

func (cp *compiler) compileDefineVariable(n *astNode, left evalFunc) (evalFunc, error) {
	if len(n.args) < 1 || len(n.args) > 2 {
		return nil, cp.semErr(n, "defineVariable() takes 1 or 2 arguments")
	}
	if n.args[0].kind != nLiteral {
		return nil, cp.semErr(n, "defineVariable() expects a name")
	}
	name, ok := n.args[0].lit.v.(string)
	if !ok {
		return nil, cp.semErr(n, "defineVariable() expects a name")
	}
	var val evalFunc
	if len(n.args) == 2 {
		var err error
		if val, err = cp.compile(n.args[1]); err != nil {
			return nil, err
		}
	}
	in := inputOf(left)
	// The variable is visible to the rest of the invocation chain; the
	// chain's later steps are compiled as parents of this node, so the
	// frame is pushed on the context and left for them (it is scoped to
	// the evaluation).
	return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
		input, err := in(c, focus)
		if err != nil {
			return nil, err
		}
		v := input
		if val != nil {
			if v, err = val(c, input); err != nil {
				return nil, err
			}
		}
		for f := c.vars; f != nil; f = f.next {
			if f.name == name {
				return nil, execErr("variable %%%s is already defined", name)
			}
		}
		c.vars = &varFrame{name: name, val: v, next: c.vars}
		return input, nil
	}), nil
}

// ---- iteration helpers ----

// withItem evaluates f with $this = item and $index = i.
func withItem(c *evalCtx, f evalFunc, item Value, i int) (Collection, error) {
	saveThis, saveIndex, saveVars := c.this, c.index, c.vars
	c.this, c.index = item, i
	c.depth++
	if c.depth > 1000 {
		c.depth--
		return nil, execErr("evaluation nested too deeply")
	}
	out, err := f(c, Collection{item})
	c.depth--
	c.this, c.index, c.vars = saveThis, saveIndex, saveVars
	return out, err
}

func evalArg(c *evalCtx, f evalFunc, focus Collection) (Collection, error) {
	saveVars := c.vars
	out, err := f(c, focus)
	c.vars = saveVars
	return out, err
}

// ---- existence ----

func fnEmpty(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return boolColl(len(in) == 0), nil
}

func fnExists(c *evalCtx, in Collection, args []evalFunc, f Collection) (Collection, error) {
	if len(args) == 0 {
		return boolColl(len(in) > 0), nil
	}
	for i, it := range in {
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		if b, ok, err := boolOf(r, "exists"); err != nil {
			return nil, err
		} else if ok && b {
			return trueColl, nil
		}
	}
	return falseColl, nil
}

func fnAll(c *evalCtx, in Collection, args []evalFunc, _ Collection) (Collection, error) {
	for i, it := range in {
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		b, ok, err := boolOf(r, "all")
		if err != nil {
			return nil, err
		}
		if !ok || !b {
			return falseColl, nil
		}
	}
	return trueColl, nil
}

// boolAgg implements allTrue (all, want true), anyTrue, allFalse, anyFalse.
func boolAgg(all, want bool) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		for _, it := range in {
			s, ok := system(it)
			b, isBool := s.v.(bool)
			if !ok || !isBool {
				return nil, execErr("expected Boolean items, got %s", it.TypeName())
			}
			if all && b != want {
				return falseColl, nil
			}
			if !all && b == want {
				return trueColl, nil
			}
		}
		return boolColl(all), nil
	}
}

func fnSubsetOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	set := setOf(c, other)
	for _, it := range in {
		if !set.contains(it) {
			return falseColl, nil
		}
	}
	return trueColl, nil
}

func fnSupersetOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	set := setOf(c, in)
	for _, it := range other {
		if !set.contains(it) {
			return falseColl, nil
		}
	}
	return trueColl, nil
}

func fnCount(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return Collection{intValue(int64(len(in)))}, nil
}

func fnDistinct(c *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) < 2 {
		return in, nil
	}
	return setOf(c, in).items, nil
}

func fnIsDistinct(c *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return boolColl(len(setOf(c, in).items) == len(in)), nil
}

// ---- filtering ----

func fnWhere(c *evalCtx, in Collection, args []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for i, it := range in {
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		b, ok, err := boolOf(r, "where")
		if err != nil {
			return nil, err
		}
		if ok && b {
			out = append(out, it)
		}
	}
	return out, nil
}

func fnSelect(c *evalCtx, in Collection, args []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for i, it := range in {
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		if out == nil && i == len(in)-1 {
			return r, nil
		}
		out = append(out, r...)
	}
	return out, nil
}

func fnRepeat(c *evalCtx, in Collection, args []evalFunc, _ Collection) (Collection, error) {
	out := newItemSet(c, 0)
	queue := in
	for round := 0; len(queue) > 0; round++ {
		if round > 10000 || len(out.items) > 1_000_000 {
			return nil, execErr("repeat() did not terminate")
		}
		var next Collection
		for i, it := range queue {
			r, err := withItem(c, args[0], it, i)
			if err != nil {
				return nil, err
			}
			for _, x := range r {
				if out.add(x) {
					next = append(next, x)
				}
			}
		}
		queue = next
	}
	return out.items, nil
}

// ---- subsetting ----

func fnSingle(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) > 1 {
		return nil, execErr("single() on a collection of %d items", len(in))
	}
	return in, nil
}

func fnFirst(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	return in[:1:1], nil
}

func fnLast(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	return in[len(in)-1:], nil
}

func fnTail(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) < 2 {
		return nil, nil
	}
	return in[1:], nil
}

func intArg(c *evalCtx, f evalFunc, focus Collection) (int64, bool, error) {
	v, err := evalArg(c, f, focus)
	if err != nil {
		return 0, false, err
	}
	return singletonInt(v)
}

func fnSkip(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	n, ok, err := intArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	if n <= 0 {
		return in, nil
	}
	if n >= int64(len(in)) {
		return nil, nil
	}
	return in[n:], nil
}

func fnTake(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	n, ok, err := intArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	if n >= int64(len(in)) {
		return in, nil
	}
	return in[:n:n], nil
}

func fnIntersect(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	set := setOf(c, other)
	out := newItemSet(c, 0)
	for _, it := range in {
		if set.contains(it) {
			out.add(it)
		}
	}
	return out.items, nil
}

func fnExclude(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	set := setOf(c, other)
	var out Collection
	for _, it := range in {
		if !set.contains(it) {
			out = append(out, it)
		}
	}
	return out, nil
}

func fnUnion(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	return union(c, in, other), nil
}

func fnCombine(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	out := make(Collection, 0, len(in)+len(other))
	return append(append(out, in...), other...), nil
}

// ---- conversion ----

func fnIif(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	if len(in) > 1 {
		return nil, execErr("iif() on a collection of %d items", len(in))
	}
	// criterion is evaluated with $this = the input item (if any)
	var cond Collection
	var err error
	if len(in) == 1 {
		cond, err = withItem(c, args[0], in[0], c.index)
	} else {
		cond, err = evalArg(c, args[0], focus)
	}
	if err != nil {
		return nil, err
	}
	if len(cond) > 1 {
		return nil, execErr("iif() criterion must be a single Boolean")
	}
	b := false
	if len(cond) == 1 {
		s, ok := system(cond[0])
		bv, isBool := s.v.(bool)
		if !ok || !isBool {
			return nil, execErr("iif() criterion must be a Boolean, got %s", cond[0].TypeName())
		}
		b = bv
	}
	pick := -1
	if b {
		pick = 1
	} else if len(args) == 3 {
		pick = 2
	}
	if pick < 0 {
		return nil, nil
	}
	if len(in) == 1 {
		return withItem(c, args[pick], in[0], c.index)
	}
	return evalArg(c, args[pick], focus)
}

type converter func(v Value) (Value, bool)

func convFn(conv converter, test bool) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		if len(in) > 1 {
			return nil, execErr("conversion of a collection of %d items", len(in))
		}
		v, ok := conv(in[0])
		if test {
			return boolColl(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return Collection{v}, nil
	}
}

func convBoolean(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case bool:
		return s, true
	case string:
		switch strings.ToLower(x) {
		case "true", "t", "yes", "y", "1", "1.0":
			return boolValue(true), true
		case "false", "f", "no", "n", "0", "0.0":
			return boolValue(false), true
		}
	case int64:
		if x == 1 || x == 0 {
			return boolValue(x == 1), true
		}
	case *decimal:
		if x.cmp(decimalFromInt(1)) == 0 {
			return boolValue(true), true
		}
		if x.sign() == 0 {
			return boolValue(false), true
		}
	}
	return Value{}, false
}

func convInteger(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case int64:
		return s, true
	case bool:
		if x {
			return intValue(1), true
		}
		return intValue(0), true
	case string:
		t := x
		if strings.HasPrefix(t, "+") || strings.HasPrefix(t, "-") {
			t = t[1:]
		}
		if _, ok := atoiN(t); !ok {
			return Value{}, false
		}
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return Value{}, false
		}
		return intValue(n), true
	}
	return Value{}, false
}

func convDecimal(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case *decimal:
		return s, true
	case int64:
		return decimalValue(decimalFromInt(x)), true
	case bool:
		if x {
			return decimalValue(&decimal{u: decimalFromInt(10).u, scale: 1}), true
		}
		return decimalValue(&decimal{u: decimalFromInt(0).u, scale: 1}), true
	case string:
		if strings.ContainsAny(x, "eE") {
			return Value{}, false
		}
		d, ok := parseDecimal(x)
		if !ok {
			return Value{}, false
		}
		return decimalValue(d), true
	}
	return Value{}, false
}

func convString(v Value) (Value, bool) {
	s, ok := toStringValue(v)
	if !ok {
		return Value{}, false
	}
	return stringValue(s), true
}

func convDate(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case *temporal:
		if x.kind == kDate {
			return s, true
		}
		if x.kind == kDateTime {
			r := *x
			r.kind = kDate
			if r.prec > pDay {
				r.prec = pDay
			}
			r.hasTZ, r.tzOff, r.fdig = false, 0, 0
			r.clearBeyondPrecision()
			return temporalValue(&r), true
		}
	case string:
		if t, ok := parseDate(x); ok {
			return temporalValue(t), true
		}
		if t, ok := parseDateTime(x); ok {
			return convDate(temporalValue(t))
		}
	}
	return Value{}, false
}

func convDateTime(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case *temporal:
		if x.kind == kDateTime {
			return s, true
		}
		if x.kind == kDate {
			r := *x
			r.kind = kDateTime
			return temporalValue(&r), true
		}
	case string:
		if t, ok := parseDateTime(x); ok {
			return temporalValue(t), true
		}
	}
	return Value{}, false
}

func convTime(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case *temporal:
		if x.kind == kTime {
			return s, true
		}
	case string:
		if t, ok := parseTime(strings.TrimPrefix(x, "T")); ok {
			return temporalValue(t), true
		}
	}
	return Value{}, false
}

func parseQuantityString(s string) (*quantity, bool) {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
		i++
	}
	num, rest := s[:i], strings.TrimSpace(s[i:])
	d, ok := parseDecimal(num)
	if !ok {
		return nil, false
	}
	if rest == "" {
		return &quantity{val: d, unit: "1"}, true
	}
	if len(rest) >= 2 && rest[0] == '\'' && rest[len(rest)-1] == '\'' {
		u := rest[1 : len(rest)-1]
		if ucumParse(u) == nil {
			return nil, false
		}
		return &quantity{val: d, unit: u}, true
	}
	if cu, ok := calendarUnits[rest]; ok {
		return &quantity{val: d, unit: cu}, true
	}
	return nil, false
}

func fnToQuantity(test bool) funcImpl {
	return func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		if len(in) > 1 {
			return nil, execErr("conversion of a collection of %d items", len(in))
		}
		var q *quantity
		s, ok := system(in[0])
		if !ok {
			q, ok = fhirQuantity(in[0])
		} else {
			switch x := s.v.(type) {
			case *quantity:
				q = x
			case int64:
				q = &quantity{val: decimalFromInt(x), unit: "1"}
			case *decimal:
				q = &quantity{val: x, unit: "1"}
			case string:
				q, ok = parseQuantityString(x)
			case bool:
				q = &quantity{val: decimalFromInt(0), unit: "1"}
				if x {
					q.val = &decimal{u: decimalFromInt(10).u, scale: 1}
				}
			default:
				ok = false
			}
		}
		if ok && len(args) == 1 {
			u, has, err := func() (string, bool, error) {
				v, err := evalArg(c, args[0], focus)
				if err != nil {
					return "", false, err
				}
				return singletonString(v)
			}()
			if err != nil {
				return nil, err
			}
			if has && u != q.unit {
				d, cok := convertQuantity(q, u)
				if !cok {
					ok = false
				} else {
					q = &quantity{val: d, unit: u}
				}
			}
		}
		if test {
			return boolColl(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return Collection{{v: q}}, nil
	}
}

// ---- strings ----

// strInput returns the single string input; ok false for empty.
func strInput(in Collection, fn string) (string, bool, error) {
	switch len(in) {
	case 0:
		return "", false, nil
	case 1:
		s, ok := system(in[0])
		if ok {
			if str, ok := s.v.(string); ok {
				return str, true, nil
			}
		}
		return "", false, execErr("%s() expects a String input, got %s", fn, in[0].TypeName())
	}
	return "", false, execErr("%s() expects a single input, got %d items", fn, len(in))
}

func strArg(c *evalCtx, f evalFunc, focus Collection) (string, bool, error) {
	v, err := evalArg(c, f, focus)
	if err != nil {
		return "", false, err
	}
	return singletonString(v)
}

func strPred(pred func(s, sub string) bool) funcImpl {
	return func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
		s, ok, err := strInput(in, "string function")
		if err != nil || !ok {
			return nil, err
		}
		a, ok, err := strArg(c, args[0], focus)
		if err != nil || !ok {
			return nil, err
		}
		return boolColl(pred(s, a)), nil
	}
}

func strMap(f func(string) string) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		s, ok, err := strInput(in, "string function")
		if err != nil || !ok {
			return nil, err
		}
		return Collection{stringValue(f(s))}, nil
	}
}

// upper applies the full Unicode upper-case mapping for the one common
// character whose upper case is two characters (ß → SS).
func upper(s string) string {
	return strings.ReplaceAll(strings.ToUpper(s), "ß", "SS")
}

// runeIndex converts a byte index to a character (rune) index.
func runeIndex(s string, byteIdx int) int {
	if byteIdx < 0 {
		return byteIdx
	}
	return len([]rune(s[:byteIdx]))
}

func fnIndexOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "indexOf")
	if err != nil || !ok {
		return nil, err
	}
	a, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	return Collection{intValue(int64(runeIndex(s, strings.Index(s, a))))}, nil
}

func fnLastIndexOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "lastIndexOf")
	if err != nil || !ok {
		return nil, err
	}
	a, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	return Collection{intValue(int64(runeIndex(s, strings.LastIndex(s, a))))}, nil
}

func fnSubstring(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "substring")
	if err != nil || !ok {
		return nil, err
	}
	start, ok, err := intArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	r := []rune(s)
	if start < 0 || start >= int64(len(r)) {
		return nil, nil
	}
	end := int64(len(r))
	if len(args) == 2 {
		n, ok, err := intArg(c, args[1], focus)
		if err != nil {
			return nil, err
		}
		if ok {
			if n < 0 {
				n = 0
			}
			if start+n < end {
				end = start + n
			}
		}
	}
	return Collection{stringValue(string(r[start:end]))}, nil
}

func fnReplace(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "replace")
	if err != nil || !ok {
		return nil, err
	}
	pat, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	rep, ok, err := strArg(c, args[1], focus)
	if err != nil || !ok {
		return nil, err
	}
	if pat == "" && len(rep)*(len(s)+1) > maxStringLen || pat != "" && len(rep) > len(pat) && len(s)/len(pat)*len(rep) > maxStringLen {
		return nil, execErr("string result longer than 16 MiB")
	}
	return Collection{stringValue(strings.ReplaceAll(s, pat, rep))}, nil
}

func fnLength(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	s, ok, err := strInput(in, "length")
	if err != nil || !ok {
		return nil, err
	}
	return Collection{intValue(int64(len([]rune(s))))}, nil
}

func fnToChars(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	s, ok, err := strInput(in, "toChars")
	if err != nil || !ok {
		return nil, err
	}
	var out Collection
	for _, r := range s {
		out = append(out, stringValue(string(r)))
	}
	return out, nil
}

func fnSplit(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "split")
	if err != nil || !ok {
		return nil, err
	}
	sep, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	var out Collection
	for _, p := range strings.Split(s, sep) {
		out = append(out, stringValue(p))
	}
	return out, nil
}

func fnJoin(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	sep := ""
	if len(args) == 1 {
		s, ok, err := strArg(c, args[0], focus)
		if err != nil {
			return nil, err
		}
		if ok {
			sep = s
		}
	}
	parts := make([]string, 0, len(in))
	for _, it := range in {
		s, ok := system(it)
		str, isStr := s.v.(string)
		if !ok || !isStr {
			return nil, execErr("join() expects strings, got %s", it.TypeName())
		}
		parts = append(parts, str)
	}
	n := len(sep) * len(parts)
	for _, p := range parts {
		n += len(p)
	}
	if n > maxStringLen {
		return nil, execErr("string result longer than 16 MiB")
	}
	return Collection{stringValue(strings.Join(parts, sep))}, nil
}

// ---- math ----

func numInput(in Collection, fn string) (Value, bool, error) {
	switch len(in) {
	case 0:
		return Value{}, false, nil
	case 1:
		s, ok := system(in[0])
		if !ok {
			if q, ok := asQuantity(in[0]); ok {
				return Value{v: q}, true, nil
			}
		} else {
			switch s.v.(type) {
			case int64, *decimal, *quantity:
				return s, true, nil
			}
		}
		return Value{}, false, execErr("%s() expects a number, got %s", fn, in[0].TypeName())
	}
	return Value{}, false, execErr("%s() expects a single input, got %d items", fn, len(in))
}

func fnAbs(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	v, ok, err := numInput(in, "abs")
	if err != nil || !ok {
		return nil, err
	}
	switch x := v.v.(type) {
	case int64:
		if x < 0 {
			x = -x
		}
		return Collection{intValue(x)}, nil
	case *decimal:
		return Collection{decimalValue(x.abs())}, nil
	case *quantity:
		return Collection{{v: &quantity{val: x.val.abs(), unit: x.unit}}}, nil
	}
	return nil, nil
}

func intOrDecimal(fn string, in Collection, f func(d *decimal) Value) (Collection, error) {
	v, ok, err := numInput(in, fn)
	if err != nil || !ok {
		return nil, err
	}
	switch x := v.v.(type) {
	case int64:
		return Collection{v}, nil
	case *decimal:
		return Collection{f(x)}, nil
	}
	return nil, execErr("%s() expects a number", fn)
}

func fnCeiling(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return intOrDecimal("ceiling", in, func(d *decimal) Value {
		if v, ok := bigToValue(d.ceil()); ok {
			return v
		}
		return decimalValue(&decimal{u: d.ceil()})
	})
}

func fnFloor(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return intOrDecimal("floor", in, func(d *decimal) Value {
		if v, ok := bigToValue(d.floor()); ok {
			return v
		}
		return decimalValue(&decimal{u: d.floor()})
	})
}

func fnTruncate(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return intOrDecimal("truncate", in, func(d *decimal) Value {
		t := d.truncate(0)
		if v, ok := bigToValue(t.u); ok {
			return v
		}
		return decimalValue(t)
	})
}

func fnRound(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := numInput(in, "round")
	if err != nil || !ok {
		return nil, err
	}
	prec := int64(0)
	if len(args) == 1 {
		p, ok, err := intArg(c, args[0], focus)
		if err != nil || !ok {
			return nil, err
		}
		if p < 0 || p > 100 {
			return nil, execErr("round() precision must be between 0 and 100")
		}
		prec = p
	}
	d, ok := toDecimal(v)
	if !ok {
		return nil, execErr("round() expects a number")
	}
	return Collection{decimalValue(d.round(int32(prec)))}, nil
}

func floatResult(f float64) (Collection, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, nil
	}
	d, ok := decimalFromFloat(f, divScale)
	if !ok {
		return nil, nil
	}
	return Collection{decimalValue(d)}, nil
}

func floatFn(f func(float64) float64) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		v, ok, err := numInput(in, "math function")
		if err != nil || !ok {
			return nil, err
		}
		d, ok := toDecimal(v)
		if !ok {
			return nil, execErr("expected a number")
		}
		return floatResult(f(d.float()))
	}
}

func fnLog(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := numInput(in, "log")
	if err != nil || !ok {
		return nil, err
	}
	b, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	bv, ok, err := numInput(b, "log")
	if err != nil || !ok {
		return nil, err
	}
	x, _ := toDecimal(v)
	base, _ := toDecimal(bv)
	if x == nil || base == nil {
		return nil, execErr("log() expects numbers")
	}
	return floatResult(math.Log(x.float()) / math.Log(base.float()))
}

func fnPower(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := numInput(in, "power")
	if err != nil || !ok {
		return nil, err
	}
	e, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	ev, ok, err := numInput(e, "power")
	if err != nil || !ok {
		return nil, err
	}
	if x, ok := v.v.(int64); ok {
		if y, ok := ev.v.(int64); ok && y >= 0 {
			r := math.Pow(float64(x), float64(y))
			if math.Abs(r) < 1<<53 {
				return Collection{intValue(int64(r))}, nil
			}
		}
	}
	x, _ := toDecimal(v)
	y, _ := toDecimal(ev)
	if x == nil || y == nil {
		return nil, execErr("power() expects numbers")
	}
	return floatResult(math.Pow(x.float(), y.float()))
}

// ---- tree navigation ----

func childrenOf(it Value, out Collection) Collection {
	m, ok := it.v.(map[string]any)
	if !ok {
		if it.ext != nil {
			out = appendJSON(out, it.ext["extension"], nil, fhirType("Extension"))
		}
		return out
	}
	t := it.t
	if t == nil || t.abstract {
		t = jsonValue(m, t).t
	}
	if t == nil {
		// untyped JSON: properties in key order, for a deterministic result
		for _, k := range sortedKeys(m) {
			if k == "resourceType" || strings.HasPrefix(k, "_") {
				continue
			}
			out = appendJSON(out, m[k], m["_"+k], nil)
		}
		return out
	}
	for _, e := range t.m.Elements {
		cs := t.child(e.Name)
		for i := range cs.keys {
			k := &cs.keys[i]
			raw, ok := m[k.key]
			ext := m[k.extKey]
			if !ok && ext == nil {
				continue
			}
			out = appendJSON(out, raw, ext, k.t)
		}
	}
	return out
}

func fnChildren(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for _, it := range in {
		out = childrenOf(it, out)
	}
	return out, nil
}

func fnDescendants(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	queue := in
	for len(queue) > 0 {
		var next Collection
		for _, it := range queue {
			next = childrenOf(it, next)
		}
		out = append(out, next...)
		if len(out) > 5_000_000 {
			return nil, execErr("descendants() too large")
		}
		queue = next
	}
	return out, nil
}

// ---- utility ----

func fnTrace(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	name, _, err := strArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	if c.opts.Trace != nil {
		out := in
		if len(args) == 2 {
			var proj Collection
			for i, it := range in {
				r, err := withItem(c, args[1], it, i)
				if err != nil {
					return nil, err
				}
				proj = append(proj, r...)
			}
			out = proj
		}
		c.opts.Trace(name, out)
	}
	return in, nil
}

func nowTemporal(tm time.Time) *temporal {
	_, off := tm.Zone()
	t := &temporal{kind: kDateTime, prec: pMilli, fdig: 3, hasTZ: true, tzOff: off}
	tm = tm.Truncate(time.Millisecond)
	return t.withTime(tm)
}

func fnNow(c *evalCtx, _ Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return Collection{temporalValue(nowTemporal(c.nowTime()))}, nil
}

func fnToday(c *evalCtx, _ Collection, _ []evalFunc, _ Collection) (Collection, error) {
	tm := c.nowTime()
	return Collection{temporalValue(&temporal{kind: kDate, prec: pDay, y: tm.Year(), mo: int(tm.Month()), d: tm.Day()})}, nil
}

func fnTimeOfDay(c *evalCtx, _ Collection, _ []evalFunc, _ Collection) (Collection, error) {
	tm := c.nowTime()
	return Collection{temporalValue(&temporal{kind: kTime, prec: pMilli, fdig: 3, h: tm.Hour(), mi: tm.Minute(), s: tm.Second(), ns: tm.Nanosecond() / 1e6 * 1e6, mo: 1, d: 1})}, nil
}

func fnNot(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	switch len(in) {
	case 0:
		return nil, nil
	case 1:
		// singleton evaluation: a non-Boolean item counts as true
		b, _ := singletonBool(in[0])
		return boolColl(!b), nil
	}
	return nil, execErr("not() on a collection of %d items", len(in))
}

func fnAggregate(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	var total Collection
	if len(args) == 2 {
		var err error
		if total, err = evalArg(c, args[1], focus); err != nil {
			return nil, err
		}
	}
	save := c.total
	defer func() { c.total = save }()
	for i, it := range in {
		c.total = total
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		total = r
	}
	return total, nil
}

// compileSort compiles sort(key, ...); a key written -expr sorts
// descending (for any ordered type, not only numbers).
func (cp *compiler) compileSort(n *astNode, left evalFunc) (evalFunc, error) {
	args := make([]evalFunc, len(n.args))
	desc := make([]bool, len(n.args))
	for i, a := range n.args {
		if a.kind == nUnary && a.op == "-" {
			desc[i] = true
			a = a.left
		}
		f, err := cp.compile(a)
		if err != nil {
			return nil, err
		}
		args[i] = f
	}
	in := inputOf(left)
	return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
		input, err := in(c, focus)
		if err != nil {
			return nil, err
		}
		return sortItems(c, input, args, desc)
	}), nil
}

func sortItems(c *evalCtx, in Collection, args []evalFunc, desc []bool) (Collection, error) {
	if len(in) < 2 {
		return in, nil
	}
	type keyed struct {
		v    Value
		keys []Collection
	}
	items := make([]keyed, len(in))
	for i, it := range in {
		items[i].v = it
		for _, a := range args {
			k, err := withItem(c, a, it, i)
			if err != nil {
				return nil, err
			}
			items[i].keys = append(items[i].keys, k)
		}
	}
	var sortErr error
	cmp := func(a, b Value) int {
		r, known, err := compareItems(c, a, b)
		if err != nil && sortErr == nil {
			sortErr = err
		}
		if !known {
			return 0
		}
		return r
	}
	sort.SliceStable(items, func(i, j int) bool {
		if len(args) == 0 {
			return cmp(items[i].v, items[j].v) < 0
		}
		for k := range args {
			a, b := items[i].keys[k], items[j].keys[k]
			if len(a) == 0 || len(b) == 0 {
				if len(a) != len(b) {
					return len(a) == 0
				}
				continue
			}
			if r := cmp(a[0], b[0]); r != 0 {
				return (r < 0) != desc[k]
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make(Collection, len(items))
	for i := range items {
		out[i] = items[i].v
	}
	return out, nil
}

func fnType(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	out := make(Collection, 0, len(in))
	for _, it := range in {
		tn := it.TypeName()
		ns, name, _ := strings.Cut(tn, ".")
		out = append(out, Value{v: map[string]any{"namespace": ns, "name": name}})
	}
	return out, nil
}

// ---- FHIR ----

func fnExtension(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	url, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	var out Collection
	for _, it := range in {
		exts, err := child(c, nil, it, "extension")
		if err != nil {
			return nil, err
		}
		for _, e := range exts {
			if m, ok := e.v.(map[string]any); ok && m["url"] == url {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func fnHasValue(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) != 1 {
		return falseColl, nil
	}
	it := in[0]
	if it.t != nil && it.t.primitive() {
		return boolColl(it.v != nil), nil
	}
	if it.t == nil {
		switch it.v.(type) {
		case map[string]any, nil:
			return falseColl, nil
		}
		return trueColl, nil
	}
	return falseColl, nil
}

func fnGetValue(c *evalCtx, in Collection, a []evalFunc, f Collection) (Collection, error) {
	if r, _ := fnHasValue(c, in, a, f); len(r) == 1 && r[0].v == true {
		s, ok := system(in[0])
		if ok {
			return Collection{s}, nil
		}
	}
	return nil, nil
}

func fnGetReferenceKey(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for _, it := range in {
		m, ok := it.v.(map[string]any)
		if !ok {
			continue
		}
		ref, _ := m["reference"].(string)
		if ref == "" {
			continue
		}
		parts := strings.Split(ref, "/")
		if len(parts) >= 2 {
			for i := len(parts) - 2; i >= 0; i-- {
				if parts[i] == "_history" {
					continue
				}
				if fhirType(parts[i]) != nil && i+1 < len(parts) {
					out = append(out, stringValue(parts[i]+"/"+parts[i+1]))
					break
				}
			}
		}
	}
	return out, nil
}

// ---- aggregates (FHIRPath 2.0 sum, min, max, avg) ----

func fnSum(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) == 0 {
		return Collection{intValue(0)}, nil
	}
	acc := Collection{in[0]}
	for _, it := range in[1:] {
		r, err := arithmetic("+", acc[0], it)
		if err != nil {
			return nil, err
		}
		if len(r) == 0 {
			return nil, nil
		}
		acc = r
	}
	if s, ok := system(acc[0]); ok {
		return Collection{s}, nil
	}
	if q, ok := asQuantity(acc[0]); ok {
		return Collection{{v: q}}, nil
	}
	return nil, execErr("sum() expects numbers or quantities")
}

func fnMinMax(sign int) funcImpl {
	return func(c *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		best := in[0]
		for _, it := range in[1:] {
			r, known, err := compareItems(c, it, best)
			if err != nil {
				return nil, err
			}
			if !known {
				return nil, nil
			}
			if r*sign > 0 {
				best = it
			}
		}
		if s, ok := system(best); ok {
			return Collection{s}, nil
		}
		return Collection{best}, nil
	}
}

func fnAvg(c *evalCtx, in Collection, a []evalFunc, f Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	s, err := fnSum(c, in, a, f)
	if err != nil || len(s) == 0 {
		return nil, err
	}
	return arithmetic("/", s[0], intValue(int64(len(in))))
}
