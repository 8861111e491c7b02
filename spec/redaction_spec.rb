# frozen_string_literal: true

require "logger"
require "stringio"
require "tmpdir"

# No API key in any text the gem makes: inspect, exception messages, the log, the session stores.
RSpec.describe RubyLLM::AgentSDK::Redaction do
  sdk = RubyLLM::AgentSDK
  key = "sk-ant-api03-FAKEKEYfakekey0123456789"
  plain = "plainSecretNotKeyShaped42" # a key that does not look like one: found by its exact ENV value

  def expect_clean(text, *secrets)
    secrets.each { |s| expect(text).not_to include(s) }
    expect(text).to include("[REDACTED]")
  end

  it "redacts key shapes, auth headers, URL userinfo and credential query parameters in free text" do
    text = described_class.text("x-api-key: #{key} Authorization: Bearer abcdefgh12345678 " \
                                "https://user:p4ssw0rd@gw.example/v1?key=qqq111&mode=x {\"x-api-key\":\"zzz999zzz\"}")
    expect(text).to eq("x-api-key: [REDACTED] Authorization: [REDACTED] https://[REDACTED]@gw.example/v1?key=[REDACTED]&mode=x " \
                       '{"x-api-key":"[REDACTED]"}')
  end

  it "redacts the exact value of the API key variables in ENV" do
    previous = ENV.fetch("OPENAI_API_KEY", nil)
    ENV["OPENAI_API_KEY"] = plain
    expect_clean(described_class.text("gateway said: bad key #{plain}"), plain)
  ensure
    previous ? ENV["OPENAI_API_KEY"] = previous : ENV.delete("OPENAI_API_KEY")
  end

  describe "Options" do
    it "never shows env values, inline settings, base_url credentials or api_key in #inspect / #to_s" do
      cli = sdk::Options.new(env: { "ANTHROPIC_API_KEY" => key, "UNSET" => nil }, settings: { "env" => { "K" => plain } })
      expect_clean(cli.inspect, key, plain)
      expect(cli.inspect).to include('env={"ANTHROPIC_API_KEY"=>[REDACTED], "UNSET"=>nil}')
      expect(cli.to_s).to eq(cli.inspect)
      api = sdk::Options.new(api_key: key, base_url: "https://user:#{plain}@gw.example/v1?api_key=#{plain}")
      expect_clean(api.inspect, key, plain)
      expect(api.inspect).to include('base_url="https://[REDACTED]@gw.example/v1?api_key=[REDACTED]"')
      expect(sdk::Options.new(settings: "/etc/claude/settings.json").inspect).to include("/etc/claude/settings.json")
    end

    it "never echoes a secret in an ArgumentError" do
      [{ env: { "ANTHROPIC_API_KEY" => key, "N" => 1 } }, { settings: [key] },
       { base_url: "https://user:#{plain}@gw.example/ v1" }, { base_url: "ftp://gw.example/?key=#{plain}" },
       { api_key: 42 }, { model: { key: key } }].each do |options|
        expect { sdk::Options.new(**options) }.to raise_error(ArgumentError) { |e| expect(e.message).not_to include(key, plain) }
      end
    end
  end

  it "keeps keys out of Error messages and their stderr / line excerpts" do
    error = sdk::ProcessError.new("CLI failed: #{key}", exit_code: 1, stderr: "401 for x-api-key #{key}")
    expect_clean(error.message, key)
    expect_clean(error.stderr, key)
    expect_clean(sdk::JSONDecodeError.new("bad line", line_excerpt: "{\"k\":\"#{key}\"").message, key)
  end

  describe "the log and tool results" do
    module RedactionSpecTools
      class Leaky < RubyLLM::AgentSDK::Tool
        def call = raise("upstream rejected #{"sk-ant-api03-FAKEKEYfakekey0123456789"}")
      end
    end

    it "redacts what the runner logs and what it tells the model" do
      log = StringIO.new
      result = sdk::ToolRunner.new([RedactionSpecTools::Leaky], logger: Logger.new(log)).run([{ id: "t", name: "leaky", input: {} }])
      expect_clean(log.string, key)
      expect(result.first).to include(is_error: true, content: "RuntimeError: upstream rejected [REDACTED]")
    end

    it "redacts what a failing hook logs through Hooks.logger" do
      log = StringIO.new
      previous = sdk::Hooks.logger
      sdk::Hooks.logger = Logger.new(log)
      sdk::Hooks.run("PreToolUse", [->(_) { raise "bad #{key}" }], {}, "t")
      expect_clean(log.string, key)
    ensure
      sdk::Hooks.logger = previous
    end
  end

  it "keeps keys out of the lines both session stores write" do
    line = JSON.generate("type" => "result", "result" => "HTTP 401: {\"error\":\"invalid x-api-key #{key}\"}")
    Dir.mktmpdir do |dir|
      store = sdk::SessionStore::JSONL.new(dir)
      store.append("s1", line)
      expect_clean(File.read(File.join(dir, "s1.jsonl")), key)
      expect(JSON.parse(store.lines("s1").first)["type"]).to eq("result")
    end
    memory = sdk::SessionStore::Memory.new
    memory.append("s1", line)
    expect_clean(memory.lines("s1").first, key)
  end

  it "Native::HTTP replaces request header values in its error messages (the C layer)" do
    # .invalid never resolves (RFC 6761): libcurl's message names the host, which here is the key.
    result = sdk::Native::HTTP.new.post("http://#{key.downcase}.invalid/v1", { "x-api-key" => key.downcase }, "{}")
    expect(result[:error]).to eq(:connect)
    expect(result[:error_message]).to include("[REDACTED].invalid").and(satisfy { |m| !m.include?(key.downcase) })
  end
end
