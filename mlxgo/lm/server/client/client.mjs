// Drives an mlxgo server with the official OpenAI client: node client.mjs BASE_URL
// USER_MESSAGE COMPLETION_PROMPT. Prints one JSON object: the listed models, a chat
// completion, the same chat streamed, a text completion, and the errors the client
// raises for bad requests.
import OpenAI from "openai";

const [baseURL, userMessage, prompt] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "not-needed", maxRetries: 0 });
const out = {};

out.models = (await client.models.list()).data.map((m) => m.id);

const messages = [{ role: "user", content: userMessage }];
const chat = await client.chat.completions.create({ model: "default_model", messages, temperature: 0, max_tokens: 40 });
out.chat = { content: chat.choices[0].message.content, finish: chat.choices[0].finish_reason, usage: chat.usage, object: chat.object };

const stream = await client.chat.completions.create({
  model: out.models[0], messages, temperature: 0, max_tokens: 40, stream: true, stream_options: { include_usage: true },
});
let text = "", finish = null, chunks = 0, usage = null;
for await (const chunk of stream) {
  chunks++;
  for (const c of chunk.choices) {
    text += c.delta?.content ?? "";
    finish = c.finish_reason ?? finish;
  }
  usage = chunk.usage ?? usage;
}
out.stream = { content: text, finish, chunks, usage };

const completion = await client.completions.create({ model: "default_model", prompt, max_tokens: 12, temperature: 0 });
out.completion = { text: completion.choices[0].text, finish: completion.choices[0].finish_reason, usage: completion.usage };

out.errors = [];
for (const bad of [
  { model: "gpt-4o", messages },
  { model: "default_model", messages, temperature: "hot" },
  { model: "default_model", messages: [] },
]) {
  try {
    await client.chat.completions.create(bad);
    out.errors.push({ status: 200 });
  } catch (e) {
    out.errors.push({ status: e.status, message: e.error?.message ?? e.message, param: e.error?.param ?? null });
  }
}
console.log(JSON.stringify(out));
