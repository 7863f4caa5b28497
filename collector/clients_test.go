package collector

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestForEachScope: every scope with clients runs, a failure and a scope
// without clients come back prefixed with their account and region, and
// a scope that succeeds is absent from the result.
func TestForEachScope(t *testing.T) {
	ok, bad, gone := Scope{"111111111111", "us-east-1"}, Scope{"111111111111", "eu-west-1"}, Scope{"222222222222", "us-east-1"}
	cs := &ClientSet{scopes: []*ScopeClients{{Scope: ok}, {Scope: bad}}}
	var ran atomic.Int32
	boom := errors.New("boom")
	failed := forEachScope(cs, map[Scope]int{ok: 1, bad: 2, gone: 3}, func(sc *ScopeClients, w int) error {
		ran.Add(1)
		if sc.Scope == bad {
			return boom
		}
		return nil
	})
	if ran.Load() != 2 {
		t.Errorf("fn ran %d times, want 2 (the scopes with clients)", ran.Load())
	}
	if len(failed) != 2 || failed[ok] != nil {
		t.Fatalf("failed = %v, want the scope that failed and the one without clients", failed)
	}
	if err := failed[bad]; !errors.Is(err, boom) || err.Error() != "111111111111/eu-west-1: boom" {
		t.Errorf("failed scope: %v", err)
	}
	if err := failed[gone]; err == nil || err.Error() != "222222222222/us-east-1: no clients for 222222222222/us-east-1" {
		t.Errorf("scope without clients: %v", err)
	}
}
