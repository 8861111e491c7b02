# frozen_string_literal: true

require "open3"

# transport: :api end to end: the C loop over HTTP against the project's fake Messages API server, Ruby tools.
RSpec.describe "transport: :api" do

  class LookupOrder < RubyLLM::AgentSDK::Tool
    description "Look up an order by its number"
    param :order_number, :string, required: true, description: "e.g. ORD-1042"
    def call(order_number:)
      raise KeyError, "no order #{order_number}" unless order_number.start_with?("ORD-")

      { "order_number" => order_number, "status" => "shipped", "tracking" => "1Z999" }
    end
  end

  class IssueRefund < RubyLLM::AgentSDK::Tool
    description "Refund an order"
    param :order_number, :string, required: true
    param :amount_cents, :integer, required: true, minimum: 1
    def permitted?(context) = context[:role] == :admin
    def call(order_number:, amount_cents:) = "refunded #{amount_cents} on #{order_number}"
  end

  class ReadLog < RubyLLM::AgentSDK::Tool
    description "Returns a very long log"
    def call = "log line\n" * 2_000
  end

  class WhichThread < RubyLLM::AgentSDK::Tool
    description "Says which thread it runs in; raises Interrupt when asked to"
    param :interrupt, :boolean
    THREADS = []
    def call(interrupt: false)
      raise Interrupt if interrupt

      THREADS << Thread.current
      "ok"
    end
  end

  def tool_use(name, input) = { tool_use: { name: name, input: input }, usage: { input_tokens: 800, output_tokens: 30 } }
  def answer(text) = { text: text, usage: { input_tokens: 900, output_tokens: 12 } }

  def api_options(server, **extra)
    { transport: :api, model: "claude-sonnet-4-5", base_url: server.base_url, api_key: "sk-ant-test-secret-0000",
      session_store: :memory, max_retries: 2, tools: [LookupOrder, IssueRefund, ReadLog], context: { role: :agent } }.merge(extra)
  end

  def run(server, prompt = "Where is my order?", **extra)
    SDK.query(prompt, **api_options(server, **extra)).to_a
  end

  def tool_results(server, index)
    server.agent_requests[index].body["messages"].last["content"].select { |b| b["type"] == "tool_result" }
  end

  it "runs tool turns and yields the same message shapes as :cli" do
    SDK::Testing::FakeServer.open([tool_use("lookup_order", "order_number" => "ORD-1042"), answer("It has shipped.")]) do |server|
      messages = run(server)
      expect(messages.map(&:type)).to eq(%i[system assistant user assistant result])
      init, call, result_msg, _final, result = messages
      expect(init).to be_init
      expect(init.to_h).to include("transport" => "api", "tools" => %w[lookup_order issue_refund read_log])
      expect(call.tool_calls).to match([{ id: start_with("toolu_"), name: "lookup_order", input: { "order_number" => "ORD-1042" } }])
      expect(JSON.parse(result_msg.content)).to eq("order_number" => "ORD-1042", "status" => "shipped", "tracking" => "1Z999")
      expect([result.subtype, result.content, result.num_turns]).to eq(["success", "It has shipped.", 2])
      expect(result["total_cost_micros"]).to eq((800 + 900) * 3 + (30 + 12) * 15)
      expect(result.total_cost_usd).to eq(0.00573)
      expect(result.duration_ms).to be >= result.duration_api_ms
      expect(messages.map(&:session_id).uniq.size).to eq(1)

      request = server.agent_requests.first
      expect(request.headers["x-api-key"]).to eq("[REDACTED]")
      expect(request.headers["anthropic-version"]).to eq("2023-06-01")
      expect(request.body["tools"].map { |t| t["name"] }).to eq(%w[lookup_order issue_refund read_log])
      expect(request.body["tools"].last["cache_control"]).to eq("type" => "ephemeral")
    end
  end

  it "turns every tool failure into an is_error result the model sees, and never crashes the loop" do
    turns = [
      { tool_uses: [{ name: "delete_everything", input: {} },                                  # unknown tool
                    { name: "lookup_order", input: { "order_number" => 42 } },                 # invalid input
                    { name: "issue_refund", input: { "order_number" => "ORD-1", "amount_cents" => 5 } }, # not permitted
                    { name: "lookup_order", input: { "order_number" => "XYZ" } }] },           # raises
      { tool_uses: [{ name: "lookup_order", input: { "order_number" => "ORD-7" } },
                    { name: "lookup_order", input: { "order_number" => "ORD-7" } }] },          # dedup
      { tool_use: { name: "read_log", input: {} } },                                            # capped
      answer("Sorry about all that.")
    ]
    RubyLLM::AgentSDK::Hooks.logger = Logger.new(log = StringIO.new)
    SDK::Testing::FakeServer.open(turns) do |server|
      result = run(server).last
      expect(result.subtype).to eq("success")
      expect(log.string).to include("KeyError: no order XYZ") # the backtrace goes to the log, not to the model

      unknown, invalid, denied, raised = tool_results(server, 1)
      expect(unknown).to include("is_error" => true)
      expect(unknown["content"]).to include("delete_everything", "lookup_order", "issue_refund", "read_log")
      expect(invalid["is_error"]).to be(true)
      expect(invalid["content"]).to include("order_number").and include("string")
      expect(denied["is_error"]).to be(true)
      expect(denied["content"]).to match(/not permitted/i)
      expect(raised["is_error"]).to be(true)
      expect(raised["content"]).to include("KeyError", "no order XYZ")
      expect(raised["content"]).not_to include(".rb:")

      first, again = tool_results(server, 2)
      expect(first["is_error"]).to be_nil
      expect(again["is_error"]).to be(true)
      expect(again["content"]).to include("already called with these arguments")

      capped = tool_results(server, 3).first
      expect(capped["content"].bytesize).to be < 4096 + 200
      expect(capped["content"]).to include("truncated")
    end
  ensure
    RubyLLM::AgentSDK::Hooks.logger = nil
  end

  it "runs pre_tool_use hooks and can_use_tool with the same API as :cli" do
    seen = []
    hooks = { pre_tool_use: [{ matcher: "issue_refund", handler: lambda { |ctx|
      seen << [ctx.tool_name, ctx.tool_input]
      SDK::Hooks::Result.deny("Refunds need a human")
    } }] }
    asked = []
    can_use_tool = ->(name, input, _ctx) { asked << [name, input]; SDK::Permissions::Result.allow }
    turns = [{ tool_uses: [{ name: "issue_refund", input: { "order_number" => "ORD-1", "amount_cents" => 500 } },
                           { name: "lookup_order", input: { "order_number" => "ORD-1" } }] }, answer("ok")]
    SDK::Testing::FakeServer.open(turns) do |server|
      run(server, hooks: hooks, can_use_tool: can_use_tool, context: { role: :admin })
      refund, lookup = tool_results(server, 1)
      expect(seen).to eq([["issue_refund", { "order_number" => "ORD-1", "amount_cents" => 500 }]])
      expect(refund).to include("is_error" => true)
      expect(refund["content"]).to include("Refunds need a human")
      expect(lookup["is_error"]).to be_nil
      expect(asked.map(&:first)).to eq(["lookup_order"])
    end
  end

  it "runs a lone tool call without a timeout in the thread that consumes the messages, one with a timeout in its own" do
    WhichThread::THREADS.clear
    turns = [tool_use("which_thread", {}), answer("ok")]
    SDK::Testing::FakeServer.open(turns) { |server| run(server, tools: [WhichThread]) }
    SDK::Testing::FakeServer.open(turns) { |server| run(server, tools: [WhichThread], tool_timeout: 5) }
    expect(WhichThread::THREADS.size).to eq(2)
    expect(WhichThread::THREADS.first).to eq(Thread.current)
    expect(WhichThread::THREADS.last).not_to eq(Thread.current)
  end

  it "lets Interrupt raised by a tool out of the loop, inline or from the tool's thread, and sends nothing more" do
    [{}, { tool_timeout: 5 }].each do |extra|
      SDK::Testing::FakeServer.open([tool_use("which_thread", "interrupt" => true), answer("never")]) do |server|
        seen = []
        expect { SDK.query("go", **api_options(server, tools: [WhichThread], **extra)) { |m| seen << m.type } }
          .to raise_error(Interrupt)
        expect(seen).to eq(%i[system assistant])
        expect(server.agent_requests.size).to eq(1)
      end
    end
  end

  it "ends with error_max_turns, error_max_budget_usd and error_max_tokens before the call that would pass them" do
    looping = Array.new(10) { tool_use("lookup_order", "order_number" => "ORD-#{rand(1_000_000)}") }
    SDK::Testing::FakeServer.open(looping) do |server|
      result = run(server, max_turns: 3).last
      expect([result.subtype, result.num_turns, server.agent_requests.size]).to eq(["error_max_turns", 3, 3])
    end
    SDK::Testing::FakeServer.open(Array.new(40) { |i| tool_use("lookup_order", "order_number" => "ORD-#{i}") }) do |server|
      result = run(server, max_budget_usd: 0.03).last
      expect(result.subtype).to eq("error_max_budget_usd")
      expect(result["total_cost_micros"]).to be <= 30_000
      expect(server.agent_requests.map { |r| r.body["max_tokens"] }.last).to be < 4096
    end
    SDK::Testing::FakeServer.open(Array.new(40) { |i| tool_use("lookup_order", "order_number" => "ORD-#{i}") }) do |server|
      result = run(server, max_tokens: 6_000).last
      expect(result.subtype).to eq("error_max_tokens")
      u = result.usage
      expect(u.values_at("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens").sum).to be <= 6_000
    end
  end

  it "refuses a USD budget on a model without a price, before any request" do
    SDK::Testing::FakeServer.open([answer("x")]) do |server|
      expect { run(server, model: "my-local-llama", max_budget_usd: 1) }.to raise_error(ArgumentError, /price for "my-local-llama"/)
      expect(server.requests).to be_empty
    end
  end

  it "retries 429 (retry-after), 529 and 500, obeys x-should-retry: false, and counts cost once" do
    turns = [{ status: 429, headers: { "retry-after" => "0" } }, { status: 529 }, { status: 500 }, answer("finally")]
    SDK::Testing::FakeServer.open(turns) do |server|
      result = run(server, max_retries: 3).last
      expect([result.subtype, result.content]).to eq(%w[success finally])
      expect(result["total_cost_micros"]).to eq(900 * 3 + 12 * 15)
      expect(server.agent_requests.size).to eq(4)
    end
    SDK::Testing::FakeServer.open([{ status: 503, headers: { "x-should-retry" => "false" } }, answer("never")]) do |server|
      result = run(server).last
      expect(result.subtype).to eq("error_during_execution")
      expect(result.content).to include("503")
      expect(server.agent_requests.size).to eq(1)
    end
  end

  it "retries a stream broken mid-way as a whole turn, never yielding the partial message twice" do
    broken = { text: "The order has shipped and will arrive tomorrow.", fault: :reset_mid_stream, fault_after: 4,
               usage: { input_tokens: 900, output_tokens: 12 } }
    SDK::Testing::FakeServer.open([broken, answer("The order has shipped.")]) do |server|
      messages = run(server, include_partial_messages: true)
      expect(messages.count(&:assistant?)).to eq(1)
      expect(messages.select(&:stream_event?).map(&:content).join).not_to include("shipped.The order")
      # the broken attempt is billed what its message_start reported (900 in, 1 out), the retry its whole usage
      expect(messages.last["total_cost_micros"]).to eq((900 * 3) + (1 * 15) + (900 * 3) + (12 * 15))
      expect(server.agent_requests.size).to eq(2)
    end
  end

  it "gives up after max_retries with error_during_execution, and reports a refused connection" do
    SDK::Testing::FakeServer.open(Array.new(5) { { status: 500 } }) do |server|
      result = run(server, max_retries: 1).last
      expect([result.subtype, server.agent_requests.size]).to eq(["error_during_execution", 2])
    end
    port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
    result = SDK.query("hi", transport: :api, model: "claude-sonnet-4-5", base_url: "http://127.0.0.1:#{port}",
                             api_key: "sk-ant-test", session_store: :memory, max_retries: 0).to_a.last
    expect(result.subtype).to eq("error_during_execution")
    expect(result.content).not_to include("sk-ant-test")
  end

  it "hands a finished model call over at once, not after the driver's poll slice (1 s)" do
    SDK::Testing::FakeServer.open(Array.new(3) { answer("quick") }) do |server|
      stalls = Array.new(3) do
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        result = run(server).last
        # the result's duration_ms ends in C when the response is in: what follows is handing it over
        Process.clock_gettime(Process::CLOCK_MONOTONIC) - started - (result.duration_ms / 1000.0)
      end
      expect(stalls.min).to be < 0.5
    end
  end

  it "an API failure's result carries api_error: status, type and whether it was retriable" do
    SDK::Testing::FakeServer.open([{ status: 529 }, answer("never")]) do |server|
      result = run(server, max_retries: 0).last
      expect(result.subtype).to eq("error_during_execution")
      expect(result["api_error"]).to eq("status" => 529, "type" => "overloaded_error", "retriable" => true)
    end
    SDK::Testing::FakeServer.open([{ status: 401 }, answer("never")]) do |server|
      expect(run(server).last["api_error"]).to eq("status" => 401, "type" => "authentication_error", "retriable" => false)
      expect(server.agent_requests.size).to eq(1)
    end
    SDK::Testing::FakeServer.open([{ status: 503, headers: { "x-should-retry" => "false" } }]) do |server|
      expect(run(server).last["api_error"]).to eq("status" => 503, "type" => "api_error", "retriable" => false)
    end
    # an overloaded error event after the 200, spent retries: retriable
    SDK::Testing::FakeServer.open([{ text: "Hel", fault: :error_event }]) do |server|
      expect(run(server, max_retries: 0).last["api_error"]).to eq("status" => 200, "type" => "overloaded_error", "retriable" => true)
    end
    # a 200 whose stream cannot be read: not retriable
    bad = { raw: ["event: message_start\ndata: {not json\n\n"] }
    SDK::Testing::FakeServer.open([bad]) do |server|
      expect(run(server).last["api_error"]).to eq("status" => 200, "type" => nil, "retriable" => false)
    end
    # no response at all: a refused connection is retriable, with no status
    result = SDK.query("hi", transport: :api, model: "claude-sonnet-4-5", base_url: "http://127.0.0.1:#{closed_port}",
                             api_key: "sk-ant-test", session_store: :memory, max_retries: 0).to_a.last
    expect(result["api_error"]).to eq("status" => nil, "type" => nil, "retriable" => true)
    # other ends carry none
    SDK::Testing::FakeServer.open([answer("fine")]) { |server| expect(run(server).last.to_h).not_to have_key("api_error") }
    SDK::Testing::FakeServer.open([tool_use("lookup_order", "order_number" => "ORD-1")]) do |server|
      expect(run(server, max_turns: 1).last.to_h).not_to have_key("api_error")
    end
  end

  it "lets other threads run while it waits, and cancel from another thread ends the run" do
    SDK::Testing::FakeServer.open([{ text: "slow", delay: 30 }]) do |server|
      query = SDK::Query.new("hi", **api_options(server))
      counter = 0
      counting = Thread.new { loop { counter += 1 } }
      canceller = Thread.new do
        server.wait_for_requests(1, agent: true, timeout: 10)
        sleep 0.3
        query.cancel
      end
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      messages = []
      query.each { |m| messages << m }
      elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      counting.kill
      canceller.join
      expect(messages.last.subtype).to eq("error_cancelled")
      expect(elapsed).to be < 10
      expect(counter).to be > 100_000
    end
  end

  it "is stopped by Thread#kill while waiting, leaving nothing in flight" do
    SDK::Testing::FakeServer.open([{ text: "slow", delay: 30 }]) do |server|
      worker = Thread.new { run(server) }
      server.wait_for_requests(1, agent: true, timeout: 10)
      worker.kill
      expect(worker.join(5)).not_to be_nil
    end
  end

  # With a single Ruby thread, the unblocking function is called from the signal handler (RB_NOGVL_UBF_ASYNC_SAFE).
  it "is stopped promptly by SIGINT in a process with a single thread" do
    SDK::Testing::FakeServer.open([{ text: "slow", delay: 30 }]) do |server|
      code = <<~RUBY
        require "ruby_llm/agent_sdk"
        $stdout.sync = true
        puts "threads=\#{Thread.list.size}"
        begin
          RubyLLM::AgentSDK.query("hi", transport: :api, model: "claude-sonnet-4-5", base_url: ARGV[0], api_key: "k",
                                        session_store: :memory) { nil }
          puts "finished"
        rescue Interrupt
          puts "interrupted"
        end
      RUBY
      lib = File.expand_path("../lib", __dir__)
      Open3.popen2(RbConfig.ruby, "-I", lib, "-e", code, server.base_url) do |_stdin, stdout, wait|
        expect(stdout.gets).to eq("threads=1\n")
        server.wait_for_requests(1, agent: true, timeout: 10)
        sleep 0.2
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        Process.kill("INT", wait.pid)
        expect(stdout.gets).to eq("interrupted\n")
        expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 0.5
        expect(wait.value).to be_success
      end
    end
  end

  it "stores every message before the next model call and resumes a session with its whole transcript" do
    Dir.mktmpdir do |dir|
      SDK::Testing::FakeServer.open([tool_use("lookup_order", "order_number" => "ORD-1"), answer("Shipped."), answer("ORD-1, as I said.")]) do |server|
        first = run(server, "Where is ORD-1?", session_store: dir)
        session_id = first.first.session_id
        stored = File.readlines(File.join(dir, "#{session_id}.jsonl"))
        expect(stored.size).to eq(first.size + 1) # + the prompt
        expect(server.agent_requests[1].body["messages"].size).to eq(3)

        second = run(server, "Which order was it?", session_store: dir, resume: session_id)
        expect(second.last.content).to eq("ORD-1, as I said.")
        expect(second.map(&:session_id).uniq).to eq([session_id])
        transcript = server.agent_requests.last.body["messages"]
        expect(transcript.map { |m| m["role"] }).to eq(%w[user assistant user assistant user])
        expect(JSON.generate(transcript)).to include("Where is ORD-1?", "Shipped.", "Which order was it?")
        expect { run(server, "x", session_store: dir, resume: "no-such-session") }.to raise_error(ArgumentError, /no session/)
      end
    end
  end

  it "speaks OpenAI-compatible chat completions with the same tools and messages" do
    SDK::Testing::FakeServer.open([tool_use("lookup_order", "order_number" => "ORD-9"), answer("Shipped (via chat completions).")]) do |server|
      messages = run(server, provider: :openai, model: "gpt-4o-mini")
      expect(messages.last.content).to eq("Shipped (via chat completions).")
      expect(messages.last["total_cost_micros"]).to eq(((800 + 900) * 0.15 + (30 + 12) * 0.6).ceil)
      request = server.agent_requests.first
      expect(request.path).to eq("/v1/chat/completions")
      expect(request.headers["authorization"]).to eq("[REDACTED]")
      expect(request.body["tools"].first).to include("type" => "function")
      expect(server.agent_requests.last.body["messages"].map { |m| m["role"] }).to eq(%w[user assistant tool])
    end
  end

  it "drives many runs at once from one thread with query_all" do
    turns = Array.new(20) { answer("ok") }
    SDK::Testing::FakeServer.open(turns) do |server|
      seen = Hash.new { |h, k| h[k] = [] }
      jobs = Array.new(20) { |i| { prompt: "job #{i}" } }
      SDK.query_all(jobs, **api_options(server)) { |index, message| seen[index] << message }
      expect(seen.keys.sort).to eq((0...20).to_a)
      expect(seen.values.map { |ms| ms.last.subtype }.uniq).to eq(["success"])
      expect(seen.values.map { |ms| ms.first.session_id }.uniq.size).to eq(20)
    end
  end

  it "query_all: a tool that keeps the thread busy past idle_timeout does not time out another run's stream" do
    nap = Class.new(SDK::Tool) do
      tool_name "nap"
      description "sleeps"
      define_method(:call) { |**| sleep 1.6 and "rested" } # no timeout, alone: runs in the runner's thread
    end
    turn = lambda do |req|
      first = Array(req.body["messages"].first["content"]).dig(0, "text")
      done = req.body["messages"].size > 1
      if first == "slow" && !done then { tool_use: { name: "nap", input: {} }, delay: 0.1 }
      elsif first == "slow" then answer("slept")
      else { text: "a b c d e f", chunk_delay: 0.15, delay: 0.3 } # all of it arrives while the tool runs
      end
    end
    server = SDK::Testing::FakeServer.new([], default: turn).start
    results = {}
    SDK.query_all([{ prompt: "slow" }, { prompt: "stream" }], **api_options(server, tools: [nap], idle_timeout: 1, max_retries: 0)) do |i, m|
      results[i] = m if m.result?
    end
    expect(results.values_at(0, 1).map(&:subtype)).to eq(%w[success success])
    expect(results[1].content).to eq("a b c d e f")
  ensure
    server&.stop
  end

  it "query_all validates each job's own options as query does" do
    SDK::Testing::FakeServer.open([]) do |server|
      expect { SDK.query_all([{ prompt: "a", cli_path: "/bin/claude" }], **api_options(server)) { nil } }
        .to raise_error(ArgumentError, /cli_path is not valid with transport: :api/)
      expect { SDK.query_all([{ prompt: "a" }, { prompt: "b", max_turns: 0 }], **api_options(server)) { nil } }
        .to raise_error(ArgumentError, /max_turns/)
      expect { SDK.query_all([{ prompt: "a", bogus: 1 }], **api_options(server)) { nil } }
        .to raise_error(ArgumentError, /unknown options \[:bogus\]/)
      expect(server.requests).to be_empty
    end
  end

  it "keeps one set of keep-alive connections per thread for query, closes query_all's when it returns, and " \
     "close_connections releases the thread's" do
    skip "needs /proc/self/fd" unless File.directory?("/proc/self/fd")
    sockets = lambda do
      Dir.children("/proc/self/fd").count { |fd| (File.readlink("/proc/self/fd/#{fd}") rescue "").start_with?("socket:") }
    end
    settle = lambda do |target|
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 3
      sleep 0.02 while sockets.call > target && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      sockets.call
    end
    SDK::Testing::FakeServer.open(Array.new(8) { answer("ok") }) do |server|
      SDK.close_connections
      GC.start # earlier examples' runners, and their libcurl handles
      baseline = settle.call(0) # the listener, and whatever else the process holds
      run(server)
      kept = settle.call(0)
      expect(kept).to be > baseline # our end and the server's (in this process) of one connection, libcurl's own
      GC.disable
      2.times { run(server) }
      SDK.query_all([{ prompt: "a" }, { prompt: "b" }], **api_options(server)) { nil }
      expect(settle.call(kept)).to eq(kept) # query reused it; query_all's own are closed, the server's ends too
      expect(server.agent_requests.first(3).map(&:connection_id).uniq.size).to eq(1)
      SDK.close_connections
      expect(settle.call(baseline)).to be <= baseline
    ensure
      GC.enable
    end
  end

  it "runs a query from inside a tool of another on the same thread on connections of its own" do
    inner = Class.new(SDK::Tool) do
      tool_name "ask_colleague"
      description "asks another agent"
      param :question, :string, required: true
      define_method(:call) do |question:|
        SDK.query(question, **context[:options]).to_a.last.content
      end
    end
    SDK::Testing::FakeServer.open([{ tool_use: { name: "ask_colleague", input: { question: "q?" } } },
                                   answer("inner answer"), answer("outer done")]) do |server|
      options = api_options(server, tools: [inner])
      messages = SDK.query("go", **options, context: { options: options.except(:tools) }).to_a
      expect(messages.last.content).to eq("outer done")
      expect(tool_results(server, 2).first["content"]).to include("inner answer")
      expect(server.agent_requests.map(&:connection_id).uniq.size).to eq(2)
    end
  end

  it "does not touch connections inherited across fork: the child opens its own, the parent's keep working" do
    skip "fork is not available" unless Process.respond_to?(:fork)
    SDK::Testing::FakeServer.open(Array.new(3) { answer("ok") }) do |server|
      run(server) # the parent's keep-alive connection
      pid = fork { exit!(run(server).last.content == "ok" ? 0 : 1) }
      Process.wait(pid)
      expect($?.exitstatus).to eq(0)
      expect(run(server).last.content).to eq("ok")
      ids = server.agent_requests.map(&:connection_id)
      expect(ids.values_at(0, 2).uniq.size).to eq(1) # the parent reused its connection after the child was done
      expect(ids[1]).not_to eq(ids[0])
    end
  end

  it "Native::Runner#add from another thread while #run waits on the network raises instead of racing it" do
    SDK::Testing::FakeServer.open([{ text: "slow", delay: 30 }]) do |server|
      run = SDK::APITransport::Run.new("hi", SDK::Options.new(**api_options(server)))
      runner = SDK::Native::Runner.new
      runner.add(run.config, run.url, run.headers)
      other = Thread.new do
        server.wait_for_requests(1, agent: true, timeout: 10)
        sleep 0.2
        error = begin
          runner.add(run.config, run.url, run.headers)
          nil
        rescue RuntimeError => e
          e
        end
        runner.cancel(0)
        error
      end
      runner.run { nil }
      expect(other.value&.message).to match(/add while #run waits/)
      runner.close
    end
  end

  it "leaves a run in flight in another thread alone in a forked child (the child's exit does not cut it off)" do
    skip "fork is not available" unless Process.respond_to?(:fork)
    SDK::Testing::FakeServer.open([{ text: Array.new(5) { "w " }.join, chunk_delay: 0.3 }]) do |server|
      worker = Thread.new do
        result = nil
        SDK.query_all([{ prompt: "a" }], **api_options(server, idle_timeout: 2, max_retries: 0)) { |_, m| result = m }
        result
      end
      server.wait_for_requests(1, agent: true, timeout: 10)
      sleep 0.2
      pid = fork { GC.start; exit 0 } # a normal exit: the inherited Runner is freed in the child
      Process.wait(pid)
      expect([worker.value.subtype, worker.value.content]).to eq(["success", "w w w w w "])
    end
  end

  it "Native::Runner#close ends what is in flight, refuses to run again and still reports stats" do
    SDK::Testing::FakeServer.open([answer("ok")]) do |server|
      run = SDK::APITransport::Run.new("hi", SDK::Options.new(**api_options(server)))
      runner = nil
      closing = lambda do |r|
        runner = r
        r.close
        r.close
      end
      expect { SDK::APITransport.run_all([run], on_runner: closing) { nil } }.to raise_error(RuntimeError, /closed/)
      expect { runner.run { nil } }.to raise_error(RuntimeError, /closed/)
      expect(runner.cancel(0, "late")).to be_nil # a canceller that comes after the end is not an error
      expect(runner.session_id(0)).to eq(run.session_id)
      expect(runner.stats(0)).to include(turns: 0)
    end
  end
end

RSpec.describe "RubyLLM::AgentSDK::Client with transport: :api" do
  it "continues one session across queries and interrupts the run in flight" do
    RubyLLM::AgentSDK::Testing::FakeServer.open([{ text: "Hello Ada." }, { text: "slow", delay: 30 }, { text: "Your name is Ada." }]) do |server|
      client = RubyLLM::AgentSDK::Client.new(transport: :api, model: "claude-haiku-4-5", base_url: server.base_url,
                                             api_key: "sk-ant-test", session_store: :memory)
      first = client.query("My name is Ada")
      expect(first.last.content).to eq("Hello Ada.")

      Thread.new { server.wait_for_requests(2, agent: true, timeout: 10); sleep 0.2; client.interrupt }
      second = client.query("Think for a long time")
      expect(second.last.subtype).to eq("error_cancelled")

      third = client.query("What is my name?")
      expect(third.last.content).to eq("Your name is Ada.")
      expect([first, second, third].map { |ms| ms.first.session_id }.uniq).to eq([client.session_id])
      expect(JSON.generate(server.agent_requests.last.body["messages"])).to include("My name is Ada", "Hello Ada.", "What is my name?")
      client.set_model("claude-sonnet-4-5")
    end
  end
end
