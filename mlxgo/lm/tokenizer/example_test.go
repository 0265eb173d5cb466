package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

func ExampleLoad() {
	tok, err := tokenizer.Load("testdata/tiny")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.VocabSize(), tok.BOSID(), tok.EOSIDs(), tok.PadID(), tok.HasChatTemplate())
	// Output: 512 -1 [2] 0 true
}

func ExampleTokenizer_Encode() {
	tok, err := tokenizer.Load("testdata/tiny")
	if err != nil {
		log.Fatal(err)
	}
	ids, tokens := tok.EncodeWithTokens("Hello world<|im_end|>", true)
	fmt.Println(ids)
	fmt.Printf("%q\n", tokens)
	// Output:
	// [42 71 303 81 300 278 78 70 2]
	// ["H" "e" "ll" "o" "Ġw" "or" "l" "d" "<|im_end|>"]
}

func ExampleTokenizer_Decode() {
	tok, err := tokenizer.Load("testdata/tiny")
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("<|im_start|>Hello world<|im_end|>", false)
	fmt.Printf("%q\n", tok.Decode(ids, false))
	fmt.Printf("%q\n", tok.Decode(ids, true))
	// Output:
	// "<|im_start|>Hello world<|im_end|>"
	// "Hello world"
}

func ExampleNewStreamDecoder() {
	tok, err := tokenizer.Load("testdata/tiny")
	if err != nil {
		log.Fatal(err)
	}
	sd := tokenizer.NewStreamDecoder(tok, true)
	for _, id := range tok.Encode("Hi 🤖!", false) {
		fmt.Printf("%q ", sd.Add(id))
	}
	fmt.Printf("%q\n", sd.Flush())
	// Output: "H" "i" " " "" "" "" "🤖" "!" ""
}

func ExampleTokenizer_ApplyChatTemplate() {
	tok, err := tokenizer.Load("testdata/tiny")
	if err != nil {
		log.Fatal(err)
	}
	prompt, err := tok.ApplyChatTemplate([]tokenizer.Message{
		{"role": "user", "content": "What is 2+2?"},
	}, tokenizer.ChatOptions{AddGenerationPrompt: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", prompt)
	fmt.Println(tok.Encode(prompt, false)[:6])
	// Output:
	// "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
	// [1 87 85 264 201 57]
}

func ExampleCLIJSON() {
	tok, err := tokenizer.Load("testdata/tiny")
	if err != nil {
		log.Fatal(err)
	}
	out, err := tokenizer.CLIJSON(tok, "Hello", false, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	out, err = tokenizer.CLIJSON(tok, `[{"role": "user", "content": "Hi"}]`, true, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output:
	// {"ids":[42,71,303,81],"tokens":["H","e","ll","o"],"text":"Hello"}
	// {"ids":[1,87,85,264,201,42,75,2,201,1,67,85,85,322,323,86,201],"tokens":["<|im_start|>","u","s","er","Ċ","H","i","<|im_end|>","Ċ","<|im_start|>","a","s","s","ist","an","t","Ċ"],"text":"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"}
}
