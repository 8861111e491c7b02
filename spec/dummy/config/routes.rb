# frozen_string_literal: true

Rails.application.routes.draw do
  resources :agent_sessions, only: :show
end
