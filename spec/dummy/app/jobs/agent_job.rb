# frozen_string_literal: true

# As `rails g agent_sdk:install` writes it.
class AgentJob < ApplicationJob
  include RubyLLM::AgentSDK::ActiveJob::SessionJob

  queue_as :agents

  # Options for this app's runs, over the session's and config.agent_sdk's (any RubyLLM::AgentSDK.query option).
  # def build_options(session)
  #   { cwd: Rails.root.to_s, allowed_tools: %w[Read Glob Grep] }
  # end
end
