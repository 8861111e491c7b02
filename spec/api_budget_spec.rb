# frozen_string_literal: true

# Budgets are hard, over real HTTP: randomized runs against the fake server, whose "model" behaves like the real API
# (input tokens grow with the prompt, at most one token per byte; output never exceeds the request's max_tokens;
# cache writes only when the request carries cache_control).
RSpec.describe "transport: :api budgets" do
  class Echo < RubyLLM::AgentSDK::Tool
    description "Echoes n characters"
    param :n, :integer, required: true, minimum: 0
    param :salt, :integer
    def call(n:, salt: 0) = "e#{salt}" * n
  end

  it "never exceeds max_turns, max_tokens or max_budget_usd in 200 randomized runs" do
    seed = Random.new_seed
    rng = Random.new(seed)
    lock = Mutex.new
    ratios = {}
    model = lambda do |req|
      body = req.body
      first = body["messages"].first["content"]
      tag = (first.is_a?(Array) ? first.first["text"] : first)[/run-\d+/]
      lock.synchronize do
        prompt_tokens = ((req.raw_body.bytesize - body["max_tokens"].to_s.size) * ratios.fetch(tag)).floor
        cached = rng.rand < 0.5 ? rng.rand(0..prompt_tokens) : 0
        written = req.raw_body.include?("cache_control") ? rng.rand(0..(prompt_tokens - cached)) : 0
        usage = { input_tokens: prompt_tokens - cached - written, cache_read_input_tokens: cached,
                  cache_creation_input_tokens: written, output_tokens: rng.rand(1..body["max_tokens"]) }
        calls = Array.new(rng.rand(0..3)) { { name: "echo", input: { "n" => rng.rand(0..1500), "salt" => rng.rand(1 << 30) } } }
        calls.empty? ? { text: "done", usage: usage } : { tool_uses: calls, usage: usage }
      end
    end

    jobs = Array.new(200) do |i|
      limits = { max_turns: rng.rand(1..10), max_budget_usd: rng.rand(0.002..0.2).round(6), max_tokens: rng.rand(3_000..300_000) }
      limits.delete(limits.keys.sample(random: rng)) if rng.rand < 0.5
      ratios["run-#{i}"] = rng.rand(0.2..0.9)
      { prompt: "run-#{i} #{"p" * rng.rand(10..2_000)}", model: %w[claude-sonnet-4-5 claude-haiku-4-5 claude-opus-4-1].sample(random: rng),
        prompt_caching: rng.rand < 0.5, max_output_tokens: rng.rand(64..8_192), **limits }
    end

    RubyLLM::AgentSDK::Testing::FakeServer.open([], default: model) do |server|
      results = {}
      RubyLLM::AgentSDK.query_all(jobs, transport: :api, base_url: server.base_url, api_key: "sk-ant-test",
                                        session_store: :memory, tools: [Echo]) do |index, message|
        results[index] = message if message.result?
      end
      expect(results.size).to eq(200)
      results.each do |index, result|
        job = jobs[index]
        context = "job #{index} (seed #{seed}): #{job.except(:prompt)} → #{result.subtype} #{result.content}"
        expect(%w[success error_max_turns error_max_budget_usd error_max_tokens]).to include(result.subtype), context
        expect(result.num_turns).to be <= job[:max_turns], context if job[:max_turns]
        expect(result["total_cost_micros"]).to be <= (job[:max_budget_usd] * 1_000_000).floor, context if job[:max_budget_usd]
        if job[:max_tokens]
          billed = result.usage.values_at("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens").sum
          expect(billed).to be <= job[:max_tokens], context
        end
      end
      expect(results.values.map(&:subtype).uniq.size).to be >= 3 # the limits really were reached, not just avoided
    end
  end
end
