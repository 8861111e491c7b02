# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

# The Rails job on a prewarmed CLI (config.agent_sdk.pool + default_pool), against the real CLI and the fake server:
# a first round takes the pool's CLI; a resumed round (its CLI starts with --resume) starts its own; a session's own
# tool-execution store and context are bound to the pooled CLI it runs on (Pool::PER_CHECKOUT).
RSpec.describe "AgentJob through a prewarmed CLI pool", :rails do
  include AgentConfigHelpers

  let(:user) { User.create!(name: "ada") }
  let(:session) { AgentSession.create!(user: user, prompt: "Where is order 1042?") }

  def child_pids
    child_processes.map { |line| Integer(line.split.first) }
  end

  it "runs a session with a side-effect Ruby tool on a prewarmed CLI, its call recorded in agent_tool_executions" do
    expect(RubyLLM::AgentSDK::ActiveRecord::ToolExecutionStore.available?).to be(true)
    ran_on = []
    probe = -> { child_pids }
    refund = Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "issue_refund"
      description "Refunds an order"
      side_effect!
      param :order, :string, required: true
      define_method(:call) do |order:|
        ran_on << probe.call
        "refunded #{order}"
      end
    end
    turns = [{ tool_use: { name: "mcp__agent_sdk__issue_refund", input: { "order" => "1042" } } }, { text: "Refunded." }]
    with_real_cli(turns) do |_server, options, _cwd|
      config = RubyLLM::AgentSDK.config
      with_agent_config(transport: :cli, model: "claude-sonnet-4-5", query_options: options.except(:model),
                        tools: [refund], default_pool: :support) do
        pool = config.pool(:support, size: 1, refill_delay: 3600) # no replacement starts while the run is on
        begin
          expect(pool.wait_ready(1, timeout: 300)).to be(true)
          warm = pool.ready_pids

          AgentJob.perform_now(session.id, "Refund order 1042")
          expect(session.reload).to have_attributes(status: "completed", result: "Refunded.")
          expect(ran_on).to eq([warm]) # the tool ran while the prewarmed CLI was this process's only child
          expect(pool.stats).to include(misses: 0)
          rows = RubyLLM::AgentSDK::ActiveRecord::ToolExecutionStore.model.where(agent_session_id: session.id)
          expect(rows.pluck(:tool_name, :status, :result, :is_error))
            .to eq([["issue_refund", "finished", "refunded 1042", false]])
        ensure
          config.pools.delete(:support)&.shutdown
          RubyLLM::AgentSDK::Pool.unregister(pool)
        end
      end
    end
  end

  it "runs a session's first round on a ready CLI of the configured pool, and a resumed one without it" do
    with_real_cli([{ text: "It shipped on Monday." }, { text: "Yes, DHL." }]) do |server, options, _cwd|
      config = RubyLLM::AgentSDK.config
      with_agent_config(transport: :cli, model: "claude-sonnet-4-5", query_options: options.except(:model),
                        default_pool: :support) do
        pool = config.pool(:support, size: 1)
        begin
          expect(pool.wait_ready(1, timeout: 300)).to be(true)
          warm = pool.ready_pids.first

          AgentJob.perform_now(session.id, session.prompt)
          expect(session.reload).to have_attributes(status: "completed", result: "It shipped on Monday.", transport: "cli")
          expect(pool.stats).to include(misses: 0)
          expect(pool.ready_pids).not_to include(warm) # handed out, stopped after its run, never handed out again

          started = pool.stats[:started]
          session.resume!("Which carrier?")
          perform_enqueued_jobs
          expect(session.reload).to have_attributes(status: "completed", result: "Yes, DHL.")
          expect(pool.stats).to include(misses: 0) # the resumed round did not take (or miss) a pooled CLI
          expect(pool.stats[:started]).to be <= started + 1
          expect(server.agent_requests.last.body["messages"].to_s).to include("Where is order 1042?", "It shipped on Monday.")
        ensure
          config.pools.delete(:support)&.shutdown
          RubyLLM::AgentSDK::Pool.unregister(pool)
        end
      end
    end
  end
end
