# frozen_string_literal: true

require_relative "../install/install_generator"

module RubyLLM
  module AgentSDK
    module Generators
      # rails g agent_sdk:dashboard [--path=/agents] [--user-model=Account] [--skip-user]
      #
      # The operations dashboard in an app that ran agent_sdk:install before it: a migration adding the indexes its
      # pages read through, and the mount line in config/routes.rb. Running it again changes nothing.
      class DashboardGenerator < InstallGenerator
        namespace "agent_sdk:dashboard"
        source_root File.expand_path("../install/templates", __dir__)
        desc "Creates the add_agent_dashboard_indexes migration and mounts RubyLLM::AgentSDK::Dashboard::Engine."

        ENGINE = "RubyLLM::AgentSDK::Dashboard::Engine"

        remove_command :create_migrations, :create_models, :create_job, :create_initializer, :create_partials,
                       :add_recovery_schedule, :show_next_steps
        remove_class_option :tool_executions
        class_option :path, type: :string, default: "/agents", desc: "Where the dashboard is mounted"

        def create_indexes_migration
          install_migration("add_agent_dashboard_indexes")
        end

        def mount_engine
          routes = File.join(destination_root, "config/routes.rb")
          if File.exist?(routes) && File.read(routes).include?(ENGINE)
            say_status :identical, "config/routes.rb (#{ENGINE})", :blue
          else
            route %(mount #{ENGINE}, at: "#{options[:path]}")
          end
        end

        def show_dashboard_steps
          return if behavior == :revoke

          say <<~TEXT

            The dashboard is mounted at #{options[:path]}. Next:
              1. bin/rails db:migrate
              2. Say who may see it (outside development and test it answers 403 until you do), in
                 config/initializers/agent_sdk.rb:
                   config.dashboard_base_controller = "::ApplicationController"
                   config.dashboard_authorize = ->(controller) { controller.send(:current_user)&.admin? }
          TEXT
        end
      end
    end
  end
end
