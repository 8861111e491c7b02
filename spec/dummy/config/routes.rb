# frozen_string_literal: true

Rails.application.routes.draw do
  resources :agent_sessions, only: :show
  mount RubyLLM::AgentSDK::Dashboard::Engine, at: "/agents"
end
