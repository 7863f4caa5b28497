package procedure_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/aurora-surge/aurora-surge/scaler/procedure"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

func procedureSetRecord(t *testing.T, c *route53.Client, zone, target string) {
	t.Helper()
	if _, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone), ChangeBatch: &r53types.ChangeBatch{
		Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String("db-read.app.internal."), Type: r53types.RRTypeCname, TTL: aws.Int64(5),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(target)}}}}},
	}}); err != nil {
		t.Fatal(err)
	}
}

type (
	ctxT = context.Context
	durT = time.Duration
)

// startProvisioned is the steady scenario's provisioned cluster shop-db.
func startProvisioned(t *testing.T) *fleet {
	t.Helper()
	env := simtest.Start(t, "steady", awsapi.Services...)
	cfg := env.Config(t, "us-east-1")
	f := &fleet{env: env, rds: rds.NewFromConfig(cfg), dns: procedure.DNSResolver{Server: env.StartDNS(t)}}
	f.deps = procedure.Deps{RDS: f.rds, Route53: route53.NewFromConfig(cfg), DNS: f.dns, Poll: 5 * time.Second,
		Wait: func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil }}
	return f
}
