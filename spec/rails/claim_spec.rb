# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"
require_relative "support/race"

# The claim is the database's: one conditional UPDATE, whoever asks and from wherever. Runs on the dummy's database
# (SQLite by default, PostgreSQL under AGENT_SDK_DB=postgresql) with real commits, since the claimers are other
# threads and processes.
RSpec.describe RubyLLM::AgentSDK::ActiveRecord::Claim, :rails, :commits do
  include RaceHelpers
  include AgentConfigHelpers

  let(:user) { User.create!(name: "ada") }

  describe "one session, 50 claimers" do
    let!(:session) { AgentSession.create!(user: user, prompt: "go") }

    it "is taken by exactly one thread" do
      id = session.id
      outcomes = race(50) { |i| AgentSession.claim(id, token: "t#{i}") }
      expect(outcomes.tally).to eq(claimed: 1, busy: 49)
      expect(session.reload.claimed_by).to eq("t#{outcomes.index(:claimed)}")
    end

    it "is taken by exactly one process" do
      id = session.id
      codes = race(50, processes: true) { |i| AgentSession.claim(id, token: "p#{i}") == :claimed }
      expect(codes.tally).to eq(0 => 1, 1 => 49)
      expect(session.reload).to have_attributes(status: "running", claimed_by: start_with("p"))
    end

    it "runs the query once when 50 jobs for it start together" do
      with_api_server([{ text: "once", delay: 0.5 }] + [{ text: "again" }] * 49) do |server|
        id = session.id
        race(50) { AgentJob.perform_now(id) }
        expect(server.agent_requests.size).to eq(1)
      end
      expect(session.reload).to have_attributes(status: "completed", result: "once", claimed_by: nil)
      expect(session.agent_messages.where(message_type: "result").count).to eq(1)
    end
  end

  describe "caps, 20 concurrent workers" do
    it "lets at most max_running_per_user of one owner's sessions run" do
      ids = Array.new(20) { AgentSession.create!(user: user, prompt: "go").id }
      outcomes = race(20) { |i| AgentSession.claim(ids[i], token: "w#{i}", per_user: 5) }
      expect(outcomes.tally).to eq(claimed: 5, over_cap: 15)
      expect(AgentSession.where(status: "running").count).to eq(5)
    end

    it "lets at most max_running sessions run in all, across processes" do
      ids = Array.new(20) { |i| AgentSession.create!(user: User.create!(name: "u#{i}"), prompt: "go").id }
      codes = race(20, processes: true) { |i| AgentSession.claim(ids[i], token: "w#{i}", per_user: 5, global: 7) == :claimed }
      expect(codes.tally).to eq(0 => 7, 1 => 13)
      expect(AgentSession.where(status: "running").count).to eq(7)
    end
  end

  it "gives the session back only to the token that holds it, and renews only that token's heartbeat" do
    session = AgentSession.create!(user: user, prompt: "go")
    expect(AgentSession.claim(session.id, token: "a")).to eq(:claimed)
    expect(AgentSession.heartbeat(session.id, token: "b")).to be(false)
    expect(AgentSession.release(session.id, token: "b", attributes: { status: "completed" })).to be(false)
    expect(AgentSession.heartbeat(session.id, token: "a")).to be(true)
    expect(AgentSession.release(session.id, token: "a", attributes: { status: "completed" })).to be(true)
    expect(session.reload).to have_attributes(status: "completed", claimed_by: nil, finished_at: be_present)
    expect(AgentSession.claim(session.id, token: "c")).to eq(:finished)
    expect(AgentSession.claim(0, token: "c")).to eq(:missing)
  end
end
