# frozen_string_literal: true

require "open3"
require "rbconfig"

# `require "agent_sdk"` loads no Rails: the Rails layer is autoloaded on first use, and the Railtie only when Rails is.
RSpec.describe "loading the gem" do
  def ruby(code)
    lib = File.expand_path("../lib", __dir__)
    out, status = Open3.capture2e(RbConfig.ruby, "-w", "-I", lib, "-e", code)
    expect(status).to be_success, out
    out
  end

  it "loads no Rails, ActiveSupport or ActiveRecord without Rails" do
    out = ruby(<<~RUBY)
      require "agent_sdk"
      print [defined?(::Rails), defined?(::ActiveSupport), defined?(::ActiveRecord::Base),
             defined?(RubyLLM::AgentSDK::Railtie)].inspect
      RubyLLM::AgentSDK.configure { |c| c.max_turns = 3 }
      print " ", RubyLLM::AgentSDK::Options.build(transport: :api, model: "m").max_turns
    RUBY
    expect(out).to eq("[nil, nil, nil, nil] 3")
  end

  it "adds the Railtie when Rails is loaded first" do
    expect(ruby('require "rails"; require "agent_sdk"; print RubyLLM::AgentSDK::Railtie.superclass')).to eq("Rails::Railtie")
  end
end
