# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"
require_relative "support/race"

# RecoveryJob takes over running sessions whose worker stopped heartbeating: one conditional UPDATE each, whoever
# runs it and however many at once. On the dummy's database (SQLite, or PostgreSQL under AGENT_SDK_DB=postgresql),
# committing for real: the recoverers and the dead workers are other threads and processes.
RSpec.describe RubyLLM::AgentSDK::ActiveJob::RecoveryJob, :rails, :commits do
  include RaceHelpers
  include AgentConfigHelpers
  include ActiveSupport::Testing::TimeHelpers

  let(:user) { User.create!(name: "ada") }
  let(:recovery) { RubyLLM::AgentSDK::ActiveJob::RecoveryJob }

  # A session a worker claimed `age` seconds ago and has not heartbeated since.
  def running_session(age:, token: "deadhost:4242:job-1", **attributes)
    session = AgentSession.create!(user: user, prompt: "go", **attributes)
    expect(AgentSession.claim(session.id, token: token, now: Time.current - age)).to eq(:claimed)
    session.reload
  end

  it "takes over a session whose heartbeat is older than recovery_after, and leaves a fresh one alone" do
    stale = running_session(age: 400)
    fresh = running_session(age: 5, token: "livehost:1:job-2")
    taken = nil
    with_agent_config(recovery_after: 300) { taken = recovery.perform_now }
    expect(taken).to eq(recovered: [stale.id], abandoned: [], cancelled: [], requeued: [])
    expect(stale.reload).to have_attributes(status: "pending", claimed_by: nil, claimed_at: nil, recoveries: 1)
    expect(fresh.reload).to have_attributes(status: "running", claimed_by: "livehost:1:job-2", recoveries: 0)
    # no claude_session_id yet: simply run again, from its prompt
    expect(enqueued_jobs.map { |j| [j["job_class"], j["arguments"].first(2)] }).to eq([["AgentJob", [stale.id, nil]]])
    expect(enqueued_jobs.first["arguments"].last).to include("resume" => false)
  end

  it "resumes a session that has a conversation with resume: true" do
    stale = running_session(age: 400)
    stale.update_columns(claude_session_id: "s-7")
    with_agent_config(recovery_after: 300) { recovery.perform_now }
    args = enqueued_jobs.sole["arguments"]
    expect(args.first(2)).to eq([stale.id, recovery::PROMPT])
    expect(args.last).to include("resume" => true)
  end

  it "does not take a session whose worker heartbeated after it was read (the UPDATE checks again)" do
    session = running_session(age: 400)
    cutoff = Time.current - 300
    expect(AgentSession.stale(stale_before: cutoff)).to eq([[session.id, "deadhost:4242:job-1"]])
    AgentSession.heartbeat(session.id, token: "deadhost:4242:job-1") # the worker was only slow
    expect(AgentSession.take_over(session.id, token: "deadhost:4242:job-1", stale_before: cutoff, max_recoveries: 2))
      .to be_nil
    expect(session.reload).to have_attributes(status: "running", recoveries: 0)
    # nor one another worker claimed in between (a different token)
    expect(AgentSession.take_over(session.id, token: "other:1:x", stale_before: Time.current + 1, max_recoveries: 2))
      .to be_nil
  end

  it "counts recoveries up to max_recoveries, then fails the session as abandoned" do
    session = running_session(age: 400)
    outcomes = []
    with_agent_config(recovery_after: 300, max_recoveries: 2) do
      3.times do |i|
        taken = recovery.perform_now
        outcomes << taken.find { |_, ids| ids.include?(session.id) }&.first
        expect(AgentSession.claim(session.id, token: "w#{i}", now: Time.current - 400)).to eq(:claimed) if i < 2
      end
    end
    expect(outcomes).to eq(%i[recovered recovered abandoned])
    expect(session.reload).to have_attributes(status: "failed", failure_reason: "abandoned", recoveries: 2, claimed_by: nil,
                                              finished_at: be_present)
    expect(session.error_message).to include("stopped heartbeating")
    expect(enqueued_jobs.size).to eq(2)
  end

  it "cancels a stale session cancel! had asked to stop, instead of resuming it" do
    session = running_session(age: 400)
    expect(session.cancel!).to eq("running")
    taken = with_agent_config(recovery_after: 300) { recovery.perform_now }
    expect(taken[:cancelled]).to eq([session.id])
    expect(session.reload).to have_attributes(status: "cancelled", claimed_by: nil)
    expect(enqueued_jobs).to be_empty
  end

  it "enqueues again the job of a session left pending past recovery_after (its job died before the claim), once" do
    lost = AgentSession.create!(user: user, prompt: "go")
    travel_to(Time.current - 400) { lost.run! }
    waiting = AgentSession.create!(user: user, prompt: "just enqueued")
    waiting.run!
    draft = AgentSession.create!(user: user, prompt: "never run!", created_at: Time.current - 400,
                                 updated_at: Time.current - 400)
    clear_enqueued_jobs
    taken = with_agent_config(recovery_after: 300) { race(5) { recovery.perform_now } }
    expect(taken.flat_map { |t| t[:requeued] }).to eq([lost.id])
    expect(enqueued_jobs.map { |j| j["arguments"].first(2) }).to eq([[lost.id, nil]])
    expect(lost.reload).to have_attributes(status: "pending", recoveries: 0, heartbeat_at: be > Time.current - 5)
    expect([waiting.reload.status, draft.reload.status]).to eq(%w[pending pending])
    expect(draft.heartbeat_at).to be_nil
  end

  describe "run by many at once" do
    let!(:sessions) { Array.new(10) { |i| running_session(age: 400, token: "dead:#{i}:j") } }

    it "takes each stale session once across 20 threads" do
      results = with_agent_config(recovery_after: 300) { race(20) { recovery.perform_now } }
      ids = results.flat_map { |taken| taken[:recovered] }
      expect(ids).to match_array(sessions.map(&:id))
      expect(AgentSession.pluck(:status, :recoveries).uniq).to eq([["pending", 1]])
      expect(enqueued_jobs.size).to eq(10)
    end

    it "takes each stale session once across 8 processes" do
      codes = with_agent_config(recovery_after: 300) { race(8, processes: true) { recovery.perform_now[:recovered].size } }
      expect(codes.sum).to eq(10)
      expect(codes).to all(be < 255)
      expect(AgentSession.pluck(:status, :recoveries).uniq).to eq([["pending", 1]])
    end
  end

  describe "a worker process kill -9ed in the middle of a run" do
    let(:tool) do
      Class.new(RubyLLM::AgentSDK::Tool) do
        tool_name "lookup_order"
        description "Looks an order up"
        param :number, :string, required: true
        define_method(:call) { |number:| { number: number, status: "shipped" } }
      end
    end

    it "is resumed from its stored transcript: earlier messages kept, one result, completed" do
      turns = [{ tool_use: { name: "lookup_order", input: { "number" => "1042" } } },
               { text: "never sent: the worker dies waiting", delay: 30 },
               { text: "It shipped on Monday." }]
      with_api_server(turns, tools: [tool], recovery_after: 0.5) do |server|
        session = AgentSession.create!(user: user, prompt: "Where is order 1042?")
        id = session.id
        ActiveRecord::Base.connection_handler.connection_pool_list(:all).each(&:disconnect!)
        pid = fork do
          AgentJob.perform_now(id)
          exit!(0)
        end
        Timeout.timeout(15) { sleep 0.02 until server.agent_requests.size == 2 } # the second model call hangs
        Process.kill("KILL", pid)
        Process.wait(pid)
        session.reload
        expect(session).to have_attributes(status: "running", claimed_by: end_with(":#{pid}:#{session.claimed_by.split(':').last}"))
        before = session.agent_messages.pluck(:position, :message_type)
        expect(before).to eq([[1, "user"], [2, "system"], [3, "assistant"], [4, "user"]])

        sleep 0.6
        expect(recovery.perform_now[:recovered]).to eq([id])
        perform_enqueued_jobs

        session.reload
        expect(session).to have_attributes(status: "completed", result: "It shipped on Monday.", recoveries: 1,
                                           claimed_by: nil, failure_reason: nil)
        rows = session.agent_messages.pluck(:position, :message_type)
        expect(rows.first(4)).to eq(before)
        expect(rows.map(&:last).tally["result"]).to eq(1)
        sent = server.agent_requests.last[:body]["messages"]
        expect(sent.first["content"].to_s).to include("Where is order 1042?")
        # the transcript (prompt, tool call, its result), the recovery's prompt joining that last user turn (loop.c)
        expect(sent.map { |m| m["role"] }).to eq(%w[user assistant user])
        expect(sent[1]["content"].to_s).to include("lookup_order")
        expect(sent[2]["content"].to_s).to include("tool_result", "shipped")
        expect(sent.last["content"].to_s).to include("interrupted")
      end
    end
  end

  it "is shipped as a rake task, agent_sdk:recover" do
    require "rake"
    Rails.application.load_tasks unless Rake::Task.task_defined?("agent_sdk:recover")
    session = running_session(age: 400)
    expect do
      with_agent_config(recovery_after: 300) { Rake::Task["agent_sdk:recover"].execute }
    end.to output("agent_sdk:recover: 1 recovered, 0 abandoned, 0 cancelled, 0 requeued\n").to_stdout
    expect(session.reload.status).to eq("pending")
  end

  it "is a valid Solid Queue recurring task as the install generator writes it" do
    task = SolidQueue::RecurringTask.from_configuration("agent_sdk_recovery",
                                                        class: "RubyLLM::AgentSDK::ActiveJob::RecoveryJob",
                                                        schedule: "every minute")
    expect(task).to be_valid
    expect(task.to_s).to include("RecoveryJob")
  end
end

# The crash for real: a Solid Queue worker process (spec/support/job_backends.rb) runs AgentJob's :api loop against a
# FakeServer here whose answer never comes in time, and is kill -9ed in the middle of the model call. Its supervisor
# starts a new worker and fails the dead one's claimed job (ProcessExitError); the session is left running with a
# heartbeat that no longer moves. RecoveryJob, enqueued on the same backend, takes it over and the new worker resumes
# it from the stored transcript.
RSpec.describe "RecoveryJob after a worker is kill -9ed" do
  describe "on Solid Queue", job_backend: :solid_queue do
    before(:context) { @server = RubyLLM::AgentSDK::Testing::FakeServer.new.start }
    after(:context) { @server&.stop }

    # A heartbeat thread that never ticks (the rows' heartbeat_at is all there is), a second of silence makes a run
    # stale.
    def job_worker_env
      agent_config_env(transport: :api, model: "claude-worker-model", heartbeat_interval: 3600, recovery_after: 1,
                       query_options: { base_url: @server.base_url, api_key: "sk-ant-api03-worker-test-not-a-real-key",
                                        max_retries: 0 })
    end

    def alive?(pid) = AgentSDKSpec::Processes.alive?(pid)

    it "resumes the run in the new worker: earlier messages kept, exactly one result, completed" do
      @server.clear_requests.script([{ text: "never arrives: the worker is killed first", delay: 60 },
                                     { text: "Hello again, after the crash." }])
      session = User.create!(name: "ada").agent_sessions.create!(prompt: "Say hello")
      session.run!
      wait_for(what: "the first model call") { @server.agent_requests.size == 1 && session.reload.claimed_by }
      pid = Integer(session.claimed_by.split(":")[-2]) # "host:pid:job_id": the worker process that runs it
      expect(pid).not_to eq(job_worker.pid) # Solid Queue's worker is a fork of the supervisor
      Process.kill("KILL", pid)
      wait_for(what: "the worker to be gone") { !alive?(pid) }

      session.reload
      expect(session).to have_attributes(status: "running", recoveries: 0)
      before = session.agent_messages.pluck(:position, :message_type)
      expect(before).to eq([[1, "user"], [2, "system"]])
      sleep 0.1 until Time.current - session.heartbeat_at > 1.2

      RubyLLM::AgentSDK::ActiveJob::RecoveryJob.perform_later
      wait_for(timeout: 60, what: "the resumed run to complete") { session.reload.status == "completed" }
      expect(session).to have_attributes(result: "Hello again, after the crash.", recoveries: 1, claimed_by: nil,
                                         failure_reason: nil)
      rows = session.agent_messages.pluck(:position, :message_type)
      expect(rows.first(2)).to eq(before)
      expect(rows.map(&:last)).to eq(%w[user system user system assistant result])
      expect(@server.agent_requests.size).to eq(2) # the dead worker's job was not run again
      sent = @server.agent_requests.last[:body]["messages"]
      expect(sent.map { |m| m["role"] }).to eq(%w[user]) # the stored prompt and the recovery's, one turn (loop.c)
      expect(sent.first["content"].to_s).to include("Say hello", "interrupted")
      expect(job_worker.log).to include("Performed RubyLLM::AgentSDK::ActiveJob::RecoveryJob")
      expect(SolidQueue::FailedExecution.joins(:job).where(solid_queue_jobs: { class_name: "AgentJob" }).sole.error.to_s)
        .to include("ProcessExitError")
      expect(job_worker).to be_alive
    end
  end
end
