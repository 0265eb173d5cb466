package main

import (
	"flag"
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/lm/hub"
)

// runDownload fetches a Hub repository's model (or adapter) files into the Hugging Face
// cache without loading them and prints the snapshot folder.
func runDownload(args []string) error {
	fs := flag.NewFlagSet("download", flag.ContinueOnError)
	revision := fs.String("revision", "", "branch, tag or commit (default main, or the @revision of the id)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mlxgo download org/name[@revision] [--revision REV]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("download: give one repository id")
	}
	repo, rev, ok := hub.ParseRepoID(fs.Arg(0))
	if !ok {
		return fmt.Errorf("download: %q is not a Hub repository id org/name[@revision]", fs.Arg(0))
	}
	if *revision != "" {
		rev = *revision
	}
	dir, err := hub.NewClient().Download(repo, rev)
	if err != nil {
		return err
	}
	fmt.Println(dir)
	return nil
}
