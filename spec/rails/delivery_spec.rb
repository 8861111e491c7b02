# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

# Seed 003's delivery guarantees (RubyLLM::AgentSDK::ActiveRecord::Delivery): the caller's message row is the prompt
# (never recorded twice), a run that fails before any answer removes it and bounces its text back to the input, and
# messages sent while the session runs wait as pending and are promoted and answered in the next round.
RSpec.describe RubyLLM::AgentSDK::ActiveRecord::Delivery, :rails do
  include AgentConfigHelpers

  let(:user) { User.create!(name: "ada") }
  let(:session) { AgentSession.create!(user: user) }

  def dom_id(record, prefix = nil)
    ActionView::RecordIdentifier.dom_id(record, prefix)
  end

  def actions(broadcasts)
    broadcasts.map { |b| [b["action"], b["target"]] }
  end

  def cli_lines(*lines)
    stub = allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream)
    lines.each { |line| stub = stub.and_yield(line) }
  end

  INIT = '{"type":"system","subtype":"init","session_id":"cli-1","model":"claude-sonnet-4-5"}'
  ANSWER = '{"type":"assistant","session_id":"cli-1","message":{"id":"m1","role":"assistant","model":"claude-sonnet-4-5",' \
           '"content":[{"type":"text","text":"It shipped."}],"usage":{"input_tokens":10,"output_tokens":3}}}'
  RESULT = '{"type":"result","subtype":"success","session_id":"cli-1","result":"It shipped.","num_turns":1}'

  describe "immediate persist (message_id:)" do
    it "takes the caller's row as the :api prompt: no second prompt row, and the transcript resumes from it" do
      row = nil
      with_api_server([{ text: "It shipped." }, { text: "The one before too." }]) do |server|
        broadcasts = capture_turbo_stream_broadcasts(session) do
          row = session.say!("Where is order 1042?")
          expect(enqueued_jobs.last).to include("job_class" => "AgentJob")
          expect(enqueued_jobs.last["arguments"].last).to include("message_id" => row.id)
          perform_enqueued_jobs
        end
        # say! broadcast the row once (with its status); the job broadcast only what came after it
        appended = broadcasts.select { |b| b["action"] == "append" }
        expect(appended.map { |b| b.to_html.include?(dom_id(row)) }).to eq([true, false, false, false])
        sent = server.agent_requests.last[:body]["messages"]
        expect(sent.map { |m| [m["role"], m["content"].to_s.scan("Where is order 1042?").size] }).to eq([["user", 1]])

        session.reload.say!("And the one before?")
        perform_enqueued_jobs
        sent = server.agent_requests.last[:body]["messages"]
        expect(sent.map { |m| m["role"] }).to eq(%w[user assistant user])
        expect(sent.map { |m| m["content"].to_s }.join).to include("Where is order 1042?", "And the one before?")
      end
      session.reload
      expect(session).to have_attributes(status: "completed", result: "The one before too.", prompt: "Where is order 1042?")
      expect(session.agent_messages.pluck(:position, :message_type)).to eq(
        [[1, "user"], [2, "system"], [3, "assistant"], [4, "result"], [5, "user"], [6, "system"], [7, "assistant"],
         [8, "result"]]
      )
      expect(session.agent_messages.users.pluck(:content)).to eq(["Where is order 1042?", "And the one before?"])
      expect(row.reload).to have_attributes(raw: include("Where is order 1042?"), pending: false)
      expect(row.metadata["session_id"]).to eq(session.claude_session_id)
    end

    it "takes the caller's row as the :cli prompt: the CLI gets its text and no row is added for it" do
      row = session.agent_messages.create!(position: 1, message_type: "user", content: "Where is order 1042?")
      prompts = []
      allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream) do |_cli, prompt, &block|
        prompts << prompt
        [INIT, ANSWER, RESULT].each { |line| block.call(line) }
      end
      with_agent_config(transport: :cli) { AgentJob.perform_now(session.id, message_id: row.id) }
      expect(prompts).to eq(["Where is order 1042?"])
      expect(session.reload).to have_attributes(status: "completed", claude_session_id: "cli-1", result: "It shipped.")
      expect(session.agent_messages.pluck(:id, :message_type).first).to eq([row.id, "user"])
      expect(session.agent_messages.pluck(:message_type)).to eq(%w[user system assistant result])
    end
  end

  describe "bounce-back" do
    def bounced(broadcasts, row)
      found = broadcasts.find { |b| b["action"] == "agent_bounce" }
      expect(actions(broadcasts)).to include(["remove", dom_id(row)])
      expect(found["target"]).to eq(dom_id(session, :input))
      found.at_css("template").inner_html
    end

    it "removes the row and sends its text back, with authentication_required, on a 401" do
      broadcasts = row = nil
      with_api_server([{ status: 401 }]) do
        row = session.say!("Refund <order> 1042")
        broadcasts = capture_turbo_stream_broadcasts(session) { perform_enqueued_jobs }
      end
      expect(AgentMessage.exists?(row.id)).to be(false)
      expect(bounced(broadcasts, row)).to eq("Refund &lt;order&gt; 1042")
      auth = broadcasts.find { |b| b["action"] == "authentication_required" }
      expect(auth["target"]).to eq(dom_id(session, :input))
      expect(auth.at_css("template").text).to include("401")
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "error_during_execution", claimed_by: nil)
      expect(session.agent_messages.users).to be_empty
      expect(actions(broadcasts).last).to eq(["replace", dom_id(session, :status)])
      expect(enqueued_jobs).to be_empty
      # a second job for the bounced row finds nothing to deliver and leaves the session as it was
      AgentJob.perform_now(session.id, nil, resume: true, message_id: row.id)
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "error_during_execution")
    end

    it "bounces on a 529 after the loop's retries, without authentication_required and without a job retry" do
      broadcasts = row = nil
      with_api_server([{ status: 529 }, { status: 529 }], query_options: { max_retries: 1 }) do |server|
        row = session.say!("Where is order 1042?")
        broadcasts = capture_turbo_stream_broadcasts(session) { perform_enqueued_jobs }
        expect(server.agent_requests.size).to eq(2)
      end
      expect(AgentMessage.exists?(row.id)).to be(false)
      expect(bounced(broadcasts, row)).to eq("Where is order 1042?")
      expect(broadcasts.map { |b| b["action"] }).not_to include("authentication_required")
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "error_during_execution")
      expect(enqueued_jobs).to be_empty
    end

    it "bounces the CLI's success + is_error on its first turn (authentication_required for a 401 only)" do
      row = session.agent_messages.create!(position: 1, message_type: "user", content: "hello")
      cli_lines(INIT, '{"type":"result","subtype":"success","is_error":true,"result":"API Error: 401 invalid x-api-key"}')
      broadcasts = capture_turbo_stream_broadcasts(session) do
        with_agent_config(transport: :cli) { AgentJob.perform_now(session.id, message_id: row.id) }
      end
      expect(broadcasts.map { |b| b["action"] }).to include("agent_bounce", "authentication_required")
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "api_error")

      row = session.agent_messages.create!(position: 9, message_type: "user", content: "again")
      cli_lines(INIT, '{"type":"result","subtype":"success","is_error":true,"result":"API Error: 529 overloaded"}')
      broadcasts = capture_turbo_stream_broadcasts(session) do
        with_agent_config(transport: :cli) { AgentJob.perform_now(session.id, message_id: row.id) }
      end
      expect(broadcasts.map { |b| b["action"] }).to include("agent_bounce")
      expect(broadcasts.map { |b| b["action"] }).not_to include("authentication_required")
      expect(AgentMessage.exists?(row.id)).to be(false)
      expect(enqueued_jobs).to be_empty
    end

    it "bounces when the CLI dies before answering, and does not retry" do
      row = session.agent_messages.create!(position: 1, message_type: "user", content: "hello")
      allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream) do |_cli, _prompt, &block|
        block.call(INIT)
        raise RubyLLM::AgentSDK::ProcessError.new("CLI exited with signal SEGV")
      end
      broadcasts = capture_turbo_stream_broadcasts(session) do
        with_agent_config(transport: :cli) { AgentJob.perform_now(session.id, message_id: row.id) }
      end
      expect(broadcasts.map { |b| b["action"] }).to include("agent_bounce")
      expect(AgentMessage.exists?(row.id)).to be(false)
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "RubyLLM::AgentSDK::ProcessError")
      expect(enqueued_jobs).to be_empty
    end

    it "keeps the row once a model call succeeded, and fails as before" do
      turns = [{ tool_use: { name: "nothing_here", input: {} } }, { status: 529 }]
      broadcasts = row = nil
      with_api_server(turns) do
        row = session.say!("Where is order 1042?")
        broadcasts = capture_turbo_stream_broadcasts(session) { perform_enqueued_jobs }
      end
      expect(AgentMessage.exists?(row.id)).to be(true)
      expect(broadcasts.map { |b| b["action"] }).not_to include("agent_bounce", "authentication_required")
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "error_during_execution")
    end

    it "does not send authentication_required for a plain API error" do
      with_api_server([{ status: 400 }]) do
        session.say!("hello")
        broadcasts = capture_turbo_stream_broadcasts(session) { perform_enqueued_jobs }
        expect(broadcasts.map { |b| b["action"] }).to include("agent_bounce")
        expect(broadcasts.map { |b| b["action"] }).not_to include("authentication_required")
      end
    end
  end

  describe "pending messages", :commits do
    it "stores a message sent during a run as pending, then promotes and answers it in a second round" do
      first = pending = nil
      broadcasts = nil
      with_api_server([{ text: "Order 1042 shipped.", delay: 1 }, { text: "Order 1043 shipped too." }]) do |server|
        broadcasts = capture_turbo_stream_broadcasts(session) do
          first = session.say!("Where is order 1042?")
          expect(first.pending?).to be(false)
          id = session.id
          worker = Thread.new do
            AgentSession.connection_pool.with_connection { AgentJob.perform_now(id, nil, resume: true, message_id: first.id) }
          end
          Timeout.timeout(10) { sleep 0.02 until AgentMessage.where(agent_session_id: id, message_type: "system").exists? }
          pending = AgentSession.find(id).say!("And order 1043?")
          expect(pending).to have_attributes(pending: true, position: -1)
          expect(AgentSession.find(id).pending_messages.to_a).to eq([pending])
          expect(worker.join(20)).to be_truthy
        end
        expect(enqueued_jobs.size).to eq(1) # only the first say!'s: the pending one was never enqueued
        sent = server.agent_requests.last[:body]["messages"]
        expect(sent.map { |m| m["role"] }).to eq(%w[user assistant user])
        expect(sent.last["content"].to_s).to include("And order 1043?")
      end
      session.reload
      expect(session).to have_attributes(status: "completed", result: "Order 1043 shipped too.", cancel_requested_at: nil)
      expect(session.agent_messages.pluck(:position, :message_type, :pending)).to eq(
        [[1, "user", false], [2, "system", false], [3, "assistant", false], [4, "result", false], [5, "user", false],
         [6, "system", false], [7, "assistant", false], [8, "result", false]]
      )
      expect(pending.reload).to have_attributes(position: 5, pending: false)
      expect(session.agent_messages.users.pluck(:id)).to eq([first.id, pending.id])

      shown = actions(broadcasts)
      pending_append = shown.index(["append", dom_id(session, :pending_messages)])
      removed = shown.index(["remove", dom_id(pending)])
      expect(pending_append).to be < removed
      expect(broadcasts[pending_append].to_html).to include("And order 1043?")
      promoted = broadcasts[removed + 1]
      expect([promoted["action"], promoted["target"]]).to eq(["append", "agent_messages"])
      expect(promoted.to_html).to include(dom_id(pending), "And order 1043?")
      # the promoted message comes after the first round's answer and before the second's
      first_answer = broadcasts.index { |b| b.to_html.include?("Order 1042 shipped.") && b["action"] == "append" }
      second_answer = broadcasts.index { |b| b.to_html.include?("Order 1043 shipped too.") && b["action"] == "append" }
      expect(first_answer).to be < removed
      expect(removed).to be < second_answer
    end

    it "promotes several pending messages in the order sent, as one prompt" do
      first = session.say!("Where is order 1042?")
      with_api_server([{ text: "Shipped.", delay: 1 }, { text: "Both shipped." }]) do |server|
        id = session.id
        worker = Thread.new do
          AgentSession.connection_pool.with_connection { AgentJob.perform_now(id, nil, resume: true, message_id: first.id) }
        end
        Timeout.timeout(10) { sleep 0.02 until AgentMessage.where(agent_session_id: id, message_type: "system").exists? }
        a = AgentSession.find(id).say!("And 1043?")
        b = AgentSession.find(id).say!("And 1044?")
        expect([a.position, b.position]).to eq([-1, -2])
        expect(AgentSession.find(id).pending_messages.pluck(:id)).to eq([a.id, b.id])
        expect(worker.join(20)).to be_truthy
        expect(server.agent_requests.last[:body]["messages"].last["content"]).to match([include("text" => "And 1043?\n\nAnd 1044?")])
        expect([a.reload.position, b.reload.position]).to eq([5, 6])
      end
      expect(session.reload.agent_messages.pluck(:message_type)).to eq(%w[user system assistant result user user system
                                                                            assistant result])
      expect(session.agent_messages.users.map(&:raw).map(&:present?)).to eq([true, true, false]) # the prompt line is a's
    end

    it "answers a message sent at any moment around the end of a run (pending, promoted, or its own job)" do
      outcomes = Hash.new(0)
      12.times do |i|
        s = AgentSession.create!(user: user)
        first = s.say!("question #{i}")
        queue_adapter.enqueued_jobs.clear
        with_api_server([{ text: "answer", delay: 0.05 }] + [{ text: "more" }] * 4) do
          worker = Thread.new do
            AgentSession.connection_pool.with_connection { AgentJob.perform_now(s.id, nil, resume: true, message_id: first.id) }
          end
          sleep(0.1 * i / 12.0 + 0.02)
          late = AgentSession.find(s.id).say!("late #{i}")
          expect(worker.join(20)).to be_truthy
          own_job = enqueued_jobs.any? { |job| job["arguments"].last["message_id"] == late.id }
          late.reload
          outcomes[if late.pending then :left_pending_with_follow_up
                   elsif own_job then :delivered_by_its_own_job
                   elsif late.position == 5 then :promoted
                   else :other
                   end] += 1
          expect(enqueued_jobs.size).to eq(late.pending || own_job ? 1 : 0)
          # the say!'s own job (which may find the session completed and enqueue itself again), or the follow-up
          3.times { perform_enqueued_jobs unless enqueued_jobs.empty? }
          expect(late.reload).to have_attributes(pending: false)
          expect(s.reload).to have_attributes(status: "completed", cancel_requested_at: nil),
                              -> { "#{outcomes.inspect} #{late.attributes.slice('position', 'pending', 'metadata')} #{enqueued_jobs.inspect} #{s.agent_messages.pluck(:position, :message_type, :content, :pending).inspect}" }
          expect(s.agent_messages.undelivered).to be_empty
          # the late message is answered after it, and after the first answer
          expect(s.agent_messages.where("position > ?", late.position).pluck(:message_type)).to include("assistant")
          expect(s.agent_messages.where("position < ?", late.position).pluck(:message_type))
            .to include("assistant"), -> { "#{outcomes.inspect} #{s.agent_messages.pluck(:position, :message_type, :content, :pending).inspect}" }
        end
      end
      expect(outcomes[:other]).to eq(0)
      puts "\n  late say! outcomes: #{outcomes.sort.to_h}" if ENV["AGENT_SDK_VERBOSE"]
    end

    it "gives a message left pending after a round that did not complete a job of its own" do
      first = session.say!("Where is order 1042?")
      queue_adapter.enqueued_jobs.clear # run by hand below
      with_api_server([{ text: "never seen", delay: 30 }]) do
        id = session.id
        worker = Thread.new do
          AgentSession.connection_pool.with_connection { AgentJob.perform_now(id, nil, resume: true, message_id: first.id) }
        end
        Timeout.timeout(10) { sleep 0.02 until AgentMessage.where(agent_session_id: id, message_type: "system").exists? }
        AgentSession.find(id).say!("Stop, and look at 1043 instead")
        AgentSession.find(id).cancel!
        expect(worker.join(10)).to be_truthy
      end
      expect(session.reload).to have_attributes(status: "pending", cancel_requested_at: nil)
      expect(enqueued_jobs.size).to eq(1)
      expect(enqueued_jobs.last["arguments"]).to match([session.id, nil, include("resume" => true)])
      expect(enqueued_jobs.last["arguments"].last).not_to include("message_id")
      with_api_server([{ text: "1043 is on its way." }]) do |server|
        perform_enqueued_jobs
        expect(server.agent_requests.last[:body]["messages"].last["content"].to_s).to include("look at 1043")
      end
      expect(session.reload).to have_attributes(status: "completed", result: "1043 is on its way.")
      expect(session.agent_messages.undelivered).to be_empty
    end
  end

  it "moves a message_id row to pending when another worker runs the session" do
    row = session.say!("hello")
    expect(row).to have_attributes(position: 1, pending: false)
    AgentSession.claim(session.id, token: "other-worker")
    AgentJob.perform_now(session.id, nil, resume: true, message_id: row.id)
    expect(row.reload).to have_attributes(pending: true, position: -1)
    expect(session.reload.pending_messages).to eq([row])
    expect(session).to have_attributes(status: "running", claimed_by: "other-worker")
  end

  it "runs a message_id job whose session another job claimed and completed after say!" do
    row = session.agent_messages.create!(position: 1, message_type: "user", content: "late")
    session.update_columns(status: "completed")
    with_api_server([{ text: "Answered." }]) do
      AgentJob.perform_now(session.id, nil, resume: true, message_id: row.id) # :finished: requeued and enqueued again
      expect(session.reload.status).to eq("pending")
      perform_enqueued_jobs
    end
    expect(session.reload).to have_attributes(status: "completed", result: "Answered.")
    expect(RubyLLM::AgentSDK::ActiveRecord::Delivery.delivered?(row.reload)).to be(true)
    AgentJob.perform_now(session.id, nil, resume: true, message_id: row.id) # taken already: nothing more
    expect(enqueued_jobs).to be_empty

    session.update_columns(status: "cancelled")
    other = session.agent_messages.create!(position: 20, message_type: "user", content: "after cancel")
    AgentJob.perform_now(session.id, nil, resume: true, message_id: other.id)
    expect([session.reload.status, enqueued_jobs.size]).to eq(["cancelled", 0])
  end

  describe "interrupt flags" do
    def run_cli(session, &stream)
      allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream, &stream)
      with_agent_config(transport: :cli) { AgentJob.perform_now(session.id) }
    end

    def flag!(session)
      AgentSession.where(id: session.id).update_all(cancel_requested_at: Time.current)
    end

    before { session.update!(prompt: "Where is order 1042?") }

    it "clears cancel_requested_at when the run completes" do
      run_cli(session) do |_cli, _prompt, &block|
        [INIT, ANSWER, RESULT].each { |line| block.call(line) }
        flag!(session) # after the last write: the run still completes
      end
      expect(session.reload).to have_attributes(status: "completed", cancel_requested_at: nil)
    end

    it "clears it when the run fails" do
      run_cli(session) do |_cli, _prompt, &block|
        [INIT, ANSWER, '{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":1}'].each { |l| block.call(l) }
        flag!(session)
      end
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "error_max_turns", cancel_requested_at: nil)
    end

    it "clears it when the run raises" do
      expect do
        run_cli(session) do |_cli, _prompt, &block|
          block.call(INIT)
          flag!(session)
          raise RubyLLM::AgentSDK::CLIConnectionError, "gone"
        end
      end.not_to raise_error # retry_on takes it: enqueued again
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "RubyLLM::AgentSDK::CLIConnectionError",
                                                cancel_requested_at: nil)
      expect(enqueued_jobs.size).to eq(1)
    end

    it "clears it when the run is cancelled" do
      allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:interrupt) # the stubbed stream has no process to signal
      run_cli(session) do |_cli, _prompt, &block|
        block.call(INIT)
        flag!(session)
        block.call(ANSWER) # this write sees the flag: the job cancels
        block.call('{"type":"result","subtype":"error_cancelled","is_error":true}')
      end
      expect(session.reload).to have_attributes(status: "cancelled", cancel_requested_at: nil)
    end
  end
end
