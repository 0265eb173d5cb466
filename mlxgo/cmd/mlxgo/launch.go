package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
)

// runLaunch is `mlxgo launch -n N [--hosts a,b] -- lora ...` (mlx.launch): it runs this
// program with the given command on N ranks through mpirun, which is the same as
// `mpirun -np N mlxgo lora ...` with the options a local run needs.
func runLaunch(args []string) error {
	fs := flag.NewFlagSet("launch", flag.ContinueOnError)
	n := fs.Int("n", 2, "number of ranks (processes)")
	hosts := fs.String("hosts", "", "comma-separated hosts to run on, each host[:slots] (default: this machine); mlxgo must be at the same path on each")
	mpirun := fs.String("mpirun", "", "the mpirun to use (default: from PATH)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mlxgo launch -n N [--hosts a,b] -- <command> [flags]   e.g. mlxgo launch -n 2 -- lora --model DIR --train ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return fmt.Errorf("launch: no command to run (mlxgo launch -n %d -- lora ...)", *n)
	}
	if rest[0] == "launch" {
		return fmt.Errorf("launch: the command to run cannot be launch itself")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("launch: %w", err)
	}
	o := distributed.LaunchOptions{N: *n, Mpirun: *mpirun}
	if *hosts != "" {
		o.Hosts = strings.Split(*hosts, ",")
	}
	cmd, err := distributed.Command(o, append([]string{self}, rest...)...)
	if err != nil {
		return fmt.Errorf("launch: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		// mpirun has said which rank failed; pass its status on.
		fmt.Fprintf(os.Stderr, "mlxgo launch: mpirun exited with status %d\n", exit.ExitCode())
		os.Exit(max(exit.ExitCode(), 1))
	}
	return err
}
