# frozen_string_literal: true

require "json"
require "net/http"
require "ruby_llm/agent_sdk/testing"
require_relative "support/splits"

# Streams recorded once (on first use) from the project's fake Messages API, which sends Anthropic SSE and OpenAI
# chunks as the real APIs do.
module AssemblerFixtures
  LONG_NOTE = ("naïve café ✓ 🙂 \"quoted\" back\\slash\n" * 40).freeze
  TOOL_TURN = {
    text: "I'll look at the files first.",
    tool_uses: [
      { id: "toolu_read", name: "Read", input: { file_path: "/app/models/user.rb", note: LONG_NOTE } },
      { id: "toolu_grep", name: "Grep", input: { pattern: "def \\w+", path: "/app", limits: [1, 2.5, -3e2, nil, true] } },
      { id: "toolu_glob", name: "Glob", input: {} }
    ],
    usage: { input_tokens: 1200, output_tokens: 345, cache_creation_input_tokens: 100, cache_read_input_tokens: 800 }
  }.freeze
  TEXT_TURN = { text: "Hello there, this streams one word at a time. " * 20 }.freeze
  THINKING_TURN = { thinking: "Let me weigh the options carefully. " * 10, text: "Option B." }.freeze
  ERROR_TURN = { text: "This answer will be cut off by an overloaded error.", fault: :error_event, fault_after: 6 }.freeze

  def self.post(srv, path, body)
    uri = URI("#{srv.base_url}#{path}")
    Net::HTTP.start(uri.host, uri.port) do |http|
      req = Net::HTTP::Post.new(uri.path, "content-type" => "application/json")
      req.body = JSON.generate(body)
      out = +""
      http.request(req) { |res| res.read_body { |c| out << c } }
      out.b
    end
  end

  def self.recorded
    @recorded ||= begin
      names = %i[tool text thinking error tool_body chat_tool chat_error chat_body messages_529 chat_429]
      turns = [TOOL_TURN, TEXT_TURN, THINKING_TURN, ERROR_TURN, TOOL_TURN, TOOL_TURN, ERROR_TURN, TOOL_TURN,
               { status: 529 }, { status: 429, error: { message: "slow down" } }]
      RubyLLM::AgentSDK::Testing::FakeServer.open(turns) do |srv|
        names.to_h do |name|
          chat = name.to_s.start_with?("chat")
          stream = !name.to_s.end_with?("body") && !name.to_s.match?(/\d/)
          body = { model: chat ? "gpt-4o" : "claude-sonnet-4-5", max_tokens: 1000, stream: stream,
                   messages: [{ role: "user", content: "hi" }] }
          [name, post(srv, chat ? "/v1/chat/completions" : "/v1/messages", body)]
        end
      end
    end.freeze
  end

  # Inside the module, so that its constants resolve in the examples.
  RSpec.describe RubyLLM::AgentSDK::Native::StreamAssembler do
    include Splits

    def recorded = AssemblerFixtures.recorded

    let(:decode_error) { RubyLLM::AgentSDK::JSONDecodeError }

    # The turn, the text deltas and the error a stream gives when fed as `chunks`.
    def assemble(provider, chunks, **opts)
      asm = described_class.new(provider, **opts)
      texts = []
      error = nil
      begin
        chunks.each { |c| asm.feed(c) { |t| texts << t } }
        asm.finish
      rescue RubyLLM::AgentSDK::JSONDecodeError => e
        error = e.message
      end
      { turn: asm.turn, texts: texts, error: error }
    end

    def assemble_every_way(provider, input, bytewise: true, **opts)
      every_split(input.b, bytewise: bytewise) { |chunks| assemble(provider, chunks, **opts) }
    end

    def sse(name, data)
      "event: #{name}\ndata: #{data.is_a?(String) ? data : JSON.generate(data)}\n\n"
    end

    def chunk(data)
      "data: #{data.is_a?(String) ? data : JSON.generate(data)}\n\n"
    end

    def usage(input = 0, output = 0, creation = 0, read = 0)
      { "input_tokens" => input, "output_tokens" => output, "cache_creation_input_tokens" => creation,
        "cache_read_input_tokens" => read }
    end

    def stringify(obj) = JSON.parse(JSON.generate(obj))

    describe ":anthropic streams" do
      it "assembles text, several tool_uses from many fragments (the first empty), and the usage" do
        input = recorded[:tool]
        fragments = input.scan(/"partial_json":"((?:[^"\\]|\\.)*)"/).flatten
        expect(fragments.size).to be > 10
        expect(input).to include(%("index":1,"delta":{"type":"input_json_delta","partial_json":""}))
        r = assemble_every_way(:anthropic, input)
        turn = r[:turn]
        expect(r[:error]).to be_nil
        expect(turn["id"]).to match(/\Amsg_/)
        expect(turn["model"]).to eq("claude-sonnet-4-5")
        expect(turn["content"]).to eq([{ "type" => "text", "text" => TOOL_TURN[:text] }] +
                                      TOOL_TURN[:tool_uses].map { |t| { "type" => "tool_use", **stringify(t) } })
        expect(turn["stop_reason"]).to eq("tool_use")
        expect(turn["usage"]).to eq(usage(1200, 345, 100, 800))
        expect(turn["complete"]).to be(true)
        expect(turn["error"]).to be_nil
        expect(r[:texts].join).to eq(TOOL_TURN[:text])
      end

      it "yields text deltas as they come" do
        r = assemble_every_way(:anthropic, recorded[:text])
        expect(r[:texts].size).to eq(TEXT_TURN[:text].split.size)
        expect(r[:texts].join).to eq(TEXT_TURN[:text])
        expect(r[:turn]["content"]).to eq([{ "type" => "text", "text" => TEXT_TURN[:text] }])
        expect(r[:turn]["stop_reason"]).to eq("end_turn")
      end

      it "assembles thinking with its signature" do
        r = assemble_every_way(:anthropic, recorded[:thinking])
        thinking, text = r[:turn]["content"]
        expect(thinking).to match("type" => "thinking", "thinking" => THINKING_TURN[:thinking],
                                  "signature" => a_string_matching(/\A[A-Za-z0-9+\/=]{20,}\z/))
        expect(text).to eq("type" => "text", "text" => "Option B.")
        expect(r[:texts].join).to eq("Option B.") # thinking is not text
      end

      it "records an error event that arrives after a 200" do
        r = assemble_every_way(:anthropic, recorded[:error])
        expect(r[:error]).to be_nil
        expect(r[:turn]["error"]).to eq("type" => "overloaded_error", "message" => "Overloaded")
        expect(r[:turn]["complete"]).to be(false)
        expect(r[:texts]).not_to be_empty
      end

      it "takes an error event whose data is not JSON as the error text, and ignores blank data" do
        r = assemble_every_way(:anthropic, "data:  \n\nevent: error\ndata: upstream timed out\n\n")
        expect(r[:error]).to be_nil
        expect(r[:turn]["error"]).to eq("type" => "api_error", "message" => "upstream timed out")
        r = assemble_every_way(:openai, "data: \t\n\n#{chunk(choices: [{ index: 0, delta: { content: 'x' } }])}event: error\ndata: gateway gone\n\n")
        expect(r[:turn]["error"]).to eq("type" => "api_error", "message" => "gateway gone")
        expect(r[:turn]["content"]).to eq([{ "type" => "text", "text" => "x" }])
      end

      it "treats usage as cumulative: each field present replaces the value so far" do
        input = sse("message_start", type: "message_start",
                                     message: { id: "msg_1", model: "m", content: [], usage: usage(10, 1, 5, 0) }) +
                sse("message_delta", type: "message_delta", delta: { stop_reason: nil }, usage: { output_tokens: 7 }) +
                sse("message_delta", type: "message_delta", delta: {},
                                     usage: { output_tokens: 12, cache_read_input_tokens: 3, input_tokens: nil }) +
                sse("message_delta", type: "message_delta", delta: { stop_reason: "max_tokens" },
                                     usage: { output_tokens: 20, cache_creation_input_tokens: 6 }) +
                sse("message_stop", type: "message_stop")
        r = assemble_every_way(:anthropic, input)
        expect(r[:turn]["usage"]).to eq(usage(10, 20, 6, 3))
        expect(r[:turn]["stop_reason"]).to eq("max_tokens")
        expect(r[:turn]["complete"]).to be(true)
      end

      it "ignores pings, unknown events and unknown block types (with their deltas)" do
        input = sse("message_start", type: "message_start", message: { id: "msg_2", model: "m", usage: usage(1) }) +
                sse("ping", type: "ping") +
                sse("future_event", "this is not JSON and is never parsed") +
                sse("message", type: "future_event", whatever: [1, 2]) +
                sse("content_block_start", type: "content_block_start", index: 0,
                                           content_block: { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} }) +
                sse("content_block_delta", type: "content_block_delta", index: 0,
                                           delta: { type: "input_json_delta", partial_json: "{\"query\": " }) +
                sse("content_block_stop", type: "content_block_stop", index: 0) +
                sse("content_block_start", type: "content_block_start", index: 1,
                                           content_block: { type: "web_search_tool_result", content: [{ a: 1 }] }) +
                sse("content_block_stop", type: "content_block_stop", index: 1) +
                sse("content_block_start", type: "content_block_start", index: 2, content_block: { type: "text", text: "" }) +
                sse("content_block_delta", type: "content_block_delta", index: 2, delta: { type: "citations_delta", citation: {} }) +
                sse("content_block_delta", type: "content_block_delta", index: 2, delta: { type: "text_delta", text: "ok" }) +
                sse("content_block_delta", type: "content_block_delta", index: 2, delta: { type: "thinking_delta", thinking: "no" }) +
                sse("content_block_stop", type: "content_block_stop", index: 2) +
                sse("message_stop", type: "message_stop")
        r = assemble_every_way(:anthropic, input)
        expect(r[:error]).to be_nil
        expect(r[:turn]["content"]).to eq([{ "type" => "text", "text" => "ok" }])
        expect(r[:turn]["complete"]).to be(true)
      end

      it "addresses blocks by index, whatever their order, and ignores unknown indexes" do
        start = ->(i, block) { sse("content_block_start", type: "content_block_start", index: i, content_block: block) }
        delta = ->(i, d) { sse("content_block_delta", type: "content_block_delta", index: i, delta: d) }
        stop = ->(i) { sse("content_block_stop", type: "content_block_stop", index: i) }
        input = start.call(5, { type: "tool_use", id: "t5", name: "A", input: {} }) +
                start.call(2, { type: "text", text: "pre-" }) +
                delta.call(5, { type: "input_json_delta", partial_json: "" }) +
                delta.call(2, { type: "text_delta", text: "text" }) +
                delta.call(7, { type: "text_delta", text: "nobody" }) +
                delta.call(-1, { type: "text_delta", text: "negative" }) +
                delta.call(5, { type: "input_json_delta", partial_json: "{\"a\":" }) +
                sse("content_block_delta", '{"type":"content_block_delta","index":1e400,"delta":{"type":"text_delta","text":"x"}}') +
                sse("content_block_delta", '{"type":"content_block_delta","index":"2","delta":{"type":"text_delta","text":"x"}}') +
                delta.call(5, { type: "input_json_delta", partial_json: "[1]}" }) +
                stop.call(9) + stop.call(5) +
                delta.call(5, { type: "input_json_delta", partial_json: "after stop" }) +
                start.call(2, { type: "text", text: "second start of 2" }) +
                start.call(99_999_999_999, { type: "redacted_thinking", data: "EncryptedBlob==" }) +
                sse("message_stop", type: "message_stop")
        r = assemble_every_way(:anthropic, input)
        expect(r[:error]).to be_nil
        expect(r[:turn]["content"]).to eq([
                                            { "type" => "tool_use", "id" => "t5", "name" => "A", "input" => { "a" => [1] } },
                                            { "type" => "text", "text" => "pre-text" },
                                            { "type" => "redacted_thinking", "data" => "EncryptedBlob==" }
                                          ])
        expect(r[:texts]).to eq(%w[pre- text])
      end

      it "decodes every escape and spacing, whichever way it reads the event" do
        start = sse("content_block_start", type: "content_block_start", index: 0, content_block: { type: "text", text: "" })
        deltas = [
          '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\\"\\\\\\/\\b\\f\\n\\r\\t|"}}',
          '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\u00e9\\ud83d\\ude00|"}}',
          '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\udc00|"}}',
          "{ \"type\" : \"content_block_delta\", \"index\" : 0, \"delta\" : { \"text\" : \"sp|\", \"type\" : \"text_delta\" } }",
          '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"é🙂|"},"extra":1}'
        ]
        r = assemble_every_way(:anthropic, start + deltas.map { |d| sse("content_block_delta", d) }.join)
        expect(r[:error]).to be_nil
        expect(r[:turn]["content"]).to eq([{ "type" => "text", "text" => "a\"\\/\b\f\n\r\t|é😀|\u{FFFD}\u{FFFD}\u{FFFD}|sp|é🙂|" }])
        %W[{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\x01"}}
           {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\x"}}
           {"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"x"}}
           {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}}].each do |bad|
          expect(assemble(:anthropic, [start + sse("content_block_delta", bad)])[:error]).to match(/not valid JSON/), bad
        end
      end

      it "turns empty tool input into {} and closes open blocks at message_stop" do
        input = sse("content_block_start", type: "content_block_start", index: 0,
                                           content_block: { type: "tool_use", id: "a", name: "A", input: {} }) +
                sse("content_block_stop", type: "content_block_stop", index: 0) +
                sse("content_block_start", type: "content_block_start", index: 1,
                                           content_block: { type: "tool_use", id: "b", name: "B", input: {} }) +
                sse("content_block_delta", type: "content_block_delta", index: 1,
                                           delta: { type: "input_json_delta", partial_json: " " }) +
                sse("content_block_start", type: "content_block_start", index: 2,
                                           content_block: { type: "tool_use", id: "c", name: "C", input: {} }) +
                sse("content_block_delta", type: "content_block_delta", index: 2,
                                           delta: { type: "input_json_delta", partial_json: "{\"x\":1}" }) +
                sse("message_stop", type: "message_stop")
        r = assemble_every_way(:anthropic, input)
        expect(r[:turn]["content"].map { |b| b["input"] }).to eq([{}, {}, { "x" => 1 }])
      end

      it "leaves an unfinished stream incomplete, unstopped tool inputs as {}" do
        input = recorded[:tool]
        cut = input.index("content_block_stop", input.index("toolu_grep"))
        r = assemble(:anthropic, [input.byteslice(0, cut)])
        expect(r[:error]).to be_nil
        expect(r[:turn]["complete"]).to be(false)
        expect(r[:turn]["content"].map { |b| b["input"] }).to eq([nil, stringify(TOOL_TURN[:tool_uses][0][:input]), {}])
      end

      it "raises JSONDecodeError on an event that is not JSON" do
        input = sse("message_start", type: "message_start", message: { id: "m" }) +
                sse("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta",')
        r = assemble_every_way(:anthropic, input)
        expect(r[:error]).to match(/event data is not valid JSON/)
        expect { described_class.new(:anthropic).feed(sse("message_start", "[1]")) }.to raise_error(decode_error, /not an object/)
        expect { described_class.new(:anthropic).feed(sse("message_start", "{\"a\":\"\xFF\"}".b)) }
          .to raise_error(decode_error, /UTF-8/)
      end

      it "raises JSONDecodeError on tool input that is not a JSON object, and stays failed" do
        %w[[1,2] "str" {"a": {"a":1}x].each do |json|
          input = sse("content_block_start", type: "content_block_start", index: 0,
                                             content_block: { type: "tool_use", id: "a", name: "A", input: {} }) +
                  sse("content_block_delta", type: "content_block_delta", index: 0,
                                             delta: { type: "input_json_delta", partial_json: json }) +
                  sse("content_block_stop", type: "content_block_stop", index: 0)
          asm = described_class.new(:anthropic)
          expect { asm.feed(input) }.to raise_error(decode_error, /tool_use input is not a JSON object/)
          expect { asm.feed(sse("message_stop", type: "message_stop")) }.to raise_error(decode_error)
        end
      end

      it "raises JSONDecodeError on an event over max_event_bytes or a turn over max_turn_bytes" do
        big = sse("content_block_delta", type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "x" * 5000 })
        start = sse("content_block_start", type: "content_block_start", index: 0, content_block: { type: "text", text: "" })
        expect(assemble_every_way(:anthropic, start + big, max_event_bytes: 1000, bytewise: false)[:error])
          .to eq("an SSE event is larger than max_event_bytes (1000)")
        expect(assemble_every_way(:anthropic, start + big * 3, max_turn_bytes: 12_000, bytewise: false)[:error])
          .to eq("the response is larger than max_turn_bytes (12000)")
      end
    end

    describe ":anthropic bodies" do
      it "parses a non-streamed message" do
        turn = described_class.new(:anthropic).parse_body(recorded[:tool_body]).turn
        expect(turn["content"]).to eq([{ "type" => "text", "text" => TOOL_TURN[:text] }] +
                                      TOOL_TURN[:tool_uses].map { |t| { "type" => "tool_use", **stringify(t) } })
        expect(turn.values_at("stop_reason", "usage", "complete", "error"))
          .to eq(["tool_use", usage(1200, 345, 100, 800), true, nil])
      end

      it "parses thinking blocks and rejects a non-object input" do
        body = { id: "msg_9", type: "message", model: "m", stop_reason: "end_turn", usage: usage(1, 2),
                 content: [{ type: "thinking", thinking: "hmm", signature: "sig" }, { type: "redacted_thinking", data: "xx" },
                           { type: "server_tool_use", id: "s", name: "web_search", input: { q: 1 } },
                           { type: "tool_use", id: "t", name: "T", input: { "k" => { "deep" => [1, { "z" => "\u0000\n" }] } } }] }
        turn = described_class.new(:anthropic).parse_body(JSON.generate(body)).turn
        expect(turn["content"]).to eq([{ "type" => "thinking", "thinking" => "hmm", "signature" => "sig" },
                                       { "type" => "redacted_thinking", "data" => "xx" },
                                       { "type" => "tool_use", "id" => "t", "name" => "T",
                                         "input" => { "k" => { "deep" => [1, { "z" => "\u0000\n" }] } } }])
        body[:content] = [{ type: "tool_use", id: "t", name: "T", input: [1] }]
        expect { described_class.new(:anthropic).parse_body(JSON.generate(body)) }.to raise_error(decode_error, /not a JSON object/)
      end

      it "parses an error body" do
        turn = described_class.new(:anthropic).parse_body(recorded[:messages_529]).turn
        expect(turn["error"]).to eq("type" => "overloaded_error", "message" => "Overloaded")
        expect(turn["complete"]).to be(false)
      end
    end

    describe ":openai streams" do
      it "assembles the recorded chunks: text, tool calls by index, usage on choices [], [DONE]" do
        r = assemble_every_way(:openai, recorded[:chat_tool])
        turn = r[:turn]
        expect(turn["id"]).to match(/\Achatcmpl-/)
        expect(turn["model"]).to eq("gpt-4o")
        expect(turn["content"]).to eq([{ "type" => "text", "text" => TOOL_TURN[:text] }] +
                                      TOOL_TURN[:tool_uses].map { |t| { "type" => "tool_use", **stringify(t) } })
        expect(turn["stop_reason"]).to eq("tool_use")
        expect(turn["usage"]).to eq(usage(1200 + 100, 345, 0, 800))
        expect(turn["complete"]).to be(true)
        expect(r[:texts].join).to eq(TOOL_TURN[:text])
      end

      def call(index, id: nil, name: nil, args: nil)
        fn = {}
        fn[:name] = name if name
        fn[:arguments] = args unless args.nil?
        c = { index: index, function: fn }
        c.merge!(id: id, type: "function") if id
        c
      end

      def delta_chunk(delta, finish: nil, usage: :absent)
        c = { id: "chatcmpl-1", object: "chat.completion.chunk", model: "llama3", choices: [{ index: 0, delta: delta, finish_reason: finish }] }
        c[:usage] = usage unless usage == :absent
        chunk(c)
      end

      it "merges two parallel tool calls interleaved across chunks" do
        input = delta_chunk({ role: "assistant", content: nil }) +
                delta_chunk({ tool_calls: [call(0, id: "call_a", name: "Read", args: "")] }) +
                delta_chunk({ tool_calls: [call(1, id: "call_b", name: "Glob", args: "{\"pat")] }) +
                delta_chunk({ tool_calls: [call(0, args: "{\"file_path\"")] }) +
                delta_chunk({ tool_calls: [call(1, args: "tern\": \"*.rb\"}"), call(0, args: ": \"/x\"")] }) +
                delta_chunk({ tool_calls: [call(0, args: "}")] }) +
                delta_chunk({}, finish: "tool_calls", usage: nil) +
                chunk("[DONE]")
        r = assemble_every_way(:openai, input)
        expect(r[:turn]["content"]).to eq([
                                            { "type" => "tool_use", "id" => "call_a", "name" => "Read", "input" => { "file_path" => "/x" } },
                                            { "type" => "tool_use", "id" => "call_b", "name" => "Glob", "input" => { "pattern" => "*.rb" } }
                                          ])
        expect(r[:turn]["stop_reason"]).to eq("tool_use")
        expect(r[:turn]["complete"]).to be(true)
      end

      it "takes usage from choices: null (vLLM) and from the finish chunk (DeepSeek)" do
        u = { prompt_tokens: 50, completion_tokens: 9, total_tokens: 59, prompt_tokens_details: { cached_tokens: 20 } }
        vllm = delta_chunk({ content: "hi" }) + delta_chunk({}, finish: "stop") +
               chunk(id: "chatcmpl-1", object: "chat.completion.chunk", model: "m", choices: nil, usage: u) + chunk("[DONE]")
        expect(assemble_every_way(:openai, vllm)[:turn]["usage"]).to eq(usage(30, 9, 0, 20))
        deepseek = delta_chunk({ content: "hi" }, usage: nil) +
                   delta_chunk({ content: "" }, finish: "stop",
                                                usage: { prompt_tokens: 40, completion_tokens: 3, prompt_cache_hit_tokens: 32,
                                                         prompt_cache_miss_tokens: 8 }) + chunk("[DONE]")
        r = assemble_every_way(:openai, deepseek)
        expect(r[:turn]["usage"]).to eq(usage(8, 3, 0, 32))
        expect(r[:turn]["stop_reason"]).to eq("end_turn")
        expect(r[:turn]["content"]).to eq([{ "type" => "text", "text" => "hi" }])
      end

      it "takes Ollama's single-fragment arguments (and its finish_reason stop with tool calls)" do
        input = delta_chunk({ role: "assistant", content: "",
                              tool_calls: [{ id: "call_x", index: 0, type: "function",
                                             function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }] }) +
                delta_chunk({ content: "" }, finish: "stop") +
                delta_chunk({}, usage: { prompt_tokens: 10, completion_tokens: 5 }) + chunk("[DONE]")
        r = assemble_every_way(:openai, input)
        expect(r[:turn]["content"]).to eq([{ "type" => "tool_use", "id" => "call_x", "name" => "get_weather",
                                             "input" => { "city" => "Paris" } }])
        expect(r[:turn]["stop_reason"]).to eq("tool_use")
        expect(r[:turn]["usage"]).to eq(usage(10, 5))
      end

      it "serialises arguments sent as an object, and takes calls without an index by position" do
        input = delta_chunk({ tool_calls: [{ id: "c1", function: { name: "A", arguments: { "q" => "ü", "n" => [1.5, nil, true] } } },
                                           { id: "c2", function: { name: "B", arguments: {} } }] }) +
                delta_chunk({}, finish: "tool_calls") + chunk("[DONE]")
        r = assemble_every_way(:openai, input)
        expect(r[:turn]["content"].map { |b| b.values_at("id", "name", "input") })
          .to eq([["c1", "A", { "q" => "ü", "n" => [1.5, nil, true] }], ["c2", "B", {}]])
      end

      it "completes only at [DONE], checking arguments then" do
        input = delta_chunk({ content: "a" }) + delta_chunk({ content: "b" }, finish: "length")
        r = assemble_every_way(:openai, input)
        expect(r[:turn]["complete"]).to be(false)
        expect(r[:turn]["stop_reason"]).to eq("max_tokens")
        expect(r[:texts]).to eq(%w[a b])
        r = assemble_every_way(:openai, "#{input}#{chunk('[DONE]')}#{delta_chunk({ content: 'ignored' })}")
        expect(r[:turn]["complete"]).to be(true)
        expect(r[:turn]["content"]).to eq([{ "type" => "text", "text" => "ab" }])
        bad = delta_chunk({ tool_calls: [call(0, id: "c", name: "A", args: "{\"a\":")] }) + chunk("[DONE]")
        expect(assemble_every_way(:openai, bad)[:error]).to match(/tool call arguments are not a JSON object/)
      end

      it "maps finish reasons" do
        { "stop" => "end_turn", "length" => "max_tokens", "content_filter" => "refusal", "tool_calls" => "tool_use",
          "something_new" => "something_new" }.each do |finish, stop|
          turn = assemble(:openai, [delta_chunk({ content: "x" }, finish: finish) + chunk("[DONE]")])[:turn]
          expect(turn["stop_reason"]).to eq(stop)
        end
      end

      it "records an error chunk" do
        r = assemble_every_way(:openai, recorded[:chat_error])
        expect(r[:turn]["error"]).to eq("type" => "overloaded_error", "message" => "Overloaded")
        expect(r[:turn]["complete"]).to be(false)
        r = assemble_every_way(:openai, delta_chunk({ content: "x" }) + chunk(error: "model not found"))
        expect(r[:turn]["error"]).to eq("type" => "api_error", "message" => "model not found")
        r = assemble_every_way(:openai, chunk(error: { message: "bad", code: 400 }))
        expect(r[:turn]["error"]).to eq("type" => "400", "message" => "bad")
      end

      it "raises JSONDecodeError on a chunk that is not JSON" do
        expect(assemble_every_way(:openai, delta_chunk({ content: "x" }) + chunk("{oops"))[:error])
          .to match(/chunk is not valid JSON/)
      end
    end

    describe ":openai bodies" do
      it "parses a non-streamed completion" do
        turn = described_class.new(:openai).parse_body(recorded[:chat_body]).turn
        expect(turn["content"]).to eq([{ "type" => "text", "text" => TOOL_TURN[:text] }] +
                                      TOOL_TURN[:tool_uses].map { |t| { "type" => "tool_use", **stringify(t) } })
        expect(turn.values_at("stop_reason", "usage", "complete")).to eq(["tool_use", usage(1300, 345, 0, 800), true])
      end

      it "parses an error body" do
        turn = described_class.new(:openai).parse_body(recorded[:chat_429]).turn
        expect(turn["error"]).to eq("type" => "rate_limit_error", "message" => "slow down")
      end
    end

    describe "the block" do
      it "may raise: the stream goes on with the next feed" do
        asm = described_class.new(:anthropic)
        seen = []
        calls = 0
        expect do
          asm.feed(recorded[:text]) do |t|
            calls += 1
            raise "stop" if calls == 3

            seen << t
          end
        end.to raise_error("stop")
        asm.feed("") { |t| seen << t }
        asm.finish
        words = TEXT_TURN[:text].scan(/\S+\s*/)
        expect(seen).to eq(words.first(2) + words.drop(3))
        expect(asm.turn["content"].first["text"]).to eq(TEXT_TURN[:text])
        expect(asm.turn["complete"]).to be(true)
      end

      it "may not feed the same assembler" do
        asm = described_class.new(:anthropic)
        expect { asm.feed(recorded[:text]) { asm.finish } }.to raise_error(RuntimeError, /own block/)
      end

      it "is optional" do
        expect(described_class.new(:anthropic).feed(recorded[:text]).finish.turn["complete"]).to be(true)
      end
    end

    it "checks its arguments" do
      expect { described_class.new(:gemini) }.to raise_error(ArgumentError, /:anthropic or :openai/)
      expect { described_class.new(:openai, max_event_bytes: 0) }.to raise_error(ArgumentError)
      expect { described_class.new(:openai, nope: 1) }.to raise_error(ArgumentError)
      expect { described_class.allocate.turn }.to raise_error(RuntimeError, /not initialized/)
      expect { described_class.new(:openai).dup }.to raise_error(TypeError, /can't be copied/)
    end

    # Usage beyond int64 used to be ignored (the old value kept: an absurd count cost nothing): it now bills as the
    # most there is, and counts written as fractions round up. Negative counts are not counts.
    it "saturates absurd usage counts instead of dropping them" do
      max = (2**63) - 1
      anth = +sse("message_start", '{"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":5,"output_tokens":1}}}')
      anth << sse("message_delta", '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":99999999999999999999,' \
                                   '"output_tokens":12.5,"cache_read_input_tokens":1e30,"cache_creation_input_tokens":-4}}')
      anth << sse("message_stop", '{"type":"message_stop"}')
      usage = described_class.new(:anthropic).feed(anth).finish.turn["usage"]
      expect(usage).to include("input_tokens" => max, "output_tokens" => 13, "cache_read_input_tokens" => max,
                               "cache_creation_input_tokens" => 0)
      chat = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]," \
             "\"usage\":{\"prompt_tokens\":1.5e40,\"completion_tokens\":184467440737095516160}}\n\ndata: [DONE]\n\n"
      usage = described_class.new(:openai).feed(chat).finish.turn["usage"]
      expect(usage).to include("input_tokens" => max, "output_tokens" => max)
    end

    # Each block start used to scan every earlier block: 200k blocks took 23 s (Anthropic), and as many OpenAI
    # tool calls the same. The check is a ratio, not a time, so a slow machine (or valgrind) does not fail it:
    # 10× the blocks must cost well under 100× the time (linear: ~10×; the old scan: ~100×).
    it "assembles blocks in linear time, whatever their indexes" do
      starts = lambda do |indexes|
        out = +sse("message_start", '{"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1}}}')
        indexes.each do |i|
          out << sse("content_block_start", %({"type":"content_block_start","index":#{i},"content_block":{"type":"text","text":"b"}}))
          out << sse("content_block_stop", %({"type":"content_block_stop","index":#{i}}))
        end
        out << sse("message_stop", '{"type":"message_stop"}')
      end
      chat = lambda do |n|
        calls = (0...n).map { |i| %({"index":#{i},"id":"c#{i}","function":{"name":"t","arguments":""}}) }
        calls.each_slice(1000).map { |s| "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[#{s.join(",")}]}}]}\n\n" }.join +
          "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"
      end
      streams = {
        "anthropic, dense" => [:anthropic, ->(n) { starts.call(0...n) }],
        "anthropic, sparse" => [:anthropic, ->(n) { starts.call((0...n).map { |i| (i * 7919) << 20 }) }],
        "openai tool calls" => [:openai, chat]
      }
      streams.each do |name, (provider, make)|
        seconds = [20_000, 200_000].map do |n|
          stream = make.call(n)
          Array.new(2) do # the better of two: a pause of the machine is not the algorithm
            t0 = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
            turn = described_class.new(provider).feed(stream).finish.turn
            expect([turn["complete"], turn["content"].size]).to eq([true, n])
            Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) - t0
          end.min
        end
        expect(seconds[1] / seconds[0]).to be < 40, "#{name}: #{seconds.map { |t| t.round(3) }} s for 20k / 200k blocks"
      end
    end

    it "survives GC.stress" do
      input = recorded[:thinking].byteslice(0, 3000) + recorded[:chat_tool].byteslice(0, 0)
      chunks = input.scan(/.{1,97}/m)
      expected = assemble(:anthropic, chunks)
      GC.stress = true
      got = assemble(:anthropic, chunks)
      got_oai = assemble(:openai, recorded[:chat_tool].scan(/.{1,501}/m))
      GC.stress = false
      expect(got).to eq(expected)
      expect(got_oai[:turn]["complete"]).to be(true)
    ensure
      GC.stress = false
    end
  end
end
