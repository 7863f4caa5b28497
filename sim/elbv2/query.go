package elbv2

import (
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// The awsQuery codec of Elastic Load Balancing v2 (2015-12-01).

func queryOps(b *backend) map[string]wire.QueryOp {
	return map[string]wire.QueryOp{
		"DescribeTargetGroups": wire.Op(decodeDescribeTargetGroups, b.DescribeTargetGroups, encodeDescribeTargetGroups),
		"DescribeTargetHealth": wire.Op(decodeDescribeTargetHealth, b.DescribeTargetHealth, encodeDescribeTargetHealth),
	}
}

func decodeDescribeTargetGroups(p wire.Params) (*DescribeTargetGroupsInput, *sim.APIError) {
	size, _, err := p.Int("PageSize")
	return &DescribeTargetGroupsInput{TargetGroupARNs: p.List("TargetGroupArns.member"), Names: p.List("Names.member"),
		LoadBalancerARN: p.String("LoadBalancerArn"), PageSize: int(size), Marker: p.String("Marker")}, err
}

func decodeDescribeTargetHealth(p wire.Params) (*DescribeTargetHealthInput, *sim.APIError) {
	return &DescribeTargetHealthInput{TargetGroupARN: p.String("TargetGroupArn")}, nil
}

type xmlTargetGroup struct {
	ARN                        string   `xml:"TargetGroupArn"`
	Name                       string   `xml:"TargetGroupName"`
	Protocol                   string   `xml:"Protocol"`
	Port                       int      `xml:"Port"`
	VpcID                      string   `xml:"VpcId"`
	HealthCheckProtocol        string   `xml:"HealthCheckProtocol"`
	HealthCheckPort            string   `xml:"HealthCheckPort"`
	HealthCheckEnabled         bool     `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int      `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int      `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int      `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int      `xml:"UnhealthyThresholdCount"`
	HealthCheckPath            string   `xml:"HealthCheckPath"`
	TargetType                 string   `xml:"TargetType"`
	LoadBalancerArns           []string `xml:"LoadBalancerArns>member"`
}

type describeTargetGroupsResult struct {
	TargetGroups []xmlTargetGroup `xml:"TargetGroups>member"`
	NextMarker   string           `xml:"NextMarker,omitempty"`
}

type xmlTarget struct {
	ID   string `xml:"Id"`
	Port int    `xml:"Port"`
}

type xmlTargetHealth struct {
	State       string `xml:"State"`
	Reason      string `xml:"Reason,omitempty"`
	Description string `xml:"Description,omitempty"`
}

type xmlTargetHealthDescription struct {
	Target          xmlTarget       `xml:"Target"`
	HealthCheckPort string          `xml:"HealthCheckPort"`
	TargetHealth    xmlTargetHealth `xml:"TargetHealth"`
}

type describeTargetHealthResult struct {
	Descriptions []xmlTargetHealthDescription `xml:"TargetHealthDescriptions>member"`
}

func encodeDescribeTargetGroups(out *DescribeTargetGroupsOutput) any {
	res := describeTargetGroupsResult{NextMarker: out.NextMarker}
	for _, tg := range out.TargetGroups {
		res.TargetGroups = append(res.TargetGroups, xmlTargetGroup{
			ARN: tg.ARN, Name: tg.Name, Protocol: tg.Protocol, Port: tg.Port, VpcID: tg.VpcID,
			HealthCheckProtocol: tg.HealthCheckProtocol, HealthCheckPort: tg.HealthCheckPort, HealthCheckEnabled: tg.HealthCheckEnabled,
			HealthCheckIntervalSeconds: int(tg.HealthCheckInterval.Seconds()), HealthCheckTimeoutSeconds: int(tg.HealthCheckTimeout.Seconds()),
			HealthyThresholdCount: tg.HealthyThreshold, UnhealthyThresholdCount: tg.UnhealthyThreshold,
			HealthCheckPath: tg.HealthCheckPath, TargetType: tg.TargetType, LoadBalancerArns: tg.LoadBalancerARNs,
		})
	}
	return res
}

func encodeDescribeTargetHealth(out *DescribeTargetHealthOutput) any {
	res := describeTargetHealthResult{}
	for _, d := range out.Descriptions {
		res.Descriptions = append(res.Descriptions, xmlTargetHealthDescription{
			Target: xmlTarget{ID: d.TargetID, Port: d.Port}, HealthCheckPort: d.HealthCheckPort,
			TargetHealth: xmlTargetHealth{State: d.State, Reason: d.Reason, Description: d.Description},
		})
	}
	return res
}
