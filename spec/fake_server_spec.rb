# frozen_string_literal: true

require "json"
require "net/http"
require "open3"
require "socket"
require "tmpdir"
require "fileutils"
require_relative "../lib/ruby_llm/agent_sdk/testing"

RSpec.describe RubyLLM::AgentSDK::Testing::FakeServer do
  let(:turns) { [] }
  let(:options) { {} }
  let(:server) { described_class.new(turns, **options).start }
  let(:uri) { URI(server.base_url) }

  after { server.stop }

  def post(path, body, headers: {}, http: nil)
    req = Net::HTTP::Post.new(path, { "content-type" => "application/json", "x-api-key" => "sk-secret",
                                      "anthropic-version" => "2023-06-01" }.merge(headers))
    req.body = body.is_a?(String) ? body : JSON.generate(body)
    return http.request(req) if http

    Net::HTTP.start(uri.host, uri.port, read_timeout: 5) { |h| h.request(req) }
  end

  def connection_error
    raise_error { |e| expect(e).to be_a(EOFError).or be_a(Errno::ECONNRESET) }
  end

  def messages_body(stream: true, **extra)
    { model: "claude-sonnet-4-5", max_tokens: 1024, stream: stream,
      messages: [{ role: "user", content: "hello" }] }.merge(extra)
  end

  # Minimal SSE parser: [[event, data], ...]; data is parsed JSON unless it is [DONE].
  def sse(body)
    body.split(/\n\n/).reject(&:empty?).map do |frame|
      fields = frame.lines.map(&:chomp).to_h { |l| l.split(": ", 2) }
      expect(fields.keys - %w[event data]).to be_empty
      data = fields.fetch("data")
      [fields["event"], data == "[DONE]" ? data : JSON.parse(data)]
    end
  end

  # Rebuilds the content blocks from a Messages API event stream, checking block bookkeeping as it goes.
  def reassemble(events)
    blocks = []
    events.each do |name, data|
      expect(data["type"]).to eq(name)
      case name
      when "content_block_start"
        expect(data["index"]).to eq(blocks.size)
        blocks << data["content_block"].merge("_json" => +"", "_deltas" => [])
      when "content_block_delta"
        block = blocks.fetch(data["index"])
        delta = data["delta"]
        block["_deltas"] << delta
        case delta["type"]
        when "text_delta" then block["text"] << delta["text"]
        when "thinking_delta" then block["thinking"] << delta["thinking"]
        when "signature_delta" then block["signature"] = delta["signature"]
        when "input_json_delta" then block["_json"] << delta["partial_json"]
        else raise "unexpected delta #{delta}"
        end
      when "content_block_stop"
        block = blocks.fetch(data["index"])
        block["input"] = JSON.parse(block["_json"]) if block["type"] == "tool_use"
      end
    end
    blocks
  end

  describe "streaming Messages API" do
    let(:turns) do
      [{ thinking: "let me think", texts: ["Hello there, this is a longer text.", "Second block ✓ ünïcödé"],
         tool_uses: [{ name: "Glob", input: { "pattern" => "*.txt" }, id: "toolu_given" },
                     { name: "Read", input: { "file_path" => "/tmp/a b.txt", "limit" => 10 } }],
         usage: { input_tokens: 100, output_tokens: 42, cache_read_input_tokens: 7 } }]
    end

    it "sends well-formed events in the documented order over chunked HTTP/1.1" do
      res = post("/v1/messages?beta=true", messages_body)
      expect(res.code).to eq("200")
      expect(res["content-type"]).to start_with("text/event-stream")
      expect(res["transfer-encoding"]).to eq("chunked")
      expect(res.body).to match(/\Aevent: message_start\ndata: .+\n\n/)

      events = sse(res.body)
      names = events.map(&:first)
      expect(names.first(2)).to eq(%w[message_start ping])
      expect(names.last(2)).to eq(%w[message_delta message_stop])
      expect(names.count("content_block_start")).to eq(5)
      expect(names.count("content_block_stop")).to eq(5)

      start = events.first[1]["message"]
      expect(start).to include("role" => "assistant", "content" => [], "stop_reason" => nil,
                               "model" => "claude-sonnet-4-5")
      expect(start["usage"]).to include("input_tokens" => 100, "cache_read_input_tokens" => 7)

      delta = events[-2][1]
      expect(delta["delta"]).to eq("stop_reason" => "tool_use", "stop_sequence" => nil)
      expect(delta["usage"]).to eq("input_tokens" => 100, "output_tokens" => 42, "cache_creation_input_tokens" => 0,
                                   "cache_read_input_tokens" => 7)

      blocks = reassemble(events)
      expect(blocks.map { |b| b["type"] }).to eq(%w[thinking text text tool_use tool_use])
      expect(blocks[0]["thinking"]).to eq("let me think")
      expect(blocks[0]["signature"]).to be_a(String).and(satisfy { |s| !s.empty? })
      expect(blocks[0]["_deltas"].last["type"]).to eq("signature_delta")
      expect(blocks[1]["text"]).to eq("Hello there, this is a longer text.")
      expect(blocks[1]["_deltas"].size).to be > 1
      expect(blocks[2]["text"]).to eq("Second block ✓ ünïcödé")
      expect(blocks[3]).to include("id" => "toolu_given", "name" => "Glob", "input" => { "pattern" => "*.txt" })
      expect(blocks[4]["id"]).to match(/\Atoolu_\w{20,}\z/)
      expect(blocks[4]["input"]).to eq("file_path" => "/tmp/a b.txt", "limit" => 10)
      [blocks[3], blocks[4]].each do |tool|
        fragments = tool["_deltas"].map { |d| d["partial_json"] }
        expect(fragments.first).to eq("")
        expect(fragments.size).to be > 2
      end
    end

    it "defaults usage from sizes and stop_reason from the content" do
      server.script([{ text: "hi" }])
      events = sse(post("/v1/messages", messages_body).body)
      usage = events.find { |n, _| n == "message_delta" }[1]["usage"]
      expect(usage["input_tokens"]).to be >= 10
      expect(usage["output_tokens"]).to be >= 1
      expect(events.find { |n, _| n == "message_delta" }[1]["delta"]["stop_reason"]).to eq("end_turn")
    end
  end

  it "answers non-streaming requests (stream false or absent) with one JSON message and a Content-Length" do
    server.script([{ text: "plain", model: "claude-x" }, { tool_use: { name: "Bash", input: { "command" => "ls" } } }])
    res = post("/v1/messages", messages_body(stream: false))
    expect(res["content-length"].to_i).to eq(res.body.bytesize)
    msg = JSON.parse(res.body)
    expect(msg).to include("type" => "message", "role" => "assistant", "model" => "claude-x",
                           "stop_reason" => "end_turn", "content" => [{ "type" => "text", "text" => "plain" }])
    expect(msg["id"]).to start_with("msg_")

    msg = JSON.parse(post("/v1/messages", messages_body.except(:stream)).body)
    expect(msg["stop_reason"]).to eq("tool_use")
    expect(msg["content"].first).to include("type" => "tool_use", "name" => "Bash", "input" => { "command" => "ls" })
  end

  it "estimates tokens on /v1/messages/count_tokens without consuming a turn" do
    server.script([{ text: "kept" }])
    res = post("/v1/messages/count_tokens", messages_body.except(:stream, :max_tokens))
    expect(JSON.parse(res.body)["input_tokens"]).to be_a(Integer).and(be > 0)
    expect(server.pending_turns).to eq(1)
  end

  describe "errors" do
    {
      400 => "invalid_request_error", 401 => "authentication_error", 403 => "permission_error",
      404 => "not_found_error", 413 => "request_too_large", 429 => "rate_limit_error", 500 => "api_error",
      529 => "overloaded_error"
    }.each do |status, type|
      it "answers a scripted #{status} with an Anthropic error body of type #{type}" do
        server.script([{ status: status }, { text: "after" }])
        res = post("/v1/messages", messages_body)
        expect(res.code).to eq(status.to_s)
        body = JSON.parse(res.body)
        expect(body).to include("type" => "error", "error" => include("type" => type))
        expect(body["request_id"]).to eq(res["request-id"])
        expect(sse(post("/v1/messages", messages_body).body).size).to be > 3 # the next turn is served normally
      end
    end

    it "passes custom error types, messages and headers through" do
      server.script([{ status: 429, error: { message: "slow down" },
                       headers: { "retry-after" => "1", "x-should-retry" => "true" } },
                     { status: 529, error: { type: "overloaded_error", message: "busy" },
                       headers: { "x-should-retry" => "false", "retry-after-ms" => "250" } }])
      res = post("/v1/messages", messages_body)
      expect(res["retry-after"]).to eq("1")
      expect(res["x-should-retry"]).to eq("true")
      expect(JSON.parse(res.body)["error"]).to eq("type" => "rate_limit_error", "message" => "slow down")
      res = post("/v1/messages", messages_body)
      expect([res.code, res["x-should-retry"], res["retry-after-ms"]]).to eq(%w[529 false 250])
      expect(JSON.parse(res.body)["error"]["message"]).to eq("busy")
    end

    it "answers unknown paths with 404, wrong methods with 405 and bad JSON with 400" do
      res = post("/v2/nothing", messages_body)
      expect([res.code, JSON.parse(res.body)["error"]["type"]]).to eq(%w[404 not_found_error])
      res = Net::HTTP.get_response(URI("#{server.base_url}/v1/messages"))
      expect(res.code).to eq("405")
      res = post("/v1/messages", "{not json")
      expect([res.code, JSON.parse(res.body)["error"]["type"]]).to eq(%w[400 invalid_request_error])
      expect(post("/v1/messages", "[1]").code).to eq("400")
    end

    context "with a small body limit" do
      let(:options) { { max_body: 1000 } }

      it "rejects bodies over the limit with 413 (also without reading them after Expect: 100-continue)" do
        res = post("/v1/messages", messages_body(padding: "x" * 2000))
        expect([res.code, JSON.parse(res.body)["error"]["type"]]).to eq(%w[413 request_too_large])

        sock = TCPSocket.new(uri.host, uri.port)
        sock.write("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\nExpect: 100-continue\r\n\r\n")
        expect(sock.readpartial(4096)).to start_with("HTTP/1.1 413 ")
        sock.close
        expect(server.pending_turns).to eq(0)
        expect(server.requests).to be_empty
      end
    end
  end

  describe "faults" do
    it "reset_before_headers closes the connection without an answer" do
      server.script([{ fault: :reset_before_headers }, { text: "next" }])
      expect { post("/v1/messages", messages_body) }.to connection_error
      expect(server.agent_requests.size).to eq(1)
      expect(post("/v1/messages", messages_body).code).to eq("200")
    end

    it "reset_mid_stream sends some events, then drops the connection without finishing the chunked body" do
      server.script([{ text: "a fairly long answer that gets cut", fault: "reset_mid_stream", fault_after: 3 }])
      received = +""
      expect do
        Net::HTTP.start(uri.host, uri.port) do |http|
          req = Net::HTTP::Post.new("/v1/messages", "content-type" => "application/json")
          req.body = JSON.generate(messages_body)
          http.request(req) { |res| res.read_body { |chunk| received << chunk } }
        end
      end.to connection_error
      expect(sse(received).map(&:first)).to eq(%w[message_start ping content_block_start])
    end

    it "raw sends the given bytes as they are, with the given status and headers, as a chunked body" do
      server.script([{ raw: ["data: {not json\n\n", "caf\xC3\x28".b], status: 201, headers: { "x-extra" => "1" } },
                     { raw: "<html/>", headers: { "content-type" => "text/html" } }])
      res = post("/v1/messages", messages_body)
      expect([res.code, res["content-type"], res["x-extra"], res["transfer-encoding"]])
        .to eq(["201", "text/event-stream", "1", "chunked"])
      expect(res.body.b).to eq("data: {not json\n\ncaf\xC3\x28".b)
      res = post("/v1/messages", messages_body)
      expect([res.code, res["content-type"], res.body]).to eq(["200", "text/html", "<html/>"])
      expect { server.script([{ raw: [1] }]) }.to raise_error(ArgumentError, /raw:/)
      expect { server.script([{ raw: "x", fault: :stall }]) }.to raise_error(ArgumentError, /raw:/)
    end

    it "error_event answers 200, then an SSE error event, then ends the stream cleanly" do
      server.script([{ text: "partial", fault: :error_event },
                     { text: "x", fault: :error_event, error: { type: "api_error", message: "boom" } }])
      events = sse(post("/v1/messages", messages_body).body)
      expect(events.first.first).to eq("message_start")
      expect(events.last).to eq(["error", { "type" => "error",
                                            "error" => { "type" => "overloaded_error", "message" => "Overloaded" } }])
      expect(events.map(&:first)).not_to include("message_stop")
      expect(sse(post("/v1/messages", messages_body).body).last[1]["error"]["message"]).to eq("boom")
    end

    it "stall sends the headers and then nothing until the server stops, and stop does not hang" do
      server.script([{ fault: :stall }])
      headers_at = nil
      client = Thread.new do
        Net::HTTP.start(uri.host, uri.port, read_timeout: 10) do |http|
          req = Net::HTTP::Post.new("/v1/messages", "content-type" => "application/json")
          req.body = JSON.generate(messages_body)
          http.request(req) do |res|
            headers_at = res.code
            res.read_body { |chunk| raise "unexpected data #{chunk.inspect}" }
          end
        end
      rescue EOFError, IOError, SystemCallError => e
        e
      end
      server.wait_for_requests(1)
      sleep 0.3
      expect(headers_at).to eq("200")
      expect(client).to be_alive
      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      server.stop
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0).to be < 1
      expect(client.join(2).value).to be_a(Exception)
    end

    it "stop closes idle keep-alive connections and kills a stuck Proc turn within about a second" do
      server.script([->(_req) { sleep 30 }])
      idle = TCPSocket.new(uri.host, uri.port)
      stuck = Thread.new do
        post("/v1/messages", messages_body)
      rescue EOFError, SystemCallError => e
        e
      end
      server.wait_for_requests(1)
      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      server.stop
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0).to be < 1.5
      expect(idle.read).to eq("")
      expect(stuck.join(2).value).to be_a(Exception)
      expect(server).not_to be_running
    ensure
      idle&.close
    end

    it "delay holds the response headers and chunk_delay spaces the events" do
      server.script([{ text: "abc def ghi", delay: 0.3 }, { text: "abc def ghi", chunk_delay: 0.05 }])
      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      post("/v1/messages", messages_body)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0).to be_between(0.3, 2)

      stamps = []
      Net::HTTP.start(uri.host, uri.port) do |http|
        req = Net::HTTP::Post.new("/v1/messages", "content-type" => "application/json")
        req.body = JSON.generate(messages_body)
        http.request(req) { |res| res.read_body { |_| stamps << Process.clock_gettime(Process::CLOCK_MONOTONIC) } }
      end
      expect(stamps.size).to be > 5
      expect(stamps.last - stamps.first).to be >= 0.05 * (stamps.size - 2)
    end
  end

  it "burst: the same events, the whole stream (chunk framing included) written at once" do
    turn = { text: "one two three", tool_use: { name: "lookup", input: { id: 7 } } }
    server.script([turn, turn.merge(burst: true)])
    plain, burst = Array.new(2) { post("/v1/messages", messages_body).body }
    expect(sse(burst).map(&:first)).to eq(sse(plain).map(&:first))
    without_ids = ->(body) { reassemble(sse(body)).map { |b| b.except("id") } }
    expect(without_ids.(burst)).to eq(without_ids.(plain))

    server.script([turn.merge(burst: true)])
    body = JSON.generate(messages_body)
    sock = TCPSocket.new(uri.host, uri.port)
    sock.write("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: #{body.bytesize}\r\n\r\n#{body}")
    raw = +""
    raw << sock.readpartial(65_536) until raw.include?("\r\n\r\n")
    head, rest = raw.split("\r\n\r\n", 2)
    expect(head).to include("transfer-encoding: chunked")
    sleep 0.2 # everything the server wrote is in the socket buffer by now
    rest << sock.read_nonblock(65_536) if sock.wait_readable(0)
    expect(rest).to end_with("0\r\n\r\n")
    expect(rest.scan(/\r\nevent: /).size).to eq(sse(plain).size) # one chunk per event, as without burst
  ensure
    sock&.close
  end

  it "rejects burst with chunk_delay or a fault" do
    expect { server.script([{ text: "x", burst: true, chunk_delay: 0.1 }]) }.to raise_error(ArgumentError, /burst/)
  end

  it "keeps the connection alive: two requests on one connection" do
    server.script([{ text: "one" }, { text: "two" }])
    texts = Net::HTTP.start(uri.host, uri.port) do |http|
      [post("/v1/messages", messages_body, http: http), post("/v1/messages", messages_body(stream: false), http: http)]
    end
    expect(reassemble(sse(texts[0].body)).first["text"]).to eq("one")
    expect(JSON.parse(texts[1].body)["content"][0]["text"]).to eq("two")
    expect(server.requests.map(&:connection_id).uniq.size).to eq(1)
  end

  it "speaks strict HTTP/1.1 on a raw socket: chunked request bodies, 100-continue, pipelining, Connection: close" do
    server.script([{ text: "first" }, { text: "second" }])
    body = JSON.generate(messages_body(stream: false))
    sock = TCPSocket.new(uri.host, uri.port)
    sock.write("POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
    expect(sock.readpartial(100)).to eq("HTTP/1.1 100 Continue\r\n\r\n")
    sock.write("#{(body.bytesize - 5).to_s(16)}\r\n#{body[0...-5]}\r\n5\r\n#{body[-5..]}\r\n0\r\n\r\n")
    sock.write("POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" \
               "Content-Length: #{body.bytesize}\r\n\r\n#{body}")
    raw = sock.read # server closes after the second answer
    sock.close
    answers = raw.split(%r{(?=HTTP/1\.1 )})
    expect(answers.size).to eq(2)
    expect(answers.map { |a| JSON.parse(a.split("\r\n\r\n", 2)[1])["content"][0]["text"] }).to eq(%w[first second])
  end

  it "streams to HTTP/1.0 clients without chunked encoding and closes the connection to end the body" do
    server.script([{ text: "old client" }])
    sock = TCPSocket.new(uri.host, uri.port)
    body = JSON.generate(messages_body)
    sock.write("POST /v1/messages HTTP/1.0\r\nContent-Length: #{body.bytesize}\r\n\r\n#{body}")
    head, payload = sock.read.split("\r\n\r\n", 2)
    sock.close
    expect(head).not_to match(/transfer-encoding/i)
    expect(reassemble(sse(payload)).first["text"]).to eq("old client")
  end

  it "calls Proc turns with the recorded request" do
    server.script([->(req) { { text: "you said #{req.body['messages'].last['content']} to #{req.body['model']}" } }])
    msg = JSON.parse(post("/v1/messages", messages_body(stream: false)).body)
    expect(msg["content"][0]["text"]).to eq("you said hello to claude-sonnet-4-5")
  end

  it "answers with the default turn once the script is exhausted; enqueue appends" do
    server.script([{ text: "only" }])
    texts = Array.new(2) { JSON.parse(post("/v1/messages", messages_body(stream: false)).body)["content"][0]["text"] }
    expect(texts).to eq(["only", "(fake server: no scripted turn left)"])
    server.enqueue({ text: "more" })
    expect(JSON.parse(post("/v1/messages", messages_body(stream: false)).body)["content"][0]["text"]).to eq("more")
  end

  context "with a custom default" do
    let(:options) { { default: { status: 500 } } }

    it "uses it" do
      expect(post("/v1/messages", messages_body).code).to eq("500")
    end
  end

  describe "agent-loop vs side requests" do
    let(:cli) { { "user-agent" => "claude-cli/2.1.197 (external, sdk-cli)" } }
    let(:turns) { [{ text: "turn 1" }, { text: "turn 2" }] }
    let(:main_loop) { messages_body(tools: [{ name: "Glob", input_schema: { type: "object" } }], stream: false) }
    let(:title_query) do
      messages_body(stream: false, tools: [], thinking: { type: "disabled" },
                    output_config: { format: { type: "json_schema",
                                               schema: { type: "object", properties: { title: { type: "string" } },
                                                         required: ["title"] } } })
    end

    def text_of(res)
      JSON.parse(res.body)["content"][0]["text"]
    end

    it "does not consume turns for the CLI's side queries and answers them with schema-shaped text" do
      expect(text_of(post("/v1/messages", title_query, headers: cli))).to eq('{"title":"OK"}')
      expect(text_of(post("/v1/messages", messages_body(stream: false, tools: []), headers: cli))).to eq("OK")
      expect(text_of(post("/v1/messages", main_loop, headers: cli))).to eq("turn 1")
      expect(server.requests.map(&:agent_turn)).to eq([false, false, true])
      expect(server.agent_requests.size).to eq(1)
    end

    it "counts the CLI main loop without tools by its thinking/context markers, and any non-CLI request" do
      no_tools = messages_body(stream: false, tools: [], thinking: { type: "disabled" },
                               messages: [{ role: "user", content: [{ type: "text", text: "<system-reminder>\nctx" },
                                                                    { type: "text", text: "hi" }] }])
      expect(text_of(post("/v1/messages", no_tools, headers: cli))).to eq("turn 1")
      expect(text_of(post("/v1/messages", messages_body(stream: false)))).to eq("turn 2")
    end

    context "with agent_request overridden" do
      let(:options) { { agent_request: ->(req) { req.body["max_tokens"] > 1 } } }

      it "uses the given rule" do
        expect(text_of(post("/v1/messages", messages_body(stream: false, max_tokens: 1)))).to eq("OK")
        expect(text_of(post("/v1/messages", messages_body(stream: false)))).to eq("turn 1")
      end
    end
  end

  it "records requests thread-safely with secrets redacted" do
    server.script(Array.new(8) { |i| { text: "t#{i}" } })
    auth = { "authorization" => "Bearer tok-xyz" }
    Array.new(8) { Thread.new { post("/v1/messages", messages_body, headers: auth) } }.each(&:join)
    reqs = server.wait_for_requests(8, agent: true)
    expect(reqs.size).to eq(8)
    reqs.each do |r|
      expect(r.headers).to include("x-api-key" => "[REDACTED]", "authorization" => "[REDACTED]",
                                   "anthropic-version" => "2023-06-01")
      expect(r).to have_attributes(method: "POST", path: "/v1/messages", agent_turn: true)
      expect(r.body["model"]).to eq("claude-sonnet-4-5")
    end
    expect(reqs.map(&:to_h).to_s).not_to include("sk-secret", "tok-xyz")
    expect { server.wait_for_requests(9, timeout: 0.1) }.to raise_error(described_class::WaitTimeout, /got 8/)
    expect(server.wait_for_requests(1) { |r| r.headers["authorization"] }.size).to eq(8)
  end

  it "rejects malformed turns early" do
    expect { server.script([{ txt: "typo" }]) }.to raise_error(ArgumentError, /txt/)
    expect { server.enqueue({ fault: :explode }) }.to raise_error(ArgumentError, /explode/)
    expect { server.enqueue({ tool_use: { input: {} } }) }.to raise_error(ArgumentError, /name/)
  end

  describe "OpenAI-compatible chat completions" do
    let(:turns) do
      [{ text: "Hello from the fake", tool_uses: [{ name: "get_weather", input: { "city" => "Paris" } },
                                                   { name: "get_time", input: { "tz" => "CET" } }],
         usage: { input_tokens: 11, output_tokens: 5, cache_read_input_tokens: 3 } },
       { text: "plain" }]
    end
    let(:body) { { model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true }, messages: [] } }

    it "streams chunks that reassemble to the script, then a usage chunk and [DONE]" do
      events = sse(post("/v1/chat/completions", body).body)
      expect(events.map(&:first).uniq).to eq([nil])
      chunks = events.map(&:last)
      expect(chunks.last).to eq("[DONE]")
      usage = chunks[-2]
      expect(usage["choices"]).to eq([])
      expect(usage["usage"]).to include("prompt_tokens" => 14, "completion_tokens" => 5, "total_tokens" => 19)

      text = +""
      calls = {}
      finish = nil
      chunks[0...-2].each do |c|
        expect(c).to include("object" => "chat.completion.chunk", "model" => "gpt-4o-mini")
        choice = c["choices"].fetch(0)
        finish ||= choice["finish_reason"]
        text << choice["delta"]["content"].to_s
        Array(choice["delta"]["tool_calls"]).each do |tc|
          call = calls[tc["index"]] ||= { "arguments" => +"" }
          call["id"] ||= tc["id"]
          call["name"] ||= tc.dig("function", "name")
          call["arguments"] << tc.dig("function", "arguments").to_s
        end
      end
      expect(text).to eq("Hello from the fake")
      expect(finish).to eq("tool_calls")
      expect(calls.values.map { |c| [c["name"], JSON.parse(c["arguments"])] })
        .to eq([["get_weather", { "city" => "Paris" }], ["get_time", { "tz" => "CET" }]])
      expect(calls.values.map { |c| c["id"] }).to all(be_a(String))
    end

    it "answers non-streaming requests and errors in OpenAI shape" do
      post("/v1/chat/completions", body) # consume the tool turn
      res = JSON.parse(post("/chat/completions", body.merge(stream: false)).body)
      expect(res["choices"][0]).to include("finish_reason" => "stop",
                                           "message" => { "role" => "assistant", "content" => "plain" })
      server.script([{ status: 429 }])
      res = post("/v1/chat/completions", body)
      expect([res.code, JSON.parse(res.body)["error"]["type"]]).to eq(%w[429 rate_limit_error])
    end
  end

  # The real Claude Code CLI, offline, against the fake server (set CLAUDE_CLI to point at another install).
  describe "with the real claude CLI" do
    let(:cli) { RealCLI.path }
    let(:turns) { [{ tool_use: { name: "Glob", input: { pattern: "*.txt" } } }, { text: "found them" }] }
    let(:home) { Dir.mktmpdir("fake-server-home") }
    let(:cwd) { Dir.mktmpdir("fake-server-cwd") }
    let(:needle) { "needle-#{Process.pid}-#{rand(10_000)}.txt" }
    let(:env) do
      { "ANTHROPIC_BASE_URL" => server.base_url, "ANTHROPIC_API_KEY" => "sk-ant-test-not-a-real-key", "HOME" => home,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" => "1",
        # never let a developer's real credentials or provider settings leak into the offline run
        "ANTHROPIC_AUTH_TOKEN" => nil, "CLAUDE_CODE_OAUTH_TOKEN" => nil, "ANTHROPIC_MODEL" => nil,
        "CLAUDE_CODE_USE_BEDROCK" => nil, "CLAUDE_CODE_USE_VERTEX" => nil }
    end

    before do
      skip(RealCLI.skip_reason) if RealCLI.skip_reason # fails instead under AGENT_SDK_REQUIRE_CLI=1 (bin/test)
      File.write(File.join(cwd, needle), "hay")
    end

    after { FileUtils.rm_rf([home, cwd]) }

    # Runs the CLI with a deadline; stdin_lines are written one per line (then stdin stays open until close_after
    # says so for a parsed stdout message). Returns the parsed stdout messages.
    def run_cli(args, env:, stdin_lines: nil, close_after: nil, deadline: 60)
      messages = []
      Open3.popen3(env, cli, *args, chdir: cwd) do |stdin, stdout, stderr, wait|
        err = Thread.new { stderr.read }
        stdin_lines ? stdin_lines.each { |l| stdin.puts(JSON.generate(l)) } : stdin.close
        reader = Thread.new do
          stdout.each_line do |line|
            messages << JSON.parse(line)
            stdin.close if close_after&.call(messages.last) && !stdin.closed?
          end
        end
        unless wait.join(deadline)
          Process.kill("KILL", wait.pid)
          raise "claude did not finish in #{deadline}s; stderr: #{err.value}"
        end
        reader.join
        expect(wait.value).to be_success, "claude failed: #{err.value}"
      end
      messages
    end

    def check_glob_run(messages)
      tool_use = messages.select { |m| m["type"] == "assistant" }.flat_map { |m| m["message"]["content"] }
                         .find { |b| b["type"] == "tool_use" }
      expect(tool_use).to include("name" => "Glob", "input" => { "pattern" => "*.txt" })
      result = messages.select { |m| m["type"] == "user" }.flat_map { |m| Array(m["message"]["content"]) }
                       .find { |b| b.is_a?(Hash) && b["type"] == "tool_result" }
      expect(result["tool_use_id"]).to eq(tool_use["id"])
      expect(result["content"].to_s).to include(needle)
      expect(messages.last).to include("type" => "result", "subtype" => "success", "is_error" => false,
                                       "result" => "found them", "num_turns" => 2)

      first, second = server.agent_requests
      expect(server.agent_requests.size).to eq(2)
      expect(first.body["tools"].map { |t| t["name"] }).to include("Glob")
      sent = second.body["messages"].flat_map { |m| Array(m["content"]) }.select { |b| b.is_a?(Hash) }
      expect(sent.find { |b| b["type"] == "tool_result" }).to include("tool_use_id" => tool_use["id"])
      expect(second.headers["x-api-key"]).to eq("[REDACTED]")
    end

    it "runs a Glob tool round trip in -p mode: two agent-loop requests, the second with the tool result" do
      messages = run_cli(["-p", "list the txt files", "--output-format", "stream-json", "--verbose",
                          "--allowedTools", "Glob"], env: env)
      check_glob_run(messages)
    end

    def wait_for_side_request
      server.wait_for_requests(1, timeout: 3) { |r| r.path == "/v1/messages" && !r.agent_turn }
    rescue described_class::WaitTimeout
      true # asserted below, with the requests that did arrive
    end

    it "keeps side requests (session title generation) from consuming turns in stream-json input mode" do
      messages = run_cli(["--output-format", "stream-json", "--verbose", "--input-format", "stream-json",
                          "--allowedTools", "Glob", "--system-prompt", ""],
                         env: env.merge("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" => nil),
                         stdin_lines: [{ type: "control_request", request_id: "req_1_probe",
                                         request: { subtype: "initialize" } },
                                       { type: "user", session_id: "", parent_tool_use_id: nil,
                                         message: { role: "user", content: "list the txt files" } }],
                         close_after: ->(m) { m["type"] == "result" && wait_for_side_request })
      check_glob_run(messages)
      side = server.requests.select { |r| r.path == "/v1/messages" && !r.agent_turn }
      expect(side).not_to be_empty
      expect(side.map { |r| r.body["tools"] }).to all(satisfy { |t| t.nil? || t.empty? })
    end
  end

  it "serves as its own process via bin/fake-model-server" do
    script = File.join(Dir.tmpdir, "fake-script-#{Process.pid}.json")
    File.write(script, JSON.generate(turns: [{ text: "from file" }], default: { text: "file default" }))
    bin = File.expand_path("../bin/fake-model-server", __dir__)
    Open3.popen2(RbConfig.ruby, bin, "--port", "0", "--script", script) do |_stdin, stdout, wait|
      base = URI(stdout.gets.chomp)
      texts = Net::HTTP.start(base.host, base.port) do |http|
        Array.new(2) do
          req = Net::HTTP::Post.new("/v1/messages", "content-type" => "application/json")
          req.body = JSON.generate(messages_body(stream: false))
          JSON.parse(http.request(req).body)["content"][0]["text"]
        end
      end
      expect(texts).to eq(["from file", "file default"])
      Process.kill("TERM", wait.pid)
      expect(wait.join(5)&.value).to be_success
    end
  ensure
    File.delete(script) if script && File.exist?(script)
  end
end
