// Package tokenizer implements Hugging Face tokenizer.json files of the BPE
// family (GPT-2, SmolLM, Llama-2/3, Mistral, TinyLlama, Qwen2/2.5) with the
// same results as the Rust "tokenizers" library, plus chat templates rendered
// the way the Python "transformers" library renders them.
//
// # Pipeline
//
// Encode runs the same stages as the Rust library:
//
//  1. added tokens whose "normalized" flag is false are split out of the raw
//     text (leftmost-longest match, honouring lstrip, rstrip and single_word);
//  2. every remaining piece is normalized (NFC, NFKC, NFD, NFKD, Lowercase,
//     Strip, StripAccents, Prepend, Replace, Sequence) and added tokens whose
//     "normalized" flag is true are split out of the normalized text;
//  3. the pre-tokenizer cuts pieces into words (ByteLevel, Split, Metaspace,
//     Digits, Punctuation, Whitespace, WhitespaceSplit, Sequence);
//  4. the BPE model turns every word into ids (byte-level alphabets,
//     byte_fallback, unk_token/fuse_unk, ignore_merges,
//     continuing_subword_prefix, end_of_word_suffix), caching words;
//  5. the post-processor adds special tokens when asked (TemplateProcessing,
//     RobertaProcessing, BertProcessing, ByteLevel, Sequence).
//
// Decode maps ids back to tokens and runs the decoder chain (ByteLevel,
// ByteFallback, Fuse, Strip, Replace, Metaspace, BPEDecoder, Sequence).
//
// # Differences from the Rust library
//
//   - Go strings may hold invalid UTF-8, which a JavaScript or Python string
//     cannot. Encode first replaces every maximal invalid byte sequence by
//     U+FFFD, as Rust's String::from_utf8_lossy and the WHATWG decoder do, so
//     encoding bytes gives what the Rust library gives for the lossily decoded
//     text. Decode produces U+FFFD for byte sequences that are not UTF-8
//     exactly as the Rust decoders do.
//   - Truncation and padding settings in tokenizer.json are ignored: Encode
//     returns every id of one sequence.
//   - Regular expressions of Split and Replace are run by a hand-written
//     scanner for the GPT-2, Llama-3 and Qwen2 patterns, and by regexp2
//     (Perl/.NET semantics) for other patterns, where Rust uses Oniguruma;
//     the usual patterns behave the same.
//   - Unicode tables are Go's (character classes, case mapping,
//     normalization), which may trail the Rust crates' tables for characters
//     assigned in the newest Unicode versions.
//   - Metaspace with prepend_scheme "first" prepends to the first piece of the
//     input only; Rust decides by the piece's offset in the original text,
//     which only differs for exotic normalizer chains that insert characters.
//
// # Chat templates
//
// Templates are rendered with gonja (a Go Jinja2 engine) configured like
// transformers: trim_blocks and lstrip_blocks on, a tojson filter that
// behaves like json.dumps(ensure_ascii=False) (indent, separators,
// sort_keys and ensure_ascii arguments included), raise_exception (a
// *TemplateError) and strftime_now globals. Go maps have no key order, so
// dictionaries passed in are iterated and serialized with their keys sorted
// (dictionaries built inside a template keep their order). Numbers follow
// what Python's json.loads would give for the same JSON: json.Number and
// integral float64 values become integers.
//
// # Streaming
//
// NewStreamDecoder turns generated ids into text pieces that never split a
// UTF-8 character, like the Rust library's DecodeStream; the pieces add up
// to Decode of all the ids, byte-fallback runs included.
package tokenizer
