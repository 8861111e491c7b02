# frozen_string_literal: true

# bin/test runs spec/rails (which boots spec/dummy) in processes of its own: the gem's other specs run, as the gem
# loads in a script, without Rails.
RSpec.describe "the specs outside spec/rails" do
  it "run without Rails loaded" do
    skip("spec/rails is loaded in this process too (bin/test keeps them apart)") if defined?(AgentSDKSpec::DummyDatabase)
    expect([defined?(::Rails), defined?(::ActiveRecord::Base), defined?(::ActiveSupport)]).to eq([nil, nil, nil])
  end
end
