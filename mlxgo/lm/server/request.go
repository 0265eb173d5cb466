package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// apiError is an error answered with an OpenAI-style body and an HTTP status.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   string `json:"param,omitempty"`
	Code    string `json:"code,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: 400, Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, args...)}
}

// stopList is the "stop" field: a string or a list of up to four strings.
type stopList []string

// UnmarshalJSON accepts a string, a list of strings or null.
func (s *stopList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return badRequest("stop", "stop must be a string or a list of strings")
	}
	*s = many
	return nil
}

// content is a message's "content": a string or a list of {"type": "text", "text": ...}
// parts, which are joined.
type content string

// UnmarshalJSON accepts a string, a list of text parts or null.
func (c *content) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err == nil {
		if s != nil {
			*c = content(*s)
		}
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return badRequest("messages", "a message's content must be a string or a list of text parts")
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return badRequest("messages", "content part type %q is not supported (only text)", p.Type)
		}
		sb.WriteString(p.Text)
	}
	*c = content(sb.String())
	return nil
}

// message is one chat message.
type message struct {
	Role    string  `json:"role"`
	Content content `json:"content"`
}

// sampling holds the fields both endpoints share.
type sampling struct {
	Model               *string  `json:"model"`
	Temperature         *float64 `json:"temperature"`
	TopP                *float64 `json:"top_p"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	Stop                stopList `json:"stop"`
	Seed                *int64   `json:"seed"`
	N                   *int     `json:"n"`
	Stream              bool     `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	sampling
	Messages []message `json:"messages"`
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	sampling
	Prompt *string `json:"prompt"`
}

// decode parses a JSON body into v, turning decoding errors into 400 answers that name
// the field at fault.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		var ae *apiError
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &ae):
			return ae
		case errors.As(err, &te):
			field := strings.TrimPrefix(te.Field, "sampling.")
			return badRequest(field, "%s: expected %s, got a JSON %s", field, jsonKind(te.Type.Kind().String()), te.Value)
		case errors.As(err, &se):
			return badRequest("", "the request body is not valid JSON: %v (at byte %d)", se, se.Offset)
		}
		return badRequest("", "the request body is not valid JSON: %v", err)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "float64":
		return "a number"
	case "int", "int64":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return goKind
}

// check validates the sampling fields against their ranges.
func (s *sampling) check() *apiError {
	if s.Temperature != nil && (*s.Temperature < 0 || *s.Temperature > 2) {
		return badRequest("temperature", "temperature must be between 0 and 2, got %g", *s.Temperature)
	}
	if s.TopP != nil && (*s.TopP <= 0 || *s.TopP > 1) {
		return badRequest("top_p", "top_p must be in (0, 1], got %g", *s.TopP)
	}
	if s.MaxTokens == nil {
		s.MaxTokens = s.MaxCompletionTokens
	}
	if s.MaxTokens != nil && *s.MaxTokens < 1 {
		return badRequest("max_tokens", "max_tokens must be at least 1, got %d", *s.MaxTokens)
	}
	if s.N != nil && *s.N != 1 {
		return badRequest("n", "n must be 1 (one choice per request), got %d", *s.N)
	}
	if len(s.Stop) > 4 {
		return badRequest("stop", "stop takes at most 4 sequences, got %d", len(s.Stop))
	}
	for _, x := range s.Stop {
		if x == "" {
			return badRequest("stop", "stop sequences must not be empty")
		}
	}
	return nil
}
