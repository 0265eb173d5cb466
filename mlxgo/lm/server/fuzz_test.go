package server

import (
	"testing"
)

// FuzzRequestBody feeds request bodies to the decoding and checks of both
// endpoints: any body gives either a request within bounds or a 400 answer with
// a message, never a panic.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":8,"temperature":0.5,"stop":["\n"]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"prompt":"Once","max_completion_tokens":4,"top_p":0.9,"seed":1,"n":1,"stop":"x"}`,
		`{"prompt":null,"stop":[null]}`, `{"messages":{}}`, `[]`, `{"temperature":"hot"}`, `{"max_tokens":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(aerr *apiError) {
			if aerr != nil && (aerr.Status != 400 || aerr.Message == "") {
				t.Fatalf("error answer %+v: want a 400 with a message", aerr)
			}
		}
		var chat chatRequest
		aerr := decode(body, &chat)
		if aerr == nil {
			if aerr = chat.check(); aerr == nil {
				aerr = checkMessages(chat.Messages)
			}
		}
		check(aerr)
		if aerr == nil {
			checkBounds(t, &chat.sampling)
		}
		var comp completionRequest
		aerr = decode(body, &comp)
		if aerr == nil {
			aerr = comp.check()
		}
		check(aerr)
		if aerr == nil {
			checkBounds(t, &comp.sampling)
		}
	})
}

// checkBounds checks what check promises of an accepted request.
func checkBounds(t *testing.T, s *sampling) {
	t.Helper()
	switch {
	case s.Temperature != nil && (*s.Temperature < 0 || *s.Temperature > 2):
		t.Fatalf("temperature %g accepted", *s.Temperature)
	case s.TopP != nil && (*s.TopP <= 0 || *s.TopP > 1):
		t.Fatalf("top_p %g accepted", *s.TopP)
	case s.MaxTokens != nil && *s.MaxTokens < 1:
		t.Fatalf("max_tokens %d accepted", *s.MaxTokens)
	case len(s.Stop) > 4:
		t.Fatalf("%d stop sequences accepted", len(s.Stop))
	}
}
