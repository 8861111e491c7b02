# frozen_string_literal: true

require "json"

RSpec.describe RubyLLM::AgentSDK::Native do
  let(:decode_error) { RubyLLM::AgentSDK::JSONDecodeError }

  # Feeds `chunks` to a fresh reader, then finishes. Each :line is also run through parse_message, so the
  # outcome covers framing and decoding together.
  def frame(chunks, max)
    reader = described_class::LineReader.new(max)
    events = []
    collect = lambda do |kind, payload|
      if kind == :line
        expect(payload).to be_frozen
        expect(payload.encoding).to eq(Encoding::UTF_8)
        decoded = begin
          described_class.parse_message(payload).type
        rescue RubyLLM::AgentSDK::JSONDecodeError => e
          [:error, e.message]
        end
        events << [kind, payload, decoded]
      else
        events << [kind, payload]
      end
    end
    chunks.each { |chunk| reader.feed(chunk, &collect) }
    reader.finish(&collect)
    { events: events, skipped: reader.skipped_lines, dropped: reader.dropped_lines,
      truncated: reader.truncated_lines, bytes_read: reader.bytes_read }
  end

  def random_chunks(input, rng)
    cuts = Array.new(rng.rand(1..[input.bytesize, 40].min)) { rng.rand(0..input.bytesize) }.sort.uniq
    ([0] + cuts + [input.bytesize]).each_cons(2).map { |a, b| input.byteslice(a, b - a) }
  end

  # The outcome of `input` fed whole, byte by byte, and in 50 random splits: all identical.
  def frame_every_way(input, max: 32 * 1024 * 1024)
    input = input.b
    whole = frame([input], max)
    expect(whole[:bytes_read]).to eq(input.bytesize)
    expect(frame(input.each_char.to_a, max)).to eq(whole), "byte by byte"
    seed = Random.new_seed
    rng = Random.new(seed)
    50.times do |i|
      chunks = random_chunks(input, rng)
      expect(frame(chunks, max)).to eq(whole), "random split #{i} (Random seed #{seed}): #{chunks.map(&:bytesize)}"
    end
    whole
  end

  def lines(result) = result[:events].map { |kind, payload, _| kind == :line ? payload : [kind, payload] }

  describe "LineReader framing" do
    it "yields several objects from one read" do
      r = frame_every_way(%({"type":"a"}\n{"type":"b"}\n{"type":"c"}\n))
      expect(r[:events].map(&:last)).to eq(%i[a b c])
      expect(r.values_at(:skipped, :dropped, :truncated)).to eq([0, 0, 0])
    end

    it "keeps escaped newlines inside strings" do
      line = %({"type":"user","text":"one\\ntwo\\r\\n"})
      expect(lines(frame_every_way("#{line}\n#{line}\n"))).to eq([line, line])
    end

    it "strips CR of CRLF line ends, wherever the chunks split them" do
      r = frame_every_way(%({"type":"a"}\r\n{"type":"b"}\r\n\r\n{"type":"c"}\r\n))
      expect(lines(r)).to eq([%({"type":"a"}), %({"type":"b"}), %({"type":"c"})])
      expect(r[:skipped]).to eq(0)
    end

    it "yields a complete last object without a trailing newline at finish" do
      r = frame_every_way(%({"type":"a"}\n{"type":"b", "x": [1, {"y": "}"}]}  ))
      expect(lines(r)).to eq([%({"type":"a"}), %({"type":"b", "x": [1, {"y": "}"}]}  )])
      expect(r[:truncated]).to eq(0)
    end

    it "drops a truncated last line silently and counts it" do
      r = frame_every_way(%({"type":"a"}\n{"type":"b","text":"unfinis))
      expect(lines(r)).to eq([%({"type":"a"})])
      expect(r[:truncated]).to eq(1)
    end

    it "skips and counts lines that do not start with {, and ignores blank lines" do
      r = frame_every_way(%(debug: starting\n\n  \t \n[1,2]\n  {"type":"a"}\nnull\r\n\r\n{"type":"b"}\n))
      expect(lines(r)).to eq([%(  {"type":"a"}), %({"type":"b"})])
      expect(r[:skipped]).to eq(3)
      expect(r[:truncated]).to eq(0)
    end

    it "drops a line over max_line_bytes, reports its size and first 200 bytes, and goes on" do
      big = %({"type":"user","text":"#{"é" * 300}"})
      r = frame_every_way(%({"type":"a"}\n#{big}\r\n{"type":"b"}\n#{"x" * 250}\n{"type":"c"}\n#{big}), max: 100)
      excerpt = big.b.byteslice(0, 200).force_encoding(Encoding::UTF_8).scrub
      expect(excerpt).to end_with("é\uFFFD") # byte 200 is the first half of an "é"
      expect(lines(r)).to eq([
                               %({"type":"a"}),
                               [:too_long, { bytes: big.bytesize, excerpt: excerpt }],
                               %({"type":"b"}),
                               [:too_long, { bytes: 250, excerpt: "x" * 200 }],
                               %({"type":"c"}),
                               [:too_long, { bytes: big.bytesize, excerpt: excerpt }]
                             ])
      expect(r[:dropped]).to eq(3)
    end

    it "scrubs the excerpt of a dropped line and keeps lines of exactly max_line_bytes" do
      cut = %({"t":"#{"\xff" * 300}"}).b
      exact = %({"t":"#{"x" * 13}"})
      r = frame_every_way("#{cut}\n#{exact}\r\n", max: exact.bytesize)
      expect(r[:events][0][0]).to eq(:too_long)
      expect(r[:events][0][1][:excerpt]).to be_valid_encoding
      expect(r[:events][0][1][:excerpt]).to start_with(%({"t":"\uFFFD))
      expect(lines(r)[1]).to eq(exact)
    end

    it "yields lines with invalid UTF-8 or malformed JSON, which parse_message rejects" do
      r = frame_every_way(%({"type":"a","t":"\xff\xfe"}\n{"type":"b",}\n{"type":"c"}\n).b)
      expect(r[:events].map(&:last)).to match([[:error, %(invalid UTF-8: "{\\"type\\":\\"a\\",\\"t\\":\\"\uFFFD\uFFFD\\"}")],
                                               [:error, /\Ainvalid JSON \(parse error: .+\): "{\\"type\\":\\"b\\",}"\z/],
                                               :c])
    end

    it "frames a 2 MB line under the default 32 MiB limit" do
      text = "0123456789abcdef\\n" * 120_000
      line = %({"type":"user","message":{"content":[{"type":"tool_result","content":"#{text}"}]}})
      expect(line.bytesize).to be > 2_000_000
      r = frame_every_way("#{line}\n{\"type\":\"b\"}\n")
      expect(lines(r)).to eq([line, %({"type":"b"})])
      expect(described_class.parse_message(lines(r)[0]).content.bytesize).to eq(17 * 120_000)
    end

    it "validates max_line_bytes" do
      expect(described_class::LineReader.new.max_line_bytes).to eq(32 * 1024 * 1024)
      expect(described_class::LineReader.new(10).max_line_bytes).to eq(10)
      [0, -1, 1.5, "10", nil, 2**70].each do |bad|
        expect { described_class::LineReader.new(bad) }.to raise_error(ArgumentError, /max_line_bytes/)
      end
    end

    it "requires a block" do
      expect { described_class::LineReader.new.feed("{}\n") }.to raise_error(LocalJumpError)
    end

    it "keeps the rest of a chunk buffered when the block raises or breaks" do
      reader = described_class::LineReader.new
      seen = []
      expect { reader.feed(%({"n":1}\n{"n":2}\n{"n":3}\n{"n":)) { |_, line| seen << line; raise "boom" } }
        .to raise_error(RuntimeError, "boom")
      reader.feed("") { |_, line| seen << line; break }
      reader.feed(%(4}\n)) { |_, line| seen << line }
      reader.finish { |_, line| seen << line }
      expect(seen).to eq((1..4).map { |n| %({"n":#{n}}) })
    end
  end

  describe ".parse_message" do
    # Every level's keys in reverse order: extraction must not depend on key order.
    def reverse_keys(value)
      case value
      when Hash then value.to_a.reverse.to_h { |k, v| [k, reverse_keys(v)] }
      when Array then value.map { |v| reverse_keys(v) }
      else value
      end
    end

    FIELDS = %i[type subtype uuid session_id content tool_calls tool_name model usage total_cost_usd num_turns
                duration_ms duration_api_ms is_error stop_reason parent_tool_use_id].freeze

    # Parses `hash` as a line, in its key order and reversed; both must give the same fields.
    def parse(hash)
      message = described_class.parse_message(JSON.generate(hash))
      reversed = described_class.parse_message(JSON.generate(reverse_keys(hash)))
      expect(FIELDS.to_h { |f| [f, reversed.public_send(f)] }).to eq(FIELDS.to_h { |f| [f, message.public_send(f)] })
      expect(message.to_h).to eq(hash)
      message
    end

    let(:usage) do
      { "input_tokens" => 12, "cache_creation_input_tokens" => 0, "cache_read_input_tokens" => 14_000,
        "output_tokens" => 85, "server_tool_use" => { "web_search_requests" => 0 }, "service_tier" => "standard" }
    end

    it "reads a system init line" do
      m = parse("type" => "system", "subtype" => "init", "cwd" => "/app", "session_id" => "s-1",
                "tools" => %w[Read Glob Grep], "mcp_servers" => [{ "name" => "x", "status" => "connected" }],
                "model" => "claude-sonnet-4-5", "permissionMode" => "bypassPermissions", "apiKeySource" => "none",
                "uuid" => "u-1")
      expect(m).to be_init
      expect([m.type, m.subtype, m.session_id, m.model, m.uuid]).to eq([:system, "init", "s-1", "claude-sonnet-4-5", "u-1"])
      expect([m.content, m.usage, m.tool_name, m.is_error, m.total_cost_usd]).to eq([nil, nil, nil, nil, nil])
      expect(m.tool_calls).to eq([])
      expect(m.tool_calls).to be_frozen
      expect(m.tool_calls).to equal(described_class.parse_message(%({"type":"x"})).tool_calls)
    end

    it "reads an assistant line with text and tool_use blocks" do
      input = { "file_path" => "/app/README.md", "limit" => 20, "opts" => { "deep" => [1, 2.5, nil, true] } }
      m = parse("type" => "assistant",
                "message" => { "id" => "msg_1", "type" => "message", "role" => "assistant", "model" => "claude-opus-4-5",
                               "content" => [{ "type" => "thinking", "thinking" => "hmm", "signature" => "sig" },
                                             { "type" => "text", "text" => "Let me look." },
                                             { "type" => "tool_use", "id" => "toolu_1", "name" => "Read", "input" => input },
                                             { "type" => "text", "text" => "And grep." },
                                             { "type" => "tool_use", "id" => "toolu_2", "name" => "Grep",
                                               "input" => { "pattern" => "def " } }],
                               "stop_reason" => "tool_use", "usage" => usage },
                "parent_tool_use_id" => nil, "session_id" => "s-1", "uuid" => "u-2")
      expect(m.type).to eq(:assistant)
      expect(m.content).to eq("Let me look.\nAnd grep.")
      expect(m.tool_calls).to eq([{ id: "toolu_1", name: "Read", input: input },
                                  { id: "toolu_2", name: "Grep", input: { "pattern" => "def " } }])
      expect([m.tool_name, m.model, m.stop_reason, m.usage, m.parent_tool_use_id])
        .to eq(["Read", "claude-opus-4-5", "tool_use", usage, nil])
      expect(m.usage.keys).to all(be_frozen)
    end

    it "reads a user line with tool results, is_error and array content" do
      line = { "type" => "user",
               "message" => { "role" => "user",
                              "content" => [{ "tool_use_id" => "toolu_1", "type" => "tool_result", "content" => "File does not exist.",
                                              "is_error" => true },
                                            { "type" => "tool_result", "tool_use_id" => "toolu_2",
                                              "content" => [{ "type" => "text", "text" => "a.rb:1" },
                                                            { "type" => "image", "source" => { "data" => "xx" } },
                                                            { "text" => "b.rb:2", "type" => "text" }] }] },
               "parent_tool_use_id" => "toolu_0", "session_id" => "s-1", "uuid" => "u-3",
               "tool_use_result" => { "stdout" => "ignored" } }
      m = parse(line)
      expect([m.type, m.is_error, m.parent_tool_use_id]).to eq([:user, true, "toolu_0"])
      expect(m.content).to eq("File does not exist.\na.rb:1\nb.rb:2")
      expect(m.tool_calls).to eq([])
      expect(m).to be_error

      line["message"]["content"][0]["is_error"] = false
      expect(parse(line).is_error).to be_nil
      expect(parse("type" => "user", "message" => { "role" => "user", "content" => "Hello" }).content).to eq("Hello")
    end

    it "reads a result line" do
      m = parse("type" => "result", "subtype" => "success", "is_error" => false, "duration_ms" => 5123,
                "duration_api_ms" => 4980, "num_turns" => 3, "result" => "All done.", "stop_reason" => "end_turn",
                "session_id" => "s-1", "total_cost_usd" => 0.0123, "usage" => usage,
                "modelUsage" => { "claude-sonnet-4-5" => { "costUSD" => 0.0123 } }, "permission_denials" => [],
                "uuid" => "u-4")
      expect(m).to be_result
      expect([m.content, m.is_error, m.duration_ms, m.duration_api_ms, m.num_turns, m.total_cost_usd])
        .to eq(["All done.", false, 5123, 4980, 3, 0.0123])
      expect([m.usage, m.stop_reason]).to eq([usage, "end_turn"])
      expect(m).not_to be_error
      expect(parse("type" => "result", "subtype" => "success", "content" => "Done", "result" => "other").content).to eq("Done")
      expect(parse("type" => "result", "total_cost_usd" => 1, "num_turns" => 2**70).total_cost_usd).to eql(1.0)
      expect(parse("type" => "result", "num_turns" => 2**70).num_turns).to eq(2**70)
    end

    it "reads the text of a stream_event text delta" do
      event = ->(delta) { { "type" => "stream_event", "event" => { "type" => "content_block_delta", "index" => 0, "delta" => delta },
                            "session_id" => "s-1", "parent_tool_use_id" => nil, "uuid" => "u-5" } }
      expect(parse(event.call("type" => "text_delta", "text" => "Hel")).content).to eq("Hel")
      expect(parse(event.call("type" => "input_json_delta", "partial_json" => "{\"a")).content).to be_nil
      expect(parse("type" => "assistant", "event" => { "delta" => { "type" => "text_delta", "text" => "no" } }).content).to be_nil
    end

    it "passes unknown types through with to_h intact" do
      line = { "type" => "future_event", "payload" => { "a" => [1, { "b" => nil }], "c" => "\u00e9\u{1F600}" }, "tool_name" => "Bash" }
      m = parse(line)
      expect([m.type, m.tool_name, m.content]).to eq([:future_event, "Bash", nil])
      expect(m["payload"]).to eq(line["payload"])
      expect(parse({ "no_type" => 1 }).type).to eq(:unknown)
      expect(parse({ "type" => 7 }).type).to eq(:unknown)
    end

    it "returns frozen, shared Strings for fields with few distinct values" do
      a = described_class.parse_message(%({"type":"system","subtype":"init","session_id":"s-42","model":"m","uuid":"u"}))
      b = described_class.parse_message(%({"type":"result","session_id":"s-42","uuid":"u"}))
      expect(a.session_id).to be_frozen.and equal(b.session_id)
      expect([a.subtype, a.model]).to all(be_frozen)
      expect(a.uuid).not_to be_frozen
    end

    it "keeps the raw line frozen, reusing a frozen UTF-8 argument" do
      line = %({"type":"system"}).freeze
      expect(described_class.parse_message(line).raw).to equal(line)
      copy = described_class.parse_message(+line).raw
      expect(copy).to be_frozen.and eq(line)
      binary = described_class.parse_message(line.b).raw
      expect([binary.encoding, binary.frozen?]).to eq([Encoding::UTF_8, true])
    end

    it "raises JSONDecodeError with a scrubbed 200-byte excerpt" do
      {
        "{\"a\":\"\xff\"}" => /invalid UTF-8/,
        "{\"a\":\"\xc0\x80\"}" => /invalid UTF-8/,   # overlong, which yajl alone accepts
        "{\"a\":\"\xed\xa0\x80\"}" => /invalid UTF-8/, # UTF-16 surrogate
        "{\"a\":1" => /invalid JSON/,
        "{\"a\":1}x" => /invalid JSON/,
        "{\"a\":1}{}" => /invalid JSON/,
        "{a:1}" => /invalid JSON/,
        "" => /invalid JSON/,
        "[1]" => /not an object/,
        "\"x\"" => /not an object/,
        "#{"{\"a\":" * 129}1#{"}" * 129}" => /nested deeper than 128/
      }.each do |line, reason|
        expect { described_class.parse_message(line.b) }.to raise_error(decode_error, reason) { |e|
          expect(e.line_excerpt).to be_valid_encoding
          expect(e.line_excerpt.bytesize).to be <= 200
        }
      end
      long = %({"type":"#{"x" * 300})
      expect { described_class.parse_message(long) }.to raise_error(decode_error) { |e| expect(e.line_excerpt).to eq(long[0, 200]) }
      expect(described_class.parse_message("#{"{\"a\":" * 128}1#{"}" * 128}").type).to eq(:unknown)
    end
  end

  describe ".parse_json" do
    docs = [
      %({"a":1,"b":[true,false,null],"c":{"d":"e"},"f":"","g":[],"h":{}}),
      %(  {"esc":"\\"\\\\\\/\\b\\f\\n\\r\\t","u":"\\u00e9\\u2028\\u0000\\u001b[0m","raw":"é→日本語"}  ),
      %({"pair":"\\ud83d\\ude00","emoji":"😀","mixed":"a\\ud83d\\ude00b"}),
      %({"big":123456789012345678901234567890,"neg":-98765432109876543210,"max":9223372036854775807,"min":-9223372036854775808,"i18":999999999999999999}),
      %({"f":[0.1,-0.0,1e-7,6.02e23,1.5E+3,-2.5e-3,0,-0,3.141592653589793,1e308]}),
      %([1,[2,[3,[4,[5,{"deep":[{"deeper":[]}]}]]]]]),
      %("just a string"), %(42), %(null), %([]),
      JSON.generate({ "x" => (1..50).map { |i| { "k#{i}" => ["v" * i, i, i * 0.5] } } }),
      "#{"[" * 128}#{"]" * 128}"
    ]
    docs.each_with_index do |doc, i|
      it "matches JSON.parse on document #{i}" do
        expect(described_class.parse_json(doc)).to eq(JSON.parse(doc, max_nesting: false))
      end
    end

    it "uses interned frozen String keys" do
      a = described_class.parse_json(%({"zz_rare_key":1,"type":2}))
      b = described_class.parse_json(%({"zz_rare_key":3,"type":4}))
      expect(a.keys).to all(be_frozen)
      expect(a.keys.map(&:encoding)).to all(eq(Encoding::UTF_8))
      expect(a.keys.zip(b.keys)).to all(satisfy { |x, y| x.equal?(y) })
      expect(described_class.parse_json(%({"s":"v"}))["s"]).not_to be_frozen
    end

    it "replaces unpaired surrogate escapes, as yajl decodes them, so every String is valid UTF-8" do
      v = described_class.parse_json(%({"lo\\udc00":"a\\udc00b","hi":"a\\ud83db"}))
      expect(v).to eq("lo\uFFFD\uFFFD\uFFFD" => "a\uFFFD\uFFFD\uFFFDb", "hi" => "a?b")
      expect(v.to_a.flatten).to all(be_valid_encoding)
      expect(described_class.parse_message(%({"type":"result","result":"x\\udfff"})).content).to eq("x\uFFFD\uFFFD\uFFFD")
    end

    it "rejects nesting deeper than 128 and malformed documents" do
      expect { described_class.parse_json("#{"[" * 129}#{"]" * 129}") }.to raise_error(decode_error, /nested deeper than 128/)
      expect { described_class.parse_json("[1,]") }.to raise_error(decode_error, /invalid JSON/)
      expect { described_class.parse_json("[\"\xff\"]".b) }.to raise_error(decode_error, /invalid UTF-8/)
    end
  end

  describe ".peek_type" do
    it "returns the top-level type, stopping as soon as it is read" do
      expect(described_class.peek_type(%({"type":"result","subtype":"success"}))).to eq("result")
      expect(described_class.peek_type(%({"message":{"type":"message"},"x":[{"type":"y"}],"type":"assistant"}))).to eq("assistant")
      expect(described_class.peek_type(%({"type":"control_request", this is not JSON))).to eq("control_request")
      expect(described_class.peek_type(%({"type":"#{"t" * 100}"}))).to eq("t" * 100)
    end

    it "returns nil without raising when there is no usable type" do
      [%({"message":{"type":"x"}}), %({"type":1}), %({"type":{"a":1}}), %([{"type":"x"}]), %("type"), "", "{",
       "\xff\xfe".b, %({"type":"\xc0\x80"}).b, %({"a":"\xff","type":"x"}).b].each do |line|
        expect(described_class.peek_type(line)).to be_nil, line.inspect
      end
    end
  end

  it "survives GC.stress on small inputs" do
    line = %({"type":"assistant","message":{"model":"m","content":[{"type":"text","text":"hi"},) +
           %({"type":"tool_use","id":"t","name":"Read","input":{"file_path":"/x","n":[1,2.5,12345678901234567890]}}],) +
           %("usage":{"input_tokens":1,"zz_uncached_key":{"a":[]}}},"session_id":"s"})
    GC.stress = true
    begin
      m = described_class.parse_message(line)
      h = described_class.parse_json(line)
      events = []
      reader = described_class::LineReader.new(60)
      reader.feed("#{line}\n{\"a\":1}\n#{line}") { |k, p| events << [k, p] }
      reader.finish { |k, p| events << [k, p] }
      error = (described_class.parse_message("{\"a\":") rescue $!)
    ensure
      GC.stress = false
    end
    expect(m.tool_calls).to eq([{ id: "t", name: "Read", input: { "file_path" => "/x", "n" => [1, 2.5, 12_345_678_901_234_567_890] } }])
    expect(m.usage).to eq("input_tokens" => 1, "zz_uncached_key" => { "a" => [] })
    expect(h).to eq(JSON.parse(line))
    expect(events.map(&:first)).to eq(%i[too_long line too_long])
    expect(error).to be_a(decode_error)
  end

  it "keeps working across GC compaction" do
    skip "GC.compact not supported here" unless GC.respond_to?(:verify_compaction_references)
    line = %({"type":"assistant","session_id":"s","message":{"content":[{"type":"tool_use","id":"t","name":"Bash","input":{"command":"ls"}}]}})
    before = described_class.parse_message(line)
    GC.verify_compaction_references(double_heap: true, toward: :empty)
    after = described_class.parse_message(line)
    expect(after.tool_calls).to eq(before.tool_calls)
    expect(described_class.parse_json(%({"type":1,"input_tokens":2}))).to eq("type" => 1, "input_tokens" => 2)
  end
end
