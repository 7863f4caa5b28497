package deploy

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// requireDocker is set by .ci/run: there the compose test must run.
const requireDocker = "AURORA_REQUIRE_DOCKER"

// skipOrFail skips the test loudly (the message goes to stderr, not only
// to -v output), or fails it where CI requires Docker.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireDocker) != "" {
		t.Fatalf("%s (%s is set)", msg, requireDocker)
	}
	fmt.Fprintf(os.Stderr, "SKIP %s: %s (.ci/run installs docker.io, debootstrap and docker-compose and starts dockerd)\n", t.Name(), msg)
	t.Skip(msg)
}

// TestComposeStackRuns starts docker-compose.yml with the images built
// locally (no registry is reachable): the aurora image from host-built
// binaries on scratch, the monitoring image on a debootstrapped Debian
// bookworm carrying Debian's prometheus and prometheus-alertmanager.
// Grafana has no Debian package and is left out. Both images are the
// Dockerfile's own stages with only their base (and the apt-get step the
// base already did) replaced.
func TestComposeStackRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		skipOrFail(t, "no docker client")
	}
	if out, err := runErr(20*time.Second, nil, "", docker, "info", "--format", "{{.ServerVersion}}"); err != nil {
		skipOrFail(t, "no Docker daemon: %v %s", err, strings.TrimSpace(out))
	}
	compose := composeCommand()
	if compose == nil {
		skipOrFail(t, "neither docker-compose nor docker compose")
	}
	start := time.Now()
	root := absPath(t, "..")
	stages := readDockerfile(t)
	denv := []string{"DOCKER_BUILDKIT=0"} // the daemon's classic builder: no buildx needed

	// The Debian base, cached as a tarball under .build/ (debootstrap is
	// the slow part of a cold run).
	promPin, amPin := makeVar(t, "PROMETHEUS_DEB"), makeVar(t, "ALERTMANAGER_DEB")
	base := debianBase(t, docker, denv, root, promPin, amPin)
	t.Logf("debian base %s ready after %s", base, time.Since(start).Round(time.Second))

	// The build stage's go build, run on the host with /out in a context
	// directory: the same flags, the same layout.
	ctx := t.TempDir()
	version := fmt.Sprintf("0.0.0-compose-%d", os.Getpid())
	buildStep := ""
	for _, l := range stage(t, stages, "build").lines {
		if strings.Contains(l, "go build") {
			buildStep = strings.TrimPrefix(l, "RUN ")
		}
	}
	buildStep = strings.ReplaceAll(buildStep, "/out/", ctx+"/out/")
	run(t, 15*time.Minute, []string{"VERSION=" + version, "REVISION=compose-test", "BRANCH=compose-test"}, root, "sh", "-c", buildStep)
	t.Logf("binaries built after %s", time.Since(start).Round(time.Second))

	tag := fmt.Sprintf("%d", os.Getpid())
	images := map[string]string{
		"aurora":     "aurora-surge-test/aurora:" + tag,
		"monitoring": "aurora-surge-test/monitoring:" + tag,
	}
	for target, from := range map[string]string{"aurora": "scratch", "monitoring": base} {
		df := localStage(t, stage(t, stages, target), from)
		if err := os.WriteFile(filepath.Join(ctx, "Dockerfile."+target), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, 5*time.Minute, denv, ctx, docker, "build", "-q", "-f", "Dockerfile."+target, "-t", images[target], ".")
		t.Cleanup(func() { _, _ = runErr(time.Minute, nil, "", docker, "rmi", "-f", images[target]) })
	}
	t.Logf("images built after %s", time.Since(start).Round(time.Second))

	project := "aurora-surge-test-" + tag
	cenv := append(denv, "COMPOSE_PROJECT_NAME="+project, "AURORA_IMAGE="+images["aurora"], "MONITORING_IMAGE="+images["monitoring"],
		// Empty host ports: Docker picks free ones (no clash with a stack
		// already running on this host).
		"AURORA_SIM_PORT=", "AURORA_EXPORTER_PORT=", "AURORA_SCALER_PORT=", "PROMETHEUS_PORT=", "ALERTMANAGER_PORT=")
	files := []string{"-f", filepath.Join(root, "docker-compose.yml"), "-f", filepath.Join(root, "deploy", "compose-local-images.yml")}
	dc := func(timeout time.Duration, args ...string) (string, error) {
		return runErr(timeout, cenv, root, compose[0], append(append(compose[1:], files...), args...)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dc(time.Minute, "logs", "--no-color", "--tail=40")
			t.Logf("compose logs:\n%s", out)
		}
		if out, err := dc(3*time.Minute, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			t.Logf("compose down: %v\n%s", err, out)
		}
	})
	services := []string{"aurora_sim", "aurora_exporter", "aurora_scaler", "prometheus", "alertmanager"}
	if out, err := dc(5*time.Minute, append([]string{"up", "-d", "--no-build"}, services...)...); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	t.Logf("compose up after %s", time.Since(start).Round(time.Second))

	// Every service healthy, by Docker's own healthchecks.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		unhealthy := []string{}
		for _, s := range services {
			id, _ := dc(30*time.Second, "ps", "-q", s)
			st, _ := runErr(30*time.Second, nil, "", docker, "inspect", "-f", "{{.State.Health.Status}}", strings.TrimSpace(id))
			if strings.TrimSpace(st) != "healthy" {
				unhealthy = append(unhealthy, s+"="+strings.TrimSpace(st))
			}
		}
		if len(unhealthy) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy after 3 min: %v", unhealthy)
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("all healthy after %s", time.Since(start).Round(time.Second))

	url := func(service, port string) string {
		out, err := dc(30*time.Second, "port", service, port)
		if err != nil {
			t.Fatalf("compose port %s %s: %v %s", service, port, err, out)
		}
		return "http://" + strings.TrimSpace(out)
	}
	prom, am, scalerURL := url("prometheus", "9090"), url("alertmanager", "9093"), url("aurora_scaler", "9854")

	// The generated secrets, read where Alertmanager reads them.
	token, err := dc(30*time.Second, "exec", "-T", "alertmanager", "cat", "/run/aurora-surge/scaler-token")
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(token) {
		t.Fatalf("generated token %q: %v", token, err)
	}
	if creds, err := dc(30*time.Second, "exec", "-T", "alertmanager", "cat", "/run/aurora-surge/grafana-credentials"); err != nil ||
		!regexp.MustCompile(`^admin:[0-9a-f]{64}\n$`).MatchString(creds) {
		t.Errorf("generated Grafana credentials %q: %v", creds, err)
	}

	// The versions shipped are the versions tested.
	var pb struct{ Data struct{ Version string } }
	getJSON(t, prom+"/api/v1/status/buildinfo", &pb)
	var as struct{ VersionInfo struct{ Version string } }
	getJSON(t, am+"/api/v2/status", &as)
	if !strings.HasPrefix(promPin, "prometheus="+pb.Data.Version+"-") || !strings.HasPrefix(amPin, "prometheus-alertmanager="+as.VersionInfo.Version+"-") {
		t.Errorf("running Prometheus %s and Alertmanager %s, the tests pin %s and %s", pb.Data.Version, as.VersionInfo.Version, promPin, amPin)
	}

	// Prometheus scrapes the exporter and the scaler, with the rules
	// loaded and Alertmanager discovered.
	waitFor(t, time.Minute, "targets up", func() error {
		var r struct {
			Data struct {
				ActiveTargets []struct {
					Labels    map[string]string
					Health    string
					LastError string
				}
			}
		}
		getJSON(t, prom+"/api/v1/targets", &r)
		up := map[string]bool{}
		for _, tg := range r.Data.ActiveTargets {
			up[tg.Labels["job"]] = tg.Health == "up"
		}
		for _, j := range []string{"aurora_exporter", "aurora_scaler", "alertmanager", "prometheus"} {
			if !up[j] {
				return fmt.Errorf("%s not up: %+v", j, r.Data.ActiveTargets)
			}
		}
		return nil
	})
	var rules struct {
		Data struct {
			Groups []struct {
				File  string
				Rules []struct{ Name, Health string }
			}
		}
	}
	getJSON(t, prom+"/api/v1/rules", &rules)
	ruleFiles, ruleCount := map[string]bool{}, 0
	for _, g := range rules.Data.Groups {
		ruleFiles[g.File] = true
		for _, r := range g.Rules {
			ruleCount++
			if r.Health == "err" {
				t.Errorf("rule %s in %s: health err", r.Name, g.File)
			}
		}
	}
	if len(ruleFiles) < 7 || ruleCount < 20 {
		t.Errorf("Prometheus loaded %d rules from %d files", ruleCount, len(ruleFiles))
	}
	waitFor(t, time.Minute, "stamped build info scraped", func() error {
		var q struct{ Data struct{ Result []any } }
		getJSON(t, prom+"/api/v1/query?query="+
			"count(%7B__name__%3D~%22aurora_(exporter%7Cscaler)_build_info%22%2Cversion%3D%22"+version+"%22%7D)", &q)
		if len(q.Data.Result) == 0 {
			return fmt.Errorf("no aurora_*_build_info{version=%q}", version)
		}
		return nil
	})
	var ams struct {
		Data struct{ ActiveAlertmanagers []struct{ URL string } }
	}
	getJSON(t, prom+"/api/v1/alertmanagers", &ams)
	if len(ams.Data.ActiveAlertmanagers) != 1 {
		t.Errorf("Prometheus sends alerts to %+v", ams.Data.ActiveAlertmanagers)
	}

	// The scaler refuses to size a change on demand it cannot read, so the
	// alert goes only once Prometheus records the group's demand (the
	// exporter's first CloudWatch refresh, then a rule evaluation).
	waitFor(t, 2*time.Minute, "events-web's demand recorded", func() error {
		var q struct{ Data struct{ Result []any } }
		getJSON(t, prom+"/api/v1/query?query="+neturl.QueryEscape(`asg:aurora_asg_requests_per_instance_per_minute:sum{asg="events-web"}`), &q)
		if len(q.Data.Result) == 0 {
			return fmt.Errorf("no asg:aurora_asg_requests_per_instance_per_minute:sum for events-web yet")
		}
		return nil
	})
	// An alert reaches the scaler through Alertmanager's routing with the
	// generated token, and the scaler decides on it from the demand it
	// reads in Prometheus (act or, at the stack's resting load, no-op).
	alert := fmt.Sprintf(`[{"labels":{"alertname":"AuroraAsgRequestsStep2","action":"scale_asg","asg":"events-web","step":"2",
"severity":"warning","account":"123456789012","region":"us-east-1"},"startsAt":%q}]`, time.Now().UTC().Format(time.RFC3339))
	resp, err := http.Post(am+"/api/v2/alerts", "application/json", strings.NewReader(alert))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting the alert: %s", resp.Status)
	}
	waitFor(t, time.Minute, "the scaler's decision", func() error {
		var d struct {
			Decisions []struct{ Target, Action, Outcome, Reason string }
		}
		getJSON(t, scalerURL+"/api/v1/decisions", &d)
		for _, x := range d.Decisions {
			if x.Target == "asg/events-web" && x.Action == "scale_asg" {
				if x.Outcome != "act" && x.Outcome != "noop" {
					return fmt.Errorf("decided %s: %s", x.Outcome, x.Reason)
				}
				return nil
			}
		}
		return fmt.Errorf("no decision on events-web: %+v", d.Decisions)
	})
	metrics := get(t, scalerURL+"/metrics")
	for _, want := range []string{`aurora_scaler_webhooks_total{outcome="accepted"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("scaler /metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `aurora_scaler_webhooks_total{outcome="unauthorized"}`) {
		t.Error("the scaler refused a notification: Alertmanager and the scaler read different tokens")
	}

	// An event registered through the scaler's CLI is written to the
	// events volume (uid 65532 must own its directory).
	tokFile := filepath.Join(ctx, "token")
	if err := os.WriteFile(tokFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	startAt := time.Now().Add(6 * time.Hour).UTC().Truncate(time.Minute)
	run(t, time.Minute, nil, "", filepath.Join(ctx, "out", "bin", "aurora_scaler"), "event", "add", "--scaler.url", scalerURL, "--token.file", tokFile,
		"--id", "compose-test", "--cluster", "events-db", "--start", startAt.Format(time.RFC3339),
		"--end", startAt.Add(time.Hour).Format(time.RFC3339), "--readers", "3")
	if out, err := dc(time.Minute, "restart", "aurora_scaler"); err != nil {
		t.Fatalf("restart: %v %s", err, out)
	}
	waitFor(t, time.Minute, "the event kept across a restart", func() error {
		scalerURL = url("aurora_scaler", "9854")
		body, err := getAuth(scalerURL+"/api/v1/events", token)
		if err != nil {
			return err
		}
		if !strings.Contains(body, "compose-test") {
			return fmt.Errorf("events: %s", body)
		}
		return nil
	})
	t.Logf("all checks done after %s", time.Since(start).Round(time.Second))
}

// localStage turns a Dockerfile stage into one buildable here: FROM its
// local base, COPY --from=build from the context's out/ (the host ran the
// build stage's go build into it), and no apt-get (the debootstrapped base
// installed the same pinned packages).
func localStage(t *testing.T, s dockerfileStage, from string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range s.lines {
		switch f := strings.Fields(l); {
		case f[0] == "FROM":
			l = "FROM " + from
		case f[0] == "RUN" && strings.Contains(l, "apt-get"):
			continue
		case f[0] == "COPY":
			l = strings.Replace(strings.Replace(l, "--from=build ", "", 1), " /out/", " out/", -1)
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// debianBase returns a local image of Debian bookworm (minbase) with the
// pinned prometheus and prometheus-alertmanager packages: imported from
// .build/docker/<key>.tar, which debootstrap makes on a cold run.
func debianBase(t *testing.T, docker string, denv []string, root, promPin, amPin string) string {
	t.Helper()
	sum := sha256.Sum256([]byte("bookworm minbase " + promPin + " " + amPin))
	key := "debian-bookworm-prometheus-" + hex.EncodeToString(sum[:6])
	image := "aurora-surge-test/" + key + ":base"
	if _, err := runErr(30*time.Second, nil, "", docker, "image", "inspect", image); err == nil {
		return image
	}
	cache := filepath.Join(root, ".build", "docker")
	tarball := filepath.Join(cache, key+".tar")
	if _, err := os.Stat(tarball); err != nil {
		debootstrap, err := exec.LookPath("debootstrap")
		if err != nil {
			skipOrFail(t, "no debootstrap (Debian package debootstrap) and no cached %s", tarball)
		}
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		rootfs := filepath.Join(cache, key+".rootfs")
		_ = os.RemoveAll(rootfs)
		defer os.RemoveAll(rootfs)
		started := time.Now()
		run(t, 10*time.Minute, nil, "", debootstrap, "--variant=minbase", "--include=prometheus,prometheus-alertmanager",
			"bookworm", rootfs, debianMirror())
		t.Logf("debootstrap: %s", time.Since(started).Round(time.Second))
		for _, pin := range []string{promPin, amPin} {
			pkg, ver, _ := strings.Cut(debianRelease(pin), "=")
			got := dpkgVersion(t, rootfs, pkg)
			if debianRelease(pkg+"="+got) != pkg+"="+ver {
				t.Fatalf("debootstrap installed %s %s; the Makefile and Dockerfile pin %s", pkg, got, pin)
			}
			t.Logf("debootstrap installed %s %s (Makefile: %s)", pkg, got, pin)
		}
		// What an image never needs: downloaded .debs, docs, man pages.
		for _, d := range []string{"var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale"} {
			_ = os.RemoveAll(filepath.Join(rootfs, d))
		}
		run(t, 5*time.Minute, nil, "", "tar", "--numeric-owner", "-C", rootfs, "-cf", tarball+".tmp", ".")
		if err := os.Rename(tarball+".tmp", tarball); err != nil {
			t.Fatal(err)
		}
	}
	run(t, 5*time.Minute, denv, "", docker, "import", tarball, image)
	return image
}

// debianMirror is the Debian mirror apt uses here (AURORA_DEBIAN_MIRROR
// overrides it).
func debianMirror() string {
	if m := os.Getenv("AURORA_DEBIAN_MIRROR"); m != "" {
		return m
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	re := regexp.MustCompile(`(?m)^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+/debian)/?\s`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := re.FindSubmatch(append(b, '\n')); m != nil {
			return string(m[1])
		}
	}
	return "http://deb.debian.org/debian"
}

func dpkgVersion(t *testing.T, rootfs, pkg string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(rootfs, "var/lib/dpkg/status"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	in := false
	for sc.Scan() {
		l := sc.Text()
		if p, ok := strings.CutPrefix(l, "Package: "); ok {
			in = p == pkg
		}
		if v, ok := strings.CutPrefix(l, "Version: "); ok && in {
			return v
		}
	}
	return "(not installed)"
}

// composeCommand prefers Compose v2 (docker compose) and takes Debian's
// docker-compose 1.29 otherwise.
func composeCommand() []string {
	if out, err := runErr(10*time.Second, nil, "", "docker", "compose", "version"); err == nil && strings.Contains(out, "version") {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	return nil
}

func waitFor(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(time.Second)
	}
}

func getAuth(url, token string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b), nil
}

func get(t *testing.T, url string) string {
	t.Helper()
	b, err := getAuth(url, "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}
