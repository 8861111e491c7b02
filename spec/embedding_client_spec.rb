# frozen_string_literal: true

require_relative "../lib/ruby_llm/agent_sdk/testing"

# The OpenAI-compatible embeddings client against the fake server: URL handling, batches, errors without the key.
RSpec.describe RubyLLM::AgentSDK::EmbeddingClient do
  let(:key) { "sk-proj-#{'Zz9' * 10}" }
  let(:fake) { RubyLLM::AgentSDK::Testing::FakeServer }

  it "embeds one text and a batch, in order, with the bearer key, at /v1/embeddings from a bare or /v1 base URL" do
    fake.open([], embedding_dimensions: 8) do |server|
      bare = described_class.new(base_url: server.base_url, api_key: key, model: "m")
      v1 = described_class.new(base_url: "#{server.base_url}/v1/", api_key: key, model: "m")
      expect(bare.embed("hello world")).to eq(fake::Embeddings.vector("hello world", 8))
      expect(v1.embed_all(%w[a b c])).to eq(%w[a b c].map { |t| fake::Embeddings.vector(t, 8) })
      expect(bare.embed("x", dimensions: 4).size).to eq(4)
      expect(server.requests.map(&:path)).to eq(["/v1/embeddings"] * 3)
      expect(server.requests.map { |r| r.body["model"] }).to eq(%w[m m m])
      expect(server.requests.last.body).to include("dimensions" => 4)
    end
  end

  it "raises EmbeddingError with the status and no key, retriable or not" do
    fake.open do |server|
      client = described_class.new(base_url: server.base_url, api_key: key, model: "m")
      error = begin
        client.embed_all([])
      rescue ArgumentError => e
        e
      end
      expect(error.message).to eq("nothing to embed")
      bad = described_class.new(base_url: "#{server.base_url}/nowhere/v1?key=#{key}", api_key: key)
      expect { bad.embed("x") }.to raise_error(RubyLLM::AgentSDK::EmbeddingError) { |e|
        expect(e.status).to eq(404)
        expect(e).not_to be_retriable
        expect(e.message).to include("HTTP 404")
        expect(e.message).not_to include(key)
      }
    end
    fake.open do |server| # a key of no known shape, echoed back by the server (here: in the path of a 404)
      plain = "plainsecretvalue123"
      echo = described_class.new(base_url: "#{server.base_url}/#{plain}/v1", api_key: plain)
      expect { echo.embed("x") }.to raise_error(RubyLLM::AgentSDK::EmbeddingError) { |e|
        expect(e.message).to include("no route for POST /[REDACTED]/v1/embeddings")
        expect(e.message).not_to include(plain)
      }
    end
    closed = described_class.new(base_url: "http://127.0.0.1:9/v1", api_key: key)
    expect { closed.embed("x") }.to raise_error(RubyLLM::AgentSDK::EmbeddingError) { |e|
      expect(e.status).to be_nil
      expect(e).to be_retriable
    }
    expect(closed.inspect).not_to include(key)
    expect(closed.inspect).to include("[REDACTED]")
  end

  it "verifies TLS for https endpoints and checks its arguments" do
    client = described_class.new(base_url: "https://api.example.test/v1", api_key: key)
    http = client.send(:http)
    expect(http.use_ssl?).to be(true)
    expect(http.verify_mode).to eq(OpenSSL::SSL::VERIFY_PEER)
    expect(client.base_url).to eq("https://api.example.test/v1")
    expect { described_class.new(base_url: "ftp://x") }.to raise_error(ArgumentError, /http/)
    expect { described_class.new(model: "") }.to raise_error(ArgumentError, /model/)
    expect { described_class.new(dimensions: 0) }.to raise_error(ArgumentError, /dimensions/)
  end
end
