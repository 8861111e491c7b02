# frozen_string_literal: true

require "timeout"

# The same result subtypes on both transports: one check (subtype, error?, api_error) reads a run's end the same
# way whether the real CLI or the gem's own loop ran it, against the same fake server.
RSpec.describe "Result parity between :cli and :api" do
  bound = 60

  def key = "sk-ant-test-not-a-real-key"

  def summary(result)
    api_error = result["api_error"]
    [result.type, result.subtype, result.error?, api_error && api_error.slice("status", "type", "retriable")]
  end

  # The run's result on the real CLI and on :api, each against a fresh server answering `turn` to every agent call.
  def both(turn, **options, &during)
    cli = with_real_cli([], default: turn) do |server, cli_options, _cwd|
      cli_options[:env] = cli_options[:env].merge("CLAUDE_CODE_MAX_RETRIES" => "0")
      last(SDK::Query.new("ping", **cli_options, **options), server, &during)
    end
    api = SDK::Testing::FakeServer.open([], default: turn) do |server|
      query = SDK::Query.new("ping", transport: :api, model: "claude-sonnet-4-5", base_url: server.base_url, api_key: key,
                                     session_store: :memory, max_retries: 0, **options)
      last(query, server, &during)
    end
    [cli, api]
  end

  def last(query, server, &during)
    helper = during && Thread.new { during.call(query, server) }
    messages = []
    Timeout.timeout(90) { query.each { |m| messages << m } }
    helper&.join
    messages.last
  end

  it "a successful run: success, not an error, on both" do
    cli, api = both({ text: "fine" })
    expect(summary(cli)).to eq([:result, "success", false, nil])
    expect(summary(api)).to eq(summary(cli))
  end

  {
    500 => { "status" => 500, "type" => "api_error", "retriable" => true },
    401 => { "status" => 401, "type" => "authentication_error", "retriable" => false },
    529 => { "status" => 529, "type" => "overloaded_error", "retriable" => true }
  }.each do |status, api_error|
    it "an HTTP #{status} after the retries: error_during_execution with the same api_error on both" do
      cli, api = both({ status: status, error: { message: "upstream says no" } })
      expect(summary(cli)).to eq([:result, "error_during_execution", true, api_error])
      expect(summary(api)).to eq(summary(cli))
      expect([cli["cli_subtype"], cli["api_error_status"], cli.is_error]).to eq(["success", status, true]) # the CLI's own
    end
  end

  it "a cancelled run: error_cancelled on both" do
    cancel = lambda do |query, server|
      server.wait_for_requests(1, agent: true, timeout: bound)
      query.cancel
    end
    cli, api = both({ text: "never", fault: "stall" }, &cancel)
    expect(summary(cli)).to eq([:result, "error_cancelled", true, nil])
    expect(summary(api)).to eq(summary(cli))
  end

  it "a run past timeout: error_timeout on both" do
    cli, api = both({ text: "never", fault: "stall" }, timeout: 2)
    expect(summary(cli)).to eq([:result, "error_timeout", true, nil])
    expect(summary(api)).to eq(summary(cli))
    expect(api.content).to eq("the query did not finish within timeout: 2 s")
  end

  describe "timeout: on :api" do
    def api_query(server_or_url, **options)
      url = server_or_url.is_a?(String) ? server_or_url : server_or_url.base_url
      SDK.query("ping", transport: :api, model: "claude-sonnet-4-5", base_url: url, api_key: key,
                        session_store: :memory, **options).to_a
    end

    it "ends a back-off between attempts (a Retry-After longer than the timeout)" do
      SDK::Testing::FakeServer.open([], default: { status: 529, headers: { "retry-after" => "30" } }) do |server|
        messages = Timeout.timeout(bound) { api_query(server, max_retries: 5, timeout: 1) }
        expect(messages.last.subtype).to eq("error_timeout")
        expect(server.agent_requests.size).to eq(1)
      end
    end

    it "ends the run before the next model call once a tool has used up the time" do
      nap = Class.new(SDK::Tool) do
        tool_name "nap"
        description "sleeps"
        define_method(:call) { |**| sleep 1.5 and "rested" }
      end
      SDK::Testing::FakeServer.open([{ tool_use: { name: "nap", input: {} } }, { text: "never" }]) do |server|
        messages = Timeout.timeout(bound) { api_query(server, tools: [nap], timeout: 1) }
        expect(messages.map { |m| [m.type, m.subtype] }.last).to eq([:result, "error_timeout"])
        expect(messages.find(&:user?).content.to_s).to include("rested") # the tool's result is kept
        expect(server.agent_requests.size).to eq(1)
      end
    end

    it "query_all: each run has its own deadline (one past it ends error_timeout, the other finishes)" do
      turn = lambda do |req|
        first = Array(req.body["messages"].first["content"]).dig(0, "text")
        first == "slow" ? { text: "never", fault: "stall" } : { text: "fine", delay: 0.2 }
      end
      SDK::Testing::FakeServer.open([], default: turn) do |server|
        results = {}
        Timeout.timeout(bound) do
          SDK.query_all([{ prompt: "slow" }, { prompt: "quick" }], transport: :api, model: "claude-sonnet-4-5",
                                                                   base_url: server.base_url, api_key: key,
                                                                   session_store: :memory, timeout: 1.5) do |i, m|
            results[i] = m.subtype if m.result?
          end
        end
        expect(results).to eq(0 => "error_timeout", 1 => "success")
      end
    end

    it "a hook past its timeout: is answered on :api too (the tool denied, the run goes on)" do
      nap = Class.new(SDK::Tool) do
        tool_name "nap"
        description "never runs"
        define_method(:call) { |**| "ran" }
      end
      hook = { matcher: "nap", timeout: 0.5, handler: ->(_ctx) { sleep 120 } }
      logger = SDK::Hooks.logger
      SDK::Hooks.logger = Logger.new(log = StringIO.new)
      SDK::Testing::FakeServer.open([{ tool_use: { name: "nap", input: {} } }, { text: "went on" }]) do |server|
        messages = Timeout.timeout(bound) { api_query(server, tools: [nap], hooks: { pre_tool_use: [hook] }) }
        expect(messages.last).to have_attributes(subtype: "success", content: "went on")
        expect(messages.find(&:user?)).to have_attributes(is_error: true)
        expect(log.string).to include("hook PreToolUse did not answer within its timeout of 0.5 s")
      end
    ensure
      SDK::Hooks.logger = logger
    end

    it "leaves a run that ends in time alone, and a Client's each query has its own timeout" do
      SDK::Testing::FakeServer.open([{ text: "one" }, { text: "two", delay: 0.2 }]) do |server|
        SDK::Client.open(transport: :api, model: "claude-sonnet-4-5", base_url: server.base_url, api_key: key,
                         session_store: :memory, timeout: 30) do |client|
          expect(client.query("one").last).to have_attributes(subtype: "success", content: "one")
          expect(client.query("two").last).to have_attributes(subtype: "success", content: "two")
        end
      end
    end
  end

  describe "CLI::Results, the mapping of the CLI's result lines" do
    def map(hash) = JSON.parse(SDK::CLI::Results.map(JSON.generate(hash)))

    it "passes other results through as the same String" do
      line = JSON.generate("type" => "result", "subtype" => "success", "is_error" => false, "result" => "fine")
      expect(SDK::CLI::Results.map(line)).to equal(line)
      line = JSON.generate("type" => "result", "subtype" => "error_during_execution", "is_error" => true)
      expect(SDK::CLI::Results.map(line)).to equal(line) # not stopped by this side: the CLI's own failure
    end

    it "reads a failed connection (no status) as retriable, and a success + is_error that is no API failure as none" do
      result = map({ "type" => "result", "subtype" => "success", "is_error" => true, "result" => "API Error: Connection error." })
      expect(result.values_at("subtype", "api_error")).to eq(["error_during_execution",
                                                              { "status" => nil, "type" => nil, "retriable" => true }])
      result = map({ "type" => "result", "subtype" => "success", "is_error" => true, "result" => "Prompt is too long" })
      expect(result.values_at("subtype", "cli_subtype", "api_error")).to eq(["error_during_execution", "success", nil])
    end

    it "takes the error type from the CLI's text when it carries one, the status from the text when the field is absent" do
      text = 'API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"bad"}}'
      result = map({ "type" => "result", "subtype" => "success", "is_error" => true, "result" => text })
      expect(result["api_error"]).to eq("status" => 400, "type" => "invalid_request_error", "retriable" => false)
    end
  end
end
