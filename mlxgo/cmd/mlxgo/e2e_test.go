package main_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// The project's shipped walkthrough model and dataset.
const (
	modelDir = "../../../notebooks/models/tiny-story"
	dataDir  = "../../../notebooks/data"
)

func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mlxgo")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func mlxgo(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mlxgo %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

var (
	valRe   = regexp.MustCompile(`Iter (\d+): Val loss ([0-9.]+)`)
	trainRe = regexp.MustCompile(`Iter (\d+): Train loss ([0-9.]+)`)
)

func parse(re *regexp.Regexp, out string) map[int]float64 {
	m := map[int]float64{}
	for _, s := range re.FindAllStringSubmatch(out, -1) {
		i, _ := strconv.Atoi(s[1])
		v, _ := strconv.ParseFloat(s[2], 64)
		m[i] = v
	}
	return m
}

func loraArgs(adapters string, iters int) []string {
	return []string{"lora", "--model", modelDir, "--train", "--data", dataDir, "--iters", strconv.Itoa(iters),
		"--batch-size", "4", "--learning-rate", "1e-4", "--num-layers", "4", "--steps-per-report", "1",
		"--steps-per-eval", "20", "--val-batches", "-1", "--save-every", "5", "--adapter-path", adapters,
		"--mask-prompt", "--seed", "1", "--rank", "8", "--scale", "20"}
}

// TestLoraFuseGenerateEndToEnd: training lowers the validation loss; fuse writes a model
// that generate loads; generation with the adapter equals generation with the fused model.
func TestLoraFuseGenerateEndToEnd(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	adapters := filepath.Join(dir, "adapters")
	out := mlxgo(t, bin, append(loraArgs(adapters, 40), "--test", "--test-batches", "-1")...)
	val := parse(valRe, out)
	if len(val) < 2 || !(val[40] < val[1]-1.0) {
		t.Fatalf("validation loss did not drop by 1.0: %v\n%s", val, out)
	}
	t.Logf("validation loss %.3f -> %.3f after 40 iterations", val[1], val[40])
	if !strings.Contains(out, "Test loss") || !strings.Contains(out, "Trainable parameters:") {
		t.Fatalf("missing report lines:\n%s", out)
	}
	fused := filepath.Join(dir, "fused")
	mlxgo(t, bin, "fuse", "--model", modelDir, "--adapter-path", adapters, "--save-path", fused, "--export-peft", filepath.Join(dir, "peft"))
	prompt := firstTestPrompt(t)
	gen := func(args ...string) string {
		return mlxgo(t, bin, append([]string{"generate", "--prompt", prompt, "--max-tokens", "20", "--no-chat-template"}, args...)...)
	}
	withAdapter := gen("--model", modelDir, "--adapter-path", adapters)
	withFused := gen("--model", fused)
	viaPEFT := gen("--model", modelDir, "--adapter-path", filepath.Join(dir, "peft"))
	if withAdapter != withFused || withAdapter != viaPEFT {
		t.Fatalf("generations differ:\nadapter %q\nfused   %q\npeft    %q", withAdapter, withFused, viaPEFT)
	}
	base := gen("--model", modelDir)
	t.Logf("prompt %q\nbase:       %q\nfine-tuned: %q", prompt, base, withAdapter)
}

func firstTestPrompt(t *testing.T) string {
	f, err := os.Open(filepath.Join(dataDir, "test.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	line := sc.Text()
	i := strings.Index(line, `"prompt": "`)
	if i < 0 {
		i = strings.Index(line, `"prompt":"`)
	}
	rest := line[i:]
	rest = rest[strings.Index(rest, `:`)+1:]
	rest = strings.TrimSpace(rest)
	s, err := strconv.Unquote(rest[:strings.Index(rest[1:], `"`)+2])
	if err != nil {
		t.Fatalf("test.jsonl prompt: %v", err)
	}
	return s
}

// TestKillAndResume: a run killed with SIGKILL mid-way and resumed gives, at every later
// step, the loss of the uninterrupted run, and every checkpoint file on disk stays readable.
func TestKillAndResume(t *testing.T) {
	bin := buildCLI(t)
	const iters = 30
	full := parse(trainRe, mlxgo(t, bin, loraArgs(filepath.Join(t.TempDir(), "a"), iters)...))

	dir := filepath.Join(t.TempDir(), "b")
	cmd := exec.Command(bin, loraArgs(dir, iters)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, cmd, filepath.Join(dir, "0000015_state.json"), 2*time.Minute, nil)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	checkCheckpoints(t, dir)
	// --resume alone: the options come from the interrupted run's saved command line.
	resumed := parse(trainRe, mlxgo(t, bin, "lora", "--resume", "--adapter-path", dir))
	first := iters + 1
	for s := range resumed {
		first = min(first, s)
	}
	if first > 20 || first < 2 {
		t.Fatalf("resumed run started at step %d", first)
	}
	for s := first; s <= iters; s++ {
		if d := resumed[s] - full[s]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("step %d: resumed loss %v, uninterrupted %v", s, resumed[s], full[s])
		}
	}
	t.Logf("killed after the step-15 checkpoint; resumed at step %d; steps %d-%d identical to the uninterrupted run", first, first, iters)
	checkCheckpoints(t, dir)
}

func checkCheckpoints(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if len(files) == 0 {
		t.Fatal("no checkpoint files")
	}
	for _, f := range files {
		if _, _, err := mx.LoadSafetensors(f); err != nil {
			t.Fatalf("checkpoint %s is unreadable: %v", f, err)
		}
		if strings.HasSuffix(f, "adapters.safetensors") {
			m := lm.MustLoad(modelDir)
			m.Freeze()
			if err := lora.LoadAdapterFile(m, dir, f); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
	}
}

// TestQLoRAFromTheShell: convert -q writes a 4-bit model that lora trains on and generate
// runs with the adapter.
func TestQLoRAFromTheShell(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	q := filepath.Join(dir, "q4")
	mlxgo(t, bin, "convert", "--hf-path", modelDir, "--mlx-path", q, "-q", "--q-group-size", "32", "--q-bits", "4")
	args := loraArgs(filepath.Join(dir, "adapters"), 30)
	args[2] = q // --model
	val := parse(valRe, mlxgo(t, bin, args...))
	if !(val[30] < val[1]-0.5) {
		t.Fatalf("QLoRA validation loss %v", val)
	}
	out := mlxgo(t, bin, "generate", "--model", q, "--adapter-path", filepath.Join(dir, "adapters"), "--prompt", firstTestPrompt(t), "--max-tokens", "12", "--no-chat-template")
	t.Logf("QLoRA (4-bit base): validation loss %.3f -> %.3f; generation %q", val[1], val[30], out)
}

// waitForFile waits until path exists while cmd runs; past timeout it kills cmd and fails
// the test, showing out when given.
func waitForFile(t *testing.T, cmd *exec.Cmd, path string, timeout time.Duration, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			msg := ""
			if out != nil {
				msg = out.String()
			}
			t.Fatalf("no %s within %v:\n%s", path, timeout, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
