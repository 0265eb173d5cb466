// Package server serves a model over HTTP with the OpenAI API, as mlx_lm.server does:
// POST /v1/chat/completions (the model's chat template; streamed as server-sent events
// when "stream" is true), POST /v1/completions and GET /v1/models.
//
// Requests are checked before anything runs: malformed JSON, a field of the wrong type
// or out of range, or an unknown model is answered 400 with an OpenAI-style error body
// ({"error": {"message", "type", "param", "code"}}), and a panic while answering is
// answered 500; the server keeps running. Generations run one at a time in arrival
// order (a queue), so concurrent clients are served safely; a client that disconnects
// while queued or generating is dropped.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

// Server answers OpenAI API requests with one model.
type Server struct {
	// ID is the model's name in /v1/models and responses (mlx_lm.server uses the
	// --model path). Requests may name it, "default_model", or nothing.
	ID string
	// Defaults for requests that leave them out (mlx_lm.server's --max-tokens, --temp,
	// --top-p): 512 tokens, greedy, no nucleus cut.
	MaxTokens int
	Temp      float64
	TopP      float64
	// Log receives one line per request; nil: the standard logger.
	Log *log.Logger

	model   *lm.Model
	tok     *tokenizer.Tokenizer
	eos     []int
	created int64
	turn    chan struct{} // holds one token: the right to generate
}

// New returns a server for model and its tokenizer, named id.
func New(model *lm.Model, tok *tokenizer.Tokenizer, id string) *Server {
	s := &Server{ID: id, MaxTokens: 512, TopP: 1, model: model, tok: tok, created: time.Now().Unix(), turn: make(chan struct{}, 1)}
	s.eos = generate.EOSIDs(model, tok)
	s.turn <- struct{}{}
	return s
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /chat/completions", s.chat)
	mux.HandleFunc("POST /v1/completions", s.completions)
	mux.HandleFunc("POST /completions", s.completions)
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("GET /v1/models/{id...}", s.modelInfo)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "not_found",
			Message: fmt.Sprintf("no endpoint %s %s (endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models)", r.Method, r.URL.Path)})
	})
	return s.recoverer(mux)
}

// recoverer answers 500 instead of letting a panic end the connection without a word.
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logf("%s %s: panic: %v", r.Method, r.URL.Path, v)
				writeError(w, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: fmt.Sprintf("internal error: %v", v)})
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// Serve answers requests on ln until ctx is cancelled, then stops accepting
// connections, lets requests in progress finish (up to 30 s) and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := hs.Shutdown(shut)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

func (s *Server) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// checkModel accepts the server's model, "default_model" or no name.
func (s *Server) checkModel(name *string) *apiError {
	if name == nil || *name == "" || *name == "default_model" || *name == s.ID {
		return nil
	}
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("model %q is not served here (this server serves %q; \"default_model\" also names it)", *name, s.ID)}
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{s.modelObject()}})
}

func (s *Server) modelInfo(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.checkModel(&id); err != nil {
		err.Status = http.StatusNotFound
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject())
}

func (s *Server) modelObject() map[string]any {
	return map[string]any{"id": s.ID, "object": "model", "created": s.created, "owned_by": "mlxgo"}
}

// readBody reads a request body of at most 8 MiB.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Message: "the request body is larger than 8 MiB"}
		}
		return nil, badRequest("", "reading the request body: %v", err)
	}
	return b, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, map[string]any{"error": e})
}

func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// validRoles are the chat roles a request may use.
var validRoles = []string{"system", "user", "assistant", "developer", "tool"}

func checkMessages(ms []message) *apiError {
	if len(ms) == 0 {
		return badRequest("messages", "messages must be a non-empty list")
	}
	for i, m := range ms {
		if !slices.Contains(validRoles, m.Role) {
			return badRequest("messages", "messages[%d].role %q is not one of system, user, assistant, developer, tool", i, m.Role)
		}
	}
	return nil
}
