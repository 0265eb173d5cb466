// Command install sets up the "Go (mlxgo)" Jupyter kernel for this repository:
//
//	go run ./kernel/cmd/install             # build tools, write the kernelspec, warm the build cache
//	go run ./kernel/cmd/install -uninstall  # remove the kernelspec
//
// It builds GoNB and goimports (the versions go.mod pins) into <repo>/.cache/bin, and gopls
// v0.23.0 when the module cache has it (optional), skipping binaries newer than go.mod unless
// -force. It writes the kernelspec "mlxgo" into the Jupyter data folder ($JUPYTER_DATA_DIR, else
// `jupyter --data-dir`): GoNB with -go_work=<repo>, GOPROXY=off, GOSUMDB=off, GOFLAGS="" and a
// PATH holding go, gonb and goimports. Finally it compiles every public package of the module,
// gonbui and go-echarts with the kernel's environment, so the first cell runs on a warm Go
// build cache. Running it again is cheap and changes nothing that is up to date.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mlxgo/mlxgo/kernel/internal/setup"
)

func main() {
	uninstall := flag.Bool("uninstall", false, "remove the mlxgo kernelspec and exit")
	force := flag.Bool("force", false, "rebuild gonb, goimports and gopls even when up to date")
	noPrewarm := flag.Bool("no-prewarm", false, "do not compile the module's packages into the build cache")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./kernel/cmd/install [-force] [-no-prewarm] [-uninstall]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *uninstall {
		dir, existed, err := setup.Uninstall()
		if err != nil {
			fmt.Fprintln(os.Stderr, "install:", err)
			os.Exit(1)
		}
		if existed {
			fmt.Printf("removed kernelspec %s\n", dir)
		} else {
			fmt.Printf("no kernelspec at %s\n", dir)
		}
		return
	}
	res, err := setup.Install(setup.Options{Force: *force, NoPrewarm: *noPrewarm})
	if err != nil {
		fmt.Fprintln(os.Stderr, "install:", err)
		os.Exit(1)
	}
	fmt.Printf("kernel %q (%s) installed: %s\n", setup.KernelName, setup.DisplayName, res.KernelJSON)
}
