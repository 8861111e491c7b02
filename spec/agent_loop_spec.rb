# frozen_string_literal: true

# The C agent loop (core/loop.c) stepped with scripted model responses: no HTTP, every exit and accounting rule.
RSpec.describe RubyLLM::AgentSDK::Native::AgentLoop do
  SONNET = RubyLLM::AgentSDK::Pricing.price_array("claude-sonnet-4-5")

  def new_loop(**config)
    described_class.new({ model: "claude-sonnet-4-5", prompt: "Find order 42", price: SONNET }.merge(config))
  end

  def text_turn(text, input: 100, output: 10, stop: "end_turn")
    { status: 200, turn: { id: "msg_1", content: [{ type: "text", text: text }], stop_reason: stop,
                           usage: { input_tokens: input, output_tokens: output } } }
  end

  def tool_turn(*calls, input: 100, output: 10)
    blocks = calls.each_with_index.map do |(name, args), i|
      { type: "tool_use", id: "toolu_#{i}", name: name, input_json: JSON.generate(args) }
    end
    { status: 200, turn: { id: "msg_t", content: blocks, stop_reason: "tool_use", usage: { input_tokens: input, output_tokens: output } } }
  end

  def collect(lines) = ->(line) { lines << RubyLLM::AgentSDK::Message.parse(line) }

  it "runs model → tools → model and emits CLI-shaped messages, delivering each before the next call" do
    lines = []
    loop = new_loop(tools_json: '[{"name":"lookup_order","description":"d","input_schema":{"type":"object"}}]',
                    tool_names_json: '["lookup_order"]', cwd: "/app")
    expect(loop.start(&collect(lines))).to eq(:send)
    expect(lines.map(&:subtype)).to eq(["init"])
    expect(lines.first.session_id).to match(/\A\h{8}-\h{4}-4\h{3}-[89ab]\h{3}-\h{12}\z/)
    body = JSON.parse(loop.body)
    expect(body).to include("model" => "claude-sonnet-4-5", "max_tokens" => 4096, "stream" => true)
    expect(body["messages"]).to eq([{ "role" => "user", "content" => [{ "type" => "text", "text" => "Find order 42" }] }])

    expect(loop.respond(tool_turn(["lookup_order", { "n" => 42 }], input: 1000, output: 50), &collect(lines))).to eq(:tools)
    expect(lines.last.tool_calls).to eq([{ id: "toolu_0", name: "lookup_order", input: { "n" => 42 } }])
    expect(loop.tool_calls).to eq([{ id: "toolu_0", name: "lookup_order", input_json: '{"n":42}' }])
    loop.tool_result(0, '{"status":"shipped"}', false)
    expect(loop.resume(&collect(lines))).to eq(:send)
    expect(lines.last).to be_user
    expect(lines.last.to_h.dig("message", "content", 0)).to eq("type" => "tool_result", "tool_use_id" => "toolu_0",
                                                                  "content" => '{"status":"shipped"}')
    expect(JSON.parse(loop.body)["messages"].size).to eq(3)

    expect(loop.respond(text_turn("Order 42 has shipped.", input: 1100, output: 20), &collect(lines))).to eq(:done)
    result = lines.last
    expect(result).to be_result
    expect([result.subtype, result.content, result.num_turns, result.is_error]).to eq(["success", "Order 42 has shipped.", 2, false])
    # (1000 + 1100) input × $3/MTok + (50 + 20) output × $15/MTok = 6300 + 1050 micro-dollars
    expect(result["total_cost_micros"]).to eq(7350)
    expect(result.total_cost_usd).to eq(0.00735)
    expect(result.usage).to include("input_tokens" => 2100, "output_tokens" => 70)
    expect(lines.map(&:session_id).uniq).to eq([lines.first.session_id])
    expect(lines.map(&:uuid).uniq.size).to eq(lines.size)
  end

  it "ends with error_max_turns before a call that would pass max_turns" do
    lines = []
    loop = new_loop(max_turns: 2)
    loop.start
    2.times do
      loop.respond(tool_turn(["t", {}]))
      loop.tool_result(0, "ok", false)
      @state = loop.resume(&collect(lines))
    end
    expect(@state).to eq(:done)
    expect([lines.last.subtype, lines.last.num_turns]).to eq(["error_max_turns", 2])
    expect(lines.last).to be_error
  end

  it "clips max_tokens to the USD budget and stops before a call that could pass it" do
    lines = []
    # $0.02 budget: the first call's input bound is its bytes + 1024 tokens of provider overhead, at $3/MTok
    loop = new_loop(max_budget_micros: 20_000)
    loop.start
    first = loop.request_max_tokens
    bound = loop.body.bytesize - ",\"max_tokens\":#{loop.request_max_tokens}}".bytesize + 1024
    expect(first).to eq([4096, (20_000 * 1_000_000 - bound * 3_000_000) / 15_000_000].min)
    expect(first).to be_between(64, 4095)
    loop.respond(tool_turn(["t", {}], input: 300, output: 100))
    loop.tool_result(0, "x" * 100, false)
    expect(loop.resume(&collect(lines))).to eq(:send)
    expect(loop.request_max_tokens).to be < first
    loop.respond(tool_turn(["t", {}], input: 450, output: loop.request_max_tokens))
    loop.tool_result(0, "x" * 100, false)
    expect(loop.resume(&collect(lines))).to eq(:done)
    expect(lines.last.subtype).to eq("error_max_budget_usd")
    expect(lines.last["total_cost_micros"]).to be_between(19_000, 20_000)
  end

  it "refuses a USD budget for a model with no price" do
    expect { new_loop(price: nil, max_budget_micros: 1) }.to raise_error(ArgumentError, /no price is known for model claude-sonnet-4-5/)
  end

  it "enforces a token budget with its own subtype" do
    lines = []
    loop = new_loop(max_tokens: 3_000)
    loop.start
    loop.respond(tool_turn(["t", {}], input: 1500, output: 10))
    loop.tool_result(0, "ok", false)
    expect(loop.resume(&collect(lines))).to eq(:done)
    expect(lines.last.subtype).to eq("error_max_tokens")
  end

  it "retries what the official SDKs retry, obeys retry-after and x-should-retry, and bills every attempt that reported usage" do
    lines = []
    loop = new_loop(max_retries: 3)
    loop.start
    expect(loop.respond(status: 429, retry_after_ms: 1500, error_body: '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}')).to eq(:sleep)
    expect(loop.sleep_ms).to eq(1500)
    expect(loop.resume).to eq(:send)
    expect(loop.respond(status: 529)).to eq(:sleep)
    expect(loop.sleep_ms).to be_between(750, 1000) # min(0.5 × 2^1, 8) s × (1 − 0.25·rand)
    loop.resume
    broken = text_turn("partial", input: 500, output: 5)
    broken[:turn][:complete] = false
    expect(loop.respond(broken)).to eq(:sleep) # the stream broke: the turn is retried as a whole
    loop.resume
    expect(loop.respond(text_turn("whole answer", input: 500, output: 5), &collect(lines))).to eq(:done)
    expect(lines.count(&:assistant?)).to eq(1)
    # the 429 and the 529 cost nothing; the broken stream reported its usage and is billed it, as the provider does
    expect(lines.last["total_cost_micros"]).to eq(2 * ((500 * 3) + (5 * 15)))
    expect(lines.last.usage).to include("input_tokens" => 1000, "output_tokens" => 10)
  end

  describe "hard budgets (issue 7, defect 5)" do
    def no_usage_turn(turn) = turn.tap { |t| t[:turn].delete(:usage) }

    it "charges the pre-call bound for a response that reports no usage, so budgets still trip" do
      { max_tokens: 40_000, max_budget_micros: 100_000 }.each do |limit, value|
        lines = []
        loop = new_loop(limit => value)
        state = loop.start
        billed = 0
        turns = 0
        while state == :send && turns < 100 # (before the fix a run without usage never tripped a budget)
          charge = loop.request_input_bound + loop.request_max_tokens
          cost = ((loop.request_input_bound * 3_000_000) + (loop.request_max_tokens * 15_000_000) + 999_999) / 1_000_000
          state = loop.respond(no_usage_turn(tool_turn(["t", {}])), &collect(lines))
          billed += limit == :max_tokens ? charge : cost
          turns += 1
          expect(limit == :max_tokens ? loop.tokens : loop.cost_micros).to eq(billed)
          next unless state == :tools

          loop.tool_result(0, "ok", false)
          state = loop.resume(&collect(lines))
        end
        expect(lines.last.subtype).to eq(limit == :max_tokens ? "error_max_tokens" : "error_max_budget_usd")
        expect(turns).to be_between(2, 30)
        expect(billed).to be <= value
        expect(lines.last.usage["input_tokens"]).to eq(0) # the result's usage stays what was reported
      end
    end

    it "charges the bound for a broken attempt that reported nothing, and nothing for a refused one" do
      loop = new_loop(max_retries: 5)
      loop.start
      bound = loop.request_input_bound + loop.request_max_tokens
      loop.respond(net: :connect, net_message: "refused")
      loop.resume
      loop.respond(status: 429)
      loop.resume
      expect(loop.tokens).to eq(0)
      loop.respond(net: :broken, net_message: "reset")
      expect(loop.tokens).to eq(bound)
      loop.resume
      loop.respond(net: :timeout, net_message: "timed out")
      expect(loop.tokens).to eq(2 * bound)
    end

    it "re-checks every budget before a retry: re-clips max_tokens, and ends when another attempt could pass one" do
      lines = []
      loop = new_loop(max_tokens: 5_000, max_retries: 5)
      loop.start
      first = loop.request_max_tokens
      expect(first).to eq(5_000 - loop.request_input_bound)
      broken = text_turn("partial", input: 500, output: 300)
      broken[:turn][:complete] = false
      expect(loop.respond(broken)).to eq(:sleep)
      loop.resume
      expect(loop.request_max_tokens).to eq(first - 800)
      expect(JSON.parse(loop.body)["max_tokens"]).to eq(first - 800)
      broken[:turn][:usage] = { input_tokens: 500, output_tokens: first - 1_310 } # leaves 10 tokens: too few to retry
      expect(loop.respond(broken, &collect(lines))).to eq(:done)
      expect(lines.last.subtype).to eq("error_max_tokens")
      expect(lines.last.content).to match(/could exceed max_tokens \(not retried after: the response ended early\)/)
      expect(loop.tokens).to eq(5_000 - loop.request_input_bound - 10)
    end

    it "ends a retry with error_max_budget_usd when the next attempt could pass the USD budget" do
      lines = []
      loop = new_loop(max_budget_micros: 30_000, max_retries: 5)
      loop.start
      expect(loop.respond(text_turn("", input: 4_000, output: 500).tap { |t| t[:turn][:complete] = false })).to eq(:sleep)
      loop.resume
      expect(loop.respond({ net: :broken, net_message: "reset" }, &collect(lines))).to eq(:done)
      expect([lines.last.subtype, lines.last.content]).to eq(["error_max_budget_usd",
                                                              "budget exhausted: the next model call could exceed max_budget_usd (not retried after: reset)"])
      # the broken attempt was charged its bound, which the clip made fit to within one output token's price
      expect(loop.cost_micros).to be_between(30_000 - 15, 30_000)
    end

    it "saturates absurd and summed usage instead of dropping or overflowing it" do
      max = (2**63) - 1
      loop = new_loop
      loop.start
      loop.respond(tool_turn(["t", {}]).tap { |t| t[:turn][:usage] = { input_tokens: 2**62, output_tokens: 2**62 } })
      expect([loop.tokens, loop.cost_micros]).to eq([max, max])
      loop.tool_result(0, "ok", false)
      loop.resume
      lines = []
      huge = text_turn("x").tap { |t| t[:turn][:usage] = { input_tokens: 2**70, output_tokens: 1e300, cache_read_input_tokens: -5 } }
      expect(loop.respond(huge, &collect(lines))).to eq(:done)
      expect(lines.last.usage).to include("input_tokens" => max, "output_tokens" => max, "cache_read_input_tokens" => 0)
      expect([lines.last["total_cost_micros"], loop.tokens]).to eq([max, max])

      # with a budget, an absurd report ends the run before any further call
      loop = new_loop(max_tokens: 1_000_000, max_budget_micros: 1_000_000)
      loop.start
      lines = []
      loop.respond(tool_turn(["t", {}]).tap { |t| t[:turn][:usage] = { output_tokens: 2**64 } })
      loop.tool_result(0, "ok", false)
      expect(loop.resume(&collect(lines))).to eq(:done)
      expect(lines.last.subtype).to eq("error_max_budget_usd")
    end
  end

  describe "limits over 2**31 (issue 7, defect 9)" do
    it "keeps them whole instead of cutting them to a C int" do
      loop = new_loop(max_turns: (2**32) + 1, max_output_tokens: (2**32) + 100, max_retries: 2**32)
      loop.start
      expect(JSON.parse(loop.body)["max_tokens"]).to eq((2**32) + 100)
      expect(loop.respond(status: 529)).to eq(:sleep) # max_retries 2**32 is not 0
      loop.resume
      2.times do
        expect(loop.respond(tool_turn(["t", {}]))).to eq(:tools)
        loop.tool_result(0, "ok", false)
        expect(loop.resume).to eq(:send) # max_turns 2**32 + 1 is not 1
      end
    end

    it "refuses limits outside 0..2**63-1 with an ArgumentError naming the range" do
      [[:max_turns, 2**64], [:max_tokens, -1], [:max_budget_micros, 2**63], [:max_retries, 1.5], [:max_output_tokens, "9"]].each do |key, value|
        expect { new_loop(key => value) }
          .to raise_error(ArgumentError, "#{key} must be an Integer in 0..9223372036854775807, not #{value.inspect}")
      end
    end
  end

  it "does not retry 400s or x-should-retry: false, and gives up after max_retries" do
    [{ status: 400, error_body: '{"type":"error","error":{"type":"invalid_request_error","message":"bad tools"}}' },
     { status: 503, should_retry: false }].each do |failure|
      lines = []
      loop = new_loop
      loop.start
      expect(loop.respond(failure, &collect(lines))).to eq(:done)
      expect(lines.last.subtype).to eq("error_during_execution")
    end
    lines = []
    loop = new_loop(max_retries: 1)
    loop.start
    expect(loop.respond(net: :connect, net_message: "connection refused")).to eq(:sleep)
    loop.resume
    expect(loop.respond({ net: :broken, net_message: "connection reset" }, &collect(lines))).to eq(:done)
    expect(lines.last.to_h["errors"]).to eq(["connection reset"])
    expect(lines.last.content).to eq("connection reset")
  end

  it "retries an overloaded error event that arrived after a 200" do
    loop = new_loop
    loop.start
    overloaded = text_turn("")
    overloaded[:turn][:error] = { type: "overloaded_error", message: "Overloaded" }
    expect(loop.respond(overloaded)).to eq(:sleep)
  end

  it "emits partial text deltas only for the first attempt that streams" do
    lines = []
    loop = new_loop(include_partial: true)
    loop.start
    loop.text_delta(0, "Hel", &collect(lines))
    expect(lines.last.stream_event?).to be(true)
    expect(lines.last.content).to eq("Hel")
    broken = text_turn("Hel")
    broken[:turn].merge!(complete: false, began: true)
    loop.respond(broken)
    loop.resume
    loop.text_delta(0, "Hello", &collect(lines))
    expect(lines.count(&:stream_event?)).to eq(1)
  end

  it "builds OpenAI-compatible bodies from the same transcript" do
    loop = new_loop(provider: :openai, system_prompt: "Be brief", price: nil,
                    tools_json: '[{"type":"function","function":{"name":"t","parameters":{"type":"object"}}}]')
    loop.start
    loop.respond(tool_turn(["t", { "q" => 1 }]))
    loop.tool_result(0, "42", false)
    loop.resume
    body = JSON.parse(loop.body)
    expect(body["stream_options"]).to eq("include_usage" => true)
    expect(body["messages"]).to eq([
      { "role" => "system", "content" => "Be brief" },
      { "role" => "user", "content" => "Find order 42" },
      { "role" => "assistant", "content" => nil,
        "tool_calls" => [{ "id" => "toolu_0", "type" => "function", "function" => { "name" => "t", "arguments" => '{"q":1}' } }] },
      { "role" => "tool", "tool_call_id" => "toolu_0", "content" => "42" }
    ])
  end

  it "puts cache_control on the system prompt and the last message when prompt caching is on" do
    loop = new_loop(system_prompt: "You are a support agent", prompt_caching: true)
    loop.start
    body = JSON.parse(loop.body)
    expect(body["system"]).to eq([{ "type" => "text", "text" => "You are a support agent", "cache_control" => { "type" => "ephemeral" } }])
    expect(body["messages"].last["content"].last["cache_control"]).to eq("type" => "ephemeral")
  end

  it "resumes from a transcript and keeps the session id" do
    transcript = [{ role: "user", content: "Remember 42" },
                  { role: "assistant", content: [{ type: "text", text: "OK" }, { type: "tool_use", id: "t1", name: "x", input: { "a" => [1, 2.5] } }] },
                  { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "done" }], is_error: true }] }]
    lines = []
    loop = new_loop(transcript_json: JSON.generate(transcript), session_id: "s-1")
    loop.start(&collect(lines))
    expect(lines.first.session_id).to eq("s-1")
    messages = JSON.parse(loop.body)["messages"]
    # the prompt joins the transcript's trailing user turn (tool results first, as the API requires)
    expect(messages.size).to eq(3)
    expect(messages[1]["content"][1]).to eq("type" => "tool_use", "id" => "t1", "name" => "x", "input" => { "a" => [1, 2.5] })
    expect(messages[2]["content"][0]).to include("content" => "done", "is_error" => true)
    expect(messages[2]["content"].last).to include("type" => "text")
    expect { new_loop(transcript_json: "{}") }.to raise_error(ArgumentError, /not a JSON array/)
  end

  it "answers every tool call even when the driver skipped one, and can be cancelled" do
    lines = []
    loop = new_loop
    loop.start
    loop.respond(tool_turn(["a", {}], ["b", {}]))
    loop.tool_result(1, "b done", false)
    loop.resume(&collect(lines))
    results = lines.last.to_h.dig("message", "content")
    expect(results.map { |r| [r["tool_use_id"], r["is_error"]] }).to eq([["toolu_0", true], ["toolu_1", nil]])
    expect(loop.cancel("user pressed stop", &collect(lines))).to eq(:done)
    expect([lines.last.subtype, lines.last.content]).to eq(["error_cancelled", "user pressed stop"])
  end

  # Random usage and random tool calls, with a model that behaves like the real API: input tokens grow with the
  # prompt (at most one token per byte) and output never exceeds the request's max_tokens.
  it "never exceeds max_turns, max_tokens or max_budget_usd over 1,000 randomized runs" do
    seed = Random.new_seed
    rng = Random.new(seed)
    1_000.times do |run|
      limits = { max_turns: rng.rand(1..12), max_budget_micros: rng.rand(1_000..200_000), max_tokens: rng.rand(2_000..400_000) }
      limits.delete(limits.keys.sample(random: rng)) if rng.rand < 0.5
      model = %w[claude-sonnet-4-5 claude-haiku-4-5 claude-opus-4-1 gpt-4o-mini].sample(random: rng)
      lines = []
      caching = rng.rand < 0.5
      loop = described_class.new(model: model, prompt: "p" * rng.rand(10..3_000), price: RubyLLM::AgentSDK::Pricing.price_array(model),
                                 max_output_tokens: rng.rand(64..8_192), prompt_caching: caching, **limits)
      state = loop.start { |l| lines << RubyLLM::AgentSDK::Message.parse(l) }
      ratio = rng.rand(0.2..0.9)
      while state == :send
        body = loop.body
        prompt_tokens = ((body.bytesize - loop.request_max_tokens.to_s.size) * ratio).floor
        cached = rng.rand < 0.5 ? rng.rand(0..prompt_tokens) : 0
        written = caching ? rng.rand(0..(prompt_tokens - cached)) : 0 # no breakpoints, no cache writes
        usage = { input_tokens: prompt_tokens - cached - written, cache_read_input_tokens: cached,
                  cache_creation_input_tokens: written, output_tokens: rng.rand(1..loop.request_max_tokens) }
        calls = Array.new(rng.rand(0..3)) { |i| ["tool#{i}", { "q" => "x" * rng.rand(0..200) }] }
        turn = calls.empty? ? text_turn("done") : tool_turn(*calls)
        turn[:turn][:usage] = usage
        state = loop.respond(turn) { |l| lines << RubyLLM::AgentSDK::Message.parse(l) }
        next unless state == :tools

        calls.each_index { |i| loop.tool_result(i, "r" * rng.rand(0..2_000), rng.rand < 0.2) }
        state = loop.resume { |l| lines << RubyLLM::AgentSDK::Message.parse(l) }
      end
      result = lines.last
      context = "run #{run} (seed #{seed}): #{limits} #{model} → #{result.subtype}"
      expect(result).to be_result, context
      expect(result.num_turns).to be <= limits[:max_turns], context if limits[:max_turns]
      expect(result["total_cost_micros"]).to be <= limits[:max_budget_micros], context if limits[:max_budget_micros]
      if limits[:max_tokens]
        u = result.usage
        billed = u["input_tokens"] + u["output_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
        expect(billed).to be <= limits[:max_tokens], context
      end
    end
  end
end
