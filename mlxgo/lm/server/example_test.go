package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/server"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

// Serve a model with the OpenAI API (here on a test listener; mlxgo server uses
// Server.Serve on 127.0.0.1:8080) and ask for a completion.
func ExampleNew() {
	const dir = "../../../notebooks/models/tiny-story"
	tok, err := tokenizer.Load(dir)
	if err != nil {
		panic(err)
	}
	s := server.New(lm.MustLoad(dir), tok, "tiny-story")
	s.Log = log.New(io.Discard, "", 0)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	resp, err := http.Post(hs.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt": "The fox is", "max_tokens": 3, "temperature": 0}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var v struct {
		Choices []struct {
			Text         string
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		panic(err)
	}
	fmt.Printf("%d %q %s\n", resp.StatusCode, v.Choices[0].Text, v.Choices[0].FinishReason)
	// Output: 200 " red." length
}
