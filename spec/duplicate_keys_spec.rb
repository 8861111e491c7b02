# frozen_string_literal: true

require "open3"
require "rbconfig"
require "tmpdir"

# One rule for a tool input whose object repeats a key, whatever json gem the app resolves: refused in C as an
# is_error result for the model (json >= 3 raises JSON::ParserError on it, json 2 keeps the last value).
RSpec.describe "tool input with a duplicate key" do
  sdk = RubyLLM::AgentSDK

  module DuplicateKeySpecTools
    class Lookup < RubyLLM::AgentSDK::Tool
      param :order, :string, required: true
      param :filter, :object
      def call(order:, filter: nil) = "looked up #{order} #{filter.inspect}"
    end
  end

  let(:runner) { sdk::ToolRunner.new([DuplicateKeySpecTools::Lookup]) }

  it "is refused before any Ruby JSON parser sees it, at any depth, naming the key" do
    [['{"order":"A","order":"B"}', '"order"'], ['{"order":"A","filter":{"x":1,"x":1}}', '"x"']].each do |input, key|
      result = runner.run([{ id: "t1", name: "lookup", input: input }]).first
      expect(result).to include(is_error: true, content: /\AInvalid input for tool "lookup": the input repeats the key #{key}/)
    end
    expect(runner.run([{ id: "t2", name: "lookup", input: '{"order":"A","filter":{"x":1}}' }]).first)
      .to include(is_error: false)
    expect(sdk::Native::ToolRegistry.new([["t", "{}"]]).check("t", '{"a":1,"a":2}')).to match(/repeats the key "a"/)
  end

  # json 3 installs on Ruby 3.1: `gem install --install-dir tmp/json3 json -v "~> 3"` (bin/test does it when it can).
  json3_home = [ENV.fetch("AGENT_SDK_JSON3_GEM_HOME", nil), File.expand_path("../tmp/json3", __dir__)].compact.find do |dir|
    Dir.glob(File.join(dir, "specifications", "json-3.*.gemspec")).any?
  end

  it "is refused with json 3.x loaded, where JSON.parse would raise", skip: (json3_home ? false : "no json 3.x in tmp/json3") do
    lib = File.expand_path("../lib", __dir__)
    code = <<~RUBY
      gem "json", "~> 3"
      require "json"
      require "agent_sdk"
      class Lookup < RubyLLM::AgentSDK::Tool
        param :order, :string, required: true
        def call(order:) = order
      end
      begin
        JSON.parse('{"a":1,"a":2}')
        abort "json \#{JSON::VERSION} took a duplicate key"
      rescue JSON::ParserError
      end
      r = RubyLLM::AgentSDK::ToolRunner.new([Lookup]).run([{ id: "t", name: "lookup", input: '{"order":"A","order":"B"}' }])
      puts JSON::VERSION, JSON.generate(r.first)
    RUBY
    env = { "GEM_PATH" => [json3_home, *Gem.path].join(File::PATH_SEPARATOR), "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil,
            "BUNDLER_SETUP" => nil }
    out, err, status = Open3.capture3(env, RbConfig.ruby, "-I", lib, "-e", code)
    expect(status).to be_success, err
    version, json = out.lines(chomp: true)
    expect(version).to start_with("3.")
    expect(JSON.parse(json)).to include("is_error" => true, "content" => /repeats the key "order"/)
  end
end
