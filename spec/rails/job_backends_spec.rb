# frozen_string_literal: true

require "rails_helper"

# Real worker processes run the dummy's jobs (spec/support/job_backends.rb): Solid Queue on the dummy's queue database
# (SQLite, or PostgreSQL under AGENT_SDK_DB=postgresql) and Sidekiq on the specs' Redis. EchoJob proves a job runs in
# the worker, not here; FlakyJob that a retry_on retry of a transient failure completes on the second attempt;
# ConfigJob that the worker has the group's config.agent_sdk, with which it runs AgentJob's :api loop against a
# FakeServer in this process, and retries an overloaded API through the backend (spec/rails/agent_job_backends_spec.rb
# runs AgentJob on :cli).
RSpec.describe "job backends" do
  shared_examples "a real job backend" do |adapter_name|
    # The worker starts after the group's before(:context) hooks, so its config can name this server.
    before(:context) { @server = RubyLLM::AgentSDK::Testing::FakeServer.new.start }
    after(:context) { @server&.stop }

    def job_worker_env
      agent_config_env(transport: :api, model: "claude-worker-model", retry_wait_cap: 1,
                       query_options: { base_url: @server.base_url, api_key: "sk-ant-api03-worker-test-not-a-real-key",
                                        max_retries: 0 })
    end

    it "starts the worker with the group's config.agent_sdk settings (job_worker_env)" do
      ConfigJob.perform_later("config-1")
      run = wait_for { JobRun.find_by(tag: "config-1") }
      expect(run.outcome).to eq(":api claude-worker-model #{@server.base_url}")
      expect(RubyLLM::AgentSDK.config.model).not_to eq("claude-worker-model")
    end

    it "runs AgentJob's :api loop in the worker against the FakeServer here: rows, totals, completed" do
      @server.clear_requests.script([{ text: "Hello from the worker.", usage: { input_tokens: 11, output_tokens: 7 } }])
      session = User.create!(name: "ada").agent_sessions.create!(prompt: "Say hello")
      session.run!
      wait_for(what: "session #{session.id} to be completed") { session.reload.status == "completed" }
      expect(session).to have_attributes(result: "Hello from the worker.", transport: "api", model_id: "claude-worker-model",
                                         input_tokens: 11, output_tokens: 7, num_turns: 1, claimed_by: nil)
      expect(session.agent_messages.pluck(:message_type)).to eq(%w[user system assistant result])
      expect(@server.agent_requests.size).to eq(1)
      expect(job_worker.log).to include("Performed AgentJob")
      expect(job_worker.log).not_to include("sk-ant-api03-worker-test")
    end

    it "retries AgentJob after a transient API failure (529): the backend's retry completes the session" do
      @server.clear_requests.script([{ status: 529 }, { text: "Back again." }])
      session = AgentSession.create!(prompt: "Try twice")
      session.run!
      wait_for(timeout: 45, what: "session #{session.id} to be completed") { session.reload.status == "completed" }
      expect(session).to have_attributes(result: "Back again.", failure_reason: nil, error_message: nil)
      expect(@server.agent_requests.size).to eq(2)
      expect(job_worker.log).to match(/Retrying AgentJob .*RubyLLM::AgentSDK::TransientError/)
    end

    it "runs a job in its own worker process" do
      EchoJob.perform_later("echo-1")
      run = wait_for(what: "EchoJob to write its row") { JobRun.find_by(tag: "echo-1") }
      expect(run).to have_attributes(job: "EchoJob", attempt: 1, outcome: "ok", backend: adapter_name)
      expect(run.pid).not_to eq(Process.pid)
      expect(job_worker).to be_alive
    end

    it "completes a job on its second attempt after a transient failure (retry_on)" do
      FlakyJob.perform_later("flaky-1")
      wait_for(timeout: 45, what: "FlakyJob's second attempt") { JobRun.where(tag: "flaky-1", outcome: "ok").exists? }
      runs = JobRun.where(tag: "flaky-1").order(:attempt).pluck(:attempt, :outcome)
      expect(runs).to eq([[1, "raised"], [2, "ok"]])
      expect(job_worker.log).to include("FlakyJob::TransientError")
    end
  end

  describe "Solid Queue", job_backend: :solid_queue do
    include_examples "a real job backend", "solid_queue"

    it "keeps its queue in the dummy's queue database, on the dummy's adapter" do
      adapter = ActiveRecord::Base.connection.adapter_name
      expect(SolidQueue::Record.connection.adapter_name).to eq(adapter)
      EchoJob.perform_later("echo-2")
      wait_for { JobRun.exists?(tag: "echo-2") }
      expect(SolidQueue::Job.where(class_name: "EchoJob").count).to eq(1)
    end
  end

  describe "Sidekiq", job_backend: :sidekiq do
    include_examples "a real job backend", "sidekiq"
  end

  describe "a worker that does not boot" do
    it "fails with its log, and is not left running" do
      worker = AgentSDKSpec::JobBackends.solid_queue("AGENT_SDK_CONFIG_JSON" => "{not json")
      expect { worker.start(timeout: 30) }
        .to raise_error(AgentSDKSpec::JobBackends::Timeout, /solid_queue exited while booting.*JSON::ParserError/m)
      expect(worker.pid).to be_nil
      expect(worker.log).to include("config/initializers/agent_sdk.rb")
    end
  end

  describe "outside a job_backend group" do
    it "has the test adapter and ActiveJob::TestHelper" do
      expect(EchoJob.queue_adapter).to be_a(ActiveJob::QueueAdapters::TestAdapter)
      expect { EchoJob.perform_later("x") }.to have_enqueued_job(EchoJob).with("x")
      assert_enqueued_with(job: EchoJob, args: ["y"]) { EchoJob.perform_later("y") }
      perform_enqueued_jobs { EchoJob.perform_later("z") }
      expect(JobRun.find_by(tag: "z")).to have_attributes(backend: "test", pid: Process.pid)
    end
  end
end
