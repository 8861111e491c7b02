# frozen_string_literal: true

require_relative "lib/ruby_llm/agent_sdk/version"

Gem::Specification.new do |spec|
  spec.name = "agent_sdk"
  spec.version = RubyLLM::AgentSDK::VERSION
  spec.authors = ["agent_sdk developers"]
  spec.summary = "Run LLM agents in production Rails apps: bounded, observable, recoverable, cost-controlled."
  spec.description = "RubyLLM::AgentSDK drives the Claude Code CLI over its control protocol, or runs its own agent " \
                     "loop in C against the Anthropic Messages API, with one message stream for both."
  spec.license = "MIT"
  spec.required_ruby_version = ">= 3.1"
  spec.files = Dir["lib/**/*.rb", "lib/generators/**/templates/*", "lib/ruby_llm/agent_sdk/dashboard/app/views/**/*.erb",
                   "ext/agent_sdk/**/*.{c,h,rb}", "sig/**/*.rbs", "exe/*", "README.md", "CHANGELOG.md"]
  spec.bindir = "exe"
  spec.executables = ["agent-sdk"]
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/agent_sdk/extconf.rb"]
  spec.metadata["rubygems_mfa_required"] = "true"

  # Standard libraries lib/ requires that newer Rubies moved out of the default gems (spec/gem_dependencies_spec.rb):
  # logger is a bundled gem from Ruby 4.0 (3.4 warns), so a bundle must name it. >= 1.5 is what Ruby 3.1 ships.
  spec.add_dependency "logger", ">= 1.5"
  # bigdecimal (exact session costs in the Rails layer) is a bundled gem from Ruby 3.4; 3.1 ships 3.1.1.
  spec.add_dependency "bigdecimal", ">= 3.1"
end
