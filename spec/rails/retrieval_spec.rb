# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

# The retrieval tool on a real PostgreSQL table (neighbor's cube type; Debian 12 has no pgvector): documents embedded
# by EmbeddingJob through the fake server's /v1/embeddings, then an :api agent run whose model calls the tool.
RSpec.describe RubyLLM::AgentSDK::Tools::Retrieval, :rails do
  include AgentConfigHelpers

  let(:ada) { User.create!(name: "ada") }
  let(:bob) { User.create!(name: "bob") }
  let(:vector_of) { ->(text) { RubyLLM::AgentSDK::Testing::FakeServer::Embeddings.vector(text, 64) } }
  let(:search) do
    described_class.for(Document, column: :embedding, text: :content, limit: 3,
                                  scope: ->(context) { Document.where(user: context.fetch(:user)) })
  end
  # The job an app writes: each run's tools see the session's user.
  let(:job) do
    stub_const("RetrievalAgentJob", Class.new(AgentJob) do
      def build_options(session)
        { context: { user: session.user } }
      end
    end)
  end
  let(:ada_texts) do
    ["Refunds are issued within 14 days of the return reaching our warehouse.",
     "Shipping to Canada takes 5 business days.",
     "The office dog is called Biscuit and likes cheese."]
  end

  before do
    skip "the retrieval tool's specs need PostgreSQL (AGENT_SDK_DB=postgresql)" unless
      ActiveRecord::Base.connection.adapter_name.match?(/postg/i)
  end

  around do |example|
    previous = RubyLLM::AgentSDK::EmbeddingClient.instance_variable_get(:@default)
    example.run
  ensure
    RubyLLM::AgentSDK::EmbeddingClient.default = previous
  end

  def use_embeddings_from(server)
    RubyLLM::AgentSDK::EmbeddingClient.default =
      RubyLLM::AgentSDK::EmbeddingClient.new(base_url: server.base_url, api_key: "sk-embed-#{'k3y' * 8}")
  end

  def seed
    ada_texts.each_with_index { |text, i| Document.create!(user: ada, title: "ada #{i}", content: text) }
    Document.create!(user: bob, title: "bob", content: "Refunds for enterprise contracts take 30 days.")
  end

  def close?(a, b)
    a.size == b.size && a.zip(b).all? { |x, y| (x - y).abs < 1e-9 }
  end

  def cosine_distance(a, b)
    1 - a.zip(b).sum { |x, y| x * y }
  end

  def tool_result(session)
    row = session.agent_messages.where(message_type: "user").detect { |m| m.content.to_s.start_with?("[") }
    JSON.parse(row.content)
  end

  it "runs on a real vector column: cube here (Debian 12), pgvector's vector where the extension is installed" do
    type = Document.columns_hash.fetch("embedding").sql_type
    expected = ActiveRecord::Base.connection.extension_available?("vector") ? "vector(64)" : "cube"
    expect(type).to eq(expected)
  end

  it "embeds documents in a job after commit, only when the text changed" do
    with_api_server([]) do |server|
      use_embeddings_from(server)
      expect { seed }.to have_enqueued_job(RubyLLM::AgentSDK::ActiveJob::EmbeddingJob).exactly(4).times
      expect(Document.where.not(embedding: nil).count).to eq(0)
      perform_enqueued_jobs
      doc = Document.find_by!(title: "ada 0")
      expect(doc.embedding.size).to eq(64)
      expect(close?(doc.embedding, vector_of.call(ada_texts[0]))).to be(true)
      embed_requests = server.requests.select { |r| r.path == "/v1/embeddings" }
      expect(embed_requests.size).to eq(4)
      expect(embed_requests.map { |r| r.headers["authorization"] }.uniq).to eq(["[REDACTED]"])
      expect(embed_requests.first.body).to include("model" => "fake-embedding-64", "input" => [ada_texts[0]])

      expect { doc.update!(title: "renamed") }.not_to have_enqueued_job(RubyLLM::AgentSDK::ActiveJob::EmbeddingJob)
      expect { doc.update!(content: "Biscuit the dog") }.to have_enqueued_job(RubyLLM::AgentSDK::ActiveJob::EmbeddingJob)
      perform_enqueued_jobs
      expect(close?(doc.reload.embedding, vector_of.call("Biscuit the dog"))).to be(true)
    end
  end

  it "answers an :api agent run from the user's own documents, nearest first" do
    query = "how many days until refunds are issued"
    turns = [{ tool_use: { name: "search_documents", input: { "query" => query } } },
             { text: "Refunds are issued within 14 days." }]
    with_api_server(turns, tools: [search]) do |server|
      use_embeddings_from(server)
      seed
      perform_enqueued_jobs
      session = AgentSession.create!(user: ada, prompt: "How long do refunds take?")
      job.perform_now(session.id)
      session.reload
      expect(session.status).to eq("completed")
      expect(session.result).to eq("Refunds are issued within 14 days.")

      results = tool_result(session)
      ids = Document.where(user: ada).order(:id).pluck(:id)
      expected = ada_texts.each_with_index.sort_by { |text, _| cosine_distance(vector_of.call(query), vector_of.call(text)) }
      expect(results.map { |r| r["id"] }).to eq(expected.map { |_, i| ids[i] })
      expect(results.first).to include("id" => ids[0], "text" => ada_texts[0])
      distances = results.map { |r| r["distance"] }
      expect(distances).to eq(distances.sort)
      expect(distances.first).to be_within(1e-4).of(cosine_distance(vector_of.call(query), vector_of.call(ada_texts[0])))
      expect(results.map { |r| r["text"] }).not_to include(/enterprise/) # bob's document
      # the model got the same JSON as its tool_result
      sent = server.agent_requests.last.body["messages"].last["content"]
      expect(sent).to include(include("type" => "tool_result", "content" => include("Refunds are issued")))
    end
  end

  it "answers through the real claude CLI too (:cli transport, the tool served by the SDK MCP server)" do
    turns = [{ tool_use: { name: "mcp__agent_sdk__search_documents", input: { "query" => "refunds days" } } },
             { text: "14 days." }]
    with_real_cli(turns) do |server, options, _cwd|
      use_embeddings_from(server)
      seed
      perform_enqueued_jobs
      messages = RubyLLM::AgentSDK.query("How long do refunds take?", **options, tools: [search],
                                                                        context: { user: ada }).to_a
      expect(messages.last).to have_attributes(subtype: "success", content: "14 days.")
      results = JSON.parse(messages.find(&:user?).content)
      expect(results.first).to include("text" => ada_texts[0])
      expect(results.map { |r| r["text"] }).not_to include(/enterprise/)
    end
  end

  it "scopes by user: bob finds only his document" do
    turns = [{ tool_use: { name: "search_documents", input: { "query" => "refunds" } } }, { text: "30 days." }]
    with_api_server(turns, tools: [search]) do |server|
      use_embeddings_from(server)
      seed
      perform_enqueued_jobs
      session = AgentSession.create!(user: bob, prompt: "Refunds?")
      job.perform_now(session.id)
      results = tool_result(session.reload)
      expect(results.map { |r| r["text"] }).to eq(["Refunds for enterprise contracts take 30 days."])
    end
  end

  it "refuses a run without the context its scope needs (an is_error result, no rows)" do
    turns = [{ tool_use: { name: "search_documents", input: { "query" => "refunds" } } }, { text: "No access." }]
    with_api_server(turns, tools: [search]) do |server|
      use_embeddings_from(server)
      seed
      perform_enqueued_jobs
      session = AgentSession.create!(prompt: "Refunds?")
      AgentJob.perform_now(session.id)
      row = session.reload.agent_messages.detect { |m| m.metadata["is_error"] }
      expect(row.content).to start_with("NoMethodError") # context is nil: AgentJob passes none
      expect(row.content).not_to include("Refunds")
    end
  end

  it "searches by euclidean distance too, and without a scope" do
    with_api_server([]) do |server|
      use_embeddings_from(server)
      seed
      perform_enqueued_jobs
      tool = described_class.for(Document, distance: "euclidean", limit: 2, name: "find_docs", embedding_model: "other-m")
      expect(tool.tool_name).to eq("find_docs")
      expect(tool.input_schema).to include("required" => ["query"])
      results = JSON.parse(tool.new(nil).call(query: "the office dog Biscuit"))
      expect(results.size).to eq(2)
      expect(results.first["text"]).to include("Biscuit")
      expect(server.requests.last.body).to include("model" => "other-m", "input" => ["the office dog Biscuit"])
      expect(described_class.search(tool.retrieval, nil, "the office dog Biscuit")).to eq(JSON.generate(results))
    end
  end

  it "retries an embeddings API that may recover, drops a request that cannot succeed, skips a deleted record" do
    RubyLLM::AgentSDK::Testing::FakeServer.open do |server|
      RubyLLM::AgentSDK::EmbeddingClient.default =
        RubyLLM::AgentSDK::EmbeddingClient.new(base_url: "#{server.base_url}/missing/v1", api_key: "sk-embed-#{'k3y' * 8}")
      doc = Document.create!(user: ada, content: "hello")
      expect { perform_enqueued_jobs }.not_to raise_error # 404: logged, not retried
      expect(doc.reload.embedding).to be_nil
      expect(enqueued_jobs).to be_empty
    end
    RubyLLM::AgentSDK::EmbeddingClient.default =
      RubyLLM::AgentSDK::EmbeddingClient.new(base_url: "http://127.0.0.1:9/v1", api_key: "sk-embed-#{'k3y' * 8}")
    doc = Document.create!(user: ada, content: "hello again")
    job = enqueued_jobs.last
    expect { perform_enqueued_jobs(only: RubyLLM::AgentSDK::ActiveJob::EmbeddingJob) }.not_to raise_error # retry_on took it
    expect(enqueued_jobs.last).to include("job_class" => "RubyLLM::AgentSDK::ActiveJob::EmbeddingJob", "executions" => 1)
    expect(enqueued_jobs.last["job_id"]).to eq(job["job_id"]) # the same job, enqueued again by retry_on
    clear_enqueued_jobs

    doc.update!(content: "changed")
    doc.delete
    expect { perform_enqueued_jobs }.not_to raise_error # DeserializationError: discarded
  end

  it "names the neighbor gem when it is missing" do
    allow(described_class).to receive(:require).with("neighbor").and_raise(LoadError, "cannot load such file -- neighbor")
    expect { described_class.for(Document) }.to raise_error(LoadError, /gem "neighbor"/)
  end

  it "checks its arguments" do
    expect { described_class.for(User) }.to raise_error(ArgumentError, /has_neighbors :embedding/)
    expect { described_class.for(Document, distance: "manhattan") }.to raise_error(ArgumentError, /distance/)
    expect { described_class.for(Document, limit: 0) }.to raise_error(ArgumentError, /limit/)
    expect { described_class.for(Object) }.to raise_error(ArgumentError, /ActiveRecord model/)
  end
end
