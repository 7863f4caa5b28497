package alerting

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/config"
	amcommoncfg "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// DefaultExternalURL is the externalURL the webhook bodies carry until
// SetExternalURL changes it. Alertmanager derives its own from
// --web.external-url or, unset, from its host name and port.
const DefaultExternalURL = "http://alertmanager:9093"

// webhook is one webhook integration of a receiver; each has its own entry
// in the notification log, as in Alertmanager.
type webhook struct {
	idx          int
	url          string
	sendResolved bool
	maxAlerts    uint64
}

// inhibitRule mirrors Alertmanager's inhibit.InhibitRule.
type inhibitRule struct {
	source, target labels.Matchers
	equal          []model.LabelName
}

// Load parses an alertmanager.yml with Alertmanager's own config package
// and builds its route tree with Alertmanager's dispatch.Route. Features the
// model does not implement are refused rather than ignored.
func Load(path string) (*Manager, error) {
	cfg, err := config.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	if err := unsupported(cfg); err != nil {
		return nil, fmt.Errorf("alerting: %s: %w", path, err)
	}
	m := &Manager{
		route:          dispatch.NewRoute(cfg.Route, nil),
		resolveTimeout: time.Duration(cfg.Global.ResolveTimeout),
		webhooks:       map[string][]webhook{},
		externalURL:    DefaultExternalURL,
		alerts:         map[model.Fingerprint]*alert{},
		groupIndex:     map[groupID]*group{},
		nflog:          map[nflogKey]nflogEntry{},
	}
	for _, rc := range cfg.Receivers {
		var hooks []webhook
		for i, wc := range rc.WebhookConfigs {
			url := string(wc.URL)
			if wc.URLFile != "" {
				b, err := os.ReadFile(wc.URLFile)
				if err != nil {
					return nil, fmt.Errorf("alerting: receiver %q: %w", rc.Name, err)
				}
				url = strings.TrimSpace(string(b))
			}
			hooks = append(hooks, webhook{idx: i, url: url, sendResolved: wc.SendResolved(), maxAlerts: wc.MaxAlerts})
		}
		m.webhooks[rc.Name] = hooks
	}
	for _, ir := range cfg.InhibitRules {
		r := inhibitRule{}
		if r.source, err = matchers(ir.SourceMatch, ir.SourceMatchRE, ir.SourceMatchers); err != nil {
			return nil, fmt.Errorf("alerting: inhibit rule: %w", err)
		}
		if r.target, err = matchers(ir.TargetMatch, ir.TargetMatchRE, ir.TargetMatchers); err != nil {
			return nil, fmt.Errorf("alerting: inhibit rule: %w", err)
		}
		for _, ln := range ir.Equal {
			r.equal = append(r.equal, model.LabelName(ln))
		}
		m.inhibit = append(m.inhibit, r)
	}
	return m, nil
}

// matchers joins the deprecated match/match_re forms and the matchers list,
// as Alertmanager's inhibit.NewInhibitRule does.
func matchers(eq map[string]string, re amcommoncfg.MatchRegexps, ms amcommoncfg.Matchers) (labels.Matchers, error) {
	var out labels.Matchers
	for ln, lv := range eq {
		m, err := labels.NewMatcher(labels.MatchEqual, ln, lv)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	for ln, lv := range re {
		m, err := labels.NewMatcher(labels.MatchRegexp, ln, lv.String())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return append(out, ms...), nil
}

// unsupported names configuration whose effect the model does not
// reproduce: time intervals (mute/active) and route labels. Receivers
// without webhook integrations are fine: they just produce no
// Notification, and other integrations do not change webhook timing.
func unsupported(cfg *config.Config) error {
	var errs []error
	var walk func(r *config.Route, path string)
	walk = func(r *config.Route, path string) {
		if len(r.MuteTimeIntervals) > 0 || len(r.ActiveTimeIntervals) > 0 {
			errs = append(errs, fmt.Errorf("route %s: mute_time_intervals/active_time_intervals are not modelled", path))
		}
		if len(r.Labels) > 0 {
			errs = append(errs, fmt.Errorf("route %s: route labels are not modelled (Alertmanager 0.25 has none)", path))
		}
		for i, c := range r.Routes {
			walk(c, fmt.Sprintf("%s/%d", path, i))
		}
	}
	walk(cfg.Route, "root")
	for _, rc := range cfg.Receivers {
		for _, wc := range rc.WebhookConfigs {
			if wc.Payload != nil {
				errs = append(errs, fmt.Errorf("receiver %q: webhook payload templates are not modelled", rc.Name))
			}
		}
	}
	return errors.Join(errs...)
}
