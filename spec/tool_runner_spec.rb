# frozen_string_literal: true

require "logger"
require "stringio"

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

    class AdminOnly < RubyLLM::AgentSDK::Tool
      def permitted?(context) = context[:admin]
      def call = "secret"
    end

    class NaN < RubyLLM::AgentSDK::Tool
      def call = { "x" => Float::NAN }
    end
  end

  let(:tools) { RunnerSpecTools }
  let(:log) { StringIO.new }
  let(:logger) { Logger.new(log) }
  let(:all_tools) { [tools::LookupOrder, tools::Echo, tools::Boom, tools::Nap, tools::Stuck, tools::AdminOnly, tools::NaN] }

  def runner(**options)
    described_class.new(all_tools, context: { user: "ann", admin: false }, logger: logger, **options)
  end

  def run_one(name, input, **options)
    runner(**options).run([{ id: "toolu_1", name: name, input: input }]).first
  end

  before { tools::CALLS.clear }

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
                         content: 'Unknown tool "lookup_ordr". Available tools: lookup_order, echo, boom, nap, stuck, admin_only, na_n')
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
    calls = [{ id: "1", name: "nap", input: { "seconds" => 0.5, "label" => "a" } },
             { id: "2", name: "nap", input: { "seconds" => 0.5, "label" => "b" } },
             { id: "3", name: "echo", input: { "text" => "quick" } }]
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    results = runner.run(calls)
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    expect(results.map { |x| [x[:tool_use_id], x[:content]] }).to eq([%w[1 slept\ 0.5], %w[2 slept\ 0.5], %w[3 quick]])
    expect(elapsed).to be < 0.9

    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    runner(parallel: false).run(calls)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be >= 1.0
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
