# frozen_string_literal: true

require "rails/railtie"
# The operations dashboard (mount RubyLLM::AgentSDK::Dashboard::Engine): its code loads when a page is asked for.
require "ruby_llm/agent_sdk/dashboard/engine"

module RubyLLM
  module AgentSDK
    # Loaded by lib/ruby_llm/agent_sdk.rb when Rails is. `config.agent_sdk` in config/application.rb or an
    # initializer is RubyLLM::AgentSDK.config; the gem's log lines go to Rails.logger; tools that run in a thread of
    # their own run inside the app's executor (their own connection, query cache and code-reloading lock).
    class Railtie < ::Rails::Railtie
      config.agent_sdk = AgentSDK.config

      initializer "agent_sdk.logger" do
        AgentSDK::Hooks.logger = ::Rails.logger if ::Rails.logger
      end

      initializer "agent_sdk.executor" do |app|
        AgentSDK.config.executor ||= app.executor
      end

      # `acts_as_agent` on every model (ActiveRecord::Base is extended, not patched).
      initializer "agent_sdk.acts_as_agent" do
        ActiveSupport.on_load(:active_record) { extend RubyLLM::AgentSDK::ActiveRecord::ActsAsAgent }
      end

      initializer "agent_sdk.log_subscriber" do
        require "ruby_llm/agent_sdk/log_subscriber"
      end

      # bin/rails agent_sdk:recover (RecoveryJob once, now: for cron where there is no Solid Queue).
      rake_tasks do
        load File.expand_path("tasks.rb", __dir__)
      end
    end
  end
end
