package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Model holds the Fellegi–Sunter parameters: per field and level the
// m-probability (among pairs of records of one person), the u-probability
// (among pairs of different persons), the weight log2(m/u), and the two
// thresholds on the summed weight.
type Model struct {
	M, U, Weights [NumFields][MaxLevels]float64
	// AutoLink is the score at or above which a record links
	// automatically; Review the score at or above which it goes to review.
	AutoLink, Review float64
	// Now is the date ID numbers' birth dates are judged against (nil: the
	// current time).
	Now func() time.Time
}

func (m *Model) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// DefaultModel returns the parameters estimated from generated data (see
// model_gen.go and the package documentation). A region should re-estimate
// them from its own adjudicated pairs with Estimate once it has some.
func DefaultModel() *Model {
	m := &Model{M: defaultM, U: defaultU, AutoLink: defaultAutoLink, Review: defaultReview}
	m.setWeights()
	return m
}

// setWeights computes Weights from M and U; missing values weigh nothing.
func (m *Model) setWeights() {
	for f := range NumFields {
		for l := 1; l < len(LevelNames[f]); l++ {
			m.Weights[f][l] = math.Log2(m.M[f][l] / m.U[f][l])
		}
		m.Weights[f][0] = 0
	}
}

// Estimate computes m- and u-probabilities from labelled records: truth[i]
// is the person of records[i]. m counts every pair of records of one
// person; u counts nonMatches random pairs of records of different persons.
// Probabilities are taken among non-missing comparisons and smoothed (add
// one half), so that no level has weight ±Inf. Thresholds are left zero.
func Estimate(records []Record, truth []int, nonMatches int, seed uint64) *Model {
	m := &Model{}
	now := m.now()
	ps := make([]prepared, len(records))
	for i, r := range records {
		ps[i] = prepare(r, now)
	}
	var mc, uc [NumFields][MaxLevels]float64
	byPerson := map[int][]int{}
	for i, p := range truth {
		byPerson[p] = append(byPerson[p], i)
	}
	for _, rs := range byPerson {
		for i := range rs {
			for j := i + 1; j < len(rs); j++ {
				c := m.compare(&ps[rs[i]], &ps[rs[j]])
				for f, l := range c.Levels {
					mc[f][l]++
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for n := 0; n < nonMatches; {
		i, j := rng.IntN(len(ps)), rng.IntN(len(ps))
		if truth[i] == truth[j] {
			continue
		}
		c := m.compare(&ps[i], &ps[j])
		for f, l := range c.Levels {
			uc[f][l]++
		}
		n++
	}
	for f := range NumFields {
		levels := len(LevelNames[f])
		var mt, ut float64
		for l := 1; l < levels; l++ {
			mt += mc[f][l] + 0.5
			ut += uc[f][l] + 0.5
		}
		for l := 1; l < levels; l++ {
			m.M[f][l] = (mc[f][l] + 0.5) / mt
			m.U[f][l] = (uc[f][l] + 0.5) / ut
		}
	}
	m.setWeights()
	return m
}

// String prints the model as a table: one line per field and level.
func (m *Model) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %-18s %10s %10s %8s\n", "field", "level", "m", "u", "weight")
	for f := range NumFields {
		for l := 1; l < len(LevelNames[f]); l++ {
			fmt.Fprintf(&b, "%-8s %-18s %10.6f %10.6f %8.2f\n", Field(f), LevelNames[f][l], m.M[f][l], m.U[f][l], m.Weights[f][l])
		}
	}
	fmt.Fprintf(&b, "auto-link ≥ %.1f, review ≥ %.1f\n", m.AutoLink, m.Review)
	return b.String()
}
