package sts

import (
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// The awsQuery codec of STS (2011-06-15).

func queryOps(b *backend) map[string]wire.QueryOp {
	return map[string]wire.QueryOp{
		"GetCallerIdentity": wire.Op(decodeGetCallerIdentity, b.GetCallerIdentity, encodeGetCallerIdentity),
		"AssumeRole":        wire.Op(decodeAssumeRole, b.AssumeRole, encodeAssumeRole),
	}
}

func decodeGetCallerIdentity(wire.Params) (*GetCallerIdentityInput, *sim.APIError) {
	return &GetCallerIdentityInput{}, nil
}

func decodeAssumeRole(p wire.Params) (*AssumeRoleInput, *sim.APIError) {
	d, err := p.OptionalInt("DurationSeconds")
	return &AssumeRoleInput{RoleARN: p.String("RoleArn"), RoleSessionName: p.String("RoleSessionName"), DurationSeconds: d}, err
}

type callerIdentityResult struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

type xmlCredentials struct {
	AccessKeyID     string                `xml:"AccessKeyId"`
	SecretAccessKey string                `xml:"SecretAccessKey"`
	SessionToken    string                `xml:"SessionToken"`
	Expiration      wire.TimestampSeconds `xml:"Expiration"`
}

type xmlAssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type assumeRoleResult struct {
	Credentials      xmlCredentials     `xml:"Credentials"`
	AssumedRoleUser  xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize int                `xml:"PackedPolicySize"`
}

func encodeGetCallerIdentity(out *GetCallerIdentityOutput) any {
	return callerIdentityResult{UserID: out.UserID, Account: out.Account, Arn: out.ARN}
}

func encodeAssumeRole(out *AssumeRoleOutput) any {
	c := out.Credentials
	return assumeRoleResult{
		Credentials:      xmlCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expiration: wire.TimestampSeconds(c.Expiration)},
		AssumedRoleUser:  xmlAssumedRoleUser{AssumedRoleID: out.AssumedRoleID, Arn: out.AssumedRoleARN},
		PackedPolicySize: out.PackedPolicySize,
	}
}
