# frozen_string_literal: true

require "securerandom"
require "socket"
require_relative "../../lib/ruby_llm/agent_sdk/testing"

# The fault matrix for transport: :api — servers that misbehave the way real ones do. Every case checks the same
# four things: the run ends within its bound with a typed outcome (a result message of the expected subtype), no
# child process or zombie is left, the transcript is kept (every message yielded is in the session store, in
# order, after the prompt), and the API key appears nowhere (messages, store, errors).
RSpec.describe "fault matrix: transport :api", fault: true do
  API_FAULT_KEY = "sk-ant-api03-FAULT#{SecureRandom.hex(12)}".freeze

  class FaultLookup < RubyLLM::AgentSDK::Tool
    tool_name "lookup"
    description "Looks up an order"
    param :order, :string, required: true
    def call(order:) = "order #{order}: shipped"
  end

  Outcome = Struct.new(:messages, :error, :lines, :requests, :seconds, keyword_init: true) do
    def result = messages.last
    def text = messages.select(&:assistant?).map(&:content).join
  end

  def children
    Dir.glob("/proc/[0-9]*/stat").filter_map do |f|
      fields = File.read(f).split(") ").last.split
      Integer(File.basename(File.dirname(f))) if Integer(fields[1]) == Process.pid
    rescue SystemCallError, ArgumentError
      nil
    end
  end

  # Runs one query against a FakeServer scripted with turns; fails the example when it is not over within bound s.
  def run_case(turns, bound: 15, base_url: nil, **options)
    store = SDK::SessionStore::Memory.new
    before = children
    SDK::Testing::FakeServer.open(turns) do |server|
      messages = []
      error = nil
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      opts = { transport: :api, model: "claude-sonnet-4-5", base_url: base_url || server.base_url, api_key: API_FAULT_KEY,
               session_store: store, max_retries: 1, idle_timeout: 5, request_timeout: 30,
               tools: [FaultLookup] }.merge(options)
      worker = Thread.new do
        SDK.query("Where is order 7?", **opts) { |m| messages << m }
      rescue StandardError => e
        error = e
      end
      unless worker.join(bound)
        worker.kill.join(5)
        raise "not over within #{bound} s (#{messages.size} messages so far)"
      end
      seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      session = messages.first&.session_id
      outcome = Outcome.new(messages: messages, error: error, lines: session ? store.lines(session) : [],
                            requests: server.agent_requests, seconds: seconds)
      expect_kept_and_clean(outcome, before)
      outcome
    end
  end

  def expect_kept_and_clean(outcome, children_before)
    expect(children - children_before).to eq([]), "child processes left"
    expect(outcome.error).to be_nil
    expect(outcome.messages.first).to be_init
    expect(outcome.result).to be_result
    expect(outcome.lines.drop(1)).to eq(outcome.messages.map(&:raw)), "every yielded message stored, in order"
    everything = [*outcome.lines, *outcome.messages.map(&:raw), outcome.error&.message].join("\n")
    expect(everything).not_to include(API_FAULT_KEY)
    expect(everything).not_to include(API_FAULT_KEY[-12..])
  end

  def answer(text = "Order 7 has shipped.") = { text: text, usage: { input_tokens: 50, output_tokens: 8 } }

  # A syntactically valid Anthropic stream up to its first text delta, as raw SSE.
  def stream_head(text_delta_json = '"Hel"')
    ["event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\"," \
     "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
     "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
     "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":#{text_delta_json}}}\n\n"]
  end

  def expect_success(outcome, requests:)
    expect(outcome.result.subtype).to eq("success")
    expect(outcome.result.content).to eq("Order 7 has shipped.")
    expect(outcome.requests.size).to eq(requests)
  end

  def expect_failure(outcome, reason, requests: nil)
    expect(outcome.result.subtype).to eq("error_during_execution")
    expect(outcome.result.content).to match(reason)
    expect(outcome.requests.size).to eq(requests) if requests
  end

  describe "HTTP statuses" do
    it "429 with retry-after is retried after the wait, then succeeds" do
      o = run_case([{ status: 429, headers: { "retry-after" => "1" } }, answer])
      expect_success(o, requests: 2)
      expect(o.requests[1].received_at - o.requests[0].received_at).to be >= 0.9
    end

    it "500 is retried with back-off, then succeeds" do
      expect_success(run_case([{ status: 500 }, answer]), requests: 2)
    end

    it "529 overloaded on every attempt ends with the status once retries are spent" do
      expect_failure(run_case([{ status: 529 }, { status: 529 }]), /HTTP 529.*overloaded/i, requests: 2)
    end

    it "401 is not retried, and an error body that echoes the key is redacted" do
      o = run_case([{ status: 401, error: { message: "invalid x-api-key: #{API_FAULT_KEY}" } }])
      expect_failure(o, /HTTP 401/, requests: 1)
    end

    it "x-should-retry: false on a 500 is obeyed" do
      expect_failure(run_case([{ status: 500, headers: { "x-should-retry" => "false" } }, answer]), /HTTP 500/, requests: 1)
    end

    it "x-should-retry: true on a 400 is obeyed" do
      expect_success(run_case([{ status: 400, headers: { "x-should-retry" => "true", "retry-after-ms" => "10" } }, answer]),
                     requests: 2)
    end

    it "an error body of 1 MiB is cut, not carried whole into the result" do
      o = run_case([{ raw: "x" * (1 << 20), status: 500, headers: { "content-type" => "text/plain" } }], max_retries: 0)
      expect_failure(o, /HTTP 500/, requests: 1)
      expect(o.result.raw.bytesize).to be < 70_000
    end
  end

  describe "connections" do
    it "a refused connection ends with a connect error after the retries" do
      o = run_case([], base_url: "http://127.0.0.1:#{closed_port}")
      expect_failure(o, /connect|refused/i)
    end

    it "a reset mid-stream is retried as a whole turn and its text is not yielded twice" do
      o = run_case([{ text: "Order 7 has shipped.", fault: :reset_mid_stream }, answer], include_partial_messages: true)
      expect_success(o, requests: 2)
      expect(o.messages.count(&:assistant?)).to eq(1)
    end

    it "a stream cut in the middle of an event (truncated SSE) is retried" do
      o = run_case([{ raw: [*stream_head, "event: content_block_delta\ndata: {\"type\":\"content_bl"] }, answer])
      expect_success(o, requests: 2)
    end

    it "a stall past idle_timeout is a timeout, retried, then reported" do
      o = run_case([{ text: "x", fault: :stall }, { text: "x", fault: :stall }], idle_timeout: 0.5)
      expect_failure(o, /timeout|timed out/i, requests: 2)
    end

    it "a drip slower than idle_timeout times out; a drip faster than it completes" do
      slow = run_case([{ raw: stream_head, chunk_delay: 1.5 }], idle_timeout: 0.5, max_retries: 0)
      expect_failure(slow, /timeout|timed out/i, requests: 1)
      fast = run_case([{ text: "Order 7 has shipped.", chunk_delay: 0.15 }], idle_timeout: 0.5)
      expect_success(fast, requests: 1)
    end
  end

  describe "bodies the assembler rejects (a protocol error, never a hang)" do
    it "an error event after 200 is retried when its type is retriable" do
      expect_success(run_case([{ text: "partial", fault: :error_event }, answer]), requests: 2)
    end

    it "a data line that is not JSON" do
      expect_failure(run_case([{ raw: [*stream_head, "event: content_block_delta\ndata: {not json\n\n"] }]),
                     /could not read the response/)
    end

    it "invalid UTF-8 in a text delta" do
      expect_failure(run_case([{ raw: stream_head("\"caf\xC3\x28\"") }]), /could not read the response/)
    end

    it "tool input fragments that do not form JSON" do
      raw = [stream_head.first,
             "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":" \
             "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"lookup\",\"input\":{}}}\n\n",
             "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":" \
             "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"order\\\": [\"}}\n\n",
             "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"]
      expect_failure(run_case([{ raw: raw }]), /could not read the response/)
    end

    it "an SSE event over the 32 MiB limit" do
      raw = [*stream_head, "event: content_block_delta\ndata: \"#{'a' * (33 << 20)}\"\n\n"]
      expect_failure(run_case([{ raw: raw }], bound: 30), /could not read the response/)
    end

    it "a 200 with a content type that is neither SSE nor JSON" do
      o = run_case([{ raw: "<html>gateway</html>", headers: { "content-type" => "text/html" } }])
      expect_failure(o, /could not read the response/)
    end

    it "a malformed OpenAI chunk" do
      o = run_case([{ raw: ["data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
                            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"\n\n", "data: [DONE]\n\n"] }],
                   provider: :openai, model: "gpt-4o-mini", tools: [])
      expect_failure(o, /could not read the response/)
    end
  end

  describe "turns" do
    it "a tool input that fails the schema becomes an is_error result and the run goes on" do
      o = run_case([{ tool_use: { name: "lookup", input: { "order" => 7 } } }, answer])
      expect_success(o, requests: 2)
      result = o.requests[1].body["messages"].last["content"].find { |b| b["type"] == "tool_result" }
      expect(result["is_error"]).to be(true)
    end

    it "a turn of 100,000 text blocks is assembled (linear, not quadratic, in the number of blocks)" do
      # The fake server takes seconds to render 100,000 events (more under ASan): no idle timeout, no retry.
      o = run_case([{ texts: Array.new(100_000) { "w" }, burst: true }], bound: 60, idle_timeout: 60, max_retries: 0)
      expect(o.result.subtype).to eq("success")
      expect(o.result.content.count("w")).to eq(100_000) # (no diff of 100 kB on failure)
    end
  end
end
