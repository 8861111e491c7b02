# frozen_string_literal: true

require "rails_helper"

# The dummy's AgentJob (the install generator's) end to end in a real worker process: on Solid Queue (the dummy's
# queue database: SQLite, or PostgreSQL under AGENT_SDK_DB=postgresql) and on Sidekiq (Redis). The worker runs the
# :cli transport against spec/support/bin/fault-cli: a run persists its rows and completes; a CLI that crashes
# (ProcessError, which AgentJob retries) is retried by the backend and completes on the second attempt. (The :api
# loop in a worker, against a FakeServer here: spec/rails/job_backends_spec.rb.)
RSpec.describe "AgentJob on real job backends" do
  shared_examples "AgentJob in a worker process" do
    before(:context) do
      @dir = Dir.mktmpdir("agent-job-backends-")
      @once_file = File.join(@dir, "crashed-once")
    end
    after(:context) { FileUtils.rm_rf(@dir) }

    # config.agent_sdk in the worker: the fault CLI, crashing while @once_file is missing; retry_on's wait capped at
    # a second.
    def job_worker_env
      cli = File.expand_path("../support/bin/fault-cli", __dir__)
      agent_config_env(transport: :cli, retry_wait_cap: 1, heartbeat_interval: 0.2,
                       query_options: { cli_path: cli, cwd: @dir,
                                        env: { "FAULT_CLI_MODE" => "segv_once", "FAULT_ONCE_FILE" => @once_file } })
    end

    def finished(session, status:, timeout: 30)
      wait_for(timeout: timeout, what: "session #{session.id} to be #{status}") { session.reload.status == status }
      session
    end

    it "runs a session: each message a row, the result on the session, completed" do
      File.write(@once_file, "") # no crash this time
      session = User.create!(name: "ada").agent_sessions.create!(prompt: "Say hello")
      session.run!
      finished(session, status: "completed")
      expect(session).to have_attributes(result: "after the crash", transport: "cli", claude_session_id: "s-1",
                                         claimed_by: nil, failure_reason: nil)
      expect(session.agent_messages.pluck(:position, :message_type)).to eq([[1, "user"], [2, "system"], [3, "assistant"], [4, "result"]])
      expect(job_worker.log).to include("Performed AgentJob")
    end

    it "retries a CLI that crashed (ProcessError) and completes on the second attempt" do
      FileUtils.rm_f(@once_file)
      session = AgentSession.create!(prompt: "Try twice")
      session.run!
      finished(session, status: "completed", timeout: 45)
      expect(File.read(@once_file)).to match(/\A\d+\z/) # the first attempt's CLI crashed
      expect(session.result).to eq("after the crash")
      expect(job_worker.log).to match(/Retrying AgentJob .*RubyLLM::AgentSDK::ProcessError/)
      # the crashed attempt's rows were kept; the retry appended its own
      expect(session.agent_messages.pluck(:message_type)).to eq(%w[user system assistant user system assistant result])
    end
  end

  describe "on Solid Queue", job_backend: :solid_queue do
    include_examples "AgentJob in a worker process"
  end

  describe "on Sidekiq", job_backend: :sidekiq do
    include_examples "AgentJob in a worker process"
  end
end
