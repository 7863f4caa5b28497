// Package kubernetes_test checks the kustomize base in deploy/kubernetes:
// every manifest decodes strictly into its Kubernetes or
// prometheus-operator API type, the pieces refer to each other correctly,
// and the generated files (the PrometheusRule, the dashboard ConfigMaps)
// equal what their sources generate today.
package kubernetes_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/common/model"
	yamlv3 "gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/rules"
	"github.com/aurora-surge/aurora-surge/scaler"
)

var update = flag.Bool("update", false, "rewrite the generated dashboard ConfigMaps from deploy/grafana/dashboards")

type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
	Resources []string `json:"resources"`
}

// base is every manifest of the kustomization, decoded.
type base struct {
	deployments     map[string]*appsv1.Deployment
	services        map[string]*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	serviceAccounts map[string]*corev1.ServiceAccount
	serviceMonitors []*monitoringv1.ServiceMonitor
	promRules       []*monitoringv1.PrometheusRule
	amConfigs       []*monitoringv1alpha1.AlertmanagerConfig
}

// decode reads one manifest into the API type its apiVersion and kind
// name; an unknown field anywhere fails.
func decode(t *testing.T, name string, data []byte, b *base) {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	strict := func(v any) {
		if err := yaml.UnmarshalStrict(data, v); err != nil {
			t.Fatalf("%s (%s %s): %v", name, tm.APIVersion, tm.Kind, err)
		}
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		var o appsv1.Deployment
		strict(&o)
		b.deployments[o.Name] = &o
	case "v1 Service":
		var o corev1.Service
		strict(&o)
		b.services[o.Name] = &o
	case "v1 ConfigMap":
		var o corev1.ConfigMap
		strict(&o)
		b.configMaps[o.Name] = &o
	case "v1 Secret":
		var o corev1.Secret
		strict(&o)
		b.secrets[o.Name] = &o
	case "v1 ServiceAccount":
		var o corev1.ServiceAccount
		strict(&o)
		b.serviceAccounts[o.Name] = &o
	case "v1 Namespace":
		var o corev1.Namespace
		strict(&o)
	case "monitoring.coreos.com/v1 ServiceMonitor":
		var o monitoringv1.ServiceMonitor
		strict(&o)
		b.serviceMonitors = append(b.serviceMonitors, &o)
	case "monitoring.coreos.com/v1 PrometheusRule":
		var o monitoringv1.PrometheusRule
		strict(&o)
		b.promRules = append(b.promRules, &o)
	case "monitoring.coreos.com/v1alpha1 AlertmanagerConfig":
		var o monitoringv1alpha1.AlertmanagerConfig
		strict(&o)
		b.amConfigs = append(b.amConfigs, &o)
	default:
		t.Fatalf("%s: no API type known for %s %s", name, tm.APIVersion, tm.Kind)
	}
}

func loadBase(t *testing.T) (*base, kustomization) {
	t.Helper()
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: %s %s", k.APIVersion, k.Kind)
	}
	// Every manifest here is in the base, and the base lists nothing else.
	files, _ := filepath.Glob("*.yaml")
	var onDisk []string
	for _, f := range files {
		if f != "kustomization.yaml" {
			onDisk = append(onDisk, f)
		}
	}
	listed := slices.Clone(k.Resources)
	sort.Strings(listed)
	if !slices.Equal(onDisk, listed) {
		t.Fatalf("kustomization resources %v, manifests in the directory %v", listed, onDisk)
	}
	b := &base{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, serviceAccounts: map[string]*corev1.ServiceAccount{}}
	for _, f := range k.Resources {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("\n---")) {
			t.Fatalf("%s: one object per file", f)
		}
		decode(t, f, data, b)
	}
	return b, k
}

func TestManifestsDecodeAndFit(t *testing.T) {
	b, _ := loadBase(t)
	exp, scl := b.deployments["aurora-exporter"], b.deployments["aurora-scaler"]
	if exp == nil || scl == nil {
		t.Fatalf("deployments: %v", b.deployments)
	}
	if scl.Spec.Replicas == nil || *scl.Spec.Replicas != 2 {
		t.Errorf("scaler replicas %v, want 2", scl.Spec.Replicas)
	}

	for _, d := range []*appsv1.Deployment{exp, scl} {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not select its pods %v", d.Name, d.Spec.Selector, d.Spec.Template.Labels)
		}
		pod := d.Spec.Template.Spec
		if b.serviceAccounts[pod.ServiceAccountName] == nil {
			t.Errorf("%s: service account %q not in the base", d.Name, pod.ServiceAccountName)
		}
		volumes := map[string]corev1.Volume{}
		for _, v := range pod.Volumes {
			volumes[v.Name] = v
			if v.ConfigMap != nil && b.configMaps[v.ConfigMap.Name] == nil {
				t.Errorf("%s: ConfigMap %q not in the base", d.Name, v.ConfigMap.Name)
			}
			if v.Secret != nil && b.secrets[v.Secret.SecretName] == nil {
				t.Errorf("%s: Secret %q not in the base", d.Name, v.Secret.SecretName)
			}
		}
		c := pod.Containers[0]
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("%s: mount of an undeclared volume %q", d.Name, m.Name)
			}
		}
		// The Service in front selects these pods on the port they serve.
		svc := b.services[d.Name]
		if svc == nil {
			t.Fatalf("%s: no Service", d.Name)
		}
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Service %s selects %v, not the pods %v", svc.Name, svc.Spec.Selector, d.Spec.Template.Labels)
		}
		if svc.Spec.Ports[0].TargetPort.StrVal != c.Ports[0].Name {
			t.Errorf("Service %s targets port %v, the container names %q", svc.Name, svc.Spec.Ports[0].TargetPort, c.Ports[0].Name)
		}
		// The configuration file named by --config.file is the mounted
		// ConfigMap's, and it is one the command accepts.
		cfgPath := flagValue(c.Args, "--config.file")
		data, ok := mounted(b, pod, c, cfgPath)
		if !ok {
			t.Errorf("%s: --config.file %q is not in a mounted ConfigMap", d.Name, cfgPath)
			continue
		}
		switch d.Name {
		case "aurora-exporter":
			if _, err := collector.ParseConfig(cfgPath, []byte(data)); err != nil {
				t.Errorf("exporter configuration: %v", err)
			}
		case "aurora-scaler":
			cfg, err := scaler.ParseConfig(cfgPath, []byte(data))
			if err != nil {
				t.Errorf("scaler configuration: %v", err)
				continue
			}
			if _, ok := mounted(b, pod, c, cfg.BearerTokenFile); !ok {
				t.Errorf("scaler bearer_token_file %q is not in a mounted Secret", cfg.BearerTokenFile)
			}
		}
	}

	// The ServiceMonitor scrapes both Services on a port they have.
	if len(b.serviceMonitors) != 1 {
		t.Fatalf("%d ServiceMonitors", len(b.serviceMonitors))
	}
	sm := b.serviceMonitors[0]
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"aurora-exporter", "aurora-scaler"} {
		svc := b.services[name]
		if !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("the ServiceMonitor does not select Service %s", name)
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == sm.Spec.Endpoints[0].Port }) {
			t.Errorf("Service %s has no port %q", name, sm.Spec.Endpoints[0].Port)
		}
	}

	// Alertmanager reaches the scaler's Service with the scaler's token.
	if len(b.amConfigs) != 1 {
		t.Fatalf("%d AlertmanagerConfigs", len(b.amConfigs))
	}
	am := b.amConfigs[0]
	if am.Spec.Route == nil || len(am.Spec.Receivers) != 1 || am.Spec.Route.Receiver != am.Spec.Receivers[0].Name {
		t.Fatalf("AlertmanagerConfig route and receiver: %+v", am.Spec)
	}
	for _, l := range am.Spec.Route.GroupBy {
		if l == "cluster" || l == "instance" || l == "job" {
			t.Errorf("AlertmanagerConfig groups by %q, a label the product does not use (db_cluster, db_instance)", l)
		}
	}
	sameScalerRoute(t, am.Spec.Route)
	wh := am.Spec.Receivers[0].WebhookConfigs
	if len(wh) != 1 || wh[0].URL == nil {
		t.Fatalf("AlertmanagerConfig webhook: %+v", wh)
	}
	if want := fmt.Sprintf("http://aurora-scaler.aurora-surge.svc:%d/webhook", b.services["aurora-scaler"].Spec.Ports[0].Port); string(*wh[0].URL) != want {
		t.Errorf("webhook URL %s, want %s", *wh[0].URL, want)
	}
	cred := wh[0].HTTPConfig.Authorization.Credentials
	if s := b.secrets[cred.Name]; s == nil || s.StringData[cred.Key] == "" {
		t.Errorf("webhook credentials %s/%s not in the base", cred.Name, cred.Key)
	}
	if !slices.ContainsFunc(scl.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == cred.Name }) {
		t.Errorf("the scaler does not mount the Secret %s Alertmanager presents", cred.Name)
	}
}

// sameScalerRoute: the AlertmanagerConfig's route is a hand copy of the
// scaler route of deploy/alertmanager/alertmanager.yml (grouping and
// timings), so both deployments re-send and group alike.
func sameScalerRoute(t *testing.T, r *monitoringv1alpha1.Route) {
	t.Helper()
	c, err := amconfig.LoadFile("../alertmanager/alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(c.Route.Routes, func(r *amconfig.Route) bool { return r.Receiver == "scaler" })
	if i < 0 {
		t.Fatal("alertmanager.yml has no route to the scaler")
	}
	want := c.Route.Routes[i]
	if !slices.Equal(r.GroupBy, want.GroupByStr) {
		t.Errorf("AlertmanagerConfig groups by %v, alertmanager.yml's scaler route by %v", r.GroupBy, want.GroupByStr)
	}
	for _, d := range []struct {
		name string
		got  *monitoringv1.NonEmptyDuration
		want *model.Duration
	}{{"groupWait", r.GroupWait, want.GroupWait}, {"groupInterval", r.GroupInterval, want.GroupInterval}, {"repeatInterval", r.RepeatInterval, want.RepeatInterval}} {
		if d.got == nil || d.want == nil {
			t.Errorf("%s: %v in the AlertmanagerConfig, %v in alertmanager.yml: set both", d.name, d.got, d.want)
			continue
		}
		if got, err := model.ParseDuration(string(*d.got)); err != nil || got != *d.want {
			t.Errorf("%s %s (%v), alertmanager.yml's scaler route has %s", d.name, *d.got, err, d.want)
		}
	}
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// mounted returns the content of the file at path inside the container,
// if a ConfigMap or Secret volume provides it.
func mounted(b *base, pod corev1.PodSpec, c corev1.Container, path string) (string, bool) {
	for _, m := range c.VolumeMounts {
		key, ok := strings.CutPrefix(path, m.MountPath+"/")
		if !ok || strings.Contains(key, "/") {
			continue
		}
		for _, v := range pod.Volumes {
			switch {
			case v.Name != m.Name:
			case v.ConfigMap != nil && b.configMaps[v.ConfigMap.Name] != nil:
				s, ok := b.configMaps[v.ConfigMap.Name].Data[key]
				return s, ok
			case v.Secret != nil && b.secrets[v.Secret.SecretName] != nil:
				s, ok := b.secrets[v.Secret.SecretName].StringData[key]
				return s, ok
			}
		}
	}
	return "", false
}

// TestPrometheusRuleIsTheRulesBundle: the committed PrometheusRule is what
// rulegen -prometheusrule writes, and its groups are those of rules/.
func TestPrometheusRuleIsTheRulesBundle(t *testing.T) {
	th, err := rules.DefaultThresholds()
	if err != nil {
		t.Fatal(err)
	}
	files, err := rules.Generate(th)
	if err != nil {
		t.Fatal(err)
	}
	want, err := rules.PrometheusRule(files)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("prometheusrule.yaml differs from what rulegen generates: run `make rules`")
	}

	// Against the rule files themselves, as data.
	var pr struct {
		Spec struct {
			Groups []any `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yamlv3.Unmarshal(got, &pr); err != nil {
		t.Fatal(err)
	}
	ruleFiles, _ := filepath.Glob("../../rules/*.rules.yml")
	if len(ruleFiles) == 0 {
		t.Fatal("no rules/*.rules.yml")
	}
	var groups []any
	for _, f := range ruleFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf struct {
			Groups []any `yaml:"groups"`
		}
		if err := yamlv3.Unmarshal(data, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		groups = append(groups, rf.Groups...)
	}
	if !reflect.DeepEqual(pr.Spec.Groups, groups) {
		t.Fatalf("the PrometheusRule's %d groups are not rules/*.rules.yml's %d groups", len(pr.Spec.Groups), len(groups))
	}
	// And the operator's type reads every rule.
	var typed monitoringv1.PrometheusRule
	if err := yaml.UnmarshalStrict(got, &typed); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range typed.Spec.Groups {
		n += len(g.Rules)
		for _, r := range g.Rules {
			if r.Expr.String() == "" || (r.Alert == "") == (r.Record == "") {
				t.Errorf("group %s: rule %q%q without expr or with both/neither alert and record", g.Name, r.Alert, r.Record)
			}
		}
	}
	t.Logf("%d groups, %d rules", len(typed.Spec.Groups), n)
}

// dashboardConfigMap is the ConfigMap Grafana's sidecar loads one
// dashboard from (it watches ConfigMaps labelled grafana_dashboard: "1").
func dashboardConfigMap(file string, dashboard []byte) ([]byte, error) {
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	cm := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":   "grafana-dashboard-" + name,
			"labels": map[string]string{"grafana_dashboard": "1"},
		},
		"data": map[string]string{filepath.Base(file): string(dashboard)},
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Generated from deploy/grafana/dashboards/%s. Do not edit: run\n# `go test ./deploy/kubernetes -run TestDashboardConfigMaps -update` after `make dashboards`.\n", filepath.Base(file))
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cm); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

func dashboardFile(src string) string {
	return "dashboard-" + strings.TrimSuffix(filepath.Base(src), ".json") + ".yaml"
}

func TestDashboardConfigMaps(t *testing.T) {
	dashboards, _ := filepath.Glob("../grafana/dashboards/*.json")
	if len(dashboards) == 0 {
		t.Fatal("no dashboards in deploy/grafana/dashboards")
	}
	srcs, wants := map[string][]byte{}, map[string][]byte{}
	for _, f := range dashboards {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := dashboardConfigMap(f, src)
		if err != nil {
			t.Fatal(err)
		}
		srcs[f], wants[f] = src, want
		if *update {
			if err := os.WriteFile(dashboardFile(f), want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, k := loadBase(t)
	for _, f := range dashboards {
		src, want, out := srcs[f], wants[f], dashboardFile(f)
		if !slices.Contains(k.Resources, out) {
			t.Errorf("%s is not a resource of kustomization.yaml", out)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("%v (generate it: go test ./deploy/kubernetes -run TestDashboardConfigMaps -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: run go test ./deploy/kubernetes -run TestDashboardConfigMaps -update", out, f)
		}
		// The data is the dashboard byte for byte.
		var cm corev1.ConfigMap
		if err := yaml.UnmarshalStrict(got, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Labels["grafana_dashboard"] != "1" || cm.Data[filepath.Base(f)] != string(src) {
			t.Errorf("%s: label %q, data equal to the dashboard: %v", out, cm.Labels["grafana_dashboard"], cm.Data[filepath.Base(f)] == string(src))
		}
	}
}
