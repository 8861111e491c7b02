# frozen_string_literal: true

require "rails_helper"

# What spec/rails_helper.rb gives a Rails spec: a transaction per example (rolled back), or real commits and
# truncated tables under :commits; the :rails tag on everything in spec/rails; Turbo's and ActiveJob's test helpers.
RSpec.describe "spec/rails_helper.rb" do
  it "tags every group under spec/rails :rails" do |example|
    expect(example.metadata[:rails]).to be(true)
  end

  # Each of the two examples starts from an empty table and leaves a row: whichever runs second shows the first one's
  # row was rolled back (or truncated), in any order.
  describe "a plain example" do
    2.times do |i|
      it "runs in a transaction that is rolled back (#{i})" do
        expect(JobRun.count).to eq(0)
        JobRun.create!(job: "x", tag: "tx-#{i}", attempt: 1, outcome: "ok")
        expect(ActiveRecord::Base.connection.transaction_open?).to be(true)
        expect(JobRun.count).to eq(1)
      end
    end
  end

  describe "a :commits example", :commits do
    2.times do |i|
      it "commits for real, and starts from truncated tables (#{i})" do
        expect(JobRun.count).to eq(0)
        expect(ActiveRecord::Base.connection.transaction_open?).to be(false)
        JobRun.create!(job: "x", tag: "commit-#{i}", attempt: 1, outcome: "ok")
        # another connection (another thread's) sees the row: it was committed
        expect(Thread.new { ActiveRecord::Base.connection_pool.with_connection { JobRun.count } }.value).to eq(1)
      end
    end
  end

  it "has Turbo's broadcast assertions (ActiveSupport's assertions included first)" do
    session = AgentSession.create!(prompt: "hi")
    broadcasts = capture_turbo_stream_broadcasts(session) do
      Turbo::StreamsChannel.broadcast_replace_to(session, target: ActionView::RecordIdentifier.dom_id(session, :status),
                                                          partial: "agent_sessions/status", locals: { session: session })
    end
    expect(broadcasts.size).to eq(1)
    expect(broadcasts.first["action"]).to eq("replace")
    expect(broadcasts.first.to_html).to include(%(id="status_agent_session_#{session.id}"), "pending")
    assert_turbo_stream_broadcasts(session, count: 1) do
      Turbo::StreamsChannel.broadcast_append_to(session, target: "agent_messages", html: "<p>x</p>")
    end
  end

  it "has ActiveJob's test adapter and TestHelper" do
    expect(ActiveJob::Base.queue_adapter).to be_a(ActiveJob::QueueAdapters::TestAdapter)
    assert_enqueued_with(job: EchoJob, args: ["t"]) { EchoJob.perform_later("t") }
  end
end
