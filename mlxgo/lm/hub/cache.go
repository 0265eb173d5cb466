package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
)

// RepoDir returns the cache folder of a model repository: models--org--name.
func (c *Client) RepoDir(repo string) string {
	return filepath.Join(c.CacheDir, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// CachedSnapshot returns the cached snapshot folder of repo at revision (a branch or tag
// recorded under refs/, or a commit), or an ErrNotCached error saying what is missing.
func (c *Client) CachedSnapshot(repo, revision string) (string, error) {
	dir := c.RepoDir(repo)
	commit := revision
	if !commitRe.MatchString(revision) {
		b, err := os.ReadFile(filepath.Join(dir, "refs", filepath.FromSlash(revision)))
		if err != nil {
			return "", fmt.Errorf("%s@%s: %w (no %s)", repo, revision, ErrNotCached, filepath.Join(dir, "refs", revision))
		}
		commit = strings.TrimSpace(string(b))
	}
	snap := filepath.Join(dir, "snapshots", commit)
	if _, err := os.Stat(snap); err != nil {
		return "", fmt.Errorf("%s@%s: %w (no %s)", repo, revision, ErrNotCached, snap)
	}
	if !hasWeights(snap) {
		return "", fmt.Errorf("%s@%s: %w: %s has no safetensors weights (another tool may have fetched only some files)", repo, revision, ErrNotCached, snap)
	}
	return snap, nil
}

// hasWeights reports whether a snapshot holds a model's or an adapter's weights: a
// single file, or an index whose shards are all present.
func hasWeights(snap string) bool {
	for _, f := range []string{"model.safetensors", "adapter_model.safetensors", "adapters.safetensors"} {
		if _, err := os.Stat(filepath.Join(snap, f)); err == nil {
			return true
		}
	}
	shards, err := indexShards(filepath.Join(snap, "model.safetensors.index.json"), nil)
	if err != nil {
		return false
	}
	for _, f := range shards {
		if _, err := os.Stat(filepath.Join(snap, f)); err != nil {
			return false
		}
	}
	return len(shards) > 0
}

// blobPath is where the blob with this etag lives.
func (c *Client) blobPath(repo, etag string) string {
	return filepath.Join(c.RepoDir(repo), "blobs", etag)
}

// link points snapshots/<commit>/<file> at the blob, with a relative link as
// huggingface_hub makes it, replacing whatever was there.
func (c *Client) link(repo, commit, file, etag string) error {
	dst := filepath.Join(c.RepoDir(repo), "snapshots", commit, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(dst), c.blobPath(repo, etag))
	if err != nil {
		return err
	}
	if cur, err := os.Readlink(dst); err == nil && cur == rel {
		return nil
	}
	tmp := dst + ".tmp-link"
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// writeRef records that revision resolved to commit.
func (c *Client) writeRef(repo, revision, commit string) error {
	if revision == commit {
		return nil
	}
	path := filepath.Join(c.RepoDir(repo), "refs", filepath.FromSlash(revision))
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(commit))
}

// RepoOf returns the repository id "org/name" of a folder inside a Hugging Face cache
// (…/models--org--name/snapshots/<commit>), and false for any other folder: a model
// loaded from the cache can then be named by its Hub id (PEFT's base_model_name_or_path)
// rather than by a path that exists only on this machine.
func RepoOf(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	snap := filepath.Dir(abs)
	repo := filepath.Base(filepath.Dir(snap))
	if filepath.Base(snap) != "snapshots" || !strings.HasPrefix(repo, "models--") {
		return "", false
	}
	org, name, ok := strings.Cut(strings.TrimPrefix(repo, "models--"), "--")
	if !ok || org == "" || name == "" {
		return "", false
	}
	return org + "/" + name, true
}
