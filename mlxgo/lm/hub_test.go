package lm_test

import (
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/hub/hubtest"
)

// TestLoadAcceptsAHubID: lm.Load("org/name") fetches through HF_ENDPOINT into
// HF_HUB_CACHE, and loads the same model offline afterwards.
func TestLoadAcceptsAHubID(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	if _, err := srv.AddDir("fixture/tiny-llama", "testdata/hf-tiny-llama/model", false); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	m, err := lm.Load("fixture/tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.NumHiddenLayers != 2 || m.Config.VocabSize != 512 {
		t.Fatalf("loaded config %+v", m.Config)
	}
	srv.Close()
	t.Setenv("HF_HUB_OFFLINE", "1")
	m2, err := lm.Load("fixture/tiny-llama@main")
	if err != nil || m2.Dir != m.Dir {
		t.Fatalf("offline load: %v, dir %q want %q", err, m2.Dir, m.Dir)
	}
	if _, err := lm.Load("fixture/missing"); err == nil {
		t.Fatal("offline load of an uncached repository succeeded")
	}
}
