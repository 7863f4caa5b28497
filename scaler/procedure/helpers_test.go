package procedure_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
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
