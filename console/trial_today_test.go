package console

import (
	"testing"
	"time"
)

// The activity chart's default month is the month of the last whole day
// before the console's today: the real clock's month, or on a demo node
// the last month of the demo's results (it opened on December, empty,
// while the demo's data ends on 2026-11-01).
func TestDefaultActivityMonth(t *testing.T) {
	for _, tc := range []struct {
		today time.Time
		want  string
	}{
		{time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC), "2026-12"},
		{time.Date(2026, 11, 1, 0, 0, 0, 0, chinaTime), "2026-10"},
		{time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC), "2026-10"}, // 2026-11-01 00:00 in China
		{time.Date(2027, 1, 1, 0, 0, 1, 0, chinaTime), "2027-01"},
	} {
		c := &Console{cfg: Config{Today: func() time.Time { return tc.today }}}
		got, err := c.monthParam("")
		if err != nil || got.Format("2006-01") != tc.want {
			t.Errorf("today %v: default month %v (%v), want %s", tc.today, got.Format("2006-01"), err, tc.want)
		}
	}
	c := &Console{cfg: Config{Today: time.Now}}
	if got, err := c.monthParam("2025-03"); err != nil || got.Format("2006-01") != "2025-03" {
		t.Errorf("explicit month: %v %v", got, err)
	}
	if _, err := c.monthParam("2025-13"); err == nil {
		t.Error("month 13 accepted")
	}
}
