# frozen_string_literal: true

require_relative "../rails_helper"

RSpec.describe RubyLLM::AgentSDK::Railtie, :rails do
  it "makes config.agent_sdk the gem's configuration, with Rails' logger and executor" do
    expect(Rails.application.config.agent_sdk).to equal(RubyLLM::AgentSDK.config)
    expect(RubyLLM::AgentSDK::Hooks.logger).to equal(Rails.logger)
    expect(RubyLLM::AgentSDK.logger).to equal(Rails.logger)
    expect(RubyLLM::AgentSDK.config.executor).to equal(Rails.application.executor)
  end

  it "runs a callback inside the executor" do
    expect(Rails.application.executor).to receive(:wrap).and_call_original
    expect(RubyLLM::AgentSDK.config.wrap_callback { 42 }).to eq(42)
  end
end
