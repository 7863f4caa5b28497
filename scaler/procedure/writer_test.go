package procedure_test

import (
	"testing"

	"github.com/aurora-surge/aurora-surge/scaler/procedure"
)

// TestWriterScaleUpThenDown follows the field's vertical writer change on
// a provisioned cluster: a larger tier-0 instance, failover, success only
// once DNS names it; then back to the old writer's class.
func TestWriterScaleUpThenDown(t *testing.T) {
	f := startProvisioned(t)
	var sawOldWriterAfterFailover bool
	wait := f.deps.Wait
	f.deps.Wait = func(c ctxT, d durT) error {
		if err := wait(c, d); err != nil {
			return err
		}
		truth, _ := f.env.World.Truth().Cluster("shop-db")
		if truth.Writer == "shop-db-writer-r6g-4xlarge" && truth.DNSWriter == "shop-db-writer" {
			sawOldWriterAfterFailover = true
		}
		return nil
	}
	res, err := procedure.RunWriterResize(ctx, f.deps, procedure.WriterResize{Cluster: "shop-db", Class: "db.r6g.4xlarge"})
	if err != nil {
		t.Fatal(err)
	}
	truth, _ := f.env.World.Truth().Cluster("shop-db")
	if !res.Created || truth.Writer != "shop-db-writer-r6g-4xlarge" || truth.DNSWriter != truth.Writer {
		t.Fatalf("after scale-up: %+v, writer %s, DNS writer %s", res, truth.Writer, truth.DNSWriter)
	}
	if !sawOldWriterAfterFailover {
		t.Fatal("the procedure never waited through the DNS window (it must not declare success on the API alone)")
	}
	for _, in := range truth.Instances {
		if in.ID == "shop-db-writer-r6g-4xlarge" && in.Tier != 0 {
			t.Fatalf("new writer tier %d, want 0", in.Tier)
		}
	}
	// A repeat is a no-op: the writer has the class and DNS agrees.
	if again, err := procedure.RunWriterResize(ctx, f.deps, procedure.WriterResize{Cluster: "shop-db", Class: "db.r6g.4xlarge"}); err != nil || again.Created {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	// Scale down: the old writer's class again.
	res, err = procedure.RunWriterResize(ctx, f.deps, procedure.WriterResize{Cluster: "shop-db", Class: "db.r6g.xlarge"})
	if err != nil {
		t.Fatal(err)
	}
	truth, _ = f.env.World.Truth().Cluster("shop-db")
	if res.Created || truth.DNSWriter != res.Writer || truth.Writer != res.Writer {
		t.Fatalf("after scale-down: %+v, writer %s, DNS %s", res, truth.Writer, truth.DNSWriter)
	}
	for _, in := range truth.Instances {
		if in.ID == res.Writer && (in.Class != "db.r6g.xlarge" || in.Tier != 0) {
			t.Fatalf("scale-down target %+v", in)
		}
	}
}
