package procedure

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// tagStore is one cluster's tags; onWrite runs after each write, as if
// another replica wrote at that moment.
type tagStore struct {
	mu      sync.Mutex
	tags    map[string]string
	onWrite func(s *tagStore)
}

func (s *tagStore) AddTagsToResource(_ context.Context, in *rds.AddTagsToResourceInput, _ ...func(*rds.Options)) (*rds.AddTagsToResourceOutput, error) {
	s.mu.Lock()
	for _, t := range in.Tags {
		s.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	s.mu.Unlock()
	if s.onWrite != nil {
		s.onWrite(s)
		s.onWrite = nil
	}
	return &rds.AddTagsToResourceOutput{}, nil
}

func (s *tagStore) RemoveTagsFromResource(_ context.Context, in *rds.RemoveTagsFromResourceInput, _ ...func(*rds.Options)) (*rds.RemoveTagsFromResourceOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range in.TagKeys {
		delete(s.tags, k)
	}
	return &rds.RemoveTagsFromResourceOutput{}, nil
}

func (s *tagStore) ListTagsForResource(context.Context, *rds.ListTagsForResourceInput, ...func(*rds.Options)) (*rds.ListTagsForResourceOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &rds.ListTagsForResourceOutput{}
	for k, v := range s.tags {
		out.TagList = append(out.TagList, rdstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

// TestLeaseSimultaneousTakers: when two replicas write their lease tags
// at the same moment, both step back and only the lower holder name
// retries; a lease past its expiry is ignored and cleaned up.
func TestLeaseSimultaneousTakers(t *testing.T) {
	now := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	live := now.Add(time.Minute).Format(time.RFC3339) + " scale_in"
	for _, tc := range []struct {
		holder, other string
		wantHeld      bool
	}{
		{"replica-a", "replica-b", false}, // lower name: retries and wins (the other gave up)
		{"replica-z", "replica-b", true},  // higher name: steps back
	} {
		store := &tagStore{tags: map[string]string{LeaseTagPrefix + "dead": now.Add(-time.Second).Format(time.RFC3339) + " scale_in"}}
		store.onWrite = func(s *tagStore) { s.tags[LeaseTagPrefix+tc.other] = live }
		l := &Lease{API: store, ARN: "arn", Holder: tc.holder, What: "scale_in", TTL: 5 * time.Minute, Now: clock}
		waits := 0
		err := l.Acquire(context.Background(), func(context.Context, time.Duration) error {
			waits++
			delete(store.tags, LeaseTagPrefix+tc.other) // the other replica stepped back
			return nil
		})
		var held *LeaseHeldError
		if got := errors.As(err, &held); got != tc.wantHeld {
			t.Fatalf("%s against %s: err %v, want held %v", tc.holder, tc.other, err, tc.wantHeld)
		}
		_, mine := store.tags[LeaseTagPrefix+tc.holder]
		if mine == tc.wantHeld {
			t.Errorf("%s: own tag present %v after Acquire (held %v)", tc.holder, mine, tc.wantHeld)
		}
		if _, ok := store.tags[LeaseTagPrefix+"dead"]; ok {
			t.Errorf("%s: expired lease not cleaned up", tc.holder)
		}
		if tc.wantHeld && (waits != 0 || held.Holder != tc.other) {
			t.Errorf("%s: %d waits, held by %q", tc.holder, waits, held.Holder)
		}
		if !tc.wantHeld && waits != 1 {
			t.Errorf("%s: %d waits, want one retry", tc.holder, waits)
		}
	}
}
