package collector

import (
	"testing"
	"time"
)

type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }

func TestDiscoveryTriggerRateLimits(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)}
	tr := NewDiscoveryTrigger(clock, 30*time.Second)
	if tr.Request(nil) {
		t.Error("a request without instances was queued")
	}
	if !tr.Request([]string{"r2"}) {
		t.Fatal("first request refused")
	}
	clock.now = clock.now.Add(29 * time.Second)
	if tr.Request([]string{"r2"}) {
		t.Error("second request within 30 s queued")
	}
	if !tr.take() || tr.take() {
		t.Error("want exactly one queued refresh")
	}
	clock.now = clock.now.Add(time.Second)
	if !tr.Request([]string{"r3"}) || !tr.take() {
		t.Error("a request 30 s after the last was refused")
	}
	off := NewDiscoveryTrigger(clock, 0)
	if off.Request([]string{"r2"}) || off.take() {
		t.Error("a trigger with interval 0 queued a refresh")
	}
}

func TestUnknownInstancesAreThoseDiscoveryIsBehindOn(t *testing.T) {
	inv := &Inventory{Clusters: []*ClusterInfo{{ID: "db", Instances: []*InstanceInfo{
		{ID: "w", Status: "available"}, {ID: "r1", Status: "deleting"}, {ID: "r2", Status: "creating"},
	}}}}
	got := unknownInstances(inv, []EndpointState{
		{Kind: EndpointWriter, Answered: []string{"w"}},
		{Kind: EndpointReader, Answered: []string{"r1", "r2", "r3"}},
		{Kind: EndpointRecord, Answered: []string{"r3"}},
	})
	if len(got) != 2 || got[0] != "r2" || got[1] != "r3" {
		t.Errorf("unknown = %v, want [r2 r3] (creating, absent; not available or deleting)", got)
	}
}
