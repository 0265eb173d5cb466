// Loads a GGUF file with llama.cpp (node-llama-cpp's prebuilt CPU binary, no build, no
// download) and decodes greedily. Reads a JSON request on stdin:
//   {"runs": [{"model": "file.gguf", "exact": true, "prompts": [{"text": "...", "ids": [1, 2], "n": 20}]}]}
// ("exact", optional: a float32 key/value cache and no flash attention, whose CPU kernel
// rounds to float16; llama.cpp's defaults otherwise)
// and prints, per model and prompt, llama.cpp's own tokenization of text (special tokens
// recognised, BOS and EOS added as the model's add_bos/add_eos flags say), the n tokens it generates from ids, and for each step the probability
// llama.cpp gives the chosen token.
import { getLlama } from "node-llama-cpp";

const input = JSON.parse(await new Promise((resolve) => {
  let s = "";
  process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => resolve(s));
}));

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error", maxThreads: 1 });
const runs = [];
for (const run of input.runs) {
  const model = await llama.loadModel({ modelPath: run.model });
  const exact = run.exact ? { flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" } : {};
  const context = await model.createContext({ contextSize: run.contextSize ?? 256, sequences: 1, threads: 1, ...exact });
  const sequence = context.getSequence();
  const results = [];
  for (const p of run.prompts) {
    await sequence.clearHistory();
    const t = model.tokens;
    const tokenized = [
      ...(t.shouldPrependBosToken && t.bos != null ? [t.bos] : []),
      ...model.tokenize(p.text, true),
      ...(t.shouldAppendEosToken && t.eos != null ? [t.eos] : []),
    ];
    const out = { tokenized, tokens: [], confidence: [] };
    const gen = sequence.evaluateWithMetadata(p.ids, { confidence: true }, { temperature: 0, yieldEogToken: true });
    for await (const step of gen) {
      out.tokens.push(step.token);
      out.confidence.push(step.confidence);
      if (out.tokens.length >= p.n) break;
    }
    results.push(out);
  }
  await context.dispose();
  await model.dispose();
  runs.push(results);
}
// Exit once stdout is flushed (a pipe is written asynchronously; exiting earlier cuts it),
// without waiting for llama.cpp's worker threads to wind down.
process.stdout.write(JSON.stringify({ llamaCpp: llama.llamaCppRelease, runs }) + "\n", () => process.exit(0));
