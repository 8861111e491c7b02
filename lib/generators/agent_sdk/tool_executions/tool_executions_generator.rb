# frozen_string_literal: true

require_relative "../install/install_generator"

module RubyLLM
  module AgentSDK
    module Generators
      # rails g agent_sdk:tool_executions — the agent_tool_executions table that side-effect tools (Tool.side_effect!)
      # are recorded in, for an app that ran agent_sdk:install without --tool-executions. Idempotent like it.
      class ToolExecutionsGenerator < InstallGenerator
        namespace "agent_sdk:tool_executions"
        source_root File.expand_path("../install/templates", __dir__)
        desc "Creates the agent_tool_executions migration (side-effect tools run once, recorded there)."

        remove_command :create_migrations, :create_models, :create_job, :create_initializer, :create_partials,
                       :show_next_steps
        remove_class_option :user_model, :skip_user, :tool_executions

        def create_tool_executions_migration
          install_migration("create_agent_tool_executions")
        end
      end
    end
  end
end
