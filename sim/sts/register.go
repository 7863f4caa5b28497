// Package sts emulates the STS calls that make multi-account clients
// work: GetCallerIdentity and AssumeRole. The account of a request comes
// from its access key; AssumeRole hands out keys of the role's account.
package sts

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	b := &backend{w: s.World}
	s.HandleQuery("sts", &wire.QueryService{
		Version: "2011-06-15", XMLNS: "https://sts.amazonaws.com/doc/2011-06-15/",
		Ops: map[string]wire.QueryOp{"GetCallerIdentity": b.getCallerIdentity, "AssumeRole": b.assumeRole},
	})
}

type backend struct{ w *sim.World }

type session struct{ account, role, name string }

const extensionKey = "sts.sessions"

// sessions maps temporary access keys to the role session they belong to,
// kept in the world (lock held).
func (b *backend) sessions() map[string]session {
	return b.w.Extension(extensionKey, func() any { return map[string]session{} }).(map[string]session)
}

type callerIdentity struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

func (b *backend) getCallerIdentity(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	out := callerIdentity{Account: c.Account, UserID: "AIDAAURORASIMUSER0001", Arn: fmt.Sprintf("arn:aws:iam::%s:user/aurora-sim", c.Account)}
	b.w.Do(func(time.Time) {
		if s, ok := b.sessions()[c.AccessKey]; ok {
			out.UserID = "AROAAURORASIMROLE0001:" + s.name
			out.Arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", s.account, s.role, s.name)
		}
	})
	return out, nil
}

var (
	roleARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

type credentials struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

type assumeRoleResult struct {
	Credentials     credentials `xml:"Credentials"`
	AssumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	} `xml:"AssumedRoleUser"`
	PackedPolicySize int `xml:"PackedPolicySize"`
}

func (b *backend) assumeRole(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	arn, err := p.Required("RoleArn")
	if err != nil {
		return nil, err
	}
	name, err := p.Required("RoleSessionName")
	if err != nil {
		return nil, err
	}
	m := roleARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, sim.ErrValidation("%s is invalid", arn)
	}
	if !sessionName.MatchString(name) {
		return nil, sim.ErrValidation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]{2,64}", name)
	}
	duration, hasDuration, err := p.Int("DurationSeconds")
	if err != nil {
		return nil, err
	}
	if !hasDuration {
		duration = 3600
	}
	if duration < 900 || duration > 43200 {
		return nil, sim.ErrValidation("The requested DurationSeconds %d is outside 900 to 43200 seconds.", duration)
	}
	account, role := m[1], m[2]
	if !b.w.HasRole(account, role) {
		return nil, sim.NewAPIError(403, "AccessDenied", "User: arn:aws:iam::%s:user/aurora-sim is not authorized to perform: sts:AssumeRole on resource: %s", c.Account, arn)
	}
	key := b.w.IssueKey(account)
	var out assumeRoleResult
	b.w.Do(func(now time.Time) {
		b.sessions()[key] = session{account: account, role: role, name: name}
		out.Credentials = credentials{AccessKeyID: key, SecretAccessKey: randomHex(20), SessionToken: randomHex(64),
			Expiration: now.Add(time.Duration(duration) * time.Second).UTC()}
	})
	out.AssumedRoleUser.AssumedRoleID = "AROAAURORASIMROLE0001:" + name
	out.AssumedRoleUser.Arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role, name)
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
