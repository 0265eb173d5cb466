// Package hub downloads models and adapters from the Hugging Face Hub into the cache that
// Python's huggingface_hub uses, so that each finds what the other downloaded.
//
// The cache is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub:
//
//	models--org--name/blobs/<etag>                    file contents, named by their ETag
//	models--org--name/snapshots/<commit>/<file>       symbolic link to ../../blobs/<etag>
//	models--org--name/refs/<revision>                 the commit a branch or tag resolved to
//
// HF_ENDPOINT picks the server, HF_TOKEN (or the token file `hf auth login` writes) the
// credentials, and HF_HUB_OFFLINE=1 answers from the cache alone. Only the files a model
// or an adapter needs are fetched; transfers resume with Range requests; an LFS file is
// checked against its sha256 (X-Linked-Etag) before it enters the cache, and every file
// lands by rename, so the cache never holds a partial or corrupted blob.
package hub

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Errors that callers can test with errors.Is.
var (
	// ErrGated: the repository requires accepting its licence and a token that has done so.
	ErrGated = errors.New("gated repository")
	// ErrRepoNotFound: no such repository (or a private one the token cannot see).
	ErrRepoNotFound = errors.New("repository not found")
	// ErrRevisionNotFound: the branch, tag or commit does not exist in the repository.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrFileNotFound: the repository has no such file at that revision.
	ErrFileNotFound = errors.New("file not found")
	// ErrNotCached: offline, and the cache does not hold the requested snapshot.
	ErrNotCached = errors.New("not in the cache")
	// ErrCorrupt: the downloaded bytes do not match the checksum or size the server announced.
	ErrCorrupt = errors.New("download does not match its checksum")
)

// DefaultEndpoint is the Hub used when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// Client fetches repositories from a Hub into a cache folder.
type Client struct {
	// Endpoint is the server's base URL (HF_ENDPOINT, else DefaultEndpoint).
	Endpoint string
	// Token is sent as a bearer token to Endpoint (HF_TOKEN, else the token file).
	Token string
	// CacheDir is the hub cache folder (HF_HUB_CACHE, else HF_HOME/hub, else
	// ~/.cache/huggingface/hub).
	CacheDir string
	// Offline answers from the cache only (HF_HUB_OFFLINE=1).
	Offline bool
	// HTTP is the client used for requests; nil: one with a connect timeout and no
	// overall timeout (model files are large).
	HTTP *http.Client
	// OnProgress, when set, is called as files download (throttled by the caller's taste:
	// it is called for every chunk written). NewClient sets it to a bar on stderr; a
	// notebook can replace it with one that drives a widget.
	OnProgress func(Progress)
	// Retries is how many times a transfer cut mid-file is resumed (default 5).
	Retries int
}

// Progress reports one file's transfer.
type Progress struct {
	Repo, File  string
	Done, Total int64 // bytes; Total is 0 when unknown
	Index, Of   int   // this file's position among the files being fetched (1-based)
	Finished    bool  // the file is complete and verified (or was already cached)
}

// NewClient returns a client configured from the environment as huggingface_hub
// configures itself, with a progress bar on stderr.
func NewClient() *Client {
	c := &Client{
		Endpoint: strings.TrimRight(envOr("HF_ENDPOINT", DefaultEndpoint), "/"),
		Token:    token(),
		CacheDir: CacheDir(),
		Offline:  truthy(os.Getenv("HF_HUB_OFFLINE")),
	}
	c.OnProgress = DefaultProgress
	if c.OnProgress == nil {
		c.OnProgress = StderrProgress()
	}
	return c
}

// DefaultProgress, when set, is the OnProgress of the clients NewClient makes (and so of
// lm.Load("org/name") and the CLI): a notebook sets it to drive its own progress widget.
var DefaultProgress func(Progress)

// CacheDir returns the hub cache folder huggingface_hub would use.
func CacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	return filepath.Join(hfHome(), "hub")
}

func hfHome() string {
	if d := os.Getenv("HF_HOME"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// token returns HF_TOKEN, else the content of the token file (HF_TOKEN_PATH, else
// HF_HOME/token), else "".
func token() string {
	if t := strings.TrimSpace(os.Getenv("HF_TOKEN")); t != "" {
		return t
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		path = filepath.Join(hfHome(), "token")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

var repoIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseRepoID splits "org/name[@revision]" into the repository id and the revision
// ("main" when none is given). ok is false when s does not have that form.
func ParseRepoID(s string) (repo, revision string, ok bool) {
	repo, revision = s, "main"
	if i := strings.LastIndex(s, "@"); i >= 0 {
		repo, revision = s[:i], s[i+1:]
		if revision == "" {
			return "", "", false
		}
	}
	if !repoIDRe.MatchString(repo) || strings.Contains(repo, "..") {
		return "", "", false
	}
	return repo, revision, true
}

// Resolve returns a local folder for pathOrID: the path itself when it exists, else the
// cached snapshot of the Hub repository "org/name[@revision]", downloading what is
// missing with NewClient().
func Resolve(pathOrID string) (string, error) {
	if _, err := os.Stat(pathOrID); err == nil {
		return pathOrID, nil
	}
	repo, rev, ok := ParseRepoID(pathOrID)
	if !ok {
		return "", fmt.Errorf("%s: no such folder (and not a Hub repository id org/name[@revision])", pathOrID)
	}
	dir, err := NewClient().Download(repo, rev)
	if errors.Is(err, ErrRepoNotFound) {
		return "", fmt.Errorf("%s is not a local folder, and as a Hub id: %w", pathOrID, err)
	}
	return dir, err
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: t}
}
