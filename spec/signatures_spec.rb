# frozen_string_literal: true

require "rbs"

# sig/ must stay in step with the public API: every public method the gem defines is declared there, and vice versa.
RSpec.describe "RBS signatures" do
  let(:env) do
    loader = RBS::EnvironmentLoader.new
    loader.add(library: "logger")
    loader.add(path: Pathname(File.expand_path("../sig", __dir__)))
    RBS::Environment.from_loader(loader).resolve_type_names
  end
  let(:builder) { RBS::DefinitionBuilder.new(env: env) }

  PUBLIC = %w[RubyLLM::AgentSDK::Message RubyLLM::AgentSDK::Client RubyLLM::AgentSDK::Hooks::Result
              RubyLLM::AgentSDK::Hooks::Context RubyLLM::AgentSDK::Permissions::Result RubyLLM::AgentSDK::ProcessError
              RubyLLM::AgentSDK::JSONDecodeError RubyLLM::AgentSDK::ControlRequestError
              RubyLLM::AgentSDK::Testing::FakeServer RubyLLM::AgentSDK::Tool
              RubyLLM::AgentSDK::Query RubyLLM::AgentSDK::Pool RubyLLM::AgentSDK::SessionStore::Memory RubyLLM::AgentSDK::SessionStore::JSONL
              RubyLLM::AgentSDK::ToolRunner RubyLLM::AgentSDK::SdkMcpServer
              RubyLLM::AgentSDK::Native::ToolRegistry RubyLLM::AgentSDK::Redaction RubyLLM::AgentSDK::Configuration RubyLLM::AgentSDK::Instrumentation
              RubyLLM::AgentSDK::Broadcaster RubyLLM::AgentSDK::ActiveRecord::Recorder
              RubyLLM::AgentSDK::ActiveRecord::SessionStore RubyLLM::AgentSDK::ActiveRecord::SessionRecord
              RubyLLM::AgentSDK::ActiveRecord::MessageRecord RubyLLM::AgentSDK::ActiveRecord::Claim
              RubyLLM::AgentSDK::ActiveRecord::Delivery
              RubyLLM::AgentSDK::ActiveJob::SessionJob RubyLLM::AgentSDK::ActiveJob::Heartbeat
              RubyLLM::AgentSDK::ActiveRecord::ActsAsAgent RubyLLM::AgentSDK::ActiveRecord::AgentMethods
              RubyLLM::AgentSDK::ActiveRecord::StateStore RubyLLM::AgentSDK::ActiveJob::AskJob
              RubyLLM::AgentSDK::ToolExecutions RubyLLM::AgentSDK::ToolExecutions::Memory
              RubyLLM::AgentSDK::ActiveRecord::ToolExecutionStore RubyLLM::AgentSDK::ActiveRecord::Approvals
              RubyLLM::AgentSDK::ApprovalRequired RubyLLM::AgentSDK::ActiveJob::RecoveryJob
              RubyLLM::AgentSDK::Testing RubyLLM::AgentSDK::Testing::Stub RubyLLM::AgentSDK::Testing::StubbedTransport
              RubyLLM::AgentSDK::Testing::AgentRun RubyLLM::AgentSDK::Testing::RunLines RubyLLM::AgentSDK::Testing::RunCriteria
              RubyLLM::AgentSDK::Testing::ToolCallCriteria RubyLLM::AgentSDK::Testing::Helpers
              RubyLLM::AgentSDK::Testing::Matchers RubyLLM::AgentSDK::Testing::Matchers::Base
              RubyLLM::AgentSDK::Testing::Matchers::HaveRunAgent RubyLLM::AgentSDK::Testing::Matchers::HaveCalledTool
              RubyLLM::AgentSDK::Testing::Assertions RubyLLM::AgentSDK::Testing::Replay
              RubyLLM::AgentSDK::Testing::FakeServer::Embeddings RubyLLM::AgentSDK::EmbeddingClient
              RubyLLM::AgentSDK::EmbeddingError RubyLLM::AgentSDK::ActiveRecord::Embeddable
              RubyLLM::AgentSDK::Tools::Retrieval RubyLLM::AgentSDK::CLIInstall RubyLLM::AgentSDK::Command
              RubyLLM::AgentSDK::Command::UsageError].freeze

  it "validates" do
    env.class_decls.each_key { |name| builder.build_instance(name) if name.to_s.start_with?("::RubyLLM") }
  end

  PUBLIC.each do |class_name|
    it "declares exactly the public methods of #{class_name}" do
      klass = Object.const_get(class_name)
      type_name = RBS::TypeName.parse("::#{class_name}")
      declared = builder.build_instance(type_name).methods.select { |_, m| m.implemented_in == type_name }.keys - %i[initialize]
      defined = klass.public_instance_methods(false) - %i[== eql? hash inspect]
      expect(declared.sort).to eq(defined.sort)

      declared_singleton = builder.build_singleton(type_name).methods.select { |_, m| m.implemented_in == type_name }.keys - %i[new]
      defined_singleton = klass.singleton_methods(false)
      expect(declared_singleton.sort).to eq(defined_singleton.sort)
    end
  end

  it "declares the module functions of RubyLLM::AgentSDK" do
    declared = builder.build_singleton(RBS::TypeName.parse("::RubyLLM::AgentSDK")).methods
                      .select { |_, m| m.implemented_in.to_s == "::RubyLLM::AgentSDK" }.keys
    expect(declared.sort).to eq(RubyLLM::AgentSDK.singleton_methods(false).sort)
  end
end
