# frozen_string_literal: true

# RubyLLM::AgentSDK::Pool against the real claude CLI and the fake server: prewarmed CLIs, one per query, replaced
# when they crash, idle too long or grow too big, forgotten over fork, and none left behind.
RSpec.describe RubyLLM::AgentSDK::Pool do
  # Seconds: a deadline for what a loaded CI machine may take (CLI starts), never a speed check.
  def patience = 300
  let(:pools) { [] }

  after do
    pools.each(&:shutdown)
    pools.each { |pool| described_class.unregister(pool) }
  end

  # with_real_cli, with this example's pools shut down before its server and directories go.
  def with_cli(turns, **server_options)
    with_real_cli(turns, **server_options) do |server, options|
      yield server, options
    ensure
      pools.each(&:shutdown)
    end
  end

  def pool_of(options, **settings)
    described_class.new(:spec, **settings, **options).tap { |pool| pools << pool }
  end

  def poll(what, timeout: patience)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until (value = yield)
      raise "timed out waiting for #{what}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.05
    end
    value
  end

  def alive?(pid) = AgentSDKSpec::Processes.alive?(pid)

  describe "options" do
    it "refuses what names one conversation, another transport, and per-query values that differ" do
      expect { described_class.new(resume: "abc") }.to raise_error(ArgumentError, /resume: cannot be a pool's option/)
      expect { described_class.new(transport: :api) }.to raise_error(ArgumentError, /transport: :api/)
      expect { described_class.new(size: 0) }.to raise_error(ArgumentError, /size/)
      expect { described_class.new(modle: "x") }.to raise_error(ArgumentError, /unknown option :modle/)
      pool = pool_of({ model: "claude-sonnet-4-5" })
      expect { pool.options_for(resume: "abc") }.to raise_error(ArgumentError, /resume: cannot be prewarmed/)
      expect { pool.options_for(model: "claude-haiku-4-5") }.to raise_error(ArgumentError, /model: differs/)
      expect(pool.options_for(model: "claude-sonnet-4-5")).to equal(pool.options)
      expect(pool.differences(SDK::Options.build(model: "claude-sonnet-4-5", resume: "abc"))).to eq([:resume])
      expect { SDK::Query.new("hi", SDK::Options.build(model: "claude-haiku-4-5"), pool: pool) }
        .to raise_error(ArgumentError, /model: differ/)
      expect { SDK::Client.new(pool: pool, model: "claude-haiku-4-5") }.to raise_error(ArgumentError, /model: differs/)
      expect { SDK.query("hi", pool: :nowhere) }.to raise_error(ArgumentError, /no pool named :nowhere/)
      expect(pool.stats[:started]).to eq(0) # nothing starts before a query or prewarm
    end
  end

  it "tells spawn-time options (must be the pool's) from per-checkout ones (the query's)" do
    allow_all = ->(*) { SDK::Permissions::Result.allow }
    hooks = ->(matcher, handler) { { pre_tool_use: [{ matcher: matcher, handler: handler }] } }
    pool = pool_of({ model: "claude-sonnet-4-5", can_use_tool: allow_all, hooks: hooks.call("Bash", ->(_) {}) })
    mine = ->(*) { SDK::Permissions::Result.allow }
    audit = ->(_) {}
    store = SDK::ToolExecutions::Memory.new
    bound = pool.options_for(context: { user: 7 }, tool_executions: store, timeout: 30, can_use_tool: mine,
                             hooks: hooks.call("Bash", audit))
    expect(bound).to have_attributes(context: { user: 7 }, tool_executions: store, timeout: 30, can_use_tool: mine)
    expect(bound.hooks["PreToolUse"].first.handlers).to eq([audit])
    expect(pool.options).to have_attributes(context: nil, tool_executions: nil, can_use_tool: allow_all)
    expect(pool.differences(bound)).to be_empty
    expect(pool.differences(bound.with(hooks: hooks.call("Read", audit)))).to eq([:hooks]) # another matcher
    expect(pool.differences(bound.with(hooks: {}))).to eq([:hooks])
    expect(pool.differences(SDK::Options.build(model: "claude-sonnet-4-5", hooks: hooks.call("Bash", audit))))
      .to eq([:can_use_tool]) # none: the CLI was started with --permission-prompt-tool stdio
    expect((SDK::Pool::PER_CHECKOUT + SDK::Pool::BOUND_CALLABLES) - SDK::Options::SCHEMA.keys).to be_empty
  end

  it "answers each query on a prewarmed CLI of its own, and replaces it" do
    with_cli([], default: { text: "pooled" }) do |_server, options|
      pool = pool_of(options, size: 2)
      expect(pool.wait_ready(2, timeout: patience)).to be(true)
      warm = pool.ready_pids
      sessions = Array.new(2) do
        messages = SDK.query("hello", pool: pool).to_a
        expect(messages.last).to be_result
        expect(messages.last.content).to eq("pooled")
        messages.last.session_id
      end
      SDK::Client.open(pool: pool) do |client| # a conversation of its own, on a pooled CLI
        first = client.query("one") { nil }
        expect(client.query("two") { nil }.session_id).to eq(first.session_id)
        sessions << first.session_id
      end
      expect(sessions.uniq.size).to eq(3) # no conversation shared between callers
      poll("the used CLIs to be stopped") { warm.none? { |pid| alive?(pid) } }
      expect(pool.wait_ready(2, timeout: patience)).to be(true)
      expect(pool.ready_pids & warm).to be_empty
      expect(pool.stats).to include(started: be >= 4)
    end
  end

  it "binds each query's execution store, context and hook handlers to its prewarmed CLI, and to no other" do
    calls = []
    refund = Class.new(SDK::Tool) do
      tool_name "issue_refund"
      description "Refunds an order"
      side_effect!
      param :order, :string, required: true
      define_method(:call) do |order:|
        calls << [context[:tenant], order]
        "refunded #{order} for #{context[:tenant]}"
      end
    end
    turn = { tool_use: { name: "mcp__agent_sdk__issue_refund", input: { "order" => "A1" } } }
    with_cli([turn, { text: "Refunded." }, turn, { text: "Refunded too." }]) do |server, options|
      hook = ->(_ctx) {}
      pool = pool_of(options, size: 2, refill_delay: 3600, tools: [refund], context: { tenant: "pool" },
                              hooks: { pre_tool_use: [{ matcher: "mcp__agent_sdk__issue_refund", handler: hook }] })
      expect(pool.wait_ready(2, timeout: patience)).to be(true)
      warm = pool.ready_pids
      seen = []
      stores = %w[a b].map do |tenant|
        store = SDK::ToolExecutions::Memory.new
        record = lambda do |ctx|
          seen << [tenant, ctx.tool_input["order"], child_pids & warm]
          nil
        end
        hooks = { pre_tool_use: [{ matcher: "mcp__agent_sdk__issue_refund", handler: record }] }
        messages = SDK.query("Refund A1", pool: pool, tools: [refund], context: { tenant: tenant },
                                        tool_executions: store, hooks: hooks).to_a
        expect(messages.last).to be_result
        store
      end
      # the same call in both: a shared store would have replayed the first result instead of running it again
      expect(calls).to eq([%w[a A1], %w[b A1]])
      expect(stores.map { |store| store.calls.values.map { |c| c[:content] } })
        .to eq([["refunded A1 for a"], ["refunded A1 for b"]])
      expect(seen.map(&:first)).to eq(%w[a b])
      # each ran on a prewarmed CLI (the first one's stopped by the second query)
      expect(seen.map(&:last)).to eq([warm, warm.drop(1)])
      expect(pool.stats).to include(misses: 0)
      expect(server.agent_requests.map { |r| r.body["messages"].to_s }.grep(/refunded A1 for/).size).to eq(2)
      expect { pool.checkout(SDK::Options.build(**options, tools: [refund])) }
        .to raise_error(ArgumentError, /hooks: differ from the pool's spawn-time options/)
    end
  end

  it "replaces an idle CLI that was killed, and one over max_rss_mb; stops idle ones and waits for the next query" do
    with_cli([], default: { text: "ok" }) do |_server, options|
      pool = pool_of(options, size: 1, check_interval: 0.1)
      expect(pool.wait_ready(1, timeout: patience)).to be(true)
      victim = pool.ready_pids.first
      Process.kill("KILL", victim)
      poll("the killed CLI to be replaced") { pool.stats[:replaced][:exited] == 1 && pool.ready == 1 }
      expect(pool.ready_pids).not_to include(victim)
      expect(SDK.query("hi", pool: pool).to_a.last.content).to eq("ok")

      idle = pool_of(options, size: 1, max_idle: 0.3, check_interval: 0.1)
      expect(idle.wait_ready(1, timeout: patience)).to be(true)
      poll("the idle CLI to be stopped") { idle.stats[:replaced][:idle] == 1 && idle.ready.zero? }
      sleep 0.5
      expect(idle.stats).to include(starting: 0, ready: 0) # dormant until the next query
      expect(SDK.query("hi", pool: idle).to_a.last.content).to eq("ok") # a miss: started in the caller
      expect(idle.stats[:misses]).to eq(1)

      big = pool_of(options, size: 1, max_rss_mb: 1, check_interval: 0.1)
      big.prewarm
      poll("a CLI over max_rss_mb to be replaced") { big.stats[:replaced][:rss] >= 1 }
    end
  end

  it "in a forked child, forgets the parent's CLIs and starts its own" do
    with_cli([], default: { text: "forked" }) do |_server, options|
      pool = pool_of(options, size: 1)
      expect(pool.wait_ready(1, timeout: patience)).to be(true)
      parent_pids = pool.ready_pids
      reader, writer = IO.pipe
      child = fork do
        reader.close
        report = { "ready_after_fork" => pool.ready }
        report["content"] = SDK.query("hi", pool: pool).to_a.last.content
        report["own"] = pool.wait_ready(1, timeout: patience) && (pool.ready_pids & parent_pids).empty?
        writer.write(JSON.generate(report))
        writer.close
        exit 0 # a normal exit: the at_exit hooks (Pool.shutdown_all, ChildProcess.stop_all) run here, and must not
        # touch the parent's CLIs
      end
      writer.close
      report = JSON.parse(reader.read)
      Process.wait(child)
      expect(report).to eq("ready_after_fork" => 0, "content" => "forked", "own" => true)
      expect(parent_pids.all? { |pid| alive?(pid) }).to be(true)
      expect(pool.ready_pids).to eq(parent_pids)
      expect(SDK.query("hi", pool: pool).to_a.last.content).to eq("forked")
    end
  end

  it "under concurrent callers and killed CLIs, every query gets a result or a typed error; no process is left" do
    with_cli([], default: { text: "soak" }) do |_server, options|
      pool = pool_of(options, size: 2, check_interval: 0.2)
      expect(pool.wait_ready(2, timeout: patience)).to be(true)
      outcomes = Queue.new
      queries = 12
      todo = Queue.new
      queries.times { |i| todo << i }
      kills = []
      killer = Thread.new do
        2.times do
          pid = poll("a CLI to kill") { pool.ready_pids.first || child_pids.first }
          kills << pid
          Process.kill("KILL", pid)
          sleep 0.5
        rescue Errno::ESRCH
          retry
        end
      end
      workers = Array.new(3) do
        Thread.new do
          while (i = (todo.pop(true) rescue nil)) # rubocop:disable Style/RescueModifier -- empty queue ends the worker
            outcomes << begin
              result = SDK.query("question #{i}", pool: pool).to_a.last
              result&.result? ? :result : :no_result
            rescue RubyLLM::AgentSDK::Error => e
              e.class
            end
          end
        end
      end
      workers.each(&:join)
      killer.join
      results = Array.new(outcomes.size) { outcomes.pop }
      expect(results.size).to eq(queries)
      expect(results).to all(satisfy { |r| r == :result || (r.is_a?(Class) && r <= RubyLLM::AgentSDK::Error) })
      expect(results.count(:result)).to be >= queries - 2
      expect(kills.size).to eq(2)
      pool.shutdown
      poll("every CLI to be reaped") { child_processes.empty? }
    end
  end

  def child_pids
    child_processes.map { |line| Integer(line.split.first) }
  end
end
