package fhirpath

import (
	"sync"
	"sync/atomic"
)

// boundedCache is a concurrent memo for values derived from strings that
// may come from data (regular expressions, UCUM units): it stops growing at
// maxCacheEntries, after which callers simply recompute.
type boundedCache struct {
	m sync.Map
	n atomic.Int64
}

const maxCacheEntries = 4096

func (c *boundedCache) load(key string) (any, bool) { return c.m.Load(key) }

func (c *boundedCache) store(key string, v any) {
	if c.n.Load() >= maxCacheEntries {
		return
	}
	if _, loaded := c.m.LoadOrStore(key, v); !loaded {
		c.n.Add(1)
	}
}
