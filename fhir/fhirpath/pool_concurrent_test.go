package fhirpath

import (
	"fmt"
	"sync"
	"testing"
)

// Results must not change after the pooled context is reused,
// whatever the expression returns (input, %resource, %context, variables,
// iif, aggregate, repeat, subsetting), with map, Value and Collection inputs,
// under concurrency.
func TestPooledResultsAcrossGoroutines(t *testing.T) {
	exprs := []string{
		"$this", "%resource", "%context", "%rootResource", "iif(true, $this, {})",
		"iif(true, %resource, {})", "$this.first()", "$this.take(1)", "$this.single()", "$this.last()",
		"$this.skip(0)", "%resource.first()", "defineVariable('v', $this).select(%v)",
		"$this.where(true)", "$this.select($this)",
		"aggregate($total, $this)", "$this.repeat({})", "$this | {}", "$this.distinct()",
		"$this.trace('x')", "%resource.trace('x')", "$this.ofType(Patient)", "$this as Patient",
		"%resource.combine({})", "{}.combine($this)", "$this.exclude({})", "$this.intersect($this)",
		"%context.first()", "$this[0]", "(%resource)", "$this.children().where(false) | $this",
	}
	mk := func(id string) map[string]any {
		return map[string]any{"resourceType": "Patient", "id": id}
	}
	idOf := func(c Collection) string {
		if len(c) != 1 {
			return fmt.Sprint("len", len(c))
		}
		m, ok := c[0].Interface().(map[string]any)
		if !ok {
			return fmt.Sprintf("%T", c[0].Interface())
		}
		return fmt.Sprint(m["id"])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				for _, src := range exprs {
					e := MustCompile(src)
					for mode := range 3 {
						id := fmt.Sprintf("g%d-%d-%d", g, i, mode)
						m := mk(id)
						var in any = m
						opts := &EvalOptions{Trace: func(string, Collection) {}}
						switch mode {
						case 1:
							v, _ := NewValue(m, "Patient", nil)
							in = v
							opts.Resource = m
						case 2:
							in = Collection{jsonValue(m, nil)}
						}
						out, err := e.Evaluate(in, opts)
						if err != nil {
							errs <- src + ": " + err.Error()
							return
						}
						before := idOf(out)
						for range 3 {
							e.Evaluate(mk("other"), nil)
							v, _ := NewValue(mk("other2"), "Patient", nil)
							e.Evaluate(v, &EvalOptions{Resource: mk("other3")})
						}
						if after := idOf(out); after != before || (before != id && before != "len0") {
							select {
							case errs <- fmt.Sprintf("%s mode %d: %s then %s, want %s", src, mode, before, after, id):
							default:
							}
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n < 20 {
			t.Error(e)
		}
		n++
	}
}
