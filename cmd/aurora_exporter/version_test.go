package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersionStamp builds the exporter with the flags the Makefile's build
// and release targets use (read from the Makefile itself, so a broken
// stamp there fails here) and checks that --version reports them.
func TestVersionStamp(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed; the suite runs through make, where this test runs")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	// Defaults: the revision is git's HEAD when the tree is a git checkout.
	if head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		flags := makeLDFlags(t, root)
		want := "version.Revision=" + strings.TrimSpace(string(head)) + " "
		if !strings.Contains(flags+" ", want) {
			t.Errorf("make print-ldflags = %q, want it to contain %q", flags, want)
		}
	}

	// Explicit values, so the check below cannot pass by accident.
	flags := makeLDFlags(t, root, "VERSION=9.8.7-stamp", "REVISION=0123abcdstamp", "BRANCH=stamp-branch", "BUILD_DATE=20260102-03:04:05")
	bin := filepath.Join(t.TempDir(), "aurora_exporter")
	build := exec.Command("go", "build", "-ldflags", flags, "-o", bin, "./cmd/aurora_exporter")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags %q: %v\n%s", flags, err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("aurora_exporter --version: %v\n%s", err, out)
	}
	for _, want := range []string{`version 9\.8\.7-stamp `, `revision: 0123abcdstamp\)`, `branch: stamp-branch,`, `build date:\s+20260102-03:04:05\n`} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("--version output does not match %q:\n%s", want, out)
		}
	}
}

func makeLDFlags(t *testing.T, root string, vars ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-s", "--no-print-directory", "-C", root, "print-ldflags"}, vars...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make print-ldflags: %v", err)
	}
	flags := strings.TrimSpace(string(out))
	if !strings.Contains(flags, "github.com/prometheus/common/version.Version=") {
		t.Fatalf("make print-ldflags = %q: no version stamp", flags)
	}
	return flags
}
