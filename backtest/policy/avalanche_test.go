package policy

import (
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Every policy plays the shipped field avalanche (Serverless v2, two
// ASGs, T = start + 10 min) to T+30m without an error, and the two
// scaling policies react to it the way their alarms say: the field's
// step alarms before AWS's target tracking.
func TestPoliciesOnFieldAvalanche(t *testing.T) {
	first := map[string]time.Duration{}
	for _, name := range Names {
		sc, err := sim.LoadScenario("field-avalanche")
		if err != nil {
			t.Fatal(err)
		}
		sc.Start = start
		env, pol := startPolicy(t, sc, name, nil)
		play(t, env, pol, 40*time.Minute)
		acts := pol.Actions()
		if name == "none" {
			if len(acts) != 0 {
				t.Errorf("none acted:%s", dump(acts))
			}
			continue
		}
		for _, a := range acts {
			if a.Kind == KindAddReaders && a.Refused == "" {
				first[name] = a.At.Sub(at(0))
				break
			}
		}
		if _, ok := first[name]; !ok {
			t.Errorf("%s added no reader during the avalanche:%s", name, dump(acts))
		}
		t.Logf("%s:%s", name, dump(acts))
	}
	if first["field"] >= first["aws-target-tracking"] {
		t.Errorf("field's first reader at T%+v, not before AWS target tracking's at T%+v", first["field"], first["aws-target-tracking"])
	}
}
