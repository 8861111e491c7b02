# frozen_string_literal: true

# Throughput of turning CLI stream-json output into messages.
#
#   ruby -Ilib bench/parse_stream_json.rb [MB] [--builtin]     (rake compile first; MB: corpus size, default 50)
#
# Corpus: the lines of bench/data/cli_sample.jsonl (real CLI output) when present (and no --builtin), else a built-in session
# modelled on REFERENCE.md (system init, assistant text and tool_use, user tool_result with 20-60 KB file
# contents and the CLI's tool_use_result copy, result with usage), repeated with fresh uuids.
# Measures, CPU time, best of 3, fed in 64 KiB chunks as a pipe would deliver them:
#   (a) LineReader + Native.parse_message                           what the gem does per line
#   (b) (a) + reading type, content, tool_calls, usage, session_id  a job's typical access
#   (c) pure Ruby: String framing + JSON.parse + a Ruby message object extracting the same fields
#   (d) (a) + Message#to_h                                          full materialisation
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "ruby_llm/agent_sdk"
require "json"
require "securerandom"

Native = RubyLLM::AgentSDK::Native
CHUNK = 64 * 1024
builtin = ARGV.delete("--builtin")
target_bytes = (ARGV[0] || 50).to_f * 1_000_000

sample = File.expand_path("data/cli_sample.jsonl", __dir__)
if File.exist?(sample) && !builtin
  source = "bench/data/cli_sample.jsonl (recorded CLI output)"
  template = File.readlines(sample, chomp: true).reject { |l| l.strip.empty? }
else
  source = "built-in synthetic session#{" (bench/data/cli_sample.jsonl not found)" unless builtin}"
  code = Dir[File.expand_path("../lib/**/*.rb", __dir__)].sort.map { |f| File.read(f) }.join("\n")
  code = code * (60_000 / code.size + 1)
  session = "8f0c2a4e-0d1b-4c59-9a57-5b7f3f0e9a11"
  usage = { "input_tokens" => 4, "cache_creation_input_tokens" => 1834, "cache_read_input_tokens" => 14_629,
            "cache_creation" => { "ephemeral_5m_input_tokens" => 1834, "ephemeral_1h_input_tokens" => 0 },
            "output_tokens" => 181, "service_tier" => "standard" }
  tools = %w[Task Bash Glob Grep ExitPlanMode Read Edit Write NotebookEdit WebFetch TodoWrite WebSearch BashOutput
             KillShell SlashCommand]
  lines = [{ "type" => "system", "subtype" => "init", "cwd" => "/app", "session_id" => session, "tools" => tools,
             "mcp_servers" => [], "model" => "claude-sonnet-4-5-20250929", "permissionMode" => "bypassPermissions",
             "slash_commands" => %w[compact context cost init review security-review], "apiKeySource" => "ANTHROPIC_API_KEY",
             "claude_code_version" => "2.1.3", "output_style" => "default", "agents" => %w[general-purpose],
             "uuid" => "" }]
  [20_000, 35_000, 60_000, 28_000, 45_000, 52_000].each_with_index do |size, i|
    id = "toolu_01#{i}Xb7Qm4Jz9kT2vN8pR5sW"
    path = "/app/lib/file_#{i}.rb"
    text = code[0, size].lines.each_with_index.map { |l, n| "#{(n + 1).to_s.rjust(6)}\u2192#{l}" }.join
    message = { "id" => "msg_01#{i}", "type" => "message", "role" => "assistant", "model" => "claude-sonnet-4-5-20250929",
                "stop_reason" => nil, "stop_sequence" => nil, "usage" => usage }
    lines << { "type" => "assistant",
               "message" => message.merge("content" => [{ "type" => "text", "text" => "I'll read `#{path}` to see how the " \
                                                                                  "client handles retries and budgets." }]),
               "parent_tool_use_id" => nil, "session_id" => session, "uuid" => "" }
    lines << { "type" => "assistant",
               "message" => message.merge("content" => [{ "type" => "tool_use", "id" => id, "name" => "Read",
                                                          "input" => { "file_path" => path } }]),
               "parent_tool_use_id" => nil, "session_id" => session, "uuid" => "" }
    lines << { "type" => "user",
               "message" => { "role" => "user", "content" => [{ "tool_use_id" => id, "type" => "tool_result", "content" => text }] },
               "parent_tool_use_id" => nil, "session_id" => session, "uuid" => "",
               "tool_use_result" => { "type" => "text", "file" => { "filePath" => path, "content" => code[0, size],
                                                                    "numLines" => text.count("\n"), "startLine" => 1,
                                                                    "totalLines" => text.count("\n") } } }
  end
  lines << { "type" => "result", "subtype" => "success", "is_error" => false, "duration_ms" => 48_211,
             "duration_api_ms" => 45_873, "num_turns" => 7, "result" => "The client retries 408, 409, 429 and 5xx twice.",
             "stop_reason" => "end_turn", "session_id" => session, "total_cost_usd" => 0.1289, "usage" => usage,
             "modelUsage" => { "claude-sonnet-4-5-20250929" => { "inputTokens" => 28, "outputTokens" => 1267,
                                                                  "costUSD" => 0.1289, "contextWindow" => 200_000 } },
             "permission_denials" => [], "uuid" => "" }
  template = lines.map { |l| JSON.generate(l) }
end

uuid = /"uuid":"[^"]*"/
corpus = +""
corpus << template.map { |l| l.gsub(uuid) { %("uuid":"#{SecureRandom.uuid}") } }.join("\n") << "\n" while corpus.bytesize < target_bytes
corpus.freeze
chunks = (0...corpus.bytesize).step(CHUNK).map { |i| corpus.byteslice(i, CHUNK) }
line_count = corpus.count("\n")

# The same fields as the C extractor, the way a pure-Ruby gem would read them off JSON.parse's Hash.
class RubyMessage
  attr_reader :type, :subtype, :uuid, :session_id, :content, :tool_calls, :tool_name, :model, :usage,
              :total_cost_usd, :num_turns, :is_error, :stop_reason, :raw

  def initialize(line)
    @raw = line
    h = JSON.parse(line)
    message = h["message"].is_a?(Hash) ? h["message"] : {}
    blocks = message["content"].is_a?(Array) ? message["content"] : []
    @type = (h["type"] || "unknown").to_sym
    @subtype = h["subtype"]
    @uuid = h["uuid"]
    @session_id = h["session_id"]
    @model = h["model"] || message["model"]
    @usage = h["usage"] || message["usage"]
    @stop_reason = h["stop_reason"] || message["stop_reason"]
    @total_cost_usd = h["total_cost_usd"]&.to_f
    @num_turns = h["num_turns"]
    @tool_calls = blocks.select { |b| b["type"] == "tool_use" }.map { |b| { id: b["id"], name: b["name"], input: b["input"] } }
    @tool_name = @tool_calls.first&.dig(:name) || h["tool_name"]
    @is_error = h.key?("is_error") ? h["is_error"] : (true if blocks.any? { |b| b["type"] == "tool_result" && b["is_error"] })
    @content = h["content"].is_a?(String) ? h["content"] : h["result"] || text_of(message["content"])
  end

  private

  def text_of(content)
    return content if content.is_a?(String)
    return nil unless content.is_a?(Array)

    texts = content.flat_map do |b|
      case b["type"]
      when "text" then [b["text"]]
      when "tool_result"
        c = b["content"]
        c.is_a?(String) ? [c] : Array(c).select { |x| x["type"] == "text" }.map { |x| x["text"] }
      else []
      end
    end
    texts.empty? ? nil : texts.join("\n")
  end
end

def read_fields(m)
  m.type
  m.content
  m.tool_calls
  m.usage
  m.session_id
end

runs = {
  a: lambda do
    reader = Native::LineReader.new
    chunks.each { |c| reader.feed(c) { |_, line| Native.parse_message(line) } }
    reader.finish { |_, line| Native.parse_message(line) }
  end,
  b: lambda do
    reader = Native::LineReader.new
    chunks.each { |c| reader.feed(c) { |_, line| read_fields(Native.parse_message(line)) } }
    reader.finish { |_, line| read_fields(Native.parse_message(line)) }
  end,
  c: lambda do
    buffer = +""
    chunks.each do |c|
      buffer << c
      while (i = buffer.index("\n"))
        line = buffer.slice!(0, i + 1).chomp!
        read_fields(RubyMessage.new(line)) if line.lstrip.start_with?("{")
      end
    end
  end,
  d: lambda do
    reader = Native::LineReader.new
    chunks.each { |c| reader.feed(c) { |_, line| Native.parse_message(line).to_h } }
    reader.finish { |_, line| Native.parse_message(line).to_h }
  end
}

def cpu = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)

mb = corpus.bytesize / 1e6
puts "corpus: #{source}"
puts format("        %.1f MB, %d lines (%.1f KB average), fed in %d KiB chunks; ruby %s, json %s",
            mb, line_count, corpus.bytesize / 1e3 / line_count, CHUNK / 1024, RUBY_VERSION, JSON::VERSION)
labels = { a: "(a) LineReader + parse_message", b: "(b) (a) + type/content/tool_calls/usage",
           c: "(c) Ruby framing + JSON.parse + Ruby message", d: "(d) (a) + to_h (full materialisation)" }
rates = runs.to_h do |key, run|
  best = Array.new(3) do
    GC.start
    t = cpu
    run.call
    cpu - t
  end.min
  puts format("%-45s %8.1f MB/s  (%.3f s CPU, best of 3)", labels[key], mb / best, best)
  [key, mb / best]
end
puts format("ratio a/c: %.1fx   b/c: %.1fx", rates[:a] / rates[:c], rates[:b] / rates[:c])
