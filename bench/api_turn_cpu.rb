# frozen_string_literal: true

# Client CPU per model turn, transport: :api, against ruby_llm 1.3.1 doing the same conversation. Numbers only.
#
#   ruby bench/api_turn_cpu.rb [M] [T] [--rounds R] [--skip-ruby-llm] [--tool-timeout S]   (bundle exec rake compile first)
#     M  queries per round (default 200; a quarter of that when events are spaced), after 10 warm-up queries
#     T  model turns per query (default 4): T-1 turns that say a short sentence and call a tool, then a final text
#     R  measured rounds (default 3): the best and the median round are shown
#     S  agent_sdk's tool_timeout: (default none): with one, each tool call runs in a thread of its own instead of
#        the caller's
#
# ruby_llm side (optional; skipped with a note when not installed): bench/install_ruby_llm.sh (into the git-ignored
# bench/vendor/gems).
#
# What is measured. bin/fake-model-server runs as its own process (its CPU is not the client's), scripted with
# (10 + R × M) × T turns: each turn streams as the real Messages API does (message_start, ping, a text block one
# word per content_block_delta, a tool_use block in input_json_delta pieces, message_delta with usage,
# message_stop). Three ways, each measured for both clients:
#   one write      — `burst: true`: the whole response (every event in its own chunk) in one socket write. The client
#                    reads a turn in one or two wake-ups: this is its own work per turn (request, parsing, loop,
#                    tools, messages), the same for every client whatever its speed.
#   back to back   — each event written to the socket on its own, no pause between them. How many wake-ups a turn
#                    costs then depends on the race between the two processes: a client faster than the (Ruby)
#                    server reads nearly every event on its own (and pays the kernel for each: wake-up, recv, ACK),
#                    a slower one finds many queued up.
#   0.5 ms apart   — `chunk_delay: 0.0005`: every event wakes the client up on its own, as a real stream (whose events
#                    come tens of ms apart) does. 0.5 ms keeps the run short; the client's work is the same.
# Conversation: a ~2 KB system prompt, a prompt, then per tool turn "Let me check…" (~50 bytes) + a tool_use of
# lookup_order {order_number}; the tool is plain Ruby and returns a Hash that becomes ~320 bytes of JSON; the final
# answer is ~560 bytes of text (~90 deltas).
#
# agent_sdk: RubyLLM::AgentSDK.query(prompt, transport: :api, session_store: :memory, tools: [LookupOrder], …) with a
# block that reads each message's type and content, one query after the other, in this process.
# ruby_llm:  in a subprocess with GEM_PATH=bench/vendor/gems (ruby_llm 2.x needs Ruby 3.2; 1.3.1 is the newest for
# 3.1.2), a fresh RubyLLM.chat(...).with_instructions(system).with_tool(LookupOrder) per query and one
# chat.ask(prompt) { |chunk| chunk.content } (ruby_llm loops over tool calls inside #ask). 1.3.1 has no
# anthropic_api_base setting, so the subprocess redefines RubyLLM::Providers::Anthropic.api_base to the fake
# server's URL (one method returning a String; nothing else is changed).
#
# CPU = CLOCK_PROCESS_CPUTIME_ID (every thread of the process, GC included) around each round of M queries only
# (requires, server start and warm-up excluded), divided by M × T; the best round is the figure, the median is
# shown too, and the share of it spent in the kernel (Process.times stime: tick-sampled, approximate; on loopback it
# includes the TCP work of the ACKs the client sends). Wall time and the server process's CPU (warm-up included) are
# shown too.
require "json"
require "rbconfig"
require_relative "support/fake_server_process"

ROOT = File.expand_path("..", __dir__)
RUBY_LLM_GEMS = File.join(__dir__, "vendor", "gems")
WARMUP = 10
MODEL = "claude-sonnet-4-20250514"
SYSTEM_PROMPT = ("You are the support agent of Example Shop, an online store selling kitchen equipment. " \
                 "Answer customers politely and precisely. Use the lookup_order tool to find an order's status, " \
                 "carrier and tracking number before you answer any question about an order. Never invent " \
                 "tracking numbers, delivery dates or refunds. If the order cannot be found, ask for the order " \
                 "number again. Keep answers under 120 words and do not use Markdown headings. ") * 5
FINAL_TEXT = ("Your order ORD-%<n>d has shipped. It left our warehouse in Leeds on Tuesday and is now with DHL " \
              "Express; the tracking number is 1Z999AA10123456784 and the carrier expects to deliver it on " \
              "Friday between 9:00 and 13:00. You will get an email with a link to change the delivery slot " \
              "if that does not suit you. The parcel holds two items: the cast-iron casserole (24 cm) and the " \
              "set of three linen tea towels. If anything arrives damaged, reply to this message within 30 days " \
              "and we will send a replacement at no cost. Is there anything else I can help you with today?")
TOOL_TEXT = "Let me check the status of that order for you."

def tool_result(order_number)
  { "order_number" => order_number, "status" => "shipped", "carrier" => "DHL Express",
    "tracking" => "1Z999AA10123456784", "shipped_at" => "2026-03-03T10:14:00Z",
    "estimated_delivery" => "2026-03-06", "warehouse" => "Leeds",
    "items" => [{ "sku" => "CI-CASS-24", "name" => "Cast-iron casserole 24 cm", "qty" => 1 },
                { "sku" => "TT-LIN-3", "name" => "Linen tea towels (3)", "qty" => 1 }] }
end

def script(queries, turns)
  (0...queries).flat_map do |q|
    tools = (1...turns).map do |k|
      { text: TOOL_TEXT, tool_use: { name: "lookup_order", input: { order_number: "ORD-#{q}#{k}" } },
        usage: { input_tokens: 700 + 150 * k, output_tokens: 45 } }
    end
    [*tools, { text: format(FINAL_TEXT, n: q), usage: { input_tokens: 700 + 150 * turns, output_tokens: 120 } }]
  end
end

def prompt(q) = "Hello, where is my order ORD-#{q}? I ordered it last week and have not heard anything since."

def with_mode(turns, mode)
  case mode
  when :burst then turns.map { |t| t.merge(burst: true) }
  when Float then mode.positive? ? turns.map { |t| t.merge(chunk_delay: mode) } : turns
  end
end

def median(values) = values.sort[values.size / 2]

# WARMUP queries, reset.call, then `rounds` rounds of `queries` queries: a GC first, the process's CPU around each
# round only. {"cpus" => [seconds per round], "wall" => seconds, "sys" => the kernel's share of the CPU}.
def measure_rounds(queries, rounds, reset, run)
  WARMUP.times { |q| run.call(q) }
  reset.call
  cpus = []
  wall0, times0 = BenchUtil.wall_now, Process.times
  rounds.times do |round|
    GC.start
    cpu0 = BenchUtil.cpu_now
    queries.times { |q| run.call(WARMUP + round * queries + q) }
    cpus << BenchUtil.cpu_now - cpu0
  end
  times = Process.times
  sys = (times.stime - times0.stime) / (times.utime - times0.utime + times.stime - times0.stime)
  { "cpus" => cpus, "wall" => BenchUtil.wall_now - wall0, "sys" => sys }
end

# ---- the ruby_llm subprocess ------------------------------------------------------------------------------------
if ARGV[0] == "--ruby-llm-child"
  base_url, queries, turns, rounds = ARGV[1], Integer(ARGV[2]), Integer(ARGV[3]), Integer(ARGV[4])
  require "ruby_llm"
  RubyLLM.configure do |c|
    c.anthropic_api_key = "sk-ant-bench-0000"
    c.max_retries = 0
    c.log_file = $stderr
  end
  RubyLLM::Providers::Anthropic.define_singleton_method(:api_base) { |_config| base_url }

  calls = 0
  tool = Class.new(RubyLLM::Tool) do
    description "Look up an order by its number"
    param :order_number, desc: "e.g. ORD-1042"
    define_method(:execute) do |order_number:|
      calls += 1
      tool_result(order_number)
    end
  end
  Object.const_set(:LookupOrder, tool)

  ok = 0
  run = lambda do |q|
    chat = RubyLLM.chat(model: MODEL, provider: :anthropic).with_instructions(SYSTEM_PROMPT).with_tool(LookupOrder)
    answer = chat.ask(prompt(q)) { |chunk| chunk.content }
    ok += 1 if answer.content == format(FINAL_TEXT, n: q) && chat.messages.size == 2 + 2 * (turns - 1) + 1
  end
  r = measure_rounds(queries, rounds, -> { ok = calls = 0 }, run)
  puts JSON.generate(r.merge("ok" => ok, "tool_calls" => calls, "version" => RubyLLM::VERSION))
  exit
end

# ---- agent_sdk, in this process -----------------------------------------------------------------------------------
$LOAD_PATH.unshift File.join(ROOT, "lib")
require "ruby_llm/agent_sdk"

args = ARGV.dup
rounds = Integer((i = args.index("--rounds")) ? args.slice!(i, 2).last : 3)
TOOL_TIMEOUT = (i = args.index("--tool-timeout")) ? Float(args.slice!(i, 2).last) : nil
skip_ruby_llm = args.delete("--skip-ruby-llm")
queries = Integer(args[0] || 200)
turns = Integer(args[1] || 4)
abort "T must be >= 2" if turns < 2

$tool_calls = 0
class LookupOrder < RubyLLM::AgentSDK::Tool
  description "Look up an order by its number"
  param :order_number, :string, required: true, description: "e.g. ORD-1042"
  def call(order_number:)
    $tool_calls += 1
    tool_result(order_number)
  end
end

def measure_agent_sdk(server, queries, turns, rounds)
  options = { transport: :api, model: MODEL, base_url: server.base_url, api_key: "sk-ant-bench-0000",
              system_prompt: SYSTEM_PROMPT, session_store: :memory, tools: [LookupOrder], max_turns: turns + 2,
              tool_timeout: TOOL_TIMEOUT }
  ok = 0
  run = lambda do |q|
    last = nil
    RubyLLM::AgentSDK.query(prompt(q), **options) do |m|
      m.type
      m.content
      last = m
    end
    ok += 1 if last.result? && last.subtype == "success" && last.num_turns == turns &&
               last.content == format(FINAL_TEXT, n: q)
  end
  r = measure_rounds(queries, rounds, -> { ok = $tool_calls = 0 }, run)
  r.merge("ok" => ok, "tool_calls" => $tool_calls)
end

def measure_ruby_llm(server, queries, turns, rounds)
  env = { "GEM_HOME" => RUBY_LLM_GEMS, "GEM_PATH" => RUBY_LLM_GEMS, "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil,
          "BUNDLE_BIN_PATH" => nil, "RUBYLIB" => nil }
  out = IO.popen(env, [RbConfig.ruby, __FILE__, "--ruby-llm-child", server.base_url, queries.to_s, turns.to_s,
                       rounds.to_s], &:read)
  ($?.success? && JSON.parse(out.lines.last.to_s)) or abort "ruby_llm subprocess failed"
end

# Best and median µs per turn of the rounds, and one line of detail.
def report(name, r, queries, turns, rounds, server_cpu, extra = "")
  n = queries * turns
  best, med = r["cpus"].min / n * 1e6, median(r["cpus"]) / n * 1e6
  puts format("  %-9s %7.1f µs/turn (median %6.1f, %2d%% in the kernel)   %d×%d queries × %d turns, %.2f s wall; " \
              "%d/%d correct, %d tool calls; server %.2f s CPU%s", name, best, med, r["sys"] * 100, rounds, queries, turns,
              r["wall"], r["ok"], rounds * queries, r["tool_calls"], server_cpu, extra)
  best
end

ruby_llm_installed = Dir[File.join(RUBY_LLM_GEMS, "gems", "ruby_llm-*")].any?
puts "Client CPU per model turn, transport: :api vs ruby_llm — #{turns} turns a query (#{turns - 1} tool_use + 1 text), " \
     "#{WARMUP} warm-up queries, best of #{rounds} rounds; Ruby #{RUBY_VERSION}, #{Etc.nprocessors} cores"
puts format("  system prompt %d B, tool text %d B + tool result %d B of JSON, final text %d B",
            SYSTEM_PROMPT.bytesize, TOOL_TEXT.bytesize, JSON.generate(tool_result("ORD-0")).bytesize,
            format(FINAL_TEXT, n: 0).bytesize)

[["whole response in one write", :burst, queries], ["events back to back", 0.0, queries],
 ["events 0.5 ms apart", 0.0005, [queries / 4, 1].max]].each do |label, mode, q|
  puts "#{label}:"
  turns_script = with_mode(script(WARMUP + rounds * q, turns), mode)
  server = FakeServerProcess.start(turns_script)
  begin
    c0 = server.cpu
    sdk = measure_agent_sdk(server, q, turns, rounds)
    sdk_us = report("agent_sdk", sdk, q, turns, rounds, server.cpu - c0)
  ensure
    server.stop
  end
  next puts("  ruby_llm  (not installed: bench/install_ruby_llm.sh)") if skip_ruby_llm || !ruby_llm_installed

  server = FakeServerProcess.start(turns_script)
  begin
    c0 = server.cpu
    llm = measure_ruby_llm(server, q, turns, rounds)
    llm_us = report("ruby_llm", llm, q, turns, rounds, server.cpu - c0, "; ruby_llm #{llm['version']}, Faraday net_http")
  ensure
    server.stop
  end
  puts format("  ratio     ruby_llm / agent_sdk = %.1f×", llm_us / sdk_us)
end
