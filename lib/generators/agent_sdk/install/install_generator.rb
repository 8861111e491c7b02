# frozen_string_literal: true

require "erb"
require "yaml"
require "active_support/core_ext/object/blank"
require "active_support/core_ext/string/inflections"
require "rails/generators"
require_relative "../file_writing"

module RubyLLM
  module AgentSDK
    module Generators
      # rails g agent_sdk:install [--user-model=Account] [--skip-user] [--force]
      #
      # Writes the app's side of the Rails layer: two migrations, AgentSession / AgentMessage / AgentJob, the
      # initializer, the two partials the broadcasts render, and RecoveryJob's entry in Solid Queue's
      # config/recurring.yml (or how to add it). Everything it writes is the app's code to edit.
      # Running it again changes nothing: a file that is already there and identical is left as it is, one that
      # differs is reported as a conflict and kept (--force overwrites it); a migration is found by its name, whatever
      # its timestamp, and never written twice.
      class InstallGenerator < ::Rails::Generators::Base
        include FileWriting

        namespace "agent_sdk:install"
        source_root File.expand_path("templates", __dir__)

        desc "Creates the agent_sessions / agent_messages migrations, AgentSession, AgentMessage, AgentJob, " \
             "config/initializers/agent_sdk.rb, the agent_sessions partials and the recovery entry of " \
             "config/recurring.yml (Solid Queue)."

        class_option :user_model, type: :string, default: "User",
                                  desc: "The model that owns sessions (a belongs_to; per-user running caps count by it)"
        class_option :skip_user, type: :boolean, default: false, desc: "No owner reference at all"
        class_option :tool_executions, type: :boolean, default: false,
                                       desc: "Also the agent_tool_executions table side-effect tools are recorded in"
        class_option :primary_key_type, type: :string,
                                        desc: "Primary key type of the new tables (default: the app's config.generators)"

        MIGRATIONS = %w[create_agent_sessions create_agent_messages].freeze
        RECURRING = "config/recurring.yml"
        RECOVERY_TASK = "agent_sdk_recovery"

        def create_migrations
          MIGRATIONS.each { |name| install_migration(name) }
          install_migration("create_agent_tool_executions") if options[:tool_executions]
        end

        def create_models
          install_file "agent_session.rb.tt", "app/models/agent_session.rb"
          install_file "agent_message.rb.tt", "app/models/agent_message.rb"
        end

        def create_job
          install_file "agent_job.rb.tt", "app/jobs/agent_job.rb"
        end

        def create_initializer
          install_file "initializer.rb.tt", "config/initializers/agent_sdk.rb"
        end

        def create_partials
          install_file "_message.html.erb.tt", "app/views/agent_sessions/_message.html.erb"
          install_file "_status.html.erb.tt", "app/views/agent_sessions/_status.html.erb"
        end

        # Solid Queue's recurring task that resumes runs whose worker died: added under production: in
        # config/recurring.yml (written when the app has Solid Queue and no such file yet). Without Solid Queue,
        # show_next_steps says how to run it instead.
        def add_recovery_schedule
          return if behavior == :revoke

          path = File.join(destination_root, RECURRING)
          if File.exist?(path)
            text = File.read(path)
            if text.match?(/^\s+#{RECOVERY_TASK}:/)
              say_status :identical, "#{RECURRING} (#{RECOVERY_TASK})", :blue
            elsif text.match?(/^production:[ \t]*$/)
              inject_into_file RECURRING, recovery_entry, after: /^production:[ \t]*\n/
            elsif text.match?(/^production:/)
              say_status :skip, "#{RECURRING}: add #{RECOVERY_TASK} under production: by hand (see below)", :yellow
              @recovery_by_hand = true
            else
              append_to_file RECURRING, "\nproduction:\n#{recovery_entry}"
            end
          elsif solid_queue?
            create_file RECURRING, "# Solid Queue's recurring tasks (bin/jobs runs them).\nproduction:\n#{recovery_entry}"
          else
            @recovery_by_hand = true
          end
        end

        def show_next_steps
          return if behavior == :revoke

          say <<~TEXT

            agent_sdk is installed. Next:
              1. bin/rails db:migrate
              2. Give Active Job a real backend for the :agents queue (Solid Queue, Sidekiq, …):
                   config.active_job.queue_adapter = :solid_queue   # config/environments/production.rb
                 The default :async adapter loses running jobs when the process exits.
              3. Show a session with its live updates (the job appends to #agent_messages, replaces the badge):
                   <%= turbo_stream_from @session %>
                   <%= render "agent_sessions/status", session: @session %>
                   <div id="agent_messages">
                     <% @session.agent_messages.each do |row| %>
                       <%= render "agent_sessions/message", message: row.to_message, agent_message: row %>
                     <% end %>
                   </div>
              4. Start a run: AgentSession.create!(#{owner ? "#{owner}: current_#{owner}, " : ''}prompt: "…").run!
          TEXT
          return unless @recovery_by_hand

          entry = recovery_entry.lines.map { |line| "       #{line}" }.join
          say "  5. Resume runs whose worker died: run RubyLLM::AgentSDK::ActiveJob::RecoveryJob every minute, with\n" \
              "     Solid Queue in #{RECURRING}:\n       production:\n#{entry}" \
              "     or from cron: bin/rails agent_sdk:recover\n"
        end

        private

        # -- what the templates ask -------------------------------------------------------------------------------

        def migration_version
          "[#{::ActiveRecord::VERSION::MAJOR}.#{::ActiveRecord::VERSION::MINOR}]"
        end

        # The owner association's name (:user, :account, :admin_user) or nil with --skip-user.
        def owner
          return nil if options[:skip_user] || options[:user_model].to_s.empty?

          options[:user_model].underscore.tr("/", "_")
        end

        def owner_class_name
          options[:user_model].camelize
        end

        def owner_table
          owner_class_name.tableize.tr("/", "_")
        end

        # Whether belongs_to needs class_name / the reference a to_table (a namespaced model such as Admin::User).
        def owner_namespaced?
          owner && owner.camelize != owner_class_name
        end

        def postgresql?
          database_adapter.to_s.match?(/postg|postgis/i)
        end

        def mysql?
          database_adapter.to_s.match?(/mysql|trilogy/i)
        end

        # jsonb on PostgreSQL (indexable, compared by value), json elsewhere.
        def json_type
          postgresql? ? "jsonb" : "json"
        end

        # MySQL refuses a literal default on a json column; the models treat nil as empty there.
        def json_default(value)
          mysql? ? "" : ", default: #{value}"
        end

        def uuid?
          primary_key_type.to_s == "uuid"
        end

        def primary_key_type
          options[:primary_key_type].presence || app_generator_options.dig(:active_record, :primary_key_type)
        end

        def table_options
          primary_key_type ? ", id: :#{primary_key_type}" : ""
        end

        def reference_type
          primary_key_type ? ", type: :#{primary_key_type}" : ""
        end

        # Solid Queue 1.x's recurring.yml entry (under an environment's key).
        def recovery_entry
          "  #{RECOVERY_TASK}:\n    class: RubyLLM::AgentSDK::ActiveJob::RecoveryJob\n    schedule: every minute\n"
        end

        # -- the app --------------------------------------------------------------------------------------------

        def solid_queue?
          return true if File.exist?(File.join(destination_root, "config/queue.yml"))

          %w[Gemfile Gemfile.lock].any? do |name|
            file = File.join(destination_root, name)
            File.exist?(file) && File.read(file).match?(/^\s*(gem\s+["'])?solid_queue\b/)
          end
        end

        def app_generator_options
          app = ::Rails.respond_to?(:application) && ::Rails.application
          (app && app.config.generators.options) || {}
        end

        # The primary database's adapter for this environment: from config/database.yml in the app being written to,
        # else the one ActiveRecord is configured with. Nothing connects to a database.
        def database_adapter
          return @database_adapter if defined?(@database_adapter)

          @database_adapter = adapter_from_database_yml || adapter_from_active_record
        end

        def adapter_from_database_yml
          path = File.join(destination_root, "config/database.yml")
          return nil unless File.exist?(path)

          yaml = ERB.new(File.read(path)).result
          config = YAML.respond_to?(:unsafe_load) ? YAML.unsafe_load(yaml) : YAML.load(yaml) # rubocop:disable Security/YAMLLoad -- the app's own file, with aliases
          env = (config || {})[rails_env] || {}
          env = env["primary"] || env.values.find { |value| value.is_a?(Hash) } || {} unless env.key?("adapter") || env.key?("url")
          env["adapter"] || env["url"].to_s[/\A[a-z0-9]+(?=:)/]
        rescue StandardError, SyntaxError
          nil # ERB that needs the app (credentials, ENV that is not set): ask ActiveRecord
        end

        def adapter_from_active_record
          return nil unless defined?(::ActiveRecord::Base)

          ::ActiveRecord::Base.configurations.configs_for(env_name: rails_env).first&.adapter
        rescue StandardError
          nil
        end

        def rails_env
          (::Rails.respond_to?(:env) && ::Rails.env.to_s.presence) || ENV["RAILS_ENV"].presence || "development"
        end

        # -- writing --------------------------------------------------------------------------------------------

        def install_migration(name)
          content = render("#{name}.rb.tt")
          existing = Dir.glob(File.join(destination_root, "db/migrate/[0-9]*_#{name}.rb")).min
          destination = if existing
                          existing.delete_prefix("#{File.expand_path(destination_root)}/")
                        else
                          "db/migrate/#{next_migration_number}_#{name}.rb"
                        end
          install_file nil, destination, content
        end

        # A UTC timestamp later than every migration already in db/migrate (so create_agent_messages, which references
        # agent_sessions, always runs after create_agent_sessions, even when both are written in the same second).
        def next_migration_number
          last = Dir.glob(File.join(destination_root, "db/migrate/[0-9]*_*.rb")).map { |f| File.basename(f).to_i }.max || 0
          [Time.now.utc.strftime("%Y%m%d%H%M%S").to_i, last + 1].max.to_s
        end
      end
    end
  end
end
