package hub_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm/hub"
	"github.com/mlxgo/mlxgo/mlxgo/lm/hub/hubtest"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// setup starts a server with repository org/tiny and returns a client with an empty cache.
func setup(t *testing.T) (*hubtest.Server, *hub.Client, map[string][]byte, string) {
	t.Helper()
	srv := hubtest.New()
	t.Cleanup(srv.Close)
	files := map[string][]byte{
		"config.json":       []byte(`{"model_type":"llama"}`),
		"tokenizer.json":    []byte(`{"model":{}}`),
		"model.safetensors": randomBytes(300_000, 1),
		"README.md":         []byte("# tiny"),
		"pytorch_model.bin": randomBytes(1000, 2),
	}
	commit := srv.AddRepo("org/tiny", files, false)
	c := &hub.Client{Endpoint: srv.URL, CacheDir: t.TempDir()}
	return srv, c, files, commit
}

func countPrefix(log []string, prefix string) int {
	n := 0
	for _, l := range log {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestDownloadLaysOutTheHuggingFaceCache(t *testing.T) {
	srv, c, files, commit := setup(t)
	snap, err := c.Download("org/tiny", "main")
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(c.CacheDir, "models--org--tiny")
	if want := filepath.Join(repoDir, "snapshots", commit); snap != want {
		t.Fatalf("snapshot %s, want %s", snap, want)
	}
	for name, blob := range map[string]string{
		"config.json":       hubtest.GitBlobID(files["config.json"]),
		"tokenizer.json":    hubtest.GitBlobID(files["tokenizer.json"]),
		"model.safetensors": hubtest.SHA256(files["model.safetensors"]),
	} {
		link, err := os.Readlink(filepath.Join(snap, name))
		if err != nil {
			t.Fatalf("%s is not a symbolic link: %v", name, err)
		}
		if want := filepath.Join("..", "..", "blobs", blob); link != want {
			t.Fatalf("%s -> %s, want %s", name, link, want)
		}
		got, _ := os.ReadFile(filepath.Join(snap, name))
		if !bytes.Equal(got, files[name]) {
			t.Fatalf("%s content differs", name)
		}
	}
	for _, skipped := range []string{"README.md", "pytorch_model.bin"} {
		if _, err := os.Lstat(filepath.Join(snap, skipped)); err == nil {
			t.Fatalf("%s was downloaded; only the files a model needs should be", skipped)
		}
	}
	ref, _ := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	if string(ref) != commit {
		t.Fatalf("refs/main = %q, want %s", ref, commit)
	}
	if blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs")); len(blobs) != 3 {
		t.Fatalf("%d entries in blobs, want 3 (no leftovers)", len(blobs))
	}
	// Again: nothing is transferred, only the revision is asked.
	before := len(srv.Log())
	if _, err := c.Download("org/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	if extra := srv.Log()[before:]; len(extra) != 1 || !strings.HasPrefix(extra[0], "GET /api/models/org/tiny/revision/main") {
		t.Fatalf("second download made requests %v, want only the revision lookup", extra)
	}
	// Offline, by branch and by commit, with no request at all.
	before = len(srv.Log())
	c.Offline = true
	for _, rev := range []string{"main", commit} {
		got, err := c.Download("org/tiny", rev)
		if err != nil || got != snap {
			t.Fatalf("offline %s: %s, %v; want %s", rev, got, err, snap)
		}
	}
	if len(srv.Log()) != before {
		t.Fatalf("offline download made requests: %v", srv.Log()[before:])
	}
	// Server unreachable: the cache answers, as huggingface_hub does.
	c.Offline = false
	srv.Close()
	if got, err := c.Download("org/tiny", "main"); err != nil || got != snap {
		t.Fatalf("with the server down: %s, %v; want the cached %s", got, err, snap)
	}
}

func TestOfflineWithNothingCachedSaysWhatToDo(t *testing.T) {
	_, c, _, _ := setup(t)
	c.Offline = true
	_, err := c.Download("org/tiny", "main")
	if !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") || !strings.Contains(err.Error(), "mlxgo download org/tiny") {
		t.Fatalf("error %v: want ErrNotCached naming HF_HUB_OFFLINE and the download command", err)
	}
}

func TestGatedRepositoryNeedsTheToken(t *testing.T) {
	srv, c, files, _ := setup(t)
	srv.AddRepo("org/gated", files, true)
	_, err := c.Download("org/gated", "main")
	if !strings.Contains(fmt.Sprint(err), "config.json") {
		t.Fatalf("error %v: want the refusal of the first file, as the Hub serves a gated repo's metadata", err)
	}
	if !errors.Is(err, hub.ErrGated) {
		t.Fatalf("error %v, want ErrGated", err)
	}
	for _, want := range []string{"HF_TOKEN", "accepted the licence", srv.URL + "/org/gated"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %q", err, want)
		}
	}
	c.Token = "wrong"
	if _, err := c.Download("org/gated", "main"); !errors.Is(err, hub.ErrGated) || !strings.Contains(err.Error(), "token in use") {
		t.Fatalf("wrong token: %v", err)
	}
	c.Token = srv.Token
	snap, err := c.Download("org/gated", "main")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(snap, "model.safetensors")); !bytes.Equal(b, files["model.safetensors"]) {
		t.Fatal("gated weights differ")
	}
}

func TestMissingRepositoryRevisionAndFile(t *testing.T) {
	srv, c, files, _ := setup(t)
	if _, err := c.Download("org/nothing", "main"); !errors.Is(err, hub.ErrRepoNotFound) || !strings.Contains(err.Error(), "org/nothing") {
		t.Fatalf("missing repo: %v", err)
	}
	if _, err := c.Download("org/tiny", "v9"); !errors.Is(err, hub.ErrRevisionNotFound) || !strings.Contains(err.Error(), `"v9"`) {
		t.Fatalf("missing revision: %v", err)
	}
	idx, _ := json.Marshal(map[string]any{"weight_map": map[string]string{"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})
	srv.AddRepo("org/broken", map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": idx,
		"model-00001-of-00002.safetensors": []byte("x")}, false)
	if _, err := c.Download("org/broken", "main"); !errors.Is(err, hub.ErrFileNotFound) || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
		t.Fatalf("missing shard: %v", err)
	}
	evil, _ := json.Marshal(map[string]any{"weight_map": map[string]string{"a": "../../../../escape.safetensors"}})
	srv.AddRepo("org/evil", map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": evil}, false)
	if _, err := c.Download("org/evil", "main"); err == nil || !strings.Contains(err.Error(), "escape.safetensors") {
		t.Fatalf("index naming a file outside the snapshot: %v", err)
	}
	for _, bad := range [][2]string{{"../x", "main"}, {"org/tiny", "../../x"}} {
		if _, err := c.Download(bad[0], bad[1]); err == nil {
			t.Fatalf("Download(%q, %q) accepted", bad[0], bad[1])
		}
	}
	srv.AddRepo("org/pt", map[string][]byte{"config.json": files["config.json"], "pytorch_model.bin": files["pytorch_model.bin"]}, false)
	if _, err := c.Download("org/pt", "main"); err == nil || !strings.Contains(err.Error(), "no safetensors") || !strings.Contains(err.Error(), "pytorch_model.bin") {
		t.Fatalf("repo without safetensors: %v", err)
	}
}

func TestShardedCheckpointFetchesTheIndexedShards(t *testing.T) {
	srv, c, files, _ := setup(t)
	s1, s2 := randomBytes(5000, 3), randomBytes(7000, 4)
	idx, _ := json.Marshal(map[string]any{"weight_map": map[string]string{"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})
	srv.AddRepo("org/sharded", map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": idx,
		"model-00001-of-00002.safetensors": s1, "model-00002-of-00002.safetensors": s2, "consolidated.safetensors": s1}, false)
	snap, err := c.Download("org/sharded", "main")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"model-00001-of-00002.safetensors": s1, "model-00002-of-00002.safetensors": s2} {
		if b, _ := os.ReadFile(filepath.Join(snap, name)); !bytes.Equal(b, want) {
			t.Fatalf("%s differs", name)
		}
	}
	if _, err := os.Lstat(filepath.Join(snap, "consolidated.safetensors")); err == nil {
		t.Fatal("consolidated.safetensors is not in the index and should not be fetched")
	}
}

func TestTransferCutMidFileResumesWithRange(t *testing.T) {
	srv, c, files, _ := setup(t)
	w := files["model.safetensors"]
	srv.CutNext(w, 100_000)
	snap, err := c.Download("org/tiny", "main")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(snap, "model.safetensors")); !bytes.Equal(b, w) {
		t.Fatal("resumed file differs")
	}
	if !slices.Contains(srv.Log(), "GET /lfs/"+hubtest.SHA256(w)+" bytes=100000-") {
		t.Fatalf("no resumed Range request in %v", srv.Log())
	}
}

func TestInterruptedRunResumesFromTheIncompleteFile(t *testing.T) {
	srv, c, files, _ := setup(t)
	w := files["model.safetensors"]
	blobs := filepath.Join(c.CacheDir, "models--org--tiny", "blobs")
	os.MkdirAll(blobs, 0o755)
	os.WriteFile(filepath.Join(blobs, hubtest.SHA256(w)+".incomplete"), w[:123_456], 0o644)
	snap, err := c.Download("org/tiny", "main")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(snap, "model.safetensors")); !bytes.Equal(b, w) {
		t.Fatal("resumed file differs")
	}
	if !slices.Contains(srv.Log(), "GET /lfs/"+hubtest.SHA256(w)+" bytes=123456-") {
		t.Fatalf("the incomplete file was not resumed: %v", srv.Log())
	}
}

func TestCorruptedBlobNeverEntersTheCache(t *testing.T) {
	srv, c, files, _ := setup(t)
	w := files["model.safetensors"]
	srv.Corrupt(w, true)
	_, err := c.Download("org/tiny", "main")
	if !errors.Is(err, hub.ErrCorrupt) || !strings.Contains(err.Error(), hubtest.SHA256(w)) || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("error %v, want ErrCorrupt naming the file and the announced sha256", err)
	}
	repoDir := filepath.Join(c.CacheDir, "models--org--tiny")
	blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
	for _, b := range blobs {
		if strings.HasPrefix(b.Name(), hubtest.SHA256(w)) {
			t.Fatalf("%s left in the cache", b.Name())
		}
	}
	if _, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err == nil {
		t.Fatal("refs/main written for a failed download")
	}
	srv.Corrupt(w, false)
	if _, err := c.Download("org/tiny", "main"); err != nil {
		t.Fatalf("after the server is fixed: %v", err)
	}
}

func TestProgressHookSeesEveryFile(t *testing.T) {
	_, c, files, _ := setup(t)
	done := map[string]hub.Progress{}
	var calls int
	c.OnProgress = func(p hub.Progress) {
		calls++
		if p.Finished {
			done[p.File] = p
		}
	}
	var bar bytes.Buffer
	draw := hub.ProgressBar(&bar)
	hook := c.OnProgress
	c.OnProgress = func(p hub.Progress) { hook(p); draw(p) }
	if _, err := c.Download("org/tiny", "main"); err != nil {
		t.Fatal(err)
	}
	if len(done) != 3 || done["model.safetensors"].Done != int64(len(files["model.safetensors"])) || done["model.safetensors"].Of != 3 {
		t.Fatalf("finished events %+v", done)
	}
	if calls <= 3 {
		t.Fatalf("%d progress calls: want chunk updates as well", calls)
	}
	if !strings.Contains(bar.String(), "model.safetensors") || !strings.Contains(bar.String(), "100%") {
		t.Fatalf("bar output %q", bar.String())
	}
}

func TestNewClientReadsTheEnvironment(t *testing.T) {
	home := t.TempDir()
	for _, k := range []string{"HF_HUB_CACHE", "HF_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HUB_OFFLINE", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HOME", home)
	os.WriteFile(filepath.Join(home, "token"), []byte("hf_from_file\n"), 0o600)
	c := hub.NewClient()
	if c.CacheDir != filepath.Join(home, "hub") || c.Token != "hf_from_file" || c.Endpoint != hub.DefaultEndpoint || c.Offline {
		t.Fatalf("client %+v", c)
	}
	t.Setenv("HF_HUB_CACHE", "/x/cache")
	t.Setenv("HF_TOKEN", "hf_env")
	t.Setenv("HF_ENDPOINT", "http://mirror.local/")
	t.Setenv("HF_HUB_OFFLINE", "1")
	c = hub.NewClient()
	if c.CacheDir != "/x/cache" || c.Token != "hf_env" || c.Endpoint != "http://mirror.local" || !c.Offline {
		t.Fatalf("client %+v", c)
	}
	t.Setenv("HF_HOME", "")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d := hub.CacheDir(); d != "/xdg/huggingface/hub" {
		t.Fatalf("CacheDir %s", d)
	}
}

func TestParseRepoID(t *testing.T) {
	for in, want := range map[string][2]string{
		"Qwen/Qwen3-0.6B":                                   {"Qwen/Qwen3-0.6B", "main"},
		"mlx-community/Llama-3.2-1B-4bit@v1":                {"mlx-community/Llama-3.2-1B-4bit", "v1"},
		"org/name@0123456789abcdef0123456789abcdef01234567": {"org/name", "0123456789abcdef0123456789abcdef01234567"},
	} {
		repo, rev, ok := hub.ParseRepoID(in)
		if !ok || repo != want[0] || rev != want[1] {
			t.Fatalf("ParseRepoID(%q) = %q %q %v", in, repo, rev, ok)
		}
	}
	for _, bad := range []string{"name", "a/b/c", "/abs/path", "./x", "../a", "org/name@", "org/.."} {
		if _, _, ok := hub.ParseRepoID(bad); ok {
			t.Fatalf("ParseRepoID(%q) accepted", bad)
		}
	}
}

// TestFindsACacheWrittenByPython: a snapshot laid out as huggingface_hub writes it
// (blobs named by etag, relative links, refs/main, .locks) is used offline as is.
func TestFindsACacheWrittenByPython(t *testing.T) {
	cache := t.TempDir()
	commit := strings.Repeat("ab", 20)
	repo := filepath.Join(cache, "models--Qwen--Qwen3-0.6B")
	cfg := []byte(`{"model_type":"qwen3"}`)
	blob := hubtest.GitBlobID(cfg)
	for _, d := range []string{"blobs", "refs", filepath.Join("snapshots", commit), ".no_exist"} {
		os.MkdirAll(filepath.Join(repo, d), 0o755)
	}
	os.MkdirAll(filepath.Join(cache, ".locks", "models--Qwen--Qwen3-0.6B"), 0o755)
	os.WriteFile(filepath.Join(repo, "blobs", blob), cfg, 0o644)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644)
	os.Symlink(filepath.Join("..", "..", "blobs", blob), filepath.Join(repo, "snapshots", commit, "config.json"))
	c := &hub.Client{CacheDir: cache, Offline: true}
	if _, err := c.Download("Qwen/Qwen3-0.6B", "main"); !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "no safetensors") {
		t.Fatalf("a snapshot with only config.json: %v, want ErrNotCached", err)
	}
	w := []byte("weights")
	os.WriteFile(filepath.Join(repo, "blobs", hubtest.SHA256(w)), w, 0o644)
	os.Symlink(filepath.Join("..", "..", "blobs", hubtest.SHA256(w)), filepath.Join(repo, "snapshots", commit, "model.safetensors"))
	snap, err := c.Download("Qwen/Qwen3-0.6B", "main")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(snap, "config.json")); !bytes.Equal(b, cfg) {
		t.Fatalf("config.json through the Python cache: %q", b)
	}
}
