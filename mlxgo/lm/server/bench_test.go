package server

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkServer measures, on the walkthrough model over loopback HTTP, the time to the
// first streamed token and the generated tokens per second, with one client and with
// four concurrent clients (whose requests queue).
func BenchmarkServer(b *testing.B) {
	_, hs := testServer(&testing.T{})
	defer hs.Close()
	for _, clients := range []int{1, 4} {
		b.Run(map[int]string{1: "clients=1", 4: "clients=4"}[clients], func(b *testing.B) {
			var ttft time.Duration
			var tokens, requests int
			start := time.Now()
			for b.Loop() {
				var mu sync.Mutex
				var wg sync.WaitGroup
				for range clients {
					wg.Go(func() {
						first, n := streamOnce(b, hs.URL)
						mu.Lock()
						ttft += first
						tokens += n
						requests++
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			el := time.Since(start)
			b.ReportMetric(float64(ttft.Milliseconds())/float64(requests), "ms-to-first-token")
			b.ReportMetric(float64(tokens)/el.Seconds(), "tokens/s")
			b.ReportMetric(float64(tokens)/float64(requests), "tokens/request")
		})
	}
}

// streamOnce sends one streamed completion of 64 tokens and returns the time to its first
// text chunk and the number of generated tokens.
func streamOnce(b *testing.B, url string) (time.Duration, int) {
	t0 := time.Now()
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(
		`{"prompt": "Let us count. One, two,", "max_tokens": 64, "stream": true, "stream_options": {"include_usage": true}}`))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var first time.Duration
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		if first == 0 {
			first = time.Since(t0)
		}
		var c struct{ Usage map[string]int }
		if json.Unmarshal([]byte(data), &c) == nil && c.Usage != nil {
			n = c.Usage["completion_tokens"]
		}
	}
	return first, n
}
