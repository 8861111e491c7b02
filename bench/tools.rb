# frozen_string_literal: true

# Cost of the tool layer per call.
#
#   ruby -Ilib bench/tools.rb [N]     (rake compile first; N: iterations, default 20000)
#
# Measures, CPU time per call, best of 3:
#   (a) Native::ToolRegistry#check of a typical valid input (~200 bytes)   C: parse + validate
#   (b) the same for an input with 6 problems                              C: parse + validate + message
#   (c) #seen? (canonical form + SHA-256 + set)                            C
#   (d) for scale: JSON.parse of the same input                            what any Ruby-side check starts with
#   (e) ToolRunner#run of one call, no timeout: runs in this thread        everything around a tool's #call
#   (e') the same with a timeout: the call runs in a thread of its own      + a thread per call
# and wall time of (f): 8 calls that sleep 50 ms, parallel vs one after the other.
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "ruby_llm/agent_sdk"
require "json"

SDK = RubyLLM::AgentSDK
n = Integer(ARGV[0] || 20_000)

class BenchLookup < SDK::Tool
  description "Look up an order"
  param :order_number, :string, required: true, min_length: 5, max_length: 32
  param :include_items, :boolean
  param :limit, :integer, minimum: 1, maximum: 100
  param :skus, :array, items: { type: "string", minLength: 3 }, max_items: 20
  param :filters, :object
  def call(order_number:, **) = order_number
end

class BenchNap < SDK::Tool
  param :i, :integer, required: true
  def call(i:) = sleep(0.05) && i.to_s
end

good = JSON.generate("order_number" => "ORD-123456", "include_items" => true, "limit" => 25,
                     "skus" => %w[SKU-1 SKU-22 SKU-333 SKU-4444], "filters" => { "status" => "shipped", "since" => "2026-01-01" })
bad = JSON.generate("order_number" => 123, "include_items" => "yes", "limit" => 0, "skus" => ["a", 2], "extra" => true)
registry = SDK::Native::ToolRegistry.new([["bench_lookup", JSON.generate(BenchLookup.input_schema)]])
problems = registry.check("bench_lookup", bad).to_s.split("; ").size
raise "unexpected" unless registry.check("bench_lookup", good).nil? && problems == 6

def cpu = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)

def best(n)
  Array.new(3) do
    t = cpu
    n.times { |i| yield i }
    (cpu - t) / n
  end.min
end

def show(label, seconds) = puts(format("%-62s %8.2f µs/call", label, seconds * 1e6))

puts "input: #{good.bytesize} bytes; #{n} iterations; Ruby #{RUBY_VERSION}"
show "(a) ToolRegistry#check, valid input", best(n) { registry.check("bench_lookup", good) }
show "(b) ToolRegistry#check, #{problems} problems", best(n) { registry.check("bench_lookup", bad) }
show "(c) ToolRegistry#seen? (canonical + SHA-256), new each time", best(n) { |i| registry.seen?("bench_lookup", "{\"n\":#{i}}") }
show "(d) baseline: JSON.parse of the input", best(n) { JSON.parse(good) }
runner = SDK::ToolRunner.new([BenchLookup], dedup: false)
call = [{ id: "t", name: "bench_lookup", input: JSON.parse(good) }]
show "(e) ToolRunner#run, one call, no timeout (this thread)", best(n / 10) { runner.run(call) }
timed = SDK::ToolRunner.new([BenchLookup], dedup: false, default_timeout: 30)
show "(e') ToolRunner#run, one call with a timeout (its own thread)", best(n / 10) { timed.run(call) }

naps = Array.new(8) { |i| { id: i.to_s, name: "bench_nap", input: { "i" => i } } }
[true, false].each do |parallel|
  r = SDK::ToolRunner.new([BenchNap], parallel: parallel)
  t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  r.run(naps)
  puts format("(f) 8 calls sleeping 50 ms, parallel: %-5s %26.0f ms", parallel, (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t) * 1e3)
end
