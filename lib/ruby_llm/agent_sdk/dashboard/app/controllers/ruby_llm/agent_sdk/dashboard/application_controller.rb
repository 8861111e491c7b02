# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Dashboard
      # The dashboard's controllers inherit config.agent_sdk.dashboard_base_controller ("ActionController::Base";
      # "::ApplicationController" gives them the app's authentication and helpers such as current_user). Every
      # action first asks config.agent_sdk.dashboard_authorize (called with the controller): false or nil → 403.
      # Without a hook only development and test are let in; production answers 403 (protect the mount with a route
      # constraint and set the hook to ->(_) { true } to rely on the constraint alone).
      class ApplicationController < AgentSDK.config.dashboard_base_controller.to_s.constantize
        layout "ruby_llm/agent_sdk/dashboard/application"
        helper RubyLLM::AgentSDK::Dashboard::ApplicationHelper
        helper RubyLLM::AgentSDK::Dashboard::PlotHelper

        before_action :authorize_dashboard!

        private

        def authorize_dashboard!
          hook = AgentSDK.config.dashboard_authorize
          allowed = hook ? hook.call(self) : ::Rails.env.local?
          return if performed? # the hook redirected (to a sign-in page) or rendered
          head :forbidden unless allowed
        end

        def session_class
          Dashboard.session_class
        end

        def filter_params
          params.permit(*Filter::KEYS, :before).to_h
        end
      end
    end
  end
end
