#!/usr/bin/env node
// Reference oracle for the Go tokenizer tests: runs Hugging Face's Rust
// "tokenizers" library (through the @anush008/tokenizers Node addon) on a
// batch of inputs.
//
//   node oracle.js run   REQUEST.json RESPONSE.json
//   node oracle.js bench TOKENIZER.json CHUNKS.json
//
// A run request is {"tokenizer": PATH, "texts": [...], "decode": [[ids]...]}.
// The response holds, for every text, the ids and tokens with and without
// special tokens and the decodings (with and without skipping special
// tokens) of the ids with special tokens; and for every id list of
// "decode" its two decodings.
//
// bench encodes a JSON array of text chunks, one chunk after the other
// (after a warm-up pass), and prints {"tokens": N, "seconds": S,
// "cpu_seconds": C, "bytes": B} (C is the process's CPU time, which a busy
// machine disturbs less than the wall time S).
'use strict';

const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');

async function run(reqPath, respPath) {
  const req = JSON.parse(fs.readFileSync(reqPath, 'utf8'));
  const tk = Tokenizer.fromFile(req.tokenizer);
  const out = { encode: [], decode: [] };
  for (const text of req.texts) {
    const withSp = await tk.encode(text, null, { addSpecialTokens: true });
    const noSp = await tk.encode(text, null, { addSpecialTokens: false });
    const ids = withSp.getIds();
    out.encode.push({
      ids,
      tokens: withSp.getTokens(),
      ids_no_special: noSp.getIds(),
      decoded: await tk.decode(ids, false),
      decoded_skip: await tk.decode(ids, true),
    });
  }
  for (const ids of req.decode || []) {
    out.decode.push({
      decoded: await tk.decode(ids, false),
      decoded_skip: await tk.decode(ids, true),
    });
  }
  fs.writeFileSync(respPath, JSON.stringify(out));
}

async function bench(tokPath, chunksPath) {
  const tk = Tokenizer.fromFile(tokPath);
  const chunks = JSON.parse(fs.readFileSync(chunksPath, 'utf8'));
  // Warm up (fills the word cache, like the Go measurement's first pass).
  for (const c of chunks) await tk.encode(c, null, { addSpecialTokens: false });
  let tokens = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (const c of chunks) {
    const enc = await tk.encode(c, null, { addSpecialTokens: false });
    tokens += enc.getLength();
  }
  const cpu = process.cpuUsage(cpu0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  for (const c of chunks) bytes += Buffer.byteLength(c, 'utf8');
  process.stdout.write(JSON.stringify({ tokens, seconds, cpu_seconds: cpuSeconds, bytes, chunks: chunks.length }) + '\n');
}

async function main() {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === 'run') return run(a, b);
  if (mode === 'bench') return bench(a, b);
  throw new Error('usage: oracle.js run REQUEST RESPONSE | bench TOKENIZER CHUNKS_JSON');
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
