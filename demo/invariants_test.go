package demo_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/xietong/xietong/fhir/fhirpath"
	"github.com/xietong/xietong/fhir/validate"
)

// fhirpathInvariants checks the FHIRPath invariants of the R4 definitions
// with fhir/fhirpath, so the demo is held to all of them, not only to the
// ones the validator checks natively.
type fhirpathInvariants struct{ exprs sync.Map } // expression → *fhirpath.Expression or error

func (c *fhirpathInvariants) Check(ctx validate.InvariantContext) (bool, error) {
	src := ctx.Constraint.Expression
	e, ok := c.exprs.Load(src)
	if !ok {
		x, err := fhirpath.Compile(src)
		if err != nil {
			c.exprs.Store(src, err)
			return false, err
		}
		e, _ = c.exprs.LoadOrStore(src, x)
	}
	if err, bad := e.(error); bad {
		return false, err
	}
	focus, err := fhirpath.NewValue(ctx.Node, ctx.Type, nil)
	if err != nil {
		return false, err
	}
	v, ok, err := e.(*fhirpath.Expression).EvaluateBool(focus, &fhirpath.EvalOptions{Resource: ctx.Resource, RootResource: ctx.RootResource})
	if err != nil {
		return false, err
	}
	return v || !ok, nil // an empty result does not fail the invariant
}

// TestInvariants validates the small region with every invariant of the
// definitions. The only warning allowed is dom-6 (no narrative): the demo
// leaves narratives out, as most systems that exchange data do, to keep
// the region small.
func TestInvariants(t *testing.T) {
	g := smallRegion(t)
	v := validate.New(validate.WithInvariants(&fhirpathInvariants{}))
	dom6 := 0
	for _, b := range g.bundles {
		for _, is := range v.Resource(b) {
			switch {
			case is.Severity == "error" || is.Severity == "fatal":
				t.Errorf("%v: %s", b["id"], is)
			case strings.Contains(is.Message, "invariant dom-6 failed"):
				dom6++
			default:
				t.Errorf("%v: unexpected %s", b["id"], is)
			}
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d resources without narrative (dom-6)", dom6)
}
