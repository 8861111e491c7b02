# frozen_string_literal: true

require "active_support"
require "active_support/notifications"
require "logger"
require "open3"
require "stringio"
require "ruby_llm/agent_sdk/log_subscriber"

# ActiveSupport::Notifications events (query, request, retry, tool_call .agent_sdk) against real runs on the
# FakeServer, the LogSubscriber's lines, and the API key found in none of them.
RSpec.describe RubyLLM::AgentSDK::Instrumentation do
  INSTR_KEY = "sk-ant-api03-SECRETSECRETSECRETSECRETSECRET-0000"

  class InstrLookup < RubyLLM::AgentSDK::Tool
    description "Look up an order by its number"
    param :order_number, :string, required: true
    def call(order_number:) = { "order_number" => order_number, "status" => "shipped" }
  end

  class InstrNap < RubyLLM::AgentSDK::Tool
    description "Sleeps"
    param :seconds, :number, required: true
    def call(seconds:)
      sleep(seconds)
      "rested"
    end
  end

  # Records each wrap and the thread it ran in.
  class RecordingExecutor
    attr_reader :threads

    def initialize
      @threads = Queue.new
    end

    def wrap
      @threads << Thread.current
      yield
    end
  end

  def tool_use(name, input) = { tool_use: { name: name, input: input }, usage: { input_tokens: 800, output_tokens: 30 } }
  def answer(text) = { text: text, usage: { input_tokens: 900, output_tokens: 12 } }

  def api_options(server, **extra)
    { transport: :api, model: "claude-sonnet-4-5", base_url: server.base_url, api_key: INSTR_KEY, session_store: :memory,
      max_retries: 2, tools: [InstrLookup] }.merge(extra)
  end

  # The events of the block, by name ("query", "request", …), in order.
  def capture(pattern = /\.agent_sdk\z/)
    events = []
    subscriber = ActiveSupport::Notifications.subscribe(pattern) { |event| events << event }
    yield
    events
  ensure
    ActiveSupport::Notifications.unsubscribe(subscriber)
  end

  def named(events, name) = events.select { |e| e.name == "#{name}.agent_sdk" }

  # The one element of list (Enumerable#sole is ActiveSupport's core_ext, not loaded here).
  def one(list)
    expect(list.size).to eq(1)
    list.first
  end

  it "query.agent_sdk: the run's transport, model, outcome, turns, tokens, cost and session; the duration from AS" do
    messages = []
    events = SDK::Testing::FakeServer.open([tool_use("instr_lookup", "order_number" => "ORD-1"), answer("Shipped.")]) do |server|
      capture { SDK.query("Where is ORD-1?", **api_options(server)) { |m| messages << m } }
    end
    result = messages.last
    query = one(named(events, :query))
    expect(query.payload.keys).to eq(described_class::QUERY_KEYS)
    expect(query.payload).to eq(transport: :api, model: "claude-sonnet-4-5", subtype: "success", is_error: false,
                                num_turns: 2, input_tokens: 1700, output_tokens: 42, cache_read_tokens: 0,
                                cache_creation_tokens: 0, total_cost_usd: result.total_cost_usd,
                                session_id: result.session_id)
    expect(query.duration).to be > 0
    expect(named(events, :request).map { |e| e.payload[:attempt] }).to eq([1, 1]) # one per model call
    expect(events.last).to eq(query) # published when the run is over
  end

  it "query.agent_sdk gets AS's :exception keys when the caller's block raises, and Client#query is one too" do
    events = SDK::Testing::FakeServer.open([answer("a"), answer("b"), answer("c")]) do |server|
      capture(/\Aquery\.agent_sdk\z/) do
        expect { SDK.query("hi", **api_options(server)) { |m| raise ArgumentError, "boom" if m.assistant? } }
          .to raise_error(ArgumentError, "boom")
        client = SDK::Client.new(**api_options(server))
        client.query("one") { nil }
        client.query("two") { nil }
      end
    end
    raised, one, two = events
    expect(raised.payload).to include(exception: ["ArgumentError", "boom"], subtype: nil)
    expect(raised.payload[:exception_object]).to be_a(ArgumentError)
    expect([one, two].map { |e| e.payload[:subtype] }).to eq(%w[success success])
    expect(one.payload[:session_id]).to eq(two.payload[:session_id]) # the client's one session
  end

  it "query.agent_sdk under :cli: the model and session from the init line, the figures from the result" do
    init = '{"type":"system","subtype":"init","session_id":"cli-1","model":"claude-haiku-4-5"}'
    result = '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"session_id":"cli-1",' \
             '"total_cost_usd":0.002,"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":3,' \
             '"cache_creation_input_tokens":2}}'
    allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream).and_yield(init).and_yield(result)
    events = capture(/\Aquery\.agent_sdk\z/) { SDK.query("hi", transport: :cli) { nil } }
    expect(one(events).payload).to eq(transport: :cli, model: "claude-haiku-4-5", subtype: "success", is_error: false,
                                      num_turns: 1, input_tokens: 10, output_tokens: 5, cache_read_tokens: 3,
                                      cache_creation_tokens: 2, total_cost_usd: 0.002, session_id: "cli-1")
  end

  it "request.agent_sdk / retry.agent_sdk: a 529 then a success is two attempts and one retry" do
    turns = [{ status: 529, headers: { "retry-after-ms" => "20" } }, answer("finally")]
    events = SDK::Testing::FakeServer.open(turns) { |server| capture { SDK.query("hi", **api_options(server)).to_a } }
    failed, ok = named(events, :request).map(&:payload)
    expect(failed).to include(model: "claude-sonnet-4-5", attempt: 1, status: 529, input_tokens: nil, output_tokens: nil,
                              cost_micros: nil)
    expect(failed[:error]).to match(/HTTP 529: Overloaded/)
    expect(ok).to include(attempt: 2, status: 200, input_tokens: 900, output_tokens: 12, cache_read_tokens: 0,
                          cache_creation_tokens: 0, cost_micros: (900 * 3) + (12 * 15), error: nil)
    [failed, ok].each do |p|
      expect(p.keys).to contain_exactly(:model, :attempt, :status, :input_tokens, :output_tokens, :cache_read_tokens,
                                        :cache_creation_tokens, :cost_micros, :ttfb_ms, :total_ms, :error)
      expect(p[:ttfb_ms]).to be_between(0, p[:total_ms])
    end
    expect(named(events, :request).last.duration).to be_within(1.0).of(ok[:total_ms])
    retried = one(named(events, :retry)).payload
    expect(retried).to include(model: "claude-sonnet-4-5", attempt: 1, status: 529, wait_ms: 20)
    expect(retried[:reason]).to match(/HTTP 529/)
    expect(events.map(&:name).first(3)).to eq(%w[request.agent_sdk retry.agent_sdk request.agent_sdk])
  end

  it "asks the C driver for attempt records only when someone listens" do
    SDK::Testing::FakeServer.open do |server|
      run = SDK::APITransport::Run.new("hi", SDK::Options.build(**api_options(server)))
      expect(run.config[:instrument]).to be(false)
      capture(/\Aretry\.agent_sdk\z/) { expect(run.config[:instrument]).to be(true) }
    end
  end

  it "request.agent_sdk: status 0 and no ttfb when nothing answered" do
    events = capture do
      SDK.query("hi", transport: :api, model: "claude-sonnet-4-5", base_url: "http://127.0.0.1:#{closed_port}",
                      api_key: INSTR_KEY, session_store: :memory, max_retries: 0).to_a
    end
    request = one(named(events, :request)).payload
    expect(request).to include(attempt: 1, status: 0, ttfb_ms: nil)
    expect(request[:error]).to be_a(String)
    expect(one(named(events, :query)).payload).to include(subtype: "error_during_execution", is_error: true)
  end

  describe "tool_call.agent_sdk" do
    it "one per call of a real run, with the refusals named" do
      turns = [{ tool_uses: [{ name: "instr_lookup", input: { "order_number" => "ORD-1" } },
                            { name: "no_such_tool", input: {} }] },
               answer("done")]
      events = SDK::Testing::FakeServer.open(turns) do |server|
        capture(/\Atool_call\.agent_sdk\z/) { SDK.query("hi", **api_options(server)).to_a }
      end
      ok, unknown = events.map(&:payload)
      expect(ok).to match(tool: "instr_lookup", tool_use_id: start_with("toolu_"), is_error: false, refused: nil)
      expect(unknown).to match(tool: "no_such_tool", tool_use_id: start_with("toolu_"), is_error: true, refused: :unknown_tool)
      expect(events.map(&:duration)).to all(be >= 0)
    end

    it "names why each refusal refused" do
      deny_hook = { pre_tool_use: [{ matcher: "instr_lookup", handler: ->(_) { { "decision" => "block" } } }] }
      cases = {
        invalid_input: [{}, [{ id: "t1", name: "instr_lookup", input: { "order_number" => 7 } }]],
        repeated: [{}, Array.new(2) { |i| { id: "t#{i}", name: "instr_lookup", input: { "order_number" => "ORD-1" } } }],
        hook: [{ hooks: deny_hook }, [{ id: "t1", name: "instr_lookup", input: { "order_number" => "ORD-1" } }]],
        can_use_tool: [{ can_use_tool: ->(*) { false } }, [{ id: "t1", name: "instr_lookup", input: { "order_number" => "ORD-1" } }]],
        timeout: [{ default_timeout: 0.05 }, [{ id: "t1", name: "instr_nap", input: { "seconds" => 5 } }]]
      }
      cases.each do |why, (options, calls)|
        runner = SDK::ToolRunner.new([InstrLookup, InstrNap], **options)
        events = capture(/\Atool_call\.agent_sdk\z/) { runner.run(calls) }
        expect(events.last.payload).to include(refused: why, is_error: true), why.to_s
      end
      forbidden = Class.new(InstrLookup) do
        def self.name = "Forbidden"
        def permitted?(_context) = false
      end
      events = capture(/\Atool_call\.agent_sdk\z/) do
        SDK::ToolRunner.new([forbidden]).run([{ id: "t1", name: forbidden.tool_name, input: { "order_number" => "ORD-1" } }])
      end
      expect(one(events).payload).to include(refused: :not_permitted, is_error: true)
    end

    it "under :cli too: the SDK MCP server's calls go through the ToolRunner" do
      server = SDK::SdkMcpServer.new([InstrLookup])
      events = capture(/\Atool_call\.agent_sdk\z/) do
        server.handle("jsonrpc" => "2.0", "id" => 1, "method" => "tools/call",
                      "params" => { "name" => "instr_lookup", "arguments" => { "order_number" => "ORD-9" },
                                    "_meta" => { "claudecode/toolUseId" => "toolu_cli" } })
      end
      expect(one(events).payload).to eq(tool: "instr_lookup", tool_use_id: "toolu_cli", is_error: false, refused: nil)
    end

    it "builds no payload when nobody listens" do
      runner = SDK::ToolRunner.new([InstrLookup])
      expect(described_class).not_to receive(:publish)
      runner.run([{ id: "t1", name: "instr_lookup", input: { "order_number" => "ORD-1" } }])
    end
  end

  describe "tool calls in a thread of their own run inside config.wrap_callback" do
    around do |example|
      SDK.config.executor = RecordingExecutor.new
      example.run
    ensure
      SDK.config.executor = nil
    end

    let(:call) { { id: "t1", name: "instr_lookup", input: { "order_number" => "ORD-1" } } }

    it "wraps a call with a timeout and parallel calls, in their threads" do
      executor = SDK.config.executor
      SDK::ToolRunner.new([InstrLookup], default_timeout: 5).run([call])
      SDK::ToolRunner.new([InstrLookup]).run([call, call.merge(id: "t2", input: { "order_number" => "ORD-2" })])
      threads = Array.new(executor.threads.size) { executor.threads.pop }
      expect(threads.size).to eq(3)
      expect(threads).not_to include(Thread.current)
    end

    it "turns an executor that raises into an is_error result, never an exception out of #run" do
      broken = Object.new
      def broken.wrap = raise(IOError, "no connection")
      SDK.config.executor = broken
      log = StringIO.new
      result = SDK::ToolRunner.new([InstrLookup], default_timeout: 5, logger: Logger.new(log)).run([call]).first
      expect(result).to include(is_error: true, content: "IOError: no connection")
      expect(log.string).to include("IOError: no connection")
    end

    it "does not wrap a lone call in the caller's thread" do
      results = SDK::ToolRunner.new([InstrLookup]).run([call])
      expect(one(results)[:is_error]).to be(false)
      expect(SDK.config.executor.threads).to be_empty
    end
  end

  describe RubyLLM::AgentSDK::LogSubscriber do
    around do |example|
      io = StringIO.new
      described_class.logger = Logger.new(io, level: Logger::DEBUG, formatter: ->(_, _, _, message) { "#{message}\n" })
      @log = io
      example.run
    ensure
      described_class.logger = nil
    end

    it "writes one line an event: query at info, request, retry and tool_call at debug" do
      turns = [{ status: 529, headers: { "retry-after-ms" => "0" } }, tool_use("instr_lookup", "order_number" => "ORD-1"),
               answer("Shipped.")]
      SDK::Testing::FakeServer.open(turns) { |server| SDK.query("hi", **api_options(server)).to_a }
      lines = @log.string.lines(chomp: true)
      expect(lines.size).to eq(6)
      expect(lines.grep(/AgentSDK request/).size).to eq(3)
      expect(lines).to include(
        a_string_matching(/\AAgentSDK request \(\d+\.\dms\) claude-sonnet-4-5 attempt=1 status=529 ttfb=\d+ms error=HTTP 529: Overloaded\z/),
        a_string_matching(/\AAgentSDK retry claude-sonnet-4-5 attempt=1 status=529 wait=0ms reason=HTTP 529: Overloaded\z/),
        a_string_matching(/\AAgentSDK request \(\d+\.\dms\) claude-sonnet-4-5 attempt=2 status=200 ttfb=\d+ms tokens=800\/30 cost_micros=2850\z/),
        a_string_matching(/\AAgentSDK tool_call \(\d+\.\dms\) instr_lookup ok\z/)
      )
      expect(lines.last).to match(%r{\AAgentSDK query \(\d+\.\dms\) api claude-sonnet-4-5 success turns=2 tokens=1700/42 cost=\$0\.0057\z})
    end

    it "logs only the query at info" do
      described_class.logger.level = Logger::INFO
      SDK::Testing::FakeServer.open([answer("hi")]) { |server| SDK.query("hi", **api_options(server)).to_a }
      expect(@log.string.lines.map { |l| l[/\AAgentSDK \w+/] }).to eq(["AgentSDK query"])
    end
  end

  it "holds the API key in no payload and no log line" do
    io = StringIO.new
    RubyLLM::AgentSDK::LogSubscriber.logger = Logger.new(io, level: Logger::DEBUG)
    echo = "bad key #{INSTR_KEY} (Bearer #{INSTR_KEY})"
    turns = [{ status: 529, error: { message: echo }, headers: { "retry-after-ms" => "0" } },
             { tool_uses: [{ name: "instr_lookup", input: { "order_number" => "ORD-1" } }, { name: "nope", input: {} }] },
             { status: 401, error: { message: echo } }]
    events = SDK::Testing::FakeServer.open(turns) { |server| capture { SDK.query("hi", **api_options(server)).to_a } }
    events += capture do
      SDK.query("hi", transport: :api, model: "claude-sonnet-4-5", base_url: "http://127.0.0.1:#{closed_port}",
                      api_key: INSTR_KEY, session_store: :memory, max_retries: 0).to_a
    end
    expect(events.map(&:name).uniq).to contain_exactly(*%w[query request retry tool_call].map { |n| "#{n}.agent_sdk" })
    texts = events.map { |e| e.payload.inspect } + io.string.lines
    expect(texts.size).to be > 10
    texts.each do |text|
      expect(text).not_to include(INSTR_KEY)
      expect(text).not_to include("SECRETSECRET")
      expect(text).not_to match(/x-api-key/i)
    end
  ensure
    RubyLLM::AgentSDK::LogSubscriber.logger = nil
  end

  it "loads and runs without ActiveSupport (a subprocess: this one has it)" do
    code = <<~RUBY
      require "agent_sdk"
      abort "ActiveSupport loaded" if defined?(::ActiveSupport)
      class Lookup < RubyLLM::AgentSDK::Tool
        param :order_number, :string, required: true
        def call(order_number:) = "shipped"
      end
      abort "listening" if RubyLLM::AgentSDK::Instrumentation.listening?(:query)
      abort "yield" unless RubyLLM::AgentSDK::Instrumentation.instrument(:query, { a: 1 }) { |p| p[:a] } == 1
      turns = [{ tool_use: { name: "lookup", input: { order_number: "ORD-1" } } }, { text: "Shipped." }]
      result = RubyLLM::AgentSDK::Testing::FakeServer.open(turns) do |server|
        RubyLLM::AgentSDK.query("hi", transport: :api, model: "claude-sonnet-4-5", base_url: server.base_url,
                                api_key: "sk-test", session_store: :memory, tools: [Lookup]).to_a.last
      end
      abort "ActiveSupport loaded later" if defined?(::ActiveSupport)
      print result.subtype, " ", result.num_turns
    RUBY
    out, err, status = Open3.capture3(RbConfig.ruby, "-w", "-I", File.expand_path("../lib", __dir__), "-e", code)
    expect([out, err, status.success?]).to eq(["success 2", "", true])
  end
end
