package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// modelFiles are the files fetched from a repository when present: what lm.Load,
// tokenizer.Load and the adapter loaders read. Shards named by
// model.safetensors.index.json are added to them.
var modelFiles = []string{
	"config.json", "generation_config.json",
	"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
	"tokenizer.model", "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json",
	"model.safetensors.index.json", "model.safetensors",
	"adapter_config.json", "adapter_model.safetensors", "adapters.safetensors",
}

// Download fetches what a model or an adapter needs from repo at revision (a branch,
// tag or commit) into the cache and returns the snapshot folder. Files already cached
// are not fetched again. Offline, it returns the cached snapshot or an ErrNotCached error;
// online but unable to reach the server, it falls back to the cache as huggingface_hub does.
func (c *Client) Download(repo, revision string) (string, error) {
	return c.DownloadContext(context.Background(), repo, revision)
}

// DownloadContext is Download with a context that can cancel the transfers.
func (c *Client) DownloadContext(ctx context.Context, repo, revision string) (string, error) {
	if revision == "" {
		revision = "main"
	}
	if _, _, ok := ParseRepoID(repo); !ok || strings.Contains(repo, "@") {
		return "", fmt.Errorf("%q is not a Hub repository id (org/name)", repo)
	}
	if !filepath.IsLocal(filepath.FromSlash(revision)) || strings.Contains(revision, `\`) {
		return "", fmt.Errorf("%s: revision %q is not a branch, tag or commit name", repo, revision)
	}
	if c.Offline {
		snap, err := c.CachedSnapshot(repo, revision)
		if err != nil {
			return "", fmt.Errorf("%w; HF_HUB_OFFLINE=1 is set, so nothing is downloaded: run `mlxgo download %s` while online, or unset HF_HUB_OFFLINE", err, repo)
		}
		return snap, nil
	}
	commit, siblings, err := c.revisionInfo(ctx, repo, revision)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) {
			if snap, cerr := c.CachedSnapshot(repo, revision); cerr == nil {
				fmt.Fprintf(os.Stderr, "hub: %v; using the cached snapshot %s\n", err, snap)
				return snap, nil
			}
			return "", fmt.Errorf("%w (and %s@%s is not in the cache %s)", err, repo, revision, c.CacheDir)
		}
		return "", err
	}
	files, err := pick(repo, revision, siblings)
	if err != nil {
		return "", err
	}
	snap := filepath.Join(c.RepoDir(repo), "snapshots", commit)
	for i := 0; i < len(files); i++ {
		f := files[i]
		if err := c.fetchFile(ctx, repo, commit, f, i+1, len(files)); err != nil {
			return "", err
		}
		if f == "model.safetensors.index.json" {
			shards, err := indexShards(filepath.Join(snap, f), siblings)
			if err != nil {
				return "", fmt.Errorf("%s@%s: %w", repo, revision, err)
			}
			files = append(files, shards...)
		}
	}
	if err := c.writeRef(repo, revision, commit); err != nil {
		return "", err
	}
	return snap, nil
}

// pick chooses the files to fetch among the repository's, with the index (when there is
// one) first so its shards can be appended.
func pick(repo, revision string, siblings []string) ([]string, error) {
	var out []string
	for _, f := range modelFiles {
		if slices.Contains(siblings, f) {
			out = append(out, f)
		}
	}
	hasWeights := false
	for _, f := range out {
		if strings.HasSuffix(f, ".safetensors") || f == "model.safetensors.index.json" {
			hasWeights = true
		}
	}
	if !hasWeights {
		return nil, fmt.Errorf("%s@%s has no safetensors weights (model.safetensors, its index, or an adapter); files: %s", repo, revision, strings.Join(siblings, ", "))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i] == "model.safetensors.index.json" && out[j] != out[i] })
	return out, nil
}

// indexShards returns the shard files named by a safetensors index, checking that the
// repository has them (when siblings is not nil).
func indexShards(path string, siblings []string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("model.safetensors.index.json: %w", err)
	}
	set := map[string]bool{}
	for _, f := range idx.WeightMap {
		set[f] = true
	}
	var out []string
	for f := range set {
		// A hostile index must not name files outside the snapshot.
		if f != filepath.Base(f) || strings.ContainsAny(f, `/\`) || !strings.HasSuffix(f, ".safetensors") {
			return nil, fmt.Errorf("model.safetensors.index.json names shard %q, which is not a .safetensors file of the snapshot folder", f)
		}
		if siblings != nil && !slices.Contains(siblings, f) {
			return nil, fmt.Errorf("model.safetensors.index.json names shard %q, which the repository does not have: %w", f, ErrFileNotFound)
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

// revisionInfo asks GET /api/models/<repo>/revision/<revision> for the commit and the
// repository's file names.
func (c *Client) revisionInfo(ctx context.Context, repo, revision string) (string, []string, error) {
	u := c.Endpoint + "/api/models/" + repo + "/revision/" + url.PathEscape(revision)
	resp, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, c.apiError(resp, repo, revision, "")
	}
	var info struct {
		Sha      string `json:"sha"`
		Siblings []struct {
			Rfilename string `json:"rfilename"`
		} `json:"siblings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return "", nil, fmt.Errorf("%s: %w", u, err)
	}
	if !commitRe.MatchString(info.Sha) {
		return "", nil, fmt.Errorf("%s: answer has no commit sha", u)
	}
	var names []string
	for _, s := range info.Siblings {
		names = append(names, s.Rfilename)
	}
	return info.Sha, names, nil
}

// do sends a request, with the token when it goes to the endpoint's host, without
// following redirects.
func (c *Client) do(ctx context.Context, method, u string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "mlxgo-hub")
	// Sizes and hashes are of the stored bytes: no transparent compression.
	req.Header.Set("Accept-Encoding", "identity")
	if c.Token != "" && sameHost(u, c.Endpoint) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return hc.Do(req)
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host == ub.Host
}

// apiError turns a Hub error answer into an error wrapping one of the package's
// sentinels, with the server's message and what to do.
func (c *Client) apiError(resp *http.Response, repo, revision, file string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		var j struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &j) == nil && j.Error != "" {
			msg = j.Error
		} else {
			msg = strings.TrimSpace(string(body))
		}
	}
	code := resp.Header.Get("X-Error-Code")
	what := repo + "@" + revision
	if file != "" {
		what += ": " + file
	}
	page := strings.TrimRight(c.Endpoint, "/") + "/" + repo
	switch {
	case code == "GatedRepo":
		hint := "set HF_TOKEN (or run `hf auth login`) to a token of an account that has"
		if c.Token != "" {
			hint = "the token in use belongs to an account that has not"
		}
		return fmt.Errorf("%s: %w (HTTP %d: %s): %s accepted the licence on the model page %s", what, ErrGated, resp.StatusCode, msg, hint, page)
	case code == "RevisionNotFound":
		return fmt.Errorf("%s: %w: %q is not a branch, tag or commit of %s (%s)", what, ErrRevisionNotFound, revision, repo, msg)
	case code == "EntryNotFound" || (resp.StatusCode == http.StatusNotFound && file != "" && code == ""):
		return fmt.Errorf("%s: %w in %s at %s (%s)", what, ErrFileNotFound, repo, revision, msg)
	case code == "RepoNotFound" || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized:
		hint := "check the name; if it is private, set HF_TOKEN"
		if c.Token != "" {
			hint = "check the name; the token in use cannot see it"
		}
		return fmt.Errorf("%s: %w on %s: %s (HTTP %d: %s)", what, ErrRepoNotFound, c.Endpoint, hint, resp.StatusCode, msg)
	}
	return fmt.Errorf("%s: %s %s: HTTP %d: %s", what, resp.Request.Method, resp.Request.URL, resp.StatusCode, msg)
}
