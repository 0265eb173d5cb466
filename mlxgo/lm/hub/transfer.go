package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// fileMeta is what HEAD /<repo>/resolve/<commit>/<file> says about a file.
type fileMeta struct {
	etag   string // blob name: the sha256 for LFS files, the git blob id otherwise
	size   int64  // -1 when unknown
	url    string // where the bytes are (the LFS redirect target, or the resolve URL)
	sha256 string // expected content hash (LFS files)
}

// fetchFile makes snapshots/<commit>/<file> point at a complete, verified blob.
func (c *Client) fetchFile(ctx context.Context, repo, commit, file string, index, of int) error {
	snapFile := filepath.Join(c.RepoDir(repo), "snapshots", commit, filepath.FromSlash(file))
	if st, err := os.Stat(snapFile); err == nil && st.Mode().IsRegular() {
		c.progress(Progress{Repo: repo, File: file, Done: st.Size(), Total: st.Size(), Index: index, Of: of, Finished: true})
		return nil
	}
	meta, err := c.head(ctx, repo, commit, file)
	if err != nil {
		return err
	}
	blob := c.blobPath(repo, meta.etag)
	if st, err := os.Stat(blob); err != nil || (meta.size >= 0 && st.Size() != meta.size) {
		if err := c.transfer(ctx, repo, file, meta, blob, index, of); err != nil {
			return err
		}
	}
	c.progress(Progress{Repo: repo, File: file, Done: meta.size, Total: meta.size, Index: index, Of: of, Finished: true})
	return c.link(repo, commit, file, meta.etag)
}

// head asks for a file's metadata, following relative redirects (renamed repositories)
// but not the LFS redirect to the storage server, whose headers carry the sha256.
func (c *Client) head(ctx context.Context, repo, commit, file string) (fileMeta, error) {
	u := c.Endpoint + "/" + repo + "/resolve/" + commit + "/" + escapePath(file)
	for hops := 0; ; hops++ {
		resp, err := c.do(ctx, http.MethodHead, u, nil)
		if err != nil {
			return fileMeta{}, err
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode >= 400 {
			return fileMeta{}, c.apiError(resp, repo, commit, file)
		}
		loc := h.Get("Location")
		if resp.StatusCode >= 300 && h.Get("X-Linked-Etag") == "" && loc != "" && hops < 5 {
			next, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return fileMeta{}, err
			}
			u = next.String()
			continue
		}
		m := fileMeta{size: -1, url: u}
		if e := h.Get("X-Linked-Etag"); e != "" {
			m.etag = cleanEtag(e)
			if s, err := strconv.ParseInt(h.Get("X-Linked-Size"), 10, 64); err == nil {
				m.size = s
			}
			if sha256Re.MatchString(m.etag) {
				m.sha256 = m.etag
			}
			if loc != "" {
				next, err := resp.Request.URL.Parse(loc)
				if err != nil {
					return fileMeta{}, err
				}
				m.url = next.String()
			}
		} else {
			m.etag = cleanEtag(h.Get("ETag"))
			if s, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
				m.size = s
			}
		}
		if m.etag == "" || strings.ContainsAny(m.etag, `/\`) || m.etag == "." || m.etag == ".." {
			return fileMeta{}, fmt.Errorf("%s@%s: %s: the server sent no usable ETag", repo, commit, file)
		}
		return m, nil
	}
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func cleanEtag(e string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(e), "W/"), `"`)
}

// transfer downloads meta.url into blob: bytes go to blob.incomplete, resuming from its
// length with a Range request (also after a cut mid-file, up to c.Retries times); the
// size and sha256 are checked before the rename that puts the blob in place.
func (c *Client) transfer(ctx context.Context, repo, file string, meta fileMeta, blob string, index, of int) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(c.CacheDir, ".locks", filepath.Base(c.RepoDir(repo)), meta.etag+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if st, err := os.Stat(blob); err == nil && (meta.size < 0 || st.Size() == meta.size) {
		return nil // another process finished it while we waited
	}
	part := blob + ".incomplete"
	retries := c.Retries
	if retries == 0 {
		retries = 5
	}
	for attempt := 0; ; attempt++ {
		err := c.getInto(ctx, repo, file, meta, part, index, of)
		if err == nil {
			break
		}
		var he *httpError
		if errors.As(err, &he) || ctx.Err() != nil || attempt >= retries {
			return err
		}
		time.Sleep(time.Duration(100*(attempt+1)) * time.Millisecond)
	}
	if err := verify(part, meta); err != nil {
		os.Remove(part)
		return fmt.Errorf("%s: %s: %w; the partial file was removed, run the download again", repo, file, err)
	}
	if err := os.Chmod(part, 0o644); err != nil {
		return err
	}
	return os.Rename(part, blob)
}

// httpError is an answer that retrying will not change.
type httpError struct{ err error }

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

// getInto appends the rest of the file to part.
func (c *Client) getInto(ctx context.Context, repo, file string, meta fileMeta, part string, index, of int) error {
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if meta.size >= 0 && off > meta.size {
		if err := f.Truncate(0); err != nil {
			return err
		}
		off, _ = f.Seek(0, io.SeekStart)
	}
	h := http.Header{}
	if off > 0 {
		h.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := c.do(ctx, http.MethodGet, meta.url, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK: // the server ignored the range: start over
		if err := f.Truncate(0); err != nil {
			return err
		}
		if off, err = f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if meta.size >= 0 && off == meta.size {
			return nil
		}
		f.Truncate(0)
		return fmt.Errorf("%s: %s: server refused range %d-; restarting", repo, file, off)
	default:
		return &httpError{c.apiError(resp, repo, "", file)}
	}
	w := &progressWriter{f: f, done: off, p: Progress{Repo: repo, File: file, Total: max(meta.size, 0), Index: index, Of: of}, c: c}
	if _, err := io.CopyBuffer(w, resp.Body, make([]byte, 1<<20)); err != nil {
		return err
	}
	if meta.size >= 0 && w.done < meta.size {
		return fmt.Errorf("%s: %s: transfer ended at %d of %d bytes: %w", repo, file, w.done, meta.size, io.ErrUnexpectedEOF)
	}
	return f.Sync()
}

// verify checks the complete file's size and, for LFS files, its sha256.
func verify(path string, meta fileMeta) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if meta.size >= 0 && n != meta.size {
		return fmt.Errorf("%w: %d bytes, the server announced %d", ErrCorrupt, n, meta.size)
	}
	if meta.sha256 != "" {
		if got := hex.EncodeToString(h.Sum(nil)); got != meta.sha256 {
			return fmt.Errorf("%w: sha256 %s, the server announced %s (X-Linked-Etag)", ErrCorrupt, got, meta.sha256)
		}
	}
	return nil
}

type progressWriter struct {
	f    *os.File
	done int64
	p    Progress
	c    *Client
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.done += int64(n)
	w.p.Done = w.done
	w.c.progress(w.p)
	return n, err
}

func (c *Client) progress(p Progress) {
	if c.OnProgress != nil {
		c.OnProgress(p)
	}
}
