package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm/hub/hubtest"
)

// TestGenerateFromTheHubThenOffline: `mlxgo download` and `mlxgo generate --model org/name`
// fetch from a local Hub into HF_HUB_CACHE; with the server gone and HF_HUB_OFFLINE=1 the
// same command answers from the cache with the same text, and a repository that is not
// cached fails naming HF_HUB_OFFLINE.
func TestGenerateFromTheHubThenOffline(t *testing.T) {
	bin := buildCLI(t)
	srv := hubtest.New()
	defer srv.Close()
	commit, err := srv.AddDir("story/tiny", modelDir, false)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	env := append(os.Environ(), "HF_ENDPOINT="+srv.URL, "HF_HUB_CACHE="+cache, "HF_TOKEN=", "HF_HOME="+t.TempDir(), "HF_HUB_OFFLINE=")
	run := func(env []string, args ...string) (string, string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return string(out), stderr.String(), err
	}
	out, stderr, err := run(env, "download", "story/tiny")
	snap := filepath.Join(cache, "models--story--tiny", "snapshots", commit)
	if err != nil || strings.TrimSpace(out) != snap {
		t.Fatalf("download: %v, printed %q, want %s\n%s", err, out, snap, stderr)
	}
	if !strings.Contains(stderr, "model.safetensors") || !strings.Contains(stderr, "100%") {
		t.Fatalf("no progress bar on stderr: %q", stderr)
	}
	gen := []string{"generate", "--model", "story/tiny@main", "--prompt", "Once upon a time", "--max-tokens", "12"}
	online, stderr, err := run(env, gen...)
	if err != nil {
		t.Fatalf("generate online: %v\n%s", err, stderr)
	}
	srv.Close()
	offline, stderr, err := run(append(env, "HF_HUB_OFFLINE=1"), gen...)
	if err != nil || offline != online || strings.TrimSpace(online) == "" {
		t.Fatalf("offline generate: %v, %q, want %q\n%s", err, offline, online, stderr)
	}
	// The server takes the same id (model and tokenizer from the cache).
	cmd := exec.Command(bin, "server", "--model", "story/tiny", "--port", "0")
	cmd.Env = append(env, "HF_HUB_OFFLINE=1")
	log := &syncLog{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForLine := time.Now().Add(time.Minute)
	for !portRe.MatchString(log.String()) && time.Now().Before(waitForLine) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !portRe.MatchString(log.String()) {
		t.Fatalf("server --model story/tiny did not start:\n%s", log.String())
	}
	_, stderr, err = run(append(env, "HF_HUB_OFFLINE=1"), "generate", "--model", "story/other", "--prompt", "x")
	if err == nil || !strings.Contains(stderr, "HF_HUB_OFFLINE") {
		t.Fatalf("offline, uncached: %v\n%s", err, stderr)
	}
}

func TestDownloadOfAGatedRepoNamesTheToken(t *testing.T) {
	bin := buildCLI(t)
	srv := hubtest.New()
	defer srv.Close()
	if _, err := srv.AddDir("story/gated", modelDir, true); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "download", "story/gated")
	cmd.Env = append(os.Environ(), "HF_ENDPOINT="+srv.URL, "HF_HUB_CACHE="+t.TempDir(), "HF_TOKEN=", "HF_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "HF_TOKEN") || !strings.Contains(string(out), srv.URL+"/story/gated") {
		t.Fatalf("gated download: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, "download", "story/gated")
	cmd.Env = append(os.Environ(), "HF_ENDPOINT="+srv.URL, "HF_HUB_CACHE="+t.TempDir(), "HF_TOKEN="+srv.Token)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with the token: %v\n%s", err, out)
	}
}
