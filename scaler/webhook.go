package scaler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// MaxWebhookBytes bounds a notification. Alertmanager's payloads are a
// few KiB per alert; 1 MiB is hundreds of alerts, and anything larger is
// not Alertmanager.
const MaxWebhookBytes = 1 << 20

// Message is Alertmanager's webhook payload, version 4
// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Alert statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// ErrTooLarge is a body over MaxWebhookBytes.
var ErrTooLarge = errors.New("payload larger than 1 MiB")

// DecodeWebhook reads and validates one notification. Unknown fields are
// accepted, because Alertmanager adds fields over time (truncatedAlerts
// arrived that way); what makes it strict is that every field the scaler
// relies on must be present and well formed, and the version must be 4.
func DecodeWebhook(r io.Reader) (*Message, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxWebhookBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if len(body) > MaxWebhookBytes {
		return nil, ErrTooLarge
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Message) validate() error {
	if m.Version != "4" {
		return fmt.Errorf("version %q: only Alertmanager webhook version \"4\" is understood", m.Version)
	}
	if m.GroupKey == "" {
		return errors.New("groupKey is missing")
	}
	if m.Receiver == "" {
		return errors.New("receiver is missing")
	}
	if m.Status != StatusFiring && m.Status != StatusResolved {
		return fmt.Errorf("status %q: want firing or resolved", m.Status)
	}
	if m.TruncatedAlerts < 0 {
		return fmt.Errorf("truncatedAlerts %d is negative", m.TruncatedAlerts)
	}
	if len(m.Alerts) == 0 {
		return errors.New("alerts is empty")
	}
	for i, a := range m.Alerts {
		if a.Status != StatusFiring && a.Status != StatusResolved {
			return fmt.Errorf("alerts[%d].status %q: want firing or resolved", i, a.Status)
		}
		if a.Fingerprint == "" {
			return fmt.Errorf("alerts[%d].fingerprint is missing", i)
		}
		if len(a.Labels) == 0 {
			return fmt.Errorf("alerts[%d].labels is missing", i)
		}
		if a.StartsAt.IsZero() {
			return fmt.Errorf("alerts[%d].startsAt is missing", i)
		}
	}
	return nil
}

// Actions an alert's `action` label may name.
const (
	ActionAddReaders    = "add_readers"
	ActionRemoveReaders = "remove_readers"
	ActionRaiseMaxACU   = "raise_max_acu"
	ActionScaleASG      = "scale_asg"
)

// Request is what one alert asks for, resolved against the config.
type Request struct {
	Action  string `json:"action"`
	Kind    string `json:"kind"` // cluster or asg
	Name    string `json:"name"`
	Account string `json:"account"`
	Region  string `json:"region"`
	// Direction is out (more capacity) or in; from the alert's
	// `direction` label, implied by add_readers/raise_max_acu (out) and
	// remove_readers (in), default out for scale_asg.
	Direction string `json:"direction"`
	// Step is the alert's `step` label: a hint of the urgency only, the
	// amount comes from demand (recommend.go).
	Step        int       `json:"step"`
	Fingerprint string    `json:"fingerprint"`
	StartsAt    time.Time `json:"starts_at"`
	Status      string    `json:"status"`
	AlertName   string    `json:"alertname,omitempty"`
}

// Target is the resource the request changes, as used for breakers.
func (r Request) Target() string { return r.Kind + "/" + r.Name }

// Key identifies one alert episode (an alert from when it starts firing to
// when it resolves): Alertmanager's repeats and HA duplicates share it.
func (r Request) Key() string {
	return r.Action + "|" + r.Direction + "|" + r.Kind + "/" + r.Account + "/" + r.Region + "/" + r.Name + "|" + r.Fingerprint + "|" + r.StartsAt.UTC().Format(time.RFC3339Nano) + "|" + r.Status
}

// RouteError is a well-formed alert the scaler must refuse to act on:
// an unlisted target or an unusable step (HTTP 422).
type RouteError struct{ Msg string }

func (e *RouteError) Error() string { return e.Msg }

// Route turns an alert into a Request. ok is false for alerts that ask for
// no action (no `action` label, or action "none"); an error names a
// target outside the config or a bad step.
func Route(cfg *Config, a Alert) (Request, bool, error) {
	action := a.Labels["action"]
	if action == "" || action == "none" {
		return Request{}, false, nil
	}
	req := Request{
		Action: action, Account: a.Labels["account"], Region: a.Labels["region"],
		Fingerprint: a.Fingerprint, StartsAt: a.StartsAt.UTC(), Status: a.Status, AlertName: a.Labels["alertname"], Step: 1,
	}
	if s, ok := a.Labels["step"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return req, true, &RouteError{fmt.Sprintf("alert %s: step %q must be an integer in [1, 100]", a.Fingerprint, s)}
		}
		req.Step = n
	}
	dir, err := direction(action, a.Labels["direction"])
	if err != nil {
		return req, true, &RouteError{fmt.Sprintf("alert %s: %v", a.Fingerprint, err)}
	}
	req.Direction = dir
	switch action {
	case ActionAddReaders, ActionRemoveReaders, ActionRaiseMaxACU:
		req.Kind, req.Name = "cluster", a.Labels["db_cluster"]
		if req.Name == "" {
			// Rules from before the rename carry cluster, which Kubernetes
			// setups also attach to every series: never read it as the DB.
			hint := ""
			if a.Labels["cluster"] != "" {
				hint = " (the label cluster is not read: regenerate the rules, which name the DB cluster db_cluster)"
			}
			return req, true, &RouteError{fmt.Sprintf("alert %s: action %s needs a db_cluster label%s", a.Fingerprint, action, hint)}
		}
		t, ok := cfg.Cluster(req.Name, req.Account, req.Region)
		if !ok {
			return req, true, &RouteError{fmt.Sprintf("alert %s: cluster %q (account %q, region %q) is not a configured target", a.Fingerprint, req.Name, req.Account, req.Region)}
		}
		req.Account, req.Region = t.Account, t.Region
	case ActionScaleASG:
		req.Kind, req.Name = "asg", a.Labels["asg"]
		if req.Name == "" {
			return req, true, &RouteError{fmt.Sprintf("alert %s: action %s needs an asg label", a.Fingerprint, action)}
		}
		t, ok := cfg.ASG(req.Name, req.Account, req.Region)
		if !ok {
			return req, true, &RouteError{fmt.Sprintf("alert %s: asg %q (account %q, region %q) is not a configured target", a.Fingerprint, req.Name, req.Account, req.Region)}
		}
		req.Account, req.Region = t.Account, t.Region
	default:
		return req, true, &RouteError{fmt.Sprintf("alert %s: unknown action %q (add_readers, remove_readers, raise_max_acu, scale_asg, none)", a.Fingerprint, action)}
	}
	return req, true, nil
}

// direction reads an alert's `direction` label against its action:
// add_readers and raise_max_acu only scale out, remove_readers only in,
// scale_asg either way (out when the label is absent).
func direction(action, label string) (string, error) {
	if label != "" && label != DirOut && label != DirIn {
		return "", fmt.Errorf("direction %q must be out or in", label)
	}
	var want string
	switch action {
	case ActionAddReaders, ActionRaiseMaxACU:
		want = DirOut
	case ActionRemoveReaders:
		want = DirIn
	default:
		if label == "" {
			return DirOut, nil
		}
		return label, nil
	}
	if label != "" && label != want {
		return "", fmt.Errorf("action %s scales %s, but direction is %q", action, want, label)
	}
	return want, nil
}
