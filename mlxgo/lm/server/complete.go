package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

// outcome is what one generation produced.
type outcome struct {
	text                    string
	finish                  string // "stop" or "length"
	promptTokens, genTokens int
	firstToken, total       time.Duration
}

// generateText runs one generation once it is this request's turn: prompt is encoded as
// mlxgo generate encodes it, decoding follows the request's sampling fields, and text
// is passed to emit as soon as no stop sequence can begin in it. It returns ctx's error
// when the client went away.
func (s *Server) generateText(ctx context.Context, prompt string, p *sampling, emit func(string)) (outcome, error) {
	ids := s.tok.Encode(prompt, true)
	if len(ids) == 0 {
		return outcome{}, badRequest("prompt", "the prompt encodes to no tokens")
	}
	opts := generate.Options{MaxTokens: s.MaxTokens, Temp: s.Temp, TopP: s.TopP, EOS: s.eos}
	if p.MaxTokens != nil {
		opts.MaxTokens = *p.MaxTokens
	}
	if p.Temperature != nil {
		opts.Temp = *p.Temperature
	}
	if p.TopP != nil {
		opts.TopP = *p.TopP
	}
	if p.Seed != nil {
		opts.Seed = uint64(*p.Seed)
	} else {
		opts.Seed = uint64(time.Now().UnixNano())
	}
	select {
	case <-s.turn:
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	}
	defer func() { s.turn <- struct{}{} }()

	out := outcome{promptTokens: len(ids), finish: "length"}
	st := &stopper{stops: p.Stop, emit: emit}
	dec := tokenizer.NewStreamDecoder(s.tok, true)
	start := time.Now()
	generate.Tokens(s.model, ids, opts, func(id int) bool {
		if out.genTokens == 0 {
			out.firstToken = time.Since(start)
		}
		out.genTokens++
		if slices.Contains(opts.EOS, id) {
			out.finish = "stop"
			return false
		}
		if st.add(dec.Add(id)) {
			out.finish = "stop"
			return false
		}
		return ctx.Err() == nil
	})
	if !st.done {
		if st.add(dec.Flush()) {
			out.finish = "stop"
		}
	}
	st.flush()
	out.total = time.Since(start)
	out.text = st.text.String()[:st.sent]
	if err := ctx.Err(); err != nil {
		return out, err
	}
	return out, nil
}

// stopper cuts generated text at the first stop sequence and releases text only when no
// stop sequence can start inside it.
type stopper struct {
	stops []string
	emit  func(string)
	text  strings.Builder
	sent  int // bytes of text passed to emit
	done  bool
}

// add appends a piece of text and reports whether a stop sequence has been reached.
func (st *stopper) add(piece string) bool {
	if st.done {
		return true
	}
	st.text.WriteString(piece)
	all := st.text.String()
	cut := -1
	for _, s := range st.stops {
		if i := strings.Index(all, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		st.release(all[:cut])
		st.done = true
		return true
	}
	// Hold back the longest tail that is the beginning of a stop sequence.
	hold := 0
	for _, s := range st.stops {
		for n := min(len(s)-1, len(all)); n > hold; n-- {
			if strings.HasSuffix(all, s[:n]) {
				hold = n
				break
			}
		}
	}
	st.release(all[:len(all)-hold])
	return false
}

// flush releases what was held back (the generation ended without a stop sequence).
func (st *stopper) flush() {
	if !st.done {
		st.release(st.text.String())
	}
}

func (st *stopper) release(upTo string) {
	if len(upTo) > st.sent {
		if st.emit != nil {
			st.emit(upTo[st.sent:])
		}
		st.sent = len(upTo)
	}
}

func usage(o outcome) map[string]int {
	return map[string]int{"prompt_tokens": o.promptTokens, "completion_tokens": o.genTokens, "total_tokens": o.promptTokens + o.genTokens}
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, aerr := readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var req chatRequest
	if aerr = decode(body, &req); aerr == nil {
		aerr = s.checkModel(req.Model)
	}
	if aerr == nil {
		aerr = req.check()
	}
	if aerr == nil {
		aerr = checkMessages(req.Messages)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	msgs := make([]tokenizer.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = tokenizer.Message{"role": m.Role, "content": string(m.Content)}
	}
	var prompt string
	if s.tok.HasChatTemplate() {
		var err error
		if prompt, err = s.tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true}); err != nil {
			writeError(w, badRequest("messages", "the chat template cannot render these messages: %v", err))
			return
		}
	} else {
		// As mlx_lm.server without a template: the contents, one per line.
		for _, m := range req.Messages {
			prompt += string(m.Content) + "\n"
		}
	}
	s.respond(w, r, "chat.completion", prompt, &req.sampling)
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	body, aerr := readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var req completionRequest
	if aerr = decode(body, &req); aerr == nil {
		aerr = s.checkModel(req.Model)
	}
	if aerr == nil {
		aerr = req.check()
	}
	if aerr == nil && req.Prompt == nil {
		aerr = badRequest("prompt", "prompt is required (a string)")
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.respond(w, r, "text_completion", *req.Prompt, &req.sampling)
}

// respond generates and answers in one JSON body, or as server-sent events when the
// request asked for a stream. kind is "chat.completion" or "text_completion".
func (s *Server) respond(w http.ResponseWriter, r *http.Request, kind, prompt string, p *sampling) {
	id, created := newID(map[string]string{"chat.completion": "chatcmpl-", "text_completion": "cmpl-"}[kind]), time.Now().Unix()
	chat := kind == "chat.completion"
	choice := func(text string, finish any) map[string]any {
		c := map[string]any{"index": 0, "finish_reason": finish, "logprobs": nil}
		if !chat {
			c["text"] = text
		}
		return c
	}
	if !p.Stream {
		o, err := s.generateText(r.Context(), prompt, p, nil)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		c := choice(o.text, o.finish)
		if chat {
			c["message"] = map[string]any{"role": "assistant", "content": o.text}
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": kind, "created": created, "model": s.ID,
			"choices": []any{c}, "usage": usage(o)})
		s.logf("%s: %d prompt + %d generated tokens, first token %v, %v in all", r.URL.Path, o.promptTokens, o.genTokens, o.firstToken.Round(time.Millisecond), o.total.Round(time.Millisecond))
		return
	}
	flusher, _ := w.(http.Flusher)
	started := false
	send := func(v any) {
		if !started {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(text string, finish any, role bool) map[string]any {
		c := choice(text, finish)
		if chat {
			delta := map[string]any{}
			if role {
				delta["role"] = "assistant"
			}
			if text != "" || role {
				delta["content"] = text
			}
			c["delta"] = delta
		}
		return map[string]any{"id": id, "object": kind + ".chunk", "created": created, "model": s.ID, "choices": []any{c}}
	}
	if !chat {
		chunk = func(text string, finish any, _ bool) map[string]any {
			return map[string]any{"id": id, "object": kind, "created": created, "model": s.ID, "choices": []any{choice(text, finish)}}
		}
	}
	o, err := s.generateText(r.Context(), prompt, p, func(text string) {
		send(chunk(text, nil, chat && !started))
	})
	if err != nil && !started {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		return // the client went away
	}
	if chat && !started {
		send(chunk("", nil, true))
	}
	send(chunk("", o.finish, false))
	if p.StreamOptions != nil && p.StreamOptions.IncludeUsage {
		send(map[string]any{"id": id, "object": kind + ".chunk", "created": created, "model": s.ID, "choices": []any{}, "usage": usage(o)})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
	s.logf("%s (stream): %d prompt + %d generated tokens, first token %v, %v in all", r.URL.Path, o.promptTokens, o.genTokens, o.firstToken.Round(time.Millisecond), o.total.Round(time.Millisecond))
}

// fail answers a generation error: a request error as 400, a client that went away with
// nothing (nobody reads it).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ae, ok := err.(*apiError); ok {
		writeError(w, ae)
		return
	}
	if r.Context().Err() != nil {
		s.logf("%s: client went away: %v", r.URL.Path, err)
		return
	}
	writeError(w, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()})
}
