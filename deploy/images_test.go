package deploy

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dockerfileStage is one FROM ... AS name stage of the Dockerfile, its
// instructions with continuation lines joined.
type dockerfileStage struct {
	name  string
	lines []string // "FROM ...", "COPY ...", "RUN ..."
}

func readDockerfile(t *testing.T) []dockerfileStage {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []dockerfileStage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		if strings.HasPrefix(line, "FROM ") {
			f := strings.Fields(line)
			name := ""
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				name = f[3]
			}
			stages = append(stages, dockerfileStage{name: name})
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			cur.WriteString(strings.TrimSuffix(l, `\`) + " ")
			continue
		}
		cur.WriteString(l)
		flush()
	}
	flush()
	return stages
}

func stage(t *testing.T, stages []dockerfileStage, name string) dockerfileStage {
	t.Helper()
	for _, s := range stages {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile has no stage %q", name)
	return dockerfileStage{}
}

// makeVar reads NAME := value from the Makefile.
func makeVar(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `\s*:=\s*(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("Makefile has no %s", name)
	}
	return string(m[1])
}

// TestImageLayout checks, from the Dockerfile, that every directory a
// service writes to through a named volume exists in its image owned by
// the user the image runs as. A mount point the image lacks is created by
// Docker owned by root, and the service (uid 65532, or prometheus) then
// cannot write there: the scaler failed to register events that way.
func TestImageLayout(t *testing.T) {
	stages := readDockerfile(t)
	c := loadCompose(t)
	owned := map[string]map[string]bool{} // target -> directories it gives its user
	users := map[string]string{}
	for _, target := range []string{"aurora", "monitoring"} {
		owned[target] = map[string]bool{}
		for _, l := range stage(t, stages, target).lines {
			f := strings.Fields(l)
			switch f[0] {
			case "USER":
				users[target] = f[1]
			case "COPY":
				// COPY --chown=u:g src... dst/: dst is owned by u.
				for _, a := range f[1:] {
					if owner, ok := strings.CutPrefix(a, "--chown="); ok {
						owned[target][strings.TrimSuffix(f[len(f)-1], "/")+"@"+owner] = true
					}
				}
			case "RUN":
				// RUN mkdir -p dirs && chown u:g dirs
				if m := regexp.MustCompile(`chown (\S+) ((?:/\S+ ?)+)`).FindStringSubmatch(l); m != nil {
					for _, d := range strings.Fields(m[2]) {
						owned[target][d+"@"+m[1]] = true
					}
				}
			}
		}
	}
	if users["aurora"] != "65532:65532" {
		t.Errorf("aurora image runs as %q, want 65532:65532 (distroless nonroot)", users["aurora"])
	}
	checked := 0
	for name, s := range c.Services {
		target := map[string]string{"aurora-surge/aurora:local": "aurora", "aurora-surge/monitoring:local": "monitoring"}[s.Image]
		if target == "" {
			continue
		}
		user := users[target]
		if u := s.User; u != "" {
			user = u
		}
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/") || len(parts) < 2 {
				continue // a bind mount
			}
			if len(parts) == 3 && parts[2] == "ro" {
				continue // read only: the image's user need not own it
			}
			if user == "0:0" {
				continue // root writes anywhere
			}
			dir := parts[1]
			owner := user
			if target == "monitoring" && user == "prometheus" {
				owner = "prometheus:prometheus"
			}
			if !owned[target][dir+"@"+owner] {
				t.Errorf("%s mounts volume %s at %s, which the %s image does not create owned by %s", name, parts[0], dir, target, owner)
			}
			checked++
		}
	}
	if checked < 3 {
		t.Errorf("checked %d writable volumes, want the scaler's, Prometheus's and Alertmanager's", checked)
	}
}

// TestImageVersionsPinned: the monitoring image installs exactly the
// Prometheus and Alertmanager the rule and routing tests run.
func TestImageVersionsPinned(t *testing.T) {
	mon := stage(t, readDockerfile(t), "monitoring")
	joined := strings.Join(mon.lines, "\n")
	for _, v := range []string{"PROMETHEUS_DEB", "ALERTMANAGER_DEB"} {
		if pin := debianRelease(makeVar(t, v)); !strings.Contains(joined, "'"+pin+"*'") {
			t.Errorf("Dockerfile's monitoring image does not install '%s*' (Makefile %s)", pin, v)
		}
	}
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`image: prom/`).Match(b) {
		t.Error("docker-compose.yml runs an upstream Prometheus image: the tested versions are Debian's, built by the Dockerfile")
	}
}

// debianRelease drops a binary rebuild or stable update suffix (+b6,
// +deb12u1) from a package=version pin: what is left names the same
// upstream version and Debian source revision.
func debianRelease(pin string) string {
	return regexp.MustCompile(`\+(b\d+|deb\d+u\d+)$`).ReplaceAllString(pin, "")
}

// TestDockerfileStamps: the image build stamps the version the way the
// Makefile does, through prometheus/common/version.
func TestDockerfileStamps(t *testing.T) {
	build := strings.Join(stage(t, readDockerfile(t), "build").lines, "\n")
	for _, want := range []string{"version.Version=${VERSION}", "version.Revision=${REVISION}", "version.Branch=${BRANCH}", "CGO_ENABLED=0"} {
		if !strings.Contains(build, "github.com/prometheus/common/"+want) && !strings.Contains(build, want) {
			t.Errorf("the build stage lacks %s", want)
		}
	}
}

// TestDockerignore: the build context leaves out the tools cache and the
// binaries (hundreds of MB, sent once per service before).
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".build/", "bin/", ".git/"} {
		if !regexp.MustCompile(`(?m)^/?` + regexp.QuoteMeta(want) + `$`).Match(b) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

// run runs a command and returns its combined output, failing the test
// with it on error.
func run(t *testing.T, timeout time.Duration, env []string, dir, name string, args ...string) string {
	t.Helper()
	out, err := runErr(timeout, env, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(timeout time.Duration, env []string, dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
		return string(out), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return string(out), fmt.Errorf("timed out after %s", timeout)
	}
}

func absPath(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
