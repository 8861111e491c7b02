# frozen_string_literal: true

require "rails/engine"
require_relative "filter"
require_relative "metrics"

module RubyLLM
  module AgentSDK
    # The operations dashboard: runs with filters, cost per day and model, p50/p95 turns and cost per run, tool error
    # rate per tool, failure reasons and a session's live transcript with cancel / approve / reject. Mount it in
    # config/routes.rb (README "Dashboard"):
    #
    #   mount RubyLLM::AgentSDK::Dashboard::Engine, at: "/agents"
    #
    # and protect it with config.agent_sdk.dashboard_authorize (or a route constraint around the mount): without a
    # hook it answers 403 outside development and test.
    module Dashboard
      class Engine < ::Rails::Engine
        isolate_namespace RubyLLM::AgentSDK::Dashboard
        engine_name "agent_sdk_dashboard"
        config.root = __dir__
        # The controllers name their helpers (RubyLLM::AgentSDK::Dashboard::PlotHelper, …): `helper :all` would
        # camelize the files' paths into RubyLlm::AgentSdk::…. app/helpers is still autoloaded like the rest of app/.
        paths["app/helpers"] = []

        # app/controllers/ruby_llm/agent_sdk/… holds RubyLLM::AgentSDK::…, as lib/ does (Zeitwerk's default would
        # be RubyLlm::AgentSdk).
        initializer "agent_sdk.dashboard.inflections", before: :set_autoload_paths do
          ::Rails.autoloaders.each { |loader| loader.inflector.inflect("ruby_llm" => "RubyLLM", "agent_sdk" => "AgentSDK") }
        end
      end

      class << self
        # A route's endpoint: the action of one of the dashboard's controllers, looked up when a request comes (so
        # code reloading sees the new class). The routes name classes, not "controller#action" strings: Rails would
        # camelize "ruby_llm/agent_sdk/dashboard/sessions" into RubyLlm::AgentSdk::….
        def endpoint(controller, action)
          name = "#{controller.to_s.camelize}Controller"
          ->(env) { Dashboard.const_get(name, false).action(action).call(env) }
        end

        # The app's session model (config.agent_sdk.dashboard_session_class, "AgentSession").
        def session_class
          AgentSDK.config.dashboard_session_class.to_s.constantize
        end

        # The messages association of that model (has_many :agent_messages).
        def message_class
          reflection = session_class.reflect_on_association(:agent_messages) or
            raise ArgumentError, "#{session_class} needs has_many :agent_messages"
          reflection.klass
        end

        # The owner's foreign key (agent_owner, else :user when there is such an association), or nil.
        def owner_key
          model = session_class
          name = model.respond_to?(:agent_owner) && model.agent_owner || :user
          model.reflect_on_association(name)&.foreign_key&.to_s
        end
      end
    end
  end
end
