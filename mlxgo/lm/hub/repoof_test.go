package hub

import "testing"

// TestRepoOf names cache snapshots by their repository id and nothing else.
func TestRepoOf(t *testing.T) {
	cases := map[string]string{
		"/home/u/.cache/huggingface/hub/models--Qwen--Qwen3-0.6B/snapshots/abc123": "Qwen/Qwen3-0.6B",
		"/c/models--HuggingFaceTB--SmolLM2-135M-Instruct/snapshots/0123/":          "HuggingFaceTB/SmolLM2-135M-Instruct",
		"/c/models--org--name--with--dashes/snapshots/1":                           "org/name--with--dashes",
		"/home/u/models/tiny":                   "",
		"/c/models--Qwen--Qwen3-0.6B/blobs/abc": "",
		"/c/models--noslash/snapshots/1":        "",
	}
	for dir, want := range cases {
		got, ok := RepoOf(dir)
		if got != want || ok != (want != "") {
			t.Errorf("RepoOf(%q) = %q, %v; want %q", dir, got, ok, want)
		}
	}
}
