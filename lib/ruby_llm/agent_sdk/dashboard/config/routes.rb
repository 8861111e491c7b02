# frozen_string_literal: true

# The dashboard's pages (mounted at e.g. /agents). Endpoints by class: see Dashboard.endpoint.
RubyLLM::AgentSDK::Dashboard::Engine.routes.draw do
  dashboard = RubyLLM::AgentSDK::Dashboard
  root to: dashboard.endpoint(:overview, :show)
  get "sessions", to: dashboard.endpoint(:sessions, :index), as: :sessions
  get "sessions/:id", to: dashboard.endpoint(:sessions, :show), as: :session
  post "sessions/:id/cancel", to: dashboard.endpoint(:sessions, :cancel), as: :cancel_session
  post "sessions/:session_id/approvals/:tool_use_id/approve", to: dashboard.endpoint(:approvals, :approve),
                                                               as: :approve_session_approval
  post "sessions/:session_id/approvals/:tool_use_id/reject", to: dashboard.endpoint(:approvals, :reject),
                                                              as: :reject_session_approval
  get "turbo.js", to: dashboard.endpoint(:assets, :turbo), as: :turbo_script
end
