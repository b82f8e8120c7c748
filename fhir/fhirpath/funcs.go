package fhirpath

import (
	"math"
	"strings"
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
		"trace":            {1, 2, fnTrace},
		"now":              {0, 0, fnNow},
		"today":            {0, 0, fnToday},
		"timeOfDay":        {0, 0, fnTimeOfDay},
		"not":              {0, 0, fnNot},
		"aggregate":        {1, 2, fnAggregate},
		"sum":              {0, 0, fnSum},
		"min":              {0, 0, fnMinMax(-1)},
		"max":              {0, 0, fnMinMax(1)},
		"avg":              {0, 0, fnAvg},
		"sort":             {0, 16, nil}, // compiled specially
		"lowBoundary":      {0, 1, fnBoundary(false)},
		"highBoundary":     {0, 1, fnBoundary(true)},
		"precision":        {0, 0, fnPrecision},
		"comparable":       {1, 1, fnComparable},
		"type":             {0, 0, fnType},
		"yearOf":           {0, 0, componentOf(pYear)},
		"monthOf":          {0, 0, componentOf(pMonth)},
		"dayOf":            {0, 0, componentOf(pDay)},
		"hourOf":           {0, 0, componentOf(pHour)},
		"minuteOf":         {0, 0, componentOf(pMinute)},
		"secondOf":         {0, 0, componentOf(pSecond)},
		"millisecondOf":    {0, 0, componentOf(pMilli)},
		"timezoneOffsetOf": {0, 0, fnTimezoneOffsetOf},
		"dateOf":           {0, 0, fnDateOf},
		"timeOf":           {0, 0, fnTimeOf},
		"defineVariable":   {1, 2, nil}, // compiled specially
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
