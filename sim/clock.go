package sim

import (
	"sync"
	"time"
)

// Clock is the only source of time for the model. Production runs use a
// real (optionally sped-up) clock; tests and backtests use a VirtualClock
// and advance it explicitly so an hour of event plays in milliseconds.
type Clock interface {
	Now() time.Time
}

// VirtualClock only moves when told to.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start.UTC()}
}

func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t; it never moves backwards because the model's
// integration assumes monotonic time.
func (c *VirtualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t.UTC()
	}
}

// ScaledClock runs Speed times faster than wall time from Start.
type ScaledClock struct {
	Start     time.Time // simulated time at wall time WallStart
	WallStart time.Time
	Speed     float64
	wallNow   func() time.Time
}

func NewScaledClock(start time.Time, speed float64) *ScaledClock {
	if speed <= 0 {
		speed = 1
	}
	return &ScaledClock{Start: start.UTC(), WallStart: time.Now(), Speed: speed, wallNow: time.Now}
}

func (c *ScaledClock) Now() time.Time {
	elapsed := c.wallNow().Sub(c.WallStart)
	return c.Start.Add(time.Duration(float64(elapsed) * c.Speed))
}
