# frozen_string_literal: true

require_relative "support/splits"

RSpec.describe RubyLLM::AgentSDK::Native::SSEParser do
  include Splits

  # Everything the parser reports for `chunks` fed in order then finished: the events, an error (which ends
  # the feeding), the retry value and the last event id.
  def outcome(chunks, max)
    parser = described_class.new(max)
    events = []
    collect = ->(type, data, id) { events << [type, data, id] }
    begin
      chunks.each { |chunk| parser.feed(chunk, &collect) }
      parser.finish(&collect)
    rescue RubyLLM::AgentSDK::JSONDecodeError => e
      events << [:error, e.message]
    end
    { events: events, retry_ms: parser.retry_ms, last_event_id: parser.last_event_id }
  end

  # Whole, byte by byte, and in 50 seeded random splits: identical outcomes. Returns the outcome.
  def parse(input, max: 32 * 1024 * 1024)
    every_split(input.b) { |chunks| outcome(chunks, max) }
  end

  def events(input, **opts) = parse(input, **opts)[:events]

  def message(data, id = "") = ["message", data, id]

  describe "line ends" do
    it "takes LF" do
      expect(events("data: a\n\ndata: b\n\n")).to eq([message("a"), message("b")])
    end

    it "takes CR" do
      expect(events("data: a\r\rdata: b\r\r")).to eq([message("a"), message("b")])
    end

    it "takes CRLF" do
      expect(events("data: a\r\n\r\ndata: b\r\n\r\n")).to eq([message("a"), message("b")])
    end

    it "takes them mixed" do
      expect(events("data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r")).to eq([message("a\nb\nc"), message("d")])
    end

    it "does not make a blank line of a CR and an LF that arrive in different chunks" do
      parser = described_class.new
      got = []
      ["data: a\r", "\ndata: b\r", "\n", "\r", "\n"].each { |c| parser.feed(c) { |*e| got << e } }
      expect(got).to eq([message("a\nb")])
      parser.feed("data: c\r") { |*e| got << e }
      parser.feed("\r") { |*e| got << e } # CR CR: a line end, then a blank line
      expect(got.last).to eq(message("c"))
    end

    it "keeps a CR split from its LF right even when the chunk after starts a new line" do
      expect(events("data: x\r\n\r\n")).to eq([message("x")])
      expect(events("data: x\r\r\n")).to eq([message("x")])
    end
  end

  describe "fields" do
    it "ignores comment lines" do
      expect(events(": keep-alive\n\n:\ndata: a\n: in between\ndata: b\n\n")).to eq([message("a\nb")])
    end

    it "joins data lines with LF" do
      expect(events("data: a\ndata:\ndata:  b\ndata\n\n")).to eq([message("a\n\n b\n")])
    end

    it "removes one space after the colon, and only one" do
      expect(events("data:a\n\ndata: b\n\ndata:  c\n\ndata:\tz\n\n"))
        .to eq([message("a"), message("b"), message(" c"), message("\tz")])
    end

    it "takes a line without a colon as a field with an empty value" do
      expect(events("data\n\n")).to eq([message("")])
      expect(events("event\ndata: x\n\n")).to eq([message("x")])
    end

    it "sets the type from event, resetting it after each event" do
      expect(events("event: ping\ndata: {}\n\ndata: next\n\nevent:\ndata: e\n\n"))
        .to eq([["ping", "{}", ""], message("next"), message("e")])
    end

    it "ignores unknown fields and a colon in the value" do
      expect(events("foo: bar\ndata: a: b\nDATA: no\n\n")).to eq([message("a: b")])
    end
  end

  describe "id" do
    it "persists across events, and an id without data still counts" do
      input = "id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid\ndata: d\n\n"
      expect(events(input)).to eq([message("a", "1"), message("b", "1"), message("c", "2"), message("d")])
    end

    it "ignores an id that contains NUL" do
      r = parse("id: 7\ndata: a\n\nid: x\0y\ndata: b\n\n")
      expect(r[:events]).to eq([message("a", "7"), message("b", "7")])
      expect(r[:last_event_id]).to eq("7")
    end
  end

  describe "retry" do
    it "takes only all-digit values" do
      expect(parse("retry: 1500\n\n")[:retry_ms]).to eq(1500)
      expect(parse("retry: 1500\nretry: 12a\nretry: -1\nretry: \nretry:  7\ndata: x\n\n")[:retry_ms]).to eq(1500)
      expect(parse("retry: 0\n\n")[:retry_ms]).to eq(0)
      expect(parse("data: x\n\n")[:retry_ms]).to be_nil
      expect(parse("retry: 99999999999999999999999\n\n")[:retry_ms]).to eq(2**63 - 1)
    end
  end

  describe "byte order mark" do
    it "skips one at the very start" do
      expect(events("\xEF\xBB\xBFdata: a\n\n")).to eq([message("a")])
    end

    it "skips only one, and only at the start" do
      expect(events("\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n")).to eq([message("b")])
      expect(events("data: a\n\n\xEF\xBB\xBFdata: b\n\n")).to eq([message("a")])
      expect(events("data: \xEF\xBB\xBFa\n\n")).to eq([message("\u{FEFF}a")])
    end

    it "keeps a partial BOM as bytes" do
      expect(events("\xEF\xBBdata: a\n\ndata: b\n\n")).to eq([message("b")])
      expect(events("\xEFdata: a\n\n\n")).to eq([])
    end
  end

  describe "dispatch" do
    it "does not dispatch an event without data" do
      expect(events("event: foo\n\nid: 3\n\nretry: 5\n\n: c\n\n\n\n")).to eq([])
    end

    it "dispatches an empty data line (WHATWG: the data buffer is then not empty)" do
      expect(events("data:\n\n")).to eq([message("")])
    end

    it "drops an unterminated event at the end of the stream" do
      expect(events("data: a\n\ndata: b\n")).to eq([message("a")])
      expect(events("data: a\n\ndata: b")).to eq([message("a")])
      expect(events("data: a\n\nevent: x\ndata: b\r")).to eq([message("a")])
    end

    it "starts a new stream after finish (the BOM again; id and retry stay)" do
      parser = described_class.new
      got = []
      parser.feed("id: 9\nretry: 10\ndata: a\n\ndata: lost") { |*e| got << e }
      parser.finish
      parser.feed("\xEF\xBB\xBFdata: b\n\n".b) { |*e| got << e }
      expect(got).to eq([message("a", "9"), message("b", "9")])
      expect(parser.retry_ms).to eq(10)
    end

    it "yields frozen UTF-8 Strings with invalid bytes replaced" do
      r = events("event: t\xFF\ndata: a\xE2\x82\nid: \xC3\n\n")
      expect(r).to eq([["t\u{FFFD}", "a\u{FFFD}", "\u{FFFD}"]])
    end
  end

  describe "bounds" do
    it "fails on an event over max_event_bytes and keeps failing" do
      input = "data: ok\n\ndata: #{'x' * 100}\n\ndata: after\n\n"
      r = events(input, max: 64)
      expect(r).to eq([message("ok"), [:error, "SSE event larger than max_event_bytes (64)"]])
      parser = described_class.new(64)
      expect { parser.feed(input) { nil } }.to raise_error(RubyLLM::AgentSDK::JSONDecodeError)
      expect { parser.feed("data: x\n\n") { nil } }.to raise_error(RubyLLM::AgentSDK::JSONDecodeError)
    end

    it "counts all field lines of an event, and a comment on its own" do
      expect(events("data: #{'a' * 20}\ndata: #{'b' * 20}\ndata: #{'c' * 20}\n\n", max: 64).last.first).to eq(:error)
      expect(events(": #{'c' * 60}\n: #{'c' * 60}\ndata: #{'a' * 55}\n\n", max: 64)).to eq([message("a" * 55)])
      expect(events(": #{'c' * 70}\n\n", max: 64).last.first).to eq(:error)
    end

    it "fails on a line over the limit before it ends" do
      parser = described_class.new(64)
      expect { parser.feed("data: #{'x' * 100}") { nil } }.to raise_error(RubyLLM::AgentSDK::JSONDecodeError)
    end

    it "accepts an event of exactly max_event_bytes" do
      expect(events("data: #{'x' * 58}\n\n", max: 64)).to eq([message("x" * 58)])
      expect(events("data: #{'x' * 59}\n\n", max: 64).last.first).to eq(:error)
    end
  end

  describe "the block" do
    it "may raise: the rest of the chunk is kept for the next call" do
      parser = described_class.new
      got = []
      calls = 0
      block = lambda do |_t, data, _i|
        calls += 1
        raise "boom" if calls == 2

        got << data
      end
      expect { parser.feed("data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4", &block) }.to raise_error("boom")
      parser.feed("\n\n", &block)
      expect(got).to eq(%w[1 3 4])
    end

    it "may break" do
      parser = described_class.new
      first = parser.feed("data: 1\n\ndata: 2\n\n") { |_t, data, _i| break data }
      expect(first).to eq("1")
      got = []
      parser.finish { |_t, data, _i| got << data }
      expect(got).to eq(["2"])
    end

    it "may not feed the same parser" do
      parser = described_class.new
      expect { parser.feed("data: 1\n\n") { parser.feed("x") { nil } } }.to raise_error(RuntimeError, /own block/)
      got = []
      parser.feed("data: 2\n\n") { |_t, d, _i| got << d }
      expect(got).to eq(["2"])
    end

    it "reads its chunk safely when the block changes the caller's String" do
      chunk = +"data: 1\n\ndata: 2\n\n"
      got = []
      described_class.new.feed(chunk) do |_t, d, _i|
        chunk.replace("x" * 10_000)
        got << d
      end
      expect(got).to eq(%w[1 2])
    end

    it "is required by feed" do
      expect { described_class.new.feed("data: 1\n\n") }.to raise_error(LocalJumpError)
    end
  end

  it "checks max_event_bytes" do
    expect { described_class.new(0) }.to raise_error(ArgumentError)
    expect { described_class.new("1") }.to raise_error(ArgumentError)
    expect(described_class.new(100).max_event_bytes).to eq(100)
    expect { described_class.new.clone }.to raise_error(TypeError, /can't be copied/)
  end

  it "survives GC.stress" do
    GC.stress = true
    r = outcome(["id: 1\nevent: e\ndata: a\n", "data: b\r", "\n\r\n: c\n", "data: z\n\n"], 1024)
    GC.stress = false
    expect(r[:events]).to eq([["e", "a\nb", "1"], ["message", "z", "1"]])
  ensure
    GC.stress = false
  end
end
