# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Dashboard
      # POST /sessions/:session_id/approvals/:tool_use_id/approve | reject — a paused tool call's decision
      # (SessionRecord#approve! / reject!, decided_by the hook's controller's current_user when it has one).
      class ApprovalsController < ApplicationController
        def approve
          decide { |session| session.approve!(params[:tool_use_id], by: decider) }
        end

        def reject
          reason = params[:reason].to_s.strip
          reason = "Rejected from the dashboard" if reason.empty?
          decide { |session| session.reject!(params[:tool_use_id], reason: reason, by: decider) }
        end

        private

        def decide
          session = session_class.find(params[:session_id])
          status = yield session
          redirect_to session_path(session), notice: "#{params[:tool_use_id]}: #{status}."
        rescue AgentSDK::SessionStateError => e
          redirect_to session_path(session), alert: e.message
        end

        def decider
          respond_to?(:current_user, true) ? send(:current_user) : nil
        end
      end
    end
  end
end
