package scaler

// ResultSimulated is a dry-run decision's result: nothing was changed in
// AWS, and the change is kept as the simulated state.
const ResultSimulated = "simulated"

// simState is what a dry run would have changed on one target. It is
// laid over the state read from AWS before every later decision on the
// target, so the log shows what the live scaler would do next (a repeat
// is a no-op) instead of "would act" on every repeat. It lives in this
// process only.
type simState struct {
	added   []Instance      // readers it would have created, taken as available
	removed map[string]bool // readers it would have removed
	maxACU  float64         // max ACU it would have set (0: none)
	desired int             // ASG desired capacity it would have set (-1: none)
}

// simulate records a dry-run decision's change.
func (s *Scaler) simulate(d Decision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.simulated[d.Target]
	if st == nil {
		st = &simState{removed: map[string]bool{}, desired: -1}
		s.simulated[d.Target] = st
	}
	switch d.Action {
	case ActionAddReaders:
		for _, id := range d.Instances {
			st.added = append(st.added, Instance{ID: id, Status: statusAvailable, Class: d.Class, Tier: ManagedTier, Managed: true,
				DecisionID: d.ID, DecidedAt: d.At, From: int(d.From)})
		}
	case ActionRemoveReaders:
		for _, id := range d.Instances {
			st.removed[id] = true
		}
	case ActionRaiseMaxACU:
		st.maxACU = d.To
	case ActionScaleASG:
		st.desired = int(d.To)
	}
}

// overlay lays the target's simulated changes over the state read from
// AWS (in place).
func (s *Scaler) overlay(target string, cs *ClusterState, as *ASGState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.simulated[target]
	if st == nil {
		return
	}
	if cs != nil {
		var kept []Instance
		for _, in := range cs.Instances {
			if !st.removed[in.ID] {
				kept = append(kept, in)
			}
		}
		for _, in := range st.added {
			if !st.removed[in.ID] && !cs.has(in.ID) {
				kept = append(kept, in)
			}
		}
		cs.Instances = kept
		if st.maxACU > cs.MaxACU {
			cs.MaxACU = st.maxACU
		}
	}
	if as != nil && st.desired >= 0 {
		as.Desired = st.desired
	}
}
