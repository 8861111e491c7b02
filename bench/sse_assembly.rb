# frozen_string_literal: true

# Throughput of turning a streamed Anthropic Messages response (SSE bytes) into one assembled turn.
#
#   ruby -Ilib bench/sse_assembly.rb [MB]       (rake compile first; MB: stream size, default 24)
#
# The stream: one long, realistic message — many small text_delta events (one to three words each, some
# non-ASCII, quotes and newlines), thinking blocks with a signature, tool_use inputs sent as many small
# input_json_delta fragments (the first one empty), pings — generated with a fixed seed, fed in 64 KiB chunks.
# All three paths read the SAME bytes and must produce the same message; each is timed best of 3, wall clock
# (single-threaded work on in-memory input; CPU time is printed too):
#   (a) Native::StreamAssembler without a block, then #turn (the Ruby Hash, tool inputs parsed)
#   (b) pure Ruby: WHATWG line splitting on Strings + JSON.parse per event + assembling the same turn
#   (c) the official TypeScript SDK (@anthropic-ai/sdk): its SSE decoding and MessageStream accumulation,
#       via bench/node/sse_bench.mjs (npm install in bench/node first; skipped with a note when missing)
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "ruby_llm/agent_sdk"
require "json"
require "tempfile"
require "open3"

Native = RubyLLM::AgentSDK::Native
CHUNK = 64 * 1024
RUNS = 3
target_bytes = (ARGV[0] || 24).to_f * 1_000_000

# ---- the stream -------------------------------------------------------------------------------------------

module Corpus
  WORDS = %w[the a model tool call input file read write search result because however which would should
             Ruby Rails ActiveRecord migration controller request response stream token budget cost retry
             naïve café résumé déjà-vu ✓ → 🙂 "quoted" it's 42 3.14 (parenthesised) [bracketed] `code` path/to/file.rb
             ::Constant #method {hash} snake_case CamelCase].freeze

  def self.event(name, data)
    "event: #{name}\ndata: #{JSON.generate(data)}\n\n"
  end

  def self.words(rng, n)
    Array.new(n) { WORDS[rng.rand(WORDS.size)] }.join(" ")
  end

  def self.tool_input(rng)
    { "file_path" => "/app/#{words(rng, 2).tr(' ', '/')}.rb",
      "pattern" => "def #{WORDS[rng.rand(WORDS.size)]}",
      "old_string" => words(rng, rng.rand(20..120)),
      "new_string" => "#{words(rng, rng.rand(20..120))}\n  end\n",
      "replace_all" => rng.rand(2).zero?, "limit" => rng.rand(1..500) }
  end

  # Splits a string into fragments of 1..max characters (as the API sends partial_json).
  def self.fragments(rng, str, max)
    chars = str.chars
    out = [""]
    out << chars.shift(rng.rand(1..max)).join until chars.empty?
    out
  end

  def self.generate(target_bytes, seed: 20_250_101)
    rng = Random.new(seed)
    out = +""
    out << event("message_start", type: "message_start",
                                   message: { id: "msg_01BenchStream", type: "message", role: "assistant",
                                              model: "claude-sonnet-4-5", content: [], stop_reason: nil, stop_sequence: nil,
                                              usage: { input_tokens: 2095, cache_creation_input_tokens: 0,
                                                       cache_read_input_tokens: 14_629, output_tokens: 1 } })
    out << event("ping", type: "ping")
    index = 0
    delta = ->(d) { out << event("content_block_delta", type: "content_block_delta", index: index, delta: d) }
    events = 0
    while out.bytesize < target_bytes
      kind = rng.rand(10)
      if kind.zero?
        out << event("content_block_start", type: "content_block_start", index: index,
                                             content_block: { type: "thinking", thinking: "" })
        rng.rand(30..120).times { delta.call(type: "thinking_delta", thinking: "#{words(rng, rng.rand(1..4))} ") }
        delta.call(type: "signature_delta", signature: [rng.bytes(180)].pack("m0"))
      elsif kind < 7
        out << event("content_block_start", type: "content_block_start", index: index,
                                             content_block: { type: "text", text: "" })
        rng.rand(80..400).times do
          text = "#{words(rng, rng.rand(1..3))}#{rng.rand(25).zero? ? "\n\n" : ' '}"
          delta.call(type: "text_delta", text: text)
          out << event("ping", type: "ping") if (events += 1) % 500 == 0
        end
      else
        out << event("content_block_start", type: "content_block_start", index: index,
                                             content_block: { type: "tool_use", id: "toolu_01#{rng.rand(36**22).to_s(36)}",
                                                              name: %w[Read Edit Grep Bash][rng.rand(4)], input: {} })
        fragments(rng, JSON.generate(tool_input(rng)), 40).each do |f|
          delta.call(type: "input_json_delta", partial_json: f)
        end
      end
      out << event("content_block_stop", type: "content_block_stop", index: index)
      index += 1
    end
    out << event("message_delta", type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: nil },
                                  usage: { output_tokens: out.bytesize / 40 })
    out << event("message_stop", type: "message_stop")
    out.b
  end
end

# ---- (b) pure Ruby ----------------------------------------------------------------------------------------

# WHATWG event-stream framing on Strings and a Messages API turn assembled in Ruby, written for speed the way
# a careful Ruby library would: one regexp search per line end, JSON.parse once per event.
class RubyAssembler
  LINE_END = /[\r\n]/n.freeze
  KNOWN = %w[message_start content_block_start content_block_delta content_block_stop message_delta message_stop
             error message].freeze
  USAGE_KEYS = %w[input_tokens output_tokens cache_creation_input_tokens cache_read_input_tokens].freeze

  attr_reader :turn

  def initialize
    @buf = "".b
    @last_cr = false
    @data = nil
    @type = nil
    @blocks = {}
    @json = {}
    @turn = { "id" => nil, "model" => nil, "content" => [], "stop_reason" => nil,
              "usage" => USAGE_KEYS.to_h { |k| [k, 0] }, "complete" => false, "error" => nil }
  end

  def feed(chunk)
    buf = @buf.empty? ? chunk.b : (@buf << chunk)
    pos = 0
    if @last_cr
      @last_cr = false
      pos = 1 if buf.getbyte(0) == 10
    end
    size = buf.bytesize
    while (i = buf.index(LINE_END, pos))
      line = buf.byteslice(pos, i - pos)
      if buf.getbyte(i) == 13
        if i + 1 < size
          pos = buf.getbyte(i + 1) == 10 ? i + 2 : i + 1
        else
          pos = size
          @last_cr = true
        end
      else
        pos = i + 1
      end
      process_line(line)
    end
    @buf = pos == size ? "".b : buf.byteslice(pos, size - pos)
  end

  def finish
    @buf = "".b
    @data = @type = nil
  end

  private

  def process_line(line)
    return dispatch if line.empty?
    return if line.getbyte(0) == 58 # ":"

    if (c = line.index(":"))
      field = line.byteslice(0, c)
      value = line.byteslice(c + 1, line.bytesize - c - 1)
      value = value.byteslice(1, value.bytesize - 1) if value.getbyte(0) == 32
    else
      field = line
      value = ""
    end
    case field
    when "data" then @data ? (@data << "\n" << value) : (@data = value)
    when "event" then @type = value
    end
  end

  def dispatch
    data = @data
    type = @type.nil? || @type.empty? ? "message" : @type
    @data = @type = nil
    event(type, data.force_encoding(Encoding::UTF_8)) if data && KNOWN.include?(type) && !data.empty?
  end

  def event(name, data)
    ev = JSON.parse(data)
    case ev["type"] || name
    when "content_block_delta"
      block = @blocks[ev["index"]] or return
      d = ev["delta"]
      case d["type"]
      when "text_delta" then block["text"] << d["text"] if block["type"] == "text"
      when "input_json_delta" then @json[ev["index"]] << d["partial_json"] if @json.key?(ev["index"])
      when "thinking_delta" then block["thinking"] << d["thinking"] if block["type"] == "thinking"
      when "signature_delta" then block["signature"] << d["signature"] if block["type"] == "thinking"
      end
    when "content_block_start"
      return if @blocks.key?(ev["index"])

      cb = ev["content_block"]
      block = case cb["type"]
              when "text" then { "type" => "text", "text" => +cb["text"].to_s }
              when "tool_use"
                @json[ev["index"]] = +""
                { "type" => "tool_use", "id" => cb["id"], "name" => cb["name"], "input" => {} }
              when "thinking" then { "type" => "thinking", "thinking" => +cb["thinking"].to_s, "signature" => +cb["signature"].to_s }
              when "redacted_thinking" then { "type" => "redacted_thinking", "data" => cb["data"] }
              end
      @blocks[ev["index"]] = block || {}
      @turn["content"] << block if block
    when "content_block_stop"
      close(ev["index"])
    when "message_start"
      m = ev["message"]
      @turn["id"] = m["id"]
      @turn["model"] = m["model"]
      usage(m["usage"])
    when "message_delta"
      @turn["stop_reason"] = ev.dig("delta", "stop_reason") || @turn["stop_reason"]
      usage(ev["usage"])
    when "message_stop"
      @json.each_key { |i| close(i) }
      @turn["complete"] = true
    when "error"
      @turn["error"] = { "type" => ev.dig("error", "type"), "message" => ev.dig("error", "message") }
    end
  end

  def close(index)
    json = @json.delete(index) or return
    input = json.strip.empty? ? {} : JSON.parse(json)
    raise JSON::ParserError, "tool input is not an object" unless input.is_a?(Hash)

    @blocks[index]["input"] = input
  end

  def usage(u)
    return unless u

    USAGE_KEYS.each { |k| @turn["usage"][k] = u[k] if u[k].is_a?(Integer) }
  end
end

# ---- timing -------------------------------------------------------------------------------------------------

def measure
  best_wall = best_cpu = Float::INFINITY
  result = nil
  RUNS.times do
    GC.start
    w0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    c0 = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
    result = yield
    best_cpu = [best_cpu, Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) - c0].min
    best_wall = [best_wall, Process.clock_gettime(Process::CLOCK_MONOTONIC) - w0].min
  end
  [best_wall, best_cpu, result]
end

def chunks_of(bytes)
  Array.new((bytes.bytesize + CHUNK - 1) / CHUNK) { |i| bytes.byteslice(i * CHUNK, CHUNK) }
end

def summary(turn)
  content = turn["content"]
  { "blocks" => content.size, "types" => content.map { |b| b["type"] }.tally,
    "text_bytes" => content.sum { |b| (b["text"] || b["thinking"] || "").bytesize },
    "tool_input_bytes" => content.sum { |b| b["type"] == "tool_use" ? JSON.generate(b["input"]).bytesize : 0 },
    "stop_reason" => turn["stop_reason"], "output_tokens" => turn["usage"]["output_tokens"] }
end

bytes = Corpus.generate(target_bytes)
mb = bytes.bytesize / 1e6
chunks = chunks_of(bytes)
events = bytes.scan(/^event: (\w+)$/).flatten.tally
puts format("stream: %.1f MB, %d events (%s), fed in %d chunks of 64 KiB",
            mb, events.values.sum, events.sort_by { |_, n| -n }.map { |k, n| "#{k} #{n}" }.join(", "), chunks.size)
puts "ruby #{RUBY_VERSION}, json #{JSON::VERSION}; best of #{RUNS}, wall clock (CPU in brackets)"

wall_a, cpu_a, turn_a = measure do
  asm = Native::StreamAssembler.new(:anthropic)
  chunks.each { |c| asm.feed(c) }
  asm.finish.turn
end
wall_b, cpu_b, turn_b = measure do
  asm = RubyAssembler.new
  chunks.each { |c| asm.feed(c) }
  asm.finish
  asm.turn
end
raise "native and pure-Ruby turns differ" unless turn_a == turn_b
raise "turn incomplete" unless turn_a["complete"]

a = mb / wall_a
b = mb / wall_b
puts format("(a) Native::StreamAssembler (no block) + #turn  %8.1f MB/s  [%.1f MB/s CPU]", a, mb / cpu_a)
puts format("(b) pure Ruby (String framing + JSON.parse)     %8.1f MB/s  [%.1f MB/s CPU]", b, mb / cpu_b)

node_dir = File.expand_path("node", __dir__)
script = File.join(node_dir, "sse_bench.mjs")
c = nil
if !File.directory?(File.join(node_dir, "node_modules", "@anthropic-ai", "sdk"))
  puts "(c) TypeScript SDK: skipped (run `npm install` in bench/node)"
else
  Tempfile.create(["sse_assembly", ".sse"]) do |f|
    f.binmode
    f.write(bytes)
    f.close
    out, err, status = Open3.capture3("node", script, f.path, RUNS.to_s)
    raise "node failed: #{err}" unless status.success?

    r = JSON.parse(out.lines.last)
    unless r["summary"] == summary(turn_a)
      raise "the TypeScript SDK's message differs: #{r['summary'].inspect} vs #{summary(turn_a).inspect}"
    end

    c = r["wall_mbps"]
    puts format("(c) @anthropic-ai/sdk %s MessageStream (node %s) %5.1f MB/s  [%.1f MB/s CPU]",
                r["sdk"], r["node"], c, r["cpu_mbps"])
  end
end
puts format("a/b = %.1fx (target >= 5x)", a / b)
puts format("a/c = %.1fx (target >= 2x)", a / c) if c
