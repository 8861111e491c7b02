# frozen_string_literal: true

# The retrieval tool on a real PostgreSQL (neighbor's cube, 64 dimensions; Debian 12 has no pgvector): DOCS documents
# embedded through EmbeddingJob (inline adapter, one /v1/embeddings request each, against the FakeServer), then
# QUERIES calls of the Retrieval tool (embed the query + nearest_neighbors + JSON), without and with a GiST index on
# the cube column. Each query's nearest rows are checked against a brute-force cosine ranking in Ruby.
#
#   bundle exec rake compile && ruby bench/retrieval.rb [DOCS] [QUERIES]
ENV["RAILS_ENV"] = "test"
ENV["AGENT_SDK_DB"] = "postgresql"
require "bundler/setup"
require "json"

DOCS = Integer(ARGV[0] || 2000)
QUERIES = Integer(ARGV[1] || 200)
ROOT = File.expand_path("..", __dir__)
$LOAD_PATH.unshift(File.join(ROOT, "lib"))
require File.join(ROOT, "spec/support/servers")
require File.join(ROOT, "spec/support/rails/dummy_database")
AgentSDKSpec::DummyDatabase.configure_env
require File.join(ROOT, "spec/dummy/config/environment")
AgentSDKSpec::DummyDatabase.prepare
ActiveJob::Base.queue_adapter = :inline
ActiveJob::Base.logger = Logger.new(nil)
Rails.logger.level = :warn

WORDS = %w[refund order shipping invoice account password billing plan upgrade cancel delivery warehouse return
           label customs tax receipt discount coupon subscription trial seat team admin export report api key limit
           quota region latency outage status incident backup restore archive retention policy privacy gdpr].freeze
rng = Random.new(42)
texts = Array.new(DOCS) { Array.new(8 + rng.rand(8)) { WORDS.sample(random: rng) }.join(" ") }
queries = Array.new(QUERIES) { Array.new(3) { WORDS.sample(random: rng) }.join(" ") }
vec = ->(t) { RubyLLM::AgentSDK::Testing::FakeServer::Embeddings.vector(t, 64) }
clock = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
pct = ->(xs, p) { xs.sort[((xs.size - 1) * p).round] }

RubyLLM::AgentSDK::Testing::FakeServer.open do |server|
  RubyLLM::AgentSDK::EmbeddingClient.default =
    RubyLLM::AgentSDK::EmbeddingClient.new(base_url: server.base_url, api_key: "sk-bench-#{'x' * 20}")
  user = User.create!(name: "bench")
  t0 = clock.call
  texts.each { |t| Document.create!(user: user, content: t) }
  embed_s = clock.call - t0
  filled = Document.where.not(embedding: nil).count
  puts format("embedded %d/%d documents through EmbeddingJob in %.2f s (%.0f docs/s, %d embedding requests)",
              filled, DOCS, embed_s, DOCS / embed_s, server.requests.count { |r| r.path == "/v1/embeddings" })

  ids = Document.order(:id).pluck(:id)
  doc_vecs = texts.map(&vec)
  tool = RubyLLM::AgentSDK::Tools::Retrieval.for(Document, limit: 5, scope: ->(ctx) { Document.where(user: ctx[:user]) })
  run = lambda do |label|
    times = []
    agree = 0
    queries.each do |q|
      t = clock.call
      got = JSON.parse(tool.new({ user: user }).call(query: q))
      times << (clock.call - t) * 1000
      qv = vec.call(q)
      best = doc_vecs.each_with_index.map { |v, i| [1 - v.zip(qv).sum { |a, b| a * b }, i] }.min_by(&:first)
      # ties at the top are common with short texts: agree when the tool's first row is as near as the best
      agree += 1 if (got.first["distance"] - best[0]).abs < 1e-6 || got.first["id"] == ids[best[1]]
    end
    puts format("%-16s %d queries: p50 %.2f ms  p95 %.2f ms  max %.2f ms; nearest row = brute force in %d/%d",
                label, QUERIES, pct.call(times, 0.5), pct.call(times, 0.95), times.max, agree, QUERIES)
  end
  run.call("no index")
  ActiveRecord::Base.connection.execute("CREATE INDEX documents_embedding_gist ON documents USING gist (embedding)")
  ActiveRecord::Base.connection.execute("ANALYZE documents")
  run.call("GiST index")
end
