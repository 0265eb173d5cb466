// Command runnb executes notebooks headless on the "Go (mlxgo)" kernel and exports them:
//
//	go run ./kernel/cmd/runnb notebooks/lora_walkthrough.ipynb
//
// For each notebook it runs `jupyter nbconvert --to notebook --execute` with
// --ExecutePreprocessor.kernel_name=mlxgo and a per-cell timeout (900 s by default), writing
// the executed notebook to notebooks/out (-out), then `jupyter nbconvert --to html` of the
// result, and marks the executed notebook trusted so JupyterLab draws its charts. Cells run in
// the notebook's folder with a fresh state folder, notebooks/out/NAME.state (-keep-state uses
// the notebook's own .mlxgo_state instead). The kernel's log goes to notebooks/out/NAME.log
// (-v also prints it). It exits with status 1 when a cell fails, printing the failing cell and
// its error; the kernel must have been installed with `go run ./kernel/cmd/install`.
// Debian's /usr/bin/jupyter is preferred over a jupyter found on PATH.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mlxgo/mlxgo/kernel/internal/setup"
)

func main() {
	var o setup.RunOptions
	out := flag.String("out", "", "output folder (default <repo>/notebooks/out)")
	flag.StringVar(&o.Kernel, "kernel", setup.KernelName, "kernelspec name")
	flag.DurationVar(&o.Timeout, "timeout", 900*time.Second, "per-cell timeout")
	flag.BoolVar(&o.AllowErrors, "allow-errors", false, "run all cells even after one fails (still exits 1)")
	flag.BoolVar(&o.KeepState, "keep-state", false, "use the notebook's own state folder instead of a fresh one")
	flag.BoolVar(&o.NoHTML, "no-html", false, "skip the HTML export")
	flag.BoolVar(&o.Verbose, "v", false, "print the kernel's log while executing")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./kernel/cmd/runnb [flags] NOTEBOOK.ipynb...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	o.OutDir = *out
	if o.OutDir == "" {
		root, err := setup.RepoRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, "runnb:", err)
			os.Exit(1)
		}
		o.OutDir = filepath.Join(root, "notebooks", "out")
	}
	failed := false
	for _, nb := range flag.Args() {
		res, err := setup.RunNotebook(nb, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
		if res != nil && res.Notebook != "" {
			fmt.Printf("%s: %d code cells, %d failed, %v\n  notebook: %s\n", nb, res.Cells, len(res.Errors),
				res.Duration.Round(time.Second), res.Notebook)
			if res.HTML != "" {
				fmt.Printf("  html:     %s\n", res.HTML)
			}
			fmt.Printf("  log:      %s\n", res.LogFile)
		} else if res != nil && res.LogFile != "" {
			fmt.Printf("%s: failed; log: %s\n", nb, res.LogFile)
		}
	}
	if failed {
		os.Exit(1)
	}
}
