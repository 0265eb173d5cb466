package trainer

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
)

// Launch runs `mlxgo lora` with args (the CLI's flags) on o.N processes through mpirun
// and calls emit with each event of rank 0 as it happens, as Train does in-process: a
// notebook cell trains on several processes and feeds the same live chart. Output lines
// that are not events ("Trainable parameters: ...") arrive as events of Kind "log".
//
// bin is the mlxgo program; when empty, mlxgo from PATH is used, else it is built with
// `go build` (the go command must be able to find this module). Cancelling ctx interrupts
// the job: the ranks stop together after rank 0 has written a checkpoint, and Launch
// returns ctx's error.
// The error of a failed job carries the end of its error output.
func Launch(ctx context.Context, o distributed.LaunchOptions, bin string, args []string, emit func(Event)) error {
	if emit == nil {
		emit = func(Event) {}
	}
	if bin == "" {
		var err error
		if bin, err = findCLI(); err != nil {
			return err
		}
	}
	cmd, err := distributed.Command(o, append(append([]string{bin, "lora"}, args...), "--json-events")...)
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr tail
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("trainer: %s: %w", cmd.Path, err)
	}
	// mpirun forwards SIGUSR1 to every rank, which the CLI takes as an interruption.
	stop := context.AfterFunc(ctx, func() { cmd.Process.Signal(syscall.SIGUSR1) })
	defer stop()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var e Event
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &e) == nil && e.Kind != "" {
			emit(e)
			continue
		}
		emit(Event{Kind: "log", Message: line})
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("trainer: %d ranks of mlxgo lora: %w\n%s", o.N, err, stderr.String())
	}
	return nil
}

// findCLI returns mlxgo from PATH, or builds it into the user cache directory.
func findCLI() (string, error) {
	if p, err := exec.LookPath("mlxgo"); err == nil {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	bin := filepath.Join(dir, "mlxgo", "bin", "mlxgo")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/mlxgo/mlxgo/mlxgo/cmd/mlxgo").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("trainer: no mlxgo on PATH, and building it failed: %v\n%s", err, out)
	}
	return bin, nil
}

// tail keeps the last 4 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if n := len(t.buf); n > 4096 {
		t.buf = append([]byte(nil), t.buf[n-4096:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { t.mu.Lock(); defer t.mu.Unlock(); return string(t.buf) }
