# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

# The Rails job on a prewarmed CLI (config.agent_sdk.pool + default_pool), against the real CLI and the fake server:
# a first round takes the pool's CLI; a resumed round (its CLI starts with --resume) starts its own.
RSpec.describe "AgentJob through a prewarmed CLI pool", :rails do
  include AgentConfigHelpers

  let(:user) { User.create!(name: "ada") }
  let(:session) { AgentSession.create!(user: user, prompt: "Where is order 1042?") }

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
