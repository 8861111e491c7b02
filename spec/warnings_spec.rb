# frozen_string_literal: true

require "open3"

RSpec.describe "loading the gem" do
  it "is warning-free under ruby -w, through both require paths" do
    lib = File.expand_path("../lib", __dir__)
    %w[agent_sdk ruby_llm/agent_sdk].each do |feature|
      code = "require #{feature.dump}; RubyLLM::AgentSDK::Testing::FakeServer.name; RubyLLM::AgentSDK::Options.new(model: 'm')"
      out, err, status = Open3.capture3(RbConfig.ruby, "-w", "-I", lib, "-e", code)
      expect(status).to be_success, err
      expect(out + err).to eq("")
    end
  end
end
