# frozen_string_literal: true

require "json"
require "net/http"
require_relative "../lib/ruby_llm/agent_sdk/testing"

# POST /v1/embeddings on the fake server: OpenAI's shape, deterministic vectors, recorded like any request.
RSpec.describe RubyLLM::AgentSDK::Testing::FakeServer, "embeddings" do
  let(:options) { {} }
  let(:turns) { [{ text: "the scripted turn" }] }
  let(:server) { described_class.new(turns, **options).start }
  let(:uri) { URI(server.base_url) }
  let(:embeddings) { RubyLLM::AgentSDK::Testing::FakeServer::Embeddings }

  after { server.stop }

  def post(body = nil, path: "/v1/embeddings", **fields)
    body ||= fields
    req = Net::HTTP::Post.new(path, "content-type" => "application/json", "authorization" => "Bearer sk-embed-secret-0123456789")
    req.body = body.is_a?(String) ? body : JSON.generate(body)
    Net::HTTP.start(uri.host, uri.port, read_timeout: 5) { |h| h.request(req) }
  end

  def cosine(a, b)
    a.zip(b).sum { |x, y| x * y }
  end

  it "answers one string with one unit vector of the default dimension" do
    res = post(model: "text-embedding-3-small", input: "refund policy for orders")
    expect(res.code).to eq("200")
    expect(res["content-type"]).to eq("application/json")
    body = JSON.parse(res.body)
    expect(body).to include("object" => "list", "model" => "text-embedding-3-small",
                            "usage" => { "prompt_tokens" => 4, "total_tokens" => 4 })
    expect(body["data"].size).to eq(1)
    vector = body["data"][0]["embedding"]
    expect(body["data"][0]).to include("object" => "embedding", "index" => 0)
    expect(vector.size).to eq(64)
    expect(Math.sqrt(vector.sum { |v| v * v })).to be_within(1e-9).of(1.0)
    expect(vector).to eq(embeddings.vector("refund policy for orders"))
  end

  it "answers an array in order, the same text always with the same vector" do
    texts = ["the cat sat on the mat", "a cat on a mat", "quarterly revenue report", "the cat sat on the mat"]
    data = JSON.parse(post(model: "m", input: texts).body)["data"]
    expect(data.map { |d| d["index"] }).to eq([0, 1, 2, 3])
    vectors = data.map { |d| d["embedding"] }
    expect(vectors[3]).to eq(vectors[0])
    # texts sharing words are nearer than texts sharing none
    expect(cosine(vectors[0], vectors[1])).to be > cosine(vectors[0], vectors[2]) + 0.3
    expect(JSON.parse(post(model: "m", input: texts).body)["data"].map { |d| d["embedding"] }).to eq(vectors)
  end

  context "with embedding_dimensions: 16" do
    let(:options) { { embedding_dimensions: 16 } }

    it "serves that width, or the request's dimensions" do
      expect(JSON.parse(post(model: "m", input: "x").body)["data"][0]["embedding"].size).to eq(16)
      expect(JSON.parse(post(model: "m", input: "x", dimensions: 8).body)["data"][0]["embedding"].size).to eq(8)
    end
  end

  it "gives a text without words a unit vector too (no NaN under cosine)" do
    vector = JSON.parse(post(model: "m", input: "   ").body)["data"][0]["embedding"]
    expect(vector.first).to eq(1.0)
    expect(vector.drop(1)).to all(eq(0.0))
  end

  it "serves /embeddings (a base URL that ends in /v1) the same way" do
    expect(JSON.parse(post({ model: "m", input: "abc" }, path: "/embeddings").body)["data"][0]["embedding"])
      .to eq(embeddings.vector("abc"))
  end

  it "refuses bad input with OpenAI's error shape" do
    [{ model: "m" }, { model: "m", input: [] }, { model: "m", input: [1, 2] }, { model: "m", input: "x", dimensions: 0 }]
      .each do |body|
      res = post(body)
      expect(res.code).to eq("400")
      expect(JSON.parse(res.body)["error"]).to include("type" => "invalid_request_error")
    end
    res = post("not json")
    expect(res.code).to eq("400")
    expect(JSON.parse(res.body)).to include("error" => include("message" => /JSON object/))
  end

  it "records the request with its key redacted and takes no scripted turn" do
    post(model: "m", input: "hello")
    req = server.requests.last
    expect(req).to have_attributes(method: "POST", path: "/v1/embeddings", agent_turn: false)
    expect(req.body).to eq("model" => "m", "input" => "hello")
    expect(req.headers["authorization"]).to eq("[REDACTED]")
    expect(server.agent_requests).to be_empty
    expect(server.pending_turns).to eq(1)
  end

  it "checks embedding_dimensions" do
    expect { described_class.new([], embedding_dimensions: 0) }.to raise_error(ArgumentError, /embedding_dimensions/)
  end
end
