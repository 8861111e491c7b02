// The official TypeScript Agent SDK (@anthropic-ai/claude-agent-sdk) on the same CLI binary and fake server as
// bench/cli_latency.rb: prompt→first message and prompt→result of a one-turn query, cold (query()), prewarmed
// (startup(), then WarmQuery.query()) and a second prompt on the same process (streaming input).
//
//   node bench/node/cli_latency.mjs MODE RUNS SETTLE CLI_PATH CWD ENV_JSON      (npm install in bench/node first)
//
// MODE: cold | prewarmed | second; SETTLE: seconds a prewarmed process waits before its prompt. Prints one JSON line: { sdk, node, first: [s…], result: [s…] }.
import { query, startup } from '@anthropic-ai/claude-agent-sdk';
import { readFileSync } from 'node:fs';

const [mode, runsArg, settleArg, cliPath, cwd, envJson] = process.argv.slice(2);
const runs = Number(runsArg);
const options = {
  pathToClaudeCodeExecutable: cliPath,
  cwd,
  model: 'claude-sonnet-4-5',
  env: { ...process.env, ...JSON.parse(envJson) },
};
const now = () => Number(process.hrtime.bigint()) / 1e9;

// Reads a query's messages from t0: [seconds to the first message, seconds to the result].
async function timed(q, t0) {
  let first = null;
  for await (const message of q) {
    if (first === null) first = now() - t0;
    if (message.type === 'result') {
      if (message.subtype !== 'success' || message.is_error) throw new Error(`result: ${JSON.stringify(message)}`);
      return [first, now() - t0];
    }
  }
  throw new Error('no result');
}

function userMessage(text) {
  return { type: 'user', session_id: '', parent_tool_use_id: null, message: { role: 'user', content: text } };
}

// Two prompts on one process: the second is sent once the first's result is in; its timings are returned.
async function secondPrompt() {
  let release;
  const firstDone = new Promise((resolve) => { release = resolve; });
  let t0 = null;
  async function* prompts() {
    yield userMessage('first question');
    await firstDone;
    t0 = now();
    yield userMessage('second question');
  }
  const q = query({ prompt: prompts(), options });
  let results = 0;
  let first = null;
  for await (const message of q) {
    if (t0 !== null && first === null) first = now() - t0;
    if (message.type === 'result') {
      results += 1;
      if (results === 1) release();
      else { q.close?.(); return [first, now() - t0]; }
    }
  }
  throw new Error('no second result');
}

const first = [];
const result = [];
for (let i = 0; i < runs; i++) {
  let pair;
  if (mode === 'cold') {
    const t0 = now();
    pair = await timed(query({ prompt: `question ${i}`, options }), t0);
  } else if (mode === 'prewarmed') {
    const warm = await startup({ options });
    await new Promise((resolve) => setTimeout(resolve, Number(settleArg) * 1000)); // as the Ruby side: it waits, ready
    const t0 = now();
    pair = await timed(warm.query(`question ${i}`), t0);
  } else if (mode === 'second') {
    pair = await secondPrompt();
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  first.push(pair[0]);
  result.push(pair[1]);
}
const sdk = JSON.parse(readFileSync(new URL('./node_modules/@anthropic-ai/claude-agent-sdk/package.json', import.meta.url))).version;
console.log(JSON.stringify({ sdk, node: process.version, first, result }));
