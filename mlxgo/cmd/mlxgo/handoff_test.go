package main_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const walkthroughAdapter = "../../lm/gguf/testdata/tiny-story-adapter"

// TestFuseExportGGUF: fuse --export-gguf writes the fused model, a GGUF v3 file at the
// default or given path, and an Ollama Modelfile beside it; a bad --gguf-type is refused
// before anything is written.
func TestFuseExportGGUF(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	fused := filepath.Join(dir, "fused")
	mlxgo(t, bin, "fuse", "--model", modelDir, "--adapter-path", walkthroughAdapter, "--save-path", fused, "--export-gguf")
	for _, f := range []string{"model.safetensors", "ggml-model-f16.gguf", "Modelfile"} {
		if _, err := os.Stat(filepath.Join(fused, f)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(fused, "ggml-model-f16.gguf"))
	if string(b[:4]) != "GGUF" || binary.LittleEndian.Uint32(b[4:]) != 3 {
		t.Fatalf("not a GGUF v3 file: % x", b[:8])
	}
	q8 := filepath.Join(dir, "q8.gguf")
	mlxgo(t, bin, "fuse", "--model", modelDir, "--adapter-path", walkthroughAdapter, "--save-path", filepath.Join(dir, "f2"), "--export-gguf", "--gguf-path", q8, "--gguf-type", "q8_0")
	if st, err := os.Stat(q8); err != nil || st.Size() >= int64(len(b)) {
		t.Fatalf("q8_0 file %v (f16 is %d bytes): %v", st, len(b), err)
	}
	out, err := exec.Command(bin, "fuse", "--model", modelDir, "--adapter-path", walkthroughAdapter, "--save-path", filepath.Join(dir, "f3"), "--export-gguf", "--gguf-type", "q4_k").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--gguf-type") {
		t.Fatalf("--gguf-type q4_k: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "f3")); err == nil {
		t.Fatal("a refused export must not write the fused model")
	}
}

var portRe = regexp.MustCompile(`Starting httpd at (\S+) on port (\d+)`)

// startServer runs mlxgo server on a free port and returns the process, its base URL
// and its standard error so far (read on).
func startServer(t *testing.T, bin string, args ...string) (*exec.Cmd, string, *syncLog) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"server", "--model", modelDir, "--port", "0"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	log := &syncLog{}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := portRe.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
					log.WriteString(sc.Text() + "\n")
				}
			}()
			return cmd, "http://127.0.0.1:" + m[2], log
		}
	}
	t.Fatalf("the server did not start:\n%s", log.String())
	return nil, "", nil
}

// syncLog collects a process's standard error while the test reads it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

// Write makes a syncLog usable as a command's Stderr.
func (l *syncLog) Write(p []byte) (int, error) {
	l.WriteString(string(p))
	return len(p), nil
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServerShutsDownCleanly: a server started with --adapter-path completes as mlxgo
// generate does with the adapter; SIGTERM while a streamed request is running lets it
// finish (it ends with [DONE]), then the server exits 0.
func TestServerShutsDownCleanly(t *testing.T) {
	bin := buildCLI(t)
	cmd, url, log := startServer(t, bin, "--adapter-path", walkthroughAdapter)
	const prompt = "Q: What does the owl say?\nA:"
	want := mlxgo(t, bin, "generate", "--model", modelDir, "--adapter-path", walkthroughAdapter, "--prompt", prompt, "--max-tokens", "12", "--no-chat-template")
	body, _ := json.Marshal(map[string]any{"prompt": prompt, "max_tokens": 12, "temperature": 0})
	r, err := http.Post(url+"/v1/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Choices []struct{ Text string } }
	err = json.NewDecoder(r.Body).Decode(&v)
	r.Body.Close()
	if err != nil || len(v.Choices) != 1 || v.Choices[0].Text+"\n" != want {
		t.Fatalf("server with adapter: %+v (%v); mlxgo generate: %q", v, err, want)
	}
	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt": "Once upon a time", "max_tokens": 60, "stream": true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 16)
	if _, err := io.ReadAtLeast(resp.Body, first, 6); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(resp.Body)
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Fatalf("the request in flight was cut at shutdown: ...%q", rest[max(0, len(rest)-80):])
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit after SIGTERM")
	}
}

// TestServerWarnsOffLoopback: listening on all interfaces prints a warning; SIGINT stops
// the server with status 0.
func TestServerWarnsOffLoopback(t *testing.T) {
	bin := buildCLI(t)
	cmd, url, log := startServer(t, bin, "--host", "0.0.0.0")
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(log.String(), "WARNING: listening on 0.0.0.0") {
		t.Fatalf("no warning:\n%s", log.String())
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
}
