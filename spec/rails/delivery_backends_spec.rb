# frozen_string_literal: true

require "rails_helper"

# Seed 003's delivery in a real worker process (Solid Queue; Sidekiq on Redis): say!'s message_id job goes through
# the backend's serialisation, the run is held open by spec/support/bin/fault-cli (wait_file) while a second say!
# stores its message pending, and the same job promotes and answers it in a second round.
RSpec.describe "Seed 003 delivery on real job backends" do
  shared_examples "delivery in a worker process" do
    before(:context) do
      @dir = Dir.mktmpdir("delivery-backends-")
      @go_file = File.join(@dir, "go")
    end
    after(:context) { FileUtils.rm_rf(@dir) }

    def job_worker_env
      cli = File.expand_path("../support/bin/fault-cli", __dir__)
      agent_config_env(transport: :cli, heartbeat_interval: 0.2,
                       query_options: { cli_path: cli, cwd: @dir,
                                        env: { "FAULT_CLI_MODE" => "wait_file", "FAULT_GO_FILE" => @go_file } })
    end

    it "delivers say!'s row, keeps a message sent meanwhile pending, then answers it in a second round of the same job" do
      FileUtils.rm_f(@go_file)
      session = AgentSession.create!(user: User.create!(name: "ada"))
      first = session.say!("first question")
      wait_for(what: "the first round to start") { session.agent_messages.where(message_type: "system").exists? }
      second = AgentSession.find(session.id).say!("second question")
      expect(second).to have_attributes(pending: true, position: -1)
      File.write(@go_file, "")
      wait_for(what: "two rounds") { session.reload.status == "completed" && session.agent_messages.results.count == 2 }
      expect(session.agent_messages.pluck(:position, :message_type, :content)).to eq(
        [[1, "user", "first question"], [2, "system", nil], [3, "assistant", "before the fault"], [4, "result", "ok"],
         [5, "user", "second question"], [6, "system", nil], [7, "assistant", "before the fault"], [8, "result", "ok"]]
      )
      expect(session.agent_messages.users.pluck(:id)).to eq([first.id, second.id])
      expect(session).to have_attributes(claimed_by: nil, cancel_requested_at: nil, claude_session_id: "s-1")
      expect(job_worker.log.scan("Performed AgentJob").size).to eq(1) # one job, two rounds
    end
  end

  describe "on Solid Queue", job_backend: :solid_queue do
    include_examples "delivery in a worker process"
  end

  describe "on Sidekiq", job_backend: :sidekiq do
    include_examples "delivery in a worker process"
  end
end
