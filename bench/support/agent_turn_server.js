// The fake Messages API of bench/concurrent_runs.rb in Node, built-in modules only: what agent_turn_server.rb
// serves, for about half its CPU, so that less of the machine goes to the server.
// Each turn is chosen from the conversation in the request: fewer than TOOL_TURNS tool_result blocks → a sentence and
// a tool_use of lookup_order, else the final text. Every answer waits DELAY seconds before its headers, then streams
// the same bytes as RubyLLM::AgentSDK::Testing::FakeServer: same headers, events, ids (msg_01…, toolu_01…, req_01…:
// 22 alphanumerics), usage fields, one word per text_delta, the tool input in 3 input_json_delta pieces after an
// empty one; chunked, one write per SSE event. Only POST /v1/messages is answered (404 otherwise); a request without
// "stream": true gets the whole message as JSON.
//
// Where the CPU goes (N = 1,000, 2 processes): a write per event is ~30,000 writes a process, and the kernel's
// loopback TCP work for them is about half of this process's CPU. Node's `http` module cost more than the Ruby server
// (~0.55 against ~0.37 s a process), so HTTP/1.1 is spoken directly on `net` sockets, as FakeServer's HTTPConnection:
// keep-alive (60 s idle), Content-Length or chunked bodies up to 32 MB, Expect: 100-continue, HTTP/1.0 (unframed
// stream, then close); a request that does not parse gets a 4xx/5xx and the connection is closed. Answers are rendered
// once per (turn, model), ids filled in per response.
//
//   node bench/support/agent_turn_server.js DELAY_SECONDS TOOL_TURNS     prints the base URL, serves until TERM/INT
'use strict';
const net = require('node:net');
const v8 = require('node:v8');

// No optimising compiler: in a run of N = 1,000 its compiling took a third of this process's CPU, for little gain.
v8.setFlagsFromString('--no-opt');

const MAX_BODY = 32 * 1024 * 1024;
const MAX_HEAD = 64 * 1024;
const IDLE_TIMEOUT_MS = 60 * 1000;
const FINAL_TEXT =
  'Your order has shipped with DHL Express, tracking number 1Z999AA10123456784; it should arrive on Friday.';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const REASONS = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 413: 'Payload Too Large',
                  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 501: 'Not Implemented',
                  505: 'HTTP Version Not Supported' };
const ERROR_TYPES = { 400: 'invalid_request_error', 404: 'not_found_error', 413: 'request_too_large' };
const ID = '#'.repeat(22); // stands for an id in rendered answers (22 ASCII bytes, as the ids it is replaced by)
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d\.\d)$/;

const [delayArg, toolTurnsArg] = process.argv.slice(2);
const delayMs = Number(delayArg) * 1000;
const toolTurns = Number(toolTurnsArg);
if (!(delayMs >= 0) || !Number.isInteger(toolTurns) || toolTurns < 0) {
  process.stderr.write('usage: node agent_turn_server.js DELAY_SECONDS TOOL_TURNS\n');
  process.exit(2);
}

// ---- the answers ---------------------------------------------------------------------------------------------------

// What SecureRandom.alphanumeric gives the Ruby server; ids need to be unique, not secret.
function alnum(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[(Math.random() * 62) | 0];
  return s;
}

// How many tool_result blocks the conversation carries: agent_turn_server.rb's lambda picks the turn from that.
function toolResults(body) {
  let done = 0;
  for (const m of body.messages) {
    if (m && m.role === 'user' && Array.isArray(m.content)) {
      for (const b of m.content) if (b && b.type === 'tool_result') done++;
    }
  }
  return done;
}

// The complete Anthropic message of the turn after `done` tool results.
function message(done, model, msgId, toolId) {
  const tool = done < toolTurns;
  const content = tool
    ? [{ type: 'text', text: 'Let me check that.' },
       { type: 'tool_use', id: `toolu_01${toolId}`, name: 'lookup_order', input: { order_number: `ORD-${done}` } }]
    : [{ type: 'text', text: FINAL_TEXT }];
  return { id: `msg_01${msgId}`, type: 'message', role: 'assistant', model, content,
           stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null,
           usage: { input_tokens: tool ? 900 + 100 * done : 1200, cache_creation_input_tokens: 0,
                    cache_read_input_tokens: 0, output_tokens: tool ? 40 : 30 } };
}

// FakeServer::Turn#words: one word with its trailing whitespace (Ruby's \s) per delta.
function words(str) {
  return str.match(/[^ \t\r\n\f\v]+[ \t\r\n\f\v]*|[ \t\r\n\f\v]+/g) || [];
}

// FakeServer::Turn#pieces: about 3 character-aligned pieces.
function pieces(str) {
  const chars = Array.from(str);
  const size = Math.min(Math.max(Math.ceil(chars.length / 3), 1), 256);
  const out = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}

function sse(name, data) {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

// FakeServer::Turn#events, for text and tool_use blocks.
function events(msg) {
  const out = [
    sse('message_start', { type: 'message_start', message: { ...msg, content: [], stop_reason: null,
                                                               stop_sequence: null,
                                                               usage: { ...msg.usage, output_tokens: 1 } } }),
    sse('ping', { type: 'ping' }),
  ];
  msg.content.forEach((block, index) => {
    const delta = (d) => sse('content_block_delta', { type: 'content_block_delta', index, delta: d });
    if (block.type === 'text') {
      out.push(sse('content_block_start', { type: 'content_block_start', index,
                                            content_block: { type: 'text', text: '' } }));
      for (const w of words(block.text)) out.push(delta({ type: 'text_delta', text: w }));
    } else { // tool_use: the first input_json_delta is empty, as the real API sends it
      out.push(sse('content_block_start', { type: 'content_block_start', index,
                                            content_block: { ...block, input: {} } }));
      for (const p of ['', ...pieces(JSON.stringify(block.input))]) {
        out.push(delta({ type: 'input_json_delta', partial_json: p }));
      }
    }
    out.push(sse('content_block_stop', { type: 'content_block_stop', index }));
  });
  out.push(sse('message_delta', { type: 'message_delta', usage: msg.usage,
                                  delta: { stop_reason: msg.stop_reason, stop_sequence: msg.stop_sequence } }));
  out.push(sse('message_stop', { type: 'message_stop' }));
  return out;
}

// A streamed answer, rendered once per (turn, model) with ID for the ids: its SSE events, chunk-framed too, and which
// of them hold an id (message_start, a tool_use's content_block_start). An id comes before anything a request sets
// (the model), so the first ID in an event is its id.
const rendered = new Map();
function streamed(done, model) {
  const key = `${done} ${JSON.stringify(model)}`;
  let r = rendered.get(key);
  if (!r) {
    if (rendered.size >= 1000) rendered.clear();
    const evs = events(message(done, model, ID, ID));
    r = { events: evs, framed: evs.map((e) => `${Buffer.byteLength(e).toString(16)}\r\n${e}\r\n`),
          withId: evs.flatMap((e, i) => (e.includes(ID) ? [i] : [])) };
    rendered.set(key, r);
  }
  return r;
}

// Streams being written, each one event further per turn of the event loop, so that each event leaves in a write of
// its own as from FakeServer; one setImmediate for all of them.
const streaming = new Set();
function tick() {
  for (const conn of streaming) conn.step();
  if (streaming.size) setImmediate(tick);
}

// ---- HTTP/1.1 ------------------------------------------------------------------------------------------------------

class Refused extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

function head(status, headers) {
  let s = `HTTP/1.1 ${status} ${REASONS[status]}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${s}\r\n`;
}

function requestId() {
  return `req_01${alnum(22)}`;
}

// One connection: parses requests one at a time (a pipelined one waits in `buf` until the answer before it is out).
class Connection {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.busy = false; // a request is being answered
    this.closed = false;
    this.draining = false;
    this.continued = false; // 100 Continue sent for the request being read
    this.timer = null;
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on('data', (chunk) => {
      if (this.draining) return;
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      if (!this.busy) this.next();
      else if (this.buf.length > MAX_HEAD + MAX_BODY) socket.destroy(); // pipelining without end
    });
    socket.on('error', () => {}); // resets by the client: 'close' follows
    socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.timer);
    });
  }

  // Answers the next complete request in the buffer, if there is one.
  next() {
    let req;
    try {
      req = this.parse();
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      return this.refuse(e.status, e.message);
    }
    if (!req) return;
    this.busy = true;
    this.socket.setTimeout(0);
    this.keepAlive = req.version === '1.1' ? !/(^|,)\s*close\s*(,|$)/i.test(req.headers.connection || '')
                                           : /(^|,)\s*keep-alive\s*(,|$)/i.test(req.headers.connection || '');
    this.version = req.version;
    try {
      this.handle(req);
    } catch (e) {
      process.stderr.write(`agent_turn_server.js: ${e.stack}\n`);
      this.refuse(500, `fake server: ${e.name}: ${e.message}`);
    }
  }

  // Answers with an error and closes; reads (and drops) what the client still sends for up to 2 s first, so that it
  // gets the answer rather than a reset (FakeServer's drain_and_close).
  refuse(status, text) {
    this.busy = true;
    this.draining = true;
    this.buf = Buffer.alloc(0);
    this.error(status, text, true);
    this.socket.end();
    this.timer = setTimeout(() => this.socket.destroy(), 2000);
  }

  // The answer is out: the next request on this connection, or close.
  done(reusable = true) {
    if (this.closed) return;
    if (!reusable || !this.keepAlive) return void this.socket.end();
    this.busy = false;
    this.socket.setTimeout(IDLE_TIMEOUT_MS);
    if (this.buf.length) this.next();
  }

  // A complete request ({method, target, version, headers, body}) taken from the buffer, or null (more bytes needed).
  parse() {
    let start = 0;
    while (this.buf.length >= start + 2 && this.buf[start] === 13 && this.buf[start + 1] === 10) start += 2;
    const end = this.buf.indexOf('\r\n\r\n', start, 'latin1');
    if (end < 0) {
      if (this.buf.length - start > MAX_HEAD) throw new Refused(431, 'too many header bytes');
      return null;
    }
    if (end - start > MAX_HEAD) throw new Refused(431, 'too many header bytes');
    const lines = this.buf.toString('latin1', start, end).split('\r\n');
    const m = REQUEST_LINE.exec(lines[0]);
    if (!m) throw new Refused(400, 'malformed request line');
    if (m[3] !== '1.0' && m[3] !== '1.1') throw new Refused(505, `unsupported HTTP version ${m[3]}`);
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      if (line[0] === ' ' || line[0] === '\t') throw new Refused(400, 'obsolete line folding');
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!TOKEN.test(name)) throw new Refused(400, 'malformed header');
      const key = name.toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    const bodyAt = end + 4;
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined && cl !== undefined) throw new Refused(400, 'both transfer-encoding and content-length');
    let body;
    let rest;
    if (te !== undefined) {
      if (te.trim().toLowerCase() !== 'chunked') throw new Refused(501, `unsupported transfer-encoding ${te}`);
      const got = this.chunked(bodyAt);
      if (!got) return this.continueIfExpected(headers);
      [body, rest] = got;
    } else {
      const lengths = cl === undefined ? ['0'] : [...new Set(cl.split(/\s*,\s*/))];
      if (lengths.length !== 1 || !/^\d{1,15}$/.test(lengths[0])) throw new Refused(400, 'bad content-length');
      const length = Number(lengths[0]);
      if (length > MAX_BODY) throw new Refused(413, `request body of ${length} bytes exceeds ${MAX_BODY}`);
      if (this.buf.length < bodyAt + length) return this.continueIfExpected(headers);
      body = this.buf.subarray(bodyAt, bodyAt + length);
      rest = bodyAt + length;
    }
    this.buf = this.buf.subarray(rest);
    this.continued = false;
    return { method: m[1], target: m[2], version: m[3], headers, body };
  }

  continueIfExpected(headers) {
    if (!this.continued && (headers.expect || '').toLowerCase() === '100-continue') {
      this.continued = true;
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    return null;
  }

  // A chunked body starting at `at`: [body, offset after it], or null when incomplete.
  chunked(at) {
    const parts = [];
    let size = 0;
    for (;;) {
      const eol = this.buf.indexOf('\r\n', at, 'latin1');
      if (eol < 0) return null;
      const m = /^([0-9a-fA-F]{1,15})(;.*)?$/.exec(this.buf.toString('latin1', at, eol));
      if (!m) throw new Refused(400, 'bad chunk size');
      const n = parseInt(m[1], 16);
      at = eol + 2;
      if (n === 0) {
        for (;;) { // trailers, up to an empty line
          const t = this.buf.indexOf('\r\n', at, 'latin1');
          if (t < 0) return null;
          const empty = t === at;
          at = t + 2;
          if (empty) return [Buffer.concat(parts, size), at];
        }
      }
      if (size + n > MAX_BODY) throw new Refused(413, `chunked request body exceeds ${MAX_BODY}`);
      if (this.buf.length < at + n + 2) return null;
      if (this.buf[at + n] !== 13 || this.buf[at + n + 1] !== 10) throw new Refused(400, 'missing CRLF after chunk');
      parts.push(this.buf.subarray(at, at + n));
      size += n;
      at += n + 2;
    }
  }

  handle(req) {
    const path = req.target.split('?', 1)[0];
    if (req.method !== 'POST' || path !== '/v1/messages') {
      return this.error(404, `fake server: no route for ${req.method} ${path}`, false, req.method === 'HEAD');
    }
    let body;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      body = null;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return this.error(400, 'fake server: request body must be a JSON object');
    }
    if (!Array.isArray(body.messages)) return this.error(400, 'fake server: messages must be an array');

    const done = toolResults(body);
    const model = body.model === undefined || body.model === null || body.model === false ? 'claude-fake' : body.model;
    const stream = body.stream === true;
    this.timer = setTimeout(() => {
      if (this.closed) return;
      if (stream) return this.stream(streamed(done, model));
      const json = JSON.stringify(message(done, model, alnum(22), alnum(22)));
      this.respond(200, ['content-type', 'application/json', 'request-id', requestId()], json);
      this.done();
    }, delayMs);
  }

  respond(status, headers, body, headOnly = false) {
    const h = head(status, [...headers, 'content-length', Buffer.byteLength(body)]);
    this.socket.write(headOnly ? h : h + body);
  }

  // An Anthropic error body (FakeServer#send_error); `close` adds connection: close and ends the connection after.
  error(status, text, close = false, headOnly = false) {
    const id = requestId();
    const body = JSON.stringify({ type: 'error', error: { type: ERROR_TYPES[status] || 'api_error', message: text },
                                  request_id: id });
    const headers = ['content-type', 'application/json', 'request-id', id];
    this.respond(status, close ? [...headers, 'connection', 'close'] : headers, body, headOnly);
    if (!close) this.done();
  }

  // Headers, then an event per turn of the event loop (tick), then the last chunk. HTTP/1.0 clients get the events
  // unframed, then the connection closed.
  stream(r) {
    this.framed = this.version === '1.1';
    this.chunks = (this.framed ? r.framed : r.events).slice();
    for (const i of r.withId) this.chunks[i] = this.chunks[i].replace(ID, alnum(22));
    this.sent = 0;
    this.socket.write(head(200, ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache',
                                 'request-id', requestId(),
                                 ...(this.framed ? ['transfer-encoding', 'chunked'] : ['connection', 'close'])]));
    if (streaming.size === 0) setImmediate(tick);
    streaming.add(this);
  }

  step() {
    if (this.closed || this.sent === this.chunks.length) {
      streaming.delete(this);
      this.chunks = null;
      if (this.closed) return;
      if (this.framed) this.socket.write('0\r\n\r\n');
      return this.done(this.framed);
    }
    this.socket.write(this.chunks[this.sent++]);
  }
}

const server = net.createServer((socket) => new Connection(socket));
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
  // Once listening, an error (a failed accept: out of descriptors, …) is reported and serving goes on.
  server.on('error', (e) => process.stderr.write(`agent_turn_server.js: ${e.message}\n`));
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
