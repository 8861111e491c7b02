# frozen_string_literal: true

require "digest"
require_relative "../rails_helper"
require_relative "support/agent_config"

# acts_as_agent on the dummy app: a User with two agent kinds (SupportAgent, ResearchAgent), each with its own
# instructions, tools, skills, credentials and conversation, on the :api loop against the fake server and on the real CLI.
RSpec.describe RubyLLM::AgentSDK::ActiveRecord::ActsAsAgent, :rails do
  include AgentConfigHelpers

  # The fake server, noting a digest of each agent request's x-api-key before its records redact it.
  let(:key_digests) { [] }
  let(:server_class) do
    digests = key_digests
    Class.new(RubyLLM::AgentSDK::Testing::FakeServer) do
      define_method(:handle) do |conn, incoming|
        key = incoming.headers["x-api-key"]
        digests << Digest::SHA256.hexdigest(key)[0, 12] if key && incoming.target.start_with?("/v1/messages")
        super(conn, incoming)
      end
    end
  end

  let(:user) { User.create!(name: "ada") }
  let(:support) { user.support_agents.create!(api_key: "sk-ant-support-#{'a' * 24}") }
  let(:research) { user.research_agents.create!(api_key: "sk-ant-research-#{'b' * 24}") }

  def with_agent_server(turns)
    server = server_class.new(turns).start
    with_agent_config(transport: :api, model: nil, query_options: { base_url: server.base_url, max_retries: 0 }) do
      yield server
    end
  ensure
    server&.stop
  end

  def system_text(request)
    Array(request.body["system"]).map { |b| b.is_a?(Hash) ? b["text"] : b }.join("\n")
  end

  it "is declared on any model through the Railtie, with no patch of ActiveRecord::Base" do
    expect(ActiveRecord::Base.singleton_class.include?(described_class)).to be(true)
    expect(ActiveRecord::Base.instance_methods).not_to include(:ask)
    expect(SupportAgent.agent_definition).to have_attributes(model: "claude-sonnet-4-5", tools: [LookupOrder],
                                                             state_column: "agent_state")
    expect(SupportAgent.new.agent_skills.map(&:name)).to eq(%w[order-lookup refund-policy])
    expect(ResearchAgent.new.agent_skills.map { |s| [s.name, s.description] })
      .to eq([["cite-sources", "How to cite. Use whenever an answer rests on a source."]])
  end

  it "runs two agent kinds per user, each with its own skills, tools and state, across two asks each" do
    turns = [{ text: "Refunds take 30 days.", usage: { input_tokens: 100, output_tokens: 10 } },
             { text: "Cited [1].", usage: { input_tokens: 50, output_tokens: 5 } },
             { text: "Order 1042 shipped.", usage: { input_tokens: 120, output_tokens: 12 } },
             { text: "Two sources agree [1][2].", usage: { input_tokens: 70, output_tokens: 7 } }]
    with_agent_server(turns) do |server|
      streamed = []
      first = support.ask("Can I get a refund?") { |m| streamed << m.type }
      expect(first).to be_result
      expect(first.content).to eq("Refunds take 30 days.")
      expect(streamed).to eq(%i[system assistant result])
      research.ask("What do we know about tides?")
      SupportAgent.find(support.id).ask("And order 1042?") # a fresh instance: the state came from the column
      ResearchAgent.find(research.id).ask("Any second source?")

      s1, r1, s2, r2 = server.agent_requests
      [s1, s2].each do |req|
        expect(req.body["model"]).to eq("claude-sonnet-4-5")
        expect(system_text(req)).to include("Acme's support agent, speaking to ada", "REFUND-SKILL-MARKER",
                                            "ORDER-SKILL-MARKER", "refund-policy", "Acme's refund rules")
        expect(system_text(req)).not_to include("CITE-SKILL-MARKER")
        expect(req.body["tools"].map { |t| t["name"] }).to eq(["lookup_order"])
      end
      [r1, r2].each do |req|
        expect(req.body["model"]).to eq("claude-haiku-4-5")
        expect(system_text(req)).to include("careful research assistant", "CITE-SKILL-MARKER", "cite-sources")
        expect(system_text(req)).not_to include("REFUND-SKILL-MARKER", "ORDER-SKILL-MARKER", "Acme")
        expect(req.body["tools"].map { |t| t["name"] }).to eq(["search_notes"])
      end
      # the second ask of each carries its own first exchange, and nothing of the other agent's
      expect(s1.body["messages"].size).to eq(1)
      expect(s2.body["messages"].map { |m| m["role"] }).to eq(%w[user assistant user])
      expect(s2.body["messages"].to_s).to include("Can I get a refund?", "Refunds take 30 days.", "And order 1042?")
      expect(s2.body["messages"].to_s).not_to include("tides")
      expect(r2.body["messages"].map { |m| m["role"] }).to eq(%w[user assistant user])
      expect(r2.body["messages"].to_s).to include("tides", "Cited [1].", "Any second source?")
      expect(r2.body["messages"].to_s).not_to include("refund")
    end

    support.reload
    research.reload
    expect(support.agent_state["api"]["session_id"]).not_to eq(research.agent_state["api"]["session_id"])
    expect(support.agent_state["api"]["lines"].size).to be >= 6
    expect(support.agent_result).to eq("Order 1042 shipped.")
    expect(research.agent_result).to eq("Two sources agree [1][2].")
    expect(support).to have_attributes(input_tokens: 220, output_tokens: 22, num_turns: 2)
    expect(research).to have_attributes(input_tokens: 120, output_tokens: 12, num_turns: 2)
    expect(support.total_cost_usd).to be > research.total_cost_usd # Sonnet costs more than Haiku a token
    expect(research.total_cost_usd).to be > 0
  end

  it "continues from the database's state and adds to its totals, whichever instance of the record asks" do
    one = SupportAgent.find(support.id)
    other = SupportAgent.find(support.id) # loaded before one asks: its columns are stale
    with_agent_server([{ text: "first answer", usage: { input_tokens: 10, output_tokens: 1 } },
                       { text: "second answer", usage: { input_tokens: 20, output_tokens: 2 } }]) do |server|
      one.ask("first question")
      other.ask("second question")
      expect(server.agent_requests.last.body["messages"].to_s).to include("first question", "first answer")
    end
    expect(other).to have_attributes(input_tokens: 30, output_tokens: 3, num_turns: 2)
    expect(support.reload).to have_attributes(input_tokens: 30, output_tokens: 3, num_turns: 2, agent_result: "second answer")
    expect(other.total_cost_usd).to eq(support.total_cost_usd)
    expect(support.total_cost_usd).to be > one.total_cost_usd # one's figure: its own ask only
  end

  it "runs the record's tools" do
    turns = [{ tool_use: { name: "lookup_order", input: { "number" => "1042" } }, usage: { input_tokens: 10, output_tokens: 3 } },
             { text: "It shipped.", usage: { input_tokens: 20, output_tokens: 4 } }]
    with_agent_server(turns) do |server|
      expect(support.ask("Where is 1042?").content).to eq("It shipped.")
      expect(server.agent_requests.last.body["messages"].to_s).to include("shipped")
    end
    expect(support.reload).to have_attributes(input_tokens: 30, output_tokens: 7, num_turns: 2)
  end

  it "uses each record's credentials: the server sees two keys, and its records redact both" do
    with_agent_server([{ text: "one" }, { text: "two" }]) do |server|
      support.ask("hi")
      research.ask("hi")
      expect(key_digests).to eq([support.api_key, research.api_key].map { |k| Digest::SHA256.hexdigest(k)[0, 12] })
      expect(server.agent_requests.map { |r| r.headers["x-api-key"] }).to eq(%w[[REDACTED] [REDACTED]])
    end
    expect(support.reload.agent_state.to_json).not_to include(support.api_key)
  end

  it "takes the provider from the record: one agent on an OpenAI-compatible API, the other on Anthropic's" do
    allow(support).to receive(:credentials).and_return(api_key: "sk-openai-#{'e' * 24}", provider: :openai)
    with_agent_server([{ text: "via chat completions" }, { text: "via messages" }, { text: "again via chat" }]) do |server|
      expect(support.ask("hi").content).to eq("via chat completions")
      expect(research.ask("hi").content).to eq("via messages")
      support.ask("more")
      expect(server.agent_requests.map(&:path)).to eq(%w[/v1/chat/completions /v1/messages /v1/chat/completions])
      expect(server.agent_requests.last.body["messages"].to_s).to include("via chat completions", "more")
      expect(server.agent_requests.first.headers["authorization"]).to eq("[REDACTED]")
    end
  end

  it "keeps the state in a text column as JSON too" do
    ActiveRecord::Base.connection.create_table(:text_state_agents) { |t| t.text :data; t.bigint :input_tokens }
    klass = Class.new(ActiveRecord::Base) do
      self.table_name = "text_state_agents"
      def self.name = "TextStateAgent"
      acts_as_agent model: "claude-haiku-4-5", instructions: "Be brief.", state: :data,
                    options: { api_key: "sk-ant-declared-#{"f" * 24}", max_turns: 3 }
    end
    agent = klass.create!
    with_agent_server([{ text: "one", usage: { input_tokens: 5 } }, { text: "two", usage: { input_tokens: 6 } }]) do |server|
      agent.ask("first")
      klass.find(agent.id).ask("second")
      expect(server.agent_requests.last.body["messages"].to_s).to include("first", "one", "second")
      expect(key_digests.uniq).to eq([Digest::SHA256.hexdigest("sk-ant-declared-#{"f" * 24}")[0, 12]])
    end
    raw = klass.connection.select_value("SELECT data FROM text_state_agents")
    expect(JSON.parse(raw)).to include("result" => "two", "api" => include("lines" => be_an(Array)))
    expect(agent.reload).to have_attributes(input_tokens: 11, agent_result: "two")
  ensure
    ActiveRecord::Base.connection.drop_table(:text_state_agents, if_exists: true)
  end

  it "refuses skills it cannot deliver: bad front matter, two of one name, a missing directory" do
    Dir.mktmpdir do |dir|
      FileUtils.mkdir_p(["#{dir}/a/x", "#{dir}/b/x", "#{dir}/bad/y"])
      File.write("#{dir}/a/x/SKILL.md", "---\nname: x\n---\nbody")
      File.write("#{dir}/b/x/SKILL.md", "body")
      File.write("#{dir}/bad/y/SKILL.md", "---\nname: [unclosed\n---\nbody")
      expect(described_class.skills(["#{dir}/a"]).map(&:to_h)).to eq([{ name: "x", description: "", body: "body", directory: "#{dir}/a/x" }])
      expect { described_class.skills(["#{dir}/a", "#{dir}/b"]) }.to raise_error(ArgumentError, /more than one skill named x/)
      expect { described_class.skills(["#{dir}/bad"]) }.to raise_error(ArgumentError, /front matter is not YAML/)
      expect { described_class.skills(["#{dir}/none"]) }.to raise_error(ArgumentError, /no directory/)
    end
  end

  it "keeps the conversation of an ask that failed, and the next ask goes on from it" do
    with_agent_server([{ text: "kept" }]) { support.ask("one") }
    expect { support.ask("  ") }.to raise_error(ArgumentError, /needs a prompt/)
    expect(support.reload.agent_result).to eq("kept")
    with_agent_server([{ text: "boom", fault: :reset_before_headers }, { text: "after" }]) do |server|
      expect(support.ask("two")).to be_error
      expect(support.reload.agent_result).to be_nil
      expect(support.agent_state["api"]["lines"].join).to include("two") # the prompt line was stored
      expect(support.ask("three").content).to eq("after")
      expect(server.agent_requests.last.body["messages"].to_s).to include("one", "kept", "two", "three")
    end
  end

  it "names a missing state column" do
    klass = Class.new(ActiveRecord::Base) do
      self.table_name = "users"
      def self.name = "NoStateAgent"
      acts_as_agent
    end
    expect { klass.new.agent_state_hash }.to raise_error(ArgumentError, /NoStateAgent has no agent_state column/)
  end

  it "is stubbed by the app's test helpers like any query (no request, the run recorded)" do
    extend RubyLLM::AgentSDK::Testing::Helpers
    with_agent_config(transport: :api) do
      stub_agent_run(text: "Stubbed answer.") { expect(support.ask("Where is 1042?").content).to eq("Stubbed answer.") }
    end
    with_agent_config(transport: :cli) { stub_agent_run(text: "Stubbed answer.") { support.ask("And via the CLI?") } }
    api, cli = agent_runs.last(2)
    expect(api.prompt).to eq("Where is 1042?")
    expect(api.options).to have_attributes(transport: :api, model: "claude-sonnet-4-5", tools: [LookupOrder])
    expect(api.options.system_prompt).to include("Acme's support agent", "REFUND-SKILL-MARKER")
    expect(cli.options.system_prompt).not_to include("REFUND-SKILL-MARKER")
    expect(Dir.children(File.join(cli.options.add_dirs.last, ".claude", "skills")).sort).to eq(%w[order-lookup refund-policy])
    expect(support.reload.agent_result).to eq("Stubbed answer.")
  end

  it "keeps the transcript redacted of the record's own key" do
    with_agent_server([{ text: "ok" }]) do
      support.update!(api_key: "plainkey-#{'z' * 12}")
      support.ask("Echo plainkey-#{'z' * 12} back")
    end
    expect(support.reload.agent_state.to_json).not_to include("plainkey-#{'z' * 12}")
  end

  it "ask_later runs the ask in AskJob through the test adapter" do
    with_agent_server([{ text: "Later answer.", usage: { input_tokens: 9, output_tokens: 2 } },
                       { text: "Second later answer." }]) do |server|
      expect { support.ask_later("Queue this") }
        .to have_enqueued_job(RubyLLM::AgentSDK::ActiveJob::AskJob).with(support, "Queue this").on_queue("agents")
      perform_enqueued_jobs
      expect(support.reload.agent_result).to eq("Later answer.")
      support.ask_later("And again")
      perform_enqueued_jobs
      expect(server.agent_requests.last.body["messages"].to_s).to include("Queue this", "Later answer.", "And again")
    end
    expect(support.reload).to have_attributes(agent_result: "Second later answer.", input_tokens: be >= 9)
  end

  it "reset_agent! forgets the conversation: the next ask starts a new one" do
    with_agent_server([{ text: "first" }]) { support.ask("one") }
    support.reset_agent!
    expect(support.reload.agent_state).to eq({})
    with_agent_server([{ text: "fresh" }]) do |server|
      support.ask("two")
      expect(server.agent_requests.last.body["messages"].size).to eq(1)
    end
  end

  context "with transport :cli (the real CLI)" do
    it "gives each kind its own skills the CLI's way (.claude/skills under an --add-dir) and resumes its session" do
      with_real_cli([{ text: "Hello from the CLI." }, { text: "Still here." }, { text: "Research here." }]) do |server, options, _cwd|
        # the key comes from the record (provider: :credentials becomes the CLI's ANTHROPIC_API_KEY)
        cli = { transport: :cli, cli_path: options[:cli_path], cwd: options[:cwd],
                env: options[:env].except("ANTHROPIC_API_KEY"), permission_mode: :bypass_permissions }
        support.update!(api_key: "sk-ant-cli-#{'d' * 24}")
        with_agent_config(transport: :cli, model: nil, query_options: {}) do
          result = support.ask("Hi", **cli)
          expect(result.content).to eq("Hello from the CLI.")
          expect(support.reload.agent_state.dig("cli", "session_id")).to be_present
          SupportAgent.find(support.id).ask("Again", **cli)
          research.ask("Research something", **cli)
          expect(support.agent_options(cli).env["ANTHROPIC_API_KEY"]).to eq(support.api_key)
          expect(research.agent_options(cli).env["ANTHROPIC_API_KEY"]).to eq(research.api_key)
        end
        first, second, third = server.agent_requests
        expect(third.raw_body).to include("cite-sources: How to cite", "careful research assistant")
        expect(third.raw_body).not_to include("refund-policy", "order-lookup")
        expect(third.body["messages"].to_s).not_to include("Hello from the CLI.")
        expect(research.reload.agent_state.dig("cli", "session_id")).not_to eq(support.reload.agent_state.dig("cli", "session_id"))
        text = first.raw_body
        expect(text).to include("refund-policy: Acme's refund rules", "order-lookup: How to find an order")
        expect(text).not_to include("cite-sources")
        expect(text).to include("Acme's support agent, speaking to ada") # instructions as the system prompt
        expect(second.body["messages"].to_s).to include("Hi", "Hello from the CLI.", "Again")
        expect(support.reload.agent_result).to eq("Still here.")
        expect(support.input_tokens).to be > 0
      end
    end

    it "starts a new conversation when the CLI has no transcript of the stored session (another machine)" do
      with_real_cli([{ text: "A fresh start." }]) do |server, options, _cwd|
        missing = "0b6a3c0e-8a6e-4b7a-9b1e-2f4c5d6e7f80"
        support.update!(agent_state: { "cli" => { "session_id" => missing } })
        cli = { transport: :cli, cli_path: options[:cli_path], cwd: options[:cwd], env: options[:env],
                permission_mode: :bypass_permissions }
        with_agent_config(transport: :cli, model: nil, query_options: {}) do
          expect(support.ask("Hi", **cli).content).to eq("A fresh start.")
        end
        expect(server.agent_requests.size).to eq(1)
        expect(support.reload.agent_state.dig("cli", "session_id")).to be_present.and(satisfy { |id| id != missing })
      end
    end
  end
end
