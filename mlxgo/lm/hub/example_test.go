package hub_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlxgo/mlxgo/mlxgo/lm/hub"
	"github.com/mlxgo/mlxgo/mlxgo/lm/hub/hubtest"
)

// A client fetches what a model needs into the Hugging Face cache; lm.Load("org/name")
// does this through hub.Resolve. Here the Hub is a local stand-in.
func ExampleClient_Download() {
	srv := hubtest.New()
	defer srv.Close()
	srv.AddRepo("org/tiny", map[string][]byte{
		"config.json": []byte(`{}`), "model.safetensors": []byte("weights"), "README.md": []byte("#"),
	}, false)
	cache, _ := os.MkdirTemp("", "hub")
	defer os.RemoveAll(cache)

	c := &hub.Client{Endpoint: srv.URL, CacheDir: cache}
	c.OnProgress = func(p hub.Progress) {
		if p.Finished {
			fmt.Printf("%d/%d %s %d bytes\n", p.Index, p.Of, p.File, p.Done)
		}
	}
	snap, err := c.Download("org/tiny", "main")
	if err != nil {
		panic(err)
	}
	rel, _ := filepath.Rel(cache, filepath.Dir(filepath.Dir(snap)))
	fmt.Println(rel)
	// Output:
	// 1/2 config.json 2 bytes
	// 2/2 model.safetensors 7 bytes
	// models--org--tiny
}
