// Throughput of the official TypeScript SDK (@anthropic-ai/sdk) turning an Anthropic SSE body into a message:
// its own SSE decoding and MessageStream accumulation, fed from memory in 64 KiB chunks through a custom fetch.
//
//   node bench/node/sse_bench.mjs FILE [RUNS]      (npm install in bench/node first)
//
// Prints one JSON line: best wall-clock and CPU MB/s over RUNS (default 3), the SDK version, and a summary of the
// final message for the caller to compare with its own result.
import Anthropic from '@anthropic-ai/sdk';
import { readFileSync } from 'node:fs';

const [file, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const bytes = readFileSync(file);
const CHUNK = 64 * 1024;

function body() {
  let off = 0;
  return new ReadableStream({
    pull(controller) {
      if (off >= bytes.length) {
        controller.close();
        return;
      }
      const n = Math.min(CHUNK, bytes.length - off);
      controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset + off, n));
      off += n;
    },
  });
}

const client = new Anthropic({
  apiKey: 'not-used',
  baseURL: 'http://127.0.0.1:9',
  maxRetries: 0,
  fetch: async () =>
    new Response(body(), { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } }),
});

let bestWall = Infinity;
let bestCpu = Infinity;
let message;
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const stream = client.messages.stream({
    model: 'claude-bench', // any name: the response is canned
    max_tokens: 64000,
    messages: [{ role: 'user', content: 'bench' }],
  });
  message = await stream.finalMessage();
  for (const block of message.content) if (block.type === 'tool_use') void block.input; // parsed, as ours are
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  bestWall = Math.min(bestWall, wall);
  bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1e6);
}

const mb = bytes.length / 1e6;
const summary = {
  blocks: message.content.length,
  types: message.content.reduce((t, b) => ({ ...t, [b.type]: (t[b.type] || 0) + 1 }), {}),
  text_bytes: message.content.reduce((n, b) => n + Buffer.byteLength(b.text || b.thinking || ''), 0),
  tool_input_bytes: message.content.reduce((n, b) => n + (b.type === 'tool_use' ? Buffer.byteLength(JSON.stringify(b.input)) : 0), 0),
  stop_reason: message.stop_reason,
  output_tokens: message.usage.output_tokens,
};
const version = JSON.parse(readFileSync(new URL('./node_modules/@anthropic-ai/sdk/package.json', import.meta.url))).version;
console.log(JSON.stringify({ sdk: version, node: process.version, wall_mbps: mb / bestWall, cpu_mbps: mb / bestCpu, summary }));
