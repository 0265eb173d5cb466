package distributed

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// LaunchOptions say where the ranks of a job run.
type LaunchOptions struct {
	N     int      // number of ranks (processes)
	Hosts []string // hosts to spread them over (mpirun --host); none: this machine
	// Mpirun is the launcher (default: mpirun from PATH).
	Mpirun string
	// Env lists variables ("NAME=value") set for every rank, on every host (mpirun -x).
	Env []string
}

// Command returns the mpirun command line that starts o.N copies of argv (argv[0] is the
// program), as `mlxgo launch` and the trainer's Launch run it: several ranks may share a
// core (--oversubscribe), none is pinned to one (--bind-to none, so that ranks and their
// BLAS threads are placed by the OS), and running as root is allowed. When one rank dies,
// mpirun ends the others and exits non-zero.
func Command(o LaunchOptions, argv ...string) (*exec.Cmd, error) {
	if o.N < 1 {
		return nil, fmt.Errorf("distributed: %d ranks; at least 1 is needed", o.N)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("distributed: no program to launch")
	}
	mpirun := o.Mpirun
	if mpirun == "" {
		p, err := exec.LookPath("mpirun")
		if err != nil {
			return nil, fmt.Errorf("distributed: mpirun is not on PATH (install Debian's openmpi-bin): %w", err)
		}
		mpirun = p
	}
	args := []string{"-np", strconv.Itoa(o.N), "--oversubscribe", "--bind-to", "none"}
	if len(o.Hosts) > 0 {
		// host:slots, so that N ranks fit however many cores mpirun finds.
		hs := make([]string, len(o.Hosts))
		for i, h := range o.Hosts {
			if !strings.Contains(h, ":") {
				h += ":" + strconv.Itoa(o.N)
			}
			hs[i] = h
		}
		args = append(args, "--host", strings.Join(hs, ","))
	}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-run-as-root")
	}
	env := os.Environ()
	for _, e := range o.Env {
		name, _, ok := strings.Cut(e, "=")
		if !ok {
			return nil, fmt.Errorf("distributed: environment entry %q is not NAME=value", e)
		}
		args = append(args, "-x", name)
		env = append(env, e)
	}
	cmd := exec.Command(mpirun, append(args, argv...)...)
	cmd.Env = env
	return cmd, nil
}
