# frozen_string_literal: true

require "logger"
require "stringio"
require "timeout"

RSpec.describe RubyLLM::AgentSDK::ToolRunner do
  sdk = RubyLLM::AgentSDK

  module RunnerSpecTools
    CALLS = Queue.new

    class LookupOrder < RubyLLM::AgentSDK::Tool
      description "Look up an order"
      param :order_number, :string, required: true, min_length: 5
      param :include_items, :boolean

      def call(order_number:, include_items: false)
        CALLS << [:lookup_order, order_number, include_items, context]
        { "number" => order_number, "items" => include_items ? [1, 2] : [] }
      end
    end

    class Echo < RubyLLM::AgentSDK::Tool
      param :text, :string, required: true
      def call(text:) = text
    end

    class Boom < RubyLLM::AgentSDK::Tool
      def call = raise(ArgumentError, "order ORD-9 is archived")
    end

    class Nap < RubyLLM::AgentSDK::Tool
      param :seconds, :number, required: true
      param :label, :string
      def call(seconds:, label: nil) # rubocop:disable Lint/UnusedMethodArgument
        sleep seconds
        "slept #{seconds}"
      end
    end

    class Stuck < RubyLLM::AgentSDK::Tool
      FINISHED = []
      timeout 0.2
      def call
        sleep 3
        FINISHED << true
        "never"
      end
    end

    # A side effect after a nap, in a thread of its own (it has a timeout).
    class Appender < RubyLLM::AgentSDK::Tool
      STARTED = Queue.new
      DONE = []
      timeout 30
      param :nap, :number, required: true
      def call(nap:)
        STARTED << true
        sleep nap
        DONE << :appended
        "appended"
      end
    end

    class AdminOnly < RubyLLM::AgentSDK::Tool
      def permitted?(context) = context[:admin]
      def call = "secret"
    end

    class NaN < RubyLLM::AgentSDK::Tool
      def call = { "x" => Float::NAN }
    end

    # Records the thread it ran in, the thread's name and a fiber-local set by the caller; may nap first.
    class WhereAmI < RubyLLM::AgentSDK::Tool
      SEEN = Queue.new
      param :label, :string
      param :nap, :number
      def call(label: nil, nap: 0)
        sleep nap
        SEEN << [label, Thread.current, Thread.current.name, Thread.current[:runner_spec_marker]]
        "here"
      end
    end

    class WhereAmITimed < WhereAmI
      timeout 5
    end

    class Raiser < RubyLLM::AgentSDK::Tool
      KINDS = { "interrupt" => -> { raise Interrupt }, "exit" => -> { exit 3 },
                "timeout" => -> { Timeout.timeout(0.01) { sleep 1 } }, "not_implemented" => -> { raise NotImplementedError, "later" },
                "stack" => -> { deep = ->(n) { deep.call(n + 1) + 1 }; deep.call(0) } }.freeze
      param :kind, :string, required: true, enum: KINDS.keys
      def call(kind:) = KINDS.fetch(kind).call
    end
  end

  let(:tools) { RunnerSpecTools }
  let(:log) { StringIO.new }
  let(:logger) { Logger.new(log) }
  let(:all_tools) do
    [tools::LookupOrder, tools::Echo, tools::Boom, tools::Nap, tools::Stuck, tools::AdminOnly, tools::NaN, tools::WhereAmI,
     tools::WhereAmITimed, tools::Raiser, tools::Appender]
  end

  def runner(**options)
    described_class.new(all_tools, context: { user: "ann", admin: false }, logger: logger, **options)
  end

  def run_one(name, input, **options)
    runner(**options).run([{ id: "toolu_1", name: name, input: input }]).first
  end

  before do
    tools::CALLS.clear
    tools::WhereAmI::SEEN.clear
  end

  def seen_threads
    Array.new(tools::WhereAmI::SEEN.size) { tools::WhereAmI::SEEN.pop }.sort_by { |label, *| label.to_s }
  end

  around do |example|
    previous = sdk::Hooks.logger
    sdk::Hooks.logger = logger
    example.run
  ensure
    sdk::Hooks.logger = previous
  end

  it "runs a call with the symbolized input and the context; a Hash result becomes JSON, a String stays as is" do
    results = runner.run([{ id: "toolu_1", name: "lookup_order", input: { "order_number" => "ORD-1234", "include_items" => true } },
                          { id: "toolu_2", name: "echo", input: '{"text": "plain text"}' }])
    expect(results).to eq([{ tool_use_id: "toolu_1", content: '{"number":"ORD-1234","items":[1,2]}', is_error: false },
                           { tool_use_id: "toolu_2", content: "plain text", is_error: false }])
    expect(tools::CALLS.pop).to eq([:lookup_order, "ORD-1234", true, { user: "ann", admin: false }])
  end

  it "answers an unknown tool with the list of the available ones" do
    result = run_one("lookup_ordr", {})
    expect(result).to eq(tool_use_id: "toolu_1", is_error: true,
                         content: 'Unknown tool "lookup_ordr". Available tools: lookup_order, echo, boom, nap, stuck, admin_only, na_n, ' \
                                  "where_am_i, where_am_i_timed, raiser, appender")
  end

  it "answers invalid input naming each problem, and does not call the tool" do
    result = run_one("lookup_order", { "order_number" => "ORD", "include_items" => "yes", "extra" => 1 })
    expect(result[:is_error]).to be(true)
    expect(result[:content]).to eq('Invalid input for tool "lookup_order": unexpected property "extra"; ' \
                                   "include_items: expected boolean, got string; order_number: must be at least 5 characters long")
    expect(run_one("lookup_order", {})[:content]).to end_with('missing required property "order_number"')
    expect(tools::CALLS).to be_empty
  end

  it "refuses the same call twice in a run (keys in any order), and only in that run" do
    r = runner
    first = r.run([{ id: "a", name: "lookup_order", input: { "order_number" => "ORD-1234", "include_items" => false } }])
    again = r.run([{ id: "b", name: "lookup_order", input: { "include_items" => false, "order_number" => "ORD-1234" } },
                   { id: "c", name: "lookup_order", input: { "order_number" => "ORD-5678" } },
                   { id: "d", name: "lookup_order", input: { "order_number" => "ORD-5678" } }])
    expect(first.first[:is_error]).to be(false)
    expect(again.map { |x| x[:is_error] }).to eq([true, false, true])
    expect(again[0][:content]).to eq("lookup_order was already called with these arguments in this run; use the earlier result")
    expect(tools::CALLS.size).to eq(2)
    expect(runner.run([{ id: "e", name: "lookup_order", input: { "order_number" => "ORD-1234" } }]).first[:is_error]).to be(false)
    expect(runner(dedup: false).run([{ id: "f", name: "echo", input: { "text" => "x" } }] * 2).map { |x| x[:is_error] })
      .to eq([false, false])
  end

  it "answers 'not permitted' when permitted?(context) is false" do
    result = run_one("admin_only", {})
    expect(result).to eq(tool_use_id: "toolu_1", content: "admin_only is not permitted in this context", is_error: true)
    ok = described_class.new([tools::AdminOnly], context: { admin: true }).run([{ id: "x", name: "admin_only", input: {} }])
    expect(ok.first[:content]).to eq("secret")
  end

  it "reports an exception as 'Class: message' to the model and the backtrace only to the logger" do
    result = run_one("boom", {})
    expect(result).to eq(tool_use_id: "toolu_1", content: "ArgumentError: order ORD-9 is archived", is_error: true)
    expect(log.string).to include("tool boom raised ArgumentError: order ORD-9 is archived", "tool_runner_spec.rb")
  end

  it "stops a call at its timeout, kills its thread, and says so" do
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    result = run_one("stuck", {})
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 1.5
    expect(result).to eq(tool_use_id: "toolu_1", content: "stuck timed out after 0.2 s", is_error: true)
    sleep 0.1
    expect(Thread.list.map(&:name)).not_to include("agent_sdk tool stuck")
    expect(run_one("nap", { "seconds" => 2 }, default_timeout: 0.1)[:content]).to eq("nap timed out after 0.1 s")
  end

  it "caps a long result at result_max_bytes on a UTF-8 boundary, with a note" do
    result = run_one("echo", { "text" => "é" * 100 }, result_max_bytes: 11)
    expect(result[:content]).to eq("#{"é" * 5}\n[truncated: showed 10 of 200 bytes]")
    expect(result[:is_error]).to be(false)
  end

  it "answers a result that cannot be JSON with an error" do
    expect(run_one("na_n", {})).to include(is_error: true, content: /could not be turned into JSON \(JSON::GeneratorError/)
  end

  it "runs the calls of a turn at the same time, results in call order" do
    calls = [{ id: "1", name: "nap", input: { "seconds" => 0.3, "label" => "a" } },
             { id: "2", name: "nap", input: { "seconds" => 0.3, "label" => "b" } },
             { id: "3", name: "echo", input: { "text" => "quick" } }]
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    results = runner.run(calls)
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    expect(results.map { |x| [x[:tool_use_id], x[:content]] }).to eq([%w[1 slept\ 0.3], %w[2 slept\ 0.3], %w[3 quick]])
    expect(elapsed).to be < 0.55

    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    runner(parallel: false).run(calls)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be >= 0.6
  end

  describe "which thread a call runs in" do
    around do |example|
      Thread.current[:runner_spec_marker] = "caller's"
      example.run
    ensure
      Thread.current[:runner_spec_marker] = nil
    end

    it "runs a lone call without a timeout in the caller's thread, seeing its fiber-locals" do
      expect(run_one("where_am_i", {})).to eq(tool_use_id: "toolu_1", content: "here", is_error: false)
      expect(seen_threads).to eq([[nil, Thread.current, Thread.current.name, "caller's"]])
    end

    it "runs a call with a timeout (its own or default_timeout) in a named thread of its own" do
      run_one("where_am_i_timed", { "label" => "own" })
      run_one("where_am_i", { "label" => "default" }, default_timeout: 5)
      seen = seen_threads
      expect(seen.map(&:first)).to eq(%w[default own])
      expect(seen.map { |_, thread, name, marker| [thread == Thread.current, name, marker] })
        .to eq([[false, "agent_sdk tool where_am_i", nil], [false, "agent_sdk tool where_am_i_timed", nil]])
    end

    it "runs several calls at once in threads of their own, one by one (parallel: false) in the caller's thread" do
      calls = [{ id: "1", name: "where_am_i", input: { "label" => "a", "nap" => 0.3 } },
               { id: "2", name: "where_am_i", input: { "label" => "b", "nap" => 0.3 } }]
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      runner.run(calls)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 0.55
      threads = seen_threads.map { |s| s[1] }
      expect(threads.uniq.size).to eq(2)
      expect(threads).not_to include(Thread.current)

      runner(parallel: false).run(calls)
      expect(seen_threads.map { |s| s[1] }).to eq([Thread.current, Thread.current])
    end

    it "runs a call inline when the others of its turn were refused before running" do
      results = runner.run([{ id: "1", name: "nope", input: {} }, { id: "2", name: "where_am_i", input: {} },
                            { id: "3", name: "lookup_order", input: { "order_number" => "ORD" } }])
      expect(results.map { |x| x[:is_error] }).to eq([true, false, true])
      expect(seen_threads.map { |s| s[1] }).to eq([Thread.current])
    end
  end

  describe "exceptions that are not errors" do
    it "lets Interrupt and SystemExit through, inline and from a tool's thread, as before" do
      [{}, { default_timeout: 5 }].each do |options|
        expect { run_one("raiser", { "kind" => "interrupt" }, **options) }.to raise_error(Interrupt)
        expect { run_one("raiser", { "kind" => "exit" }, **options) }.to raise_error(SystemExit) { |e| expect(e.status).to eq(3) }
      end
    end

    it "answers Timeout::Error, ScriptError and SystemStackError raised by a tool as errors, inline and in a thread" do
      [{}, { default_timeout: 5 }].each do |options|
        expect(run_one("raiser", { "kind" => "timeout" }, **options))
          .to include(is_error: true, content: "Timeout::Error: execution expired")
        expect(run_one("raiser", { "kind" => "not_implemented" }, **options))
          .to include(is_error: true, content: "NotImplementedError: later")
        expect(run_one("raiser", { "kind" => "stack" }, **options)).to include(is_error: true, content: /\ASystemStackError: /)
      end
    end

    describe "when the caller is interrupted while tools run in their threads" do
      before do
        tools::Appender::DONE.clear
        tools::Appender::STARTED.clear
      end

      def tool_threads = Thread.list.select { |t| t.name.to_s.start_with?("agent_sdk tool appender") }

      def appender_calls(count) = Array.new(count) { |i| { id: "t#{i}", name: "appender", input: { "nap" => 0.3 + i * 1e-3 } } }

      it "stops them before the caller's Timeout::Error propagates: no side effect after it" do
        [1, 2].each do |count| # one timed call alone, and a parallel turn
          expect { Timeout.timeout(0.1) { runner.run(appender_calls(count)) } }.to raise_error(Timeout::Error)
          expect(tool_threads).to be_empty
          sleep 0.6 # well past the tools' nap
          expect(tools::Appender::DONE).to be_empty
        end
      end

      it "stops them when the caller's thread is killed or raised into" do
        [->(t) { t.kill }, ->(t) { t.raise(RuntimeError, "stop") }].each do |interrupt|
          caller = Thread.new do
            Thread.current.report_on_exception = false
            runner.run(appender_calls(2))
          end
          2.times { tools::Appender::STARTED.pop }
          interrupt.call(caller)
          caller.join rescue RuntimeError # rubocop:disable Style/RescueModifier
          expect(tool_threads).to be_empty
          sleep 0.6
          expect(tools::Appender::DONE).to be_empty
        end
      end
    end

    it "does not swallow the caller's own Timeout.timeout while a tool runs inline" do
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect { Timeout.timeout(0.2) { run_one("nap", { "seconds" => 3 }) } }.to raise_error(Timeout::Error)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 1.5
    end
  end

  describe "hooks" do
    it "lets a pre_tool_use hook deny (matched by tool name) and forgets the refused call" do
      seen = []
      hooks = { pre_tool_use: [{ matcher: "lookup_order", handler: lambda { |ctx|
        seen << [ctx.event, ctx.tool_name, ctx.tool_input, ctx.tool_use_id, ctx["session_id"]]
        sdk::Hooks::Result.deny("orders are off limits")
      } }] }
      r = runner(hooks: hooks, hook_input: { session_id: "s-1" })
      results = r.run([{ id: "t1", name: "lookup_order", input: { "order_number" => "ORD-1234" } },
                       { id: "t2", name: "echo", input: { "text" => "hi" } }])
      expect(results.first).to eq(tool_use_id: "t1", content: "orders are off limits", is_error: true)
      expect(results.last[:content]).to eq("hi")
      expect(seen).to eq([["PreToolUse", "lookup_order", { "order_number" => "ORD-1234" }, "t1", "s-1"]])
      expect(tools::CALLS).to be_empty
      # Refused, not run: the same call again is asked about again rather than called a repeat.
      expect(r.run([{ id: "t3", name: "lookup_order", input: { "order_number" => "ORD-1234" } }]).first[:content])
        .to eq("orders are off limits")
    end

    it "lets a pre_tool_use hook modify the input, which is validated again" do
      upcase = ->(ctx) { sdk::Hooks::Result.modify(ctx.tool_input.merge("order_number" => ctx.tool_input["order_number"].upcase)) }
      result = run_one("lookup_order", { "order_number" => "ord-1234" }, hooks: { pre_tool_use: [upcase] })
      expect(result[:content]).to eq('{"number":"ORD-1234","items":[]}')
      expect(tools::CALLS.pop[1]).to eq("ORD-1234")

      breaker = { matcher: "lookup_.*", handler: ->(_ctx) { sdk::Hooks::Result.modify("order_number" => 5) } }
      result = run_one("lookup_order", { "order_number" => "ORD-1234" }, hooks: { pre_tool_use: [breaker] })
      expect(result).to include(is_error: true, content: 'Invalid input for tool "lookup_order": order_number: expected ' \
                                                         "string, got integer (as changed by a pre_tool_use hook)")
    end

    it "matches each tool by its own name, run after run (a regular expression matcher)" do
      seen = []
      r = runner(hooks: { pre_tool_use: [{ matcher: "ech.", handler: ->(ctx) { seen << ctx.tool_name && nil } }],
                          post_tool_use: [{ matcher: "lookup_order|na_n", handler: ->(ctx) { seen << "post #{ctx.tool_name}" && nil } }] })
      2.times do |i|
        r.run([{ id: "a", name: "echo", input: { "text" => i.to_s } },
               { id: "b", name: "lookup_order", input: { "order_number" => "ORD-100#{i}" } }])
      end
      expect(seen).to eq(["echo", "post lookup_order", "echo", "post lookup_order"])
    end

    it "fails closed when a pre_tool_use hook raises" do
      result = run_one("echo", { "text" => "x" }, hooks: { pre_tool_use: [->(_ctx) { raise "hook bug" }] })
      expect(result).to include(is_error: true, content: "Hook error (RuntimeError); failing closed")
      expect(log.string).to include("hook PreToolUse raised RuntimeError: hook bug")
    end

    it "shows post_tool_use the result and post_tool_use_failure the error" do
      seen = []
      hooks = { post_tool_use: [->(ctx) { seen << [ctx.event, ctx.tool_name, ctx.tool_response] && nil }],
                post_tool_use_failure: [->(ctx) { seen << [ctx.event, ctx.tool_name, ctx["error"]] && nil }] }
      runner(hooks: hooks).run([{ id: "1", name: "echo", input: { "text" => "hi" } }, { id: "2", name: "boom", input: {} },
                                { id: "3", name: "nope", input: {} }])
      expect(seen).to eq([%w[PostToolUse echo hi], ["PostToolUseFailure", "boom", "ArgumentError: order ORD-9 is archived"]])
    end
  end

  describe "can_use_tool" do
    it "denies with its message" do
      asked = []
      deny = lambda { |name, input, context|
        asked << [name, input, context.tool_use_id]
        sdk::Permissions::Result.deny("ask a human first")
      }
      expect(run_one("echo", { "text" => "x" }, can_use_tool: deny))
        .to eq(tool_use_id: "toolu_1", content: "ask a human first", is_error: true)
      expect(asked).to eq([["echo", { "text" => "x" }, "toolu_1"]])
    end

    it "may allow with a changed input, and denies when it raises" do
      allow = ->(_name, _input, _ctx) { sdk::Permissions::Result.allow(updated_input: { "text" => "changed" }) }
      expect(run_one("echo", { "text" => "x" }, can_use_tool: allow)[:content]).to eq("changed")
      broken = ->(*) { raise "oops" }
      expect(run_one("echo", { "text" => "x" }, can_use_tool: broken))
        .to include(is_error: true, content: "Permission check failed (RuntimeError); denied")
    end
  end

  it "never raises for a bad call" do
    results = runner.run([nil, { id: "2", name: "echo", input: { "text" => Float::INFINITY } }, { "id" => "3", "name" => "echo",
                                                                                                   "input" => { "text" => "ok" } }])
    expect(results.map { |x| x[:is_error] }).to eq([true, true, false])
    expect(results.last[:content]).to eq("ok")
  end

  it "checks its arguments" do
    expect { described_class.new([String]) }.to raise_error(ArgumentError, /Tool subclasses/)
    expect { described_class.new([tools::Echo], result_max_bytes: 0) }.to raise_error(ArgumentError, /result_max_bytes/)
    expect { described_class.new([tools::Echo], hooks: { nope: [] }) }.to raise_error(ArgumentError, /unknown hook event/)
    expect { runner.run("x") }.to raise_error(ArgumentError, /Array/)
  end
end
