package tokenizer

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentUse encodes, decodes and renders from several goroutines
// (run with -race to check the word cache and the template cache).
func TestConcurrentUse(t *testing.T) {
	tok, fc := loadFixture(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				for _, c := range fc.Cases {
					text := fmt.Sprintf("%s %d-%d", c.Text, g, i)
					if got := tok.Decode(tok.Encode(text, false), false); got != text {
						errs <- fmt.Errorf("round trip of %q gave %q", text, got)
						return
					}
				}
				if _, err := tok.ApplyChatTemplate([]Message{{"role": "user", "content": "hi"}}, ChatOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
