package healthcard

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/xietong/xietong/internal/cputime"
)

// BenchmarkJournaledFirstVisit resolves first visits (fresh masters) on
// a journaled Service over the in-memory node, with `clients` concurrent
// callers: the journal's share of a first visit (a real fsync in the test's
// temporary folder) and the applier behind it. Decision 034 compares it
// side by side with the branch point's journal.
func BenchmarkJournaledFirstVisit(b *testing.B) {
	for _, clients := range []int{1, 4} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			n, kr, _ := visitNode()
			codes := make([]string, b.N)
			for i := range b.N {
				codes[i] = n.addCardHolder(kr, fmt.Sprintf("bm%d", i), "张伟", "male")
			}
			s, err := New(n, n, kr, Config{JournalDir: b.TempDir(), FirstVisits: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			next := make(chan int)
			var wg sync.WaitGroup
			b.ResetTimer()
			cpu := cputime.Process()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						if _, err := s.Resolve(ctx, ResolveRequest{Code: codes[i], Institution: visitInst}); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			for i := range b.N {
				next <- i
			}
			close(next)
			wg.Wait()
			s.Flush()
			b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
