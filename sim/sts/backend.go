package sts

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

type GetCallerIdentityInput struct{}

type GetCallerIdentityOutput struct{ UserID, Account, ARN string }

type AssumeRoleInput struct {
	RoleARN, RoleSessionName string
	DurationSeconds          *int // nil: 3600
}

type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

type AssumeRoleOutput struct {
	Credentials                   Credentials
	AssumedRoleID, AssumedRoleARN string
	PackedPolicySize              int
}

type backend struct{ w *sim.World }

type session struct {
	account, role, name string
	expires             time.Time
}

const extensionKey = "sts.sessions"

// sessions maps temporary access keys to the role session they belong to,
// kept in the world (lock held).
func (b *backend) sessions() map[string]session {
	return b.w.Extension(extensionKey, func() any { return map[string]session{} }).(map[string]session)
}

// caller returns the session behind the call's key, if it is temporary.
func (b *backend) caller(c sim.CallContext, now time.Time) (s session, temporary, expired bool) {
	s, temporary = b.sessions()[c.AccessKey]
	return s, temporary, temporary && !now.Before(s.expires)
}

func (b *backend) GetCallerIdentity(c sim.CallContext, _ *GetCallerIdentityInput) (*GetCallerIdentityOutput, *sim.APIError) {
	out := &GetCallerIdentityOutput{Account: c.Account, UserID: "AIDAAURORASIMUSER0001", ARN: fmt.Sprintf("arn:aws:iam::%s:user/aurora-sim", c.Account)}
	var err *sim.APIError
	b.w.Do(func(now time.Time) {
		s, temporary, expired := b.caller(c, now)
		switch {
		case expired:
			err = errExpiredToken()
		case temporary:
			out.UserID = "AROAAURORASIMROLE0001:" + s.name
			out.ARN = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", s.account, s.role, s.name)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var (
	roleARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

func (b *backend) AssumeRole(c sim.CallContext, in *AssumeRoleInput) (*AssumeRoleOutput, *sim.APIError) {
	arn, name := in.RoleARN, in.RoleSessionName
	if arn == "" {
		return nil, sim.ErrMissingParameter("RoleArn")
	}
	if name == "" {
		return nil, sim.ErrMissingParameter("RoleSessionName")
	}
	m := roleARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, sim.ErrValidation("%s is invalid", arn)
	}
	if !sessionName.MatchString(name) {
		return nil, sim.ErrValidation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]{2,64}", name)
	}
	duration := 3600
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	if duration < 900 || duration > 43200 {
		return nil, sim.ErrValidation("The requested DurationSeconds %d is outside 900 to 43200 seconds.", duration)
	}
	account, role := m[1], m[2]
	var expired bool
	b.w.Do(func(now time.Time) { _, _, expired = b.caller(c, now) })
	if expired {
		return nil, errExpiredTokenException()
	}
	if !b.w.HasRole(account, role) {
		return nil, errAccessDenied(c.Account, arn)
	}
	key := b.w.IssueKey(account)
	out := &AssumeRoleOutput{
		AssumedRoleID:  "AROAAURORASIMROLE0001:" + name,
		AssumedRoleARN: fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role, name),
	}
	b.w.Do(func(now time.Time) {
		expires := now.Add(time.Duration(duration) * time.Second)
		b.sessions()[key] = session{account: account, role: role, name: name, expires: expires}
		out.Credentials = Credentials{AccessKeyID: key, SecretAccessKey: randomHex(20), SessionToken: randomHex(64), Expiration: expires}
	})
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
