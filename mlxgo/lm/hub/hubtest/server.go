// Package hubtest is a local Hugging Face Hub for tests: it speaks the part of the Hub's
// HTTP protocol that huggingface_hub and package hub use (revision info, tree listing,
// resolve with LFS redirects), with gated repositories, transfers cut mid-file and
// corrupted blobs on demand.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Server is a running local Hub.
type Server struct {
	*httptest.Server
	// Token is the bearer token that opens gated repositories.
	Token string

	mu       sync.Mutex
	repos    map[string]*repo
	cutAfter map[string]int64 // sha256 → bytes sent before the next transfer is cut
	corrupt  map[string]bool  // sha256 → serve altered bytes
	log      []string
}

type repo struct {
	gated  bool
	commit string
	refs   map[string]string
	files  map[string][]byte
}

// New starts a server; close it with Close.
func New() *Server {
	s := &Server{Token: "hf_test_token", repos: map[string]*repo{}, cutAfter: map[string]int64{}, corrupt: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddRepo publishes files under id ("org/name") at branch main and returns the commit.
// Files ending in .safetensors are served as LFS files. A gated repository, as on the
// Hub, shows its metadata to anyone but serves its files only to requests carrying Token.
func (s *Server) AddRepo(id string, files map[string][]byte, gated bool) string {
	h := sha1.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%x\x00", n, sha256.Sum256(files[n]))
	}
	commit := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[id] = &repo{gated: gated, commit: commit, refs: map[string]string{"main": commit}, files: files}
	return commit
}

// AddDir publishes the regular files of a local folder, as AddRepo.
func (s *Server) AddDir(id, dir string, gated bool) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return "", err
			}
			files[e.Name()] = b
		}
	}
	return s.AddRepo(id, files, gated), nil
}

// CutNext makes the next transfer of content end abruptly after n bytes.
func (s *Server) CutNext(content []byte, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutAfter[SHA256(content)] = n
}

// Corrupt makes every transfer of content send altered bytes (the announced sha256 stays
// that of content).
func (s *Server) Corrupt(content []byte, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[SHA256(content)] = on
}

// Log returns the requests served so far, as "METHOD path [Range]".
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// SHA256 is the hex sha256 of b: an LFS file's X-Linked-Etag and blob name.
func SHA256(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// GitBlobID is git's object id of b: a regular file's ETag and blob name.
func GitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func isLFS(name string) bool { return strings.HasSuffix(name, ".safetensors") }

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.log = append(s.log, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+r.Header.Get("Range")))
	s.mu.Unlock()
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/lfs/"):
		s.serveLFS(w, r, strings.TrimPrefix(p, "/lfs/"))
	case strings.HasPrefix(p, "/api/models/"):
		// /api/models/org/name/(revision|tree)/rev
		parts := strings.SplitN(strings.TrimPrefix(p, "/api/models/"), "/", 4)
		if len(parts) < 4 {
			hubError(w, http.StatusNotFound, "", "not found")
			return
		}
		rp, commit, ok := s.lookup(w, r, parts[0]+"/"+parts[1], parts[3], false)
		if !ok {
			return
		}
		names := make([]string, 0, len(rp.files))
		for n := range rp.files {
			names = append(names, n)
		}
		sort.Strings(names)
		w.Header().Set("Content-Type", "application/json")
		if parts[2] == "tree" {
			var out []map[string]any
			for _, n := range names {
				e := map[string]any{"type": "file", "path": n, "size": len(rp.files[n]), "oid": GitBlobID(rp.files[n])}
				if isLFS(n) {
					e["lfs"] = map[string]any{"oid": SHA256(rp.files[n]), "size": len(rp.files[n])}
				}
				out = append(out, e)
			}
			json.NewEncoder(w).Encode(out)
			return
		}
		var sib []map[string]string
		for _, n := range names {
			sib = append(sib, map[string]string{"rfilename": n})
		}
		json.NewEncoder(w).Encode(map[string]any{"id": parts[0] + "/" + parts[1], "sha": commit, "siblings": sib})
	default:
		// /org/name/resolve/rev/file
		parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)
		if len(parts) < 5 || parts[2] != "resolve" {
			hubError(w, http.StatusNotFound, "", "not found")
			return
		}
		rp, commit, ok := s.lookup(w, r, parts[0]+"/"+parts[1], parts[3], true)
		if !ok {
			return
		}
		content, found := rp.files[parts[4]]
		if !found {
			w.Header().Set("X-Repo-Commit", commit)
			hubError(w, http.StatusNotFound, "EntryNotFound", parts[4]+" does not exist on \""+parts[3]+"\"")
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		if isLFS(parts[4]) {
			sum := SHA256(content)
			w.Header().Set("ETag", `"`+sum+`"`)
			w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
			w.Header().Set("X-Linked-Size", fmt.Sprint(len(content)))
			w.Header().Set("Location", "/lfs/"+sum)
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"`+GitBlobID(content)+`"`)
		http.ServeContent(w, r, parts[4], time.Time{}, bytes.NewReader(content))
	}
}

// lookup finds the repository and commit, answering the Hub's errors when it cannot.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, id, rev string, file bool) (*repo, string, bool) {
	s.mu.Lock()
	rp := s.repos[id]
	s.mu.Unlock()
	authed := r.Header.Get("Authorization") == "Bearer "+s.Token
	if rp == nil {
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return nil, "", false
	}
	if rp.gated && file && !authed {
		hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+id+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
		return nil, "", false
	}
	commit, ok := rp.refs[rev]
	if !ok && rev == rp.commit {
		commit, ok = rev, true
	}
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, "", false
	}
	return rp, commit, true
}

func (s *Server) serveLFS(w http.ResponseWriter, r *http.Request, sum string) {
	var content []byte
	s.mu.Lock()
	for _, rp := range s.repos {
		for n, b := range rp.files {
			if isLFS(n) && SHA256(b) == sum {
				content = b
			}
		}
	}
	cut, doCut := s.cutAfter[sum]
	delete(s.cutAfter, sum)
	bad := s.corrupt[sum]
	s.mu.Unlock()
	if content == nil {
		http.NotFound(w, r)
		return
	}
	if bad {
		content = bytes.Clone(content)
		content[len(content)/2] ^= 0xff
	}
	if doCut {
		w = &cutWriter{ResponseWriter: w, left: cut}
	}
	http.ServeContent(w, r, sum, time.Time{}, bytes.NewReader(content))
}

// cutWriter aborts the connection once left bytes are written.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > c.left {
		c.ResponseWriter.Write(b[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(b))
	return c.ResponseWriter.Write(b)
}
