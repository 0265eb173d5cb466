# Makes tokenizer.json and tokenizer_config.json in this folder: a small SentencePiece-style
# BPE tokenizer laid out as Hugging Face converts Llama 2's tokenizer.model (<unk> <s> </s>,
# the 256 byte tokens <0x00>..<0xFF>, then pieces by descending score, single characters
# last; byte_fallback; the legacy Prepend("▁") + Replace(" ", "▁") normalizer; merges listed
# for every split of a piece into two pieces, as transformers' SentencePieceExtractor does).
# The pieces are learnt by plain BPE on the walkthrough data with words cut before "▁", as
# SentencePiece's split_by_whitespace does. Accented letters and emoji are left out of the
# vocabulary so that byte fallback shows. It also writes ../spm-tokenizer-96: the same
# scheme in the 96 ids of the architecture goldens (lm/testdata/archs), with the corpus's
# own characters and <0x0A> as the only byte token.
# Run: python3 make_tokenizer.py (stdlib only).
import collections, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "../../../../../notebooks/data/train.jsonl")

text = []
for line in open(DATA, encoding="utf-8"):
    rec = json.loads(line)
    text.append(rec["prompt"] + rec["completion"])
corpus = "\n".join(text)


def learn(n_merges):
    """Plain BPE on the corpus's words, each starting with "▁"."""
    words = collections.Counter()
    for line in corpus.split("\n"):
        s = "▁" + line.replace(" ", "▁")
        start = 0
        for i in range(1, len(s) + 1):
            if i == len(s) or s[i] == "▁":
                words[s[start:i]] += 1
                start = i
    splits = {w: list(w) for w in words}
    pieces = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, n in words.items():
            sym = splits[w]
            for a, b in zip(sym, sym[1:]):
                pairs[a, b] += n
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        pieces.append(a + b)
        for w in words:
            sym, out, i = splits[w], [], 0
            while i < len(sym):
                if i + 1 < len(sym) and sym[i] == a and sym[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            splits[w] = out
    return pieces


def build(out, n_merges, byte_values, chars):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in byte_values:
        vocab["<0x%02X>" % b] = len(vocab)
    pieces = learn(n_merges)
    for p in pieces + [c for c in chars if c not in pieces]:
        vocab.setdefault(p, len(vocab))
    merges = []
    for piece in vocab:
        local = [(piece[:i], piece[i:]) for i in range(1, len(piece)) if piece[:i] in vocab and piece[i:] in vocab]
        merges += sorted(local, key=lambda lr: (vocab[lr[0]], vocab[lr[1]]))
    write(out, vocab, [list(m) for m in merges])
    print(out, len(vocab), "ids,", len(merges), "merges")


def write(out, vocab, merges):
    special = lambda i, s: {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
        f.write("\n")
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
              "unk_token": "<unk>", "pad_token": None, "legacy": True, "model_max_length": 2048,
              "tokenizer_class": "LlamaTokenizerFast"}
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
        f.write("\n")


ascii_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()-"
build(HERE, 300, range(256), sorted((set(corpus) | set(ascii_chars)) - {"\n"}) + ["▁"])
corpus_chars = sorted(set(corpus) - {"\n", " "}) + ["▁"]
build(os.path.join(HERE, "../spm-tokenizer-96"), 96 - 4 - len(corpus_chars), [0x0A], corpus_chars)
