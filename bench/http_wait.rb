# frozen_string_literal: true

# How Native::HTTP waits: how fast a waiting thread can be stopped, and how much other Ruby threads get done
# while it waits. Numbers only, no assertions.
#
#   ruby -Ilib bench/http_wait.rb [ROUNDS] [SECONDS]     (rake compile first; ROUNDS default 20, SECONDS default 2)
#
# Against the in-process FakeServer on 127.0.0.1 (a stalled response: head sent, then nothing):
#   - Thread#kill, Thread#raise (what Timeout uses) and HTTP#cancel from another thread: time from the call
#     until the waiting thread has ended (joined) / the post has returned; median, min and max of ROUNDS.
#   - A counting thread (`n += 1` in a loop) for SECONDS: alone with the main thread asleep (baseline), and
#     while the main thread waits in #post on a response delayed by SECONDS, and while 8 threads wait at once.
#     Counts per second and their ratio to the baseline (near 1.0 = the GVL is released while waiting).
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "ruby_llm/agent_sdk"
require "ruby_llm/agent_sdk/testing"
require "json"

rounds = Integer(ARGV[0] || 20)
seconds = Float(ARGV[1] || 2)

HTTP = RubyLLM::AgentSDK::Native::HTTP
BODY = JSON.generate(model: "claude-sonnet-4-5", max_tokens: 16, stream: true,
                     messages: [{ role: "user", content: "hi" }])
HEADERS = { "x-api-key" => "sk-bench", "anthropic-version" => "2023-06-01", "content-type" => "application/json" }.freeze

def now
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

def stats(samples)
  s = samples.sort
  format("median %7.2f ms   min %7.2f ms   max %7.2f ms", s[s.size / 2] * 1000, s.first * 1000, s.last * 1000)
end

# Starts a thread stuck on a stalled response and returns it once the server has the request.
def stuck_thread(server, http, url)
  server.script([{ text: "never", fault: :stall }])
  server.clear_requests
  t = Thread.new do
    http.post(url, HEADERS, BODY) { |_| nil }
  rescue RuntimeError
    nil
  end
  server.wait_for_requests(1)
  sleep 0.05 # let it settle into the wait
  t
end

def count_while
  n = 0
  stop = false
  counter = Thread.new { n += 1 until stop }
  t0 = now
  yield
  stop = true
  counter.join
  n / (now - t0)
end

RubyLLM::AgentSDK::Testing::FakeServer.open do |server|
  url = "#{server.base_url}/v1/messages"
  http = HTTP.new(idle_timeout: 120)
  puts "Native::HTTP wait benchmark — ruby #{RUBY_VERSION}, #{rounds} rounds, #{seconds} s counting windows"
  puts

  kill = Array.new(rounds) do
    t = stuck_thread(server, http, url)
    t0 = now
    t.kill
    t.join
    now - t0
  end
  puts "Thread#kill  -> thread ended:  #{stats(kill)}"

  raised = Array.new(rounds) do
    t = stuck_thread(server, http, url)
    t0 = now
    t.raise(RuntimeError, "stop")
    t.join
    now - t0
  end
  puts "Thread#raise -> thread ended:  #{stats(raised)}"

  cancel = Array.new(rounds) do
    t = stuck_thread(server, http, url)
    t0 = now
    http.cancel
    t.join
    now - t0
  end
  puts "HTTP#cancel  -> post returned: #{stats(cancel)}"
  puts

  baseline = count_while { sleep seconds }
  server.script([{ text: "slow", delay: seconds }])
  one = count_while { http.post(url, HEADERS, BODY) }
  clients = Array.new(8) { HTTP.new }
  server.script(Array.new(8) { { text: "slow", delay: seconds } })
  eight = count_while { clients.map { |c| Thread.new { c.post(url, HEADERS, BODY) } }.each(&:join) }
  clients.each(&:close)

  puts format("counter, main thread asleep (baseline):   %14.0f /s", baseline)
  puts format("counter, main thread waiting in #post:     %14.0f /s  (%.2f x baseline)", one, one / baseline)
  puts format("counter, 8 threads waiting in #post:       %14.0f /s  (%.2f x baseline)", eight, eight / baseline)
  http.close
end
