// Command gen writes each tutorial's notebook (NN-name/NN-name.ipynb) from its README.md and
// main.go; run it with `go generate ./tutorials` from the repository root.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlxgo/mlxgo/tutorials/internal/notebook"
)

func main() {
	guides, err := filepath.Glob("[0-9][0-9]-*/main.go")
	if err == nil && len(guides) == 0 {
		err = fmt.Errorf("no guide (NN-name/main.go) in the working directory: run go generate ./tutorials")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, g := range guides {
		dir := filepath.Dir(g)
		nb, err := notebook.Build(dir)
		if err == nil {
			err = writeFile(notebook.Name(dir), nb)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", notebook.Name(dir))
	}
}

// writeFile writes data through a temporary file renamed over path.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
